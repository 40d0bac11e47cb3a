"""CurvePlot: a small plot of a function y = f(x) in text cells, with the current point marked."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class CurvePlot(Widget):
    """Plots ``ys`` against ``xs`` on a character grid with axes; ``point`` is drawn as ●."""

    DEFAULT_CSS = """
    CurvePlot {
        width: 44;
        height: 12;
    }
    """

    point: reactive[tuple[float, float] | None] = reactive(None)
    """The (x, f(x)) of the current step, or None."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.xs = np.asarray(xs, dtype=np.float64)
        self.ys = np.asarray(ys, dtype=np.float64)
        span = float(self.ys.max() - self.ys.min()) or 1.0
        self.y_lo = float(self.ys.min()) - 0.05 * span
        self.y_hi = float(self.ys.max()) + 0.05 * span

    def _cell(self, x: float, y: float, w: int, h: int) -> tuple[int, int]:
        lo, hi = float(self.xs[0]), float(self.xs[-1])
        col = round((min(max(x, lo), hi) - lo) / (hi - lo) * (w - 1))
        yc = min(max(y, self.y_lo), self.y_hi)
        row = round((self.y_hi - yc) / (self.y_hi - self.y_lo) * (h - 1))
        return row, col

    def render(self) -> Text:
        w, h = max(self.size.width - 6, 10), max(self.size.height, 4)
        grid = [[" "] * w for _ in range(h)]
        styles = [[""] * w for _ in range(h)]
        zero_row, zero_col = self._cell(0.0, 0.0, w, h)
        if self.y_lo <= 0 <= self.y_hi:
            for c in range(w):
                grid[zero_row][c] = "─"
        if self.xs[0] <= 0 <= self.xs[-1]:
            for r in range(h):
                grid[r][zero_col] = "┼" if r == zero_row and self.y_lo <= 0 <= self.y_hi else "│"
        for x, y in zip(self.xs, self.ys, strict=True):
            r, c = self._cell(float(x), float(y), w, h)
            grid[r][c], styles[r][c] = "•", "cyan"
        if self.point is not None:
            px, py = self.point
            r, c = self._cell(px, py, w, h)
            outside = not (self.xs[0] <= px <= self.xs[-1])
            grid[r][c], styles[r][c] = ("▸" if px > 0 else "◂") if outside else "●", "bold yellow"
        t = Text(no_wrap=True)
        for r in range(h):
            label = ""
            if r == 0:
                label = f"{self.y_hi:.2g}"
            elif r == h - 1:
                label = f"{self.y_lo:.2g}"
            t.append(label.rjust(5) + " ", style="grey50")
            for c in range(w):
                t.append(grid[r][c], style=styles[r][c] or "grey42")
            if r < h - 1:
                t.append("\n")
        return t
