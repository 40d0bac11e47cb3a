"""Opening a whole network: ``scenarios.load`` of the bundled VGG-16 and the rows of its layer
table, against starting Python and importing NumPy, in one run.

Run from the repository root::

    python benchmarks/bench_open.py            # 5 fresh interpreters per figure
    python benchmarks/bench_open.py --quick    # 2 each
    python benchmarks/bench_open.py --draw     # also draw every seeded weight once

Figures:

- baseline: a fresh ``python -c "import numpy"``, wall clock from the parent (best of N).
- cold open: a fresh interpreter that imports the scenario loader, loads ``net_vgg16`` (parse,
  validate, build the network from shapes, read and resize the shipped picture, seed the weights)
  and builds the table's rows (``describe()`` and every ``step(i)``); the child reports each part
  with ``time.perf_counter`` and the parent the whole wall clock (best of N, by wall clock).
- warm open: the same load and rows again in this process, modules already imported (best of N).
- refusal: a fresh interpreter imports the loader and the network kind, then loads two VGG-16
  scenarios that do not fit the 1 GiB budget of a whole simulation (3×448×448 in float32, and
  3×224×224 with ``dtype = "float64"``); the child reports the time until the one-line refusal
  and its peak resident set (/proc's VmHWM) before and after, which shows that nothing the size
  of the estimate was allocated.
- ``--draw``: what the weights cost when they are finally needed: every seeded layer drawn
  (``SeededParams.draw_all``), 138 M numbers and 553 MB in float32.

The issue's target is the table of VGG-16 open in ≤ 300 ms; the whole screen's first frame is
measured by ``bench_tui.py``. BLAS is held to one thread in every interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_MS = 300.0
NAMES = ("net_vgg16", "net_alexnet")

BASELINE = "import numpy"

CHILD = """
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import scenarios
from scenarios.loader import load  # the loader and everything it imports
t1 = time.perf_counter()
sim = scenarios.load(scenarios.resolve({name!r}))
t2 = time.perf_counter()
stage = sim.stages[0]
table = stage.describe()
rows = [stage.step(i) for i in range(len(stage))]
t3 = time.perf_counter()
net = stage.network
print(json.dumps({{
    "import_ms": (t1 - t0) * 1e3,
    "load_ms": (t2 - t1) * 1e3,
    "rows_ms": (t3 - t2) * 1e3,
    "layers": len(rows),
    "parameters": table["parameters"],
    "computed": sum(net.computed(layer.name) for layer in net.layers),
    "module": scenarios.__file__,
}}))
"""


REFUSED = {
    "vgg16_448_float32": "input = {{ random = [3, 448, 448], seed = 0 }}\n",
    "vgg16_224_float64": 'input = {{ random = [3, 224, 224], seed = 0 }}\ndtype = "float64"\n',
}

REFUSE_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})

def vm():
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])

import scenarios
from scenarios.errors import ScenarioError
from scenarios.loader import load
import scenarios.kinds.network, scenarios.images, scenarios.weights, engine.architectures
path = {path!r}
hwm0, rss0 = vm()
t0 = time.perf_counter()
try:
    scenarios.load(path)
    message = None
except ScenarioError as e:
    message = str(e)
t1 = time.perf_counter()
hwm1, rss1 = vm()
print(json.dumps({{"ms": (t1 - t0) * 1e3, "hwm0_kb": hwm0, "hwm1_kb": hwm1, "rss0_kb": rss0,
                   "rss1_kb": rss1, "message": message}}))
"""


def _env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _run(code: str) -> tuple[float, str]:
    """Wall-clock seconds of a fresh interpreter running ``code``, and what it printed."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    return time.perf_counter() - t0, done.stdout


def cold(name: str, repeats: int) -> dict[str, Any]:
    """The best of ``repeats`` fresh interpreters opening ``name``, by wall clock."""
    best: dict[str, Any] = {}
    for _ in range(repeats):
        wall, out = _run(CHILD.format(root=str(ROOT), name=name))
        parts = json.loads(out.strip().splitlines()[-1])
        if not best or wall < best["wall_s"]:
            best = {"wall_s": wall, **parts}
    return best


def warm(name: str, repeats: int) -> tuple[float, float]:
    """Best (load, rows) seconds in this process, modules already imported."""
    import scenarios

    path = scenarios.resolve(name)
    scenarios.load(path)  # imports everything once
    best_load = best_rows = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        sim = scenarios.load(path)
        t1 = time.perf_counter()
        stage = sim.stages[0]
        stage.describe()
        for i in range(len(stage)):
            stage.step(i)
        t2 = time.perf_counter()
        best_load, best_rows = min(best_load, t1 - t0), min(best_rows, t2 - t1)
    return best_load, best_rows


def draw(name: str) -> tuple[float, int]:
    """Seconds and bytes to draw every seeded weight of ``name`` once."""
    import scenarios
    from engine.network import NetworkStage, SeededParams

    stage = scenarios.load(scenarios.resolve(name)).stages[0]
    assert isinstance(stage, NetworkStage)
    params = stage.network.params
    assert isinstance(params, SeededParams)
    t0 = time.perf_counter()
    params.draw_all()
    return time.perf_counter() - t0, params.nbytes


def refusals(repeats: int) -> list[tuple[str, dict[str, Any]]]:
    """Fresh interpreters loading each scenario of ``REFUSED``: the fastest run of each."""
    import tempfile

    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in REFUSED.items():
            path = Path(tmp) / f"{label}.toml"
            path.write_text(
                'kind = "network"\ntitle = "too large"\narchitecture = "vgg16"\nseed = 0\n'
                + extra.format(),
                encoding="utf-8",
            )
            runs = []
            for _ in range(repeats):
                _, out = _run(REFUSE_CHILD.format(root=str(ROOT), path=str(path)))
                runs.append(json.loads(out.strip().splitlines()[-1]))
            found.append((label, min(runs, key=lambda r: r["ms"])))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="2 interpreters per figure, not 5")
    parser.add_argument("--draw", action="store_true", help="also draw every seeded weight")
    opts = parser.parse_args()
    repeats = 2 if opts.quick else 5

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    base = min(_run(BASELINE)[0] for _ in range(repeats))
    print(f"Opening a network's table, best of {repeats}; one BLAS thread")
    print(f"  baseline python -c {BASELINE!r}:          {base * 1e3:7.0f} ms")
    ok = True
    for name in NAMES:
        c = cold(name, repeats)
        load_s, rows_s = warm(name, repeats)
        opened = c["load_ms"] + c["rows_ms"]
        print(
            f"  {name} ({c['layers']} layers, {c['parameters']:,} parameters, "
            f"{c['computed']} computed)"
        )
        print(
            f"    fresh interpreter: wall {c['wall_s'] * 1e3:6.0f} ms "
            f"({(c['wall_s'] - base) * 1e3:+.0f} ms over the baseline) = "
            f"imports {c['import_ms']:.0f} + load {c['load_ms']:.0f} + rows {c['rows_ms']:.1f} ms"
        )
        print(
            f"    load + rows after the imports: {opened:6.0f} ms; in a warm process "
            f"{(load_s + rows_s) * 1e3:.1f} ms (load {load_s * 1e3:.1f}, rows "
            f"{rows_s * 1e3:.2f})"
        )
        if name == "net_vgg16":
            ok = opened <= TARGET_MS
            print(
                f"    VGG-16 table opened in {opened:.0f} ms after the imports "
                f"(target ≤ {TARGET_MS:.0f} ms): {'within' if ok else 'OUTSIDE'} the target"
            )
        if Path(c["module"]).resolve().parent.parent != ROOT:
            print(f"    (measured the code at {c['module']}, not {ROOT})")
    print("  scenarios over the budget of a whole simulation (1 GiB), fresh interpreters:")
    for label, r in refusals(repeats):
        refused = r["message"] is not None
        ok = ok and refused
        grew = (r["hwm1_kb"] - r["hwm0_kb"]) / 1024
        print(
            f"    {label}: {'refused' if refused else 'NOT refused'} in {r['ms']:.1f} ms; peak RSS "
            f"{r['hwm0_kb'] / 1024:.0f} MiB after the imports, {r['hwm1_kb'] / 1024:.0f} MiB after "
            f"(+{grew:.1f} MiB)"
        )
        if refused:
            print(f"      {r['message']}")
    if opts.draw:
        t, nbytes = draw("net_vgg16")
        print(
            f"  every seeded weight of VGG-16 drawn once: {t:.2f} s, {nbytes / 2**20:.0f} MiB "
            "(each layer's share on its first visit)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
