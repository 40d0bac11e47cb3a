"""Convolution stage benchmarks: random-access step time, peak memory, and build time vs torch.

Run from the repository root::

    python benchmarks/bench_conv.py            # full run, about half a minute
    python benchmarks/bench_conv.py --quick    # fewer steps and repeats

The workload is one 3×224×224 input through 64 filters of 3×3 (padding 0, stride 1): an
output of 64×222×222, that is 3,154,176 steps. The figures go into docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import in_blocks, step_times  # noqa: E402

from engine.conv import ConvStage  # noqa: E402

IN_SHAPE = (3, 224, 224)  # (C, H, W)
W_SHAPE = (64, 3, 3, 3)  # (F, C, f_h, f_w)

# Targets from the design: step is interactive, memory is bounded by the tensors, build is
# within a small factor of PyTorch's own float64 convolution.
STEP_MEDIAN_TARGET_US = 50.0
RSS_TARGET_MB = 500.0
BUILD_RATIO_TARGET = 5.0

# Run in a fresh interpreter so that torch (imported by the build comparison) is not counted.
# The peak is read from /proc/self/status (VmHWM): on Linux, ru_maxrss survives exec, so a child
# reports at least its parent's high-water mark at the time of the fork.
RSS_CHILD = f"""
import json, resource, sys
import numpy as np
sys.path.insert(0, {str(ROOT)!r})
from engine.conv import ConvStage

def status():
    try:
        with open("/proc/self/status") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except OSError:
        return -1, -1

before_kb, _ = status()
rng = np.random.default_rng(0)
x = rng.standard_normal({IN_SHAPE})
w = rng.standard_normal({W_SHAPE})
b = rng.standard_normal({W_SHAPE[0]})
stage = ConvStage(x, w, b)
for i in rng.integers(0, len(stage), {{steps}}):
    stage.step(int(i))
_, hwm_kb = status()
print(json.dumps({{
    "before_kb": before_kb,
    "hwm_kb": hwm_kb,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "torch_loaded": any(m == "torch" or m.startswith("torch.") for m in sys.modules),
}}))
"""


def operands(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(IN_SHAPE)  # (C, H, W)
    w = rng.standard_normal(W_SHAPE)  # (F, C, f_h, f_w)
    b = rng.standard_normal(W_SHAPE[0])  # (F,)
    return x, w, b


def bench_rss(steps: int) -> dict[str, float]:
    """Peak resident memory of a process that builds the stage and steps it (no torch)."""
    code = RSS_CHILD.replace("{steps}", str(steps))
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    data = json.loads(res.stdout)
    if data["torch_loaded"]:
        raise RuntimeError("the memory child imported torch; the figure would be meaningless")
    # All three are in KiB on Linux.
    peak = data["hwm_kb"] if data["hwm_kb"] > 0 else data["maxrss_kb"]
    return {
        "before_mb": data["before_kb"] / 1024,
        "peak_mb": peak / 1024,
        "maxrss_mb": data["maxrss_kb"] / 1024,
    }


def bench_build(repeats: int, rounds: int = 3) -> dict[str, float]:
    """Median wall time of building the stage and of torch's conv2d, side by side in one run."""
    import torch
    import torch.nn.functional as F

    x, w, b = operands()
    tensors = {}
    for name, dtype in (("torch_f64", torch.float64), ("torch_f32", torch.float32)):
        tensors[name] = (
            torch.from_numpy(x)[None].to(dtype),
            torch.from_numpy(w).to(dtype),
            torch.from_numpy(b).to(dtype),
        )

    def run_torch(name: str) -> None:
        xt, wt, bt = tensors[name]
        with torch.no_grad():
            F.conv2d(xt, wt, bt)

    jobs = {
        "stage": lambda: ConvStage(x, w, b),
        "torch_f64": lambda: run_torch("torch_f64"),
        "torch_f32": lambda: run_torch("torch_f32"),
    }
    out = in_blocks(jobs, rounds, repeats)  # ms
    out["torch_threads"] = float(torch.get_num_threads())
    return out


def blas_name() -> str:
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]  # type: ignore[index]
        return f"{deps['blas']['name']} {deps['blas'].get('version', '')}".strip()
    except Exception:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="random steps to time")
    parser.add_argument("--repeats", type=int, default=7, help="build repeats per round (3 rounds)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 steps, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = 2_000, 3

    x, w, b = operands()
    stage = ConvStage(x, w, b)
    step = step_times(stage, args.steps, args.seed)
    rss = bench_rss(args.steps)
    build = bench_build(args.repeats)

    print(f"python {platform.python_version()}, numpy {np.__version__} ({blas_name()}), ", end="")
    print(f"{os.cpu_count()} CPU(s), torch threads {build['torch_threads']:.0f}")
    print(
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}"
    )
    print(f"workload: input {IN_SHAPE}, weights {W_SHAPE}, {len(stage):,} steps\n")

    rows = [
        ("step median", f"{step['median']:.1f} µs", f"≤ {STEP_MEDIAN_TARGET_US:.0f} µs"),
        ("step p99", f"{step['p99']:.1f} µs", ""),
        ("step max", f"{step['max']:.0f} µs", ""),
        ("RSS after imports", f"{rss['before_mb']:.0f} MB", ""),
        ("RSS peak, VmHWM (no torch)", f"{rss['peak_mb']:.0f} MB", f"≤ {RSS_TARGET_MB:.0f} MB"),
        ("ru_maxrss (incl. parent)", f"{rss['maxrss_mb']:.0f} MB", ""),
        ("build: ConvStage", f"{build['stage']:.1f} ms", ""),
        ("build: torch float64", f"{build['torch_f64']:.1f} ms", ""),
        ("build: torch float32", f"{build['torch_f32']:.2f} ms", ""),
        (
            "ratio stage / torch f64",
            f"{build['stage'] / build['torch_f64']:.2f}×",
            f"≤ {BUILD_RATIO_TARGET:.0f}×",
        ),
        ("ratio stage / torch f32", f"{build['stage'] / build['torch_f32']:.1f}×", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  target")
    print(f"{'-' * width}  {'-' * 12}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target}")

    misses = []
    if step["median"] > STEP_MEDIAN_TARGET_US:
        misses.append("step median")
    if rss["peak_mb"] > RSS_TARGET_MB:
        misses.append("peak RSS")
    if build["stage"] / build["torch_f64"] > BUILD_RATIO_TARGET:
        misses.append("build ratio")
    print("\ntargets missed: " + (", ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
