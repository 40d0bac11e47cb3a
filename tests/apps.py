"""Helpers the app tests share: a player opened on a bundled scenario, and its screen."""

from __future__ import annotations

import scenarios
from tui.app import NetsimApp
from tui.screens.player import PlayerScreen


def player_app(name: str = "conv_vertical_edge", **kw: object) -> NetsimApp:
    """The app opened on a bundled scenario's player; no PyTorch check unless asked for."""
    kw.setdefault("check", False)
    return NetsimApp(scenarios.load(scenarios.resolve(name)), **kw)  # type: ignore[arg-type]


def player(app: NetsimApp) -> PlayerScreen:
    """The app's player screen (fails the test if another screen is on top)."""
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    return screen
