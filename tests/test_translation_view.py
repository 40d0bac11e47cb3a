"""The shift view (t): every stage's output on the original input beside its output on the moved
input, so that the convolution's output is seen to follow the shift and pooling to absorb it."""

from __future__ import annotations

from typing import Any

import numpy as np
from apps import player, player_app
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Region
from textual.pilot import Pilot

from engine import ConvStage, PoolStage
from engine.core import Simulation
from engine.translation import shift
from tui.app import NetsimApp
from tui.screens.receptive import plane
from tui.screens.translation import TranslationScreen
from tui.widgets.matrix import MatrixGrid

SIZE = (120, 40)
NARROW = (80, 24)


def grid(screen: TranslationScreen, key: str, side: str) -> MatrixGrid:
    return screen.query_one(f"#tr-{key}-{side}", MatrixGrid)


def title(screen: TranslationScreen, key: str, side: str) -> str:
    """The box's title as shown (the widget hands it back as markup)."""
    return Content.from_markup(screen.query_one(f"#tr-box-{key}-{side}").border_title or "").plain


def subtitle(screen: TranslationScreen, key: str) -> str:
    """The moved box's subtitle as shown: how many cells changed and what the stage did."""
    return Content.from_markup(screen.query_one(f"#tr-box-{key}-shift").border_subtitle or "").plain


def fully_on_screen(g: MatrixGrid, screen: Region) -> bool:
    """Every number and index of ``g`` is drawn inside ``screen`` (its last, blank column of
    padding may be cut)."""
    need_w, need_h = g.virtual_size.width - 1, g.virtual_size.height
    r = g.region
    return r.width >= need_w and r.height >= need_h and screen.contains_region(r)


async def open_shift_view(app: NetsimApp, pilot: Pilot[Any]) -> TranslationScreen:
    await pilot.press("t")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TranslationScreen)
    return screen


async def test_the_convolution_output_and_its_moved_version_are_side_by_side() -> None:
    app = player_app("translation_equivariance")
    async with app.run_test(size=SIZE) as pilot:
        conv, pool = player(app).simulation.stages
        screen = await open_shift_view(app, pilot)
        assert (screen.dy, screen.dx) == (0, 1)
        orig, moved = grid(screen, "stage-0", "orig"), grid(screen, "stage-0", "shift")
        # Titles name the stage; the two grids share a row, the original on the left.
        for side in ("orig", "shift"):
            assert title(screen, "stage-0", side).startswith(conv.name)
            assert title(screen, "stage-1", side).startswith(pool.name)
        assert orig.region.y == moved.region.y and orig.region.x < moved.region.x
        # What is drawn: the convolution's output, and on the moved input the same picture one
        # column to the right (away from the zero-filled border and the column pushed out).
        y = plane(conv.output)
        np.testing.assert_array_equal(orig._values, y)
        assert not np.array_equal(moved._values, y)
        np.testing.assert_array_equal(moved._values[:, 2:-1], shift(y, 0, 1)[:, 2:-1])
        lit = moved._highlight
        assert lit is not None and np.array_equal(lit, moved._values != y) and lit.any()
        # Pooling absorbs the one-pixel move.
        pooled = grid(screen, "stage-1", "shift")
        np.testing.assert_array_equal(pooled._values, plane(pool.output))
        assert pooled._highlight is not None and not pooled._highlight.any()
        changed = int(np.sum(moved._values != y))
        assert subtitle(screen, "stage-0") == f"{changed} of {y.size} changed · moved along"
        assert subtitle(screen, "stage-1") == f"0 of {pooled._values.size} changed · absorbed"
        # Everything fits at 120×40: every grid whole, nothing to scroll to.
        whole = app.screen.region
        for key in ("input", "stage-0", "stage-1"):
            for side in ("orig", "shift"):
                assert fully_on_screen(grid(screen, key, side), whole), (key, side)
        assert screen.query_one("#tr-body", VerticalScroll).max_scroll_y == 0
        assert whole.contains_region(screen.query_one("#tr-note").region)


async def test_a_move_across_a_pooling_window_moves_the_pooled_output_too() -> None:
    app = player_app("translation_equivariance")
    async with app.run_test(size=SIZE) as pilot:
        conv, pool = player(app).simulation.stages
        screen = await open_shift_view(app, pilot)
        await pilot.press("right", "right")
        assert (screen.dy, screen.dx) == (0, 3)
        y = plane(conv.output)
        moved = grid(screen, "stage-0", "shift")._values
        np.testing.assert_array_equal(moved[:, 4:-3], shift(y, 0, 3)[:, 4:-3])
        pooled = grid(screen, "stage-1", "shift")
        p = plane(pool.output)
        assert not np.array_equal(pooled._values, p)
        # Three pixels are one pooling window: inside, the pooled output moved by one cell.
        np.testing.assert_array_equal(pooled._values[:, 1:-1], shift(p, 0, 1)[:, 1:-1])
        assert "3 right" in str(screen.query_one("#tr-note").render())
        assert subtitle(screen, "stage-1").endswith("changed · moved along")
        await pilot.press("0")
        np.testing.assert_array_equal(grid(screen, "stage-0", "shift")._values, y)
        assert subtitle(screen, "stage-0") == f"0 of {y.size} changed"  # no verdict unmoved


async def test_at_80x24_both_convolution_grids_are_whole_and_the_rest_scrolls_into_view() -> None:
    app = player_app("translation_equivariance")
    async with app.run_test(size=NARROW) as pilot:
        screen = await open_shift_view(app, pilot)
        whole = app.screen.region
        orig, moved = grid(screen, "stage-0", "orig"), grid(screen, "stage-0", "shift")
        for g in (orig, moved):  # every column: side by side without cropping
            assert g.region.width >= g.virtual_size.width - 1
        assert orig.region.y == moved.region.y and orig.region.right <= moved.region.x
        body = screen.query_one("#tr-body", VerticalScroll)
        assert body.max_scroll_y > 0
        note = screen.query_one("#tr-note")
        for _ in range(10):
            if body.scroll_y >= body.max_scroll_y:
                break
            await pilot.press("pagedown")
            await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        assert whole.contains_region(note.region) and note.region.height > 0
        pooled = grid(screen, "stage-1", "shift")
        assert fully_on_screen(pooled, whole)
        assert (screen.dy, screen.dx) == (0, 1)  # scrolling does not move the input


async def test_stage_names_that_look_like_markup_are_titled_as_written() -> None:
    x = np.arange(2 * 6 * 6, dtype=float).reshape(2, 6, 6)
    conv = ConvStage(x, np.ones((3, 2, 3, 3)), np.zeros(3), name="[b]conv")
    pool = PoolStage(conv.output, size=2, name="pool[/]")
    app = NetsimApp(Simulation([conv, pool], title="markup"), check=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_shift_view(app, pilot)
        assert title(screen, "input", "orig") == "input, channel 1 of 2 · original"
        assert title(screen, "stage-0", "shift") == "[b]conv, channel 1 of 3 · on the moved input"
        assert title(screen, "stage-1", "orig") == "pool[/], channel 1 of 3 · original"
