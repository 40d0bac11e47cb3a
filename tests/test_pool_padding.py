"""Padded pooling against PyTorch: −inf cells for max, zeros in the divisor for average, the
padding mask and input-space windows of every step, the panel, and ResNet-18's padded max pool."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
from engine.core import Simulation
from engine.errors import SpecError
from engine.pool import PoolStage, PoolStep, pool_bytes, pool_peak_bytes
from engine.receptive import receptive_field

ATOL = 1e-12


def torch_pool(
    x: np.ndarray,
    mode: str,
    size: tuple[int, int],
    stride: tuple[int, int],
    padding: int | tuple[int, int],
) -> tuple[np.ndarray, np.ndarray | None]:
    """PyTorch's float64 pooling with padding: output and, for max, flat input indices."""
    xt = torch.from_numpy(np.array(x, dtype=np.float64))[None]
    if mode == "avg":
        return F.avg_pool2d(xt, size, stride, padding)[0].numpy(), None
    out, idx = F.max_pool2d(xt, size, stride, padding, return_indices=True)
    return out[0].numpy(), idx[0].numpy()


def check_step(stage: PoolStage, i: int, ref: np.ndarray) -> PoolStep:
    """Step ``i`` agrees with torch, its window is the input where the mask is False and the
    padding value where it is True, and a max window's winner is an input cell."""
    step = stage.step(i)
    fh, fw = stage.size
    (sh, sw), (ph, pw) = stage.stride, stage.padding
    _, h, w = stage.in_shape
    c, r, col = step.channel, step.row, step.col
    assert (step.top, step.left) == (r * sh - ph, col * sw - pw)
    assert step.window.shape == step.padding_mask.shape == (fh, fw)
    assert step.value == pytest.approx(ref[c, r, col], rel=1e-12, abs=ATOL)
    for u in range(fh):
        for v in range(fw):
            y, x = step.top + u, step.left + v
            inside = 0 <= y < h and 0 <= x < w
            assert bool(step.padding_mask[u, v]) is not inside
            if inside:
                assert step.window[u, v] == stage.x[c, y, x]
            else:
                assert step.window[u, v] == (-np.inf if stage.mode == "max" else 0.0)
    if stage.mode == "max":
        assert step.argmax is not None
        assert not step.padding_mask[step.argmax]
        assert step.window[step.argmax] == step.value == step.window.max()
    else:
        assert step.value == pytest.approx(step.window.sum() / (fh * fw), rel=1e-12, abs=ATOL)
    return step


# -- fixed cases -------------------------------------------------------------------------------


def test_padding_never_wins_a_max_even_when_every_input_is_negative() -> None:
    x = -np.arange(1, 37, dtype=float).reshape(1, 6, 6)
    stage = PoolStage(x, "max", 3, 2, padding=1)
    ref, idx = torch_pool(x, "max", (3, 3), (2, 2), 1)
    np.testing.assert_array_equal(stage.output, ref)
    assert stage.output.max() < 0  # a zero fill would have won every corner
    np.testing.assert_array_equal(stage.argmax_input_indices(), idx)
    np.testing.assert_array_equal(stage.reference_indices(), idx)
    assert stage.check_against_torch() == 0.0
    corner = check_step(stage, 0, ref)
    assert (corner.top, corner.left) == (-1, -1)
    np.testing.assert_array_equal(
        corner.padding_mask, [[True, True, True], [True, False, False], [True, False, False]]
    )
    assert corner.argmax == (1, 1) and corner.value == -1.0
    assert stage.argmax_input_index(0) == 0
    assert corner.explanation == (
        "out[0,0,0] = max of window = -1 (input row 0, col 0); 5 padding cell(s) count as −inf"
    )


def test_average_counts_padding_as_zeros_in_the_divisor() -> None:
    x = np.arange(1, 17, dtype=float).reshape(4, 4)
    stage = PoolStage(x, "avg", 3, 2, padding=1)
    ref, _ = torch_pool(x[None], "avg", (3, 3), (2, 2), 1)
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=ATOL)
    corner = check_step(stage, 0, ref)
    # Input cells 1, 2, 5, 6 under the window, five zeros of padding: (1+2+5+6)/9, not /4.
    assert corner.value == pytest.approx(14 / 9)
    assert corner.explanation.endswith(
        "mean of 9 values = 1.55556; 5 of them padding, counted as 0"
    )
    assert stage.check_against_torch() < ATOL


def test_padding_changes_the_size_formula_and_the_description() -> None:
    stage = PoolStage(np.zeros((2, 7, 10)), "max", (3, 2), (2, 3), padding=(1, 1))
    assert stage.out_hw == (4, 4)
    assert stage.size_formulas() == ("⌊(7 + 2·1 − 3)/2⌋ + 1 = 4", "⌊(10 + 2·1 − 2)/3⌋ + 1 = 4")
    d = stage.describe()
    assert d["hyperparameters"]["padding"] == [1, 1]
    assert d["input"]["shape"] == [2, 7, 10] and d["output"]["shape"] == [2, 4, 4]
    assert stage.window_geometry() == ((3, 2), (2, 3), (1, 1))
    again = stage.with_input(np.ones((1, 5, 5)))
    assert again.padding == (1, 1) and again.out_hw == (3, 2)


def test_without_padding_a_step_has_an_empty_mask_and_draws_as_before() -> None:
    stage = PoolStage(np.arange(16.0).reshape(4, 4), "max", 2)
    step = stage.step(3)
    assert step.padding_mask.shape == (2, 2) and not step.padding_mask.any()
    assert stage.x_padded is stage.x
    assert step.explanation == "out[0,1,1] = max of window = 15 (input row 3, col 3)"


def test_receptive_field_through_a_padded_pool_stays_inside_the_input() -> None:
    stage = PoolStage(np.zeros((1, 6, 6)), "max", 3, 2, padding=1)
    (mask,) = receptive_field(Simulation([stage]), 0, 0, 0)
    expected = np.zeros((6, 6), dtype=bool)
    expected[:2, :2] = True  # the window's input cells; its padding is no input position
    np.testing.assert_array_equal(mask, expected)


# -- against torch everywhere ------------------------------------------------------------------


@st.composite
def padded_cases(draw: st.DrawFn) -> tuple[np.ndarray, str, tuple[int, int], tuple, tuple]:
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    fh, fw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, fh // 2)), draw(st.integers(0, fw // 2))
    h, w = max(h, fh - 2 * ph), max(w, fw - 2 * pw)  # the window fits the padded input
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    ints = st.integers(-3, 3).map(float)  # many ties, many all-negative windows
    reals = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    x = draw(hnp.arrays(np.float64, (c, h, w), elements=draw(st.sampled_from([ints, reals]))))
    return x, draw(st.sampled_from(["max", "avg"])), (fh, fw), stride, (ph, pw)


@settings(max_examples=120, deadline=None)
@given(case=padded_cases())
def test_padded_pool_matches_torch_at_every_step(case: tuple) -> None:
    x, mode, size, stride, padding = case
    stage = PoolStage(x, mode, size, stride, padding=padding)
    ref, idx = torch_pool(x, mode, size, stride, padding)
    assert stage.output.shape == ref.shape
    if mode == "max":
        np.testing.assert_array_equal(stage.output, ref)
        np.testing.assert_array_equal(stage.argmax_input_indices(), idx)
        assert [stage.argmax_input_index(i) for i in range(len(stage))] == idx.ravel().tolist()  # type: ignore[union-attr]
    else:
        np.testing.assert_allclose(stage.output, ref, rtol=1e-12, atol=ATOL)
    for i in range(len(stage)):
        check_step(stage, i, ref)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    ("size", "stride", "padding"),
    [((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 1)), ((5, 3), (3, 1), (2, 0))],
)
def test_padded_reference_in_many_blocks_equals_one_call(
    monkeypatch: pytest.MonkeyPatch, mode: str, size: tuple, stride: tuple, padding: tuple
) -> None:
    """torch pads every block it is handed; blocks that start inside the input must not let
    that padding reach a window the stage keeps."""
    import engine.pool

    x = np.random.default_rng(1).normal(size=(3, 17, 9)) - 5.0  # all negative: padding loses
    stage = PoolStage(x, mode, size, stride, padding=padding)
    whole, _ = torch_pool(x, mode, size, stride, padding)
    for block in (200, 400, 1000):
        monkeypatch.setattr(engine.pool, "REFERENCE_BLOCK_BYTES", block)
        np.testing.assert_array_equal(stage.reference(), whole)


# -- errors and limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("padding", "size", "match"),
    [
        pytest.param(2, 3, r"rows 0…1 and cols 0…1 for the 3×3 window, got \[2, 2\]", id="over"),
        pytest.param((0, 3), (2, 4), r"rows 0…1 and cols 0…2 .* got \[0, 3\]", id="pair-cols"),
        pytest.param((2, 0), (3, 3), r"got \[2, 0\]", id="pair-over"),
        pytest.param(1, 1, r"rows 0…0 and cols 0…0 for the 1×1 window", id="window-1"),
        pytest.param(-1, 3, r"from 0 to half the window .* got \[-1, -1\]", id="negative"),
        pytest.param(1.0, 3, "integer or a pair", id="float"),
        pytest.param(True, 3, "integer or a pair", id="bool"),
        pytest.param("same", 3, "integer or a pair", id="string"),
    ],
)
def test_bad_padding_names_its_field_and_the_valid_range(
    padding: object, size: object, match: str
) -> None:
    with pytest.raises(SpecError, match=match) as err:
        PoolStage(np.zeros((1, 6, 6)), size=size, padding=padding)  # type: ignore[arg-type]
    assert err.value.field == "padding"


def test_padding_up_to_half_the_window_is_accepted() -> None:
    x = np.random.default_rng(3).normal(size=(1, 6, 6))
    for size, padding in (((2, 4), (1, 2)), ((1, 3), (0, 1)), ((5, 5), (2, 2))):
        stage = PoolStage(x, "avg", size, 1, padding=padding)
        ref, _ = torch_pool(x, "avg", size, (1, 1), padding)
        np.testing.assert_allclose(stage.output, ref, rtol=0, atol=ATOL)


def test_window_larger_than_the_padded_input_says_both_sizes() -> None:
    with pytest.raises(SpecError) as err:
        PoolStage(np.zeros((2, 2)), size=5, padding=1)
    assert err.value.field == "size"
    assert err.value.message == (
        "pool window 5×5 is larger than the padded input 4×4 (input 2×2, padding [1, 1])"
    )
    # Padding is what makes a 3×3 window fit a 2×2 input, as in PyTorch.
    assert PoolStage(np.zeros((2, 2)), size=3, padding=1).out_hw == (1, 1)


def test_memory_estimate_counts_the_padded_copy_and_bounds_the_numpy_peak() -> None:
    plain = pool_bytes((3, 6, 6), (3, 3), (2, 2))
    padded = pool_bytes((3, 6, 6), (3, 3), (2, 2), (1, 1))
    assert padded - plain == 8 * 3 * 8 * 8 + 17 * 3 * (9 - 4)  # the copy, and more outputs
    assert pool_peak_bytes((3, 6, 6), (3, 3), (2, 2)) == pool_peak_bytes(
        (3, 6, 6), (3, 3), (2, 2), (0, 0)
    )
    x = np.random.default_rng(2).normal(size=(4, 300, 300))
    for mode in ("max", "avg"):
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            stage = PoolStage(x, mode, 3, 2, padding=1)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert len(stage) == 4 * 150 * 150
        assert peak <= pool_peak_bytes(x.shape, (3, 3), (2, 2), (1, 1)), peak


def test_the_engine_exports_the_network() -> None:
    from engine.network import Layer, Network, NetworkError, NetworkStage

    assert (engine.Network, engine.NetworkStage) == (Network, NetworkStage)
    assert (engine.Layer, engine.NetworkError) == (Layer, NetworkError)
    assert {"Network", "NetworkStage", "Layer", "NetworkError"} <= set(engine.__all__)


# -- the panel ---------------------------------------------------------------------------------


def test_inspector_writes_padding_as_what_it_counts_as() -> None:
    from tui.panels.pool import explain_pool

    x = -np.arange(1, 17, dtype=float).reshape(4, 4)
    top_max = PoolStage(x, "max", 3, 2, padding=1)
    text = explain_pool(top_max, top_max.step(0)).plain
    assert "= max(−inf, −inf, −inf, −inf, −1, −2, −inf, −5, −6) = −1" in text
    assert "window: input rows −1…1, cols −1…1 of channel 0" in text
    assert "5 padding cell(s) count as −inf" in text
    assert "H: ⌊(4 + 2·1 − 3)/2⌋ + 1 = 2" in text and "(⌊(n + 2p − f)/s⌋ + 1)" in text
    assert "p = 1×1" in text
    avg = PoolStage(x, "avg", 3, 2, padding=1)
    text = explain_pool(avg, avg.step(0)).plain
    assert "= (0 + 0 + 0 + 0 + −1 + −2 + 0 + −5 + −6) / 9 = −14 / 9 = " in text
    assert "5 padding cell(s) count as 0 and in the divisor 9" in text
    # A step with no padding in its window is written as without padding.
    inner = explain_pool(top_max, top_max.step(3)).plain
    assert "−inf" not in inner and "padding cell" not in inner


@pytest.mark.parametrize(("mode", "pad_text"), [("max", "−inf"), ("avg", "0")])
async def test_panel_draws_the_padded_plane_with_padding_apart(mode: str, pad_text: str) -> None:
    from tui.app import NetsimApp
    from tui.widgets.matrix import MatrixGrid, Window

    x = np.arange(1, 37, dtype=float).reshape(1, 6, 6) + 0.5
    stage = PoolStage(x, mode, 3, 2, padding=1)
    app = NetsimApp(Simulation([stage]), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        grid = app.screen.query_one("#pool-input-0", MatrixGrid)
        assert grid._values.shape == (8, 8) and grid._padding == (1, 1)
        assert grid._window == Window(0, 0, 3, 3)  # input rows and cols −1…1
        if mode == "max":
            assert grid._mark == (2, 2)  # input (1, 1): 8.5 wins the corner window
        assert grid._row_texts(0)[0] == pad_text and grid._row_texts(3)[0] == pad_text
        box = app.screen.query_one("#pool-input-box")
        assert str(box.border_subtitle).endswith(", p 1")
        await pilot.press("right", "right")  # out[0, 0, 2]: window cols 3…5, top row padding
        await pilot.pause()
        assert grid._window == Window(0, 4, 3, 3)
        if mode == "max":
            assert grid._mark == (2, 6)  # input (1, 5) = 12.5
        # No made-up number anywhere in the padding ring.
        ring = np.ones((8, 8), dtype=bool)
        ring[1:-1, 1:-1] = False
        fill = -np.inf if mode == "max" else 0.0
        assert np.all(grid._values[ring] == fill)


# -- ResNet-18's padded max pool ---------------------------------------------------------------


def test_resnet18_maxpool_stage_equals_the_network_and_torch() -> None:
    from engine.architectures import architecture
    from engine.network import Network

    layers, _ = architecture("resnet18")
    net = Network(layers, (3, 64, 64))
    net.init_params(0)
    net.set_input(np.random.default_rng(0).standard_normal((3, 64, 64)))
    stage = net.stage("maxpool")
    assert isinstance(stage, PoolStage)
    assert (stage.mode, stage.size, stage.stride, stage.padding) == ("max", (3, 3), (2, 2), (1, 1))
    assert stage.in_shape == (64, 32, 32) and stage.out_hw == (16, 16)  # no padded copy as input
    (x,) = net.inputs_of("maxpool")
    np.testing.assert_array_equal(stage.x, x.astype(np.float64))
    np.testing.assert_array_equal(stage.output, net.output("maxpool"))
    ref, idx = torch_pool(x, "max", (3, 3), (2, 2), 1)
    np.testing.assert_array_equal(stage.output, ref)
    np.testing.assert_array_equal(stage.argmax_input_indices(), idx)
    assert stage.check_against_torch() == 0.0
    theirs = net.torch_forward()["maxpool"]  # torch's own layers from the input on
    np.testing.assert_allclose(stage.output, theirs, rtol=1e-4, atol=1e-4)

    # Corners: the top and left edges of a 32×32 input are padded, the bottom and right not
    # (⌊(32 + 2 − 3)/2⌋ + 1 = 16 windows end at input row 31).
    corners = {(0, 0): (True, True), (0, 15): (True, False), (15, 0): (False, True)}
    for c in (0, 37, 63):
        for (r, col), (pad_row, pad_col) in corners.items():
            step = check_step(stage, stage.index_of(c, r, col), ref)
            assert bool(step.padding_mask[0].all()) is pad_row
            assert bool(step.padding_mask[:, 0].all()) is pad_col
            assert step.padding_mask.any()
            assert stage.argmax_input_index(step.index) == idx[c, r, col]  # type: ignore[index]
            real = step.window[~step.padding_mask]
            assert step.value == real.max()
        last = check_step(stage, stage.index_of(c, 15, 15), ref)
        assert (last.top, last.left) == (29, 29) and not last.padding_mask.any()
