"""The inspector's text: every product with its real numbers, the sums, the bias and the size."""

from __future__ import annotations

import numpy as np

from engine.conv import ConvStage
from engine.kernels import kernel
from tui.panels.conv import explain


def edge_stage(**kw: object) -> ConvStage:
    x = np.zeros((6, 6))
    x[:, :3] = 10
    return ConvStage(x, kernel("vertical_edge"), **kw)  # type: ignore[arg-type]


def test_products_sum_bias_and_value_are_written_out() -> None:
    st = edge_stage(bias=np.array([2.0]))
    text = explain(st, st.step(1)).plain  # out[0, 0, 1]: window cols 1–3 straddle the edge
    assert "out[0, 0, 1]" in text
    assert "ch 0: 10·1 + 10·0 + 0·(−1) + 10·1 + 10·0 + 0·(−1) + 10·1 + 10·0 + 0·(−1) = 30" in text
    assert "bias: 30 + 2 = 32" in text
    assert "window: input rows 0…2, cols 1…3" in text
    assert "H: ⌊(6 + 2·0 − 3)/1⌋ + 1 = 4" in text


def test_padding_cells_are_counted_and_read_as_zero() -> None:
    st = edge_stage(padding="same")
    text = explain(st, st.step(0)).plain  # top-left corner: 5 of 9 window cells are padding
    assert "window: input rows −1…1, cols −1…1" in text
    assert "5 padding cell(s) count as 0" in text
    assert "= −20" in text  # two real rows of 10·1, the top row is padding


def test_every_channel_has_a_line_and_the_channels_are_summed() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 9, size=(3, 5, 5)).astype(float)
    w = rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(float)
    st = ConvStage(x, w, np.array([1.0, -1.0]))
    step = st.step(len(st) - 1)
    text = explain(st, step).plain
    for ch in range(3):
        assert f"ch {ch}:" in text
    assert "channels:" in text
    assert text.count("·") >= 27
    total = float(step.partial_sums.sum())  # type: ignore[union-attr]
    assert step.value == total - 1.0


def test_large_steps_are_abbreviated_and_parameter_sharing_is_counted() -> None:
    rng = np.random.default_rng(5)
    st = ConvStage(rng.normal(size=(3, 32, 32)), rng.normal(size=(6, 3, 5, 5)))
    text = explain(st, st.step(0)).plain
    assert text.count("(19 more)") == 3  # 25 products per channel, 6 written
    assert "6·(3·5·5 + 1) = 456, shared by all 784 positions" in text
    assert "3,072·4,704 + 4,704 = 14,455,392" in text


def test_conv_inspector_of_a_64_channel_step_keeps_the_sum_and_the_bias_short() -> None:
    """A network's 64-channel convolution: two channels and the last are written out, the
    channel sums are cut to six, and the bias line with the result is there."""
    import numpy as np

    from engine.conv import ConvStage
    from tui.panels.conv import explain

    rng = np.random.default_rng(0)
    stage = ConvStage(rng.standard_normal((64, 5, 5)), rng.standard_normal((2, 64, 3, 3)))
    text = explain(stage, stage.step(0)).plain
    assert "ch 0:" in text and "ch 1:" in text and "ch 63:" in text and "ch 2:" not in text
    assert "… channels 2–62 omitted …" in text
    assert "+ … (58 more) =" in text
    assert "bias:" in text
    assert text.count("\n") <= 14
