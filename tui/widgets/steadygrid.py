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
    style, and a style change lays the screen out again."""

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
        super().__init__(
            values if every is None else np.atleast_2d(every), span=span, id=id, classes=classes
        )
        self._least_cell = self.cell_width
        if every is not None:
            self.set_values(values)

    def _resize_virtual(self) -> None:
        self._cell_w = max(self._cell_w, self._least_cell)
        super()._resize_virtual()

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
