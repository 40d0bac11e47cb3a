"""Receptive-field and influence tracing through a 3-stage pipeline on a 64×64 input.

Run from the repository root::

    python benchmarks/bench_receptive.py

Target: highlighting the receptive field of any cell takes ≤ 20 ms (median over random cells).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.activation import ActivationStage  # noqa: E402
from engine.conv import ConvStage  # noqa: E402
from engine.core import Simulation  # noqa: E402
from engine.pool import PoolStage  # noqa: E402
from engine.receptive import influence, receptive_field  # noqa: E402

TARGET_MS = 20.0


def main() -> None:
    rng = np.random.default_rng(0)
    conv = ConvStage(rng.normal(size=(3, 64, 64)), rng.normal(size=(16, 3, 3, 3)), padding=1)
    act = ActivationStage(conv.output, "relu")
    pool = PoolStage(act.output, size=2)
    sim = Simulation([conv, act, pool])
    oh, ow = pool.out_hw
    back, fwd = [], []
    for _ in range(2000):
        r, c = int(rng.integers(oh)), int(rng.integers(ow))
        t0 = time.perf_counter()
        receptive_field(sim, 2, r, c)
        t1 = time.perf_counter()
        influence(sim, int(rng.integers(64)), int(rng.integers(64)))
        t2 = time.perf_counter()
        back.append((t1 - t0) * 1e3)
        fwd.append((t2 - t1) * 1e3)
    print("workload: conv 3→16 (3×3, same) → ReLU → 2×2 max pool on 3×64×64, 2,000 cells")
    print(f"{'measure':<36}{'median':>10}{'p99':>10}  target")
    for name, xs in (
        ("receptive field (output → inputs)", back),
        ("influence (input → outputs)", fwd),
    ):
        p99 = sorted(xs)[int(0.99 * len(xs))]
        print(f"{name:<36}{statistics.median(xs):>8.3f}ms{p99:>8.3f}ms  ≤ {TARGET_MS:g} ms")
    missed = statistics.median(back) > TARGET_MS or statistics.median(fwd) > TARGET_MS
    print("targets missed:", "receptive field" if missed else "none")


if __name__ == "__main__":
    main()
