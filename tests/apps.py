"""Helpers the app tests share: a player opened on a bundled scenario, its screen, a record
of the frames an app paints, and a network held by another thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from textual.app import App

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


T = TypeVar("T")


def painted(app: App[Any], note: Callable[[Any, Any], T | None]) -> list[T]:
    """A list that fills with ``note(screen, update)`` for every frame ``app`` paints (a
    ``note`` of None is left out). Frames are seen by wrapping ``App._display`` on the app
    instance, the method every frame goes through (internal to Textual, which is pinned)."""
    notes: list[T] = []
    display = app._display

    def noting(screen: Any, renderable: Any) -> Any:
        if renderable is not None:
            noted = note(screen, renderable)
            if noted is not None:
                notes.append(noted)
        return display(screen, renderable)

    app._display = noting  # type: ignore[method-assign]
    return notes


def kind_of(screen: Any, renderable: Any) -> str:
    """A frame's kind for ``painted``: ``LayoutUpdate`` when the screen was laid out again."""
    return type(renderable).__name__


@contextlib.contextmanager
def held_by_another_thread(network: Any) -> Iterator[None]:
    """For the body's length, another thread holds ``network``'s lock (``Network.if_free``),
    as a worker does while it computes a layer."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with network.if_free() as free:
            assert free
            held.set()
            done.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    try:
        assert held.wait(5)
        yield
    finally:
        done.set()
        other.join()
