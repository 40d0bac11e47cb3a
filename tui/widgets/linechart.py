"""LineChart: several series y(x) drawn as lines of braille dots (2×4 per cell), each in its
own colour, over a y axis with its range labelled and an x axis with its ends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.widget import Widget

BRAILLE = 0x2800
DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The braille bit of dot (row 0–3, column 0–1) inside a cell."""

Y_LABEL = 6
"""Cells left of the plot for the y labels."""


@dataclass(frozen=True)
class Series:
    """One line: points (xs, ys) in increasing x, its colour (a Rich colour) and name."""

    xs: np.ndarray
    ys: np.ndarray
    color: str
    name: str = ""


class LineChart(Widget):
    """Lines on a fixed y range (``y_range``) and an x range spanning every series; a value
    outside the y range is drawn at the edge it passed, a nan is not drawn."""

    DEFAULT_CSS = """
    LineChart {
        width: 1fr;
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(
        self,
        *,
        y_range: tuple[float, float] = (0.0, 1.0),
        y_format: str = "{:.0%}",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.series: list[Series] = []
        self.y_range = y_range
        self.y_format = y_format
        self.x_max: float | None = None

    def set_series(self, series: Sequence[Series], x_max: float | None = None) -> None:
        """Draw ``series``; ``x_max`` fixes the x axis's right end (else the largest x)."""
        self.series = list(series)
        self.x_max = x_max
        self.refresh()

    def _x_range(self) -> tuple[float, float]:
        xs = [float(s.xs[-1]) for s in self.series if len(s.xs)]
        hi = self.x_max if self.x_max is not None else max(xs, default=1.0)
        lo = min((float(s.xs[0]) for s in self.series if len(s.xs)), default=0.0)
        return lo, hi if hi > lo else lo + 1.0

    def dots(self, w: int, h: int) -> tuple[list[list[int]], list[list[str]]]:
        """Braille bits and colour per cell of a w × h plot."""
        bits = [[0] * w for _ in range(h)]
        colors = [[""] * w for _ in range(h)]
        x_lo, x_hi = self._x_range()
        y_lo, y_hi = self.y_range
        dw, dh = 2 * w, 4 * h

        def dot(px: float, py: float) -> tuple[int, int] | None:
            if math.isnan(px) or math.isnan(py):
                return None
            c = round((px - x_lo) / (x_hi - x_lo) * (dw - 1))
            yc = min(max(py, y_lo), y_hi)
            r = round((y_hi - yc) / (y_hi - y_lo) * (dh - 1))
            return r, min(max(c, 0), dw - 1)

        for s in self.series:
            pts = [dot(float(x), float(y)) for x, y in zip(s.xs, s.ys, strict=True)]
            for a, b in zip(pts, pts[1:] or pts, strict=False):
                if a is None or b is None:
                    continue
                n = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
                for k in range(n + 1):
                    r = round(a[0] + (b[0] - a[0]) * k / n)
                    c = round(a[1] + (b[1] - a[1]) * k / n)
                    bits[r // 4][c // 2] |= DOTS[r % 4][c % 2]
                    colors[r // 4][c // 2] = s.color
        return bits, colors

    def render(self) -> Text:
        w = max(self.size.width - Y_LABEL - 1, 4)
        h = max(self.size.height - 1, 2)
        bits, colors = self.dots(w, h)
        y_lo, y_hi = self.y_range
        t = Text(no_wrap=True)
        for r in range(h):
            label = ""
            if r == 0:
                label = self.y_format.format(y_hi)
            elif r == h - 1:
                label = self.y_format.format(y_lo)
            elif r == h // 2:
                label = self.y_format.format((y_lo + y_hi) / 2)
            t.append(label.rjust(Y_LABEL - 1) + " ┤" if label else " " * Y_LABEL + "│", "grey50")
            for c in range(w):
                if bits[r][c]:
                    t.append(chr(BRAILLE + bits[r][c]), style=colors[r][c])
                else:
                    t.append(" ")
            t.append("\n")
        x_lo, x_hi = self._x_range()
        left, right = f"{x_lo:g}", f"{x_hi:,.0f}"
        t.append(" " * Y_LABEL + "└" + left, style="grey50")
        t.append(right.rjust(max(w - len(left), len(right))), style="grey50")
        return t
