"""VectorStrip: one line of indices over one line of values, a window of a long vector that
follows the current element, for the layer panels (linear, flatten); and ``update_inspector``,
which the panels use to write an inspector's text on every step."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from tui.numbers import fmt_num
from tui.widgets.matrix import heat_style
from tui.widgets.rows import CachedRows

_LABEL = Style(color="grey50")
_CURRENT = Style(color="black", bgcolor="bright_green", bold=True)
_PENDING = Style(color="grey35")
_DONE = Style(color="bright_white")
_GAP = Style(color="grey50")


def value_width(values: np.ndarray) -> int:
    """Characters the widest of ``values`` takes in a cell, from its extremes (as MatrixGrid
    sizes its cells): whole numbers as they are, others to three digits."""
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    whole = bool(np.all(finite == np.round(finite)))
    special = 4 if finite.size < values.size else 1
    return max(len(fmt_num(lo)), len(fmt_num(hi)), 1 if whole else 6, special)


def text_height(inspector: Static, content: Content | Text | str, width: int) -> int:
    """Lines ``content`` (or its plain text) takes in ``inspector`` at ``width`` cells, as
    Textual's layout counts them: a line that fits is one line, and only the lines that do not
    are wrapped (by Textual's own measure), so a text that fits costs no wrapping at all."""
    styles = inspector.styles
    rules: RulesMap = {
        "line_pad": styles.line_pad,
        "text_wrap": styles.text_wrap,
        "text_overflow": styles.text_overflow,
    }
    limit = width - 2 * styles.line_pad
    height = 0
    plain = content if isinstance(content, str) else content.plain
    for line in plain.split("\n"):
        if "\t" not in line and cell_len(line) <= limit:
            height += 1
        else:
            height += Content(line).get_height(rules, width)
    return height


def put_text(box: Static, content: Content | Text, *, layout: bool = True) -> None:
    """Show ``content`` in ``box``: a ``CachedRows`` draws a Rich ``Text`` itself, a line at a
    time, repainting only the lines that change; any other box is given Textual's Content."""
    if isinstance(box, CachedRows) and isinstance(content, Text):
        box.set_text(content, layout=layout)
    else:
        box.update(
            Content.from_rich_text(content) if isinstance(content, Text) else content, layout=layout
        )


def update_inspector(
    inspector: Static, content: Content | Text, drawn: tuple[int, int] | None, least: int = 0
) -> tuple[int, int] | None:
    """Show ``content`` in ``inspector``, asking for a new layout of the screen only when the
    text's height differs from the one last drawn. ``drawn`` is what the previous call
    returned: the content width and height (None before the widget had a size: then the size
    it has now is the one compared).

    With ``least`` the inspector keeps at least that many lines of text (its minimum height
    is set with each new layout), so that a step whose text is shorter than the tallest
    leaves the screen as it is, blank lines below the text.

    A layout makes Textual arrange the whole screen again and paint a second frame (the
    widget's new size asks for another layout); the inspector's text changes on every step
    but its height seldom does, even when it wraps.
    """
    width = inspector.content_region.width
    if width <= 0:
        put_text(inspector, content)
        return None
    height = None
    if isinstance(inspector, CachedRows) and isinstance(content, Text):
        height = inspector.rows_at(content, width)  # wrapped once, for drawing as well
    if height is None:
        height = text_height(inspector, content, width)
    now = (width, max(height, least))
    if drawn is None:  # the first text since the widget was laid out: the size it has now
        drawn = (width, inspector.content_region.height)
    if least and now != drawn:
        inspector.styles.min_height = now[1] + inspector.styles.gutter.height
    put_text(inspector, content, layout=now != drawn)
    return now


ALL_STEPS = 64
"""A stage of at most this many steps keeps its inspector as tall as the tallest text of any of
its steps from the first step on (working that out costs a few milliseconds); a longer one
as tall as the tallest shown so far."""


class LeastHeight:
    """The height an inspector keeps whatever the step, so that stepping does not change it
    (a new height lays the screen out again and paints a second frame): the tallest text of
    every step for the same view and width when the stage is short, else the tallest shown."""

    def __init__(self) -> None:
        self._key: object = None
        self._least = 0

    def lines(self, inspector: Static, view: object, steps: int, text: Callable[[int], str]) -> int:
        """Lines to keep at the inspector's width for ``view`` (what else decides the text:
        the unit shown, a toggle), with ``text(i)`` the plain text of step ``i``."""
        width = inspector.content_region.width
        if width <= 0:
            return 0
        if self._key != (width, view):
            self._key = (width, view)
            self._least = 0
            if steps <= ALL_STEPS:
                self._least = max(text_height(inspector, text(i), width) for i in range(steps))
        return self._least

    def drawn(self, drawn: tuple[int, int] | None) -> None:
        """Note the height ``update_inspector`` drew: a taller text raises the least."""
        if drawn is not None:
            self._least = max(self._least, drawn[1])


class VectorStrip(Widget, can_focus=False):
    """A long vector drawn as two lines, indices above values, as many cells as fit; the view
    jumps to keep the current element in sight, and "…" marks what lies beyond either end.

    With ``progress`` the elements before the current one are done, the current one lit and
    later ones not yet computed (·).
    """

    DEFAULT_CSS = """
    VectorStrip {
        height: 2;
        width: 1fr;
    }
    """

    heat: reactive[bool] = reactive(False)
    """Shade each value by its size (the numbers stay)."""

    class CellClicked(Message):
        """An element of the strip was clicked."""

        def __init__(self, strip: VectorStrip, index: int) -> None:
            super().__init__()
            self.strip = strip
            self.index = index

        @property
        def control(self) -> VectorStrip:
            return self.strip

    def __init__(
        self,
        values: np.ndarray,
        *,
        labels: tuple[str, str] = ("i", ""),
        progress: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._labels = labels
        self._progress = progress
        self._current: int | None = None
        self._start = 0
        self._cells: list[tuple[int, int, int]] = []  # (x from, x to, index) as last drawn
        self.set_values(values)

    def set_values(self, values: np.ndarray) -> None:
        """Replace the vector (any length)."""
        self._values = np.asarray(values, dtype=np.float64).reshape(-1)
        n = self._values.size
        finite = self._values[np.isfinite(self._values)]
        self._lo = float(finite.min()) if finite.size else 0.0
        self._hi = float(finite.max()) if finite.size else 0.0
        self._cell_w = max(value_width(self._values), len(str(max(n - 1, 0)))) + 1
        self._label_w = max(len(label) for label in self._labels) + 1
        self._start = 0
        self.refresh()

    def set_current(self, index: int | None) -> None:
        """Light element ``index`` (and in progress mode, mark those before it done)."""
        if index != self._current:
            self._current = index
            self.refresh()

    def _window(self, width: int) -> tuple[int, int]:
        """[start, stop) of the elements drawn in ``width`` columns; the start moves only when
        the current element leaves the view, so the strip jumps rather than crawls."""
        n = self._values.size
        room = max(width - self._label_w, self._cell_w)
        count = max(1, room // self._cell_w)
        if count < n:  # "…" at either end takes a cell's room
            count = max(1, (room - 2) // self._cell_w)
        count = min(count, n)
        cur = self._current
        if cur is not None and not self._start <= cur < self._start + count:
            self._start = cur - count // 2
        self._start = max(0, min(self._start, n - count))
        return self._start, self._start + count

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        start, stop = self._window(width)
        n = self._values.size
        top, bottom = Text(), Text()
        top.append(self._labels[0].rjust(self._label_w - 1) + " ", style=_LABEL)
        bottom.append(self._labels[1].rjust(self._label_w - 1) + " ", style=_LABEL)
        x = self._label_w
        self._cells = []
        if start > 0:
            top.append("  ")
            bottom.append("… ", style=_GAP)
            x += 2
        cw = self._cell_w
        for i in range(start, stop):
            v = float(self._values[i])
            text = fmt_num(v)
            style: Style | str = ""
            if self._progress and self._current is not None:
                if i == self._current:
                    style = _CURRENT
                elif i > self._current:
                    style, text = _PENDING, "·"
                else:
                    style = _DONE
            elif i == self._current:
                style = _CURRENT
            if self.heat and style not in (_CURRENT, _PENDING):
                style = heat_style(v, self._lo, self._hi)
            top.append(str(i).rjust(cw - 1) + " ", style=_CURRENT if i == self._current else _LABEL)
            bottom.append(text.rjust(cw - 1) + " ", style=style)
            self._cells.append((x, x + cw, i))
            x += cw
        if stop < n:
            bottom.append(" …", style=_GAP)
        top.append("\n")
        top.append_text(bottom)
        top.no_wrap = True
        top.overflow = "crop"
        return top

    def watch_heat(self) -> None:
        self.refresh()

    def on_click(self, event: Click) -> None:
        for x0, x1, index in self._cells:
            if x0 <= event.x < x1:
                event.stop()
                self.post_message(self.CellClicked(self, index))
                return
