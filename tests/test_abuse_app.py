"""The app under careless or hostile use: fast keys, absurd input, strange names, broken files,
numbers past float64's range. Each must leave a working screen or a one-line error."""

from __future__ import annotations

import pytest
from textual.widgets import ContentSwitcher, Input

import scenarios
from tui.app import NetsimApp
from tui.screens.goto import GotoScreen
from tui.screens.player import PlayerScreen

SIZE = (120, 40)


def player_app(name: str, **kw: object) -> NetsimApp:
    kw.setdefault("check", False)
    return NetsimApp(scenarios.load(scenarios.resolve(name)), **kw)  # type: ignore[arg-type]


def player(app: NetsimApp) -> PlayerScreen:
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    return screen


# -- the temperature keys and the cursor -----------------------------------------------------


@pytest.mark.parametrize("name", ["lm_sample", "lm_words_sample"])
async def test_cursor_stays_inside_a_resampled_simulation(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a re-run stage's panel mounts, the footer checks bindings against the cursor: it
    must already lie inside the new simulation, however many steps the new sample has."""
    seen: list[tuple[int, int]] = []
    mount = ContentSwitcher.mount

    def checking_mount(self: ContentSwitcher, *args: object, **kw: object) -> object:
        screen = self.screen
        if isinstance(screen, PlayerScreen):
            seen.append((screen.cursor, len(screen.simulation)))
            screen.simulation.locate(screen.cursor)  # raises if the cursor is outside
        return mount(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ContentSwitcher, "mount", checking_mount)
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        lengths = {len(p.simulation)}
        for key in ("end", "less_than_sign") * 5 + ("greater_than_sign", "end") * 8:
            await pilot.press(key)
            lengths.add(len(p.simulation))
            assert 0 <= p.cursor < len(p.simulation)
        await pilot.pause()
    assert seen and all(0 <= c < n for c, n in seen)
    assert len(lengths) > 1, "the test needs temperatures that change the number of steps"


# -- the go-to dialog ------------------------------------------------------------------------


async def test_goto_dialog_refuses_letters_and_bounds_the_digits() -> None:
    app = player_app("conv_vertical_edge")  # 16 steps: two digits at most
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("g")
        assert isinstance(app.screen, GotoScreen)
        await pilot.press(*("1" * 40), "a", "-", "_", "e")
        field = app.screen.query_one("#goto-input", Input)
        assert field.value == "11"
        await pilot.press("escape")
        assert app.screen is p
