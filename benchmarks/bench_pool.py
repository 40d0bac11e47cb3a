"""Pooling stage benchmarks: build time with arg-max vs torch, and random-access step time.

Run from the repository root::

    python benchmarks/bench_pool.py            # full run, about ten seconds
    python benchmarks/bench_pool.py --quick    # fewer steps and repeats

The workload is 2×2 max pooling, stride 2, of one 64×224×224 input: an output of 64×112×112,
that is 802,816 steps, each with the cell that won its window. The figures go into
docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import in_blocks, step_times  # noqa: E402

from engine.pool import PoolStage  # noqa: E402

IN_SHAPE = (64, 224, 224)  # (C, H, W)
SIZE = 2
STRIDE = 2

# Targets: step is interactive, and building the stage (maxima and their positions) is within
# a small factor of PyTorch's own float64 max_pool2d with return_indices=True.
STEP_MEDIAN_TARGET_US = 50.0
BUILD_RATIO_TARGET = 4.0


def operand(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(IN_SHAPE)  # (C, H, W)


def bench_build(repeats: int, rounds: int = 3) -> dict[str, float]:
    """Median wall time of building the stage and of torch's pooling, side by side in one run."""
    import torch
    import torch.nn.functional as F

    x = operand()
    x64 = torch.from_numpy(x)[None]  # (1, C, H, W)
    x32 = x64.to(torch.float32)

    def torch_max(xt: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return F.max_pool2d(xt, SIZE, STRIDE, return_indices=True)

        return run

    def torch_avg() -> object:
        with torch.no_grad():
            return F.avg_pool2d(x64, SIZE, STRIDE)

    jobs: dict[str, Callable[[], object]] = {
        "stage_max": lambda: PoolStage(x, "max", SIZE, STRIDE),
        "torch_f64": torch_max(x64),
        "torch_f32": torch_max(x32),
        "stage_avg": lambda: PoolStage(x, "avg", SIZE, STRIDE),
        "torch_avg_f64": torch_avg,
    }
    out = in_blocks(jobs, rounds, repeats)  # ms
    out["torch_threads"] = float(torch.get_num_threads())
    return out


def check_agreement() -> int:
    """Outputs that differ from torch's, counting values and arg-max indices (should be 0)."""
    stage = PoolStage(operand(), "max", SIZE, STRIDE)
    wrong_index = np.count_nonzero(stage.argmax_input_indices() != stage.reference_indices())
    wrong_value = np.count_nonzero(stage.output != stage.reference())
    return int(wrong_index + wrong_value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="random steps to time")
    parser.add_argument("--repeats", type=int, default=7, help="build repeats per round (3 rounds)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 steps, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 2_000, 3

    stage = PoolStage(operand(), "max", SIZE, STRIDE)
    step = step_times(stage, args.steps, args.seed)
    build = bench_build(args.repeats)
    mismatches = check_agreement()

    print(f"python {platform.python_version()}, numpy {np.__version__}, ", end="")
    print(f"{os.cpu_count()} CPU(s), torch threads {build['torch_threads']:.0f}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}")
    print(
        f"workload: input {IN_SHAPE}, max pool {SIZE}×{SIZE} stride {STRIDE}, "
        f"{len(stage):,} steps\n"
    )

    ratio = build["stage_max"] / build["torch_f64"]
    rows = [
        ("step median", f"{step['median']:.1f} µs", f"≤ {STEP_MEDIAN_TARGET_US:.0f} µs"),
        ("step p99", f"{step['p99']:.1f} µs", ""),
        ("step max", f"{step['max']:.0f} µs", ""),
        ("build: PoolStage max + arg-max", f"{build['stage_max']:.1f} ms", ""),
        ("build: torch f64 (indices)", f"{build['torch_f64']:.1f} ms", ""),
        ("build: torch f32 (indices)", f"{build['torch_f32']:.1f} ms", ""),
        ("ratio stage / torch f64", f"{ratio:.2f}×", f"≤ {BUILD_RATIO_TARGET:.0f}×"),
        ("ratio stage / torch f32", f"{build['stage_max'] / build['torch_f32']:.2f}×", ""),
        ("build: PoolStage avg", f"{build['stage_avg']:.1f} ms", ""),
        ("build: torch avg_pool2d f64", f"{build['torch_avg_f64']:.1f} ms", ""),
        ("mismatches vs torch", f"{mismatches}", "0"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  target")
    print(f"{'-' * width}  {'-' * 12}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target}")

    misses = []
    if step["median"] > STEP_MEDIAN_TARGET_US:
        misses.append("step median")
    if ratio > BUILD_RATIO_TARGET:
        misses.append("build ratio")
    if mismatches:
        misses.append("agreement with torch")
    print("\ntargets missed: " + (", ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
