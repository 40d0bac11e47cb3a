"""LogBars: one horizontal bar per row on a log₁₀ axis with labelled decades, rows scrolling
under a fixed axis; bars out of range are coloured as alarms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.numbers import clamp

BLOCKS = " ▏▎▍▌▋▊▉█"
"""Left-aligned partial blocks, in eighths of a cell."""

STEPS = (1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 250, 500)
"""Decades between two labels, the smallest that fits is taken."""

HEADER_ROWS = 2
"""Decade labels, then the axis line."""

ALARM_STYLES = {
    "ok": Style(color="cyan"),
    "vanishing": Style(color="bright_magenta", bold=True),
    "exploding": Style(color="bright_red", bold=True),
}
"""A bar's colour by the alarm of its value."""

_AXIS = Style(color="grey50")
_LABEL = Style(color="grey70")
_GUIDE = Style(color="grey30")
_THRESHOLD = Style(color="red3")


@dataclass(frozen=True)
class BarRow:
    """One row: a label left of the bar, a value drawn as the bar's length on the log axis,
    and text right of it (the numbers, already laid out in columns by the caller)."""

    label: str
    value: float
    """Drawn when positive and finite; zero draws no bar, inf a full bar, nan nothing."""
    tail: Text = field(default_factory=Text)
    alarm: str = "ok"
    """A key of ``ALARM_STYLES``: the bar's colour."""


def decade_range(values: Sequence[float], minimum_span: int = 2) -> tuple[int, int]:
    """Whole decades (lo, hi) around the positive finite ``values``, at least ``minimum_span``
    apart: 1e-7 … 1e+1 for norms from 3.6e-7 to 2.1."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    if not logs:
        return 0, minimum_span
    lo, hi = math.floor(min(logs)), math.ceil(max(logs))
    while hi - lo < minimum_span:
        hi += 1
        if hi - lo < minimum_span:
            lo -= 1
    return lo, hi


def decade_label(d: int) -> str:
    """1e-06, 1e+00, 1e+300."""
    return f"1e{d:+03d}"


class LogBars(ScrollView, can_focus=True):
    """Rows of (label, bar, tail) under a log₁₀ axis whose decades are labelled; the axis stays
    on top while the rows scroll. Dotted lines mark ``thresholds`` (the alarm bounds) where
    they fall inside the axis."""

    DEFAULT_CSS = """
    LogBars {
        height: 1fr;
        width: 1fr;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(
        self,
        *,
        thresholds: Sequence[float] = (),
        label_header: str = "",
        tail_header: Text | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.rows: list[BarRow] = []
        self.thresholds = tuple(thresholds)
        self.label_header = label_header
        self.tail_header = tail_header or Text()
        self.lo, self.hi = 0, 2

    def set_rows(self, rows: Sequence[BarRow], tail_header: Text | None = None) -> None:
        """Show ``rows``; the axis spans the decades of their values."""
        self.rows = list(rows)
        if tail_header is not None:
            self.tail_header = tail_header
        self.lo, self.hi = decade_range([r.value for r in self.rows])
        self.virtual_size = Size(self.size.width, len(self.rows) + HEADER_ROWS)
        self.refresh()

    # -- layout ----------------------------------------------------------------------------------

    def _columns(self) -> tuple[int, int, int]:
        """(label width, bar width, tail width) for the current width."""
        width = self.scrollable_content_region.width or self.size.width
        tail_w = max([self.tail_header.cell_len] + [r.tail.cell_len for r in self.rows])
        label_w = max([len(self.label_header)] + [len(r.label) for r in self.rows])
        label_w = min(label_w, max(8, width // 4))
        bar_w = max(10, width - label_w - tail_w - 3)
        return label_w, bar_w, tail_w

    def column_of(self, log: float, bar_w: int) -> float:
        """Where a value with this log₁₀ ends, in cells from the bar's start (0 … bar_w)."""
        return clamp((log - self.lo) / (self.hi - self.lo), 0.0, 1.0, nan=0.0) * bar_w

    def _decades(self, bar_w: int) -> list[tuple[int, int]]:
        """(decade, column) of the labelled decades: the multiples of the smallest step of
        ``STEPS`` whose labels fit side by side (1e-60, 1e-50, … rather than 1e-65, 1e-57, …)."""
        span = self.hi - self.lo
        width = max(len(decade_label(self.lo)), len(decade_label(self.hi))) + 3
        step = next((k for k in STEPS if bar_w * k / span >= width), span)
        return [
            (d, min(round(self.column_of(d, bar_w)), bar_w - 1))
            for d in range(self.lo, self.hi + 1)
            if d % step == 0 or (step >= span and d == self.lo)
        ]

    def _threshold_cols(self, bar_w: int) -> set[int]:
        cols = set()
        for t in self.thresholds:
            log = math.log10(t)
            if self.lo < log < self.hi:
                cols.add(min(int(self.column_of(log, bar_w)), bar_w - 1))
        return cols

    # -- drawing ---------------------------------------------------------------------------------

    def header_text(self, row: int) -> Text:
        """The decade labels (row 0) or the axis line (row 1)."""
        label_w, bar_w, _ = self._columns()
        t = Text(no_wrap=True)
        decades = self._decades(bar_w)
        if row == 0:
            t.append(self.label_header[:label_w].ljust(label_w) + "  ", style="bold")
            line = [" "] * bar_w
            for d, col in decades:
                text = decade_label(d)
                start = max(0, min(col - len(text) // 2, bar_w - len(text)))
                if all(c == " " for c in line[max(0, start - 1) : start + len(text)]):
                    line[start : start + len(text)] = list(text)
            t.append("".join(line), style=_LABEL)
            t.append(" ")
            t.append_text(self.tail_header)
            return t
        t.append(" " * label_w + " ├", style=_AXIS)
        line = ["─"] * bar_w
        for _, col in decades:
            line[col] = "┼"
        for col in self._threshold_cols(bar_w):
            line[col] = "┊"
        t.append("".join(line), style=_AXIS)
        return t

    def row_text(self, index: int) -> Text:
        """Row ``index``: label, bar on the axis, tail."""
        label_w, bar_w, _ = self._columns()
        row = self.rows[index]
        t = Text(no_wrap=True)
        label = row.label if len(row.label) <= label_w else row.label[: label_w - 1] + "…"
        t.append(label.ljust(label_w) + " │", style=_AXIS if row.alarm == "ok" else _LABEL)
        v = row.value
        if math.isnan(v) or v <= 0:
            eighths = 0
        elif math.isinf(v):
            eighths = bar_w * 8
        else:
            eighths = round(self.column_of(math.log10(v), bar_w) * 8)
        full, part = divmod(eighths, 8)
        bar = "█" * full + (BLOCKS[part] if part and full < bar_w else "")
        t.append(bar, style=ALARM_STYLES.get(row.alarm, ALARM_STYLES["ok"]))
        guides = {col for _, col in self._decades(bar_w)}
        thresholds = self._threshold_cols(bar_w)
        for col in range(len(bar), bar_w):
            if col in thresholds:
                t.append("┊", style=_THRESHOLD)
            elif col in guides:
                t.append("·", style=_GUIDE)
            else:
                t.append(" ")
        t.append(" ")
        t.append_text(row.tail)
        return t

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if y < HEADER_ROWS:
            text = self.header_text(y)
        else:
            index = y - HEADER_ROWS + round(self.scroll_offset.y)
            if index >= len(self.rows):
                return Strip.blank(width)
            text = self.row_text(index)
        segments = [Segment(s.text, s.style) for s in text.render(self.app.console)]
        return Strip(segments).crop_extend(0, width, None)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + HEADER_ROWS)
