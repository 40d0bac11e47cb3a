"""Redrawing large layers: a grid builds only the cells on screen and draws exactly what the
whole row cropped would, a cursor move asks for a new layout only when the inspector's height
changes, and a wide conv layer draws no input grid too narrow for one number."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from apps import player
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from engine.conv import ConvStage
from engine.core import Simulation, Stage
from engine.layers import LinearStage
from tui.app import NetsimApp
from tui.numbers import fmt_num
from tui.panels._vector import text_height, update_inspector
from tui.panels.conv import ConvPanel
from tui.widgets.mapcard import MapCard
from tui.widgets.matrix import MatrixGrid, Window


def cropped_whole_row(grid: MatrixGrid, y: int) -> Strip:
    """Line ``y`` of the view drawn the plain way: every cell of the row, then cropped to the
    part on screen (starting on a cell boundary, as the grid scrolls); in numbers, the last
    cell the view shows (left of the vertical scroll bar, when there is one), if cut by its
    edge where it would show part of its text, shows "…" there instead."""
    scroll_x, scroll_y = grid.scroll_offset
    width = grid.size.width
    row = 0 if y == 0 else y + scroll_y
    if row >= grid.virtual_size.height:
        return Strip.blank(width)
    gutter, cells = grid._render_picture(row) if grid.heat else grid._render_parts(row)
    start = scroll_x // grid._cw * grid._cw
    room = max(width - grid._label_w, 0)
    visible = Strip(cells).crop(start, start + room)
    strip = Strip.join([Strip(gutter), visible]).crop(0, width)
    cw, cols = grid._cw, grid._values.shape[1]
    seen = max(grid.scrollable_content_region.width - grid._label_w, 0)
    shown = min(cols - start // cw, -(-seen // cw))
    partial = seen - (shown - 1) * cw
    if grid.heat or shown <= 0 or not 0 < partial < cw - 1:
        return strip
    at = grid._label_w + (shown - 1) * cw  # where the cut cell starts on the line
    cell = strip.text[at : at + cw]
    head = cell[:partial]
    if head.strip():
        head = " " * (partial - 1) + "…"
    return overwrite(strip, at, (head + " " * cw)[: len(cell)])


def overwrite(strip: Strip, at: int, text: str) -> Strip:
    """``strip`` with its characters from ``at`` on replaced by ``text``, in the same segments
    and styles."""
    segments, x = [], 0
    for segment in strip:
        part = segment.text
        lo, hi = max(at - x, 0), min(at + len(text) - x, len(part))
        if lo < hi:
            part = part[:lo] + text[x + lo - at : x + hi - at] + part[hi:]
        segments.append(Segment(part, segment.style))
        x += len(segment.text)
    return Strip(segments)


class GridApp(App[None]):
    def __init__(self, values: np.ndarray, width: int) -> None:
        super().__init__()
        self.values = values
        self.grid_width = width

    def compose(self) -> ComposeResult:
        with Horizontal():
            grid = MatrixGrid(self.values, padding=(1, 2), progress=True, caption="c7", id="g")
            grid.styles.max_width = self.grid_width
            yield grid


def marked_grid(grid: MatrixGrid, values: np.ndarray) -> None:
    """Put every kind of marking on the grid: window, progress, mark, highlight."""
    rows, cols = values.shape
    grid.set_window(Window(5, 7, 3, 3), follow=False)
    grid.set_current(rows // 2 * cols + cols // 3, follow=False)
    grid.set_mark((4, 9))
    mask = np.zeros(values.shape, dtype=bool)
    mask[10:14, 20:26] = True
    grid.set_highlight(mask)


@pytest.mark.parametrize("heat", [False, True], ids=["numbers", "heat"])
@pytest.mark.parametrize("width", [11, 14, 31])
async def test_a_scrolled_grid_draws_what_the_whole_row_cropped_would(
    heat: bool, width: int
) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(40, 60)) * 10
    values[3, 4], values[6, 50] = np.inf, np.nan
    app = GridApp(values, width)
    async with app.run_test(size=(80, 20)) as pilot:
        grid = app.query_one("#g", MatrixGrid)
        marked_grid(grid, values)
        grid.heat = heat
        await pilot.pause()
        assert 0 < grid.size.width < grid.virtual_size.width  # it scrolls sideways
        max_x = grid.max_scroll_x
        compared = 0
        for x in sorted({0, 1, 3, 6, 7, 13, max_x // 2, max_x - 1, max_x}):
            for y in (0, 2, 9, max(grid.max_scroll_y - 1, 0)):
                grid.scroll_to(x, y, animate=False, immediate=True)
                grid._cache.clear()
                for line in range(grid.size.height):
                    assert list(grid.render_line(line)) == list(cropped_whole_row(grid, line)), (
                        f"scroll ({x}, {y}) line {line}"
                    )
                    compared += 1
        assert compared > 100


async def test_a_cell_cut_by_the_views_edge_shows_no_part_of_its_number() -> None:
    """At every width the last cell in view is a whole number, blank or "…": never "−0.1" of
    "−0.125" or "0" of "0.5", which read as other numbers."""
    for rows in (6, 30):  # no vertical scroll bar, then one over the line's last column
        values = np.tile([[-0.125, -0.375, -0.625, -0.875]], (rows, 8))  # as wide as a cell
        written = {fmt_num(v) for v in values.ravel()} | {"…", "·"}
        for width in range(9, 40):
            app = GridApp(values, width)
            async with app.run_test(size=(80, 12)) as pilot:
                grid = app.query_one("#g", MatrixGrid)
                await pilot.pause()
                view = grid.scrollable_content_region.width  # left of the bar
                assert (view < grid.size.width) == (rows == 30)
                cut = 0
                for y in range(1, grid.scrollable_content_region.height):
                    text = grid.render_line(y).text[grid._label_w : view]
                    assert set(text.split()) <= written, (rows, width, text)
                    cut += text.rstrip().endswith("…")
                partial = (view - grid._label_w) % grid._cw
                if 0 < partial < grid._cw - 1:  # "−0.125" would show as "−" or "−0.1"
                    assert cut, (rows, width)


async def test_a_long_row_builds_and_formats_only_the_cells_on_screen() -> None:
    values = np.arange(3 * 500, dtype=float).reshape(3, 500) / 7
    app = GridApp(values, 20)
    async with app.run_test(size=(80, 10)) as pilot:
        grid = app.query_one("#g", MatrixGrid)
        grid.scroll_to(250 * grid.cell_width, 0, animate=False, immediate=True)
        await pilot.pause()
        grid._cache.clear()
        grid._texts.clear()
        room = grid.size.width - grid._label_w
        on_screen = -(-room // grid.cell_width)
        strip = grid.render_line(1)
        assert strip.cell_length == grid.size.width
        formatted = [c for c, text in enumerate(grid._texts[0]) if text is not None]
        first = grid.scroll_offset.x // grid.cell_width
        assert formatted == list(range(first, first + on_screen))
        # The whole row is still there when asked for (the tests of other panels read it).
        assert None not in grid._row_texts(0)


@contextmanager
def layout_requests() -> Iterator[list[str]]:
    """Every ``refresh(layout=True)`` made in the block, by widget."""
    calls: list[str] = []
    original = Widget.refresh

    def counting(self: Widget, *regions: object, **kw: bool) -> Widget:
        if kw.get("layout"):
            calls.append(f"{type(self).__name__}#{self.id}")
        return original(self, *regions, **kw)  # type: ignore[arg-type]

    Widget.refresh = counting  # type: ignore[method-assign,assignment]
    try:
        yield calls
    finally:
        Widget.refresh = original  # type: ignore[method-assign]


def long_linear() -> LinearStage:
    rng = np.random.default_rng(1)
    return LinearStage(rng.normal(size=900), rng.normal(size=(50, 900)), rng.normal(size=50))


def wide_conv(channels: int = 64, size: int = 20) -> ConvStage:
    rng = np.random.default_rng(0)
    return ConvStage(
        rng.normal(size=(channels, size, size)),
        rng.normal(size=(6, channels, 3, 3)),
        rng.normal(size=6),
        padding=1,
    )


def open_app(stage: Stage) -> NetsimApp:
    return NetsimApp(Simulation([stage], title=stage.kind), check=False)


def inspector_of(app: NetsimApp) -> Static:
    return next(s for s in app.screen.query(Static) if (s.id or "").endswith("inspector"))


@pytest.mark.parametrize(
    "stage",
    [wide_conv(), long_linear()],
    ids=["conv-64-channels", "linear-900"],
)
async def test_a_cursor_move_asks_for_no_layout_while_the_inspector_keeps_its_height(
    stage: Stage,
) -> None:
    app = open_app(stage)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = player(app)
        await pilot.press("right")
        await pilot.pause()
        inspector = inspector_of(app)
        conv = app.screen.query(ConvPanel).first() if isinstance(stage, ConvStage) else None
        moves = quiet = 0
        for target in [2, 3, 4, 5, 40, 41, 300, 301, len(stage) // 2, len(stage) - 1]:
            height = inspector.size.height
            page = conv._out_start if conv else 0
            with layout_requests() as calls:
                screen.cursor = target
                await pilot.pause()
            moves += 1
            # The inspector is as high as its text (the conv's, at least as high: it only
            # grows), whether or not the screen was laid out.
            width = inspector.content_region.width
            wrapped = inspector.get_content_height(inspector.size, inspector.size, width)
            if conv is None:
                assert inspector.content_region.height == wrapped
            else:
                assert inspector.content_region.height >= wrapped
            # Another page of maps is a new layout; a step on the same page is not.
            if inspector.size.height == height and (conv._out_start if conv else 0) == page:
                assert calls == [], f"move to {target}"
                quiet += 1
        assert quiet >= moves // 2  # the case this test is about did happen


@pytest.mark.parametrize("wrap", ["wrap", "nowrap"])
@pytest.mark.parametrize("line_pad", [0, 2])
async def test_the_inspectors_height_is_counted_as_textual_lays_it_out(
    wrap: str, line_pad: int
) -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(id="inspector")

    app = One()
    texts = [
        "",
        "one line",
        "a\n\nb\n",
        "x" * 39 + "\n" + "y" * 40 + "\n" + "z" * 41,
        "word " * 30 + "\n  ch 0: " + " + ".join(["(−0.132105)·(−0.350429)"] * 6),
        "tab\tand  " * 9,
    ]
    async with app.run_test(size=(40, 12)) as pilot:
        inspector = app.query_one(Static)
        inspector.styles.text_wrap = wrap  # type: ignore[assignment]
        inspector.styles.line_pad = line_pad
        await pilot.pause()
        width = inspector.content_region.width
        for text in texts:
            content = Content(text)
            inspector.update(content)
            expected = inspector.get_content_height(inspector.size, inspector.size, width)
            assert text_height(inspector, content, width) == expected, repr(text)


async def test_the_inspector_is_laid_out_again_when_its_height_changes() -> None:
    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(id="inspector")

    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        inspector = app.query_one(Static)
        drawn = update_inspector(inspector, Content("a\nb"), None)
        await pilot.pause()
        drawn = update_inspector(inspector, Content("a\nb"), drawn)
        await pilot.pause()
        assert inspector.size.height == 2
        with layout_requests() as calls:
            drawn = update_inspector(inspector, Content("c\nd"), drawn)
        assert calls == []
        with layout_requests() as calls:
            drawn = update_inspector(inspector, Content("word " * 20), drawn)  # wraps: 3 lines
        assert calls == ["Static#inspector"]
        await pilot.pause()
        assert inspector.size.height == 3 and drawn == (40, 3)
        with layout_requests() as calls:
            update_inspector(inspector, Content("x " * 50), drawn)  # wraps to 3 lines too
        assert calls == []


def drawn_outputs(panel: ConvPanel) -> list[MatrixGrid]:
    """The output grids on screen."""
    cards = [c for c in panel.query("#output-maps MapCard").results(MapCard) if c.display]
    return [card.grids[0] for card in cards]


def drawn_inputs(panel: ConvPanel) -> list[MatrixGrid]:
    """The input grids on screen."""
    cards = [c for c in panel.query("#input-maps MapCard").results(MapCard) if c.display]
    return [card.grids[0] for card in cards]


@pytest.mark.parametrize(
    ("size", "expected"), [((120, 40), "some"), ((80, 24), "some"), ((220, 50), "more")]
)
async def test_a_wide_conv_draws_only_input_grids_with_room_for_a_whole_number(
    size: tuple[int, int], expected: str
) -> None:
    app = open_app(wide_conv(size=224))
    async with app.run_test(size=size) as pilot:
        await pilot.press("right")
        await pilot.pause()
        panel = app.screen.query_one(ConvPanel)
        inputs = drawn_inputs(panel)
        assert [g.id for g in inputs] == [f"input-{c}" for c in range(len(inputs))]
        kernels = [g for g in panel.query("#kernel-card-0 MatrixGrid") if g.display]
        assert len(kernels) == len(inputs) >= 1
        box = panel.query_one("#input-box")
        for grid in inputs:  # each shows its row labels and at least one whole number
            seen = grid.scrollable_content_region.intersection(box.content_region)
            assert seen.width >= grid._label_w + grid.cell_width
        subtitle = str(box.border_subtitle)
        last = f"{len(inputs) - 1}" if len(inputs) > 1 else ""
        span = f"channels 0–{last}" if last else "channels 0"
        # The short form in a narrow terminal, where the boxes' titles take the room first.
        assert subtitle.endswith((f"{span} of 64, m for more", f"{span} of 64 · m")), subtitle
        if expected == "more":  # a wide terminal shows more of the input than 120 columns
            assert inputs[0].scrollable_content_region.width >= 2 * 40


async def test_the_channels_drawn_follow_the_terminals_width() -> None:
    app = open_app(wide_conv(size=224))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.screen.query_one(ConvPanel)
        await pilot.pause()

        def drawn() -> tuple[int, int, int]:
            width = sum(g.scrollable_content_region.width for g in drawn_inputs(panel))
            return len(drawn_inputs(panel)), len(drawn_outputs(panel)), width

        narrow = drawn()
        await pilot.resize_terminal(220, 50)
        await pilot.pause()
        wide = drawn()
        assert wide[:2] >= narrow[:2] and wide[2] > narrow[2]
        if wide[0] > 1:
            subtitle = str(panel.query_one("#input-box").border_subtitle)
            assert subtitle.endswith(f"channels 0–{wide[0] - 1} of 64, m for more")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert drawn() == narrow
