"""Kernel-learning benchmarks: time from loading the bundled scenario to a learned kernel, vs torch.

Run from the repository root::

    python benchmarks/bench_learn.py            # full run, a few seconds
    python benchmarks/bench_learn.py --quick    # fewer repeats

The workload is the bundled ``learn_vertical_edge`` scenario: four 8×8 images, a hidden 3×3
vertical edge detector, plain gradient descent. Measured in one run, so that the ratios compare
like with like:

- cold load: ``scenarios.load`` in a fresh interpreter that has imported only ``scenarios``
  (what the browser pays the first time a scenario is opened: the loader, pydantic, NumPy and
  the engine are imported on first use), to a kernel within the tolerance of the hidden one;
- warm load: the same in this process, after a first load;
- training only: building ``KernelLearningStage`` on the scenario's arrays, for the whole run
  and for just the iterations it takes to reach the tolerance;
- PyTorch: the same gradient descent with ``conv2d``, ``mse_loss`` and ``loss.backward()`` in
  float64 (``KernelLearningStage.reference_run``), whole run and up to the tolerance;
- ``step(i)``: one call at random iterations (the cost of moving the cursor).

The figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import scenarios  # noqa: E402
from engine.learn import KernelLearningStage  # noqa: E402

SCENARIO = "learn_vertical_edge"
TOLERANCE = 1e-3
"""max |W − W*| that counts as learned."""

TARGET_S = 10.0
"""Design target: from loading the scenario to a kernel within the tolerance."""
EVENT_LOOP_MS = 100.0
"""Work longer than this on the event loop is felt; beyond it loading belongs in a worker."""

COLD_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
import scenarios
path = scenarios.resolve({name!r})
t0 = time.perf_counter()
sim = scenarios.load(path)
stage = sim.stages[0]
reached = stage.first_iteration_within({tol!r})
t1 = time.perf_counter()
torch = any(m == "torch" or m.startswith("torch.") for m in sys.modules)
print(json.dumps({{"seconds": t1 - t0, "reached": reached, "torch_loaded": torch}}))
"""


def median_seconds(job: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``job`` over ``repeats`` timed calls after one discarded warm-up."""
    job()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        job()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cold_load(runs: int) -> tuple[float, int | None]:
    """Median seconds of the first ``scenarios.load`` in fresh interpreters, and the iteration."""
    code = COLD_CHILD.format(root=str(ROOT), name=SCENARIO, tol=TOLERANCE)
    seconds, reached = [], None
    for _ in range(runs):
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        data = json.loads(res.stdout)
        if data["torch_loaded"]:
            raise RuntimeError("loading imported torch; the cold figure would be meaningless")
        seconds.append(data["seconds"])
        reached = data["reached"]
    return statistics.median(seconds), reached


def bench_step(stage: KernelLearningStage, n: int) -> float:
    """Median µs of ``stage.step(i)`` at ``n`` random iterations."""
    rng = np.random.default_rng(0)
    indices = [int(i) for i in rng.integers(0, len(stage), n)]
    times = np.empty(n)
    for k, i in enumerate(indices):
        t0 = time.perf_counter_ns()
        stage.step(i)
        times[k] = time.perf_counter_ns() - t0
    return float(np.median(times)) / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per measure")
    parser.add_argument("--cold", type=int, default=5, help="fresh interpreters for cold loads")
    parser.add_argument("--quick", action="store_true", help="3 repeats, 2 cold loads")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.cold = 3, 2

    path = scenarios.resolve(SCENARIO)
    cold_s, cold_reached = cold_load(args.cold)
    warm_s = median_seconds(lambda: scenarios.load(path), args.repeats)
    stage = scenarios.load(path).stages[0]
    assert isinstance(stage, KernelLearningStage)
    reached = stage.first_iteration_within(TOLERANCE)
    if reached is None or reached != cold_reached:
        raise RuntimeError(f"the scenario does not reach {TOLERANCE:g}: {reached}, {cold_reached}")
    final = float(np.abs(stage.final_kernel - stage.hidden).max())

    def train(iterations: int) -> Callable[[], object]:
        return lambda: KernelLearningStage(
            stage.images, stage.hidden, stage.init, stage.learning_rate, iterations
        )

    def torch_run(iterations: int) -> Callable[[], object]:
        short = train(iterations)()
        assert isinstance(short, KernelLearningStage)
        return short.reference_run

    import torch

    train_all = median_seconds(train(stage.iterations), args.repeats)
    train_tol = median_seconds(train(reached), args.repeats)
    torch_all = median_seconds(torch_run(stage.iterations), max(3, args.repeats // 3))
    torch_tol = median_seconds(torch_run(reached), max(3, args.repeats // 3))
    delta = stage.check_against_torch()
    step_us = bench_step(stage, 20_000)

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    print(f"{os.cpu_count()} CPU(s), torch threads {torch.get_num_threads()}")
    n, h, w = stage.images.shape
    print(
        f"workload: {SCENARIO}: {n} images {h}×{w}, kernel {stage.kernel_hw[0]}×"
        f"{stage.kernel_hw[1]}, η = {stage.learning_rate:g}, {stage.iterations} iterations; "
        f"max |W − W*| ≤ {TOLERANCE:g} after {reached} iterations "
        f"(final {final:.1e}); max |Δ| vs torch {delta:.1e}\n"
    )
    rows = [
        ("cold load → within tolerance", f"{cold_s * 1000:.0f} ms", f"≤ {TARGET_S:.0f} s"),
        ("warm load → within tolerance", f"{warm_s * 1000:.1f} ms", f"≤ {EVENT_LOOP_MS:.0f} ms"),
        (f"training, all {stage.iterations} iterations", f"{train_all * 1000:.2f} ms", ""),
        (f"training, {reached} iterations (tolerance)", f"{train_tol * 1000:.2f} ms", ""),
        (f"torch autograd, all {stage.iterations}", f"{torch_all * 1000:.1f} ms", ""),
        (f"torch autograd, {reached} (tolerance)", f"{torch_tol * 1000:.1f} ms", ""),
        ("ratio training / torch (all)", f"{train_all / torch_all:.2f}×", ""),
        ("step(i) median", f"{step_us:.1f} µs", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  target")
    print(f"{'-' * width}  {'-' * 10}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")

    misses = []
    if cold_s > TARGET_S:
        misses.append("time to tolerance")
    if warm_s * 1000 > EVENT_LOOP_MS:
        misses.append("warm load on the event loop")
    print("\ntargets missed: " + (", ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
