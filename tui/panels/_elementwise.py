"""ElementwisePanel: what the dropout and add panels share, one or more arrays of the same shape
shown side by side (a channel at a time, or as strips for vectors) with the current element."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.core import Stage
from tui.panels._maps import no_links
from tui.panels._vector import VectorStrip
from tui.panels.activation import as_volume
from tui.panels.base import Panel
from tui.widgets.matrix import MatrixGrid, Window


class ElementwisePanel(Panel):
    """Arrays of one shape, side by side; the last is the output and fills in step by step.
    Subclasses give ``arrays()`` (title, values) and ``explain(step)``."""

    DEFAULT_CSS = """
    ElementwisePanel .ew-grids {
        height: auto;
        max-height: 60vh;
    }
    ElementwisePanel .box {
        width: auto;
        height: auto;
        max-height: 60vh;
        min-width: 24;
        max-width: 50%;
        padding: 0 1;
    }
    ElementwisePanel .ew-strips {
        height: auto;
    }
    ElementwisePanel .ew-strips .box {
        width: 1fr;
        max-width: 100%;
    }
    ElementwisePanel .ew-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: Stage, *, id: str | None = None) -> None:
        super().__init__(stage, id=id)
        self._arrays = self.arrays()
        self._vector = self._arrays[0][1].ndim == 1
        self._volumes = [as_volume(a) for _, a in self._arrays]
        self._channel = -1

    @abstractmethod
    def arrays(self) -> list[tuple[str, np.ndarray]]:
        """(title, array) of each array shown, the output last."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        last = len(self._arrays) - 1
        if self._vector:
            with Vertical(classes="ew-strips"):
                for k, (title, values) in enumerate(self._arrays):
                    with Vertical(classes="box", id=f"ew-box-{k}") as box:
                        box.border_title = title
                        yield VectorStrip(
                            values, labels=("i", ""), progress=k == last, id=f"ew-{k}"
                        )
        else:
            with Horizontal(classes="ew-grids"):
                for k, (title, _) in enumerate(self._arrays):
                    with Vertical(classes="box", id=f"ew-box-{k}") as box:
                        box.border_title = title
                        yield MatrixGrid(self._volumes[k][0], progress=k == last, id=f"ew-{k}")
        inspector = Static(classes="ew-inspector", id="ew-inspector")
        no_links(inspector)  # rewritten every step; it has no links
        inspector.border_title = "How this number is computed"
        yield inspector

    def locate(self, index: int) -> tuple[int, int, int]:
        """(channel, row, col) of element ``index`` in the (C, H, W) view."""
        h, w = self._volumes[0].shape[1:]
        c, rest = divmod(index, h * w)
        r, col = divmod(rest, w)
        return c, r, col

    def show_element(self, index: int) -> None:
        """Mark element ``index`` in every array."""
        last = len(self._arrays) - 1
        if self._vector:
            for k in range(len(self._arrays)):
                self.query_one(f"#ew-{k}", VectorStrip).set_current(index)
            return
        c, r, col = self.locate(index)
        channels = self._volumes[0].shape[0]
        for k, volume in enumerate(self._volumes):
            grid = self.query_one(f"#ew-{k}", MatrixGrid)
            if c != self._channel:
                grid.set_values(volume[c])
            if k == last:
                grid.set_current(r * volume.shape[2] + col)
            else:
                grid.set_window(Window(r, col, 1, 1))
        if c != self._channel and channels > 1:
            self.query_one(f"#ew-box-{last}").border_subtitle = f"channel {c} of {channels}"
        self._channel = c

    def set_heat(self, on: bool) -> None:
        super().set_heat(on)
        for strip in self.query(VectorStrip):
            strip.heat = on

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        h, w = self._volumes[0].shape[1:]
        self.post_message(
            self.StepChosen((max(self._channel, 0) * h + message.row) * w + message.col)
        )

    def on_vector_strip_cell_clicked(self, message: VectorStrip.CellClicked) -> None:
        message.stop()
        self.post_message(self.StepChosen(message.index))
