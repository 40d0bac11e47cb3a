"""Every line of the player is reachable at 80×24, the smallest size supported: on every stage of
every bundled scenario, pressing ``i`` scrolls the panel until each line of it, the inspector's
included, has been on screen, and ``d`` pages the description until each of its lines has.
A line counts as shown when the screen's own hit test finds the widget there."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import numpy as np
import pytest
from apps import player, player_app
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widget import Widget

import scenarios
from tui.app import NetsimApp
from tui.panels.recurrent import LABEL_W, UNIT_W, gate_table
from tui.screens.player import PlayerScreen

SMALLEST = (80, 24)
PLAYED = [
    b.name
    for b in scenarios.bundled()
    if tomllib.loads(b.path.read_text(encoding="utf-8"))["kind"] != "network"
]
"""The scenarios the player opens (a network opens its own screen first)."""


def shown_lines(screen: PlayerScreen, widget: Widget) -> set[int]:
    """The lines of ``widget`` (0 is its top) that are on screen now, not hidden by a scroll,
    a clip or another widget."""
    region = widget.region
    if not widget.display or region.height == 0:
        return set()
    out = set()
    for y in range(max(region.y, 0), min(region.bottom, screen.size.height)):
        for x in (region.x + 1, region.x + region.width // 2):
            try:
                hit, _ = screen.get_widget_at(x, y)
            except Exception:  # nothing there
                continue
            if hit is widget or widget in hit.ancestors:
                out.add(y - region.y)
                break
    return out


async def walk(pilot: Pilot[Any], widgets: list[Widget]) -> list[set[int]]:
    """Press ``i`` until the panel is back at its top (each press moves it at least a line, or
    back to the top), gathering which lines of each widget were shown on the way."""
    screen = player(pilot.app)  # type: ignore[arg-type]
    area = screen.query_one("#panel-area")
    seen = [shown_lines(screen, w) for w in widgets]
    if not screen.check_action("inspector", (1,)):
        return seen  # nothing to scroll: then it must all be on screen already
    for _ in range(widgets[0].region.height + 2):
        await pilot.press("i")
        await pilot.pause()
        for lines, w in zip(seen, widgets, strict=True):
            lines |= shown_lines(screen, w)
        if area.scroll_y == 0:
            break
    assert area.scroll_y == 0, "i never came back to the top of the panel"
    return seen


def unclipped(widget: Widget) -> None:
    """The widget is as tall as its text: no max-height cuts lines off (the inspector is not a
    scroll view; a line it loses is lost)."""
    width = widget.content_region.width
    needed = widget.get_content_height(widget.size, widget.app.size, width)
    assert widget.content_region.height >= needed, (widget, needed)


async def every_panel_line(pilot: Pilot[Any], where: str, stage_no: int) -> None:
    """With the player on stage ``stage_no``, ``i`` brings every line of its panel and of its
    inspector on screen, and the inspector is as tall as its text."""
    screen = player(pilot.app)  # type: ignore[arg-type]
    screen.cursor = screen.simulation.offsets[stage_no]
    await pilot.pause()
    panel = screen.query_one("#panels").children[stage_no]
    inspector = panel.inspector()  # type: ignore[attr-defined]
    widgets: list[Widget] = [panel] + ([inspector] if inspector is not None else [])
    if inspector is not None:
        unclipped(inspector)
    seen = await walk(pilot, widgets)
    for w, lines in zip(widgets, seen, strict=True):
        missing = set(range(w.region.height)) - lines
        assert not missing, f"{where}: {w} lines {sorted(missing)}"


@pytest.mark.parametrize("name", PLAYED)
async def test_every_line_reachable_at_80x24(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=SMALLEST) as pilot:
        screen = player(app)
        sim = screen.simulation
        for stage_no in range(len(sim.stages)):
            await every_panel_line(pilot, f"{name} stage {stage_no}", stage_no)

        text = screen.query_one("#description-text")
        if not sim.description.strip():
            assert not screen.check_action("description", ())
            return
        box = screen.query_one("#description")
        assert not box.display  # hidden below 32 rows until asked for
        # Show, a page a press, hide: at most a press a line, and one to hide.
        description_lines = len(sim.description.split()) // 5 + 2
        seen_text: set[int] = set()
        text_height = 0
        for _ in range(description_lines + 2):
            await pilot.press("d")
            await pilot.pause()
            if not box.display:
                break
            unclipped(text)
            text_height = text.region.height
            seen_text |= shown_lines(screen, text)
        assert not box.display, f"{name}: d never hid the description again"
        missing = set(range(text_height)) - seen_text
        assert text_height and not missing, f"{name}: description lines {sorted(missing)}"


@pytest.mark.parametrize("width", [30, 41, 60, 200])
def test_gate_bars_keep_their_labels_at_any_width(width: int) -> None:
    """However narrow the box, every line of bars starts with its gate's name and every block
    of units is headed by their numbers, each unit once and in order; no line is wider than
    the box unless a single unit cannot fit."""
    values = np.linspace(0.05, 0.95, 5)
    gates = {g: values for g in "ifgo"}
    lines = gate_table("lstm", gates, width).plain.split("\n")
    bar_lines = [line for line in lines if "▕" in line]
    assert len(bar_lines) % 4 == 0 and bar_lines
    names = [line.split("▕")[0].strip() for line in bar_lines]
    assert names == ["Γu update", "Γf forget", "c̃ candidate", "Γo output"] * (len(names) // 4)
    units = [int(j) for line in lines for j in re.findall(r"j = (\d+)", line)]
    assert units == list(range(len(values)))
    forget = " ".join(line for line in bar_lines if line.startswith("Γf"))
    assert re.findall(r"\d\.\d\d", forget) == [f"{v:.2f}" for v in values]
    one_unit = LABEL_W + UNIT_W - 1
    assert all(cell_len(line) <= max(width, one_unit) for line in lines)


async def test_an_lstm_step_changes_its_widgets_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step of lstm_gates changes the bars, the vectors, the diagram and the inspector in
    place: none of them asks for a new layout of the screen (each did before, ~28 ms a key)."""
    asked: list[str] = []
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Any, **kw: Any) -> Any:
        if kw.get("layout"):
            asked.append(f"{type(self).__name__}#{self.id}")
        return refresh(self, *regions, **kw)

    app = player_app("lstm_gates")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        monkeypatch.setattr(Widget, "refresh", counting)
        for _ in range(4):
            await pilot.press("right")
            await pilot.pause()
        assert player(app).cursor == 5
    assert asked == []


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("name", ["net_custom_layers", "net_mlp_digits"])
async def test_every_layer_reachable_at_80x24(name: str) -> None:
    """A network's layers stepped in the player (Enter, then ] layer after layer): each panel
    kind a network adds (add, flatten, linear, softmax …) fits the same way."""
    sim = scenarios.load(scenarios.resolve(name))
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=SMALLEST) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        layers = len(sim.stages[0].network.layers)  # type: ignore[attr-defined]
        visited = []
        for layer in range(layers):
            visited.append(player(app).simulation.stages[0].name)
            await every_panel_line(pilot, f"{name} layer {layer}", 0)
            if layer + 1 < layers:
                await pilot.press("right_square_bracket")
                await settle(pilot)
        assert len(set(visited)) == layers  # ] went on to each layer in turn


async def boxes_inside(pilot: Pilot[Any], where: str) -> int:
    """Every box (of maps, tokens, …) on screen lies within the terminal's width: none is cut
    at its right edge with no way to scroll to it. Returns how many were looked at."""
    await pilot.pause()
    width = pilot.app.size.width
    boxes = [b for b in pilot.app.screen.query(".box") if b.display and b.region.height]
    for box in boxes:
        assert box.region.x >= 0 and box.region.right <= width, f"{where}: {box} {box.region}"
    return len(boxes)


@pytest.mark.parametrize("name", PLAYED)
async def test_every_box_is_inside_the_terminal_at_80x24(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=SMALLEST) as pilot:
        screen = player(app)
        for stage_no in range(len(screen.simulation.stages)):
            screen.cursor = screen.simulation.offsets[stage_no]
            await boxes_inside(pilot, f"{name} stage {stage_no}")


async def test_lenets_conv_and_pool_layers_fit_inside_80x24() -> None:
    """LeNet-5's 32×32 input beside its filters and 28×28 outputs: the three boxes need more
    than 80 columns drawn whole, so the maps are squeezed (they scroll) and the subtitles cut,
    but no box goes past the terminal's edge (the output box did, with no way to reach it)."""
    sim = scenarios.load(scenarios.resolve("net_lenet5_digits"))
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=SMALLEST) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        seen = 0
        for layer in ("conv1", "pool1", "conv2"):
            assert player(app).simulation.stages[0].name == layer
            seen += await boxes_inside(pilot, layer)
            await pilot.press("right_square_bracket")
            await settle(pilot)
            if layer == "conv1":
                await pilot.press("right_square_bracket")  # past relu1
                await settle(pilot)
        assert seen == 3 + 2 + 3
