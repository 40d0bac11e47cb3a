"""A scenario file that changes on disk is read again in place; an invalid or deleted one is
reported and the screen stays. The tests call the player's poll directly instead of waiting
for its timer."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from apps import player

import scenarios
from engine.conv import ConvStage
from tui.app import NetsimApp
from tui.screens.help import HelpScreen

CONV = """
kind = "conv"
title = "Stride {s}"
description = "A 7×7 input through a 3×3 kernel."
input = {{ random = [7, 7], seed = 7, low = 0, high = 9 }}
kernel = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
stride = {s}
"""


def write(path: Path, text: str) -> None:
    """Write ``text`` and move the modification time on, as an editor's save does (two writes
    within the clock's resolution would look the same)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


async def poll(pilot) -> None:  # type: ignore[no-untyped-def]
    player(pilot.app).poll_source()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_changed_file_reloads_at_the_same_step_and_view(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    write(path, CONV.format(s=1))
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = player(app)
        await pilot.press("right", "right", "right", "right", "h")
        await poll(pilot)
        assert player(app) is first  # nothing changed, nothing read
        write(path, CONV.format(s=2))
        await poll(pilot)
        second = player(app)
        assert second is not first and second.heat and second.cursor == 4
        stage = second.simulation.stages[0]
        assert isinstance(stage, ConvStage) and stage.stride == (2, 2)
        fresh = scenarios.load(path).stages[0]
        np.testing.assert_array_equal(stage.output, fresh.output)
        assert second.title == "Stride 2"  # the header follows the file
        assert "stride 2" in str(second.query_one("#kernel-box").border_subtitle)
        # a step beyond the new end is clamped to the last
        await pilot.press("end")
        write(path, CONV.format(s=3))
        await poll(pilot)
        third = player(app)
        assert third.cursor == len(third.simulation) - 1 == 3


async def test_an_invalid_file_keeps_the_screen_until_it_is_fixed(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    write(path, CONV.format(s=1))
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = player(app)
        await pilot.press("right")
        write(path, CONV.format(s=1).replace("stride = 1", "stride = 0"))
        await poll(pilot)
        assert player(app) is first and "not reloaded" in first.sub_title
        (note,) = [n for n in app._notifications if n.severity == "error"]
        assert note.message.startswith(f"{path}: stride: ") and "\n" not in note.message
        write(path, CONV.format(s=1) + "kernel = [[1]]\n")  # a TOML error: one line too
        await poll(pilot)
        assert player(app) is first
        assert any("syntax error" in n.message for n in app._notifications)
        write(path, CONV.format(s=2))
        await poll(pilot)
        fixed = player(app)
        assert fixed is not first and fixed.simulation.stages[0].stride == (2, 2)
        assert fixed.cursor == 1 and "not reloaded" not in fixed.sub_title


async def test_a_deleted_file_is_reported_and_read_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    write(path, CONV.format(s=1))
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = player(app)
        path.unlink()
        await poll(pilot)
        assert player(app) is first and "deleted" in first.sub_title
        assert any("was deleted" in n.message for n in app._notifications)
        write(path, CONV.format(s=2))
        await poll(pilot)
        assert player(app).simulation.stages[0].stride == (2, 2)


async def test_no_reload_while_a_dialog_is_open(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    write(path, CONV.format(s=1))
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = player(app)
        await pilot.press("question_mark")
        write(path, CONV.format(s=2))
        first.poll_source()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)  # the dialog stays; nothing was read
        assert app.screen_stack[-2] is first
        await pilot.press("escape")
        await poll(pilot)
        assert player(app) is not first


async def test_a_reload_clears_what_was_marked_as_changed_here(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    write(path, CONV.format(s=1))
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("S", "P")  # stride 2, padding 1 here; the file says stride 1
        await pilot.pause()
        first = player(app)
        assert first.title == "Stride 1 (as saved)"
        assert first.simulation.description.startswith("Written for the file as saved")
        write(path, CONV.format(s=2))
        await poll(pilot)
        second = player(app)
        assert second is not first and second.simulation.stages[0].stride == (2, 2)
        assert second.title == "Stride 2" and "changed here" not in second.sub_title
        assert second.simulation.description == "A 7×7 input through a 3×3 kernel."
        shown = str(second.query_one("#description-text").render())
        assert "Written for" not in shown and "A 7×7 input" in shown
