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


async def test_filter_names_are_shortened_not_cut_at_80x24() -> None:
    app = player_app("conv_edges_on_shapes", start=600)  # a step of filter 1
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        (kernel,) = shown(panel, "kernel-card")
        assert kernel.label_text == "filter 1 of 2 (Sobel y)"
        assert kernel.region.width < len(kernel.label_text)  # too narrow for the whole name
        assert label_on_screen(kernel) == "filter 1 (Sobel y)"
        assert kernel._label.region.right <= kernel.region.right


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
