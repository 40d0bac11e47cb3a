"""The layer panels: the inspector's numbers, long vectors drawn by their largest terms, and each
panel in the player (stepping, clicking, heat view) at 80×24 and 120×40."""

from __future__ import annotations

import re

import numpy as np
import pytest
from apps import player
from textual.widgets import Static

from engine.core import Simulation, Stage
from engine.layers import (
    AdaptiveAvgPoolStage,
    AddStage,
    BatchNormStage,
    DropoutStage,
    FlattenStage,
    LinearStage,
    SoftmaxStage,
)
from tui.app import NetsimApp
from tui.numbers import fmt_exact
from tui.panels import PANELS, Panel, panel_for
from tui.panels._vector import VectorStrip
from tui.panels.adaptive_pool import AdaptivePoolPanel, explain_adaptive
from tui.panels.add import AddPanel, explain_add
from tui.panels.batchnorm import BatchNormPanel, explain_batchnorm
from tui.panels.dropout import DropoutPanel, explain_dropout
from tui.panels.flatten import FlattenPanel, explain_flatten, index_formula
from tui.panels.linear import LinearPanel, TermsTable, explain_linear, shown_terms
from tui.panels.softmax import SoftmaxPanel, explain_softmax, listed_classes
from tui.widgets.matrix import MatrixGrid

KINDS: dict[str, type[Panel]] = {
    "linear": LinearPanel,
    "flatten": FlattenPanel,
    "dropout": DropoutPanel,
    "add": AddPanel,
    "softmax": SoftmaxPanel,
    "batchnorm2d": BatchNormPanel,
    "adaptive_avgpool2d": AdaptivePoolPanel,
}


def stages() -> list[Stage]:
    rng = np.random.default_rng(0)
    img = rng.normal(size=(3, 6, 6))
    return [
        LinearStage(rng.normal(size=400), rng.normal(size=(120, 400)), rng.normal(size=120)),
        FlattenStage(img),
        DropoutStage(rng.normal(size=300), 0.5),
        AddStage(img, rng.normal(size=(3, 6, 6))),
        SoftmaxStage(rng.normal(size=1000) * 3),
        BatchNormStage(img, np.ones(3), np.zeros(3), rng.normal(size=3), rng.random(3) + 0.5),
        AdaptiveAvgPoolStage(rng.normal(size=(2, 7, 7)), (3, 3)),
    ]


def test_every_layer_kind_has_its_panel() -> None:
    for stage in stages():
        assert PANELS[stage.kind] is KINDS[stage.kind]
        assert type(panel_for(stage)) is KINDS[stage.kind]


# -- the inspector's text ------------------------------------------------------------------------


def test_linear_writes_every_term_when_few() -> None:
    stage = LinearStage(
        np.array([1.0, 2.0, -1.0]),
        np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]]),
        np.array([0.25, -4.0]),
    )
    text = explain_linear(stage, stage.step(0), np.arange(3)).plain
    assert "out[0] = Σ_k W[0,k]·x[k] + b[0]" in text
    assert "= 0.5·1 + (−1)·2 + 2·(−1) = −3.5" in text
    assert "bias: −3.5 + 0.25 = −3.25" in text
    assert "2·3 + 2 = 8 parameters" in text
    assert "other" not in text


def test_linear_writes_the_largest_terms_and_sums_the_others() -> None:
    rng = np.random.default_rng(1)
    n = 25088
    x = rng.normal(size=n)
    w = rng.normal(size=(3, n)).astype(np.float32) * 0.01
    w[1, [5, 900, 20000]] = [4.0, -5.0, 6.0]  # the three largest products of neuron 1
    stage = LinearStage(x, w, None)
    step = stage.step(1)
    shown = shown_terms(step.products, 7)
    assert {5, 900, 20000} <= set(shown.tolist()) and list(shown) == sorted(shown)
    smallest_shown = np.abs(step.products[shown]).min()
    assert np.sum(np.abs(step.products) > smallest_shown) == 6  # none larger was left out
    text = explain_linear(stage, step, shown).plain
    assert text.count("·") >= 7 and f"the other {n - 7:,}:" in text
    others = float(re.search(r"the other [\d,]+: (\S+)\]", text).group(1).replace("−", "-"))  # type: ignore[union-attr]
    shown_sum = float(step.products[shown].sum())
    assert others == pytest.approx(step.total - shown_sum, rel=1e-5, abs=1e-9)
    assert "no bias: " in text
    assert "3·25,088 = 75,264 parameters" in text


def test_flatten_index_written_out() -> None:
    stage = FlattenStage(np.arange(24.0).reshape(2, 3, 4))
    text = explain_flatten(stage, stage.step(21)).plain
    assert "out[21] = x[1, 2, 1] = 21" in text
    assert "i = (c·H + h)·W + w = (1·3 + 2)·4 + 1 = 21" in text
    assert index_formula((4, 6), (1, 2)) == "i = h·W + w = 1·6 + 2 = 8"
    assert index_formula((5,), (3,)) == "i = 3"


def test_batchnorm_every_number() -> None:
    stage = BatchNormStage(
        np.array([[[2.0, 4.0]]]), np.array([3.0]), np.array([1.0]), np.array([1.0]),
        np.array([4.0]), eps=0.0,
    )  # fmt: skip
    text = explain_batchnorm(stage, stage.step(1)).plain
    assert "out[0, 0, 1] = (x − μ)/√(σ² + ε)·γ + β" in text
    assert "= (4 − 1)/√(4 + 0)·3 + 1" in text
    assert "= 3/2·3 + 1" in text
    assert "= 1.5·3 + 1 = 5.5" in text
    assert "2 parameters (γ, β), 2 buffers (μ, σ²)" in text


def test_softmax_every_number() -> None:
    stage = SoftmaxStage(np.array([1.0, 3.0, 2.0]))
    text = explain_softmax(stage, stage.step(0)).plain
    total = np.exp(-2) + 1 + np.exp(-1)
    assert "= e^(1 − 3)/Σ = e^(−2)/Σ = 0.135335/1.50321 = 0.0900306" in text
    assert f"Σ = 0.1353 + 1 + 0.3679 = {total:.6g}" in text
    assert "max = z_1 = 3" in text


def test_softmax_lists_all_classes_or_the_most_probable() -> None:
    assert listed_classes(SoftmaxStage(np.arange(10.0)), 3) == list(range(10))
    z = np.zeros(1000)
    z[[7, 70, 700, 9, 99]] = [5.0, 4.0, 3.0, 2.0, 1.0]
    big = SoftmaxStage(z)
    assert listed_classes(big, 7) == [7, 70, 700, 9, 99]
    assert listed_classes(big, 500) == [7, 70, 700, 9, 99, 500]


def test_adaptive_pool_window_rule_with_numbers() -> None:
    stage = AdaptiveAvgPoolStage(np.arange(49.0).reshape(1, 7, 7), 3)
    text = explain_adaptive(stage, stage.step(4)).plain
    assert "out[0, 1, 1] = mean of the window = (16 + 17 + 18 + 23" in text
    assert ")/9 = 24" in text
    assert "rows ⌊1·7/3⌋ = 2 … ⌈2·7/3⌉ − 1 = 4" in text
    assert "cols ⌊1·7/3⌋ = 2 … ⌈2·7/3⌉ − 1 = 4" in text
    up = AdaptiveAvgPoolStage(np.arange(25.0).reshape(1, 5, 5), 7)
    assert "rows ⌊2·5/7⌋ = 1 … ⌈3·5/7⌉ − 1 = 2" in explain_adaptive(up, up.step(14)).plain


def test_dropout_and_add_say_what_they_do() -> None:
    drop = DropoutStage(np.array([0.5, -2.0]), 0.5)
    text = explain_dropout(drop.step(1)).plain
    assert "out[1] = x[1] = −2" in text and "identity at inference" in text
    assert "probability p = 0.5" in text and "1/(1 − p) = 2" in text
    assert "none kept" in explain_dropout(DropoutStage(np.ones(1), 1.0).step(0)).plain
    add = AddStage(np.array([1.0]), np.array([-2.0]))
    assert "out[0] = a + b = 1 + (−2) = −1" in explain_add(add.step(0)).plain


# -- in the player -----------------------------------------------------------------------------


def open_app(stage: Stage) -> NetsimApp:
    return NetsimApp(Simulation([stage], title=stage.kind), check=False)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("stage", stages(), ids=lambda s: s.kind)
async def test_panel_steps_and_draws_its_numbers(stage: Stage, size: tuple[int, int]) -> None:
    app = open_app(stage)
    async with app.run_test(size=size) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        p = player(app)
        assert p.cursor == 2
        panel = app.screen.query_one(KINDS[stage.kind])
        inspector = [s for s in panel.query(Static) if s.id and s.id.endswith("inspector")]
        assert len(inspector) == 1
        text = str(inspector[0].render())
        assert "=" in text
        assert fmt_exact(stage.step(2).value) in text  # the step's value, as written
        await pilot.press("h")
        await pilot.pause()
        for grid in panel.query(MatrixGrid):
            assert grid.heat
        for strip in panel.query(VectorStrip):
            assert strip.heat
        await pilot.press("end")
        await pilot.pause()
        assert p.cursor == len(stage) - 1


async def test_linear_output_strip_follows_and_clicks() -> None:
    stage = stages()[0]
    app = open_app(stage)
    async with app.run_test(size=(80, 24)) as pilot:
        p = player(app)
        strip = app.screen.query_one("#linear-output", VectorStrip)
        await pilot.press("end")
        await pilot.pause()
        assert strip._current == 119
        drawn = [index for _, _, index in strip._cells]
        assert 119 in drawn and len(drawn) < 120  # a window of the vector, not all of it
        x0, _, index = strip._cells[0]
        await pilot.click("#linear-output", offset=(x0 + 1, 1))
        await pilot.pause()
        assert p.cursor == index


async def test_a_vgg_sized_input_is_drawn_by_its_largest_terms() -> None:
    rng = np.random.default_rng(2)
    n = 25088
    stage = LinearStage(rng.normal(size=n), rng.normal(size=(8, n)).astype(np.float32), None)
    app = open_app(stage)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        table = app.screen.query_one("#linear-terms", TermsTable)
        lines = table.render().plain.split("\n")
        assert len(lines) == 4 and lines[1].lstrip().startswith("x[k]")
        assert all(len(line) <= table.size.width for line in lines)
        assert "…" in lines[1] and 3 <= table.shown < 20
        columns = [int(k) for k in lines[0].split()[1:]]
        assert columns == sorted(columns) and len(columns) == table.shown
        products = stage.step(1).products
        assert set(columns) == set(shown_terms(products, table.shown).tolist())
        subtitle = str(app.screen.query_one("#linear-terms-box").border_subtitle)
        assert f"the {table.shown} largest |W·x| of 25,088" in subtitle


async def test_flatten_click_on_input_cell_jumps_to_where_it_lands() -> None:
    stage = FlattenStage(np.arange(2 * 4 * 5, dtype=float).reshape(2, 4, 5))
    app = open_app(stage)
    async with app.run_test(size=(80, 24)) as pilot:
        p = player(app)
        grid = app.screen.query_one("#flatten-input", MatrixGrid)
        row, col = 2, 3
        await pilot.click(
            "#flatten-input", offset=(grid._label_w + col * grid.cell_width + 1, row + 1)
        )
        await pilot.pause()
        assert p.cursor == row * 5 + col
        assert grid._window is not None and (grid._window.row, grid._window.col) == (row, col)


async def test_batchnorm_and_adaptive_pool_clicks_and_windows() -> None:
    rng = np.random.default_rng(3)
    bn = BatchNormStage(
        rng.normal(size=(2, 4, 4)), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)
    )
    app = open_app(bn)
    async with app.run_test(size=(80, 24)) as pilot:
        p = player(app)
        grid = app.screen.query_one("#bn-output", MatrixGrid)
        await pilot.click("#bn-output", offset=(grid._label_w + 2 * grid.cell_width + 1, 2))
        await pilot.pause()
        assert p.cursor == bn.index_of(0, 1, 2)
    pool = AdaptiveAvgPoolStage(rng.normal(size=(1, 7, 7)), 3)
    app = open_app(pool)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*["right"] * 4)  # out[0, 1, 1]: rows and cols 2…4
        await pilot.pause()
        window = app.screen.query_one("#ap-input-0", MatrixGrid)._window
        assert window is not None
        assert (window.row, window.col, window.height, window.width) == (2, 2, 3, 3)


async def test_add_shows_both_operands_and_the_channel() -> None:
    rng = np.random.default_rng(4)
    stage = AddStage(rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4, 4)))
    app = open_app(stage)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*"21", "enter")  # step 21 (index 20): channel 1, row 1, col 0
        await pilot.pause()
        assert player(app).cursor == 20
        a = app.screen.query_one("#ew-0", MatrixGrid)
        assert a._window is not None and (a._window.row, a._window.col) == (1, 0)
        np.testing.assert_array_equal(a._values, stage.a[1])
        assert app.screen.query_one("#ew-box-2").border_subtitle == "channel 1 of 3"
