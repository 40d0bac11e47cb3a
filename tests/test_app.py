"""Pilot tests: every key binding of the player, clicking a cell, the browser and the dialogs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from apps import player, player_app
from textual.widgets import Label

import scenarios
from tui.app import NetsimApp
from tui.screens.browser import BrowserScreen
from tui.screens.goto import GotoScreen
from tui.screens.help import HelpScreen
from tui.screens.player import SPEEDS, PlayerScreen
from tui.widgets.badge import TorchBadge
from tui.widgets.matrix import MatrixGrid
from tui.widgets.timeline import Timeline

SIZE = (120, 40)


def bundled_path(name: str) -> Path:
    return scenarios.resolve(name)


async def test_arrows_step_forward_and_back_and_clamp() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        assert p.cursor == 0
        await pilot.press("right", "right")
        assert p.cursor == 2
        await pilot.press("left")
        assert p.cursor == 1
        await pilot.press("left", "left", "left")
        assert p.cursor == 0
        assert app.screen.query_one(Timeline).position == 0


async def test_page_keys_move_one_output_row() -> None:
    app = player_app()  # 4×4 output
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("pagedown")
        assert p.cursor == 4
        await pilot.press("right", "pagedown")
        assert p.cursor == 9
        await pilot.press("pageup")
        assert p.cursor == 5


async def test_home_and_end() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("end")
        assert p.cursor == len(p.simulation) - 1 == 15
        await pilot.press("right")
        assert p.cursor == 15
        await pilot.press("home")
        assert p.cursor == 0


async def test_speed_keys_move_along_the_speed_list() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        start = p.speed
        await pilot.press("plus")
        assert p.speed == SPEEDS[SPEEDS.index(start) + 1]
        await pilot.press("minus", "minus")
        assert p.speed == SPEEDS[SPEEDS.index(start) - 1]
        for _ in range(len(SPEEDS) + 2):
            await pilot.press("plus")
        assert p.speed == SPEEDS[-1]
        assert app.screen.query_one(Timeline).speed == SPEEDS[-1]


async def test_space_plays_until_paused() -> None:
    app = player_app("conv_sobel_vs_scharr")  # 72 steps
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("plus", "plus")
        assert p.speed == 20
        await pilot.press("space")
        assert p.playing
        await pilot.pause(0.3)
        await pilot.press("space")
        assert not p.playing
        moved = p.cursor
        assert 0 < moved < len(p.simulation) - 1
        await pilot.pause(0.2)
        assert p.cursor == moved


async def test_playback_stops_at_the_last_step() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        for _ in range(len(SPEEDS)):
            await pilot.press("plus")
        await pilot.press("end", "left", "space")
        await pilot.pause(0.3)
        assert p.cursor == 15
        assert not p.playing


async def test_goto_dialog_jumps_and_rejects_bad_numbers() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("g")
        assert isinstance(app.screen, GotoScreen)
        # Steps count from 1, as the timeline shows them: 16 steps are 1 … 16.
        assert "(1 … 16)" in str(app.screen.query_one(Label).render())
        await pilot.press("9", "9", "enter")
        assert isinstance(app.screen, GotoScreen), "an out-of-range step must not close the dialog"
        error = app.screen.query_one("#goto-error")
        assert "enter 1 … 16" in str(error.render())
        await pilot.press("backspace", "backspace", "0", "enter")
        assert isinstance(app.screen, GotoScreen), "step 0 does not exist"
        assert "0 is not a step: enter 1 … 16" in str(error.render())
        await pilot.press("backspace", "7", "enter")
        assert app.screen is p
        assert p.cursor == 6  # step 7 is the seventh step, index 6
        assert "step  7 of 16" in str(app.screen.query_one(Timeline).render())
        await pilot.press("g", "1", "6", "enter")
        assert p.cursor == 15  # the last step
        await pilot.press("g", "3", "escape")
        assert app.screen is p
        assert p.cursor == 15


async def test_heat_toggle_reaches_every_grid() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        grids = list(app.screen.query(MatrixGrid))
        assert grids and not any(g.heat for g in grids)
        await pilot.press("h")
        assert all(g.heat for g in grids)
        await pilot.press("h")
        assert not any(g.heat for g in grids)


async def test_help_opens_and_closes() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, PlayerScreen)


async def test_escape_from_a_directly_opened_player_shows_the_browser() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)


async def test_q_quits() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_clicking_an_output_cell_jumps_to_its_step() -> None:
    app = player_app("conv_rgb_volume")  # output 2×4×4, both channels drawn
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.pause()  # the maps are laid out once the panel knows its width
        grid = app.screen.query_one("#output-1", MatrixGrid)
        row, col = 2, 3
        x = grid._label_w + col * grid.cell_width + 1
        await pilot.click("#output-1", offset=(x, row + 1))
        assert p.cursor == 16 + row * 4 + col
        step = p.simulation.step(p.cursor)
        assert (step.filter, step.row, step.col) == (1, row, col)  # type: ignore[attr-defined]


async def test_clicking_an_input_cell_does_not_move_the_cursor() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("right")
        await pilot.click("#input-0", offset=(5, 3))
        assert p.cursor == 1


async def test_torch_badge_reports_a_match() -> None:
    app = player_app("conv_stride_2", check=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        badge = app.screen.query_one(TorchBadge)
        assert badge.state == "done"
        assert badge.delta < 1e-9
        badge.state = "idle"
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert badge.state == "done"


async def test_window_follows_the_cursor() -> None:
    app = player_app("conv_stride_2")
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("right", "pagedown")  # out[0, 1, 1]: window at rows 2–4, cols 2–4
        assert p.cursor == 4
        window = app.screen.query_one("#input-0", MatrixGrid)._window
        assert window is not None
        assert (window.row, window.col, window.height, window.width) == (2, 2, 3, 3)


async def test_large_input_grid_scrolls_to_follow_the_window(tmp_path: Path) -> None:
    f = tmp_path / "big.toml"
    f.write_text(
        'kind = "conv"\ntitle = "big"\ninput = { random = [60, 60], seed = 1 }\n'
        'kernel = "sobel_x"\n'
    )
    app = NetsimApp(scenarios.load(f), check=False)
    async with app.run_test(size=(100, 30)) as pilot:
        grid = app.screen.query_one("#input-0", MatrixGrid)
        assert grid.scroll_offset.y == 0
        await pilot.press("end")
        await pilot.pause()
        assert grid.scroll_offset.y > 0
        assert grid.scroll_offset.x > 0


async def test_browser_opens_a_bundled_scenario_and_escape_returns() -> None:
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, BrowserScreen)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen)
        first = scenarios.bundled()[0]
        assert app.screen.simulation.title == first.title
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        assert isinstance(app.screen, BrowserScreen)


async def test_browser_opens_a_typed_path_and_reports_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "conv"\ntitle = "x"\ninput = [[1, 2], [3, 4]]\nkernel = "nope"\n')
    monkeypatch.chdir(tmp_path)  # a short relative path to type: each key press costs ~0.1 s
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        for ch in bad.name:
            await pilot.press(ch)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)
        error = str(app.screen.query_one("#browser-error").render())
        assert "bad.toml" in error and "kernel" in error and "nope" in error

        good = bundled_path("conv_stride_2")
        app.screen.query_one("#path-input").value = str(good)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen)
        assert app.screen.simulation.title.startswith("Stride 2")


def is_network(name: str) -> bool:
    return name.startswith("net_")


@pytest.mark.parametrize("name", [b.name for b in scenarios.bundled() if not is_network(b.name)])
async def test_every_bundled_scenario_steps_to_the_end(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("end")
        assert p.cursor == len(p.simulation) - 1
        await pilot.press("home", "pagedown", "right")
        first = p.simulation.stages[0]
        # PgDn moves a row where the output has rows; elsewhere it is not offered and does
        # nothing.
        row = first.row_steps() if 1 < first.row_steps() < len(first) else 0
        assert p.cursor == min(row + 1, len(p.simulation) - 1)


@pytest.mark.parametrize("name", [b.name for b in scenarios.bundled() if is_network(b.name)])
async def test_every_bundled_network_opens_its_table_and_moves_layer_by_layer(name: str) -> None:
    from tui.screens.network import NetworkScreen

    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        layers = [layer.name for layer in screen.network.layers]
        assert screen.selected == layers[0]
        await pilot.press("end")
        assert screen.selected == layers[-1]
        await pilot.press("home", "right_square_bracket")
        assert screen.selected == layers[1]
        await pilot.press("left_square_bracket")
        assert screen.selected == layers[0]
        await app.workers.wait_for_complete()
        assert app.crash is None


TWO_CONVS = """
kind = "pipeline"
title = "two convs"
input = { random = [8, 8], seed = 2 }

[[stages]]
op = "conv"
kernels = ["vertical_edge", "horizontal_edge"]

[[stages]]
op = "conv"
kernel = { random = [2, 3, 3], seed = 3, low = -1, high = 1 }
"""


async def test_stage_keys_jump_between_stages(tmp_path: Path) -> None:
    f = tmp_path / "pipe.toml"
    f.write_text(TWO_CONVS)
    sim = scenarios.load(f)
    assert [len(s) for s in sim.stages] == [72, 16]
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("right_square_bracket")
        assert p.cursor == 72
        assert app.screen.query_one("#panels").current == "stage-1"  # type: ignore[attr-defined]
        await pilot.press("right_square_bracket")
        assert p.cursor == 72, "past the last stage there is nowhere to go"
        await pilot.press("right", "left_square_bracket")
        assert p.cursor == 72, "back goes to the start of the current stage first"
        await pilot.press("left_square_bracket")
        assert p.cursor == 0
        await pilot.press("tab")
        assert p.cursor == 72
        await pilot.press("shift+tab", "shift+tab")
        assert p.cursor == 0


async def test_stage_keys_are_off_for_one_stage() -> None:
    app = player_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right_square_bracket")
        assert player(app).cursor == 1


async def test_receptive_field_screen_traces_back_and_forward() -> None:
    from tui.screens.receptive import ReceptiveScreen

    app = player_app("cnn_conv_relu_pool")
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        sim = p.simulation
        await pilot.press("end")  # last output of the max pool
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReceptiveScreen)
        first = screen.query_one("#rf-0", MatrixGrid)._highlight
        assert first is not None and first.sum() == 16  # 2×2 pool over 3×3 conv: 4×4 inputs
        out = screen.query_one("#rf-out", MatrixGrid)._highlight
        assert out is not None and out.sum() == 1 and out[-1, -1]
        await pilot.click("#rf-0", offset=(screen.query_one("#rf-0", MatrixGrid)._label_w + 1, 1))
        await pilot.pause()
        reach = screen.query_one("#rf-out", MatrixGrid)._highlight
        assert reach is not None and reach.sum() == 1 and reach[0, 0]  # pixel (0, 0)
        await pilot.press("escape")
        assert app.screen is p and len(sim.stages) == 3


async def test_flip_shows_true_convolution_and_back() -> None:
    app = player_app("conv_flip")
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen.query_one("#output-0", MatrixGrid)
        before = grid._values.copy()
        await pilot.press("f")
        after = grid._values.copy()
        # An impulse through true convolution draws the kernel the right way round.
        np.testing.assert_array_equal(after[1:4, 1:4], np.arange(1, 10).reshape(3, 3))
        np.testing.assert_array_equal(before[1:4, 1:4], np.arange(9, 0, -1).reshape(3, 3))
        await pilot.press("f")
        np.testing.assert_array_equal(grid._values, before)


async def test_border_usage_screen() -> None:
    from tui.screens.usage import UsageScreen

    app = player_app("conv_border_usage")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, UsageScreen)
        valid = app.screen.query_one("#usage-valid", MatrixGrid)._values
        same = app.screen.query_one("#usage-same", MatrixGrid)._values
        assert (valid[0, 0], valid[2, 2], same[0, 0], same[2, 2]) == (1, 9, 4, 9)
        await pilot.press("escape")
        assert isinstance(app.screen, PlayerScreen)


async def test_flip_and_usage_are_off_outside_convolution() -> None:
    app = player_app("pool_max_4x4")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u", "f")
        assert isinstance(app.screen, PlayerScreen)


async def test_translation_screen_moves_the_input() -> None:
    from tui.screens.translation import TranslationScreen

    app = player_app("translation_equivariance")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TranslationScreen)
        assert (screen.dy, screen.dx) == (0, 1)
        pooled = screen.query_one("#tr-stage-1-shift", MatrixGrid)
        assert pooled._highlight is not None and not pooled._highlight.any()
        await pilot.press("right", "right")
        assert screen.dx == 3
        assert pooled._highlight is not None and pooled._highlight.any()
        await pilot.press("0")
        assert (screen.dy, screen.dx) == (0, 0)
        await pilot.press("escape")
        assert isinstance(app.screen, PlayerScreen)


async def test_heat_view_draws_a_half_block_picture() -> None:
    app = player_app("conv_edges_on_shapes")  # 24×24 image, 22×22 outputs
    async with app.run_test(size=SIZE) as pilot:
        grid = app.screen.query_one("#input-0", MatrixGrid)
        assert grid.virtual_size.height == 24 + 1
        await pilot.press("h")
        await pilot.pause()
        z = grid.zoom  # as large as the space allows: each cell z characters, z pixel rows
        assert z >= 1
        assert grid.virtual_size.height == (24 * z + 1) // 2 + 1  # two pixel rows per line
        assert grid.virtual_size.width == grid._label_w + 24 * z + 1
        line = grid.render_line(3)
        assert "▀" in line.text
        out = app.screen.query_one("#output-0", MatrixGrid)
        assert out.zoom == z
        await pilot.click("#output-0", offset=(out._label_w + 5 * z, 1 + 3))  # line 3
        step = player(app).simulation.step(player(app).cursor)
        assert (step.filter, step.row, step.col) == (0, 6 // z, 5)  # type: ignore[attr-defined]


async def test_browser_lists_titles_as_written_not_as_markup() -> None:
    """A title such as "… a[l]⟨t⟩" keeps its brackets in the list as drawn."""
    from textual.widgets import OptionList

    title = next(s.title for s in scenarios.bundled() if s.name == "rnn_deep")
    assert "a[l]" in title
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("rnn_deep")
        await pilot.pause()
        drawn = [options.render_line(y).text for y in range(options.size.height)]
        assert any(title in line for line in drawn), drawn


async def test_a_long_step_label_is_cut_before_the_progress_bar_shrinks() -> None:
    from tui.widgets.timeline import MIN_BAR

    app = player_app("tokens_large")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("right")
        timeline = app.screen.query_one(Timeline)
        assert len(timeline.label) > 60
        drawn = str(timeline.render())
        bar = sum(drawn.count(ch) for ch in "━●┃")
        assert timeline.size.width >= 70 and bar >= MIN_BAR


@pytest.mark.parametrize(
    ("name", "listed", "unlisted"),
    [
        ("conv_vertical_edge", {"r", "f", "u", "t"}, {"k", "n / N", "< / >", "e", "B / b"}),
        ("lstm_gates", {"n / N"}, {"r", "f", "u", "t", "k", "< / >", "e", "] / ["}),
        ("lm_sample", {"< / >"}, {"r", "f", "k", "n / N", "B / b"}),
    ],
)
async def test_help_lists_only_the_keys_the_stage_on_screen_offers(
    name: str, listed: set[str], unlisted: set[str]
) -> None:
    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {key for key, _ in app.screen.keys}
        assert listed <= shown and not unlisted & shown
        assert {"space", "→ / ←", "g", "?", "q"} <= shown  # what every stage has


@pytest.mark.parametrize(
    ("name", "offered"),
    [("conv_vertical_edge", True), ("lstm_gates", False), ("activation_leaky_relu", False)],
)
async def test_row_keys_are_offered_only_where_output_has_rows(name: str, offered: bool) -> None:
    """PgUp/PgDn move a row of output: on a recurrent stage (a row is one step) or a one-row
    output (a row is every step) they are not offered, in the footer or in ?."""
    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        assert bool(screen.check_action("row", (1,))) is offered
        before = screen.cursor
        await pilot.press("pagedown")
        await pilot.pause()
        stage = screen.simulation.stage_of(0)
        assert screen.cursor == (before + stage.row_steps() if offered else before)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert ("PgDn / PgUp" in {key for key, _ in app.screen.keys}) is offered
