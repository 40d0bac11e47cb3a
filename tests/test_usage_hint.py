"""The border-use view's note says what h does from the view on screen: numbers from the heat
picture it opens in, heat again once the numbers are shown."""

from __future__ import annotations

from apps import player_app
from textual.widgets import Static

from tui.screens.usage import UsageScreen
from tui.widgets.matrix import MatrixGrid


async def test_the_hint_follows_what_h_would_do() -> None:
    app = player_app("conv_border_usage")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("u")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, UsageScreen)
        grids = list(screen.query(MatrixGrid))
        note = screen.query_one("#usage-note", Static)
        for heat in (True, False, True):
            assert [g.heat for g in grids] == [heat, heat]
            text = str(note.render())
            assert ("press h to see the numbers" in text) == heat, text
            assert ("Press h to see them as heat" in text) == (not heat), text
            # The counts are explained whichever way they are drawn.
            assert "windows (stride 1) read each pixel" in text
            await pilot.press("h")
            await pilot.pause()
