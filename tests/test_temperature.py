"""The < and > keys: the language model on screen re-run at a colder or hotter temperature."""

from __future__ import annotations

import numpy as np
import pytest
from apps import player_app

from engine.language import LanguageModelStage
from tui.app import NetsimApp
from tui.panels.language import LanguageModelPanel
from tui.screens.player import TEMPERATURES, PlayerScreen, next_temperature
from tui.widgets.badge import TorchBadge
from tui.widgets.timeline import Timeline

SIZE = (120, 40)


def lm(app: NetsimApp) -> LanguageModelStage:
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    stage = screen.simulation.stages[0]
    assert isinstance(stage, LanguageModelStage)
    return stage


@pytest.mark.parametrize(
    ("tau", "direction", "expected"),
    [
        (1.0, 1, 1.5),
        (1.0, -1, 0.75),
        (0.6, 1, 0.75),  # a scenario's τ between two listed ones goes to the next one
        (0.6, -1, 0.5),
        (TEMPERATURES[-1], 1, None),
        (TEMPERATURES[0], -1, None),
        (0.05, 1, TEMPERATURES[0]),
    ],
)
def test_next_temperature_moves_along_the_list(
    tau: float, direction: int, expected: float | None
) -> None:
    assert next_temperature(tau, direction) == expected


async def test_keys_resample_at_the_new_temperature_with_the_same_seed() -> None:
    app = player_app("lm_sample")
    async with app.run_test(size=SIZE) as pilot:
        first = lm(app)
        assert first.temperature == 1.0
        await pilot.press("right", "right")
        await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")
        await pilot.pause()
        stage = lm(app)
        assert stage.temperature == 0.25
        assert stage.seed == first.seed and stage.mode == "sample"
        again = first.with_temperature(0.25)
        np.testing.assert_array_equal(stage.output, again.output)
        assert stage.ids == again.ids
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        assert screen.cursor == min(2, len(stage) - 1)  # the same time step
        assert app.screen.query_one(Timeline).total == len(stage)
        panels = list(app.screen.query(LanguageModelPanel))
        assert len(panels) == 1 and panels[0].lm is stage
        assert "τ = 0.25" in str(panels[0].query_one("#lm-text-box").border_title)
        running = panels[0].query_one("#lm-running-box")
        assert "at τ = 0.25" in str(running.border_title)
        assert "model's own P is at τ = 1" in str(running.border_subtitle)
        # colder means sharper: each chosen token is at least as likely as at τ = 1 ...
        step = stage.step(0)
        assert step.distribution is not None
        assert float(step.distribution.max()) > float(first.step(0).distribution.max())  # type: ignore[union-attr]
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert lm(app).temperature == 0.5


async def test_the_end_of_the_list_leaves_the_stage_alone() -> None:
    app = player_app("lm_sample")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(TEMPERATURES) + 2):
            await pilot.press("greater_than_sign")
        await pilot.pause()
        stage = lm(app)
        assert stage.temperature == TEMPERATURES[-1]
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert lm(app) is stage


async def test_the_new_stage_is_checked_against_torch_again() -> None:
    app = player_app("lm_score_name", check=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        badge = app.screen.query_one(TorchBadge)
        badge.state = "idle"
        await pilot.press("greater_than_sign")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert lm(app).temperature == 1.5
        assert badge.state == "done" and badge.matches


async def test_heat_view_carries_over_to_the_new_panel() -> None:
    """The heat setting is the player's, and a run at another τ keeps it. A language model
    draws no numbers to shade, so h itself is not offered there: the setting is made as a
    stage before would have made it."""
    app = player_app("lm_sample")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        assert screen.check_action("toggle_heat", ()) is False
        screen.heat = True
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert lm(app).temperature == 1.5
        assert screen.heat


async def test_keys_are_off_outside_a_language_model() -> None:
    app = player_app("rnn_step")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        stage = screen.simulation.stages[0]
        await pilot.press("greater_than_sign", "less_than_sign")
        await pilot.pause()
        assert screen.simulation.stages[0] is stage
        assert screen.check_action("temperature", (1,)) is False
