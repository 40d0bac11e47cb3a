"""The layers a whole network adds to conv, pool and activation, each a stepping stage: linear,
flatten, dropout, add, softmax, batch normalisation and adaptive average pooling.

Every stage computes its whole output once, vectorized and in float64, when it is built, and
``step(i)`` slices one output element's operands out of what is there (a linear step makes one
row of products, nothing more). Each has a peak-bytes estimate from shapes alone
(``linear_peak_bytes`` …), checked against ``engine.limits.MAX_BYTES`` before anything large is
allocated, and a ``reference()`` by PyTorch's own op, imported on first use.

Capabilities (``engine.core``): batch normalisation is ``Refeedable`` and a ``SpatialMap`` (an
element-wise map of an image). The others declare neither: the shifted-input and
receptive-field views work on images (H, W) through windows of one fixed size, and linear,
flatten, softmax and dropout (in the classifiers it sits in) read vectors, add reads two inputs,
and adaptive pooling's windows change size from one output to the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.activation import (
    ElementStep,
    PerElementStage,
    array_data,
    axis_names,
    stage_description,
)
from engine.arrays import frozen
from engine.core import Pair, Stage, Step
from engine.errors import SpecError
from engine.limits import (
    ALLOCATOR_SLACK,
    MAX_OUTPUT_SIZE,
    MAX_WORK,
    REFERENCE_BLOCK_BYTES,
    check_bytes,
)
from engine.pool import ChannelGridStage, ChannelStep

FLOAT_MAX = float(np.finfo(np.float64).max)
"""Largest finite float64, about 1.8e308."""


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(int(d) for d in shape))  # (3,) for one axis, as NumPy writes it


def _as_float_array(value: Any, field: str) -> np.ndarray:
    """``value`` as a float64 array, or SpecError naming ``field`` for what is not numbers."""
    try:
        a = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged lists
        raise SpecError(field, f"expected an array of numbers ({e})") from None
    if a.dtype == bool or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise SpecError(field, f"expected an array of numbers, got dtype {a.dtype}")
    return np.asarray(a, dtype=np.float64)


def _require_nonempty(a: np.ndarray, field: str) -> None:
    if a.size == 0:
        raise SpecError(field, f"empty shape: {field} {_shape_text(a.shape)}")


def _require_finite(a: np.ndarray, field: str) -> None:
    if not np.all(np.isfinite(a)):
        raise SpecError(field, "values must be finite (no inf or nan)")


def _vector(value: Any, n: int, field: str, what: str) -> np.ndarray:
    """A float64 vector of length ``n`` (one number per channel or neuron), finite."""
    a = _as_float_array(value, field)
    if a.shape != (n,):
        raise SpecError(field, f"expected {what}: shape ({n},), got {_shape_text(a.shape)}")
    _require_finite(a, field)
    return frozen(a)


def _elementwise_bytes(n: int, held: int) -> int:
    """Peak of an element-wise stage over ``n`` values holding ``held`` arrays of that size:
    its arrays, plus the PyTorch check (a copy of each input, torch's output, the difference
    and its absolute value)."""
    return 8 * n * (held + 4) + ALLOCATOR_SLACK


def _as_image(x: Any, field: str, what: str) -> np.ndarray:
    """A finite (C, H, W) float64 array, or SpecError naming ``field``."""
    a = _as_float_array(x, field)
    if a.ndim != 3:
        raise SpecError(field, f"{what} reads an image (C, H, W), got shape {_shape_text(a.shape)}")
    _require_nonempty(a, field)
    return a


# -- linear ----------------------------------------------------------------------------------


def linear_peak_bytes(n_in: int, n_out: int, weight_itemsize: int = 8) -> int:
    """Peak bytes of a linear stage from sizes alone: the weight (``weight_itemsize`` bytes a
    number: float32 weights are kept as given and widened row block by row block), the input,
    W·x and the output; plus the larger of building it (one block of rows widened to float64,
    and its finiteness mask) and the PyTorch check (one block of rows copied for torch, torch's
    output, the difference and its absolute value)."""
    held = weight_itemsize * n_in * n_out + 8 * (n_in + 3 * n_out)
    block = min(8 * n_in * n_out, max(REFERENCE_BLOCK_BYTES, 8 * n_in))
    build = block + block // 8
    check = 2 * block + 8 * 3 * n_out
    return held + max(build, check) + ALLOCATOR_SLACK


def _row_block(n_in: int) -> int:
    """Rows of the weight widened (or copied for torch) at once: one REFERENCE_BLOCK_BYTES."""
    return max(1, REFERENCE_BLOCK_BYTES // (8 * max(n_in, 1)))


@dataclass(frozen=True, eq=False, kw_only=True)
class LinearStep(Step):
    """One output neuron out[neuron] = Σ_k W[neuron, k]·x[k] + b[neuron]: the dot product of its
    weight row with the input vector, plus its bias."""

    neuron: int
    x: np.ndarray  # (N,) the whole input vector, shared by every neuron (read-only)
    weight_row: np.ndarray  # (N,) W[neuron], float64
    products: np.ndarray  # (N,) W[neuron, k]·x[k]
    total: float
    """(W·x)[neuron]: the sum of the products, before the bias."""
    bias: float
    """b[neuron]; 0 for a layer without bias."""
    has_bias: bool


class LinearStage(Stage):
    """A fully connected (dense) layer, out = W·x + b, as ``torch.nn.Linear`` computes it.

    Args:
        x: input vector, shape (N,) (flatten an image first).
        weight: W, shape (M, N) in PyTorch's layout (one row per output neuron). float32
            weights are kept as they are (a VGG-16's first fully connected layer is 102 M of
            them) and widened to float64 block by block while computing; the widening is exact,
            so the arithmetic is float64 on the given numbers.
        bias: b, shape (M,), or None for a layer without bias.
        name: the stage's name.

    Shape:
        output (M,); one step per output neuron, M steps.

    Step ``i`` holds the input vector, W's row ``i``, the N products W[i, k]·x[k], their sum
    and the bias: the dot product written out. Only that one row of products is made.
    """

    kind = "linear"

    def __init__(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        name: str = "linear",
    ) -> None:
        super().__init__(name)
        x = _as_float_array(x, "input")
        if x.ndim != 1:
            raise SpecError(
                "input",
                f"a linear layer reads a vector (N,), got shape {_shape_text(x.shape)}; "
                "flatten it first",
            )
        _require_nonempty(x, "input")
        w = np.asarray(weight)
        if w.dtype not in (np.float32, np.float64):
            w = _as_float_array(w, "weight")
        n = x.shape[0]
        if w.ndim != 2 or w.shape[1] != n:
            raise SpecError(
                "weight",
                f"expected shape (out_features, {n}) for an input of {n:,} values, "
                f"got {_shape_text(w.shape)}",
            )
        m = w.shape[0]
        if m < 1:
            raise SpecError("weight", f"empty shape: weight {_shape_text(w.shape)}")
        if m * n > MAX_WORK:
            raise SpecError(
                "weight",
                f"{m:,}·{n:,} = {m * n:,} multiply-adds; the limit is {MAX_WORK:,}",
            )
        check_bytes(
            linear_peak_bytes(n, m, w.dtype.itemsize),
            "weight",
            f"a linear layer from {n:,} inputs to {m:,} outputs",
        )
        _require_finite(x, "input")
        b = None if bias is None else _vector(bias, m, "bias", "one bias per output neuron")

        self.x = frozen(x)  # (N,)
        self.weight = frozen(w)  # (M, N), float32 or float64 as given
        self.bias = b  # (M,) or None
        z = np.empty(m)  # (M,) W·x
        rows = _row_block(n)
        with np.errstate(over="ignore", invalid="ignore"):
            for r0 in range(0, m, rows):
                block = np.asarray(w[r0 : r0 + rows], dtype=np.float64)
                if not np.all(np.isfinite(block)):
                    raise SpecError("weight", "values must be finite (no inf or nan)")
                np.matmul(block, x, out=z[r0 : r0 + rows])
            out = z if b is None else z + b
        if not np.all(np.isfinite(z)):
            i = int(np.argmin(np.isfinite(z)))
            raise SpecError(
                "weight",
                f"W·x overflows float64 at output neuron {i} (|W| up to "
                f"{float(np.abs(w[i]).max()):.3g}, |x| up to {float(np.abs(x).max()):.3g})",
            )
        if not np.all(np.isfinite(out)):
            i = int(np.argmin(np.isfinite(out)))
            raise SpecError("bias", f"W·x + b overflows float64 at output neuron {i}")
        self._z = frozen(z)
        self._out = frozen(out)

    @property
    def in_features(self) -> int:
        return int(self.x.shape[0])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def output(self) -> np.ndarray:
        return self._out

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: M·N weights plus M biases (if any)."""
        m, n = self.weight.shape
        return m * n + (m if self.bias is not None else 0)

    def __len__(self) -> int:
        return self.out_features

    def step(self, i: int) -> LinearStep:
        i = self._normalise_index(i)
        row = np.asarray(self.weight[i], dtype=np.float64)  # a view, or one row widened
        row.flags.writeable = False
        products = row * self.x
        products.flags.writeable = False
        total = float(self._z[i])
        bias = float(self.bias[i]) if self.bias is not None else 0.0
        value = float(self._out[i])
        n = self.in_features
        explanation = f"out[{i}] = Σ_k W[{i},k]·x[k] over {n:,} inputs = {total:g}"
        if self.bias is not None:
            explanation += f"; + b[{i}] = {total:g} + {bias:g} = {value:g}"
        return LinearStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=explanation,
            neuron=i,
            x=self.x,
            weight_row=row,
            products=products,
            total=total,
            bias=bias,
            has_bias=self.bias is not None,
        )

    def describe(self) -> dict[str, Any]:
        params = {"weight": array_data(self.weight)}
        if self.bias is not None:
            params["bias"] = array_data(self.bias)
        hyper = {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }
        return stage_description(self, self.x, hyper, ["neuron"], parameters=params)

    def reference(self) -> np.ndarray:
        """``torch.nn.functional.linear`` on blocks of rows of W, so that the copies torch is
        handed stay within REFERENCE_BLOCK_BYTES (``linear_peak_bytes``)."""
        import torch
        import torch.nn.functional as F

        m = self.out_features
        out = np.empty(m)
        x = torch.from_numpy(np.array(self.x))
        rows = _row_block(self.in_features)
        with torch.no_grad():
            for r0 in range(0, m, rows):
                w = torch.from_numpy(np.array(self.weight[r0 : r0 + rows], dtype=np.float64))
                b = None
                if self.bias is not None:
                    b = torch.from_numpy(np.array(self.bias[r0 : r0 + rows]))
                out[r0 : r0 + rows] = F.linear(x, w, b).numpy()
        return out


# -- flatten ---------------------------------------------------------------------------------


def flatten_peak_bytes(shape: tuple[int, ...]) -> int:
    """Peak bytes of a flatten stage: the input (the output is a view of it) and the PyTorch
    check (a copy, torch's output, the difference and its absolute value)."""
    return _elementwise_bytes(math.prod(shape), 1)


@dataclass(frozen=True, eq=False, kw_only=True)
class FlattenStep(Step):
    """Output element ``index`` of a flatten: the input element at ``source``, unchanged."""

    source: tuple[int, ...]
    """(c, h, w) of the input element this output copies (row-major order)."""
    in_shape: tuple[int, ...]


class FlattenStage(PerElementStage):
    """out = x laid out as one vector in row-major order, as ``torch.flatten(x, 1)`` (and
    ``nn.Flatten``) does for a batch: channel by channel, then row by row, the last axis
    fastest. out[(c·H + h)·W + w] = x[c, h, w].

    Args:
        x: input, usually (C, H, W); any number of axes.
        name: the stage's name.

    Shape:
        output (C·H·W,); one step per element.
    """

    kind = "flatten"

    def __init__(self, x: np.ndarray, name: str = "flatten") -> None:
        super().__init__(name)
        x = _as_float_array(x, "input")
        x = np.atleast_1d(x)
        _require_nonempty(x, "input")
        check_bytes(flatten_peak_bytes(x.shape), "input", f"flattening {x.size:,} values")
        _require_finite(x, "input")
        self.x = frozen(x)
        self._out = frozen(np.ascontiguousarray(x).reshape(-1))

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x.shape)

    def _elements(self) -> np.ndarray:
        """Steps run over the input's positions: output element i is input element i in C
        order (``index_of`` gives the output index of an input position)."""
        return self.x

    def source(self, i: int) -> tuple[int, ...]:
        """The input position output element ``i`` comes from."""
        return self.position(i)

    def step(self, i: int) -> FlattenStep:
        i = self._normalise_index(i)
        src = self.source(i)
        value = float(self._out[i])
        where = ",".join(str(p) for p in src)
        return FlattenStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=f"out[{i}] = x[{where}] = {value:g}",
            source=src,
            in_shape=self.in_shape,
        )

    def describe(self) -> dict[str, Any]:
        return stage_description(self, self.x, {"start_dim": 1, "order": "row-major"}, ["index"])

    def reference(self) -> np.ndarray:
        """``torch.flatten(x, 1)`` on a batch of one, as ``nn.Flatten`` calls it."""
        import torch

        x = torch.from_numpy(np.array(self.x))[None]
        return torch.flatten(x, 1)[0].numpy()


# -- dropout ---------------------------------------------------------------------------------


def dropout_peak_bytes(shape: tuple[int, ...]) -> int:
    """Peak bytes of a dropout stage: the input (the output is the same array) and the PyTorch
    check."""
    return _elementwise_bytes(math.prod(shape), 1)


@dataclass(frozen=True, eq=False, kw_only=True)
class DropoutStep(ElementStep):
    """One element of a dropout layer at inference: out = x, whatever p is."""

    x: float
    p: float
    """The probability of zeroing an element in training; not used at inference."""


class DropoutStage(PerElementStage):
    """Dropout at inference (``model.eval()``): the identity, out = x.

    In training each element would be zeroed with probability p and the others scaled by
    1/(1 − p), so that the expected value stays x; at inference nothing is dropped and nothing
    scaled, which is what ``F.dropout(x, p, training=False)`` does and what this stage shows.

    Args:
        x: input of any shape (a vector in AlexNet's and VGG's classifiers).
        p: the drop probability, 0 ≤ p ≤ 1 (PyTorch's default 0.5).
        name: the stage's name.
    """

    kind = "dropout"
    VECTOR_ROWS = False  # a vector in the classifiers, where rows mean nothing

    def __init__(self, x: np.ndarray, p: float = 0.5, name: str = "dropout") -> None:
        super().__init__(name)
        x = np.atleast_1d(_as_float_array(x, "input"))
        _require_nonempty(x, "input")
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.integer, np.floating))
            or not 0 <= p <= 1
        ):
            raise SpecError("p", f"dropout probability must be from 0 to 1, got {p!r}")
        check_bytes(dropout_peak_bytes(x.shape), "input", f"dropout over {x.size:,} values")
        _require_finite(x, "input")
        self.x = frozen(x)
        self.p = float(p)

    @property
    def output(self) -> np.ndarray:
        return self.x

    def step(self, i: int) -> DropoutStep:
        i = self._normalise_index(i)
        pos = self.position(i)
        x = float(self.x[pos])
        where = ",".join(str(v) for v in pos)
        return DropoutStep(
            stage=self.name,
            index=i,
            value=x,
            explanation=(
                f"out[{where}] = x = {x:g}: dropout (p = {self.p:g}) is the identity at inference"
            ),
            position=pos,
            x=x,
            p=self.p,
        )

    def describe(self) -> dict[str, Any]:
        hyper = {"p": self.p, "training": False}
        return stage_description(self, self.x, hyper, axis_names(self.x.ndim))

    def reference(self) -> np.ndarray:
        """``F.dropout(x, p, training=False)``: PyTorch's dropout in eval mode."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.array(self.x))
        return F.dropout(x, self.p, training=False).numpy()


# -- add -------------------------------------------------------------------------------------


def add_peak_bytes(shape: tuple[int, ...]) -> int:
    """Peak bytes of an add stage: both inputs and the sum, and the PyTorch check."""
    return _elementwise_bytes(math.prod(shape), 3) + 8 * math.prod(shape)


@dataclass(frozen=True, eq=False, kw_only=True)
class AddStep(ElementStep):
    """One element out = a + b of a residual join."""

    a: float
    """The element of the first input (the main path in a residual block)."""
    b: float
    """The element of the second input (the skip path, x or its 1×1 projection)."""


class AddStage(PerElementStage):
    """out = a + b, element by element: where a residual block joins its main path F(x) and
    its skip path x, so the block computes F(x) + x.

    Args:
        a: first input, any shape.
        b: second input, the same shape as ``a`` (no broadcasting: a residual join whose shapes
            differ needs a projection, and the error says so).
        name: the stage's name.
    """

    kind = "add"
    VECTOR_ROWS = False

    def __init__(self, a: np.ndarray, b: np.ndarray, name: str = "add") -> None:
        super().__init__(name)
        a = np.atleast_1d(_as_float_array(a, "inputs"))
        b = np.atleast_1d(_as_float_array(b, "inputs"))
        if a.shape != b.shape:
            raise SpecError(
                "inputs",
                f"add needs two inputs of the same shape, got a {_shape_text(a.shape)} and "
                f"b {_shape_text(b.shape)}; a residual join between different shapes needs a "
                "projection (a 1×1 convolution with stride) on the skip path",
            )
        _require_nonempty(a, "inputs")
        check_bytes(add_peak_bytes(a.shape), "inputs", f"adding {a.size:,} values")
        _require_finite(a, "inputs")
        _require_finite(b, "inputs")
        with np.errstate(over="ignore"):
            out = a + b
        if not np.all(np.isfinite(out)):
            pos = np.unravel_index(int(np.argmin(np.isfinite(out))), out.shape)
            where = ",".join(str(int(v)) for v in pos)
            raise SpecError(
                "inputs",
                f"a + b overflows float64 at element [{where}] "
                f"({float(a[pos]):.3g} + {float(b[pos]):.3g})",
            )
        self.a = frozen(a)
        self.b = frozen(b)
        self._out = frozen(out)

    @property
    def x(self) -> np.ndarray:
        """The first input (the main path), as a view's ``x`` for tools that read one input."""
        return self.a

    def step(self, i: int) -> AddStep:
        i = self._normalise_index(i)
        pos = self.position(i)
        a, b, value = float(self.a[pos]), float(self.b[pos]), float(self._out[pos])
        where = ",".join(str(v) for v in pos)
        return AddStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=f"out[{where}] = a + b = {a:g} + {b:g} = {value:g}",
            position=pos,
            a=a,
            b=b,
        )

    def describe(self) -> dict[str, Any]:
        inputs = {"shape": list(self.a.shape), "a": self.a.tolist(), "b": self.b.tolist()}
        return stage_description(self, inputs, {}, axis_names(self._out.ndim))

    def reference(self) -> np.ndarray:
        """``torch.add(a, b)``."""
        import torch

        a = torch.from_numpy(np.array(self.a))
        b = torch.from_numpy(np.array(self.b))
        return torch.add(a, b).numpy()


# -- softmax ---------------------------------------------------------------------------------


def softmax_peak_bytes(n: int) -> int:
    """Peak bytes of a softmax stage over ``n`` classes: logits, shifted logits, exponentials
    and probabilities, and the PyTorch check."""
    return _elementwise_bytes(n, 4)


@dataclass(frozen=True, eq=False, kw_only=True)
class SoftmaxStep(Step):
    """Class ``index``: p_i = e^(z_i − max) / Σ_j e^(z_j − max)."""

    z: float
    """The logit z_i."""
    z_max: float
    """max_j z_j, subtracted from every logit so that no exponential overflows."""
    shifted: float
    """z_i − max (≤ 0); −inf only for a logit more than 1.8e308 below the largest."""
    exp: float
    """e^(z_i − max), in (0, 1]."""
    total: float
    """Σ_j e^(z_j − max), ≥ 1 (the largest logit contributes e^0 = 1)."""
    argmax: int
    """The class with the largest logit (the first of them)."""


class SoftmaxStage(PerElementStage):
    """Class probabilities from logits, p_i = e^(z_i) / Σ_j e^(z_j), computed as
    e^(z_i − m) / Σ_j e^(z_j − m) with m = max_j z_j (the same number, without overflow): as
    ``torch.nn.functional.softmax(z, dim=0)``.

    Args:
        z: the logits, shape (N,).
        name: the stage's name.

    Shape:
        output (N,), summing to 1; one step per class.

    Logits more than ~1.8e308 below the largest get probability 0 (their shift z_i − m is
    −inf), which is the exact answer rounded to float64.
    """

    kind = "softmax"
    VECTOR_ROWS = False

    def __init__(self, z: np.ndarray, name: str = "softmax") -> None:
        super().__init__(name)
        z = np.atleast_1d(_as_float_array(z, "input"))
        if z.ndim != 1:
            raise SpecError(
                "input",
                f"softmax reads a vector of class scores (N,), got shape {_shape_text(z.shape)}; "
                "flatten it first",
            )
        _require_nonempty(z, "input")
        check_bytes(softmax_peak_bytes(z.size), "input", f"softmax over {z.size:,} classes")
        _require_finite(z, "input")
        self.z = frozen(z)
        self._argmax = int(np.argmax(z))
        self.z_max = float(z[self._argmax])
        with np.errstate(over="ignore", under="ignore"):
            shifted = z - self.z_max  # −inf where the gap overflows
            e = np.exp(shifted)
        self._shifted = frozen(shifted)
        self._exp = frozen(e)
        self.total = float(e.sum())  # ≥ 1: the largest logit gives e^0
        self._out = frozen(e / self.total)

    @property
    def x(self) -> np.ndarray:
        """The logits, under the name every stage's input has."""
        return self.z

    @property
    def argmax(self) -> int:
        """The class with the largest logit (the first of them)."""
        return self._argmax

    @property
    def shifted(self) -> np.ndarray:
        """z − max for every class (−inf where the gap overflows float64)."""
        return self._shifted

    @property
    def exp(self) -> np.ndarray:
        """e^(z − max) for every class, each in [0, 1]."""
        return self._exp

    def step(self, i: int) -> SoftmaxStep:
        i = self._normalise_index(i)
        z, shifted, e = float(self.z[i]), float(self._shifted[i]), float(self._exp[i])
        value = float(self._out[i])
        return SoftmaxStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=(
                f"p[{i}] = e^(z − max) / Σ = e^({z:g} − {self.z_max:g}) / {self.total:g} = "
                f"{e:g} / {self.total:g} = {value:g}"
            ),
            z=z,
            z_max=self.z_max,
            shifted=shifted,
            exp=e,
            total=self.total,
            argmax=self._argmax,
        )

    def describe(self) -> dict[str, Any]:
        return stage_description(self, self.z, {"dim": 0}, ["class"])

    def reference(self) -> np.ndarray:
        """``F.softmax(z, dim=0)``."""
        import torch
        import torch.nn.functional as F

        return F.softmax(torch.from_numpy(np.array(self.z)), dim=0).numpy()


# -- batch normalisation -----------------------------------------------------------------------


def batchnorm_peak_bytes(shape: tuple[int, int, int]) -> int:
    """Peak bytes of a batch-norm stage over a (C, H, W) input: input and output, the
    temporaries of the formula (two more arrays of that size), and the PyTorch check."""
    return _elementwise_bytes(math.prod(shape), 4) + 8 * 8 * shape[0]


@dataclass(frozen=True, eq=False, kw_only=True)
class BatchNormStep(ChannelStep):
    """One element out[c, h, w] = (x − μ_c)/√(σ²_c + ε)·γ_c + β_c at inference."""

    x: float
    mean: float
    """μ_c, the running mean of channel c (collected in training)."""
    var: float
    """σ²_c, the running variance of channel c."""
    eps: float
    std: float
    """√(σ²_c + ε)."""
    x_hat: float
    """(x − μ_c)/√(σ²_c + ε): the normalised value."""
    gamma: float
    """γ_c, the learned scale (``weight``)."""
    beta: float
    """β_c, the learned shift (``bias``)."""


class BatchNormStage(PerElementStage):
    """Batch normalisation at inference, as ``nn.BatchNorm2d`` in ``eval()`` mode:
    out[c, h, w] = (x[c, h, w] − μ_c)/√(σ²_c + ε)·γ_c + β_c, with the running mean μ and
    variance σ² collected in training, not the statistics of this input.

    Args:
        x: input volume, shape (C, H, W).
        weight: γ, shape (C,).
        bias: β, shape (C,).
        running_mean: μ, shape (C,).
        running_var: σ², shape (C,), each ≥ 0.
        eps: ε ≥ 0 (PyTorch's default 1e-5), with σ²_c + ε > 0 for every channel.
        name: the stage's name.

    Shape:
        output (C, H, W); one step per element, channel by channel, row by row.
    """

    kind = "batchnorm2d"

    def __init__(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray,
        running_mean: np.ndarray,
        running_var: np.ndarray,
        eps: float = 1e-5,
        name: str = "batchnorm2d",
    ) -> None:
        super().__init__(name)
        x = _as_image(x, "input", "batch normalisation")
        c = x.shape[0]
        what = f"one number per channel ({c} channels)"
        gamma = _vector(weight, c, "weight", what)
        beta = _vector(bias, c, "bias", what)
        mean = _vector(running_mean, c, "running_mean", what)
        var = _vector(running_var, c, "running_var", what)
        if (
            isinstance(eps, bool)
            or not isinstance(eps, (int, float, np.integer, np.floating))
            or not math.isfinite(eps)
            or eps < 0
        ):
            raise SpecError("eps", f"expected a finite number ≥ 0, got {eps!r}")
        if np.any(var < 0):
            k = int(np.argmax(var < 0))
            raise SpecError(
                "running_var", f"variances must be ≥ 0, got {float(var[k]):g} in channel {k}"
            )
        std = np.sqrt(var + float(eps))  # (C,)
        if np.any(std == 0):
            k = int(np.argmax(std == 0))
            raise SpecError(
                "eps",
                f"channel {k} has variance 0 and eps = {float(eps):g}: the division by "
                "√(σ² + ε) needs ε > 0 there",
            )
        check_bytes(
            batchnorm_peak_bytes(x.shape),
            "input",
            f"batch normalisation over {x.size:,} values",
        )
        _require_finite(x, "input")
        with np.errstate(over="ignore", invalid="ignore"):
            x_hat = (x - mean[:, None, None]) / std[:, None, None]
            out = x_hat * gamma[:, None, None] + beta[:, None, None]
        if not np.all(np.isfinite(out)):
            pos = np.unravel_index(int(np.argmin(np.isfinite(out))), out.shape)
            k = int(pos[0])
            field = "input" if not np.isfinite(x_hat[pos]) else "weight"
            raise SpecError(
                field,
                f"the normalised value overflows float64 in channel {k} (x = "
                f"{float(x[pos]):.3g}, μ = {float(mean[k]):.3g}, √(σ² + ε) = "
                f"{float(std[k]):.3g}, γ = {float(gamma[k]):.3g})",
            )
        del x_hat
        self.x = frozen(x)  # (C, H, W)
        self.weight = gamma
        self.bias = beta
        self.running_mean = mean
        self.running_var = var
        self.eps = float(eps)
        self.std = frozen(std)  # (C,)
        self._out = frozen(out)

    @property
    def channels(self) -> int:
        return int(self.x.shape[0])

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: γ and β per channel (μ and σ² are buffers, not learned)."""
        return 2 * self.channels

    def with_input(self, x: np.ndarray) -> BatchNormStage:
        """The same normalisation (γ, β, μ, σ², ε) applied to another input."""
        return BatchNormStage(
            x, self.weight, self.bias, self.running_mean, self.running_var, self.eps, self.name
        )

    def input_hw(self) -> Pair:
        return int(self.x.shape[1]), int(self.x.shape[2])

    def window_geometry(self) -> None:
        """Element-wise: each output reads only its own position."""
        return None

    def step(self, i: int) -> BatchNormStep:
        i = self._normalise_index(i)
        c, r, col = self.position(i)
        x = float(self.x[c, r, col])
        mean, std = float(self.running_mean[c]), float(self.std[c])
        gamma, beta = float(self.weight[c]), float(self.bias[c])
        x_hat = (x - mean) / std  # the same IEEE operations as the vectorized formula
        value = float(self._out[c, r, col])
        return BatchNormStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=(
                f"out[{c},{r},{col}] = ({x:g} − {mean:g})/√({float(self.running_var[c]):g} + "
                f"{self.eps:g})·{gamma:g} + {beta:g} = {x_hat:g}·{gamma:g} + {beta:g} = {value:g}"
            ),
            channel=c,
            row=r,
            col=col,
            x=x,
            mean=mean,
            var=float(self.running_var[c]),
            eps=self.eps,
            std=std,
            x_hat=x_hat,
            gamma=gamma,
            beta=beta,
        )

    def describe(self) -> dict[str, Any]:
        return stage_description(
            self,
            self.x,
            {"eps": self.eps, "training": False},
            ["channel", "row", "col"],
            parameters={"weight": array_data(self.weight), "bias": array_data(self.bias)},
            buffers={
                "running_mean": array_data(self.running_mean),
                "running_var": array_data(self.running_var),
            },
        )

    def reference(self) -> np.ndarray:
        """``F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps)``."""
        import torch
        import torch.nn.functional as F

        def t(a: np.ndarray) -> Any:
            return torch.from_numpy(np.array(a))

        out = F.batch_norm(
            t(self.x)[None],
            t(self.running_mean),
            t(self.running_var),
            t(self.weight),
            t(self.bias),
            training=False,
            eps=self.eps,
        )
        return out[0].numpy()


# -- adaptive average pooling ------------------------------------------------------------------


def adaptive_windows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the windows along one axis, PyTorch's rule:
    start_i = ⌊i·n_in/n_out⌋, end_i = ⌈(i + 1)·n_in/n_out⌉ (exclusive). Windows may overlap
    (7 → 3: rows 0–2, 2–4, 4–6) and may repeat a row when n_out > n_in."""
    i = np.arange(n_out, dtype=np.int64)
    starts = (i * n_in) // n_out
    ends = -((-(i + 1) * n_in) // n_out)
    return starts, ends


def adaptive_pool_peak_bytes(in_shape: tuple[int, int, int], out_hw: Pair) -> int:
    """Peak bytes of an adaptive average pooling stage: the input, the row means (C, h, W) and
    the output (C, h, w), twice over for the overflow-safe recomputation, and the PyTorch check
    (a copy of the input, torch's output, the difference and its absolute value)."""
    c, h, w = in_shape
    oh, ow = out_hw
    return 8 * (2 * c * h * w + 2 * (c * oh * w + 2 * c * oh * ow)) + ALLOCATOR_SLACK


@dataclass(frozen=True, eq=False, kw_only=True)
class AdaptivePoolStep(ChannelStep):
    """One output element out[channel, row, col]: the mean of its window of the input."""

    top: int
    """First input row of the window: ⌊row·H/h⌋."""
    bottom: int
    """One past the last input row: ⌈(row + 1)·H/h⌉."""
    left: int
    """First input column: ⌊col·W/w⌋."""
    right: int
    """One past the last input column: ⌈(col + 1)·W/w⌉."""
    window: np.ndarray  # (bottom − top, right − left) input values of this channel


class AdaptiveAvgPoolStage(ChannelGridStage):
    """Adaptive average pooling to a fixed output size, as ``F.adaptive_avg_pool2d``: output
    (i, j) is the mean of input rows ⌊i·H/h⌋ … ⌈(i+1)·H/h⌉ − 1 and columns ⌊j·W/w⌋ …
    ⌈(j+1)·W/w⌉ − 1 of its channel. Whatever the input size, the output is h×w (ResNet's 7×7
    → 1×1 is a global average; VGG's 7×7 → 7×7 copies; AlexNet's 6×6 → 6×6 copies).

    Args:
        x: input volume, shape (C, H, W).
        output_size: h or (h, w), each ≥ 1 (larger than the input repeats input cells); None
            for h or w keeps the input's size there, as in PyTorch.
        name: the stage's name.

    Shape:
        output (C, h, w); one step per output element, channel by channel, row by row.
    """

    kind = "adaptive_avgpool2d"

    def __init__(
        self,
        x: np.ndarray,
        output_size: int | tuple[int | None, int | None] | list[int | None] | np.ndarray,
        name: str = "adaptive_avgpool2d",
    ) -> None:
        super().__init__(name)
        x = _as_image(x, "input", "adaptive average pooling")
        c, h, w = x.shape
        oh, ow = _output_size(output_size, (h, w))
        check_bytes(
            adaptive_pool_peak_bytes((c, h, w), (oh, ow)),
            "output_size",
            f"adaptive average pooling {c}×{h}×{w} to {oh}×{ow}",
        )
        _require_finite(x, "input")
        self.x = frozen(x)
        self.out_hw: Pair = (oh, ow)
        self._rows = adaptive_windows(h, oh)
        self._cols = adaptive_windows(w, ow)
        out = self._means(x)
        bad = ~np.isfinite(out)
        if bad.any():
            # A mean of finite numbers is finite, but the sum may not be: take the mean again of
            # the cells scaled by a power of two (exact), then scale back.
            s = _pow2_at_least(self._max_cells())
            out = np.where(bad, self._means(x / s) * s, out)
        self._out = frozen(out)

    def _max_cells(self) -> int:
        (r0, r1), (c0, c1) = self._rows, self._cols
        return int((r1 - r0).max() * (c1 - c0).max())

    def _means(self, x: np.ndarray) -> np.ndarray:
        """Window means, separably: each window's sum of rows, then of columns, divided by its
        cell count once (as torch sums a window and divides)."""
        (r0, r1), (c0, c1) = self._rows, self._cols
        oh, ow = self.out_hw
        c = x.shape[0]
        with np.errstate(over="ignore", invalid="ignore"):
            rows = np.empty((c, oh, x.shape[2]))  # (C, h, W) sums over window rows
            for i in range(oh):
                np.sum(x[:, r0[i] : r1[i], :], axis=1, out=rows[:, i, :])
            out = np.empty((c, oh, ow))  # (C, h, w)
            for j in range(ow):
                np.sum(rows[:, :, c0[j] : c1[j]], axis=2, out=out[:, :, j])
            counts = (r1 - r0)[:, None] * (c1 - c0)[None, :]  # (h, w)
            out /= counts
        return out

    def window_rows(self, row: int) -> tuple[int, int]:
        """(first, one past the last) input row of output row ``row``."""
        return int(self._rows[0][row]), int(self._rows[1][row])

    def window_cols(self, col: int) -> tuple[int, int]:
        """(first, one past the last) input column of output column ``col``."""
        return int(self._cols[0][col]), int(self._cols[1][col])

    def step(self, i: int) -> AdaptivePoolStep:
        i = self._normalise_index(i)
        c, r, col = self.position(i)
        top, bottom = self.window_rows(r)
        left, right = self.window_cols(col)
        window = self.x[c, top:bottom, left:right]
        value = float(self._out[c, r, col])
        return AdaptivePoolStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=(
                f"out[{c},{r},{col}] = mean of input rows {top}…{bottom - 1}, cols "
                f"{left}…{right - 1} ({window.size} values) = {value:g}"
            ),
            channel=c,
            row=r,
            col=col,
            top=top,
            bottom=bottom,
            left=left,
            right=right,
            window=window,
        )

    def describe(self) -> dict[str, Any]:
        hyper = {"output_size": list(self.out_hw)}
        return stage_description(self, self.x, hyper, ["channel", "row", "col"])

    def reference(self) -> np.ndarray:
        """``F.adaptive_avg_pool2d(x, output_size)``. Where torch's sum of a window overflows
        (its mean is then inf), that output is torch's mean of the cells scaled by a power of
        two, scaled back: the finite mean the stage shows, computed by torch."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.array(self.x))[None]
        with torch.no_grad():
            got = F.adaptive_avg_pool2d(x, self.out_hw)[0]
            if not bool(torch.isfinite(got).all()):
                s = _pow2_at_least(self._max_cells())
                scaled = F.adaptive_avg_pool2d(x / s, self.out_hw)[0] * s
                got = torch.where(torch.isfinite(got), got, scaled)
        return got.numpy()


def _pow2_at_least(n: int) -> float:
    return float(2 ** max(0, math.ceil(math.log2(max(n, 1)))))


def _output_size(value: Any, hw: Pair) -> Pair:
    """(h, w) from an int or a pair, each from 1 to MAX_OUTPUT_SIZE; None in the pair keeps
    the input's size on that axis, as in PyTorch."""
    if isinstance(value, np.ndarray) and value.shape == (2,):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) == 2:
        pair = tuple(d if v is None else v for v, d in zip(value, hw, strict=True))
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (value, value)
    else:
        raise SpecError("output_size", f"expected a whole number or [h, w], got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise SpecError("output_size", f"expected whole numbers, got {list(value)!r}")
        if not 1 <= v <= MAX_OUTPUT_SIZE:
            raise SpecError(
                "output_size",
                f"each size must be from 1 to {MAX_OUTPUT_SIZE:,}, got {[int(p) for p in pair]}",
            )
    return int(pair[0]), int(pair[1])
