"""The layer stages of a whole network against PyTorch, their steps against hand computation,
their errors, limits and capabilities."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import Refeedable, SpatialMap
from engine.errors import SpecError
from engine.layers import (
    AdaptiveAvgPoolStage,
    AdaptivePoolStep,
    AddStage,
    BatchNormStage,
    DropoutStage,
    FlattenStage,
    LinearStage,
    LinearStep,
    SoftmaxStage,
    adaptive_pool_peak_bytes,
    adaptive_windows,
    add_peak_bytes,
    batchnorm_peak_bytes,
    dropout_peak_bytes,
    flatten_peak_bytes,
    linear_peak_bytes,
    softmax_peak_bytes,
)
from engine.limits import MAX_BYTES

TOL = 1e-12


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def assert_torch(stage, expected: torch.Tensor) -> None:
    """The stage's output, and its own reference(), both equal torch's op to TOL."""
    ref = expected.detach().numpy()
    assert stage.output.shape == ref.shape
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(stage.reference(), ref, rtol=0, atol=TOL)
    assert stage.check_against_torch() <= TOL


# -- linear ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias: bool) -> None:
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=50), rng.normal(size=(13, 50))
    b = rng.normal(size=13) if bias else None
    stage = LinearStage(x, w, b, name="fc1")
    assert_torch(stage, F.linear(t(x), t(w), None if b is None else t(b)))
    assert len(stage) == 13 and stage.kind == "linear"
    assert stage.parameter_count == 13 * 50 + (13 if bias else 0)


def test_linear_step_is_the_dot_product_written_out() -> None:
    x = np.array([1.0, 2.0, -1.0])
    w = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]])
    stage = LinearStage(x, w, np.array([0.25, -4.0]))
    step = stage.step(0)
    assert isinstance(step, LinearStep) and step.neuron == 0
    np.testing.assert_array_equal(step.x, x)
    np.testing.assert_array_equal(step.weight_row, [0.5, -1.0, 2.0])
    np.testing.assert_array_equal(step.products, [0.5, -2.0, -2.0])
    assert step.total == 0.5 - 2.0 - 2.0 == -3.5
    assert step.bias == 0.25 and step.has_bias
    assert step.value == -3.25
    assert "+ b[0] = -3.5 + 0.25 = -3.25" in step.explanation
    last = stage.step(-1)
    assert last.index == 1 and last.total == 2.0 and last.value == -2.0
    no_bias = LinearStage(x, w).step(1)
    assert not no_bias.has_bias and no_bias.bias == 0.0 and no_bias.value == 2.0
    with pytest.raises(IndexError):
        stage.step(2)


def test_linear_step_slices_one_row_and_copies_nothing_else() -> None:
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=4096), rng.normal(size=(64, 4096))
    stage = LinearStage(x, w, rng.normal(size=64))
    step = stage.step(17)
    assert np.shares_memory(step.weight_row, stage.weight)  # a view of W, not a copy
    assert step.x is stage.x
    np.testing.assert_array_equal(step.products, w[17] * x)
    assert step.products.shape == (4096,)
    assert math.isclose(float(step.products.sum()), step.total, rel_tol=1e-12, abs_tol=1e-12)
    for arr in (step.x, step.weight_row, step.products):
        assert not arr.flags.writeable


def test_linear_keeps_float32_weights_and_computes_in_float64() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    w32 = rng.normal(size=(40, 300)).astype(np.float32)
    stage = LinearStage(x, w32, None)
    assert stage.weight.dtype == np.float32
    assert np.shares_memory(stage.weight, w32)  # not widened as a whole
    w64 = w32.astype(np.float64)  # exact
    assert_torch(stage, F.linear(t(x), t(w64)))
    step = stage.step(5)
    assert step.weight_row.dtype == np.float64
    np.testing.assert_array_equal(step.weight_row, w64[5])
    np.testing.assert_array_equal(step.products, w64[5] * x)


def test_linear_in_many_row_blocks_matches_torch() -> None:
    # Rows are computed (and checked by torch) a block at a time: 4 MiB of float64 each.
    rng = np.random.default_rng(4)
    n = 25088
    x = np.maximum(rng.normal(size=n), 0)
    w = rng.normal(size=(50, n)) * 0.01
    stage = LinearStage(x, w, rng.normal(size=50))
    assert stage.bias is not None
    assert_torch(stage, F.linear(t(x), t(w), t(stage.bias)))


@pytest.mark.parametrize(
    ("x", "w", "b", "field", "match"),
    [
        (np.ones((2, 3)), np.ones((4, 6)), None, "input", r"vector \(N,\), got shape \(2, 3\)"),
        (np.ones(3), np.ones((4, 5)), None, "weight", r"\(out_features, 3\).*got \(4, 5\)"),
        (np.ones(3), np.ones(3), None, "weight", r"got \(3,\)"),
        (np.ones(3), np.ones((2, 3)), np.ones(3), "bias", r"shape \(2,\), got \(3,\)"),
        (np.array([1.0, np.nan]), np.ones((2, 2)), None, "input", "finite"),
        (np.ones(2), np.array([[1.0, np.inf]]), None, "weight", "finite"),
        (np.ones(0), np.ones((2, 0)), None, "input", "empty"),
        (np.ones(2), np.array([[1e308, 1e308]]), None, "weight", "overflows float64 at output"),
        (np.ones(1), np.array([[1e308]]), np.array([1e308]), "bias", "overflows"),
        (np.array(["a", "b"]), np.ones((1, 2)), None, "input", "numbers"),
    ],
)
def test_linear_errors_name_the_field(x, w, b, field: str, match: str) -> None:
    with np.errstate(all="raise"), pytest.raises(SpecError, match=match) as err:
        LinearStage(x, w, b)
    assert err.value.field == field


def test_linear_too_large_is_refused_before_anything_is_allocated() -> None:
    x = np.zeros(100_000)
    w = np.broadcast_to(np.zeros(1, dtype=np.float32), (20_000, 100_000))  # 8 GB as float32
    with pytest.raises(SpecError, match="limit is 1 GiB") as err:
        LinearStage(x, w)
    assert err.value.field == "weight"
    assert linear_peak_bytes(100_000, 20_000, 4) > MAX_BYTES


def test_linear_peak_estimate_bounds_its_numpy_peak() -> None:
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=3000), rng.normal(size=(700, 3000)), rng.normal(size=700)
    tracemalloc.start()
    stage = LinearStage(x, w, b)
    for i in range(0, 700, 97):
        stage.step(i)
    stage.check_against_torch()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= linear_peak_bytes(3000, 700)


# -- flatten -----------------------------------------------------------------------------------


def test_flatten_is_row_major_as_torch() -> None:
    x = np.random.default_rng(6).normal(size=(4, 3, 5))
    stage = FlattenStage(x, name="flatten")
    assert_torch(stage, torch.flatten(t(x)[None], 1)[0])
    assert_torch(stage, torch.nn.Flatten()(t(x)[None])[0])
    assert len(stage) == 60 and stage.row_steps() == 5


def test_flatten_step_names_its_source() -> None:
    x = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) * 0.5
    stage = FlattenStage(x)
    # out[(c·H + h)·W + w] = x[c, h, w]: (1·3 + 2)·4 + 1 = 21
    step = stage.step(21)
    assert step.source == (1, 2, 1) and step.in_shape == (2, 3, 4)
    assert step.value == x[1, 2, 1] == 10.5
    assert step.explanation == "out[21] = x[1,2,1] = 10.5"
    assert stage.index_of(1, 2, 1) == 21 and stage.source(21) == (1, 2, 1)
    assert FlattenStage(np.ones(3)).step(2).source == (2,)


# -- dropout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_dropout_at_inference_is_the_identity(p: float) -> None:
    x = np.random.default_rng(7).normal(size=(3, 4, 4))
    stage = DropoutStage(x, p, name="drop")
    assert_torch(stage, F.dropout(t(x), p, training=False))
    np.testing.assert_array_equal(stage.output, x)
    step = stage.step(5)
    assert step.position == (0, 1, 1) and step.x == step.value == x[0, 1, 1] and step.p == p
    assert "identity at inference" in step.explanation
    assert stage.describe()["hyperparameters"] == {"p": p, "training": False}


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_dropout_probability_must_be_from_0_to_1(p) -> None:
    with pytest.raises(SpecError, match="from 0 to 1") as err:
        DropoutStage(np.ones(3), p)
    assert err.value.field == "p"


# -- add ---------------------------------------------------------------------------------------


def test_add_matches_torch_and_steps_by_element() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3, 3))
    stage = AddStage(a, b, name="layer1.0.add")
    assert_torch(stage, torch.add(t(a), t(b)))
    step = stage.step(13)  # (1, 1, 1)
    assert step.position == (1, 1, 1)
    assert (step.a, step.b) == (a[1, 1, 1], b[1, 1, 1])
    assert step.value == a[1, 1, 1] + b[1, 1, 1]
    d = stage.describe()
    assert d["input"]["a"] == a.tolist() and d["input"]["b"] == b.tolist()


def test_add_of_different_shapes_names_both() -> None:
    with pytest.raises(SpecError) as err:
        AddStage(np.zeros((64, 56, 56)), np.zeros((128, 28, 28)))
    assert err.value.field == "inputs"
    assert "a (64, 56, 56) and b (128, 28, 28)" in err.value.message
    assert "projection" in err.value.message


def test_add_overflow_is_refused_without_warnings() -> None:
    with np.errstate(all="raise"), pytest.raises(SpecError, match=r"overflows.*\[1\]") as err:
        AddStage(np.array([1.0, 1e308]), np.array([2.0, 1e308]))
    assert err.value.field == "inputs"


# -- softmax -----------------------------------------------------------------------------------


def test_softmax_step_by_hand() -> None:
    stage = SoftmaxStage(np.array([1.0, 3.0, 2.0]))
    step = stage.step(0)
    total = math.exp(-2) + 1 + math.exp(-1)
    assert (step.z, step.z_max, step.shifted, step.argmax) == (1.0, 3.0, -2.0, 1)
    assert step.exp == math.exp(-2.0)
    assert step.total == pytest.approx(total, rel=1e-15)
    assert step.value == pytest.approx(math.exp(-2) / total, rel=1e-15)
    assert stage.step(1).exp == 1.0
    assert float(stage.output.sum()) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    "z",
    [
        np.random.default_rng(9).normal(size=10),
        np.array([1000.0, 999.0, -1000.0, 1000.0]),  # e^1000 overflows without the shift
        np.array([-1e4, -1e4 + 1, -1e4 - 3]),
        np.array([1e308, -1e308, 0.0]),  # z − max overflows: probability 0
        np.array([5.0]),
    ],
    ids=["normal", "large", "very-negative", "float-edge", "one-class"],
)
def test_softmax_matches_torch(z: np.ndarray) -> None:
    with np.errstate(all="raise"):
        stage = SoftmaxStage(z)
        steps = [stage.step(i) for i in range(len(stage))]
    assert_torch(stage, F.softmax(t(z), dim=0))
    assert all(0 <= s.value <= 1 and s.exp <= 1 and s.total >= 1 for s in steps)
    assert steps[int(np.argmax(z))].shifted == 0


def test_softmax_reads_a_vector() -> None:
    with pytest.raises(SpecError, match=r"vector of class scores.*\(2, 3\)") as err:
        SoftmaxStage(np.zeros((2, 3)))
    assert err.value.field == "input"


# -- batch normalisation -------------------------------------------------------------------------


def bn_args(rng: np.random.Generator, c: int, var_scale: float = 1.0):
    return (
        rng.normal(size=c),  # γ
        rng.normal(size=c),  # β
        rng.normal(size=c),  # μ
        rng.random(c) * var_scale,  # σ²
    )


@pytest.mark.parametrize(("var_scale", "eps"), [(1.0, 1e-5), (1e-12, 1e-5), (0.0, 1e-3), (5, 0)])
def test_batchnorm_matches_torch(var_scale: float, eps: float) -> None:
    rng = np.random.default_rng(10)
    x = rng.normal(size=(4, 5, 6))
    gamma, beta, mean, var = bn_args(rng, 4, var_scale)
    if eps == 0:
        var += 0.1
    stage = BatchNormStage(x, gamma, beta, mean, var, eps, name="bn1")
    expected = F.batch_norm(t(x)[None], t(mean), t(var), t(gamma), t(beta), False, 0.1, eps)[0]
    assert_torch(stage, expected)
    assert stage.parameter_count == 8


def test_batchnorm_step_by_hand() -> None:
    x = np.array([[[2.0, 4.0]], [[1.0, -1.0]]])  # (2, 1, 2)
    stage = BatchNormStage(
        x,
        weight=np.array([3.0, 0.5]),
        bias=np.array([1.0, -1.0]),
        running_mean=np.array([1.0, 0.0]),
        running_var=np.array([4.0, 0.25]),
        eps=0.0,
    )
    step = stage.step(1)  # channel 0, col 1: (4 − 1)/√4·3 + 1 = 5.5
    assert (step.channel, step.row, step.col) == (0, 0, 1)
    assert (step.x, step.mean, step.var, step.eps, step.std) == (4.0, 1.0, 4.0, 0.0, 2.0)
    assert (step.x_hat, step.gamma, step.beta, step.value) == (1.5, 3.0, 1.0, 5.5)
    last = stage.step(3)  # channel 1: (−1 − 0)/0.5·0.5 − 1 = −2
    assert (last.x_hat, last.value) == (-2.0, -2.0)
    assert stage.index_of(1, 0, 1) == 3 and stage.position(3) == (1, 0, 1)


@pytest.mark.parametrize(
    ("kw", "field", "match"),
    [
        ({"weight": np.ones(3)}, "weight", r"shape \(2,\), got \(3,\)"),
        ({"running_var": np.array([1.0, -0.5])}, "running_var", "≥ 0, got -0.5 in channel 1"),
        ({"running_var": np.array([1.0, 0.0]), "eps": 0.0}, "eps", "channel 1 has variance 0"),
        ({"eps": -1e-5}, "eps", "finite number ≥ 0"),
        ({"eps": float("nan")}, "eps", "finite number ≥ 0"),
        ({"running_mean": np.array([np.nan, 0.0])}, "running_mean", "finite"),
        ({"x": np.ones((2, 3))}, "input", r"image \(C, H, W\), got shape \(2, 3\)"),
        (
            {"x": np.full((2, 1, 1), 1e308), "running_mean": np.array([-1e308, 0.0])},
            "input",
            "overflows",
        ),
    ],
)
def test_batchnorm_errors_name_the_field(kw: dict, field: str, match: str) -> None:
    args: dict[str, Any] = {
        "x": np.ones((2, 2, 2)),
        "weight": np.ones(2),
        "bias": np.zeros(2),
        "running_mean": np.zeros(2),
        "running_var": np.ones(2),
        "eps": 1e-5,
    }
    args.update(kw)
    with np.errstate(all="raise"), pytest.raises(SpecError, match=match) as err:
        BatchNormStage(**args)
    assert err.value.field == field


def test_batchnorm_is_an_image_map_that_can_be_refed() -> None:
    rng = np.random.default_rng(11)
    stage = BatchNormStage(rng.normal(size=(3, 4, 5)), *bn_args(rng, 3))
    assert isinstance(stage, Refeedable) and isinstance(stage, SpatialMap)
    assert stage.input_hw() == (4, 5)
    assert stage.window_geometry() is None  # type: ignore[func-returns-value]
    other = rng.normal(size=(3, 4, 5))
    again = stage.with_input(other)
    assert isinstance(again, BatchNormStage) and again.eps == stage.eps
    np.testing.assert_allclose(
        again.output,
        (other - stage.running_mean[:, None, None])
        / stage.std[:, None, None]
        * stage.weight[:, None, None]
        + stage.bias[:, None, None],
        rtol=1e-15,
    )


def test_only_batchnorm_declares_view_capabilities() -> None:
    # The shifted-input and receptive-field views read one image; these stages read vectors,
    # two inputs, or windows of changing size.
    stages = [
        LinearStage(np.ones(2), np.ones((1, 2))),
        FlattenStage(np.ones((1, 2, 2))),
        DropoutStage(np.ones(4)),
        AddStage(np.ones(2), np.ones(2)),
        SoftmaxStage(np.ones(3)),
        AdaptiveAvgPoolStage(np.ones((1, 4, 4)), 2),
    ]
    for stage in stages:
        assert not isinstance(stage, Refeedable) and not isinstance(stage, SpatialMap)


# -- adaptive average pooling ----------------------------------------------------------------------


def test_adaptive_windows_follow_pytorch_rule() -> None:
    starts, ends = adaptive_windows(7, 3)  # ⌊i·7/3⌋, ⌈(i+1)·7/3⌉
    assert starts.tolist() == [0, 2, 4] and ends.tolist() == [3, 5, 7]
    starts, ends = adaptive_windows(5, 7)
    assert starts.tolist() == [0, 0, 1, 2, 2, 3, 4] and ends.tolist() == [1, 2, 3, 3, 4, 5, 5]
    starts, ends = adaptive_windows(7, 1)
    assert starts.tolist() == [0] and ends.tolist() == [7]


@pytest.mark.parametrize(
    ("shape", "out"),
    [
        ((3, 7, 7), (3, 3)),
        ((2, 5, 5), (7, 7)),
        ((4, 7, 7), (1, 1)),
        ((2, 6, 6), (6, 6)),
        ((2, 13, 9), (4, 5)),
        ((1, 1, 1), (3, 2)),
    ],
)
def test_adaptive_pool_matches_torch(shape: tuple[int, int, int], out: tuple[int, int]) -> None:
    x = np.random.default_rng(12).normal(size=shape)
    stage = AdaptiveAvgPoolStage(x, out, name="avgpool")
    assert_torch(stage, F.adaptive_avg_pool2d(t(x)[None], out)[0])
    assert len(stage) == shape[0] * out[0] * out[1] and stage.row_steps() == out[1]


def test_adaptive_pool_step_by_hand() -> None:
    x = np.arange(49, dtype=float).reshape(1, 7, 7)
    stage = AdaptiveAvgPoolStage(x, 3)
    step = stage.step(4)  # (0, 1, 1): rows 2…4, cols 2…4
    assert isinstance(step, AdaptivePoolStep)
    assert (step.row, step.col, step.top, step.bottom, step.left, step.right) == (1, 1, 2, 5, 2, 5)
    np.testing.assert_array_equal(step.window, x[0, 2:5, 2:5])
    assert step.value == x[0, 2:5, 2:5].mean() == 24.0
    assert "rows 2…4, cols 2…4 (9 values)" in step.explanation


def test_adaptive_pool_mean_of_huge_values_is_finite() -> None:
    x = np.full((1, 7, 7), 1e308)
    x[0, 0, 0] = -1e308
    with np.errstate(all="raise"):
        stage = AdaptiveAvgPoolStage(x, 3)
    assert np.all(np.isfinite(stage.output)) and stage.output[0, 2, 2] == 1e308
    assert stage.check_against_torch() <= 1e308 * 1e-15


@pytest.mark.parametrize(
    ("size", "match"),
    [(0, "from 1 to"), ((2, 0), "from 1 to"), ("2", "whole number"), ((2, 2.5), "whole")],
)
def test_adaptive_pool_bad_output_size(size, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        AdaptiveAvgPoolStage(np.ones((1, 4, 4)), size)
    assert err.value.field == "output_size"


@settings(max_examples=60, deadline=None)
@given(
    c=st.integers(1, 3),
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    oh=st.integers(1, 9),
    ow=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_adaptive_pool_property(c: int, h: int, w: int, oh: int, ow: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(c, h, w)) * 10
    stage = AdaptiveAvgPoolStage(x, (oh, ow))
    ref = F.adaptive_avg_pool2d(t(x)[None], (oh, ow))[0].numpy()
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=TOL)
    i = seed % len(stage)
    step = stage.step(i)
    assert step.value == pytest.approx(float(step.window.mean()), rel=1e-14, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_linear_property(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=n) * 5, rng.normal(size=(m, n)), rng.normal(size=m)
    stage = LinearStage(x, w, b)
    np.testing.assert_allclose(stage.output, F.linear(t(x), t(w), t(b)).numpy(), atol=TOL)
    step = stage.step(seed % m)
    assert step.value == pytest.approx(float(step.products.sum()) + step.bias, abs=1e-12)


# -- what every stage shares ---------------------------------------------------------------------


def all_stages():
    rng = np.random.default_rng(13)
    img = rng.normal(size=(2, 3, 4))
    return [
        LinearStage(rng.normal(size=5), rng.normal(size=(3, 5)), rng.normal(size=3)),
        FlattenStage(img),
        DropoutStage(img, 0.25),
        AddStage(img, img * 2),
        SoftmaxStage(rng.normal(size=4)),
        BatchNormStage(img, *bn_args(rng, 2)),
        AdaptiveAvgPoolStage(img, (2, 3)),
    ]


@pytest.mark.parametrize("stage", all_stages(), ids=lambda s: s.kind)
def test_describe_is_plain_data_and_steps_are_consistent(stage) -> None:
    d = stage.describe()
    json.dumps(d)  # plain data only
    assert d["kind"] == stage.kind and d["steps"] == len(stage)
    assert d["output"]["values"] == stage.output.tolist()
    for i in (0, len(stage) // 2, len(stage) - 1):
        step = stage.step(i)
        assert step.index == i and step.stage == stage.name
        assert step.value == float(stage.output.reshape(-1)[i])
        assert step.explanation
        assert stage.step(i - len(stage)).index == i
    with pytest.raises(ValueError, match="read-only"):
        stage.output.reshape(-1)[0] = 1.0


@pytest.mark.parametrize(
    ("make", "estimate"),
    [
        (lambda x: FlattenStage(x), lambda x: flatten_peak_bytes(x.shape)),
        (lambda x: DropoutStage(x, 0.5), lambda x: dropout_peak_bytes(x.shape)),
        (lambda x: AddStage(x, x), lambda x: add_peak_bytes(x.shape)),
        (lambda x: SoftmaxStage(x.reshape(-1)), lambda x: softmax_peak_bytes(x.size)),
        (
            lambda x: BatchNormStage(x, np.ones(8), np.zeros(8), np.zeros(8), np.ones(8)),
            lambda x: batchnorm_peak_bytes(x.shape),
        ),
        (
            lambda x: AdaptiveAvgPoolStage(x[:, :5, :5], (90, 90)),
            lambda x: adaptive_pool_peak_bytes((8, 5, 5), (90, 90)),
        ),
    ],
    ids=["flatten", "dropout", "add", "softmax", "batchnorm2d", "adaptive_avgpool2d"],
)
def test_peak_estimates_bound_the_numpy_peak(make, estimate) -> None:
    x = np.random.default_rng(14).normal(size=(8, 120, 120))
    tracemalloc.start()
    stage = make(x)
    stage.step(len(stage) - 1)
    stage.check_against_torch()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= estimate(x)


def test_a_classifier_head_chained_stage_by_stage_equals_torch() -> None:
    # LeNet-5's tail: flatten → fc1 → relu → dropout → fc2 → softmax, each stage fed the
    # previous one's output, against torch.nn.Sequential in eval mode.
    from engine.activation import ActivationStage

    torch.manual_seed(0)
    head = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 5 * 5, 120),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(120, 10),
        torch.nn.Softmax(dim=1),
    ).double()
    head.eval()
    x = np.random.default_rng(15).normal(size=(16, 5, 5))
    sd = {k: v.numpy() for k, v in head.state_dict().items()}
    flat = FlattenStage(x)
    fc1 = LinearStage(flat.output, sd["1.weight"], sd["1.bias"])
    relu = ActivationStage(fc1.output, "relu")
    drop = DropoutStage(relu.output, 0.5)
    fc2 = LinearStage(drop.output, sd["4.weight"], sd["4.bias"])
    probs = SoftmaxStage(fc2.output)
    with torch.no_grad():
        expected = head(t(x)[None])[0].numpy()
    np.testing.assert_allclose(probs.output, expected, rtol=0, atol=TOL)


def test_adaptive_pool_output_size_forms() -> None:
    x = np.random.default_rng(16).normal(size=(2, 6, 9))
    assert AdaptiveAvgPoolStage(x, np.array([2, 3])).out_hw == (2, 3)
    keep = AdaptiveAvgPoolStage(x, (None, 4))
    assert keep.out_hw == (6, 4)
    assert_torch(keep, F.adaptive_avg_pool2d(t(x)[None], (None, 4))[0])


def test_row_steps_move_by_an_image_row_and_one_element_in_a_vector() -> None:
    assert DropoutStage(np.ones((2, 3, 5))).row_steps() == 5
    assert DropoutStage(np.ones(4096)).row_steps() == 1
    assert AddStage(np.ones((3, 7)), np.ones((3, 7))).row_steps() == 7
    assert AddStage(np.ones(9), np.ones(9)).row_steps() == 1
    assert LinearStage(np.ones(3), np.ones((4, 3))).row_steps() == 1
    assert SoftmaxStage(np.ones(10)).row_steps() == 1


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 4),
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    log_var=st.floats(-12, 3),
    eps=st.sampled_from([1e-5, 1e-3, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_batchnorm_property(c: int, h: int, w: int, log_var: float, eps: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(c, h, w)) * 3
    gamma, beta, mean = rng.normal(size=c), rng.normal(size=c), rng.normal(size=c)
    var = rng.random(c) * 10.0**log_var
    stage = BatchNormStage(x, gamma, beta, mean, var, eps)
    ref = F.batch_norm(t(x)[None], t(mean), t(var), t(gamma), t(beta), False, 0.1, eps)[0]
    np.testing.assert_allclose(stage.output, ref.numpy(), rtol=1e-13, atol=TOL)
    step = stage.step(seed % len(stage))
    assert step.value == pytest.approx(step.x_hat * step.gamma + step.beta, rel=1e-15, abs=1e-15)
    assert step.std == pytest.approx(math.sqrt(step.var + step.eps), rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    z=st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=1, max_size=30),
    seed=st.integers(0, 2**16),
)
def test_softmax_property(z: list[float], seed: int) -> None:
    stage = SoftmaxStage(np.array(z))
    ref = F.softmax(t(np.array(z)), dim=0).numpy()
    np.testing.assert_allclose(stage.output, ref, rtol=1e-13, atol=TOL)
    step = stage.step(seed % len(z))
    assert step.value == pytest.approx(step.exp / step.total, rel=1e-15)
    assert step.shifted <= 0 and step.total >= 1
