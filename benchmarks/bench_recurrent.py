"""Recurrent stage benchmarks: recording every gate of an LSTM vs nn.LSTM's own forward, and
random-access step time of the recurrent and deep_recurrent stages.

Run from the repository root::

    python benchmarks/bench_recurrent.py            # full run, a few seconds
    python benchmarks/bench_recurrent.py --quick    # fewer repeats

The workload is one LSTM layer, input 64, hidden 128, over 50 time steps; the stage keeps every
gate's pre-activation and value, the cell states and the hidden states of every step. The
figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

# One thread for both libraries, set before NumPy loads OpenBLAS: a step's products are small
# matrix-vector ones, where a second BLAS thread competing with torch's costs up to 10×.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.deep_recurrent import DeepRecurrentStage, deep_seeded_weights  # noqa: E402
from engine.recurrent import RecurrentStage, seeded_weights  # noqa: E402

STEPS, INPUT, HIDDEN = 50, 64, 128

# Targets: building the stage within 4× of nn.LSTM's forward (float64, the same arithmetic), and
# any time step reachable interactively.
BUILD_RATIO_TARGET = 4.0
STEP_MEDIAN_TARGET_US = 100.0


def best(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def step_median_us(stage: RecurrentStage | DeepRecurrentStage, count: int) -> float:
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
    repeats = 5 if args.quick else 20
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(STEPS, INPUT))
    w = seeded_weights("lstm", INPUT, HIDDEN, 0)

    def build() -> RecurrentStage:
        return RecurrentStage(
            x, "lstm", HIDDEN, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
        )

    stage = build()
    ours = best(build, repeats)
    rows: list[tuple[str, float, float | None]] = [
        ("RecurrentStage lstm (every gate, float64)", ours, None)
    ]
    for dtype in (torch.float64, torch.float32):
        module = torch.nn.LSTM(INPUT, HIDDEN, dtype=dtype)
        xt = torch.tensor(x, dtype=dtype)[:, None]
        with torch.no_grad():
            module(xt)
            ref = best(partial(module, xt), repeats)
        rows.append((f"nn.LSTM forward ({str(dtype).removeprefix('torch.')})", ref, ours / ref))
    print(f"LSTM input {INPUT}, hidden {HIDDEN}, T {STEPS}; {platform.processor() or 'cpu'}")
    print(f"{'run':<44}{'best ms':>10}{'ours ÷ it':>12}")
    for name, sec, ratio in rows:
        print(f"{name:<44}{sec * 1e3:>10.3f}{'' if ratio is None else f'{ratio:.2f}×':>12}")
    ratio64 = rows[1][2]
    assert ratio64 is not None

    deep = DeepRecurrentStage(
        x[:, :8], "lstm", 16, 3, True, deep_seeded_weights("lstm", 8, 16, 3, True, 0, 5)
    )
    count = 2_000 if args.quick else 20_000
    steps = [
        ("recurrent step(i)", step_median_us(stage, count)),
        ("deep_recurrent step(i) (3 layers, bi, T 50)", step_median_us(deep, count)),
    ]
    print(f"\n{'step':<44}{'median µs':>10}")
    for name, us in steps:
        print(f"{name:<44}{us:>10.1f}")
    ok = ratio64 <= BUILD_RATIO_TARGET and all(us <= STEP_MEDIAN_TARGET_US for _, us in steps)
    print(
        f"\nbuild ÷ nn.LSTM float64: {ratio64:.2f}× (target ≤ {BUILD_RATIO_TARGET}×); "
        f"step target ≤ {STEP_MEDIAN_TARGET_US} µs: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
