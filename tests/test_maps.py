"""Every channel, filter and output map side by side when they fit, named, the current one lit,
the rest a page away; boxes as wide as their maps; heat pictures that grow; and what one step
costs (frames painted, grid lines built)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from apps import player, player_app

import scenarios
from engine.conv import ConvStage
from engine.core import Simulation
from engine.kernels import kernel
from tui.app import NetsimApp
from tui.panels._maps import (
    BOX_FRAME,
    MAX_SLOTS,
    Box,
    channel_name,
    fit,
    kernel_name,
    next_page,
    page_start,
    page_title,
    title_floors,
)
from tui.panels.conv import ConvPanel
from tui.panels.pool import PoolPanel
from tui.screens.player import PlayerScreen
from tui.widgets.mapcard import MapCard
from tui.widgets.matrix import MatrixGrid

# -- the pure parts -------------------------------------------------------------------------


def test_fit_grows_counts_in_turn_and_shares_the_spare_columns() -> None:
    small = Box(natural=20, least=20)
    # Everything fits whole: every map of both sets, each card at its natural width.
    counts, widths = fit(200, 9, [(3, [small]), (2, [small, small])])
    assert counts == [3, 2] and widths == [20, 20, 20]
    # Too narrow for all: the counts took turns, and nothing is wider than it needs.
    counts, widths = fit(100, 9, [(3, [small]), (2, [small, small])])
    assert 9 + counts[0] * 20 + counts[1] * 40 <= 100
    assert counts == [2, 1]
    # A wide map may shrink to its least width to let another stand beside it.
    wide = Box(natural=80, least=30)
    counts, widths = fit(100, 6, [(2, [wide])])
    assert counts == [2] and 30 <= widths[0] < 80 and 6 + 2 * widths[0] <= 100
    # Never more than MAX_SLOTS, never fewer than one.
    assert fit(10_000, 0, [(50, [small])])[0] == [MAX_SLOTS]
    assert fit(5, 0, [(50, [wide])])[0] == [1]


def test_a_box_is_never_narrower_than_its_floor() -> None:
    counts, _ = fit(60, 0, [(4, [Box(10, 10, floor=45)])])
    assert counts == [4]  # four cards of 10 fit within the 45-column floor, and in 60
    counts, _ = fit(40, 0, [(4, [Box(10, 10, floor=45)])])
    assert counts == [1]


def test_a_terminal_too_narrow_for_one_map_each_squeezes_the_cards_but_keeps_the_floors() -> None:
    """LeNet's conv1 at 80 columns: no card fits at its narrowest. The cards share what is
    left in proportion to their narrowest widths (the input, which the window moves over,
    keeps the most), except that a box whose share is below its floor keeps its floor, and
    the boxes take the whole width and no more."""
    frame = 9
    sets = [(1, [Box(83, 83)]), (6, [Box(39, 39, floor=19), Box(48, 48, floor=18)])]
    for width in (79, 74, 70):
        counts, widths = fit(width, frame, sets)
        assert counts == [1, 1]
        floors = [b.floor for _, bs in sets for b in bs]
        boxes = [max(w, floor) for w, floor in zip(widths, floors, strict=True)]
        assert frame + sum(boxes) == width, (width, widths)  # no column left over
        assert widths[1] >= 19 and widths[2] >= 18, (width, widths)  # the floors
        assert widths[0] > widths[2], (width, widths)
    assert fit(79, frame, sets)[1][0] >= 31  # four of LeNet's 7-column numbers and labels
    # Narrower still: every card gives up a share, never past the edge.
    for width in range(5, 60):
        counts, widths = fit(width, frame, [(1, [Box(83, 83)]), (6, [Box(39, 39), Box(48, 48)])])
        assert frame + sum(widths) <= max(width, frame + 3), (width, widths)


def test_titles_give_way_to_the_maps_in_a_narrow_terminal() -> None:
    """The floors kept are the first level of titles that leaves one map of each set legible
    (``LEGIBLE`` columns or its narrowest), then none: the titles are cut."""
    sets = [(1, [Box(83, 83)]), (6, [Box(39, 39), Box(48, 48)])]
    full, short = [17, 24, 29], [17, 19, 18]
    assert title_floors(200, 9, sets, full, short) == full
    assert title_floors(79, 9, sets, full, short) == short  # 9 + 20 + 24 + 29 > 79
    assert title_floors(60, 9, sets, full, short) == [0, 0, 0]  # 9 + 20 + 20 + 20 > 60
    small = [(1, [Box(8, 8)]), (2, [Box(8, 8), Box(8, 8)])]  # maps narrower than LEGIBLE
    assert title_floors(9 + 17 + 19 + 18, 9, small, full, short) == short


def test_pages_follow_the_current_map_and_wrap_round() -> None:
    assert page_start(current=4, start=0, per_page=2, total=6) == 4
    assert page_start(current=1, start=0, per_page=2, total=6) == 0
    assert page_start(current=5, start=2, per_page=3, total=6) == 3  # the last page is full
    assert next_page(0, 2, 6, 1) == 2 and next_page(4, 2, 6, 1) == 0
    assert next_page(0, 2, 6, -1) == 4 and next_page(2, 2, 6, -1) == 0
    assert next_page(0, 6, 6, 1) == 0
    assert page_title("maps", 2, 2, 6) == "maps 2–3 of 6, m for more"
    assert page_title("maps", 0, 6, 6) == ""
    assert page_title("channels", 1, 1, 3) == "channels 1 of 3, m for more"


def test_maps_are_named() -> None:
    assert channel_name(2, 3) == "channel 2 of 3 (B)"
    assert channel_name(2, 4) == "channel 2 of 4"
    assert kernel_name(kernel("sobel_x")) == "Sobel x"
    assert kernel_name(np.stack([kernel("scharr_x")] * 3)) == "Scharr x"
    assert kernel_name(np.stack([kernel("sobel_x"), kernel("sobel_y")])) is None
    assert kernel_name(np.ones((3, 3))) is None


# -- on screen --------------------------------------------------------------------------


def cards(panel: Any, prefix: str) -> list[MapCard]:
    """The cards of one box that are on screen, left to right."""
    shown = [c for c in panel.query(MapCard) if c.display and (c.id or "").startswith(prefix)]
    return sorted(shown, key=lambda c: (c.region.x, c.region.y))


@pytest.mark.parametrize("size", [(200, 50), (120, 40)])
async def test_sobel_x_stands_beside_sobel_y(size: tuple[int, int]) -> None:
    """conv_edges_on_shapes: both 22×22 output maps on screen at once, side by side, each
    named, with the filter that made it; the one being computed is lit."""
    app = player_app("conv_edges_on_shapes", start=600)  # a step of filter 1
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        outputs = cards(panel, "output-card")
        kernels = cards(panel, "kernel-card")
        assert [c.label_text for c in outputs] == ["map 0 of 2", "map 1 of 2"]
        assert [c.label_text for c in kernels] == [
            "filter 0 of 2 (Sobel x)",
            "filter 1 of 2 (Sobel y)",
        ]
        assert outputs[0].region.y == outputs[1].region.y  # side by side
        assert outputs[0].region.right <= outputs[1].region.x
        assert [c._label.lit for c in outputs] == [False, True]
        assert [c._label.lit for c in kernels] == [False, True]
        assert str(panel.query_one("#output-box").border_subtitle) == ""
        screen = app.screen.region
        for card in outputs:  # each on screen, showing some of its map
            assert screen.contains_region(card.region)
            assert card.grids[0].scrollable_content_region.width > card.grids[0]._label_w


async def test_parameter_sharings_maps_are_paged_with_m() -> None:
    app = player_app("conv_parameter_sharing")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        shown = len(cards(panel, "output-card"))
        assert 1 <= shown < 6
        box = panel.query_one("#output-box")
        last = f"–{shown - 1}" if shown > 1 else ""
        assert str(box.border_subtitle) == f"maps 0{last} of 6, m for more"
        assert player(app).check_action("maps", (1,))
        await pilot.press("m")
        await pilot.pause()
        labels = [c.label_text for c in cards(panel, "output-card")]
        assert labels[0] == f"map {shown} of 6"
        assert str(box.border_subtitle).startswith(f"maps {shown}")
        # The kernels follow the maps.
        assert cards(panel, "kernel-card")[0].label_text == f"filter {shown} of 6"
        await pilot.press("M")
        await pilot.pause()
        assert cards(panel, "output-card")[0].label_text == "map 0 of 6"
        # The inputs show as many channels as fit, named, and say when some are a page away.
        inputs = cards(panel, "input-card")
        assert [c.label_text for c in inputs] == [channel_name(c, 3) for c in range(len(inputs))]
        subtitle = str(panel.query_one("#input-box").border_subtitle)
        assert (subtitle == "") == (len(inputs) == 3)


async def test_heat_view_puts_more_maps_side_by_side() -> None:
    app = player_app("conv_parameter_sharing")
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        numbers = len(cards(panel, "output-card")), len(cards(panel, "input-card"))
        await pilot.press("h")
        await pilot.pause()
        heat = len(cards(panel, "output-card")), len(cards(panel, "input-card"))
        assert heat[0] > numbers[0] and heat[1] == 3
        label = f"maps 0–{heat[0] - 1} of 6, m for more"
        assert str(panel.query_one("#output-box").border_subtitle) == label


async def test_every_map_of_edges_on_shapes_is_whole_at_200x50_in_heat() -> None:
    """conv_edges_on_shapes at 200×50: in the heat view the input, both filters and both output
    maps are drawn whole, none scrolls. (In numbers they need 254 columns: its 24- and
    22-column maps are three characters a cell, and they share the width.)"""
    app = player_app("conv_edges_on_shapes", start=600)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        screen = app.screen.region
        shown = [c for prefix in ("input", "kernel", "output") for c in cards(panel, prefix)]
        assert len(shown) == 5
        for card in shown:
            assert screen.contains_region(card.region), card.id
            for grid in card.grids:
                if grid.display:
                    view = grid.scrollable_content_region
                    assert grid.virtual_size.width <= view.width, card.id
                    assert grid.virtual_size.height <= view.height, card.id


async def test_pool_lights_the_channel_it_pools() -> None:
    """pool_per_channel: every channel and its map on screen, named; moving to the next
    channel moves the light and the window with it."""
    app = player_app("pool_per_channel")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(PoolPanel)
        inputs, outputs = cards(panel, "pool-input-card"), cards(panel, "pool-output-card")
        assert [c.label_text for c in inputs] == [
            "channel 0 of 3 (R)",
            "channel 1 of 3 (G)",
            "channel 2 of 3 (B)",
        ]
        assert [c.label_text for c in outputs] == ["map 0 of 3", "map 1 of 3", "map 2 of 3"]
        player(app).cursor = 9  # the first step of channel 1
        await pilot.pause()
        assert [c._label.lit for c in inputs] == [False, True, False]
        assert [c._label.lit for c in outputs] == [False, True, False]
        windows = [c.grids[0]._window for c in inputs]
        assert windows[0] is None and windows[2] is None and windows[1] is not None
        # Channel 0 is done, channel 2 not begun.
        assert outputs[0].grids[0]._current == 9 and outputs[2].grids[0]._current == -1


async def test_pool_pages_its_channels_at_80_columns() -> None:
    app = player_app("pool_per_channel")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(PoolPanel)
        shown = len(cards(panel, "pool-input-card"))
        assert shown < 3
        assert "m for more" in str(panel.query_one("#pool-output-box").border_subtitle)
        player(app).cursor = 26  # the last channel: its page comes into view
        await pilot.pause()
        lit = [c for c in cards(panel, "pool-input-card") if c._label.lit]
        assert [c.label_text for c in lit] == ["channel 2 of 3 (B)"]


async def test_sobel_and_scharr_are_drawn_alike() -> None:
    """Both kernels on screen at once, and both outputs in the same column width and heat
    scale, so that they compare cell by cell."""
    app = player_app("conv_sobel_vs_scharr")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        kernels = cards(panel, "kernel-card")
        assert [c.label_text for c in kernels] == [
            "filter 0 of 2 (Sobel x)",
            "filter 1 of 2 (Scharr x)",
        ]
        a, b = (c.grids[0] for c in cards(panel, "output-card"))
        assert a.cell_width == b.cell_width
        assert (a._lo, a._hi) == (b._lo, b._hi)
        assert a.size.width == b.size.width


async def test_a_small_input_gets_a_small_box_and_titles_are_whole() -> None:
    app = player_app("conv_vertical_edge")  # a 6×6 input
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        grid = app.screen.query_one("#input-0", MatrixGrid)
        natural = grid.natural_size(False)[0]
        box = panel.query_one("#input-box")
        assert box.size.width <= natural + 6  # the grid, a margin, the frame: no empty field
        for name in ("input", "kernel", "output"):
            b = panel.query_one(f"#{name}-box")
            assert b.size.width >= len(str(b.border_title)) + 4, name


async def test_a_heat_picture_grows_into_the_space_it_has() -> None:
    app = player_app("conv_sobel_vs_scharr")  # 8×8 input
    async with app.run_test(size=(200, 50)) as pilot:
        grid = app.screen.query_one("#input-0", MatrixGrid)
        await pilot.press("h")
        await pilot.pause()
        assert grid.zoom >= 2
        assert grid.virtual_size.width == grid._label_w + 8 * grid.zoom + 1
        # Each cell is zoom characters wide: the first row's first cell repeats the block.
        line = grid.render_line(1).text
        assert "▀" * grid.zoom in line
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert grid.zoom < 3


async def test_a_zoomed_picture_is_what_the_whole_row_cropped_would_be() -> None:
    """A zoomed heat line, drawn from the visible cells only, equals the whole row cropped."""
    app = player_app("conv_sobel_vs_scharr")
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        grid = app.screen.query_one("#output-1", MatrixGrid)
        assert grid.zoom >= 2
        for y in range(1, grid.size.height):
            gutter, cells = grid._render_picture(y)
            whole = "".join(s.text for s in gutter + cells)[: grid.size.width]
            assert grid.render_line(y).text.rstrip() == whole.rstrip()


# -- what a step costs ------------------------------------------------------------------------


@contextmanager
def counted(app: NetsimApp) -> Iterator[dict[str, int]]:
    """Frames painted and grid lines built (not taken from the strip cache) in the block."""
    count = {"frames": 0, "lines": 0}
    display = app._display
    parts, picture = MatrixGrid._render_parts, MatrixGrid._render_picture

    def painting(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            count["frames"] += 1
        display(screen, renderable)

    def building(original: Any) -> Any:
        def build(self: MatrixGrid, *args: Any, **kw: Any) -> Any:
            count["lines"] += 1
            return original(self, *args, **kw)

        return build

    app._display = painting  # type: ignore[method-assign]
    MatrixGrid._render_parts = building(parts)  # type: ignore[method-assign]
    MatrixGrid._render_picture = building(picture)  # type: ignore[method-assign]
    try:
        yield count
    finally:
        app._display = display  # type: ignore[method-assign]
        MatrixGrid._render_parts = parts  # type: ignore[method-assign]
        MatrixGrid._render_picture = picture  # type: ignore[method-assign]


def large_conv() -> ConvStage:
    rng = np.random.default_rng(0)
    return ConvStage(
        rng.integers(0, 256, size=(3, 224, 224)).astype(float),
        rng.normal(size=(8, 3, 3, 3)).round(2),
        np.zeros(8),
        padding=1,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: player_app("conv_parameter_sharing"),
        lambda: player_app("pool_per_channel"),
        lambda: NetsimApp(Simulation([large_conv()]), check=False),
    ],
    ids=["conv_parameter_sharing", "pool_per_channel", "conv-3x224x224"],
)
async def test_a_step_paints_one_frame_and_builds_only_the_lines_that_changed(make: Any) -> None:
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        grids = [g for g in app.screen.query(MatrixGrid) if g.display and g.parent.display]
        on_screen = sum(g.size.height for g in grids)
        window_rows = max(g._window.height for g in grids if g._window is not None)
        inputs = sum(g._window is not None for g in grids)
        frames, quiet = [], 0
        for _ in range(16):
            before = [g.scroll_offset for g in grids]
            with counted(app) as count:
                await pilot.press("right")
                await pilot.pause()
            frames.append(count["frames"])
            scrolled = [g for g, b in zip(grids, before, strict=True) if g.scroll_offset != b]
            # A step rebuilds the rows its window leaves and enters on each input and the
            # rows of the current output cell; a grid that scrolled is rebuilt whole.
            bound = 2 * window_rows * inputs + 4 + sum(g.size.height for g in scrolled)
            assert count["lines"] <= bound
            assert count["lines"] < on_screen
            quiet += not scrolled
        assert frames == [1] * 16, "one frame per step, never a second one for a layout"
        assert quiet >= 4  # steps without a scroll did happen


@pytest.mark.parametrize(
    ("name", "offered"), [("conv_parameter_sharing", True), ("conv_vertical_edge", False)]
)
async def test_the_page_key_is_offered_only_where_maps_are_a_page_away(
    name: str, offered: bool
) -> None:
    from tui.screens.help import offered_keys

    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = player(app)
        keys = [key for key, _ in offered_keys(lambda action: screen.check_action(action, ()))]
        assert ("m / M" in keys) == offered
        assert bool(screen.check_action("maps", (1,))) == offered


def test_span_of_is_the_finite_range_and_follows_a_new_array() -> None:
    """The span skips inf and nan, is the same when asked again, and an array made after (a
    live edit makes new arrays) gets its own span, not the one of an array asked before."""
    import numpy as np

    from tui.panels._maps import span_of

    a = np.array([[1.0, -2.0], [np.inf, 5.0]])
    assert span_of(a) == (-2.0, 5.0)
    assert span_of(a) == (-2.0, 5.0)
    assert span_of(np.array([np.nan, np.nan])) == (0.0, 0.0)
    for k in range(20):  # more arrays than are kept
        b = np.full((3, 3), float(k))
        b[0, 0] = -k
        assert span_of(b) == (float(-k), float(k))


def test_page_title_shortens_before_the_key_is_cut() -> None:
    """A narrow box gets a shorter page title that still names the key; a wide one the whole
    sentence; all maps drawn, none."""
    from tui.panels._maps import PAGE_KEY, page_title

    assert page_title("maps", 0, 2, 6) == f"maps 0–1 of 6, {PAGE_KEY} for more"
    assert page_title("maps", 0, 2, 6, room=40) == f"maps 0–1 of 6, {PAGE_KEY} for more"
    assert page_title("maps", 0, 1, 2, room=17) == f"maps 0 of 2 · {PAGE_KEY}"
    assert page_title("maps", 0, 1, 2, room=12) == f"0 of 2 · {PAGE_KEY}"
    assert page_title("maps", 0, 6, 6, room=12) == ""


async def test_a_narrow_output_box_names_its_page_key_whole() -> None:
    """At 80×24 conv_edges_on_shapes shows one of its two maps: the box's subtitle fits its
    border and ends with the page key, instead of being cut to "m f…"."""
    from apps import player, player_app

    app = player_app("conv_edges_on_shapes")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = player(app).query_one("#output-box")
        subtitle = str(box.border_subtitle)
        assert subtitle.endswith("· m"), subtitle
        assert len(subtitle) <= box.outer_size.width - 6


async def opened_conv(pilot: Any, network: bool) -> ConvPanel:
    """The player's conv panel, once the app has opened it (a network's first layer from its
    layer table)."""
    app = pilot.app
    await pilot.pause()
    if network:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        while not isinstance(app.screen, PlayerScreen):
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
    return app.screen.query_one(ConvPanel)


@pytest.mark.parametrize("name", ["conv_parameter_sharing", "net_lenet5_digits"])
async def test_heat_view_keeps_the_title_room_of_the_plan_it_draws(name: str) -> None:
    """In heat view the panel tries larger pictures (zoom 4, 3, 2) before the plain one; the
    boxes keep the room for their titles that the plan drawn left, not that of the last zoom
    tried (at 80×24 no zoom is drawn, and the title room differs between them)."""
    app = NetsimApp(scenarios.load(scenarios.resolve(name)), check=False)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await opened_conv(pilot, network=name.startswith("net_"))
        await pilot.press("h")
        await pilot.pause()
        assert panel._applied is not None
        *_, floors, zoom, lines = panel._applied
        assert panel._plan(panel.content_region.width, lines, zoom)[3] == floors
        for box_id, floor in zip(("input", "kernel", "output"), floors, strict=True):
            got = panel.query_one(f"#{box_id}-box").styles.min_width
            assert (None if got is None else got.value) == (floor + BOX_FRAME if floor else None)
