"""Views that take long to compute on a large input run in a worker thread, show that they are
working, and Esc cancels them; small inputs are computed on the spot as before."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scenarios
import tui.screens.translation as translation
from engine.conv import ConvStage
from tui.app import NetsimApp
from tui.screens.player import SYNC_OUTPUTS, PlayerScreen
from tui.screens.translation import SYNC_CELLS, TranslationScreen, shifted, work_cells
from tui.widgets.matrix import MatrixGrid

SIZE = (120, 40)


def large_conv(tmp_path: Path) -> Path:
    """A 100×100 input through 24 random 3×3 filters: 235,296 outputs, above both thresholds
    and still quick to compute."""
    path = tmp_path / "large.toml"
    path.write_text(
        'kind = "conv"\ntitle = "large"\ninput = { random = [100, 100], seed = 0 }\n'
        "kernels = { random = [24, 1, 3, 3], seed = 1 }\n",
        encoding="utf-8",
    )
    return path


def app_on(path: Path) -> NetsimApp:
    return NetsimApp(scenarios.load(path), check=False)


def record_threads(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, gate: threading.Event | None = None
) -> list[threading.Thread]:
    """Wrap ``owner.name`` to record the thread each call runs on; with ``gate``, a call first
    waits until the gate is set (so the test sees the view while it is working)."""
    threads: list[threading.Thread] = []
    real = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        if gate is not None:
            gate.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)
    return threads


async def player_of(app: NetsimApp, pilot: Any) -> PlayerScreen:
    """The player the app opened on, once it has settled."""
    await pilot.pause()
    player = app.screen
    assert isinstance(player, PlayerScreen)
    return player


async def finish(app: NetsimApp, pilot: Any, gate: threading.Event | None = None) -> None:
    """Let the held call through (with ``gate``), wait for every worker and the frame after."""
    if gate is not None:
        gate.set()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_large_move_runs_in_a_worker_and_shows_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    assert work_cells(app.simulation) > SYNC_CELLS  # type: ignore[arg-type]
    threads = record_threads(monkeypatch, translation, "shifted")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await finish(app, pilot)
        screen = app.screen
        assert isinstance(screen, TranslationScreen)
        assert threads and all(t is not threading.main_thread() for t in threads)
        expected = shifted(screen.simulation, 0, 1)
        assert not isinstance(expected, str)
        for key, _, b, changed, _ in expected.pairs:
            grid = screen.query_one(f"#tr-{key}-shift", MatrixGrid)
            np.testing.assert_array_equal(grid._values, b)
            assert grid._highlight is not None
            np.testing.assert_array_equal(grid._highlight, changed)
        assert not screen.query_one("#tr-progress").display  # hidden once done
        await pilot.press("left")  # back to no shift: computed again, in a worker
        await finish(app, pilot)
        assert len(threads) == 2 and (screen.dy, screen.dx) == (0, 0)


async def test_a_small_move_is_computed_on_the_spot(monkeypatch: pytest.MonkeyPatch) -> None:
    app = NetsimApp(scenarios.load(scenarios.resolve("translation_equivariance")), check=False)
    threads = record_threads(monkeypatch, translation, "shifted")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert threads == [threading.main_thread()]


async def test_esc_leaves_a_move_being_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    record_threads(monkeypatch, translation, "shifted", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = app.screen
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, TranslationScreen)
        assert screen.query_one("#tr-progress").display  # working, and says so
        await pilot.press("escape")
        await finish(app, pilot, gate)
        assert app.screen is player


async def test_the_first_flip_of_a_large_convolution_runs_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    assert app.simulation is not None and app.simulation.stages[0].output.size > SYNC_OUTPUTS
    gate = threading.Event()
    threads = record_threads(monkeypatch, ConvStage, "flipped", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        panel = player._panels[0]
        await pilot.press("f")
        assert panel.loading  # the panel says it is working
        await finish(app, pilot, gate)
        assert not panel.loading
        assert len(threads) == 1 and threads[0] is not threading.main_thread()
        assert panel._flip  # type: ignore[attr-defined]
        await pilot.press("f")  # back: nothing to compute
        await pilot.pause()
        assert len(threads) == 1 and not panel._flip  # type: ignore[attr-defined]


async def test_esc_cancels_a_flip_being_computed_and_stays_in_the_player(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    record_threads(monkeypatch, ConvStage, "flipped", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        panel = player._panels[0]
        await pilot.press("f")
        assert panel.loading
        await pilot.press("escape")
        assert not panel.loading
        await finish(app, pilot, gate)
        assert app.screen is player
        assert not panel._flip  # type: ignore[attr-defined]
        await pilot.press("escape")  # nothing is being computed: back to the list
        await pilot.pause()
        assert app.screen is not player


# -- live changes (v, s / S, p / P) on a large input ------------------------------------------


async def test_a_large_stride_change_runs_in_a_worker_and_shows_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    threads = record_threads(monkeypatch, ConvStage, "with_window", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        before = player.simulation.stages[0]
        assert isinstance(before, ConvStage) and before.output.size > SYNC_OUTPUTS
        await pilot.press("S")
        assert player._panels[0].loading  # working, and says so
        assert player.simulation.stages[0] is before  # the old numbers stay meanwhile
        await finish(app, pilot, gate)
        assert len(threads) == 1 and threads[0] is not threading.main_thread()
        after = player.simulation.stages[0]
        assert isinstance(after, ConvStage) and after.stride == (2, 2)
        assert not player._panels[0].loading
        fresh = ConvStage(before.x, before.weight, before.bias, 2, 0)
        np.testing.assert_array_equal(after.output, fresh.output)
        assert "changed here: stride 2" in player.sub_title
        assert player.title.endswith("(as saved)")


async def test_a_new_change_replaces_the_one_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    threads = record_threads(monkeypatch, ConvStage, "with_window", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        before = player.simulation.stages[0]
        await pilot.press("S", "S")  # the second asks for one more than the first
        await pilot.pause()
        await finish(app, pilot, gate)
        assert len(threads) == 2
        after = player.simulation.stages[0]
        assert isinstance(after, ConvStage) and after.stride == (3, 3)
        np.testing.assert_array_equal(
            after.output, ConvStage(before.x, before.weight, before.bias, 3, 0).output
        )
        assert player.sub_title.endswith("changed here: stride 3")  # from the file's 1


async def test_esc_cancels_a_large_change_and_keeps_the_old_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    record_threads(monkeypatch, ConvStage, "with_window", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        stages = player.simulation.stages
        await pilot.press("P")
        assert player._panels[0].loading
        await pilot.press("escape")
        assert not player._panels[0].loading
        await finish(app, pilot, gate)
        assert app.screen is player and player.simulation.stages is stages
        assert "changed here" not in player.sub_title


async def test_a_large_value_change_runs_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.widgets import Input

    app = app_on(large_conv(tmp_path))
    gate = threading.Event()
    threads = record_threads(monkeypatch, ConvStage, "with_values", gate)
    async with app.run_test(size=SIZE) as pilot:
        player = await player_of(app, pilot)
        before = player.simulation.stages[0]
        assert isinstance(before, ConvStage)
        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one(Input).value = "kernel[0, 1, 1] = 9"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is player and player._panels[0].loading
        await finish(app, pilot, gate)
        assert len(threads) == 1 and threads[0] is not threading.main_thread()
        weight = before.weight.copy()
        weight[0, 0, 1, 1] = 9
        fresh = ConvStage(before.x, weight, before.bias, before.stride, before.padding)
        np.testing.assert_array_equal(player.simulation.stages[0].output, fresh.output)
        assert not player._panels[0].loading and "kernel[0, 0, 1, 1] = 9" in player.sub_title


async def test_a_small_change_is_computed_on_the_spot(monkeypatch: pytest.MonkeyPatch) -> None:
    app = NetsimApp(scenarios.load(scenarios.resolve("conv_stride_2")), check=False)
    threads = record_threads(monkeypatch, ConvStage, "with_window")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        await pilot.pause()
        assert threads == [threading.main_thread()]
