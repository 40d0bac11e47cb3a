"""NormBars: one bar per time step on a log scale, filled from the right as a backward pass runs."""

from __future__ import annotations

import math

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.numbers import clamp

EIGHTHS = " ▁▂▃▄▅▆▇█"
"""Partial block characters, in eighths of a cell."""


def log_scale(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """log₁₀ of positive ``values`` (zeros drawn at the smallest positive one) and the axis's
    range (lo, hi) in whole decades around the finite ones. An infinite value's log is inf
    and a nan's is nan: the bars draw them full and empty."""
    v = np.asarray(values, dtype=np.float64)
    positive = v[(v > 0) & np.isfinite(v)]
    floor = float(positive.min()) if positive.size else 1.0
    with np.errstate(invalid="ignore"):
        logs = np.log10(np.maximum(v, floor))  # nan stays nan
    finite = logs[np.isfinite(logs)]
    if not finite.size:
        return logs, 0.0, 1.0
    lo, hi = math.floor(float(finite.min())), math.ceil(float(finite.max()))
    return logs, float(lo), float(max(hi, lo + 1))


def segments_of(text: Text, base: Style, styles: dict[str | Style, Style]) -> list[Segment]:
    """One line of ``text`` as segments, each span's style over ``base`` (a widget's own
    colours, as a Static's text gets them), ``styles`` caching the combined styles. The
    spans must follow one another without overlapping, as ``Text.append`` makes them; this
    is several times faster than rendering the text through a console."""
    plain = text.plain
    out = []
    at = 0
    for span in text.spans:
        if span.start > at:
            out.append(Segment(plain[at : span.start], base))
        style = styles.get(span.style)
        if style is None:
            style = styles[span.style] = base + Style.parse(str(span.style))
        out.append(Segment(plain[span.start : span.end], style))
        at = span.end
    if at < len(plain):
        out.append(Segment(plain[at:], base))
    return out


class NormBars(Widget):
    """Bars of ``values`` (one per time step, left to right t = 1 … T; bar k is t = k + 1) on a
    log₁₀ axis.

    Bars at t ≥ ``current`` are done (the backward pass has reached them), the one at
    ``current`` is lit, and those before it are still pending.
    """

    DEFAULT_CSS = """
    NormBars {
        width: 1fr;
        height: 10;
    }
    """

    current: reactive[int] = reactive(0)
    """The time step the backward pass is at."""

    def __init__(self, values: np.ndarray, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values = np.asarray(values, dtype=np.float64)
        self.logs, self.lo, self.hi = log_scale(self.values)
        self._strips: list[Strip] = []
        self._strips_key: object = None

    def validate_current(self, value: int) -> int:
        return min(max(int(value), 0), len(self.values) - 1)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the bars, all lines built once per step and size: a step moves the
        lit bar, and the text of ten lines with two spans a bar cost more to turn into a
        frame through Textual's content (5 to 10 ms at 30 steps) than the segments here."""
        key = (self.current, self.size)
        if self._strips_key != key:
            base = self.rich_style
            styles: dict[str | Style, Style] = {}
            width = self.size.width
            self._strips = []
            for row in self.rows():
                strip = Strip(segments_of(row, base, styles), row.cell_len)
                self._strips.append(strip.crop(0, width) if row.cell_len > width else strip)
            self._strips_key = key
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width)

    def render(self) -> Text:
        """The bars as one text (``rows`` joined)."""
        return Text("\n", no_wrap=True).join(self.rows())

    def rows(self) -> list[Text]:
        """The lines of the bars: ``h`` rows of bars with their axis labels, then the t axis."""
        n = len(self.values)
        label_w = 7
        h = max(self.size.height - 1, 2)  # the last row holds the t axis
        col_w = max(1, min(4, (max(self.size.width, 20) - label_w) // n))
        bar_w = max(1, col_w - 1) if col_w > 1 else 1
        span = self.hi - self.lo
        eighths = [
            round(clamp((float(g) - self.lo) / span, 0.0, 1.0, nan=0.0) * h * 8) for g in self.logs
        ]
        rows = []
        for r in range(h):
            t = Text(no_wrap=True)
            level = h - 1 - r  # rows counted from the bottom
            label = ""
            if r == 0:
                label = f"1e{self.hi:+.0f}"
            elif r == h - 1:
                label = f"1e{self.lo:+.0f}"
            elif r == h // 2:
                label = "‖δ‖"
            t.append(label.rjust(label_w - 1) + "│", style="grey50")
            for k in range(n):
                fill = min(max(eighths[k] - level * 8, 0), 8)
                if k < self.current:
                    ch, style = ("·" if level == 0 else " "), "grey35"
                else:
                    ch = EIGHTHS[fill]
                    style = "bold yellow" if k == self.current else "cyan"
                t.append(ch * bar_w, style=style)
                if col_w > bar_w:
                    t.append(" ")
            rows.append(t)
        t = Text(no_wrap=True)
        t.append(" " * (label_w - 1) + "└", style="grey50")
        axis = [" "] * (n * col_w)
        for k in sorted({0, n - 1, self.current}):
            text = f"t={k + 1}" if k in (0, self.current) else f"{k + 1}"
            start = min(k * col_w, len(axis) - len(text))
            if all(c == " " for c in axis[max(start - 1, 0) : start + len(text) + 1]):
                axis[start : start + len(text)] = list(text)
        t.append("".join(axis), style="grey62")
        rows.append(t)
        return rows
