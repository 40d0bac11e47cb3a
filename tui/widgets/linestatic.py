"""LineStatic: a Static that draws Rich text a line at a time, straight from its spans, and
repaints only the lines a new text changes."""

from __future__ import annotations

from bisect import insort
from itertools import pairwise

from rich._wrap import divide_line
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import VisualType
from textual.widgets import Static

Line = tuple[tuple[str, Style], ...]
"""A line of text as (text, style) runs, one per span or gap between spans."""


def text_lines(text: Text, base: Style, styles: dict[object, Style]) -> list[Line] | None:
    """Each line of ``text`` as runs of (text, style) over ``base`` (the widget's own
    colours), styled as a Static styles them: ``base``, then the text's own style, then the
    spans over each run, in the order they were added (``Text.join`` and ``append`` of a
    styled text make spans that hold others). A run ends wherever a span starts or ends, as
    in Textual's Content. ``styles`` caches the combined styles. None when the text's own
    style is a string: Textual parses that with its own rules (which know no ``grey50``)."""
    plain = text.plain
    if isinstance(text.style, str):
        if text.style:
            return None
    else:
        base = base + text.style
    lines: list[list[tuple[str, Style]]] = [[]]

    def emit(start: int, end: int, style: Style) -> None:
        for k, part in enumerate(plain[start:end].split("\n")):
            if k:
                lines.append([])
            if part:
                lines[-1].append((part, style))

    spans = [span for span in text.spans if span.end > span.start]
    enter: dict[int, list[int]] = {}
    leave: dict[int, list[int]] = {}
    for i, span in enumerate(spans):
        enter.setdefault(span.start, []).append(i)
        leave.setdefault(span.end, []).append(i)
    points = sorted({0, len(plain), *enter, *leave})
    active: list[int] = []
    for start, end in pairwise(points):
        for i in leave.get(start, ()):
            active.remove(i)
        for i in enter.get(start, ()):
            insort(active, i)
        key = (base, *(spans[i].style for i in active))
        style = styles.get(key)
        if style is None:
            style = base
            for i in active:
                more = spans[i].style
                style = style + (more if isinstance(more, Style) else Style.parse(more))
            styles[key] = style
        emit(start, end, style)
    # An empty line is one empty run, as Textual draws it (it shows in an exported picture).
    return [tuple(line) if line else (("", base),) for line in lines]


OFFSETS = 4096
"""Styles with an offset kept per widget before the cache starts again."""


Row = tuple[Line, int, int]
"""A line on screen: its runs, the offset of its first character in its line of the text, and
that line's number (a line of the text wrapped in the widget is several rows)."""


def wrapped(line: Line, y: int, width: int) -> list[Row]:
    """Line ``y`` of a text as the rows Textual's Content wraps it to at ``width`` cells (its
    default wrapping: at spaces, a word longer than the width folded, each row but the last
    without its trailing spaces)."""
    plain = "".join(part for part, _ in line)
    if cell_len(plain) <= width:
        return [(line, 0, y)]
    offsets = divide_line(plain, width, fold=True)
    cuts = [0, *offsets, len(plain)]
    rows: list[Row] = []
    for k, (start, end) in enumerate(pairwise(cuts)):
        if k < len(cuts) - 2:
            end = start + len(plain[start:end].rstrip())
        runs: list[tuple[str, Style]] = []
        at = 0
        for part, style in line:
            lo, hi = max(start, at), min(end, at + len(part))
            if lo < hi:
                runs.append((part[lo - at : hi - at], style))
            at += len(part)
        rows.append((tuple(runs) if runs else (("", line[0][1]),), start, y))
    return rows


OFFSETS = 4096
"""Styles with an offset kept per widget before the cache starts again."""


def row_strip(row: Row, offsets: dict[tuple[Style, int, int], Style]) -> Strip:
    """A row as a Strip, each run's style carrying its offset in the text (as Textual's
    Content gives it, for selecting text with the mouse). ``offsets`` caches those styles: a
    step mostly puts the same styles at the same places as the step before."""
    line, x, y = row
    segments = []
    for part, style in line:
        key = (style, x, y)
        placed = offsets.get(key)
        if placed is None:
            if len(offsets) >= OFFSETS:
                offsets.clear()
            placed = offsets[key] = style + Style.from_meta({"offset": (x, y)})
        segments.append(Segment(part, placed))
        x += len(part)
    return Strip(segments, sum(cell_len(part) for part, _ in line))


class LineStatic(Static):
    """A Static for text that changes at every step. ``show_text`` draws a Rich ``Text``
    without converting it to Textual's Content: each line's segments come from the text's
    spans (about ten times faster for an inspector's fifteen lines), a line wider than the
    widget is wrapped as Textual wraps it, and only the rows that differ from those on screen
    are repainted. Text with tabs, a selection, or styles that align, pad or do not wrap the
    text are drawn by Static itself, as is anything given to ``update``.

    ``rows_built`` counts the rows made into strips, for tests that check that a step does
    not rebuild what it does not change."""

    def __init__(
        self,
        content: VisualType = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(content, id=id, classes=classes)
        self._text: Text | None = None
        self._lines: list[Line] | None = None
        self._rows: list[Row] = []
        self._rows_width = -1
        self._strips: dict[int, Strip] = {}
        self._styles: dict[object, Style] = {}
        self._offsets: dict[tuple[Style, int, int], Style] = {}
        self._base: Style | None = None
        self._measured: tuple[Text, list[Line], int, list[Row]] | None = None
        self.rows_built = 0

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._text = None
        self._lines = None
        self._rows_width = -1
        self._strips.clear()
        super().update(content, layout=layout)

    def show_text(self, text: Text, *, layout: bool = False) -> None:
        """Show ``text``; ``layout``: its height may differ from the one on screen."""
        old = self._rows if self._text is not None and self._rows_width >= 0 else None
        old_width = self._rows_width
        self._text = text
        # What Static would show, converted only if Static has to draw it or measure it.
        self._Static__content = text  # type: ignore[attr-defined]
        self._Static__visual = None  # type: ignore[attr-defined]
        measured, self._measured = self._measured, None
        width = self.size.width
        if measured is not None and measured[0] is text:
            self._lines = measured[1]
            self._rows_width, self._rows = (-1, []) if measured[2] != width else measured[2:]
        else:
            self._lines = self._split(text)
            self._rows_width = -1
        if layout or old is None or not self._fast() or old_width != width:
            self._strips.clear()
            self.refresh(layout=layout)
            return
        if len(old) != len(self._rows):
            self._strips.clear()
            self.refresh()
            return
        changed = []
        for y, (before, now) in enumerate(zip(old, self._rows, strict=True)):
            if before != now:
                self._strips.pop(y, None)
                changed.append(Region(0, y, width, 1))
        if changed:  # one call: each marks the widget dirty and asks for an idle pass
            self.refresh(*changed)

    def rows_at(self, text: Text, width: int) -> int | None:
        """Rows ``text`` takes at ``width`` cells, as Textual wraps it (None: not drawn here,
        see the class). They are kept for ``show_text`` of the same text."""
        lines = self._split(text)
        if lines is None or not self._plain_styles():
            self._measured = None
            return None
        rows = [row for y, line in enumerate(lines) for row in wrapped(line, y, width)]
        self._measured = (text, lines, width, rows)
        return len(rows)

    def _split(self, text: Text) -> list[Line] | None:
        """The lines of ``text`` (None before the widget is on screen, with tabs, or with a
        style given as a string for the whole text)."""
        base = self.visual_style.rich_style if self.is_attached else None
        if base is None:
            return None
        if base != self._base:
            self._base = base
            self._styles.clear()
            self._offsets.clear()
            self._strips.clear()
        if "\t" in text.plain:
            return None
        return text_lines(text, base, self._styles)  # None: left to Static

    def _fast(self) -> bool:
        """Whether the rows can be drawn from the segments (see the class); the rows at the
        widget's width are worked out here when they are not yet."""
        if self._text is None or self.text_selection is not None:
            return False
        if self._lines is None:  # not on screen when shown, or tabs
            self._lines = self._split(self._text)
            if self._lines is None:
                return False
        if not self._plain_styles():
            return False
        width = self.size.width
        if width <= 0:
            return False
        if width != self._rows_width:
            self._rows = [
                row for y, line in enumerate(self._lines) for row in wrapped(line, y, width)
            ]
            self._rows_width = width
            self._strips.clear()
        return True

    def _plain_styles(self) -> bool:
        """Whether the widget's styles lay text out as ``wrapped`` does."""
        styles = self.styles
        return (
            styles.line_pad == 0
            and styles.content_align == ("left", "top")
            and styles.text_align in ("left", "start")
            and styles.text_wrap == "wrap"
            and styles.text_overflow == "fold"
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        if self._text is not None:
            self._lines = None
        self._rows_width = -1
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        if not self._fast():
            return super().render_line(y)
        if y >= len(self._rows):
            return Strip.blank(self.size.width, self.visual_style.rich_style)
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = row_strip(self._rows[y], self._offsets)
            self.rows_built += 1
        return strip
