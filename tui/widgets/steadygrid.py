"""SteadyGrid: a MatrixGrid that keeps one size for a whole stage, so that stepping repaints
its numbers and lays nothing out."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from textual.strip import Strip

from tui.widgets.matrix import MatrixGrid


class SteadyGrid(MatrixGrid):
    """A grid of the values one step shows, its columns as wide as the widest any step of the
    stage needs (``every``: all the values the stage will show, one row per step, or any
    array holding them). A plain MatrixGrid sizes its columns from the values it shows: a⟨0⟩
    = 0, whole numbers, is written in narrower columns than the states after it, and the grid
    changing width lays the whole screen out again (about as long as the rest of the step).

    ``blank`` empties the grid without giving up its room: hiding a widget (``visible``) is a
    style, and a style change lays the screen out again.

    New values of the same shape repaint only the rows whose numbers changed: the line of
    column numbers, and rows that did not change, keep their strips (a plain MatrixGrid
    repaints every line of the grid, its scroll bar's line included). ``rows_repainted``
    counts the rows repainted so."""

    def __init__(
        self,
        values: np.ndarray,
        *,
        every: np.ndarray | None = None,
        span: tuple[float, float] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        self._least_cell = 0
        self._blank = False
        self._versions: dict[int, int] = {}
        """How many times each row's numbers changed in place: part of its strips' key."""
        self._changed: list[int] | None = None
        """The rows new values of the same shape changed (None: draw the grid afresh)."""
        self.rows_repainted = 0
        """Rows repainted because their numbers changed in place."""
        super().__init__(
            values if every is None else np.atleast_2d(every), span=span, id=id, classes=classes
        )
        self._least_cell = self.cell_width
        if every is not None:
            self.set_values(values)

    def set_values(
        self, values: np.ndarray, *, span: tuple[float, float] | bool | None = True
    ) -> None:
        old = getattr(self, "_values", None)
        drawn = None if old is None else (self._lo, self._hi, self._cell_w, self._label_w)
        new = np.asarray(values, dtype=np.float64)
        self._changed = None
        if old is not None and old.shape == new.shape and new.ndim == 2:
            same = (old == new) | (np.isnan(old) & np.isnan(new))
            self._changed = [int(r) for r in np.flatnonzero(~same.all(axis=1))]
        super().set_values(new, span=span)
        if drawn != (self._lo, self._hi, self._cell_w, self._label_w):
            self._changed = None

    def _resize_virtual(self) -> None:
        self._cell_w = max(self._cell_w, self._least_cell)
        changed, self._changed = self._changed, None
        w, h = self.natural_size(self.heat, self.zoom)
        if changed is None or self.virtual_size != (w, h):
            super()._resize_virtual()
            return
        # The same grid with some numbers changed: those rows only are drawn again.
        for r in changed:
            self._versions[r] = self._versions.get(r, 0) + 1
            self._refresh_rows(r, 1)
        self.rows_repainted += len(changed)

    def _row_key(self, r: int) -> tuple[object, ...]:
        return (*super()._row_key(r), self._versions.get(r, 0))

    @property
    def blank(self) -> bool:
        """True: nothing is drawn where the grid is (it keeps its size)."""
        return self._blank

    @blank.setter
    def blank(self, blank: bool) -> None:
        if blank != self._blank:
            self._blank = blank
            self.refresh()

    def render_line(self, y: int) -> Strip:
        if self._blank:  # the colours behind the grid, as when it is not drawn at all
            return Strip.blank(self.size.width, Style(bgcolor=self.rich_style.bgcolor))
        return super().render_line(y)
