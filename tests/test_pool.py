"""Pooling against PyTorch: outputs, windows, arg-max cells and ties, sizes, errors, stepping."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine.conv import MAX_BYTES
from engine.core import Simulation
from engine.errors import SpecError
from engine.pool import PoolStage, PoolStep, pool_bytes

ATOL = 1e-12


def torch_pool(
    x: np.ndarray, mode: str, size: int | tuple[int, int], stride: int | tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """PyTorch's float64 pooling of a (C, H, W) input: output and, for max, flat indices."""
    xt = torch.from_numpy(np.array(x, dtype=np.float64))[None]
    if mode == "avg":
        return F.avg_pool2d(xt, size, stride)[0].numpy(), None
    out, indices = F.max_pool2d(xt, size, stride, return_indices=True)
    return out[0].numpy(), indices[0].numpy()


def check_step(stage: PoolStage, i: int, ref: np.ndarray, indices: np.ndarray | None) -> None:
    """Step ``i`` agrees with torch and with the input slice it claims to cover."""
    n_c, oh, ow = ref.shape
    c, r, col = (int(v) for v in np.unravel_index(i, (n_c, oh, ow)))
    step = stage.step(i)
    fh, fw = stage.size
    sh, sw = stage.stride
    top, left = r * sh, col * sw

    assert isinstance(step, PoolStep)
    assert (step.index, step.channel, step.row, step.col) == (i, c, r, col)
    assert (step.top, step.left) == (top, left)
    assert step.mode == stage.mode
    assert step.value == pytest.approx(ref[c, r, col], rel=1e-12, abs=ATOL)
    assert step.window is not None and step.window.shape == (fh, fw)
    np.testing.assert_array_equal(step.window, stage.x[c, top : top + fh, left : left + fw])
    if stage.mode == "avg":
        assert step.argmax is None
        assert step.value == pytest.approx(step.window.mean(), rel=1e-12, abs=ATOL)
        return
    assert indices is not None and step.argmax is not None
    u, v = step.argmax
    assert 0 <= u < fh and 0 <= v < fw
    assert step.window[u, v] == step.window.max() == step.value
    # The first maximal cell in row-major order: none before it reaches the maximum.
    assert not np.any(step.window.reshape(-1)[: u * fw + v] == step.value)
    w = stage.x.shape[2]
    assert stage.argmax_input_index(i) == (top + u) * w + left + v == indices[c, r, col]


# -- fixed cases -------------------------------------------------------------------------------

CLASSIC = np.array([[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]], dtype=float)


def test_classic_4x4_max_pool() -> None:
    stage = PoolStage(CLASSIC, size=2, stride=2)
    np.testing.assert_array_equal(stage.output, [[[9.0, 2.0], [6.0, 3.0]]])
    ref, indices = torch_pool(CLASSIC[None], "max", 2, 2)
    np.testing.assert_array_equal(stage.output, ref)
    assert stage.check_against_torch() == 0.0
    assert len(stage) == 4 and stage.row_steps() == 2
    assert [stage.step(i).argmax for i in range(4)] == [(1, 1), (0, 0), (1, 1), (0, 1)]
    assert [stage.argmax_input_index(i) for i in range(4)] == [5, 2, 13, 11]
    np.testing.assert_array_equal(stage.reference_indices(), indices)
    np.testing.assert_array_equal(stage.reference_indices(), [[[5, 2], [13, 11]]])
    np.testing.assert_array_equal(stage.argmax_input_indices(), indices)
    step = stage.step(2)
    assert (step.channel, step.row, step.col, step.top, step.left) == (0, 1, 0, 2, 0)
    np.testing.assert_array_equal(step.window, [[1.0, 3.0], [5.0, 6.0]])
    assert step.explanation.startswith("out[0,1,0] = max of window = 6")


def test_classic_4x4_avg_pool() -> None:
    stage = PoolStage(CLASSIC, mode="avg", size=2)
    np.testing.assert_array_equal(stage.output, [[[3.75, 1.25], [3.75, 2.0]]])
    np.testing.assert_allclose(stage.output, torch_pool(CLASSIC[None], "avg", 2, 2)[0], atol=ATOL)
    step = stage.step(0)
    assert step.argmax is None and step.mode == "avg"
    assert step.explanation == "out[0,0,0] = mean of 4 values = 3.75"
    with pytest.raises(ValueError, match="only max"):
        stage.argmax_input_index(0)
    with pytest.raises(ValueError, match="only max"):
        stage.reference_indices()
    with pytest.raises(ValueError, match="only max"):
        stage.argmax_input_indices()


def test_each_channel_is_pooled_on_its_own() -> None:
    base = np.arange(36, dtype=float).reshape(6, 6)
    x = np.stack([base, -base, base % 5])  # (3, 6, 6): different winners per channel
    stage = PoolStage(x, size=3, stride=3)
    assert stage.output.shape == (3, 2, 2)
    assert len(stage) == 12 and stage.channels == 3
    for c in range(3):
        np.testing.assert_array_equal(stage.output[c], PoolStage(x[c], size=3).output[0])
    np.testing.assert_array_equal(stage.output[0], [[14.0, 17.0], [32.0, 35.0]])
    np.testing.assert_array_equal(stage.output[1], [[0.0, -3.0], [-18.0, -21.0]])
    ref, indices = torch_pool(x, "max", 3, 3)
    np.testing.assert_array_equal(stage.output, ref)
    for i in range(len(stage)):
        check_step(stage, i, ref, indices)
    # Step order: channel, then row, then column.
    assert [stage.position(i) for i in (0, 3, 4, 11)] == [
        (0, 0, 0),
        (0, 1, 1),
        (1, 0, 0),
        (2, 1, 1),
    ]
    assert stage.step(4).argmax == (0, 0) and stage.step(3).argmax == (2, 2)


def test_size_3_stride_1_overlapping_windows() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 6))
    for mode in ("max", "avg"):
        stage = PoolStage(x, mode=mode, size=3, stride=1)
        ref, indices = torch_pool(x, mode, 3, 1)
        assert stage.output.shape == ref.shape == (2, 3, 4)
        np.testing.assert_allclose(stage.output, ref, atol=ATOL)
        for i in range(len(stage)):
            check_step(stage, i, ref, indices)


def test_stride_defaults_to_size_and_pairs_are_accepted() -> None:
    x = np.random.default_rng(2).standard_normal((1, 7, 9))
    assert PoolStage(x, size=3).stride == (3, 3)
    assert PoolStage(x, size=(2, 3)).stride == (2, 3)
    stage = PoolStage(x, size=[3, 2], stride=(1, 3))
    assert (stage.size, stage.stride, stage.out_hw) == ((3, 2), (1, 3), (5, 3))
    np.testing.assert_array_equal(stage.output, torch_pool(x, "max", (3, 2), (1, 3))[0])


def test_ties_go_to_the_first_cell_in_row_major_order() -> None:
    # All cells equal: torch names each window's top-left cell; so must the stage.
    x = np.full((2, 4, 6), 7.0)
    stage = PoolStage(x, size=(2, 3), stride=(2, 3))
    _, indices = torch_pool(x, "max", (2, 3), (2, 3))
    np.testing.assert_array_equal(indices, [[[0, 3], [12, 15]]] * 2)
    assert all(stage.step(i).argmax == (0, 0) for i in range(len(stage)))
    np.testing.assert_array_equal(stage.reference_indices(), indices)
    # A tie on the second row only: the leftmost of them wins, not the later one.
    y = np.array([[0.0, 1.0, 0.0], [5.0, 2.0, 5.0]])
    tied = PoolStage(y, size=(2, 3))
    assert tied.step(0).argmax == (1, 0)
    assert tied.argmax_input_index(0) == 3 == int(tied.reference_indices()[0, 0, 0])


def test_signed_zero_tie_keeps_torch_value() -> None:
    # -0.0 == 0.0, so the first cell wins and its sign is what torch returns.
    for first in (-0.0, 0.0):
        x = np.array([[first, -first], [-first, first]])
        stage = PoolStage(x, size=2)
        ref, _ = torch_pool(x[None], "max", 2, 2)
        assert np.signbit(stage.output[0, 0, 0]) == np.signbit(ref[0, 0, 0]) == np.signbit(first)
        assert stage.step(0).argmax == (0, 0)


def test_window_as_large_as_input_gives_one_step() -> None:
    x = np.array([[3.0, -1.0, 8.0], [2.0, 8.0, 0.5]])
    stage = PoolStage(x, size=(2, 3))
    assert stage.output.shape == (1, 1, 1) and len(stage) == 1
    step = stage.step(0)
    assert step.value == 8.0 and step.argmax == (0, 2)
    assert stage.step(-1).index == 0
    with pytest.raises(IndexError, match="out of range"):
        stage.step(1)


def test_windows_are_read_only_and_input_is_not_frozen() -> None:
    x = np.arange(16, dtype=float).reshape(1, 4, 4)
    stage = PoolStage(x)
    step = stage.step(0)
    assert step.window is not None
    with pytest.raises(ValueError, match="read-only"):
        step.window[0, 0] = 100.0
    x[0, 0, 0] = -1.0  # the caller's array stays writable
    assert x.flags.writeable


def test_describe_and_parameters() -> None:
    x = np.arange(18, dtype=float).reshape(2, 3, 3)
    stage = PoolStage(x, mode="avg", size=2, stride=1, name="p1")
    d = stage.describe()
    assert d["name"] == "p1" and d["kind"] == "pool" == PoolStage.kind
    assert d["input"] == {"shape": [2, 3, 3], "values": x.tolist()}
    assert d["parameters"] == {}
    assert d["hyperparameters"] == {
        "mode": "avg",
        "kernel_size": [2, 2],
        "stride": [1, 1],
        "padding": [0, 0],
    }
    assert d["output"]["shape"] == [2, 2, 2]
    assert d["output"]["values"] == stage.output.tolist()
    assert d["steps"] == 8 == len(stage)
    assert d["step_order"] == ["channel", "row", "col"]
    assert stage.parameter_count == 0
    assert stage.in_shape == (2, 3, 3)


def test_size_formulas_name_the_numbers() -> None:
    stage = PoolStage(np.zeros((1, 7, 10)), size=(3, 2), stride=(2, 3))
    height, width = stage.size_formulas()
    assert stage.out_hw == (3, 3)
    assert [int(v) for v in re.findall(r"\d+", height)] == [7, 2, 0, 3, 2, 1, 3]
    assert [int(v) for v in re.findall(r"\d+", width)] == [10, 2, 0, 2, 3, 1, 3]


def test_pool_after_conv_in_one_simulation() -> None:
    conv = engine.ConvStage(CLASSIC, np.ones((1, 1, 1, 1)), name="conv")
    pool = PoolStage(conv.output, name="pool")
    sim = Simulation([conv, pool])
    assert len(sim) == 16 + 4
    assert sim.step(16).stage == "pool" and sim.step(16).value == 9.0


# -- property tests against torch ----------------------------------------------------------------

real_values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
small_ints = st.integers(-2, 2).map(float)  # ties in most windows


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[np.ndarray, str, object, object]:
    """A legal pooling: input, mode, size spec and stride spec (None for the default)."""
    c = draw(st.integers(1, 3))
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    fh = draw(st.integers(1, min(h, 4)))
    fw = draw(st.integers(1, min(w, 4)))
    size: object = draw(st.sampled_from([(fh, fw), [fh, fw]])) if fh != fw else fh
    stride: object = draw(
        st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
    )
    elements = draw(st.sampled_from([real_values, small_ints]))
    x = draw(hnp.arrays(np.float64, (c, h, w), elements=elements))
    mode = draw(st.sampled_from(["max", "avg"]))
    return x, mode, size, stride


@settings(max_examples=150, deadline=None)
@given(case=pool_cases(), data=st.data())
def test_pool_matches_torch_everywhere(case, data: st.DataObject) -> None:
    x, mode, size, stride = case
    stage = PoolStage(x, mode=mode, size=size, stride=stride)
    torch_size = tuple(size) if isinstance(size, list) else size
    ref, indices = torch_pool(x, mode, torch_size, stride)
    assert stage.output.shape == ref.shape
    if mode == "max":
        np.testing.assert_array_equal(stage.output, ref)  # selection is exact
        np.testing.assert_array_equal(stage.reference_indices(), indices)
    else:
        np.testing.assert_allclose(stage.output, ref, rtol=1e-12, atol=ATOL)
    assert len(stage) == ref.size and stage.row_steps() == ref.shape[2]
    for i in data.draw(st.lists(st.integers(0, ref.size - 1), min_size=1, max_size=5)):
        check_step(stage, i, ref, indices)
        assert stage.index_of(*stage.position(i)) == i
        negative = stage.step(i - ref.size)
        assert (negative.index, negative.value) == (i, stage.step(i).value)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=3, max_dims=3, max_side=8), elements=small_ints
    ),
    data=st.data(),
)
def test_every_argmax_agrees_with_torch_under_ties(x: np.ndarray, data: st.DataObject) -> None:
    h, w = x.shape[1:]
    size = (data.draw(st.integers(1, h)), data.draw(st.integers(1, w)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    stage = PoolStage(x, size=size, stride=stride)
    _, indices = torch_pool(x, "max", size, stride)
    assert indices is not None
    mine = [stage.argmax_input_index(i) for i in range(len(stage))]
    np.testing.assert_array_equal(np.reshape(mine, indices.shape), indices)
    np.testing.assert_array_equal(stage.argmax_input_indices(), indices)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        pytest.param({"mode": "min"}, "mode", "valid: max, avg", id="mode-unknown"),
        pytest.param({"mode": "MAX"}, "mode", "valid: max, avg", id="mode-uppercase"),
        pytest.param({"mode": None}, "mode", "valid: max, avg", id="mode-none"),
        pytest.param({"size": 0}, "size", "≥ 1", id="size-0"),
        pytest.param({"size": (2, -1)}, "size", "≥ 1", id="size-pair-negative"),
        pytest.param({"size": 1.5}, "size", "integer", id="size-float"),
        pytest.param({"size": True}, "size", "integer", id="size-bool"),
        pytest.param({"size": (1, 2, 3)}, "size", "pair", id="size-triple"),
        pytest.param({"stride": 0}, "stride", "≥ 1", id="stride-0"),
        pytest.param({"stride": (1, -2)}, "stride", "≥ 1", id="stride-pair-negative"),
        pytest.param({"stride": "2"}, "stride", "integer", id="stride-string"),
        pytest.param({"size": 7}, "size", "larger than the input", id="size-too-large"),
        pytest.param({"size": (2, 7)}, "size", "larger than the input", id="width-too-large"),
    ],
)
def test_bad_hyperparameters_name_their_field(kwargs: dict, field: str, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        PoolStage(np.zeros((1, 6, 6)), **kwargs)
    assert err.value.field == field


def test_window_larger_than_input_message() -> None:
    with pytest.raises(SpecError) as err:
        PoolStage(np.zeros((2, 2)), size=3)
    assert err.value.field == "size"
    assert err.value.message == "pool window 3×3 is larger than the input 2×2"


@pytest.mark.parametrize(
    "x",
    [
        pytest.param(np.zeros((1, 1, 4, 4)), id="4d"),
        pytest.param(np.zeros(4), id="1d"),
        pytest.param(np.zeros((0, 4, 4)), id="no-channels"),
        pytest.param(np.zeros((1, 0, 4)), id="no-rows"),
    ],
)
def test_bad_shapes(x: np.ndarray) -> None:
    with pytest.raises(SpecError) as err:
        PoolStage(x, size=1)
    assert err.value.field == "input"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(bad: float) -> None:
    x = np.ones((2, 4, 4))
    x[1, 3, 3] = bad
    with pytest.raises(SpecError, match="finite") as err:
        PoolStage(x)
    assert err.value.field == "input"


def test_memory_estimate_counts_input_output_and_indices() -> None:
    assert pool_bytes((3, 6, 6), (2, 2), (2, 2)) == 8 * 108 + 17 * 27
    assert pool_bytes((3, 6, 6), (3, 3), (1, 1)) == 8 * 108 + 17 * 48
    assert pool_bytes((1, 64, 64), (2, 2), (2, 2)) < MAX_BYTES


def test_huge_input_refused_before_allocating() -> None:
    # A read-only view of one float: 3×20000×20000 float64 would be 9.6 GB if materialised.
    x = np.broadcast_to(np.zeros(1), (3, 20_000, 20_000))
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="limit is 1 GiB") as err:
            PoolStage(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.field == "input"
    assert peak < 1 << 20


def test_public_api() -> None:
    assert engine.PoolStage is PoolStage and engine.PoolStep is PoolStep
    assert {"PoolStage", "PoolStep"} <= set(engine.__all__)
