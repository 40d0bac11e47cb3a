"""Beam-search benchmark: what recording every hypothesis costs over the same search without it.

Run from the repository root::

    python benchmarks/bench_beam.py            # both language models, about half a minute
    python benchmarks/bench_beam.py --quick    # fewer repeats

For B = 3, 10 and 100 over the shipped word and character language models (max_length 20,
α = 0.7), the same search is timed, interleaved round by round so that each variant runs just
after the others on the same machine state:

- ``plain``: ``beam_search(..., record=False).best``, the search keeping only what its answer
  needs;
- ``record``: ``beam_search(..., record=True).best``, the search keeping every step's arrays
  (parent rows, tokens, scores and the (B, V) expansions), from which every hypothesis and step
  record can be built;
- ``record + all``: the same, then every ``Hypothesis`` and ``SearchStepRecord`` built, as the
  stepper does once when it opens the search (shown for what it costs; the target is
  ``record`` against ``plain``).

Medians over the rounds; the ratio is record / plain (target ≤ 1.10). The figures go into
docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import interleaved  # noqa: E402

from engine.beam import beam_search  # noqa: E402
from engine.decoding import Decoder  # noqa: E402
from engine.language import LmDecoder  # noqa: E402
from scenarios.language import language_model  # noqa: E402

WIDTHS = (3, 10, 100)
MAX_LENGTH = 20
ALPHA = 0.7
RATIO_TARGET = 1.10


def decoder(name: str) -> Decoder:
    model = language_model(name)
    return LmDecoder(model.weights, model.vocabulary, model.level, name)


def variants(d: Decoder, width: int) -> dict[str, Callable[[], object]]:
    def plain() -> object:
        return beam_search(d, width, MAX_LENGTH, ALPHA, record=False).best

    def record() -> object:
        return beam_search(d, width, MAX_LENGTH, ALPHA, record=True).best

    def record_all() -> object:
        result = beam_search(d, width, MAX_LENGTH, ALPHA, record=True)
        return result.best, result.hypotheses, result.steps

    return {"plain": plain, "record": record, "record + all": record_all}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--models", default="word_lm,char_lm", help="comma-separated models")
    args = parser.parse_args()
    repeats = 15 if args.quick else 61
    print(f"Python {platform.python_version()}, {platform.machine()}, {repeats} rounds a row")
    print(f"max_length = {MAX_LENGTH}, α = {ALPHA}; medians in ms; ratio = record / plain\n")
    header = (
        f"{'model':<8} {'B':>4} {'V':>3} {'steps':>5} {'hyps':>5}  {'plain':>8} {'record':>8}"
        f" {'record + all':>12}  {'ratio':>6} {'+ all':>6}"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name in args.models.split(","):
        d = decoder(name)
        for width in WIDTHS:
            runs = variants(d, width)
            for fn in runs.values():  # warm up: imports, caches, allocator
                fn()
            times = interleaved(runs, repeats)
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            ratio = med["record"] / med["plain"]
            worst = max(worst, ratio)
            result = beam_search(d, width, MAX_LENGTH, ALPHA)
            print(
                f"{name:<8} {width:>4} {len(d.vocabulary):>3} {len(result.steps):>5} "
                f"{len(result.hypotheses):>5}  {med['plain']:>8.2f} {med['record']:>8.2f} "
                f"{med['record + all']:>12.2f}  {ratio:>6.3f} "
                f"{med['record + all'] / med['plain']:>6.3f}"
            )
    verdict = "within" if worst <= RATIO_TARGET else "OVER"
    print(f"\nworst record / plain = {worst:.3f}: {verdict} the target {RATIO_TARGET:.2f}")


if __name__ == "__main__":
    main()
