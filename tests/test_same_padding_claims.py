"""conv_same_padding's description against its numbers: the left column's −30/−20 is an edge
made by the zero padding, the real edge is the 30s, a corner pixel feeds 4 outputs."""

from __future__ import annotations

import numpy as np

import scenarios
from engine.conv import ConvStage
from tui.numbers import fmt_exact


def same_padding() -> tuple[ConvStage, str]:
    sim = scenarios.load(scenarios.resolve("conv_same_padding"))
    stage = sim.stages[0]
    assert isinstance(stage, ConvStage)
    return stage, " ".join(sim.description.split())


def step_at(stage: ConvStage, row: int, col: int) -> int:
    return row * stage.out_hw[1] + col


def test_the_left_column_is_an_edge_made_by_the_zero_padding() -> None:
    stage, description = same_padding()
    out = stage.output[0]
    left = out[:, 0]
    assert np.all(left < 0)  # a dark-to-bright step: the kernel [1, 0, −1] gives left − right
    for value in np.unique(left):  # the numbers the screen shows, as it writes them
        assert fmt_exact(float(value)) in description
    assert "first column's −30 (and −20) is an edge the image does not have" in description
    for row in range(stage.out_hw[0]):
        step = stage.step(step_at(stage, row, 0))
        # Every window of the left column has its left column in the padding, read as 0.
        assert step.padding_mask[:, 0].all() and not step.window[0, :, 0].any()
    # The same image with its border pixels repeated instead of zeros: no edge there.
    replicated = np.pad(stage.x, ((0, 0), (1, 1), (1, 1)), mode="edge")
    out_replicated = ConvStage(replicated, stage.weight, stage.bias).output[0]
    assert "with the border pixels repeated instead, that column would be 0" in description
    np.testing.assert_array_equal(out_replicated[:, 0], np.zeros(stage.out_hw[0]))
    # Windows that read no padding are the same either way.
    np.testing.assert_array_equal(out_replicated[1:-1, 1:-1], out[1:-1, 1:-1])


def test_the_last_column_reads_zeros_but_stays_zero() -> None:
    stage, description = same_padding()
    assert "The last column reads zeros too" in description and "so it stays 0" in description
    last = stage.out_hw[1] - 1
    for row in range(stage.out_hw[0]):
        assert stage.step(step_at(stage, row, last)).padding_mask[:, -1].all()
    assert not stage.x[0, :, -1].any()  # the image is 0 at its right border already
    np.testing.assert_array_equal(stage.output[0, :, last], 0)


def test_the_real_edge_is_two_columns_of_30_and_20_where_a_padding_row_is_read() -> None:
    stage, description = same_padding()
    out = stage.output[0]
    assert "the two columns of 30s (20 in the top and bottom rows" in description
    cols = [c for c in range(out.shape[1]) if np.any(out[:, c] > 0)]
    assert len(cols) == 2
    for c in cols:
        np.testing.assert_array_equal(out[1:-1, c], 30)
        for row in (0, out.shape[0] - 1):
            assert out[row, c] == 20
            assert stage.step(step_at(stage, row, c)).padding_mask.all(axis=1).any()


def test_a_corner_pixel_feeds_4_outputs_instead_of_1() -> None:
    stage, description = same_padding()
    assert "a corner pixel now feeds 4 outputs instead of 1" in description

    def outputs_reading_the_corner(st: ConvStage) -> int:
        fh, fw = st.weight.shape[2:]
        steps = (st.step(i) for i in range(len(st)))
        return sum(s.top <= 0 < s.top + fh and s.left <= 0 < s.left + fw for s in steps)

    assert outputs_reading_the_corner(stage) == 4
    assert outputs_reading_the_corner(ConvStage(stage.x, stage.weight, stage.bias)) == 1
