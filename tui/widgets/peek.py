"""MatrixPeek: the corners of a large matrix in the space available — first rows and columns,
then "…" / "⋮", then the last — with row and column indices, coloured by sign and size."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widget import Widget

from tui.numbers import fmt_num

CELL = 7
"""Cells per number, its separating space included."""


def shown(n: int, room: int) -> list[int | None]:
    """Indices of ``n`` items to show in ``room`` slots: all of them when they fit, else the
    first ones, None (the elision) and the last one."""
    room = max(room, 3)
    if n <= room:
        return list(range(n))
    return [*range(room - 2), None, n - 1]


def cell_style(v: float, scale: float) -> str:
    """Blue for negative, red for positive, brighter for larger |v| relative to ``scale``."""
    if not np.isfinite(v):
        return "bold magenta"
    if scale <= 0 or v == 0:
        return "grey50"
    strong = abs(v) >= 0.5 * scale
    if v > 0:
        return "bold bright_red" if strong else "red"
    return "bold bright_blue" if strong else "blue"


class MatrixPeek(Widget):
    """A matrix (or a vector, drawn as a column) shown by its corners, fitted to the widget."""

    DEFAULT_CSS = """
    MatrixPeek {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, matrix: np.ndarray, *, max_rows: int = 12, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_rows = max_rows
        self.set_matrix(matrix)

    def set_matrix(self, matrix: np.ndarray) -> None:
        a = np.asarray(matrix, dtype=np.float64)
        self.matrix = a[:, None] if a.ndim == 1 else a
        finite = np.abs(self.matrix[np.isfinite(self.matrix)])
        self.scale = float(finite.max()) if finite.size else 0.0
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return len(shown(self.matrix.shape[0], self.max_rows)) + 1

    def render(self) -> Text:
        rows, cols = self.matrix.shape
        index_w = len(str(rows - 1)) + 1
        room = max(1, (self.size.width - index_w) // CELL)
        row_ix = shown(rows, self.max_rows)
        col_ix = shown(cols, room)
        t = Text(no_wrap=True)
        t.append(" " * index_w, style="grey50")
        for j in col_ix:
            t.append(("…" if j is None else str(j)).rjust(CELL), style="grey50")
        for i in row_ix:
            t.append("\n")
            if i is None:
                t.append(" " * index_w)
                for j in col_ix:
                    t.append(("⋱" if j is None else "⋮").rjust(CELL), style="grey50")
                continue
            t.append(str(i).rjust(index_w - 1) + " ", style="grey50")
            for j in col_ix:
                if j is None:
                    t.append("…".rjust(CELL), style="grey50")
                    continue
                v = float(self.matrix[i, j])
                t.append(fmt_num(v, 3).rjust(CELL), style=cell_style(v, self.scale))
        return t
