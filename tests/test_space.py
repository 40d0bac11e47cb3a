"""Screens that use the space they get: every channel shown where it fits, names shortened
before they are cut, heat pictures that grow, and one frame per key."""

from __future__ import annotations

from typing import Any

from apps import player_app

from tui.panels.conv import ConvPanel
from tui.widgets.mapcard import MapCard, shortened


def shown(panel: Any, prefix: str) -> list[MapCard]:
    """The cards of one box that are on screen, left to right, top to bottom."""
    cards = [c for c in panel.query(MapCard) if c.display and (c.id or "").startswith(prefix)]
    return sorted(cards, key=lambda c: (c.region.x, c.region.y))


def label_on_screen(card: MapCard) -> str:
    """What the card's label line shows, as drawn."""
    return card._label.render_line(0).text.rstrip()


def test_a_label_gives_up_its_count_before_its_name() -> None:
    name = "filter 0 of 2 (Sobel x)"
    assert shortened(name, 40) == name
    assert shortened(name, 20) == "filter 0 (Sobel x)"
    assert shortened(name, 12) == "filter 0 (S…"
    assert len(shortened(name, 12)) == 12


async def test_filter_names_are_shortened_not_cut_in_a_narrow_card() -> None:
    """At 80×24 the filter's card has room for its whole name; at 72 columns it has not, and
    the label gives up its count before its name, never cut past the card."""
    app = player_app("conv_edges_on_shapes", start=600)  # a step of filter 1
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        (kernel,) = shown(app.screen.query_one(ConvPanel), "kernel-card")
        assert label_on_screen(kernel) == "filter 1 of 2 (Sobel y)"
    app = player_app("conv_edges_on_shapes", start=600)
    async with app.run_test(size=(72, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        (kernel,) = shown(panel, "kernel-card")
        assert kernel.label_text == "filter 1 of 2 (Sobel y)"
        assert kernel.region.width < len(kernel.label_text)  # too narrow for the whole name
        assert label_on_screen(kernel) == "filter 1 (Sobel y)"
        assert kernel._label.region.right <= kernel.region.right
        # The lit colour covers the name, not the columns after it.
        lit = [seg.text for seg in kernel._label.render_line(0) if seg.style and seg.style.bgcolor]
        assert "".join(lit) == "filter 1 (Sobel y)"


async def test_rgb_volume_shows_its_three_channels_at_120x40() -> None:
    app = player_app("conv_rgb_volume")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        inputs = shown(panel, "input-card")
        assert [c.label_text for c in inputs] == [
            "channel 0 of 3 (R)",
            "channel 1 of 3 (G)",
            "channel 2 of 3 (B)",
        ]
        assert len({c.region.y for c in inputs}) == 1  # side by side
        assert str(panel.query_one("#input-box").border_subtitle) == ""
        assert len(shown(panel, "kernel-card")) == 2
        assert len(shown(panel, "output-card")) == 2
        screen = app.screen.region
        for card in panel.query(MapCard):
            if card.display:
                assert screen.contains_region(card.region)
                for grid in card.grids:  # every map whole: nothing scrolls
                    if grid.display:
                        assert grid.max_scroll_x == 0 and grid.max_scroll_y == 0


async def test_an_activation_heat_picture_grows_into_its_space() -> None:
    from tui.panels.activation import ActivationPanel
    from tui.widgets.matrix import MatrixGrid

    zooms = {}
    for size in ((80, 24), (200, 50)):
        app = player_app("activation_sigmoid")
        async with app.run_test(size=size) as pilot:
            await pilot.press("h")
            await pilot.pause()
            panel = app.screen.query_one(ActivationPanel)
            grids = [panel.query_one(f"#act-{g}", MatrixGrid) for g in ("input", "output")]
            assert all(g.heat for g in grids)
            zooms[size] = [g.zoom for g in grids]
            for grid in grids:  # the picture is whole: nothing scrolls
                assert grid.max_scroll_x == 0 and grid.max_scroll_y == 0
                assert app.screen.region.contains_region(grid.region)
    assert zooms[(200, 50)][0] > 1, "a 2×5 picture has room to grow at 200×50"
    assert zooms[(200, 50)][0] >= zooms[(80, 24)][0]
    assert zooms[(200, 50)][0] == zooms[(200, 50)][1]  # input and output drawn alike


async def test_an_activation_step_paints_one_frame() -> None:
    """activation_leaky_relu's grids are whole (no scroll bar to repaint) and its inspector
    changes its text in place: one frame per step, at every size."""
    from tui.panels.activation import ActivationPanel
    from tui.widgets.matrix import MatrixGrid

    for size in ((80, 24), (120, 40), (200, 50)):
        app = player_app("activation_leaky_relu")
        async with app.run_test(size=size) as pilot:
            await pilot.press("right")  # warms the widgets' caches
            await pilot.pause()
            frames = count_frames(app)
            for _ in range(6):
                frames.clear()
                await pilot.press("right")
                await pilot.pause()
                assert len(frames) == 1, f"{len(frames)} frames at {size}"
            if size != (80, 24):
                panel = app.screen.query_one(ActivationPanel)
                for grid in panel.query(MatrixGrid):
                    assert grid.max_scroll_x == 0, f"a 1×9 input fits whole at {size}"


def count_frames(app: Any) -> list[int]:
    """A list that gets a 1 for every frame ``app`` paints; clear it before what you count."""
    frames: list[int] = []
    display = app._display

    def counting(screen: Any, renderable: Any) -> Any:
        if renderable is not None:
            frames.append(1)
        return display(screen, renderable)

    app._display = counting
    return frames


async def test_the_flip_mark_is_never_cut_from_a_filters_label() -> None:
    app = player_app("translation_equivariance")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        (kernel,) = shown(panel, "kernel-card")
        assert label_on_screen(kernel).startswith("⟲ filter 0")
        assert kernel.footer_text == "bias 0"
        assert kernel._footer is not None
        assert kernel._footer.render_line(0).text.rstrip() == "bias 0"


def test_fit_hands_out_the_columns_its_shares_round_away() -> None:
    from tui.panels._maps import Box, fit

    sets = [(1, [Box(77, 33)]), (2, [Box(26, 26, False), Box(71, 24)])]
    counts, widths = fit(200, 9, sets)
    assert counts == [1, 2]
    used = 9 + widths[0] + widths[1] + 2 * widths[2]
    assert used == 200, "every column goes to a card that lacks some"
    assert all(w <= box.natural for w, box in zip(widths, [Box(77, 33), *sets[1][1]], strict=True))


async def test_edges_on_shapes_at_200x50_fills_the_width_without_scrolling_the_panel() -> None:
    """Both 22×22 maps and the 24×24 input cannot all be whole in 200 columns (they need
    about 250); the boxes share the whole width, the panel itself never scrolls sideways."""
    app = player_app("conv_edges_on_shapes", start=600)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        grids = panel.query_one("#conv-grids")
        assert grids.max_scroll_x == 0
        boxes = [panel.query_one(f"#{b}-box") for b in ("input", "kernel", "output")]
        used = sum(b.region.width for b in boxes)
        # The kernel box keeps two columns for the flip's mark ("⟲ ").
        assert panel.content_region.width - 2 <= used <= panel.content_region.width
        outputs = shown(panel, "output-card")
        assert len(outputs) == 2 and outputs[0].region.y == outputs[1].region.y
        for card in outputs:
            assert app.screen.region.contains_region(card.region)


async def test_a_step_repaints_the_lines_of_the_curve_the_point_leaves_and_enters() -> None:
    from tui.widgets.curve import CurvePlot

    app = player_app("activation_leaky_relu")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        curve = app.screen.query_one("#act-curve", CurvePlot)
        region = curve.region
        rows: list[set[int]] = []
        display = app._display

        def counting(screen: Any, renderable: Any) -> Any:
            spans = getattr(renderable, "spans", None) or []
            rows.append(
                {
                    y
                    for y, x1, x2 in spans
                    if region.y <= y < region.bottom and x1 < region.right and x2 > region.x
                }
            )
            return display(screen, renderable)

        app._display = counting
        for _ in range(4):
            rows.clear()
            await pilot.press("right")
            await pilot.pause()
            painted = set().union(*rows)
            assert 1 <= len(painted) <= 2, painted
            assert region.height > 2
