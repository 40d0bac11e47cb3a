"""The engine against PyTorch: convolution outputs, step operands, sizes, errors, stepping."""

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
from engine.conv import MAX_BYTES, ConvStage, conv_bytes, output_size, size_formula
from engine.core import Simulation, Stage, Step
from engine.errors import SpecError
from engine.kernels import KERNELS, kernel

ATOL = 1e-9


def torch_conv(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
) -> np.ndarray:
    """PyTorch's float64 conv2d on a (C, H, W) input, returned as (F, H_out, W_out)."""
    out = F.conv2d(
        torch.from_numpy(np.asarray(x, dtype=np.float64))[None],
        torch.from_numpy(np.asarray(weight, dtype=np.float64)),
        None if bias is None else torch.from_numpy(np.asarray(bias, dtype=np.float64)),
        stride=stride,
        padding=padding,
    )
    return out[0].numpy()


def pad_pair(padding: int | tuple[int, int] | str, kernel_hw: tuple[int, int]) -> tuple[int, int]:
    """Explicit (p_h, p_w) for a padding spec, worked out independently of the engine."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return (kernel_hw[0] - 1) // 2, (kernel_hw[1] - 1) // 2
    if isinstance(padding, int):
        return padding, padding
    assert isinstance(padding, tuple)
    return padding


def check_step(stage: ConvStage, i: int, ref: np.ndarray, x: np.ndarray, weight: np.ndarray):
    """Every operand of step ``i`` agrees with torch's output and the zero-padded input."""
    n_f, oh, ow = ref.shape
    f, r, c = (int(v) for v in np.unravel_index(i, (n_f, oh, ow)))
    step = stage.step(i)
    _, fh, fw = weight.shape[1:]
    ph, pw = stage.padding
    sh, sw = stage.stride
    h, w = x.shape[1:]

    assert (step.index, step.filter, step.row, step.col) == (i, f, r, c)
    assert step.value == pytest.approx(ref[f, r, c], abs=ATOL)
    assert step.partial_sums is not None and step.partial_sums.shape == (x.shape[0],)
    assert step.partial_sums.sum() + step.bias == pytest.approx(step.value, abs=ATOL)
    assert step.bias == stage.bias[f]

    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    top, left = r * sh, c * sw  # in padded coordinates
    assert (step.top, step.left) == (top - ph, left - pw)
    assert step.window is not None and step.kernel is not None and step.products is not None
    np.testing.assert_array_equal(step.window, padded[:, top : top + fh, left : left + fw])
    np.testing.assert_array_equal(step.kernel, weight[f])
    np.testing.assert_array_equal(step.products, step.window * step.kernel)

    rows = np.arange(fh)[:, None] + top - ph  # input row of each window cell
    cols = np.arange(fw)[None, :] + left - pw
    expected_mask = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    assert step.padding_mask is not None
    np.testing.assert_array_equal(step.padding_mask, expected_mask)
    assert np.all(step.window[:, step.padding_mask] == 0)


# -- fixed cases -------------------------------------------------------------------------------


def test_vertical_edge_example() -> None:
    x = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float)
    stage = ConvStage(x, kernel("vertical_edge"))
    out = stage.output
    assert out.shape == (1, 4, 4)
    expected = np.tile([0.0, 30.0, 30.0, 0.0], (4, 1))
    np.testing.assert_array_equal(out[0], expected)
    np.testing.assert_allclose(out, torch_conv(x[None], kernel("vertical_edge")[None, None]))
    assert len(stage) == 16
    step = stage.step(1)
    assert (step.row, step.col, step.value) == (0, 1, 30.0)
    np.testing.assert_array_equal(step.partial_sums, [30.0])


def test_same_padding_keeps_size_and_matches_torch() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 7))
    w = rng.standard_normal((3, 2, 3, 5))
    b = rng.standard_normal(3)
    stage = ConvStage(x, w, b, padding="same")
    assert stage.padding == (1, 2)
    assert stage.output.shape == (3, 5, 7)
    np.testing.assert_allclose(stage.output, torch_conv(x, w, b, padding="same"), atol=ATOL)
    corner = stage.step(0)
    assert corner.padding_mask is not None
    assert corner.padding_mask[0].all() and corner.padding_mask[:, :2].all()
    assert not corner.padding_mask[1:, 2:].any()


def test_stride_2_on_7x7() -> None:
    x = np.arange(49, dtype=float).reshape(7, 7)
    w = np.ones((1, 1, 3, 3))
    stage = ConvStage(x, w, stride=2)
    assert stage.output.shape == (1, 3, 3)
    np.testing.assert_allclose(stage.output, torch_conv(x[None], w, stride=2))
    last = stage.step(-1)
    assert (last.top, last.left) == (4, 4)
    assert last.value == x[4:7, 4:7].sum()


def test_rgb_volume_two_filters() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 10, (3, 6, 6)).astype(float)
    w = rng.integers(-2, 3, (2, 3, 3, 3)).astype(float)
    b = np.array([1.0, -2.0])
    stage = ConvStage(x, w, b)
    assert stage.output.shape == (2, 4, 4)
    assert len(stage) == 32
    assert stage.parameter_count == 2 * (27 + 1)
    ref = torch_conv(x, w, b)
    np.testing.assert_array_equal(stage.output, ref)  # small integers: exact in float64
    for i in (0, 15, 16, 31):
        check_step(stage, i, ref, x, w)


@pytest.mark.parametrize(
    ("in_shape", "w_shape", "stride", "padding"),
    [
        pytest.param((1, 9, 8), (2, 1, 3, 3), (2, 1), 0, id="stride-pair-2-1"),
        pytest.param((2, 8, 9), (1, 2, 3, 2), (1, 3), 0, id="stride-pair-1-3"),
        pytest.param((1, 6, 6), (1, 1, 3, 3), 1, (2, 0), id="padding-pair-2-0"),
        pytest.param((3, 5, 4), (2, 3, 2, 3), 2, (0, 1), id="padding-pair-0-1"),
        pytest.param((1, 7, 5), (1, 1, 1, 4), 1, 0, id="kernel-1x4"),
        pytest.param((2, 6, 8), (3, 2, 5, 2), (1, 2), (1, 2), id="kernel-5x2-both-pairs"),
        pytest.param((1, 3, 3), (1, 1, 3, 3), 5, 0, id="stride-larger-than-input"),
        pytest.param((1, 2, 2), (1, 1, 4, 4), 1, 1, id="kernel-fills-padded-input"),
        pytest.param((1, 4, 4), (1, 1, 1, 1), 1, 2, id="1x1-kernel-all-padding-corners"),
    ],
)
def test_fixed_shapes_match_torch_with_bias(
    in_shape: tuple[int, int, int],
    w_shape: tuple[int, int, int, int],
    stride: int | tuple[int, int],
    padding: int | tuple[int, int],
) -> None:
    rng = np.random.default_rng(sum(in_shape) + sum(w_shape))
    x = rng.standard_normal(in_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    stage = ConvStage(x, w, b, stride=stride, padding=padding)
    ref = torch_conv(x, w, b, stride=stride, padding=padding)
    assert stage.output.shape == ref.shape
    np.testing.assert_allclose(stage.output, ref, atol=ATOL)
    assert stage.check_against_torch() < ATOL
    for i in range(len(stage)):
        check_step(stage, i, ref, x, w)


@pytest.mark.parametrize("block_bytes", [1, 8 * 18 * 3, 8 * 18 * 9 * 2, 1 << 21])
def test_blocked_computation_covers_every_output(
    monkeypatch: pytest.MonkeyPatch, block_bytes: int
) -> None:
    # Small blocks force the split into single columns, partial rows and a ragged last block.
    monkeypatch.setattr(engine.conv, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 11, 13))
    w = rng.standard_normal((4, 2, 3, 3))  # C·f_h·f_w = 18 numbers per window
    b = rng.standard_normal(4)
    stage = ConvStage(x, w, b, stride=(1, 2), padding=1)
    np.testing.assert_allclose(
        stage.output, torch_conv(x, w, b, stride=(1, 2), padding=1), atol=ATOL
    )


def test_bias_shifts_every_output_of_its_filter() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 5))
    w = rng.standard_normal((2, 2, 3, 3))
    plain = ConvStage(x, w).output
    shifted = ConvStage(x, w, np.array([2.5, -1.0])).output
    np.testing.assert_allclose(shifted[0] - plain[0], 2.5, atol=ATOL)
    np.testing.assert_allclose(shifted[1] - plain[1], -1.0, atol=ATOL)


def test_two_dimensional_inputs_are_one_channel() -> None:
    x = np.arange(16, dtype=float).reshape(4, 4)
    stage = ConvStage(x, kernel("laplacian"))
    assert stage.x.shape == (1, 4, 4)
    assert stage.weight.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(stage.output, 0.0, atol=ATOL)  # a linear ramp has no curvature


# -- property tests against torch ----------------------------------------------------------------

values = st.floats(-10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, object, object]:
    """A legal convolution: input, weights, bias, stride spec and padding spec."""
    c = draw(st.integers(1, 3))
    n_f = draw(st.integers(1, 3))
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    mode = draw(st.sampled_from(["int", "pair", "valid", "same"]))
    if mode == "same":
        fh = draw(st.sampled_from([1, 3, 5]))
        fw = draw(st.sampled_from([1, 3, 5]))
        stride: object = draw(st.sampled_from([1, (1, 1)]))
        padding: object = "same"
    else:
        if mode == "int":
            padding = draw(st.integers(0, 2))
            ph = pw = padding
        elif mode == "pair":
            ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            padding = (ph, pw)
        else:
            padding, ph, pw = "valid", 0, 0
        fh = draw(st.integers(1, min(5, h + 2 * ph)))
        fw = draw(st.integers(1, min(5, w + 2 * pw)))
        stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    x = draw(hnp.arrays(np.float64, (c, h, w), elements=values))
    weight = draw(hnp.arrays(np.float64, (n_f, c, fh, fw), elements=values))
    bias = draw(hnp.arrays(np.float64, (n_f,), elements=values))
    return x, weight, bias, stride, padding


@settings(max_examples=200, deadline=None)
@given(case=conv_cases(), data=st.data())
def test_conv_matches_torch_everywhere(case, data: st.DataObject) -> None:
    x, weight, bias, stride, padding = case
    stage = ConvStage(x, weight, bias, stride=stride, padding=padding)
    ref = torch_conv(x, weight, bias, stride=stride, padding=padding)
    assert stage.output.shape == ref.shape
    np.testing.assert_allclose(stage.output, ref, rtol=1e-12, atol=ATOL)
    assert stage.padding == pad_pair(padding, weight.shape[2:])
    assert len(stage) == ref.size
    for i in data.draw(st.lists(st.integers(0, ref.size - 1), min_size=1, max_size=4)):
        check_step(stage, i, ref, x, weight)
        assert stage.index_of(*stage.position(i)) == i
        negative = stage.step(i - ref.size)
        assert (negative.index, negative.value) == (i, stage.step(i).value)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 40),
    p=st.integers(0, 4),
    s=st.integers(1, 6),
    data=st.data(),
)
def test_output_size_formula_matches_torch(n: int, p: int, s: int, data: st.DataObject) -> None:
    f = data.draw(st.integers(1, n + 2 * p))
    expected = (n + 2 * p - f) // s + 1
    shape = F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, f, 1), stride=s, padding=(p, 0))
    assert output_size(n, f, s, p) == expected == shape.shape[2]
    numbers = [int(v) for v in re.findall(r"\d+", size_formula(n, f, s, p))]
    assert numbers == [n, 2, p, f, s, 1, expected]


def test_size_formulas_name_the_numbers() -> None:
    stage = ConvStage(np.zeros((1, 7, 9)), np.zeros((1, 1, 3, 5)), stride=(2, 1), padding=(1, 2))
    height, width = stage.size_formulas()
    assert stage.output.shape == (1, 4, 9)
    assert [int(v) for v in re.findall(r"\d+", height)] == [7, 2, 1, 3, 2, 1, 4]
    assert [int(v) for v in re.findall(r"\d+", width)] == [9, 2, 2, 5, 1, 1, 9]
    assert height.endswith("= 4") and width.endswith("= 9")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        pytest.param({"stride": 0}, "stride", "≥ 1", id="stride-0"),
        pytest.param({"stride": -1}, "stride", "≥ 1", id="stride-negative"),
        pytest.param({"stride": (1, 0)}, "stride", "≥ 1", id="stride-pair-0"),
        pytest.param({"stride": 1.5}, "stride", "integer", id="stride-float"),
        pytest.param({"stride": (1, 2, 3)}, "stride", "pair", id="stride-triple"),
        pytest.param({"padding": -1}, "padding", "≥ 0", id="padding-negative"),
        pytest.param({"padding": (0, -2)}, "padding", "≥ 0", id="padding-pair-negative"),
        pytest.param({"padding": "full"}, "padding", "valid", id="padding-unknown-word"),
        pytest.param({"padding": True}, "padding", "integer", id="padding-bool"),
        pytest.param({"bias": np.zeros(3)}, "bias", "one per filter", id="bias-wrong-length"),
    ],
)
def test_bad_hyperparameters_name_their_field(kwargs: dict, field: str, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        ConvStage(np.zeros((1, 6, 6)), np.zeros((2, 1, 3, 3)), **kwargs)
    assert err.value.field == field


def test_channel_mismatch_says_channels_must_equal() -> None:
    with pytest.raises(SpecError, match="must equal") as err:
        ConvStage(np.zeros((3, 6, 6)), np.zeros((2, 1, 3, 3)))
    assert err.value.field == "kernels"
    assert "1 channel" in err.value.message and "3" in err.value.message


@pytest.mark.parametrize(
    ("in_hw", "k_hw", "padding"),
    [
        pytest.param((4, 4), (5, 5), 0, id="both-axes"),
        pytest.param((6, 3), (3, 4), 0, id="width-only"),
        pytest.param((3, 3), (6, 6), 1, id="larger-even-after-padding"),
    ],
)
def test_kernel_larger_than_padded_input(in_hw, k_hw, padding) -> None:
    with pytest.raises(SpecError, match="larger than the padded input") as err:
        ConvStage(np.zeros((1, *in_hw)), np.zeros((1, 1, *k_hw)), padding=padding)
    assert err.value.field == "kernels"


@pytest.mark.parametrize(
    ("k_hw", "stride", "match"),
    [
        pytest.param((2, 2), 1, "odd kernel", id="even-kernel"),
        pytest.param((3, 4), 1, "odd kernel", id="even-width"),
        pytest.param((3, 3), 2, "stride 1", id="stride-2"),
        pytest.param((3, 3), (1, 2), "stride 1", id="stride-pair"),
    ],
)
def test_same_padding_refusals(k_hw, stride, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        ConvStage(np.zeros((1, 8, 8)), np.zeros((1, 1, *k_hw)), stride=stride, padding="same")
    assert err.value.field == "padding"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["input", "kernels", "bias"])
def test_non_finite_values_are_refused(bad: float, where: str) -> None:
    arrays = {"input": np.ones((1, 4, 4)), "kernels": np.ones((2, 1, 3, 3)), "bias": np.ones(2)}
    arrays[where].flat[-1] = bad
    with pytest.raises(SpecError, match="finite") as err:
        ConvStage(arrays["input"], arrays["kernels"], arrays["bias"])
    assert err.value.field == where


@pytest.mark.parametrize(
    ("x", "w", "field"),
    [
        pytest.param(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), "input", id="4d-input"),
        pytest.param(np.zeros((1, 4, 4)), np.zeros((1, 3, 3)), "kernels", id="3d-kernels"),
        pytest.param(np.zeros((0, 4, 4)), np.zeros((1, 0, 3, 3)), "input", id="no-channels"),
        pytest.param(np.zeros((1, 4, 4)), np.zeros((0, 1, 3, 3)), "input", id="no-filters"),
    ],
)
def test_bad_shapes(x: np.ndarray, w: np.ndarray, field: str) -> None:
    with pytest.raises(SpecError) as err:
        ConvStage(x, w)
    assert err.value.field == field


def test_memory_estimate_counts_the_big_arrays() -> None:
    # input + padded input + output and its copy + weights + bias, all float64
    assert conv_bytes((3, 6, 6), (2, 3, 3, 3), (1, 1), (0, 0)) == 8 * (
        108 + 108 + 2 * 2 * 16 + 54 + 2
    )
    assert conv_bytes((3, 20000, 20000), (1, 3, 3, 3), (1, 1), (0, 0)) > MAX_BYTES


def test_huge_input_refused_before_allocating() -> None:
    # A read-only view of one float: 3×20000×20000 float64 would be 9.6 GB if materialised.
    x = np.broadcast_to(np.zeros(1), (3, 20_000, 20_000))
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="GiB") as err:
            ConvStage(x, np.zeros((1, 3, 3, 3)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.field == "input"
    assert peak < 1 << 20


def test_huge_output_refused_before_allocating() -> None:
    x = np.zeros((1, 2000, 2000))  # 32 MB; 1000 filters of 1×1 would make a 32 GB output
    tracemalloc.start()
    try:
        with pytest.raises(SpecError, match="limit is 1 GiB"):
            ConvStage(x, np.zeros((1000, 1, 1, 1)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_just_under_the_limit_is_accepted() -> None:
    assert conv_bytes((1, 64, 64), (4, 1, 3, 3), (1, 1), (1, 1)) < MAX_BYTES
    assert len(ConvStage(np.zeros((1, 64, 64)), np.zeros((4, 1, 3, 3)), padding=1)) == 4 * 64 * 64


# -- Simulation --------------------------------------------------------------------------------


class EmptyStage(Stage):
    """A stage with no steps, to check that the simulation skips it."""

    kind = "empty"

    def __len__(self) -> int:
        return 0

    def step(self, i: int) -> Step:
        self._normalise_index(i)
        raise AssertionError("unreachable")

    @property
    def output(self) -> np.ndarray:
        return np.zeros(0)

    def describe(self) -> dict:
        return {"name": self.name, "kind": self.kind}

    def reference(self) -> np.ndarray:
        return np.zeros(0)


def several_stages() -> list[Stage]:
    rng = np.random.default_rng(7)
    return [
        ConvStage(rng.standard_normal((1, 4, 4)), rng.standard_normal((2, 1, 3, 3)), name="a"),
        ConvStage(rng.standard_normal((1, 3, 3)), rng.standard_normal((1, 1, 3, 3)), name="one"),
        EmptyStage("empty"),
        ConvStage(rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 2, 2)), name="b"),
    ]


def test_simulation_round_trips_every_step() -> None:
    stages = several_stages()
    sim = Simulation(stages)
    sizes = [len(s) for s in stages]
    assert sizes == [8, 1, 0, 48]
    assert len(sim) == sum(sizes)
    expected = [(s, i) for s, n in enumerate(sizes) for i in range(n)]
    assert [sim.locate(g) for g in range(len(sim))] == expected
    for g, (s, local) in enumerate(expected):
        assert sim.global_index(s, local) == g
        step = sim.step(g)
        assert step.stage == stages[s].name and step.index == local
        assert sim.stage_of(g) is stages[s]
    assert sim.step(8).stage == "one" and sim.step(9).stage == "b"


def test_simulation_negative_and_out_of_range_indices() -> None:
    sim = Simulation(several_stages())
    n = len(sim)
    assert sim.locate(-1) == (3, 47)
    assert sim.locate(-n) == (0, 0)
    assert sim.locate(-49) == (1, 0)
    for bad in (n, n + 1, -n - 1):
        with pytest.raises(IndexError):
            sim.locate(bad)
        with pytest.raises(IndexError):
            sim.step(bad)
    with pytest.raises(IndexError):
        sim.global_index(1, 1)
    with pytest.raises(IndexError):
        sim.global_index(2, 0)
    with pytest.raises(IndexError):
        sim.global_index(0, -1)


def test_stage_index_bounds() -> None:
    stage = several_stages()[0]
    assert stage.step(-8).index == 0
    for bad in (8, -9):
        with pytest.raises(IndexError, match="out of range"):
            stage.step(bad)


def test_simulation_needs_a_stage() -> None:
    with pytest.raises(ValueError):
        Simulation([])


def test_single_step_simulation() -> None:
    only = ConvStage(np.ones((1, 2, 2)), np.ones((1, 1, 2, 2)), name="only")
    sim = Simulation([only])
    assert len(sim) == 1
    assert sim.locate(0) == sim.locate(-1) == (0, 0)
    assert sim.step(0).value == 4.0
    with pytest.raises(IndexError):
        sim.step(1)


# -- named kernels -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_named_kernels_are_3x3_and_finite(name: str) -> None:
    k = kernel(name)
    assert k.shape == (3, 3) and k.dtype == np.float64
    assert np.all(np.isfinite(k))
    assert KERNELS[name].description


@pytest.mark.parametrize(
    ("x_name", "y_name"),
    [("sobel_x", "sobel_y"), ("scharr_x", "scharr_y"), ("vertical_edge", "horizontal_edge")],
)
def test_y_kernels_are_x_kernels_transposed(x_name: str, y_name: str) -> None:
    np.testing.assert_array_equal(kernel(y_name), kernel(x_name).T)


def test_identity_leaves_an_image_unchanged() -> None:
    x = np.random.default_rng(5).standard_normal((1, 6, 7))
    stage = ConvStage(x, kernel("identity"), padding="same")
    np.testing.assert_array_equal(stage.output, x)


@pytest.mark.parametrize(("name", "total"), [("box_blur", 1.0), ("gaussian_blur", 1.0)])
def test_blurs_sum_to_one(name: str, total: float) -> None:
    assert kernel(name).sum() == pytest.approx(total, abs=1e-15)


@pytest.mark.parametrize("name", ["laplacian", "sobel_x", "scharr_x", "vertical_edge"])
def test_derivative_kernels_sum_to_zero(name: str) -> None:
    assert kernel(name).sum() == 0.0


def test_box_blur_averages_a_flat_image() -> None:
    stage = ConvStage(np.full((1, 5, 5), 7.0), kernel("box_blur"))
    np.testing.assert_allclose(stage.output, 7.0, atol=1e-12)


def test_kernel_returns_a_fresh_copy_and_lists_names_when_unknown() -> None:
    k = kernel("identity")
    k[1, 1] = 99.0
    assert kernel("identity")[1, 1] == 1.0
    with pytest.raises(KeyError, match="sobel_x"):
        kernel("sobel")


def test_public_api() -> None:
    for name in engine.__all__:
        assert hasattr(engine, name), name
    assert engine.ConvStage is ConvStage and engine.SpecError is SpecError
