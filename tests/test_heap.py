"""The long-lived heap is frozen out of the garbage collector's way after every screen's first
frame, not only the first one's, and what a replaced screen held is collected, never frozen
for good (see tui.heap): opening scenarios one after the other from the browser, a file
reloaded on disk, layers of a network stepped in the player one after the other."""

from __future__ import annotations

import gc
import os
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apps import painted, player

import scenarios
from engine.architectures import architecture
from engine.core import Simulation
from engine.network import Network, NetworkStage
from tui import heap
from tui.app import NetsimApp
from tui.screens.browser import BrowserScreen
from tui.screens.network import NetworkScreen
from tui.screens.player import PlayerScreen

SIZE = (120, 40)


def left_behind() -> list[str]:
    """The simulations' screens alive (frozen or not) that are no longer part of the app:
    replaced screens still held."""
    gc.unfreeze()
    try:
        return [
            type(o).__name__
            for o in gc.get_objects()
            # type(), not isinstance(): the latter reads __class__, which some of torch's
            # module objects answer with a deprecation warning.
            if issubclass(type(o), PlayerScreen | NetworkScreen) and not o.is_attached
        ]
    finally:
        gc.freeze()


def frozen(obj: object) -> bool:
    """Whether ``obj`` is frozen: the collector's generations (``gc.get_objects``) no longer
    hold it."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


async def settled(app: NetsimApp, pilot: Any) -> None:
    """Wait for the app's workers, then for the screen on top to have frozen the heap."""
    for _ in range(200):  # 10 s at most; usually one round
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if not heap.pending() and gc.get_freeze_count():
            return
    raise AssertionError("the heap was never frozen again")


async def replaced(app: NetsimApp, pilot: Any, *keys: str) -> None:
    """Press ``keys`` and wait for another screen to be on top."""
    before = weakref.ref(app.screen)  # not held here: the test looks whether it is freed
    await pilot.press(*keys)
    for _ in range(200):  # 10 s at most
        if app.screen is not before():
            return
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
    raise AssertionError(f"{keys} did not replace {before()}")


async def test_every_scenario_opened_from_the_browser_is_frozen_and_the_one_before_freed() -> None:
    app = NetsimApp(check=False)
    opened: list[weakref.ref[Simulation]] = []
    counts: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        for k in range(5):
            assert isinstance(app.screen, BrowserScreen)
            await pilot.press(*["down"] * (k % 2), "enter")
            await settled(app, pilot)
            screen = player(app)
            assert frozen(screen) and frozen(screen.simulation)
            # Every simulation opened before was collected, not frozen with this one.
            assert [ref() for ref in opened] == [None] * len(opened)
            assert left_behind() == []
            opened.append(weakref.ref(screen.simulation))
            counts.append(gc.get_freeze_count())
            del screen
            await pilot.press("escape")
            await pilot.pause()
            assert heap.pending() and gc.get_freeze_count()  # still frozen, collected later
            if k % 2:
                await pilot.press("up")
    # The same two scenarios in turn: what the frozen heap gains with each opening is
    # Textual's caches filling up to their bounds (a few per cent), not the players left.
    assert counts[4] - counts[2] < 0.15 * counts[2], counts
    # The closed app gave back what it froze (another app may follow in this process).
    assert not gc.get_freeze_count() and heap.pending()


async def test_the_browser_collects_after_painting_its_loading_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collect = heap.collect
    when: list[int] = []

    def noting() -> None:
        when.append(len(loading))
        collect()

    app = NetsimApp(check=False)
    loading = painted(
        app,
        lambda screen, _: (
            "loading" in str(screen.query_one("#browser-error").render()) or None
            if isinstance(screen, BrowserScreen)
            else None
        ),
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        monkeypatch.setattr(heap, "collect", noting)
        await pilot.press("enter")
        await settled(app, pilot)
        assert when and when[0] >= 1, "the collection came before the loading line's frame"


CONV = """
kind = "conv"
title = "Stride {s}"
input = {{ random = [9, 9], seed = 7, low = 0, high = 9 }}
kernel = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
stride = {s}
"""


async def test_a_reloaded_file_is_frozen_again_and_the_old_simulation_freed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(CONV.format(s=1), encoding="utf-8")
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=SIZE) as pilot:
        await settled(app, pilot)
        old: list[weakref.ref[Simulation]] = []
        for s in (2, 3, 1):
            old.append(weakref.ref(player(app).simulation))
            path.write_text(CONV.format(s=s), encoding="utf-8")
            stamp = path.stat().st_mtime_ns + 10**9 * s
            os.utime(path, ns=(stamp, stamp))
            player(app).poll_source()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert player(app).simulation.title == f"Stride {s}"
            await settled(app, pilot)
            assert frozen(player(app)) and frozen(player(app).simulation)
            assert [ref() for ref in old] == [None] * len(old)
            assert left_behind() == []


def lenet_app() -> tuple[Network, NetsimApp]:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, title="LeNet-5")
    net.init_params(0)
    net.set_input(np.random.default_rng(1).standard_normal(shape))
    return net, NetsimApp(Simulation([NetworkStage(net)], title=net.title), check=False)


async def test_the_network_table_and_each_layer_player_are_frozen_and_left_layers_freed() -> None:
    _, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(app, pilot)
        table = app.screen
        assert isinstance(table, NetworkScreen) and frozen(table)
        left: list[weakref.ref[PlayerScreen]] = []
        for keys in (["enter"], ["right_square_bracket"], ["right_square_bracket"]):
            await replaced(app, pilot, *keys)
            await settled(app, pilot)
            assert isinstance(app.screen, PlayerScreen) and frozen(app.screen)
            assert [ref() for ref in left] == [None] * len(left)
            assert left_behind() == []
            left.append(weakref.ref(app.screen))
        # Back on the table, the layer left stays frozen until the next one is opened.
        await replaced(app, pilot, "escape")
        assert app.screen is table and frozen(table) and heap.pending()
        await replaced(app, pilot, "down", "enter")
        await settled(app, pilot)
        assert isinstance(app.screen, PlayerScreen) and frozen(app.screen)
        assert [ref() for ref in left] == [None] * len(left)
        assert left_behind() == []


def test_full_collections_wait_for_an_idle_moment() -> None:
    """While an app runs, Python makes a full collection by itself only every ``FULL_EVERY``
    collections of the middle generation; ``collect_when_idle`` makes the one Python would
    have made with its own threshold, and nothing before it is due; closing the app gives
    Python its threshold back."""
    before = gc.get_threshold()
    heap.quiet_full_collections()
    try:
        assert gc.get_threshold() == (*before[:2], heap.FULL_EVERY)
        gc.collect()
        assert not heap.collect_when_idle()  # nothing due just after a full collection
        young = [[[i]] for i in range(30 * before[0] * heap.IDLE_FULL_AFTER)]
        assert gc.get_count()[2] >= heap.IDLE_FULL_AFTER  # Python would have collected
        full = gc.get_stats()[2]["collections"]
        assert heap.collect_when_idle()
        assert gc.get_stats()[2]["collections"] == full + 1 and gc.get_count()[2] == 0
        del young
    finally:
        heap.release()
    assert gc.get_threshold() == before


async def test_the_app_collects_when_no_key_is_pressed_whichever_screen_is_on_top(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The app looks every second whether no key or mouse event came for half a second and
    the screen on top is not playing, and only then collects: in the player, in a dialog over
    it, in the browser and in a network's layer table alike."""
    calls: list[bool] = []
    monkeypatch.setattr(heap, "collect_when_idle", lambda: calls.append(True) or True)
    monkeypatch.setattr("tui.app.IDLE_COLLECT_SECONDS", 0.05)
    # Long enough that a key pressed in the test still counts when a loaded machine stretches
    # the 0.3 s pause below: "idle" here comes only from moving ``last_input`` back.
    monkeypatch.setattr("tui.app.IDLE_SECONDS", 10.0)

    async def collects(app: NetsimApp, pilot: Any) -> bool:
        calls.clear()
        await pilot.pause(0.3)
        return bool(calls)

    app = NetsimApp(scenarios.load(scenarios.resolve("conv_vertical_edge")), check=False)
    async with app.run_test() as pilot:
        screen = player(app)
        app.last_input = time.monotonic() + 60  # a key now, and for a minute
        assert not await collects(app, pilot)
        app.last_input -= 120  # long ago
        assert await collects(app, pilot)
        await pilot.press("space")  # playing: keys may not come, frames do
        assert screen.playing
        app.last_input -= 120
        assert not await collects(app, pilot)
        await pilot.press("space")
        await pilot.press("g")  # the go-to dialog
        await pilot.pause()
        assert app.screen is not screen
        app.last_input -= 120
        assert await collects(app, pilot)
        await pilot.press("a")  # a key typed in the dialog counts
        assert not await collects(app, pilot)
    for app in (NetsimApp(), NetsimApp(scenarios.load(scenarios.resolve("net_lenet5_digits")))):
        async with app.run_test() as pilot:
            await pilot.pause()
            app.last_input -= 120
            assert await collects(app, pilot), type(app.screen).__name__
            await pilot.press("down")
            assert not await collects(app, pilot)
    reproducible = NetsimApp(reproducible=True)
    async with reproducible.run_test() as pilot:
        reproducible.last_input -= 120
        assert not await collects(reproducible, pilot)  # a snapshot's moment must not matter
