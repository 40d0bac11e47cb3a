"""Whole networks: a graph of named layers, checked from shapes alone, computed layer by layer.

A ``Network`` is a list of ``Layer``s, each naming its op (one of ``NETWORK_OPS``), its
hyper-parameters in PyTorch's argument names and the layers it reads. Building one checks every
shape, parameter count and multiply-add count from the input shape alone: nothing is computed
and no weight is allocated. Weights come from ``init_params(seed)`` (torchvision's
initialisation, drawn layer by layer when a layer first needs them: ``SeededParams``) or
``load_state_dict(sd)`` (a PyTorch ``state_dict``, keys unchanged, arrays kept without a copy
when they are already in the network's dtype).

The forward pass is lazy: ``output(name)`` computes that layer and only the layers it needs,
and keeps every output it computed (a screen shows them). Convolutions are an im2col over
blocks of output rows and one float matrix product per block, so VGG-16 on 3×224×224 runs
within a small factor of PyTorch's own forward (``benchmarks/bench_network.py``) and never
holds more than about 8 MiB of im2col at once.
``stage(name)`` turns one layer, fed its real input, into a stepping ``Stage`` in float64.

Shapes never include a batch axis: images are (C, H, W), vectors (N,).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from engine.conv import output_size, size_formula
from engine.core import FLOAT32_TOLERANCE, FLOAT64_TOLERANCE, Stage, Step
from engine.errors import SpecError
from engine.layers import adaptive_windows
from engine.limits import MAX_NEGATIVE_SLOPE, MAX_STRIDE

NETWORK_OPS = (
    "conv2d",
    "maxpool2d",
    "avgpool2d",
    "adaptive_avgpool2d",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "flatten",
    "linear",
    "batchnorm2d",
    "add",
    "dropout",
    "softmax",
)
"""Every op a layer may name."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: how far a computation has come, in units of work."""

INPUT = "input"
"""The name that refers to the network's input in a layer's ``inputs``."""

_REQUIRED = object()

_ARGS: dict[str, dict[str, Any]] = {
    "conv2d": {
        "out_channels": _REQUIRED,
        "kernel_size": _REQUIRED,
        "stride": 1,
        "padding": 0,
        "groups": 1,
        "bias": True,
        "in_channels": None,
    },
    "maxpool2d": {"kernel_size": _REQUIRED, "stride": None, "padding": 0},
    "avgpool2d": {"kernel_size": _REQUIRED, "stride": None, "padding": 0},
    "adaptive_avgpool2d": {"output_size": _REQUIRED},
    "relu": {},
    "sigmoid": {},
    "tanh": {},
    "leaky_relu": {"negative_slope": 0.01},
    "flatten": {},
    "linear": {
        "out_features": _REQUIRED,
        "bias": True,
        "in_features": None,
        "init_std": None,
        "init_gain": None,
    },
    "batchnorm2d": {"eps": 1e-5, "num_features": None, "momentum": 0.1},
    "add": {},
    "dropout": {"p": 0.5},
    "softmax": {},
}
"""The arguments each op accepts and their defaults (``_REQUIRED``: must be given).

Besides PyTorch's own arguments, ``in_channels`` / ``in_features`` / ``num_features`` may be
given to have them checked against the input, and a linear layer may set how it is seeded:
``init_std`` (weights normal(0, init_std), bias 0, as torchvision's VGG does) or ``init_gain``
(weights normal(0, (init_gain/√fan_in)²), bias 0: a layer whose typical gain is init_gain).
``momentum`` is accepted and has no effect: batch norm here is inference only."""

ACTIVATION_OPS = ("relu", "sigmoid", "tanh", "leaky_relu")
"""Ops that apply a function element by element (``engine.activation.ActivationStage``)."""

_CONV_BLOCK_BYTES = 8 << 20
"""Size of one im2col block of the forward pass (8 MiB): large enough that each block is one
efficient matrix product, small enough that it stays a small share of the memory."""


class NetworkError(SpecError):
    """A network that cannot be built or fed: ``field`` names the place ("layers[3].kernel_size",
    "layers[7].inputs", "input", "weights"), ``message`` says what was given and what fits."""


class _TooSmall(NetworkError):
    """A window that does not fit its input: the network's input is too small."""


@dataclass(frozen=True)
class Layer:
    """One named layer of a network.

    ``args`` holds the hyper-parameters in PyTorch's argument names (see ``_ARGS``);
    ``inputs`` names the layers it reads: () is the previous layer (the network's input for
    the first), ``"input"`` is the network's input; ``add`` takes exactly two.
    """

    name: str
    op: str
    args: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Plan:
    """What validation found for one layer: everything the forward pass needs, from shapes."""

    inputs: tuple[str, ...]
    out_shape: tuple[int, ...]
    hyper: dict[str, Any]
    """Normalised hyper-parameters: pairs for windows, numbers filled in from defaults."""
    params: dict[str, tuple[int, ...]]
    """Suffix ("weight", "bias", "running_mean", "running_var") → shape."""
    learnable: int
    macs: int


# -- formatting and small checks ---------------------------------------------------------------


def shape_text(shape: Sequence[int]) -> str:
    """``3×224×224`` for an image, ``4096`` for a vector."""
    return "×".join(str(int(n)) for n in shape) if len(shape) else "scalar"


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _int_arg(v: Any, fld: str, what: str, minimum: int, maximum: int | None = None) -> int:
    if not _is_int(v) or v < minimum or (maximum is not None and v > maximum):
        top = f" and ≤ {maximum:,}" if maximum is not None else ""
        raise NetworkError(fld, f"{what}: expected a whole number ≥ {minimum}{top}, got {v!r}")
    return int(v)


def _pair_arg(
    v: Any, fld: str, what: str, minimum: int, maximum: int | None = None
) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise NetworkError(
                fld, f"{what}: expected a whole number or a pair [rows, cols], got {list(v)!r}"
            )
        return (
            _int_arg(v[0], fld, what, minimum, maximum),
            _int_arg(v[1], fld, what, minimum, maximum),
        )
    n = _int_arg(v, fld, what, minimum, maximum)
    return n, n


def _float_arg(
    v: Any, fld: str, what: str, lo: float, hi: float, *, open_lo: bool = False
) -> float:
    ok = _is_number(v) and math.isfinite(float(v))
    if ok:
        f = float(v)
        ok = (f > lo if open_lo else f >= lo) and f <= hi
    if not ok:
        low = f"> {lo:g}" if open_lo else f"≥ {lo:g}"
        raise NetworkError(fld, f"{what}: expected a number {low} and ≤ {hi:g}, got {v!r}")
    return float(v)


def _window_fits(
    fld: str,
    what: str,
    in_hw: tuple[int, int],
    k: tuple[int, int],
    s: tuple[int, int],
    p: tuple[int, int],
    in_shape: tuple[int, ...],
) -> tuple[int, int]:
    """Output (h, w) of a window over ``in_hw``, or the error with the formula's numbers."""
    oh = output_size(in_hw[0], k[0], s[0], p[0])
    ow = output_size(in_hw[1], k[1], s[1], p[1])
    if oh < 1 or ow < 1:
        parts = []
        if oh < 1:
            parts.append(f"height {size_formula(in_hw[0], k[0], s[0], p[0])}")
        if ow < 1:
            parts.append(f"width {size_formula(in_hw[1], k[1], s[1], p[1])}")
        raise _TooSmall(
            fld,
            f"{what}: its {k[0]}×{k[1]} window (stride {s[0]}×{s[1]}, padding {p[0]}×{p[1]}) "
            f"does not fit its {shape_text(in_shape)} input: {', '.join(parts)}; the "
            "network's input is too small for this layer",
        )
    return oh, ow


# -- the network ---------------------------------------------------------------------------------


class Network:
    """A graph of named layers over an input of shape ``input_shape`` (no batch axis).

    Building checks every layer from shapes alone and raises ``NetworkError`` naming the first
    layer that does not fit; nothing is computed and no weight is allocated until
    ``init_params`` or ``load_state_dict``.

    Args:
        layers: the layers in order; a layer may read only the input and earlier layers.
        input_shape: (C, H, W) for an image, (N,) for a vector.
        dtype: float32 or float64, the precision of the weights and of the forward pass.
        title: a name for screens.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        input_shape: tuple[int, ...],
        *,
        dtype: Any = np.float32,
        title: str = "",
    ) -> None:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise NetworkError("dtype", f"expected float32 or float64, got {dtype!r}")
        self.dtype: np.dtype = dt
        self.title = title
        if (
            not isinstance(input_shape, (tuple, list))
            or not 1 <= len(input_shape) <= 3
            or not all(_is_int(n) and n >= 1 for n in input_shape)
        ):
            raise NetworkError(
                "input",
                "expected a shape (C, H, W) for an image or (N,) for a vector, every size ≥ 1, "
                f"got {input_shape!r}",
            )
        self.input_shape: tuple[int, ...] = tuple(int(n) for n in input_shape)
        if not layers:
            raise NetworkError("layers", "a network needs at least one layer")
        self.layers: list[Layer] = list(layers)
        try:
            self._plan_all()
        except _TooSmall as e:
            smallest = self._smallest_square()
            if smallest is None:
                raise NetworkError(e.field, e.message) from None
            raise NetworkError(
                e.field, f"{e.message}; the smallest square input the network takes is {smallest}"
            ) from None
        self._param_shapes: dict[str, tuple[int, ...]] = {}
        for layer, plan in zip(self.layers, self._plans, strict=True):
            for suffix, shape in plan.params.items():
                self._param_shapes[f"{layer.name}.{suffix}"] = shape
        self._last_use = self._compute_last_use()
        self.params: Mapping[str, np.ndarray] = {}
        """The state_dict (key → array in ``dtype``): {} until ``init_params`` or
        ``load_state_dict``. Seeded weights are a ``SeededParams``, which draws a layer's
        arrays when one of its keys is first read; ``in``, ``len`` and the keys cost nothing,
        while ``values()``/``items()``/``dict(params)`` draw every layer (VGG-16: 553 MB in
        float32 and a few seconds)."""
        self.seeded = False
        self.seed: int | None = None
        """The seed of ``init_params`` while the weights are seeded, else None."""
        self._input: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        title = f"{self.title!r}, " if self.title else ""
        return (
            f"Network({title}{len(self.layers)} layers, input {shape_text(self.input_shape)}, "
            f"{self.param_count():,} parameters, {self.dtype.name})"
        )

    # -- validation ------------------------------------------------------------------------------

    def _plan_all(self) -> None:
        """Check every layer in order from the input shape: one pass, O(layers)."""
        self._index: dict[str, int] = {}
        self._plans: list[_Plan] = []
        for i, layer in enumerate(self.layers):
            self._plans.append(self._check(i, layer))
            self._index[layer.name] = i

    def _fits(self, shape: tuple[int, ...]) -> bool:
        trial = object.__new__(Network)
        trial.layers, trial.input_shape = self.layers, shape
        try:
            trial._plan_all()
        except NetworkError:
            return False
        return True

    def _smallest_square(self) -> str | None:
        """The smallest C×n×n input every layer fits (bisection: output sizes never shrink as
        the input grows), or None if there is none up to 64 times the given size."""
        if len(self.input_shape) != 3:
            return None
        c, h, w = self.input_shape
        hi = 64 * max(h, w)
        if not self._fits((c, hi, hi)):
            return None
        lo = 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._fits((c, mid, mid)):
                hi = mid
            else:
                lo = mid + 1
        return f"{c}×{lo}×{lo}"

    def _check(self, i: int, layer: Layer) -> _Plan:
        where = f"layers[{i}]"
        if not isinstance(layer, Layer):
            raise NetworkError(where, f"expected a Layer, got {type(layer).__name__}")
        name = layer.name
        if not isinstance(name, str) or not name or name.strip() != name:
            raise NetworkError(
                f"{where}.name", f"expected a non-empty name without spaces around it, got {name!r}"
            )
        if name == INPUT:
            raise NetworkError(
                f"{where}.name", f"{INPUT!r} names the network's input; choose another name"
            )
        if name in self._index:
            raise NetworkError(
                f"{where}.name",
                f"{name!r} is already the name of layers[{self._index[name]}]; names must be "
                "unique",
            )
        op = layer.op
        if not isinstance(op, str) or op not in NETWORK_OPS:
            hint = _did_you_mean(op, NETWORK_OPS) if isinstance(op, str) else ""
            raise NetworkError(
                f"{where}.op",
                f"{name}: unknown op {op!r}{hint}; valid: {', '.join(NETWORK_OPS)}",
            )
        what = f"{name} ({op})"
        if not isinstance(layer.args, Mapping):
            raise NetworkError(f"{where}.args", f"{what}: expected a table of arguments")
        spec = _ARGS[op]
        for key in layer.args:
            if key not in spec:
                valid = ", ".join(spec) if spec else "none"
                raise NetworkError(
                    f"{where}.{key}",
                    f"{what}: unknown argument {key!r}{_did_you_mean(str(key), list(spec))}; "
                    f"valid: {valid}",
                )
        args: dict[str, Any] = {}
        for key, default in spec.items():
            if key in layer.args:
                args[key] = layer.args[key]
            elif default is _REQUIRED:
                raise NetworkError(f"{where}.{key}", f"{what}: {key} is required")
            else:
                args[key] = default
        inputs = self._resolve_inputs(i, layer, what)
        shapes = [
            self.input_shape if n == INPUT else self._plans[self._index[n]].out_shape
            for n in inputs
        ]
        return _PLANNERS[op](_Request(where, what, args, inputs, shapes))

    def _resolve_inputs(self, i: int, layer: Layer, what: str) -> tuple[str, ...]:
        fld = f"layers[{i}].inputs"
        raw = layer.inputs
        if isinstance(raw, str) or not isinstance(raw, (tuple, list)):
            raise NetworkError(fld, f"{what}: expected a list of layer names, got {raw!r}")
        want = 2 if layer.op == "add" else 1
        if not raw:
            if want == 2:
                raise NetworkError(
                    fld, f"{what}: add takes exactly two inputs; name them in inputs = [a, b]"
                )
            return (self.layers[i - 1].name if i > 0 else INPUT,)
        if len(raw) != want:
            count = "exactly two inputs" if want == 2 else "one input"
            raise NetworkError(
                fld, f"{what}: {layer.op} takes {count}, got {len(raw)}: {list(raw)!r}"
            )
        for ref in raw:
            if not isinstance(ref, str):
                raise NetworkError(fld, f"{what}: expected layer names, got {ref!r}")
            if ref == INPUT or ref in self._index:
                continue
            if ref == layer.name:
                raise NetworkError(
                    fld,
                    f"{what}: reads its own output, a cycle; a layer may read only "
                    "the input and earlier layers",
                )
            later = next(
                (k for k in range(i + 1, len(self.layers)) if self.layers[k].name == ref), None
            )
            if later is not None:
                raise NetworkError(
                    fld,
                    f"{what}: reads {ref!r}, which is layers[{later}], after it (a cycle or "
                    "forward reference); a layer may read only the input and earlier layers",
                )
            known = [INPUT, *self._index]
            raise NetworkError(
                fld,
                f"{what}: no layer is called {ref!r}{_did_you_mean(ref, known)}; a layer may "
                "read 'input' or an earlier layer",
            )
        return tuple(raw)

    def _compute_last_use(self) -> dict[str, int]:
        last: dict[str, int] = {}
        for i, plan in enumerate(self._plans):
            for n in plan.inputs:
                last[n] = i
        return last

    # -- shape facts -----------------------------------------------------------------------------

    def index(self, name: str) -> int:
        """Position of the layer called ``name``; KeyError with a suggestion if there is none."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"no layer is called {name!r}{_did_you_mean(name, list(self._index))}"
            ) from None

    def _plan_of(self, name: str) -> _Plan:
        return self._plans[self.index(name)]

    def shape(self, name: str) -> tuple[int, ...]:
        """Output shape of a layer (``"input"``: the input shape)."""
        if name == INPUT:
            return self.input_shape
        return self._plan_of(name).out_shape

    def input_names(self, name: str) -> tuple[str, ...]:
        """The names of the layers (or ``"input"``) a layer reads."""
        return self._plan_of(name).inputs

    def hyper(self, name: str) -> dict[str, Any]:
        """The layer's hyper-parameters with defaults filled in and windows as pairs."""
        return dict(self._plan_of(name).hyper)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The state_dict's keys and shapes, in order (batch-norm buffers included)."""
        return dict(self._param_shapes)

    def param_count(self, name: str | None = None) -> int:
        """Learnable numbers of one layer, or of the whole network (batch-norm buffers are not
        learnable and not counted)."""
        if name is None:
            return sum(p.learnable for p in self._plans)
        return self._plan_of(name).learnable

    def macs(self, name: str | None = None) -> int:
        """Multiply-adds of one layer or of the whole network: a convolution or linear layer
        does one per weight per output position, batch norm one per element (x·scale + shift);
        pooling, activations, add, flatten, dropout and softmax count none."""
        if name is None:
            return sum(p.macs for p in self._plans)
        return self._plan_of(name).macs

    def activation_size(self, name: str) -> int:
        """Number of elements in a layer's output."""
        return math.prod(self.shape(name))

    def peak_bytes(self) -> int:
        """Memory of the forward pass with every output kept, from shapes alone: the weights
        (and buffers), the input, every layer's output, and the largest temporary of one
        layer. The float64 stage of one layer (``stage``) is not included."""
        item = self.dtype.itemsize
        params = sum(math.prod(s) for s in self._param_shapes.values())
        outputs = math.prod(self.input_shape) + sum(math.prod(p.out_shape) for p in self._plans)
        temp = max(self._temp_bytes(i) for i in range(len(self.layers)))
        return item * (params + outputs) + temp

    def _temp_bytes(self, i: int) -> int:
        """The largest temporary the forward pass of layer ``i`` makes."""
        plan, op = self._plans[i], self.layers[i].op
        item = self.dtype.itemsize
        out = math.prod(plan.out_shape)
        check = out  # the finite check's boolean mask
        if op == "conv2d":
            c, h, w = self.shape(plan.inputs[0])
            (ph, pw), (fh, fw) = plan.hyper["padding"], plan.hyper["kernel_size"]
            padded = c * (h + 2 * ph) * (w + 2 * pw) if (ph or pw) else 0
            k = c // plan.hyper["groups"] * fh * fw
            row = k * plan.out_shape[2] * item
            block = max(row, min(_CONV_BLOCK_BYTES, row * plan.out_shape[1]))
            return padded * item + block + check
        if op in ("maxpool2d", "avgpool2d"):
            c, h, w = self.shape(plan.inputs[0])
            ph, pw = plan.hyper["padding"]
            return item * (c * (h + 2 * ph) * (w + 2 * pw) + out) + check
        if op == "adaptive_avgpool2d":
            c, h, w = self.shape(plan.inputs[0])
            return item * (c * plan.out_shape[1] * w + out) + check
        return 4 * item * out + check  # sigmoid's exponentials, softmax, batch norm

    # -- weights ---------------------------------------------------------------------------------

    def init_params(self, seed: int = 0) -> None:
        """Seeded weights as torchvision initialises them, drawn with NumPy's default_rng.

        Nothing is drawn here: ``params`` becomes a ``SeededParams`` that draws a layer's
        weights when they are first read (by the forward pass, ``stage``, ``torch_forward`` or
        any reader of ``params``), each layer from its own generator
        ``np.random.default_rng([seed, i])`` (``i`` the layer's index), so that a layer's numbers
        are the same whichever layers were visited before it.

        conv2d: Kaiming normal, fan_out mode, gain √2 (std = √(2/(out_channels·f_h·f_w))),
        bias 0. batchnorm2d: weight 1, bias 0, running mean 0, running variance 1. linear: with
        ``init_std``, normal(0, init_std) and bias 0 (torchvision's VGG uses 0.01); with
        ``init_gain``, std = init_gain/√in_features and bias 0; otherwise torch.nn.Linear's
        default, weight and bias uniform in ±1/√in_features. The statistics are torch's, the
        numbers are not (torch's generator is another).
        """
        if not _is_int(seed) or seed < 0:
            raise NetworkError("seed", f"expected a whole number ≥ 0, got {seed!r}")
        params = SeededParams(int(seed), self.layers, self._plans, self.dtype)
        with self._lock:  # the old weights go at once: never two sets of VGG-16
            self.params = params
            self.seeded = True
            self.seed = int(seed)
            self._cache.clear()

    def load_state_dict(
        self, sd: Mapping[str, Any], *, reserve: Callable[[int], None] | None = None
    ) -> None:
        """Take the weights of a PyTorch ``state_dict`` (key → array), converted to ``dtype``.

        Keys ending in ``num_batches_tracked`` are ignored. Every missing and unexpected key is
        reported with a suggestion, and a shape that differs with both shapes, in one
        ``NetworkError("weights", …)``; nothing changes unless every key fits. An array already
        in ``dtype`` and contiguous is kept as it is, not copied, even a read-only one (a
        safetensors file's arrays are views of its bytes; VGG-16's weights are 553 MB in
        float32): do not change it afterwards. ``reserve(nbytes)``, if given, is told of the
        bytes the conversions will allocate once the keys and shapes have been checked and
        before anything is converted; it may raise to refuse.
        """
        given = {k: v for k, v in sd.items() if not str(k).endswith("num_batches_tracked")}
        expected = self._param_shapes
        missing = [k for k in expected if k not in given]
        unexpected = [k for k in given if k not in expected]
        problems: list[str] = []
        if missing:
            problems.append(
                "missing " + _listing([k + _did_you_mean(k, unexpected) for k in missing])
            )
        if unexpected:
            problems.append(
                "unexpected "
                + _listing(
                    [str(k) + _did_you_mean(str(k), missing or list(expected)) for k in unexpected]
                )
            )
        for key, shape in expected.items():
            if key not in given:
                continue
            value = given[key]
            got = tuple(getattr(value, "shape", np.shape(value)))
            if got != shape:
                problems.append(
                    f"{key} has shape {shape_text(got)} but this network needs {shape_text(shape)}"
                )
        if problems:
            raise NetworkError("weights", "; ".join(problems))
        if reserve is not None:
            reserve(self.conversion_bytes(given))
        params: dict[str, np.ndarray] = {}
        for key in expected:
            value = given[key]
            if np.iscomplexobj(value):
                raise NetworkError("weights", f"{key}: expected real numbers, got complex ones")
            try:
                # An array already in dtype is used as it is: VGG-16's weights are 553 MB.
                arr = np.ascontiguousarray(value, dtype=self.dtype)
            except (TypeError, ValueError) as e:
                raise NetworkError("weights", f"{key}: not an array of numbers ({e})") from None
            if not _all_finite(arr):
                raise NetworkError("weights", f"{key}: values must be finite (no inf or nan)")
            params[key] = arr
        for key, arr in params.items():
            if key.endswith(".running_var") and np.any(arr < 0):
                raise NetworkError("weights", f"{key}: a variance cannot be negative")
        with self._lock:
            self.params = params
            self.seeded = False
            self.seed = None
            self._cache.clear()

    def conversion_bytes(self, sd: Mapping[str, Any]) -> int:
        """Bytes ``load_state_dict(sd)`` allocates: the network's keys whose arrays are not
        already contiguous in ``dtype`` are converted (copied); the others are kept as they are
        and cost nothing more."""
        total = 0
        for key, shape in self._param_shapes.items():
            value = sd.get(key)
            if not (
                isinstance(value, np.ndarray)
                and value.dtype == self.dtype
                and value.flags.c_contiguous
            ):
                total += math.prod(shape) * self.dtype.itemsize
        return total

    def _param(self, layer: str, suffix: str) -> np.ndarray | None:
        if not self.params:
            raise NetworkError(
                "weights", "the network has no weights yet: call init_params or load_state_dict"
            )
        return self.params.get(f"{layer}.{suffix}")

    # -- the forward pass ------------------------------------------------------------------------

    def set_input(self, x: np.ndarray) -> None:
        """Feed the network an input of ``input_shape``; forgets every computed output."""
        arr = np.asarray(x)
        if arr.shape != self.input_shape:
            raise NetworkError(
                "input",
                f"expected shape {shape_text(self.input_shape)}, got {shape_text(arr.shape)}",
            )
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise NetworkError("input", f"expected real numbers, got {arr.dtype}")
        arr = np.array(arr, dtype=self.dtype, copy=True)
        if not np.all(np.isfinite(arr)):
            raise NetworkError("input", "values must be finite (no inf or nan)")
        arr.flags.writeable = False
        with self._lock:
            self._cache.clear()  # first: ``output`` reads the cache without the lock
            self._input = arr

    @property
    def input(self) -> np.ndarray:
        """The array fed by ``set_input``."""
        if self._input is None:
            raise NetworkError("input", "the network has no input yet: call set_input")
        return self._input

    def computed(self, name: str) -> bool:
        """Whether ``output(name)`` is already computed."""
        if name == INPUT:
            return self._input is not None
        self.index(name)
        return name in self._cache

    def cached(self, name: str) -> np.ndarray | None:
        """The output of a layer if it is computed already, else None; never waits for a
        computation in another thread (``output`` does, for the network's lock)."""
        if name == INPUT:
            return self._input
        self.index(name)
        return self._cache.get(name)

    @contextlib.contextmanager
    def if_free(self) -> Iterator[bool]:
        """Hold the network's lock for the body if no other thread holds it, and say whether
        it does: True then, False at once otherwise. For an event loop, which must never wait
        while another thread computes a layer (or finishes one it was told to stop after)."""
        free = self._lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                self._lock.release()

    def output(self, name: str, *, progress: Progress | None = None) -> np.ndarray:
        """The output of a layer (read-only), computed on first use with whatever earlier
        layers it needs, and kept. ``progress(done, total)`` is called after each layer it
        computes, in units of work (multiply-adds plus output elements)."""
        if name == INPUT:
            return self.input
        target = self.index(name)
        done_already = self._cache.get(name)  # no wait for the lock: computed is computed
        if done_already is not None:
            return done_already
        with self._lock:
            if name in self._cache:
                return self._cache[name]
            needed = [False] * (target + 1)
            needed[target] = True
            for i in range(target, -1, -1):
                if not needed[i] or self.layers[i].name in self._cache:
                    continue
                for n in self._plans[i].inputs:
                    if n != INPUT:
                        needed[self._index[n]] = True
            todo = [
                i for i in range(target + 1) if needed[i] and self.layers[i].name not in self._cache
            ]
            total, done = sum(self._work(i) for i in todo), 0
            for i in todo:
                self._compute(i)
                done += self._work(i)
                if progress is not None:
                    progress(done, total)
            return self._cache[name]

    def _work(self, i: int) -> int:
        plan = self._plans[i]
        return plan.macs + math.prod(plan.out_shape)

    def forward_all(self, *, keep: bool = True, progress: Progress | None = None) -> np.ndarray:
        """Compute every layer in order and return the last output. ``keep=False`` drops each
        output as soon as no later layer reads it (the lean forward of a benchmark); the last
        output stays either way. ``progress`` as in ``output``."""
        last = len(self.layers) - 1
        with self._lock:
            todo = {i for i, layer in enumerate(self.layers) if layer.name not in self._cache}
            total, done = sum(self._work(i) for i in todo), 0
            for i, layer in enumerate(self.layers):
                if layer.name not in self._cache:
                    self._compute(i)
                    done += self._work(i)
                    if progress is not None:
                        progress(done, total)
                if not keep:
                    for n in self._plans[i].inputs:
                        if n != INPUT and self._last_use[n] == i and self._index[n] != last:
                            self._cache.pop(n, None)
                    if self._last_use.get(layer.name, -1) < i and i != last:
                        self._cache.pop(layer.name, None)
            return self._cache[self.layers[last].name]

    def inputs_of(self, name: str) -> list[np.ndarray]:
        """The arrays a layer reads (computed if need be)."""
        return [self.output(n) for n in self.input_names(name)]

    def _compute(self, i: int) -> None:
        layer, plan = self.layers[i], self._plans[i]
        xs = [self.input if n == INPUT else self._cache[n] for n in plan.inputs]
        with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
            out = _FORWARD[layer.op](self, layer.name, plan, xs)
        if not np.all(np.isfinite(out)):
            raise NetworkError(
                f"layers[{i}]",
                f"{layer.name} ({layer.op}): the output overflows {self.dtype.name} (values too "
                "large for these weights and this input)",
            )
        if out.flags.writeable:
            out.flags.writeable = False  # screens hand out slices; none may write through
        self._cache[layer.name] = out

    # -- one layer as a stepping stage -----------------------------------------------------------

    def stage(self, name: str) -> Stage:
        """The layer as a stepping ``Stage``, fed its real input(s) in float64.

        conv2d → ``ConvStage`` (a grouped convolution's filters are widened to every input
        channel, with zeros outside their group, so stepping shows the other groups contribute
        nothing); maxpool2d / avgpool2d → ``PoolStage`` with the layer's padding (−inf cells
        for max pooling, zeros counted in the mean for average pooling, as PyTorch pads; the
        stage's coordinates are the input's own); the activations → ``ActivationStage``; the
        other ops → the stages of ``engine.layers``.
        Each call builds a new stage; the stage checks its own memory limit.
        """
        plan = self._plan_of(name)
        op = self.layers[self.index(name)].op
        h = plan.hyper
        xs = [np.array(a, dtype=np.float64) for a in self.inputs_of(name)]
        x = xs[0]

        def p64(suffix: str) -> np.ndarray | None:
            v = self._param(name, suffix)
            return None if v is None else np.array(v, dtype=np.float64)

        def need(suffix: str) -> np.ndarray:
            v = p64(suffix)
            if v is None:
                raise KeyError(f"{name}.{suffix} is missing from the weights")
            return v

        if op == "conv2d":
            from engine.conv import ConvStage

            weight = p64("weight")
            assert weight is not None
            groups = h["groups"]
            if groups > 1:
                o, cg = weight.shape[:2]
                og = o // groups
                full = np.zeros((o, cg * groups, *weight.shape[2:]))
                for g in range(groups):
                    full[g * og : (g + 1) * og, g * cg : (g + 1) * cg] = weight[
                        g * og : (g + 1) * og
                    ]
                weight = full
            return ConvStage(
                x, weight, p64("bias"), stride=h["stride"], padding=h["padding"], name=name
            )
        if op in ("maxpool2d", "avgpool2d"):
            from engine.pool import PoolStage

            mode = "max" if op == "maxpool2d" else "avg"
            return PoolStage(
                x, mode, h["kernel_size"], h["stride"], name=name, padding=h["padding"]
            )
        if op in ACTIVATION_OPS:
            from engine.activation import ActivationStage

            return ActivationStage(x, op, h.get("negative_slope", 0.01), name=name)

        import engine.layers as L  # written alongside; imported only when a layer is opened

        if op == "adaptive_avgpool2d":
            return L.AdaptiveAvgPoolStage(x=x, output_size=h["output_size"], name=name)
        if op == "flatten":
            return L.FlattenStage(x=x, name=name)
        if op == "linear":
            # The weights stay in the network's dtype: LinearStage widens float32 rows block by
            # block (exactly), and VGG-16's first layer in float64 would be 822 MB.
            weight = self._param(name, "weight")
            if weight is None:
                raise KeyError(f"{name}.weight is missing from the weights")
            return L.LinearStage(x=x, weight=weight, bias=p64("bias"), name=name)
        if op == "batchnorm2d":
            return L.BatchNormStage(
                x=x,
                weight=need("weight"),
                bias=need("bias"),
                running_mean=need("running_mean"),
                running_var=need("running_var"),
                eps=h["eps"],
                name=name,
            )
        if op == "add":
            return L.AddStage(a=xs[0], b=xs[1], name=name)
        if op == "dropout":
            return L.DropoutStage(x=x, p=h["p"], name=name)
        return L.SoftmaxStage(z=x, name=name)

    # -- PyTorch ---------------------------------------------------------------------------------

    def torch_forward(self, *, keep: bool = True) -> dict[str, np.ndarray]:
        """Every layer's output computed by PyTorch's own ops on the same weights and input, in
        ``dtype`` (torch imported here). ``keep=False`` returns the last layer's output only,
        dropping the others as soon as no later layer reads them."""
        import torch

        last = len(self.layers) - 1
        outs: dict[str, Any] = {}
        result: dict[str, np.ndarray] = {}
        with warnings.catch_warnings():
            # A loaded weight file's arrays are read-only views of its bytes; torch only reads
            # them here.
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            weights = {k: torch.from_numpy(v) for k, v in self.params.items()}
        with torch.no_grad():
            x_in = torch.from_numpy(np.array(self.input))[None]
            for i, layer in enumerate(self.layers):
                plan = self._plans[i]
                xs = [x_in if n == INPUT else outs[n] for n in plan.inputs]
                y = torch_layer(layer, plan.hyper, xs, weights)
                outs[layer.name] = y
                if keep or i == last:
                    result[layer.name] = y[0].numpy()
                if not keep:
                    for n in plan.inputs:
                        if n != INPUT and self._last_use[n] == i:
                            outs.pop(n, None)
                            result.pop(n, None)
        return result


def _listing(items: list[str], most: int = 6) -> str:
    shown = ", ".join(items[:most])
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return f"{len(items)} key{'s' if len(items) != 1 else ''}: {shown}{more}"


_FINITE_BLOCK = 1 << 20
"""Elements checked at once for inf and nan: the check's boolean mask stays at 1 MB."""


def _all_finite(a: np.ndarray) -> bool:
    """Whether every element is finite, checked block by block (no mask as large as ``a``)."""
    flat = a.reshape(-1)
    return all(
        bool(np.isfinite(flat[i : i + _FINITE_BLOCK]).all())
        for i in range(0, flat.size, _FINITE_BLOCK)
    )


class SeededParams(Mapping[str, np.ndarray]):
    """A network's seeded state_dict, drawn layer by layer when a layer is first needed.

    Layer ``i``'s parameters and buffers come from their own generator,
    ``np.random.default_rng([seed, i])``, with torchvision's statistics (see
    ``Network.init_params``), so any layer's numbers are the same whichever order layers are
    visited in. The keys, ``len`` and ``in`` come from shapes alone and draw nothing; reading a
    key (``params[k]``, ``params.get(k)``) draws that key's layer, once, and keeps it. Going
    through every value (``values()``, ``items()``, ``dict(params)``) draws every layer:
    VGG-16's 138 M numbers are 553 MB in float32 and take a few seconds. Thread-safe: two
    threads reading the same layer draw it once.
    """

    def __init__(
        self, seed: int, layers: Sequence[Layer], plans: Sequence[_Plan], dtype: np.dtype
    ) -> None:
        self.seed = seed
        """The seed every layer's generator starts from (with the layer's index)."""
        self.dtype = dtype
        self._layers: dict[str, tuple[int, str, _Plan]] = {}
        self._owner: dict[str, str] = {}
        for i, (layer, plan) in enumerate(zip(layers, plans, strict=True)):
            if plan.params:
                self._layers[layer.name] = (i, layer.op, plan)
                for suffix in plan.params:
                    self._owner[f"{layer.name}.{suffix}"] = layer.name
        self._arrays: dict[str, np.ndarray] = {}
        self._done: set[str] = set()
        """Layers whose arrays are all in ``_arrays`` (added after the last of them)."""
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> np.ndarray:
        arr = self._arrays.get(key)
        if arr is None:
            self.draw(self._owner[key])  # KeyError for a key the network does not have
            arr = self._arrays[key]
        return arr

    def __contains__(self, key: object) -> bool:
        return key in self._owner

    def __iter__(self) -> Iterator[str]:
        return iter(self._owner)

    def __len__(self) -> int:
        return len(self._owner)

    def __eq__(self, other: object) -> bool:
        # Mapping's own comparison reads every value: unequal key sets draw nothing.
        if isinstance(other, Mapping) and set(other) != set(self._owner):
            return False
        return super().__eq__(other)

    def __repr__(self) -> str:
        drawn = sum(self.drawn(name) for name in self._layers)
        return (
            f"SeededParams(seed {self.seed}, {len(self)} keys, {drawn} of {len(self._layers)} "
            "layers drawn)"
        )

    def drawn(self, layer: str) -> bool:
        """Whether the layer's arrays are in memory (a layer without parameters: True)."""
        return layer in self._done or layer not in self._layers

    def draw(self, layer: str) -> None:
        """Draw the layer's parameters and buffers now, if they are not drawn yet."""
        if self.drawn(layer):
            return
        with self._lock:
            if self.drawn(layer):
                return
            i, op, plan = self._layers[layer]
            arrays = _seeded_layer(op, plan, np.random.default_rng([self.seed, i]), self.dtype)
            for suffix, arr in arrays.items():
                self._arrays[f"{layer}.{suffix}"] = arr
            self._done.add(layer)

    def draw_all(self) -> None:
        """Draw every layer now (a benchmark's forward then times computing alone)."""
        for layer in self._layers:
            self.draw(layer)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays drawn so far."""
        return sum(a.nbytes for a in list(self._arrays.values()))


def _seeded_layer(
    op: str, plan: _Plan, rng: np.random.Generator, dt: np.dtype
) -> dict[str, np.ndarray]:
    """One layer's seeded parameters and buffers (suffix → array), torchvision's way."""
    shapes = plan.params
    out: dict[str, np.ndarray] = {}
    if op == "conv2d":
        o, _, fh, fw = shapes["weight"]
        w = rng.standard_normal(shapes["weight"], dtype=dt)
        w *= dt.type(math.sqrt(2.0 / (o * fh * fw)))
        out["weight"] = w
        if "bias" in shapes:
            out["bias"] = np.zeros(shapes["bias"], dt)
    elif op == "linear":
        _, n = shapes["weight"]
        std = plan.hyper["init_std"]
        if std is None and plan.hyper["init_gain"] is not None:
            std = plan.hyper["init_gain"] / math.sqrt(n)
        if std is not None:
            w = rng.standard_normal(shapes["weight"], dtype=dt)
            w *= dt.type(std)
            b = np.zeros(shapes.get("bias", (0,)), dt)
        else:
            bound = 1.0 / math.sqrt(n)
            w = _uniform(rng, shapes["weight"], bound, dt)
            b = _uniform(rng, shapes.get("bias", (0,)), bound, dt)
        out["weight"] = w
        if "bias" in shapes:
            out["bias"] = b
    elif op == "batchnorm2d":
        (c,) = shapes["weight"]
        out["weight"] = np.ones(c, dt)
        out["bias"] = np.zeros(c, dt)
        out["running_mean"] = np.zeros(c, dt)
        out["running_var"] = np.ones(c, dt)
    return out


def _uniform(
    rng: np.random.Generator, shape: tuple[int, ...], bound: float, dt: np.dtype
) -> np.ndarray:
    """Uniform in [−bound, bound), drawn in ``dt`` without a float64 temporary."""
    a = rng.random(shape, dtype=dt)
    a *= dt.type(2 * bound)
    a -= dt.type(bound)
    return a


# -- shape inference, one planner per op --------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """One layer as its op's planner sees it: where it stands (``layers[3]``), what a message
    calls it (``conv1 (conv2d)``), its arguments with the defaults filled in, the layers it
    reads and their shapes. Its methods read one argument or one input each and raise the
    error that names it."""

    where: str
    what: str
    args: dict[str, Any]
    inputs: tuple[str, ...]
    shapes: list[tuple[int, ...]]

    def field(self, key: str) -> str:
        return f"{self.where}.{key}"

    def error(self, key: str, message: str) -> NetworkError:
        """The error at argument ``key`` (or ``inputs``), the layer named before ``message``."""
        return NetworkError(self.field(key), f"{self.what}: {message}")

    def whole(self, key: str, minimum: int, maximum: int | None = None) -> int:
        return _int_arg(self.args[key], self.field(key), self.what, minimum, maximum)

    def pair(self, key: str, minimum: int, maximum: int | None = None) -> tuple[int, int]:
        return _pair_arg(self.args[key], self.field(key), self.what, minimum, maximum)

    def number(self, key: str, lo: float, hi: float, *, open_lo: bool = False) -> float:
        return _float_arg(self.args[key], self.field(key), self.what, lo, hi, open_lo=open_lo)

    def flag(self, key: str) -> bool:
        """A true/false argument (``bias``)."""
        v = self.args[key]
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v

    def matches(self, key: str, actual: int, noun: str, gives: str) -> None:
        """An optional argument that repeats a size the input already fixes (``in_channels``,
        ``in_features``, ``num_features``): when given, it must be that size; ``gives`` is how
        the message writes what the input gives."""
        if self.args[key] is None:
            return
        n = self.whole(key, 1)
        if n != actual:
            raise self.error(key, f"expects {n} {noun}, but {self.inputs[0]!r} gives {gives}")

    def image(self) -> tuple[int, int, int]:
        """(C, H, W) of the first input, which must be an image."""
        shape = self.shapes[0]
        if len(shape) != 3:
            raise self.error(
                "inputs",
                f"needs an image (C, H, W), but {self.inputs[0]!r} gives {shape_text(shape)}",
            )
        c, h, w = shape
        return c, h, w

    def vector(self) -> int:
        """The length of the first input, which must be a vector."""
        shape = self.shapes[0]
        if len(shape) != 1:
            raise self.error(
                "inputs",
                f"needs a vector, but {self.inputs[0]!r} gives {shape_text(shape)}; put a "
                "flatten layer before it",
            )
        return shape[0]

    def plan(
        self,
        out_shape: tuple[int, ...],
        hyper: dict[str, Any] | None = None,
        params: dict[str, tuple[int, ...]] | None = None,
        learnable: int = 0,
        macs: int = 0,
    ) -> _Plan:
        return _Plan(self.inputs, out_shape, hyper or {}, params or {}, learnable, macs)


Planner = Callable[[_Request], _Plan]


def _plan_conv2d(q: _Request) -> _Plan:
    c, h, w = q.image()
    o = q.whole("out_channels", 1)
    k = q.pair("kernel_size", 1)
    s = q.pair("stride", 1, MAX_STRIDE)
    p = q.pair("padding", 0)
    g = q.whole("groups", 1)
    bias = q.flag("bias")
    q.matches("in_channels", c, "input channels", f"{c} ({shape_text(q.shapes[0])})")
    if c % g or o % g:
        raise q.error(
            "groups",
            f"groups = {g} must divide both the {c} input channels and the {o} output channels",
        )
    oh, ow = _window_fits(q.field("kernel_size"), q.what, (h, w), k, s, p, q.shapes[0])
    params: dict[str, tuple[int, ...]] = {"weight": (o, c // g, *k)}
    if bias:
        params["bias"] = (o,)
    learn = o * (c // g) * k[0] * k[1] + (o if bias else 0)
    macs = o * oh * ow * (c // g) * k[0] * k[1]
    hyper = {
        "out_channels": o,
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "groups": g,
        "bias": bias,
    }
    return q.plan((o, oh, ow), hyper, params, learn, macs)


def _plan_pool(q: _Request) -> _Plan:
    c, h, w = q.image()
    k = q.pair("kernel_size", 1)
    s = k if q.args["stride"] is None else q.pair("stride", 1, MAX_STRIDE)
    p = q.pair("padding", 0)
    if 2 * p[0] > k[0] or 2 * p[1] > k[1]:
        raise q.error(
            "padding",
            f"padding {p[0]}×{p[1]} is more than half the {k[0]}×{k[1]} window "
            f"(PyTorch allows at most {k[0] // 2}×{k[1] // 2})",
        )
    oh, ow = _window_fits(q.field("kernel_size"), q.what, (h, w), k, s, p, q.shapes[0])
    return q.plan((c, oh, ow), {"kernel_size": k, "stride": s, "padding": p})


def _plan_adaptive(q: _Request) -> _Plan:
    c, _, _ = q.image()
    size = q.pair("output_size", 1, 1 << 16)
    return q.plan((c, *size), {"output_size": size})


def _plan_elementwise(q: _Request) -> _Plan:
    hyper: dict[str, Any] = {}
    if "negative_slope" in q.args:
        hyper["negative_slope"] = q.number("negative_slope", 0.0, MAX_NEGATIVE_SLOPE)
    if "p" in q.args:
        p = q.args["p"]
        if not _is_number(p) or not 0 <= float(p) < 1:
            raise q.error("p", f"expected 0 ≤ p < 1, got {p!r}")
        hyper["p"] = float(p)
    return q.plan(q.shapes[0], hyper)


def _plan_flatten(q: _Request) -> _Plan:
    return q.plan((math.prod(q.shapes[0]),))


def _plan_linear(q: _Request) -> _Plan:
    n = q.vector()
    m = q.whole("out_features", 1)
    bias = q.flag("bias")
    q.matches("in_features", n, "input features", f"{n}")
    std, gain = q.args["init_std"], q.args["init_gain"]
    if std is not None and gain is not None:
        raise q.error("init_gain", "give init_std or init_gain, not both")
    if std is not None:
        std = q.number("init_std", 0.0, 1e6)
    if gain is not None:
        gain = q.number("init_gain", 0.0, 1e6)
    params: dict[str, tuple[int, ...]] = {"weight": (m, n)}
    if bias:
        params["bias"] = (m,)
    hyper = {"out_features": m, "bias": bias, "init_std": std, "init_gain": gain}
    return q.plan((m,), hyper, params, m * n + (m if bias else 0), m * n)


def _plan_batchnorm(q: _Request) -> _Plan:
    c, _, _ = q.image()
    eps = q.number("eps", 0.0, 1.0, open_lo=True)
    q.number("momentum", 0.0, 1.0)
    q.matches("num_features", c, "channels", f"{c} ({shape_text(q.shapes[0])})")
    params: dict[str, tuple[int, ...]] = {
        name: (c,) for name in ("weight", "bias", "running_mean", "running_var")
    }
    return q.plan(q.shapes[0], {"eps": eps}, params, 2 * c, math.prod(q.shapes[0]))


def _plan_add(q: _Request) -> _Plan:
    (a, b), (sa, sb) = q.inputs, q.shapes
    if sa != sb:
        raise q.error(
            "inputs",
            f"adds two arrays of different shapes: {a!r} gives {shape_text(sa)} and {b!r} "
            f"gives {shape_text(sb)}",
        )
    return q.plan(sa)


def _plan_softmax(q: _Request) -> _Plan:
    q.vector()
    return q.plan(q.shapes[0])


_PLANNERS: dict[str, Planner] = {
    "conv2d": _plan_conv2d,
    "maxpool2d": _plan_pool,
    "avgpool2d": _plan_pool,
    "adaptive_avgpool2d": _plan_adaptive,
    "relu": _plan_elementwise,
    "sigmoid": _plan_elementwise,
    "tanh": _plan_elementwise,
    "leaky_relu": _plan_elementwise,
    "flatten": _plan_flatten,
    "linear": _plan_linear,
    "batchnorm2d": _plan_batchnorm,
    "add": _plan_add,
    "dropout": _plan_elementwise,
    "softmax": _plan_softmax,
}


# -- the NumPy forward, one function per op ----------------------------------------------------


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    groups: int = 1,
) -> np.ndarray:
    """PyTorch's conv2d (cross-correlation) on one (C, H, W) input, in the weight's dtype.

    For each group and each block of output rows, the windows are copied into one
    (C/g·f_h·f_w, rows·W_out) matrix, one slice per kernel cell, and multiplied by the
    (O/g, C/g·f_h·f_w) filter matrix straight into the output. A block holds about
    ``_CONV_BLOCK_BYTES`` (one output row if that is larger).
    """
    dt = weight.dtype
    c, h, w = x.shape
    o, cg, fh, fw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    oh, ow = output_size(h, fh, sh, ph), output_size(w, fw, sw, pw)
    out = np.empty((o, oh * ow), dt)
    og = o // groups
    if ph or pw:
        xp = np.zeros((c, h + 2 * ph, w + 2 * pw), dt)
        xp[:, ph : ph + h, pw : pw + w] = x
    else:
        xp = x
    k = cg * fh * fw
    if fh == fw == 1 and sh == sw == 1:
        for g in range(groups):
            wg = weight[g * og : (g + 1) * og].reshape(og, k)
            np.matmul(
                wg, xp[g * cg : (g + 1) * cg].reshape(cg, oh * ow), out=out[g * og : (g + 1) * og]
            )
    else:
        row_bytes = k * ow * dt.itemsize
        rows = max(1, min(oh, _CONV_BLOCK_BYTES // row_bytes))
        flat = np.empty(k * rows * ow, dt)
        for g in range(groups):
            wg = weight[g * og : (g + 1) * og].reshape(og, k)
            xg = xp[g * cg : (g + 1) * cg]
            for r0 in range(0, oh, rows):
                n = min(rows, oh - r0)
                cols = flat[: k * n * ow].reshape(cg, fh, fw, n, ow)
                for u in range(fh):
                    top = r0 * sh + u
                    for v in range(fw):
                        cols[:, u, v] = xg[
                            :, top : top + (n - 1) * sh + 1 : sh, v : v + (ow - 1) * sw + 1 : sw
                        ]
                np.matmul(
                    wg,
                    cols.reshape(k, n * ow),
                    out=out[g * og : (g + 1) * og, r0 * ow : (r0 + n) * ow],
                )
    if bias is not None:
        out += bias[:, None]
    return out.reshape(o, oh, ow)


def _window_cells(
    xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], out_hw: tuple[int, ...]
) -> Iterator[np.ndarray]:
    """Each cell (u, v) of every window at once: a strided (C, H_out, W_out) view of ``xp``."""
    oh, ow = out_hw
    for u in range(k[0]):
        for v in range(k[1]):
            yield xp[:, u : u + (oh - 1) * s[0] + 1 : s[0], v : v + (ow - 1) * s[1] + 1 : s[1]]


def _pad(x: np.ndarray, p: tuple[int, int], fill: float) -> np.ndarray:
    if not (p[0] or p[1]):
        return x
    c, h, w = x.shape
    xp = np.full((c, h + 2 * p[0], w + 2 * p[1]), fill, x.dtype)
    xp[:, p[0] : p[0] + h, p[1] : p[1] + w] = x
    return xp


def _f_conv2d(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    h = plan.hyper
    weight = net._param(name, "weight")
    assert weight is not None
    return conv2d_forward(
        xs[0], weight, net._param(name, "bias"), h["stride"], h["padding"], h["groups"]
    )


def _f_maxpool(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    h = plan.hyper
    xp = _pad(xs[0], h["padding"], -np.inf)
    cells = _window_cells(xp, h["kernel_size"], h["stride"], plan.out_shape[1:])
    out = next(cells).copy()
    for cell in cells:
        np.maximum(out, cell, out=out)
    return out


def _f_avgpool(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    h = plan.hyper
    xp = _pad(xs[0], h["padding"], 0.0)
    k = h["kernel_size"]
    cells = _window_cells(xp, k, h["stride"], plan.out_shape[1:])
    out = next(cells).copy()
    for cell in cells:
        out += cell
    out /= out.dtype.type(k[0] * k[1])
    return out


def _f_adaptive(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    c, h, w = x.shape
    oh, ow = plan.hyper["output_size"]
    if (oh, ow) == (h, w):
        return x.copy()
    if h % oh == 0 and w % ow == 0:
        return x.reshape(c, oh, h // oh, ow, w // ow).mean(axis=(2, 4))
    rows = np.empty((c, oh, w), x.dtype)
    for i, (a, b) in enumerate(zip(*adaptive_windows(h, oh), strict=True)):
        rows[:, i] = x[:, a:b].mean(axis=1)
    out = np.empty((c, oh, ow), x.dtype)
    for j, (a, b) in enumerate(zip(*adaptive_windows(w, ow), strict=True)):
        out[:, :, j] = rows[:, :, a:b].mean(axis=2)
    return out


def _f_relu(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    return np.maximum(xs[0], xs[0].dtype.type(0))


def _f_sigmoid(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _f_tanh(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    return np.tanh(xs[0])


def _f_leaky_relu(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    a = x.dtype.type(plan.hyper["negative_slope"])
    return np.where(x > 0, x, a * x)


def _f_flatten(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    return xs[0].reshape(-1)


def _f_linear(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    weight = net._param(name, "weight")
    assert weight is not None
    out = weight @ xs[0]
    bias = net._param(name, "bias")
    if bias is not None:
        out += bias
    return out


def _f_batchnorm(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    w, b = net._param(name, "weight"), net._param(name, "bias")
    mean, var = net._param(name, "running_mean"), net._param(name, "running_var")
    assert w is not None and b is not None and mean is not None and var is not None
    scale = w / np.sqrt(var + x.dtype.type(plan.hyper["eps"]))
    out = x - mean[:, None, None]
    out *= scale[:, None, None]
    out += b[:, None, None]
    return out


def _f_add(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    return xs[0] + xs[1]


def _f_identity(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    return xs[0]


def _f_softmax(net: Network, name: str, plan: _Plan, xs: list[np.ndarray]) -> np.ndarray:
    z = xs[0]
    e = np.exp(z - z.max())
    e /= e.sum()
    return e


Forward = Callable[[Network, str, _Plan, list[np.ndarray]], np.ndarray]

_FORWARD: dict[str, Forward] = {
    "conv2d": _f_conv2d,
    "maxpool2d": _f_maxpool,
    "avgpool2d": _f_avgpool,
    "adaptive_avgpool2d": _f_adaptive,
    "relu": _f_relu,
    "sigmoid": _f_sigmoid,
    "tanh": _f_tanh,
    "leaky_relu": _f_leaky_relu,
    "flatten": _f_flatten,
    "linear": _f_linear,
    "batchnorm2d": _f_batchnorm,
    "add": _f_add,
    "dropout": _f_identity,
    "softmax": _f_softmax,
}


def torch_layer(
    layer: Layer, hyper: Mapping[str, Any], xs: list[Any], weights: Mapping[str, Any]
) -> Any:
    """One layer by PyTorch's functional op, on a batch of one: ``hyper`` as ``Network.hyper``
    gives it, ``xs`` the tensors it reads, ``weights`` a state_dict of tensors (the layer's own
    are found under its name). Used by ``Network.torch_forward`` and by the tests that check
    the backward pass against autograd."""
    import torch
    import torch.nn.functional as F

    h, op, x = hyper, layer.op, xs[0]

    def p(suffix: str) -> Any:
        return weights.get(f"{layer.name}.{suffix}")

    if op == "conv2d":
        return F.conv2d(x, p("weight"), p("bias"), h["stride"], h["padding"], 1, h["groups"])
    if op == "maxpool2d":
        return F.max_pool2d(x, h["kernel_size"], h["stride"], h["padding"])
    if op == "avgpool2d":
        return F.avg_pool2d(x, h["kernel_size"], h["stride"], h["padding"])
    if op == "adaptive_avgpool2d":
        return F.adaptive_avg_pool2d(x, h["output_size"])
    if op == "relu":
        return F.relu(x)
    if op == "sigmoid":
        return torch.sigmoid(x)
    if op == "tanh":
        return torch.tanh(x)
    if op == "leaky_relu":
        return F.leaky_relu(x, h["negative_slope"])
    if op == "flatten":
        return torch.flatten(x, 1)
    if op == "linear":
        return F.linear(x, p("weight"), p("bias"))
    if op == "batchnorm2d":
        return F.batch_norm(
            x, p("running_mean"), p("running_var"), p("weight"), p("bias"), False, 0.0, h["eps"]
        )
    if op == "add":
        return xs[0] + xs[1]
    if op == "dropout":
        return F.dropout(x, h["p"], training=False)
    return F.softmax(x, dim=1)


# -- the whole network as one stage ---------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class LayerStep(Step):
    """One layer of a network, as the layer table lists it; ``value`` is its parameter count."""

    layer: str
    op: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    parameters: int
    macs: int


class NetworkStage(Stage):
    """A whole network as one stage: one step per layer, in order.

    A step is the layer's row of the table (name, op, output shape, parameters, multiply-adds);
    its value is the parameter count. ``output`` is the last layer's output, computed on first
    access; ``reference()`` is PyTorch's forward of the same network and weights. A screen opens
    one layer with ``network.stage(name)``.
    """

    kind: ClassVar[str] = "network"

    def __init__(self, network: Network, name: str = "") -> None:
        super().__init__(name or network.title or "network")
        self.network = network

    def __len__(self) -> int:
        return len(self.network.layers)

    def step(self, i: int) -> LayerStep:
        i = self._normalise_index(i)
        net = self.network
        layer = net.layers[i]
        shape = net.shape(layer.name)
        params = net.param_count(layer.name)
        macs = net.macs(layer.name)
        ins = net.input_names(layer.name)
        return LayerStep(
            stage=self.name,
            index=i,
            value=float(params),
            explanation=(
                f"{layer.name} ({layer.op}) reads {', '.join(ins)} and gives "
                f"{shape_text(shape)}: {params:,} parameters, {macs:,} multiply-adds"
            ),
            layer=layer.name,
            op=layer.op,
            inputs=ins,
            output_shape=shape,
            parameters=params,
            macs=macs,
        )

    @property
    def output(self) -> np.ndarray:
        return self.network.output(self.network.layers[-1].name)

    def tolerance(self) -> float:
        """float64's tolerance, or float32's when the network computes in float32."""
        return FLOAT64_TOLERANCE if self.network.dtype == np.float64 else FLOAT32_TOLERANCE

    def reference(self) -> np.ndarray:
        return self.network.torch_forward(keep=False)[self.network.layers[-1].name]

    def describe(self) -> dict[str, Any]:
        net = self.network
        rows = []
        for layer in net.layers:
            rows.append(
                {
                    "name": layer.name,
                    "op": layer.op,
                    "args": _plain(net.hyper(layer.name)),
                    "inputs": list(net.input_names(layer.name)),
                    "output_shape": list(net.shape(layer.name)),
                    "activation_size": net.activation_size(layer.name),
                    "parameters": net.param_count(layer.name),
                    "macs": net.macs(layer.name),
                }
            )
        return {
            "name": self.name,
            "kind": self.kind,
            "title": net.title,
            "input": {"shape": list(net.input_shape)},
            "dtype": net.dtype.name,
            "seeded": net.seeded,
            "layers": rows,
            "parameters": net.param_count(),
            "macs": net.macs(),
            "steps": len(self),
            "step_order": ["layer"],
        }


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: describe() gives plain JSON-able data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
