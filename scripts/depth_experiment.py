"""Train plain and residual networks of increasing depth on the shipped digits; print a table.

    python scripts/depth_experiment.py                  # the run recorded in docs/gradients.md
    python scripts/depth_experiment.py --depths 4 16 --iterations 300 --activation tanh

Reads ``scenarios/data/digits.npz`` (or ``--data FILE``). When the file holds a train/test
split — ``train_index`` and ``test_index`` into ``images`` and ``labels`` (the shipped file's
form), or ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` — the networks
train on the training part and the table adds the test error; otherwise they train on all the
images.
Seeded: the same command prints the same table. One core, about a minute at the defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.depth import (
    ACTIVATIONS,
    KINDS,
    DepthConfig,
    DepthRun,
    DigitData,
    layer_gradient_norms,
    make_network,
    run_depth_experiment,
)
from engine.errors import SpecError
from engine.threads import one_blas_thread
from scenarios.datasets import DATA_DIR

DIGITS = DATA_DIR / "digits.npz"


def load_digits(path: Path = DIGITS) -> DigitData:
    """The digits of ``path`` as rows in [0, 1], with the file's train/test split when it has
    one (``DigitData.from_arrays``)."""
    with np.load(path, allow_pickle=False) as npz:
        return DigitData.from_arrays({key: npz[key] for key in npz.files})


def checkpoints(run: DepthRun, iterations: int) -> list[int]:
    """Measured iterations near a tenth, a quarter, a half and the end of training."""
    its = run.iterations
    near = (int(its[np.argmin(np.abs(its - f * iterations))]) for f in (0.1, 0.25, 0.5, 1.0))
    return sorted(set(near))


def table(runs: list[DepthRun], checkpoints: list[int]) -> str:
    """Markdown: one row per network, the training error at a few iterations (the last
    measurement at or before each; "—" after a network diverged), the end."""
    has_test = any(r.test_error is not None for r in runs)
    head = ["network", "blocks", "layers", "params"]
    head += [f"err@{c}" for c in checkpoints] + ["final loss", "‖∂L/∂W₁‖ start", "end"]
    if has_test:
        head.append("test err")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        cells = [r.kind, str(r.depth), str(r.layers), f"{r.params:,}"]
        for c in checkpoints:
            k = int(np.searchsorted(r.iterations, c, side="right")) - 1
            diverged = c > r.iterations[-1]
            cells.append("—" if diverged or k < 0 else f"{r.train_error[k]:.1%}")
        cells += [f"{r.train_loss[-1]:.3g}", f"{r.first_grad[0]:.2e}", f"{r.first_grad[-1]:.2e}"]
        if has_test:
            cells.append("—" if r.test_error is None else f"{r.test_error:.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def start_table(data: DigitData, config: DepthConfig) -> str:
    """Markdown: ‖∂L/∂W‖ of a few layers of the deepest networks before training (W₂: the
    last layer of a block, the one a residual branch starts at zero; W₁ has no gradient there
    until W₂ moves)."""
    depth = max(config.depths)
    blocks = sorted({1, max(1, depth // 4), max(1, depth // 2), depth})
    head = ["network", "stem"] + [f"block {b} W₂" for b in blocks] + ["head"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in KINDS:
        net = make_network(
            kind, depth, config.width, config.activation, config.seed, data.x_train.shape[1]
        )
        norms = layer_gradient_norms(net, data.x_train, data.y_train)
        cells = [norms[0]] + [norms[2 * b] for b in blocks] + [norms[-1]]
        lines.append(f"| {kind} {depth} | " + " | ".join(f"{v:.2e}" for v in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = DepthConfig()
    parser.add_argument("--depths", type=int, nargs="+", default=list(defaults.depths))
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--activation", choices=ACTIVATIONS, default=defaults.activation)
    parser.add_argument("--iterations", type=int, default=defaults.iterations)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--momentum", type=float, default=defaults.momentum)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--data", type=Path, default=DIGITS, help="a digits .npz file")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    try:
        config = DepthConfig(
            depths=tuple(args.depths),
            width=args.width,
            activation=args.activation,
            iterations=args.iterations,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            momentum=args.momentum,
            seed=args.seed,
        )
        data = load_digits(args.data)
    except SpecError as e:
        print(f"netsim: {e.field}: {e.message}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as e:
        print(f"netsim: cannot read {args.data}: {e}", file=sys.stderr)
        return 1

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done % 200 == 0 or done == total):
            print(f"\r{done}/{total} iterations", end="", file=sys.stderr, flush=True)

    start = time.perf_counter()
    with one_blas_thread():
        runs = run_depth_experiment(data, config, progress)
    seconds = time.perf_counter() - start
    if not args.quiet:
        print(file=sys.stderr)
    n_test = 0 if data.y_test is None else len(data.y_test)
    print(
        f"{len(data.y_train)} training digits, {n_test} test digits; width {config.width}, "
        f"{config.activation}, SGD lr {config.learning_rate} momentum {config.momentum}, "
        f"batch {config.batch_size}, {config.iterations} iterations, seed {config.seed}; "
        f"{seconds:.0f} s"
    )
    longest = max(runs, key=lambda r: len(r.iterations))
    print(table(runs, checkpoints(longest, config.iterations)))
    print()
    print(f"Before training, ‖∂L/∂W‖ on the whole training set ({max(config.depths)} blocks):")
    print(start_table(data, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
