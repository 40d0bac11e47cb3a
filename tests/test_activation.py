"""Activations against PyTorch: values, autograd derivatives, stability, errors, stepping."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine.activation import (
    ACTIVATIONS,
    ActivationStage,
    ActivationStep,
    activation,
)
from engine.core import Simulation
from engine.errors import SpecError
from engine.pool import PoolStage

NAMES = ["relu", "sigmoid", "tanh", "leaky_relu"]


def torch_value_and_grad(
    x: np.ndarray, function: str, negative_slope: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's float64 f(x) and, by autograd, f′(x) elementwise."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    if function == "relu":
        y = F.relu(xt)
    elif function == "sigmoid":
        y = torch.sigmoid(xt)
    elif function == "tanh":
        y = torch.tanh(xt)
    else:
        y = F.leaky_relu(xt, negative_slope)
    y.sum().backward()
    assert xt.grad is not None
    return y.detach().numpy(), xt.grad.numpy()


# -- fixed cases -------------------------------------------------------------------------------


def test_names_are_the_four_classics() -> None:
    assert list(ACTIVATIONS) == NAMES
    for name in NAMES:
        assert activation(name) is ACTIVATIONS[name]
        assert activation(name).formula and activation(name).derivative_formula
    with pytest.raises(KeyError, match="valid: relu, sigmoid, tanh, leaky_relu"):
        activation("relux")


@pytest.mark.parametrize(
    ("function", "expected", "derivative"),
    [
        ("relu", [0.0, 0.0, 0.0, 0.5, 3.0], [0.0, 0.0, 0.0, 1.0, 1.0]),
        ("leaky_relu", [-0.02, -0.005, 0.0, 0.5, 3.0], [0.01, 0.01, 0.01, 1.0, 1.0]),
        (
            "tanh",
            np.tanh([-2.0, -0.5, 0.0, 0.5, 3.0]),
            1 / np.cosh([-2.0, -0.5, 0.0, 0.5, 3.0]) ** 2,
        ),
    ],
)
def test_known_values(function: str, expected, derivative) -> None:
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    stage = ActivationStage(x, function)
    np.testing.assert_allclose(stage.output, expected, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(stage.derivative, derivative, rtol=1e-14, atol=1e-15)


def test_sigmoid_at_zero_and_symmetry() -> None:
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    stage = ActivationStage(x, "sigmoid")
    assert stage.output[2] == 0.5 and stage.derivative[2] == 0.25
    np.testing.assert_allclose(stage.output + stage.output[::-1], 1.0, rtol=1e-15)
    np.testing.assert_allclose(stage.output[3], 1 / (1 + np.exp(-1.0)), rtol=1e-15)


@pytest.mark.parametrize("function", NAMES)
def test_chw_volume_matches_torch_value_and_autograd(function: str) -> None:
    rng = np.random.default_rng(NAMES.index(function))
    x = rng.standard_normal((3, 4, 5)) * 4
    x[0, 0, :3] = [0.0, -0.0, 1e-300]  # the kink of the ReLUs
    stage = ActivationStage(x, function, negative_slope=0.2)
    value, grad = torch_value_and_grad(x, function, 0.2)
    np.testing.assert_allclose(stage.output, value, rtol=1e-14, atol=1e-300)
    # torch's backward forms 1 − σ and 1 − tanh², which cancel near saturation: its derivative
    # is only accurate to an ulp of 1, so that is the bar (accuracy is checked against mpmath).
    np.testing.assert_allclose(stage.derivative, grad, rtol=1e-14, atol=1e-15)
    assert stage.check_against_torch() < 1e-15
    assert len(stage) == 60 and stage.row_steps() == 5
    for i in (0, 1, 7, 59):
        step = stage.step(i)
        pos = tuple(int(v) for v in np.unravel_index(i, x.shape))
        assert isinstance(step, ActivationStep)
        assert (step.index, step.position, step.function) == (i, pos, function)
        assert step.x == x[pos]
        assert step.value == pytest.approx(value[pos], rel=1e-14, abs=1e-300)
        assert step.derivative == pytest.approx(grad[pos], rel=1e-14, abs=1e-15)
        assert stage.index_of(*stage.position(i)) == i


def test_relu_derivative_at_zero_is_torchs() -> None:
    x = np.array([0.0, -0.0])
    for function, at_zero in (("relu", 0.0), ("leaky_relu", 0.3)):
        stage = ActivationStage(x, function, negative_slope=0.3)
        _, grad = torch_value_and_grad(x, function, 0.3)
        np.testing.assert_array_equal(stage.derivative, grad)
        np.testing.assert_array_equal(stage.derivative, [at_zero, at_zero])


def test_leaky_slope_zero_is_relu() -> None:
    x = np.linspace(-3, 3, 13)
    leaky = ActivationStage(x, "leaky_relu", negative_slope=0.0)
    np.testing.assert_array_equal(leaky.output, ActivationStage(x, "relu").output)
    assert leaky.describe()["hyperparameters"] == {"function": "leaky_relu", "negative_slope": 0.0}


@pytest.mark.parametrize("function", NAMES)
def test_extreme_inputs_raise_no_floating_point_warnings(function: str) -> None:
    x = np.array([-1e308, -1e4, -800.0, -745.0, -710.0, -1e-310, 0.0, 1e-310, 710.0, 1e308])
    with np.errstate(all="raise"):
        stage = ActivationStage(x, function)
        xs, ys = stage.curve(-1000.0, 1000.0, 11)
    value, grad = torch_value_and_grad(x, function)
    np.testing.assert_allclose(stage.output, value, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(stage.derivative, grad, rtol=1e-14, atol=1e-300)
    assert np.all(np.isfinite(stage.derivative)) and np.all(stage.derivative >= 0)
    assert np.all(np.isfinite(ys)) and xs[0] == -1000.0


def test_sigmoid_saturates_cleanly() -> None:
    with np.errstate(all="raise"):
        stage = ActivationStage(np.array([-1e6, -1000.0, 40.0, 1000.0, 1e6]), "sigmoid")
    np.testing.assert_array_equal(stage.output, [0.0, 0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(stage.derivative[[0, 1, 3, 4]], 0.0)
    assert stage.derivative[2] == pytest.approx(np.exp(-40.0), rel=1e-10)


@pytest.mark.parametrize("function", ["sigmoid", "tanh"])
def test_smooth_derivatives_keep_relative_precision(function: str) -> None:
    # Far from 0 the derivative is tiny; computing 1 − σ or 1 − tanh² would lose every digit.
    x = np.array([-300.0, -35.0, -20.0, -3.0, -1e-8, 0.0, 0.7, 18.0, 36.0, 300.0])
    stage = ActivationStage(x, function)
    mp = mpmath.mp.clone()
    mp.dps = 50
    if function == "sigmoid":
        exact = [mp.exp(-abs(mp.mpf(v))) / (1 + mp.exp(-abs(mp.mpf(v)))) ** 2 for v in x]
        value = [1 / (1 + mp.exp(-mp.mpf(v))) for v in x]
    else:
        exact = [mp.sech(mp.mpf(v)) ** 2 for v in x]
        value = [mp.tanh(mp.mpf(v)) for v in x]
    np.testing.assert_allclose(stage.derivative, [float(v) for v in exact], rtol=1e-14)
    np.testing.assert_allclose(stage.output, [float(v) for v in value], rtol=1e-15)
    assert np.all(stage.derivative > 0)  # 1 − σ(36) rounds to 0, the derivative must not


def test_curve_covers_the_range() -> None:
    stage = ActivationStage(np.zeros(3), "tanh")
    xs, ys = stage.curve(-2.0, 2.0, 5)
    np.testing.assert_array_equal(xs, [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(ys, np.tanh(xs), rtol=1e-15)
    leaky = ActivationStage(np.zeros(3), "leaky_relu", negative_slope=0.5)
    np.testing.assert_array_equal(leaky.curve(-2.0, 2.0, 3)[1], [-1.0, 0.0, 2.0])
    for bad in ((1.0, 1.0, 5), (2.0, -2.0, 5), (-1.0, float("inf"), 5), (-1.0, 1.0, 1)):
        with pytest.raises(ValueError):
            stage.curve(*bad)


def test_step_explanations() -> None:
    stage = ActivationStage(np.array([[-2.0, 3.0]]), "leaky_relu", negative_slope=0.1)
    assert stage.step(0).explanation == "out[0,0] = leaky_relu(-2) = 0.1·-2 = -0.2; f′(x) = 0.1"
    assert stage.step(1).explanation.startswith("out[0,1] = leaky_relu(3) = 3")
    relu = ActivationStage(np.array([-2.0]), "relu").step(0)
    assert relu.explanation == "out[0] = relu(-2) = max(0, -2) = 0; f′(x) = 0"
    sig = ActivationStage(np.array([0.0]), "sigmoid").step(0)
    assert sig.explanation == "out[0] = sigmoid(0) = 1/(1 + e^0) = 0.5; f′(x) = 0.25"


def test_any_shape_and_step_order() -> None:
    x = np.arange(24, dtype=float).reshape(2, 3, 4) - 12
    stage = ActivationStage(x, "relu")
    assert [stage.position(i) for i in (0, 3, 4, 12, -1)] == [
        (0, 0, 0),
        (0, 0, 3),
        (0, 1, 0),
        (1, 0, 0),
        (1, 2, 3),
    ]
    assert stage.step(-1).index == 23
    with pytest.raises(IndexError, match="out of range"):
        stage.step(24)
    assert ActivationStage(np.ones((2, 5)), "tanh").row_steps() == 5
    scalar = ActivationStage(np.float64(-1.5), "relu")
    assert len(scalar) == 1 and scalar.step(0).position == (0,) and scalar.row_steps() == 1
    four_d = ActivationStage(np.ones((1, 2, 1, 3)), "sigmoid")
    assert four_d.describe()["step_order"] == ["axis0", "axis1", "axis2", "axis3"]
    assert ActivationStage(np.ones(4)).describe()["step_order"] == ["index"]


def test_describe() -> None:
    x = np.array([[[-1.0, 2.0]]])
    d = ActivationStage(x, "tanh", name="a1").describe()
    assert d["name"] == "a1" and d["kind"] == "activation" == ActivationStage.kind
    assert d["input"] == {"shape": [1, 1, 2], "values": x.tolist()}
    assert d["parameters"] == {}
    assert d["hyperparameters"] == {"function": "tanh"}
    assert d["output"] == {"shape": [1, 1, 2], "values": np.tanh(x).tolist()}
    assert d["steps"] == 2 and d["step_order"] == ["channel", "row", "col"]
    assert ActivationStage(x).parameter_count == 0


def test_input_is_read_only_but_callers_array_is_not() -> None:
    x = np.array([1.0, -1.0])
    stage = ActivationStage(x)
    with pytest.raises(ValueError, match="read-only"):
        stage.x[0] = 5.0
    assert x.flags.writeable


def test_pool_then_relu_simulation() -> None:
    x = np.array([[1.0, -3.0, 2.0, 1.0], [2.0, 9.0, -1.0, 1.0]])
    pool = PoolStage(x, size=2, name="pool")
    relu = ActivationStage(pool.output - 5.0, "relu", name="relu")
    sim = Simulation([pool, relu])
    assert [sim.step(g).value for g in range(len(sim))] == [9.0, 2.0, 4.0, 0.0]


# -- property tests against torch ----------------------------------------------------------------

values = st.floats(-50, 50, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(max_examples=120, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5), elements=values),
    function=st.sampled_from(NAMES),
    slope=st.floats(0, 2, allow_subnormal=False),
    data=st.data(),
)
def test_activation_matches_torch_autograd(
    x: np.ndarray, function: str, slope: float, data: st.DataObject
) -> None:
    stage = ActivationStage(x, function, negative_slope=slope)
    value, grad = torch_value_and_grad(x, function, slope)
    assert stage.output.shape == x.shape
    np.testing.assert_allclose(stage.output, value, rtol=1e-14, atol=1e-300)
    # Near saturation 1 − σ or 1 − tanh² cancels; ulp-level absolute agreement is the bar.
    np.testing.assert_allclose(stage.derivative, grad, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(stage.reference(), value, rtol=1e-14, atol=1e-300)
    assert len(stage) == x.size and stage.row_steps() == x.shape[-1]
    for i in data.draw(st.lists(st.integers(0, x.size - 1), min_size=1, max_size=4)):
        step = stage.step(i)
        pos = tuple(int(v) for v in np.unravel_index(i, x.shape))
        assert step.position == pos and step.x == x[pos]
        assert step.value == stage.output[pos] and step.derivative == stage.derivative[pos]
        assert stage.step(i - x.size).index == i


# -- errors ------------------------------------------------------------------------------------


def test_unknown_function_lists_valid_names() -> None:
    with pytest.raises(SpecError) as err:
        ActivationStage(np.zeros(3), "relux")
    assert err.value.field == "function"
    assert err.value.message == "unknown activation 'relux'; valid: relu, sigmoid, tanh, leaky_relu"


@pytest.mark.parametrize(
    "slope",
    [-0.01, float("nan"), float("inf"), "0.1", None, True],
    ids=["negative", "nan", "inf", "string", "none", "bool"],
)
def test_bad_negative_slope(slope) -> None:
    with pytest.raises(SpecError, match="finite number ≥ 0") as err:
        ActivationStage(np.zeros(3), "leaky_relu", negative_slope=slope)
    assert err.value.field == "negative_slope"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused(bad: float) -> None:
    x = np.ones((2, 3))
    x[1, 2] = bad
    with pytest.raises(SpecError, match="finite") as err:
        ActivationStage(x, "sigmoid")
    assert err.value.field == "input"


def test_empty_and_overflowing_inputs_are_refused() -> None:
    with pytest.raises(SpecError, match="empty") as err:
        ActivationStage(np.zeros((2, 0)))
    assert err.value.field == "input"
    with np.errstate(all="raise"), pytest.raises(SpecError, match="overflows") as err:
        ActivationStage(np.array([-1e308]), "leaky_relu", negative_slope=10.0)
    assert err.value.field == "negative_slope"  # the slope magnifies; the message gives its range


def test_huge_input_refused_before_computing() -> None:
    x = np.broadcast_to(np.zeros(1), (3, 10_000, 10_000))  # 2.4 GB if materialised
    with pytest.raises(SpecError, match="limit is 1 GiB") as err:
        ActivationStage(x)
    assert err.value.field == "input"


def test_public_api() -> None:
    assert engine.ActivationStage is ActivationStage and engine.ActivationStep is ActivationStep
    assert engine.ACTIVATIONS is ACTIVATIONS
