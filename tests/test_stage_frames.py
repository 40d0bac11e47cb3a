"""Moving from one stage of a pipeline to the next paints one frame, counted as
``tests/test_frames.py`` counts them (a wrapper around ``App._display``).

The new panel is laid out; the scrolling area may gain or lose its scroll bar (a second layout),
and the footer is rebuilt for the new stage's keys (a third). The player holds the paint until
the layouts have settled, then paints once.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_frames import SIZE, count_frames, player_app

from tui.app import NetsimApp
from tui.screens.player import PlayerScreen
from tui.widgets.keyfooter import KeyFooter


async def settle(app: NetsimApp, pilot: Any) -> None:
    """Wait until the app is idle and a change of stage on screen is painted."""
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    await pilot.pause()
    for _ in range(500):
        if not screen.settling:
            break
        await pilot.pause(0.01)
    assert not screen.settling, "the change of stage was never painted"
    await pilot.pause()


def footer_keys(app: NetsimApp) -> list[str]:
    """The keys the footer shows, as their key displays."""
    footer = app.screen.query_one(KeyFooter)
    return [str(key.key_display) for key in footer.shown_keys()]


PIPELINES = ["caption_shapes", "caption_model_error", "translate_date", "cnn_conv_relu_pool"]


@pytest.mark.parametrize("name", PIPELINES)
async def test_a_change_of_stage_paints_one_frame(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        stages = len(screen.simulation.stages)
        assert stages > 1
        frames = count_frames(app)
        # Every stage forward with ], then back to the first with [.
        keys = ["right_square_bracket"] * (stages - 1) + ["left_square_bracket"] * (stages - 1)
        seen = []
        for key in keys:
            before = screen.simulation.locate(screen.cursor)[0]
            frames.clear()
            await pilot.press(key)
            await settle(app, pilot)
            after = screen.simulation.locate(screen.cursor)[0]
            assert after != before, "the key did not change the stage"
            assert len(frames) == 1, (key, after, [f.kind for f in frames])
            seen.append(after)
        assert seen[-1] == 0 and max(seen) == stages - 1


async def test_stepping_across_a_stage_boundary_paints_one_frame() -> None:
    app = player_app("cnn_conv_relu_pool")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        frames = count_frames(app)
        for boundary in screen.simulation.offsets[1:-1]:
            screen.cursor = boundary - 1
            await settle(app, pilot)
            frames.clear()
            await pilot.press("right")
            await settle(app, pilot)
            assert screen.cursor == boundary
            assert len(frames) == 1, [f.kind for f in frames]


async def test_the_footer_after_a_change_of_stage_is_the_one_a_new_player_shows() -> None:
    """The frame painted is the settled screen: the footer offers the new stage's keys, among
    them ``i`` exactly when the new panel is taller than its area."""
    app = player_app("caption_shapes")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        switched = footer_keys(app)
        scrolls = screen.query_one("#panel-area").max_scroll_y > 0
        start = screen.simulation.offsets[1]
    fresh = player_app("caption_shapes")
    fresh._start = start
    async with fresh.run_test(size=SIZE) as pilot:
        await settle(fresh, pilot)
        assert footer_keys(fresh) == switched
    assert ("i" in switched) == scrolls


async def test_the_first_frame_of_the_player_is_not_held() -> None:
    app = player_app("caption_shapes")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        assert not screen.settling
