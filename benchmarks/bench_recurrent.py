"""Recurrent stage benchmarks: recording every gate of an LSTM vs nn.LSTM's own forward, and
random-access step time of the recurrent and deep_recurrent stages and of every bundled
"Recurrent networks" scenario.

Run from the repository root::

    python benchmarks/bench_recurrent.py            # full run, about half a minute
    python benchmarks/bench_recurrent.py --quick    # fewer repeats

The workload is one LSTM layer, input 64, hidden 128, over 50 time steps; the stage keeps every
gate's pre-activation and value, the cell states and the hidden states of every step. NumPy and
torch keep their default thread counts, as a user's machine would. The builds are timed twice,
interleaved with nn.LSTM's forward so each library runs just after the other, as in the app:
once with the machine otherwise idle and once with a process keeping one core busy. A third
build with the one-BLAS-thread limit turned off shows what the limit is for. The figures go into
docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import interleaved  # noqa: E402

import engine.recurrent  # noqa: E402
from engine.core import Simulation, Stage  # noqa: E402
from engine.deep_recurrent import DeepRecurrentStage, deep_seeded_weights  # noqa: E402
from engine.recurrent import RecurrentStage, seeded_weights  # noqa: E402
from scenarios import bundled, load  # noqa: E402

STEPS, INPUT, HIDDEN = 50, 64, 128

# Targets: building the stage within 4× of nn.LSTM's forward (float64, the same arithmetic), and
# any time step reachable interactively.
BUILD_RATIO_TARGET = 4.0
STEP_MEDIAN_TARGET_US = 100.0


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """A second process spinning on one core for the length of the block."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it get scheduled
        yield
    finally:
        spin.kill()
        spin.wait()


@contextlib.contextmanager
def blas_unlimited() -> Iterator[None]:
    """The stage's loop without its one-BLAS-thread limit (for comparison only)."""
    saved = engine.recurrent.one_blas_thread
    engine.recurrent.one_blas_thread = contextlib.nullcontext  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.recurrent.one_blas_thread = saved


def step_median_us(stage: Stage | Simulation, count: int) -> float:
    """Median time of ``step(i)`` at random i, in µs."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(stage), size=count)
    times = []
    for i in idx:
        t0 = time.perf_counter()
        stage.step(int(i))
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 20 if args.quick else 100
    import torch

    rng = np.random.default_rng(1)
    x = rng.normal(size=(STEPS, INPUT))
    w = seeded_weights("lstm", INPUT, HIDDEN, 0)

    def build() -> RecurrentStage:
        return RecurrentStage(
            x, "lstm", HIDDEN, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
        )

    def build_unlimited() -> RecurrentStage:
        with blas_unlimited():
            return build()

    lstm64 = torch.nn.LSTM(INPUT, HIDDEN, dtype=torch.float64)
    lstm32 = torch.nn.LSTM(INPUT, HIDDEN, dtype=torch.float32)
    x64 = torch.tensor(x, dtype=torch.float64)[:, None]
    x32 = torch.tensor(x, dtype=torch.float32)[:, None]
    runs: dict[str, Callable[[], object]] = {
        "RecurrentStage lstm, every gate (float64)": build,
        "  the same, BLAS threads not limited": build_unlimited,
        "nn.LSTM forward (float64)": lambda: lstm64(x64),
        "nn.LSTM forward (float32)": lambda: lstm32(x32),
    }
    ours, ref = "RecurrentStage lstm, every gate (float64)", "nn.LSTM forward (float64)"
    print(
        f"LSTM input {INPUT}, hidden {HIDDEN}, T {STEPS}; {platform.processor() or 'cpu'}; "
        f"torch threads {torch.get_num_threads()}; {repeats} interleaved rounds"
    )
    ratios: list[float] = []
    with torch.no_grad():
        interleaved(runs, 3)  # warm up
        for label, context in (
            ("machine idle", contextlib.nullcontext()),
            ("one core kept busy", busy_core()),
        ):
            with context:
                times = interleaved(runs, repeats)
            print(f"\n{label}")
            print(f"{'run':<44}{'best ms':>9}{'median ms':>11}{'median ÷ nn.LSTM64':>20}")
            base = statistics.median(times[ref])
            for name, ts in times.items():
                med = statistics.median(ts)
                print(f"{name:<44}{min(ts) * 1e3:>9.3f}{med * 1e3:>11.3f}{med / base:>19.2f}×")
            ratios.append(statistics.median(times[ours]) / base)

    stage = build()
    deep = DeepRecurrentStage(
        x[:, :8], "lstm", 16, 3, True, deep_seeded_weights("lstm", 8, 16, 3, True, 0, 5)
    )
    count = 2_000 if args.quick else 20_000
    steps = [
        ("recurrent step(i)", step_median_us(stage, count)),
        ("deep_recurrent step(i) (3 layers, bi, T 50)", step_median_us(deep, count)),
    ]
    for sc in bundled():
        if sc.topic == "Recurrent networks":
            steps.append((f"scenario {sc.name}", step_median_us(load(sc.path), count // 4)))
    print(f"\n{'step':<44}{'median µs':>10}")
    for name, us in steps:
        print(f"{name:<44}{us:>10.1f}")
    worst = max(ratios)
    ok = worst <= BUILD_RATIO_TARGET and all(us <= STEP_MEDIAN_TARGET_US for _, us in steps)
    print(
        f"\nbuild ÷ nn.LSTM float64, worst of idle and busy: {worst:.2f}× "
        f"(target ≤ {BUILD_RATIO_TARGET}×); step target ≤ {STEP_MEDIAN_TARGET_US} µs: "
        f"{'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
