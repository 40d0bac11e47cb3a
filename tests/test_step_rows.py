"""What a step of the recurrent, token and language-model panels rebuilds, counted rather than
timed: no new layout of the screen at any step, the gate bars' unit numbers and the unchanged
rows of a text box left as they are, and CachedRows drawing a text exactly as Static does.
Timings live in benchmarks/bench_keys.py."""

from __future__ import annotations

import numpy as np
import pytest
from apps import kind_of, painted
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

import scenarios
from tui.app import NetsimApp
from tui.panels.recurrent import GateBars
from tui.widgets.rows import CachedRows
from tui.widgets.steadygrid import SteadyGrid

SIZE = (120, 40)


def layouts(app: NetsimApp) -> list[str]:
    """A list that fills with the kind of every frame ``app`` paints (``LayoutUpdate``: the
    screen was laid out again)."""
    return painted(app, kind_of)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("rnn_step", SIZE),
        ("lstm_gates", SIZE),
        ("long_memory_rnn", SIZE),
        ("rnn_encoder_decoder", SIZE),
        ("gru_gates", SIZE),
        # δ⟨t⟩ grows wider than its first steps' numbers at t = 3 … 1: at 80×24, where the
        # grids are narrower than their numbers, that moved the scroll bars.
        ("bptt_exploding", (80, 24)),
        ("bptt_exploding", SIZE),
        ("bptt_vanishing", (80, 24)),
        ("bptt_clip_value", (80, 24)),
    ],
)
async def test_no_step_lays_the_screen_out(name: str, size: tuple[int, int]) -> None:
    """Every step there and back, t = 1 included (a⟨0⟩ = 0 is written in the columns of the
    states after it) and the steps where ŷ⟨t⟩ appears or goes: one frame, no layout."""
    sim = scenarios.load(scenarios.resolve(name))
    app = NetsimApp(sim, start=0)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()  # the PyTorch check repaints its badge
        await pilot.pause()
        kinds = layouts(app)
        for key in ["right"] * (len(sim) - 1) + ["left"] * (len(sim) - 1):
            kinds.clear()
            await pilot.press(key)
            await pilot.pause()
            assert kinds == ["ChopsUpdate"], (key, kinds)


async def test_a_step_rebuilds_the_bars_not_the_unit_numbers() -> None:
    sim = scenarios.load(scenarios.resolve("lstm_gates"))
    app = NetsimApp(sim, start=2)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bars = app.screen.query_one(GateBars)
        lines = bars.size.height
        assert lines == 5  # one line of unit numbers, four gates
        before = bars.lines_built
        await pilot.press("right")
        await pilot.pause()
        assert bars.lines_built - before == 4
        width = bars.size.width
        for y in range(lines):  # the segments say what gate_table's text says
            built = "".join(segment.text for segment in bars.line_segments(y, width))
            assert built == bars.line_text(y, width).plain


async def test_a_step_repaints_only_the_rows_that_change() -> None:
    """The unrolled diagram: the lit cell moves along the chain and the lit x⟨t⟩ and ŷ⟨t⟩
    boxes along theirs, but the two rows of arrows between them stay, and so does the label
    x⟨t⟩ input."""
    sim = scenarios.load(scenarios.resolve("rnn_step"))
    app = NetsimApp(sim, start=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        diagram = app.screen.query_one("#rec-unrolled", CachedRows)
        label = app.screen.query_one("#rec-x-label", CachedRows)
        rows = diagram.size.height
        assert rows == 5
        built, labelled = diagram.drawn, label.drawn
        await pilot.press("right")
        await pilot.pause()
        assert diagram.drawn - built == rows - 2
        assert label.drawn == labelled


TEXTS = [
    Text.assemble(("bold", "bold"), " plain ", ("x", "red on blue"), "\n", ("", "green")),
    Text("muted line\n  and another", style=Style.parse("grey50")),
    Text("a" * 30 + " " + "word " * 20 + "end", style=Style(italic=True)),  # wraps, folded
    Text("\n\nafter two empty lines\n"),
    Text("a style named for the whole text", style="grey50"),  # left to Static
]
"""Texts with nested spans (a styled Text joined or appended), empty lines and lines that
wrap, each also with a span laid over part of it."""


def drawn(segment: Segment) -> tuple[object, ...]:
    """What a segment puts on screen: its text, colours as RGB (Textual names a colour
    ``#808080`` where Rich says ``grey50``), attributes, and the offset a selection uses."""
    style = segment.style or Style()
    colours = tuple(None if c is None else c.get_truecolor() for c in (style.color, style.bgcolor))
    flags = (style.bold, style.italic, style.underline, style.dim, style.reverse)
    return (segment.text, colours, flags, style.meta.get("offset"))


class Pair(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(id="static")
        yield CachedRows(id="line")


@pytest.mark.parametrize("width", [12, 40])
@pytest.mark.parametrize("index", range(len(TEXTS)))
async def test_line_static_draws_as_static(index: int, width: int) -> None:
    text = TEXTS[index].copy()
    text.stylize("underline", 3, 9)
    app = Pair()
    async with app.run_test(size=(width, 30)) as pilot:
        static = app.query_one("#static", Static)
        line = app.query_one("#line", CachedRows)
        static.update(text)
        line.set_text(text, layout=True)
        await pilot.pause()
        own = not (isinstance(text.style, str) and text.style)  # else left to Static
        assert line.rows_at(text, width) == (static.size.height if own else None)
        assert static.size.height == line.size.height
        for y in range(static.size.height):
            want = [drawn(s) for s in static.render_line(y)]
            got = [drawn(s) for s in line.render_line(y)]
            assert got == want, y
        assert line.drawn == (static.size.height if own else 0)


class Grid(App[None]):
    EVERY = np.array([[0.0, 0.0, 0.0], [0.5, -1.25, 2.0], [0.25, 3.0, -2.0]])

    def compose(self) -> ComposeResult:
        yield SteadyGrid(self.EVERY[:2], every=self.EVERY, id="grid")


async def test_a_steady_grid_repaints_the_rows_whose_numbers_changed() -> None:
    """New numbers of the same shape repaint the rows that changed, not the line of column
    numbers nor the rows that stayed, and the grid then looks as a grid made with them."""
    app = Grid()
    async with app.run_test(size=(60, 8)) as pilot:
        grid = app.query_one(SteadyGrid)
        await pilot.pause()
        regions: list[Region] = []
        refresh = grid.refresh

        def noting(*r: Region, **kw: bool) -> SteadyGrid:
            regions.extend(r)
            return refresh(*r, **kw)

        grid.refresh = noting  # type: ignore[method-assign]
        values = Grid.EVERY[[0, 2]]  # row 1 changes, row 0 stays
        grid.set_values(values)
        assert grid.rows_repainted == 1
        assert [(r.y, r.height) for r in regions] == [(2, 1)]  # line 0 holds the column numbers
        await pilot.pause()
        fresh = SteadyGrid(values, every=Grid.EVERY)
        await app.mount(fresh)
        await pilot.pause()
        for y in range(3):
            assert [drawn(s) for s in grid.render_line(y)] == [
                drawn(s) for s in fresh.render_line(y)
            ], y
        grid.set_values(Grid.EVERY[:1])  # another shape: drawn afresh
        assert grid.rows_repainted == 1


async def test_a_recurrent_step_repaints_one_line_of_each_vector_grid() -> None:
    """An LSTM step changes the one row of numbers of x⟨t⟩, a⟨t−1⟩, c⟨t−1⟩, c⟨t⟩ and a⟨t⟩:
    that line of each grid is repainted, not the column numbers above it."""
    sim = scenarios.load(scenarios.resolve("lstm_gates"))
    app = NetsimApp(sim, start=2, check=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        grids = list(app.screen.query(SteadyGrid))
        assert len(grids) >= 5
        before = {grid.id: grid.rows_repainted for grid in grids}
        await pilot.press("right")
        await pilot.pause()
        changed = {g.id: g.rows_repainted - before[g.id] for g in grids if g.display}
        assert changed["rec-a"] == changed["rec-c"] == changed["rec-a_prev"] == 1, changed
