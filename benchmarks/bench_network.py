"""Whole-network benchmark: VGG-16 on one 3×224×224 input in float32, netsim against PyTorch.

Run from the repository root::

    python benchmarks/bench_network.py            # three timed forwards each, about a minute
    python benchmarks/bench_network.py --quick    # one timed forward each

Both sides use the same ``Network`` (torchvision's VGG-16 layout), the same seeded weights and
the same input, and one thread each (``torch.set_num_threads(1)``, BLAS held to one thread).
Seeded weights are drawn when a layer first needs them; here every layer's are drawn before the
forwards are timed (the time is printed apart), so that both sides time computing alone.
PyTorch's forward is ``Network.torch_forward(keep=False)``: ``torch.nn.functional`` on the
network's own arrays, each output dropped once no later layer reads it; netsim's is
``Network.forward_all(keep=False)`` likewise (and, as a second figure, ``keep=True``, which
keeps every layer's output as the network screen does).

As a second reference, torch's own ``nn.Module`` of VGG-16 (torchvision's layout written out in
``torch.nn``: ``features``, ``avgpool``, ``classifier``, so the same state_dict keys) is loaded
with the same weights and timed under ``torch.no_grad()`` in eval mode.

Peak memory is measured in a fresh interpreter per side (``resource.getrusage`` ru_maxrss and
/proc's VmHWM): the netsim child never imports torch; the torch child holds the weights and
does one forward; a third child imports torch alone (no netsim), builds the ``nn.Module`` with
torch's own initialisation and does one forward. The children are started before this process
allocates anything large, since a child's ru_maxrss starts from its parent's at the time of the
fork.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIME_RATIO_TARGET = 3.0
RSS_RATIO_TARGET = 1.5
SEED = 0

MODULE = """
import torch
from torch import nn

def vgg16():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
           512, 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    model.classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 1000))

    def forward(x):
        x = model.avgpool(model.features(x))
        return model.classifier(torch.flatten(x, 1))

    model.forward = forward
    return model.eval()
"""

MODULE_CHILD = (
    """
import json, resource, sys
"""
    + MODULE
    + """
def hwm_kb():
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])

torch.set_num_threads(1)
torch.manual_seed(0)
model = vgg16()
x = torch.randn(1, 3, 224, 224)
_, before = hwm_kb()
with torch.no_grad():
    out = model(x)
hwm, _ = hwm_kb()
print(json.dumps({
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "hwm_kb": hwm,
    "before_forward_kb": before,
    "torch_loaded": True,
    "numpy_loaded": "numpy" in sys.modules,
    "checksum": float(out.sum()),
}))
"""
)

CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
import numpy as np
from threadpoolctl import threadpool_limits
threadpool_limits(1)
from engine.architectures import architecture
from engine.network import Network

def hwm_kb():
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0])

side = {side!r}
if side == "torch":
    import torch
    torch.set_num_threads(1)
layers, shape = architecture("vgg16")
net = Network(layers, shape, dtype=np.float32)
net.init_params({seed})
net.params.draw_all()  # seeded weights are drawn lazily: every layer now, before the forward
net.set_input(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
_, before = hwm_kb()
if side == "torch":
    out = net.torch_forward(keep=False)[net.layers[-1].name]
elif side == "netsim":
    out = net.forward_all(keep=False)
else:
    out = net.forward_all(keep=True)
hwm, _ = hwm_kb()
print(json.dumps({{
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "hwm_kb": hwm,
    "before_forward_kb": before,
    "torch_loaded": "torch" in sys.modules,
    "checksum": float(np.asarray(out, dtype=np.float64).sum()),
}}))
"""


def child(side: str) -> dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if side == "torch_module":
        code = MODULE_CHILD
    else:
        code = CHILD.format(root=str(ROOT), side=side, seed=SEED)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def timed(fn: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="one timed forward each")
    opts = parser.parse_args()
    repeats = 1 if opts.quick else 3

    # Memory first, from a small parent (see the module docstring).
    mem = {side: child(side) for side in ("torch", "torch_module", "netsim", "netsim_keep")}

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from engine.architectures import architecture
    from engine.network import Network, SeededParams

    torch.set_num_threads(1)
    threadpool_limits(1)
    layers, shape = architecture("vgg16")
    t0 = time.perf_counter()
    net = Network(layers, shape, dtype=np.float32)
    t_shapes = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.init_params(SEED)
    t_init = time.perf_counter() - t0
    params = net.params
    assert isinstance(params, SeededParams)
    t0 = time.perf_counter()
    params.draw_all()  # what every layer's first visit draws, so the forwards time computing
    t_draw = time.perf_counter() - t0
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    net.set_input(x)

    def ours(keep: bool) -> None:
        net.set_input(x)  # forgets the cache: every layer is computed again
        net.forward_all(keep=keep)

    namespace: dict[str, object] = {}
    exec(MODULE, namespace)  # the module is this file's own text
    model = namespace["vgg16"]()  # type: ignore[operator]
    model.load_state_dict({k: torch.from_numpy(v) for k, v in net.params.items()})
    xt = torch.from_numpy(x)[None]

    def module_forward() -> None:
        with torch.no_grad():
            model(xt)

    net.torch_forward(keep=False)  # warm up all three (first calls load kernels)
    module_forward()
    ours(False)
    t_torch = timed(lambda: net.torch_forward(keep=False), repeats)
    t_module = timed(module_forward, repeats)
    t_ours = timed(lambda: ours(False), repeats)
    t_keep = timed(lambda: ours(True), repeats)
    last = net.layers[-1].name
    ref = net.torch_forward(keep=False)[last]
    got = net.output(last)
    rel = float(np.abs(got - ref).max() / np.abs(ref).max())
    with torch.no_grad():
        ref_module = model(xt)[0].numpy()
    rel_module = float(np.abs(got - ref_module).max() / np.abs(ref_module).max())

    mb = 1024.0
    print(
        f"VGG-16, 3×224×224, float32, one thread; {net.param_count():,} parameters, "
        f"{net.macs():,} multiply-adds"
    )
    print(f"  shapes and counts (Network(...)):     {t_shapes * 1000:8.1f} ms")
    print(f"  seeded weights (init_params):         {t_init * 1000:8.1f} ms (nothing drawn)")
    print(f"  every layer's weights drawn:          {t_draw:8.2f} s")
    print(f"  torch forward (functional):           {t_torch:8.3f} s")
    print(f"  torch nn.Module forward (no_grad):    {t_module:8.3f} s")
    print(
        f"  netsim forward_all(keep=False):       {t_ours:8.3f} s   "
        f"ratio {t_ours / t_torch:.2f} (target ≤ {TIME_RATIO_TARGET:g})"
    )
    print(f"  netsim forward_all(keep=True):        {t_keep:8.3f} s   ratio {t_keep / t_torch:.2f}")
    print(f"  netsim keep=False / nn.Module:        {t_ours / t_module:8.2f}")
    print(f"  last layer vs torch: max |Δ| / max |torch| = {rel:.2e} (nn.Module: {rel_module:.2e})")
    print(f"  estimate peak_bytes():                {net.peak_bytes() / 2**20:8.0f} MiB")
    for side, m in mem.items():
        print(
            f"  peak RSS {side:12s} ru_maxrss {m['maxrss_kb'] / mb:7.0f} MiB, "
            f"VmHWM {m['hwm_kb'] / mb:7.0f} MiB (before forward {m['before_forward_kb'] / mb:.0f}"
            f" MiB; torch loaded: {m['torch_loaded']})"
        )
    ratio = mem["netsim"]["maxrss_kb"] / mem["torch"]["maxrss_kb"]
    ratio_keep = mem["netsim_keep"]["maxrss_kb"] / mem["torch"]["maxrss_kb"]
    ratio_module = mem["netsim"]["maxrss_kb"] / mem["torch_module"]["maxrss_kb"]
    print(
        f"  peak RSS ratio netsim/torch: {ratio:.2f} (keep=True: {ratio_keep:.2f}; "
        f"target ≤ {RSS_RATIO_TARGET:g}); netsim/torch-only nn.Module: {ratio_module:.2f}"
    )
    ok = (
        max(t_ours / t_torch, t_ours / t_module) <= TIME_RATIO_TARGET
        and max(ratio, ratio_module) <= RSS_RATIO_TARGET
    )
    print("  within targets" if ok else "  OUTSIDE the targets")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
