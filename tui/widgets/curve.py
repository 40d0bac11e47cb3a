"""CurvePlot: a small plot of a function y = f(x) in text cells, with the current point marked."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from rich.text import Text
from textual.events import Resize
from textual.reactive import reactive

from tui.numbers import fraction
from tui.widgets.rows import CachedRows

Point = tuple[int, int, str]
"""Where the current point is drawn: row, column and mark."""


class CurvePlot(CachedRows):
    """Plots ``ys`` against ``xs`` on a character grid with axes; ``point`` is drawn as ●.

    Each line is a row of ``CachedRows`` keyed by the size and by the point when it lies on
    that line: a step rewrites and repaints the one or two lines the point leaves and enters,
    and a line the point comes back to is drawn from its cached strip."""

    DEFAULT_CSS = """
    CurvePlot {
        width: 44;
        height: 12;
    }
    """

    point: reactive[tuple[float, float] | None] = reactive(None, repaint=False)
    """The (x, f(x)) of the current step, or None."""

    def __init__(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        *,
        y_range: tuple[float, float] | None = None,
        id: str | None = None,
    ) -> None:
        """``y_range`` fixes the y axis to (low, high) exactly, as for a function whose values
        are bounded (σ in [0, 1]); without it the axis spans the data with a 5% margin."""
        super().__init__(id=id)
        self._base_size: tuple[int, int] | None = None
        self._base_rows: tuple[list[list[str]], list[list[str]]] | None = None
        self.xs = np.asarray(xs, dtype=np.float64)
        self.ys = np.asarray(ys, dtype=np.float64)
        if y_range is not None:
            self.y_lo, self.y_hi = float(y_range[0]), float(y_range[1])
            return
        # The y axis spans the finite values; an infinite one is drawn at the edge it went
        # past, a nan is not drawn.
        finite = self.ys[np.isfinite(self.ys)]
        y_min, y_max = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        span = (y_max - y_min) or 1.0
        if math.isinf(span):  # −1e308 … 1e308: no margin rather than an infinite one
            self.y_lo, self.y_hi = y_min, y_max
        else:
            self.y_lo = y_min - 0.05 * span
            self.y_hi = y_max + 0.05 * span

    def _cell(self, x: float, y: float, w: int, h: int) -> tuple[int, int] | None:
        """The (row, column) where point (x, y) is drawn, or None for a nan."""
        if math.isnan(x) or math.isnan(y):
            return None
        lo, hi = float(self.xs[0]), float(self.xs[-1])
        col = round(fraction(min(max(x, lo), hi) - lo, hi - lo) * (w - 1))
        yc = min(max(y, self.y_lo), self.y_hi)
        row = round(fraction(self.y_hi - yc, self.y_hi - self.y_lo) * (h - 1))
        return row, col

    def _base(self, w: int, h: int) -> tuple[list[list[str]], list[list[str]]]:
        """The axes and the curve at ``w`` × ``h`` cells, characters and styles, made once
        per size: a step moves the point and nothing else."""
        if self._base_size == (w, h) and self._base_rows is not None:
            return self._base_rows
        grid = [[" "] * w for _ in range(h)]
        styles = [["grey42"] * w for _ in range(h)]
        zero_row, zero_col = self._cell(0.0, 0.0, w, h) or (0, 0)
        if self.y_lo <= 0 <= self.y_hi:
            for c in range(w):
                grid[zero_row][c] = "─"
        if self.xs[0] <= 0 <= self.xs[-1]:
            for r in range(h):
                grid[r][zero_col] = "┼" if r == zero_row and self.y_lo <= 0 <= self.y_hi else "│"
        for x, y in zip(self.xs, self.ys, strict=True):
            cell = self._cell(float(x), float(y), w, h)
            if cell is not None:
                grid[cell[0]][cell[1]], styles[cell[0]][cell[1]] = "•", "cyan"
        self._base_size, self._base_rows = (w, h), (grid, styles)
        return grid, styles

    def watch_point(self, old: tuple[float, float] | None, new: tuple[float, float] | None) -> None:
        self._show()

    def on_resize(self, event: Resize) -> None:
        self._show()

    def _cells(self) -> tuple[int, int]:
        return max(self.size.width - 6, 10), max(self.size.height, 4)

    def _mark(self, w: int, h: int) -> Point | None:
        """Where and how the current point is drawn at ``w`` × ``h`` cells, if anywhere."""
        if self.point is None:
            return None
        px, py = self.point
        cell = self._cell(px, py, w, h)
        if cell is None:
            return None
        outside = not (self.xs[0] <= px <= self.xs[-1])
        return (*cell, ("▸" if px > 0 else "◂") if outside else "●")

    def _show(self) -> None:
        """Give ``CachedRows`` the plot's lines: only a line whose key changed is written."""
        if not self.size.area:
            return
        w, h = self._cells()
        mark = self._mark(w, h)
        self.set_rows(
            [
                (
                    (w, h, r, mark if mark is not None and mark[0] == r else None),
                    partial(self._plot_line, w, h, r, mark),
                )
                for r in range(h)
            ]
        )

    def _plot_line(self, w: int, h: int, r: int, point: Point | None) -> Text:
        """Line ``r`` of the plot: its axis label, the axes and curve, and the point if on it."""
        grid, styles = self._base(w, h)
        label = ""
        if r == 0:
            label = f"{self.y_hi:.2g}"
        elif r == h - 1:
            label = f"{self.y_lo:.2g}"
        t = Text(no_wrap=True)
        t.append(label.rjust(5) + " ", style="grey50")
        chars, marks = grid[r], styles[r]
        if point is not None and point[0] == r:
            chars, marks = list(chars), list(marks)
            chars[point[1]], marks[point[1]] = point[2], "bold yellow"
        # One span per run of blanks, not one per cell (a plot is mostly blank); every drawn
        # character its own, so that it keeps its cell in an exported picture.
        first = 0
        for c in range(1, w + 1):
            if c == w or chars[c] != " " or chars[first] != " ":
                t.append("".join(chars[first:c]), style=marks[first])
                first = c
        return t
