"""Elementwise activation functions (ReLU, sigmoid, tanh, leaky ReLU), stepped per element."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine.core import Stage, Step, replaced
from engine.errors import SpecError
from engine.limits import ALLOCATOR_SLACK, MAX_NEGATIVE_SLOPE, REFERENCE_BLOCK_BYTES, check_bytes

ArrayFn = Callable[[np.ndarray, float], np.ndarray]
"""``f(x, negative_slope)``, elementwise; only leaky ReLU reads the slope."""


def _relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return np.maximum(x, 0.0)


def _relu_derivative(x: np.ndarray, negative_slope: float) -> np.ndarray:
    # 0 at x = 0, as PyTorch's autograd has it.
    return (x > 0).astype(np.float64)


def _sigmoid(x: np.ndarray, negative_slope: float) -> np.ndarray:
    # σ(x) = 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) for x < 0: the exponential only ever
    # sees −|x|, so it cannot overflow; it may underflow to 0, which is the right answer.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_derivative(x: np.ndarray, negative_slope: float) -> np.ndarray:
    # σ(x)·(1 − σ(x)) written as e^−|x|/(1 + e^−|x|)²: the same number, but 1 − σ(x) cancels
    # catastrophically for large x, and this form keeps full relative precision everywhere.
    e = np.exp(-np.abs(x))
    return e / ((1.0 + e) * (1.0 + e))


def _tanh(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return np.tanh(x)


def _tanh_derivative(x: np.ndarray, negative_slope: float) -> np.ndarray:
    # 1 − tanh²(x) = sech²(x) = 4a/(1 + a)² with a = e^−2|x|; 1 − tanh² would cancel for
    # large |x|. a is e^−|x| squared because 2|x| itself can overflow.
    e = np.exp(-np.abs(x))
    a = e * e
    return 4.0 * a / ((1.0 + a) * (1.0 + a))


def _leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return np.where(x > 0, x, negative_slope * x)


def _leaky_relu_derivative(x: np.ndarray, negative_slope: float) -> np.ndarray:
    # The negative slope at x = 0, as PyTorch's autograd has it.
    return np.where(x > 0, 1.0, negative_slope)


@dataclass(frozen=True)
class Activation:
    """An activation function and its derivative, both vectorized over NumPy arrays."""

    name: str
    formula: str
    """The function as written in the literature, in terms of x."""
    derivative_formula: str
    function: ArrayFn
    derivative: ArrayFn

    def __call__(self, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        """f(x), elementwise, in float64; underflow to zero is silent (it is the exact answer)."""
        with np.errstate(under="ignore"):
            return self.function(np.asarray(x, dtype=np.float64), negative_slope)

    def grad(self, x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        """f′(x), elementwise, in float64."""
        with np.errstate(under="ignore"):
            return self.derivative(np.asarray(x, dtype=np.float64), negative_slope)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", "max(0, x)", "1 if x > 0 else 0", _relu, _relu_derivative),
        Activation("sigmoid", "1/(1 + e^−x)", "σ(x)·(1 − σ(x))", _sigmoid, _sigmoid_derivative),
        Activation("tanh", "tanh(x)", "1 − tanh²(x)", _tanh, _tanh_derivative),
        Activation(
            "leaky_relu",
            "x if x > 0 else a·x",
            "1 if x > 0 else a",
            _leaky_relu,
            _leaky_relu_derivative,
        ),
    )
}
"""The activation functions a stage accepts, by name."""


def activation(name: str) -> Activation:
    """The named activation; KeyError listing the valid names if there is none."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}") from None


def activation_peak_bytes(shape: tuple[int, ...]) -> int:
    """Peak bytes of an activation stage from its input shape alone: input, output and
    derivatives held, plus the larger of the build temporaries (three more arrays of the
    input's size, for sigmoid's exponentials) and the PyTorch check (torch's output, the
    difference and its absolute value, and one block of copies)."""
    n = math.prod(shape)
    return 8 * 3 * n + 8 * 3 * n + 2 * min(8 * n, REFERENCE_BLOCK_BYTES) + ALLOCATOR_SLACK


_AXIS_NAMES = {1: ["index"], 2: ["row", "col"], 3: ["channel", "row", "col"]}


def axis_names(ndim: int) -> list[str]:
    """The names of an array's axes in a trace's ``step_order``: ``index`` for a vector,
    ``row, col`` for a plane, ``channel, row, col`` for an image, ``axis0 …`` beyond."""
    return _AXIS_NAMES.get(ndim, [f"axis{k}" for k in range(ndim)])


def array_data(a: np.ndarray) -> dict[str, Any]:
    """An array as a trace writes it: its shape and its values as nested lists."""
    return {"shape": list(a.shape), "values": a.tolist()}


def stage_description(
    stage: Stage,
    inputs: np.ndarray | dict[str, Any],
    hyperparameters: dict[str, Any],
    step_order: list[str],
    *,
    parameters: dict[str, Any] | None = None,
    buffers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``describe()`` returns, in the order a trace writes it: name, kind, the input (an
    array, or a table for a stage with two inputs), parameters, buffers (where given),
    hyper-parameters, the output, the number of steps and their order."""
    described: dict[str, Any] = {
        "name": stage.name,
        "kind": stage.kind,
        "input": array_data(inputs) if isinstance(inputs, np.ndarray) else inputs,
        "parameters": {} if parameters is None else parameters,
    }
    if buffers is not None:
        described["buffers"] = buffers
    described["hyperparameters"] = hyperparameters
    described["output"] = array_data(stage.output)
    described["steps"] = len(stage)
    described["step_order"] = step_order
    return described


@dataclass(frozen=True, eq=False, kw_only=True)
class ElementStep(Step):
    """One element of an element-wise stage, at ``position`` in its input and output."""

    position: tuple[int, ...]
    """Index of the element in the input (and output) array."""


class PerElementStage(Stage):
    """A stage with one step per element of an array (its output, or for a flatten its input,
    whose elements it reorders), in C order (last axis fastest): step i is element
    ``np.unravel_index(i, shape)`` of ``_elements()``. Subclasses hold their result in ``_out``
    and have no learnable parameters unless they say otherwise.

    "Next row" moves one row of the last axis; where ``VECTOR_ROWS`` is False a vector has no
    rows and "next row" moves one element."""

    VECTOR_ROWS: ClassVar[bool] = True
    """Whether a vector counts as one row (True) or as elements without rows (False)."""

    _out: np.ndarray

    def _elements(self) -> np.ndarray:
        """The array the steps run over."""
        return self.output

    @property
    def output(self) -> np.ndarray:
        return self._out

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: none."""
        return 0

    def __len__(self) -> int:
        return int(self._elements().size)

    def row_steps(self) -> int:
        a = self._elements()
        return int(a.shape[-1]) if a.ndim >= 2 or self.VECTOR_ROWS else 1

    def position(self, i: int) -> tuple[int, ...]:
        """Index into the array of local step ``i``."""
        i = self._normalise_index(i)
        return tuple(int(v) for v in np.unravel_index(i, self._elements().shape))

    def index_of(self, *position: int) -> int:
        """Local step index of the element at ``position``."""
        return int(np.ravel_multi_index(position, self._elements().shape))


@dataclass(frozen=True, eq=False, kw_only=True)
class ActivationStep(ElementStep):
    """One element out[position] = f(x[position]) of an activation stage."""

    x: float
    """The pre-activation value."""
    derivative: float
    """f′(x): how much the output moves per unit of input, as backpropagation uses it."""
    function: str


class ActivationStage(PerElementStage):
    """out = f(x), elementwise, for f one of ``ACTIVATIONS``.

    Args:
        x: pre-activations of any shape, usually (C, H, W); a scalar is one element.
        function: ``"relu"``, ``"sigmoid"``, ``"tanh"`` or ``"leaky_relu"``.
        negative_slope: leaky ReLU's slope a for x ≤ 0, 0 ≤ a ≤ 1e6 (PyTorch's default
            0.01), and small enough that a·x stays finite for every input; ignored by the
            other functions.

    Shape:
        output and derivatives have the shape of the input.

    Derivatives follow PyTorch's autograd, including at the kink (ReLU′(0) = 0, leaky
    ReLU′(0) = a). Sigmoid and tanh derivatives are computed without the cancellation in
    1 − σ and 1 − tanh², so they keep their relative precision near saturation where autograd
    rounds to 0 (σ′(40) is 4.2e-18 here, 0 in torch); the two agree to 1e-16 absolute.

    Steps run over the elements in C order (last axis fastest): step i is element
    ``np.unravel_index(i, x.shape)``.
    """

    kind = "activation"

    def __init__(
        self,
        x: np.ndarray | float,
        function: str = "relu",
        negative_slope: float = 0.01,
        name: str = "activation",
    ) -> None:
        super().__init__(name)
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        if x.size == 0:
            raise SpecError("input", f"empty shape: input {x.shape}")
        if not isinstance(function, str) or function not in ACTIVATIONS:
            raise SpecError(
                "function", f"unknown activation {function!r}; valid: {', '.join(ACTIVATIONS)}"
            )
        if (
            isinstance(negative_slope, bool)
            or not isinstance(negative_slope, (int, float, np.integer, np.floating))
            or not math.isfinite(negative_slope)
            or negative_slope < 0
            or negative_slope > MAX_NEGATIVE_SLOPE
        ):
            raise SpecError(
                "negative_slope",
                f"expected a finite number ≥ 0 and ≤ {MAX_NEGATIVE_SLOPE:g}, "
                f"got {negative_slope!r}",
            )
        check_bytes(activation_peak_bytes(x.shape), "input", f"{function} over {x.size:,} values")
        if not np.all(np.isfinite(x)):
            raise SpecError("input", "values must be finite (no inf or nan)")
        if function == "leaky_relu" and negative_slope > 1:
            lowest = float(x.min())
            if lowest < 0 and not math.isfinite(negative_slope * lowest):
                limit = np.finfo(np.float64).max / -lowest
                raise SpecError(
                    "negative_slope",
                    f"{negative_slope:g}·({lowest:g}) overflows float64; with this input the "
                    f"slope must be from 0 to {limit:.3g}",
                )

        # A read-only view: the stage's numbers must not change behind its back.
        self.x = x.view()
        self.x.flags.writeable = False
        self.function = function
        self.negative_slope = float(negative_slope)
        self._f = ACTIVATIONS[function]
        with np.errstate(over="ignore"):  # reported below as a SpecError instead
            self._out = self._f(x, self.negative_slope)
            self._derivative = self._f.grad(x, self.negative_slope)
        if not (np.all(np.isfinite(self._out)) and np.all(np.isfinite(self._derivative))):
            raise SpecError("input", "the output overflows float64 (values too large)")

    # -- shape facts ---------------------------------------------------------------------

    @property
    def derivative(self) -> np.ndarray:
        """f′(x) for every element, shape of the input."""
        return self._derivative

    def curve(
        self, lo: float = -6.0, hi: float = 6.0, n: int = 121
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` evenly spaced points (xs, f(xs)) from ``lo`` to ``hi``, for drawing f."""
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"expected finite lo < hi, got lo={lo!r}, hi={hi!r}")
        if n < 2:
            raise ValueError(f"a curve needs at least 2 points, got n={n}")
        xs = np.linspace(lo, hi, n)
        return xs, self._f(xs, self.negative_slope)

    # -- stepping ------------------------------------------------------------------------

    def with_input(self, x: np.ndarray) -> ActivationStage:
        """The same function applied to another input."""
        return ActivationStage(x, self.function, self.negative_slope, self.name)

    def value_arrays(self) -> dict[str, np.ndarray]:
        """The numbers a person may change: the input, in its own shape; no parameters."""
        return {"input": self.x}

    def with_values(self, name: str, array: np.ndarray) -> ActivationStage:
        """The same function on another ``input`` of the same shape."""
        why = f"{self.function} has no parameters; only the input can change"
        return self.with_input(replaced(self.value_arrays(), name, array, why)["input"])

    def input_hw(self) -> tuple[int, int]:
        return (int(self.x.shape[-2]) if self.x.ndim >= 2 else 1), int(self.x.shape[-1])

    def window_geometry(self) -> None:
        """Element-wise: each output reads only its own position."""
        return None

    def step(self, i: int) -> ActivationStep:
        i = self._normalise_index(i)
        pos = self.position(i)
        x = float(self.x[pos])
        value = float(self._out[pos])
        slope = float(self._derivative[pos])
        where = ",".join(str(p) for p in pos)
        return ActivationStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=f"out[{where}] = {self._worked(x, value)}; f′(x) = {slope:g}",
            position=pos,
            x=x,
            derivative=slope,
            function=self.function,
        )

    def _worked(self, x: float, value: float) -> str:
        """The function applied to one number, written out."""
        if self.function == "relu":
            return f"relu({x:g}) = max(0, {x:g}) = {value:g}"
        if self.function == "sigmoid":
            minus_x = -x + 0.0  # + 0.0 turns −0.0 into 0.0
            return f"sigmoid({x:g}) = 1/(1 + e^{minus_x:g}) = {value:g}"
        if self.function == "tanh":
            return f"tanh({x:g}) = {value:g}"
        if x > 0:
            return f"leaky_relu({x:g}) = {x:g} (positive, unchanged)"
        return f"leaky_relu({x:g}) = {self.negative_slope:g}·{x:g} = {value:g}"

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        hyper: dict[str, Any] = {"function": self.function}
        if self.function == "leaky_relu":
            hyper["negative_slope"] = self.negative_slope
        return stage_description(self, self.x, hyper, axis_names(self.x.ndim))

    def reference(self) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        def apply(x: Any) -> Any:
            if self.function == "relu":
                return F.relu(x)
            if self.function == "sigmoid":
                return torch.sigmoid(x)
            if self.function == "tanh":
                return torch.tanh(x)
            return F.leaky_relu(x, self.negative_slope)

        # In blocks, so that torch's copies stay within REFERENCE_BLOCK_BYTES.
        flat = self.x.reshape(-1)
        out = np.empty(flat.shape)
        block = max(1, REFERENCE_BLOCK_BYTES // 8)
        for i in range(0, flat.size, block):
            x = torch.from_numpy(np.array(flat[i : i + block]))  # a writable copy
            out[i : i + block] = apply(x).numpy()
        return out.reshape(self.x.shape)
