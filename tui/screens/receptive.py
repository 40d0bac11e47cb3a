"""ReceptiveScreen: the inputs an output depends on, traced back through every earlier stage, and
the outputs an input pixel reaches: the sparse connections of a CNN made visible."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Static

from engine.receptive import influence, input_hw, receptive_field
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.matrix import MatrixGrid

if TYPE_CHECKING:
    from engine.core import Simulation, Step


def plane(a: np.ndarray) -> np.ndarray:
    """The first channel of an array as a 2-D grid (a vector becomes one row)."""
    if a.ndim == 1:
        return a[None, :]
    return a.reshape(-1, *a.shape[-2:])[0]


def step_cell(step: Step) -> tuple[int, int]:
    """(row, col) of the output a step computes."""
    if hasattr(step, "row") and hasattr(step, "col"):
        return int(step.row), int(step.col)
    position = tuple(getattr(step, "position", (0,)))
    return (int(position[-2]), int(position[-1])) if len(position) >= 2 else (0, int(position[0]))


class ReceptiveScreen(Screen[None]):
    """Grids of every stage's input and of the chosen stage's output, with the cells that the
    chosen output depends on lit up; click an input pixel to see what it reaches instead."""

    BINDINGS = [
        Binding("escape,r", "close", "Back to the player", id="close"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    DEFAULT_CSS = """
    ReceptiveScreen #rf-grids {
        height: 1fr;
    }
    ReceptiveScreen .rf-box {
        width: auto;
        min-width: 20;
        height: auto;
        max-height: 100%;
        padding: 0 1;
    }
    ReceptiveScreen #rf-note {
        height: auto;
        padding: 0 1;
        border: round $secondary 60%;
    }
    """

    def __init__(self, simulation: Simulation, stage_no: int, cell: tuple[int, int]) -> None:
        super().__init__()
        self.simulation = simulation
        self.stage_no = stage_no
        self.cell = cell

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        stages = self.simulation.stages[: self.stage_no + 1]
        share = f"{100 // (len(stages) + 1)}%"  # every grid on screen; each scrolls inside
        with Horizontal(id="rf-grids"):
            for k, stage in enumerate(stages):
                with Vertical(classes="box rf-box", id=f"rf-box-{k}") as box:
                    box.border_title = Content("input" if k == 0 else f"after {stages[k - 1].name}")
                    box.styles.max_width = share
                    yield MatrixGrid(plane(stage.x), id=f"rf-{k}")  # type: ignore[attr-defined]
            with Vertical(classes="box rf-box", id="rf-box-out") as box:
                box.border_title = Content(f"after {stages[-1].name}")
                box.styles.max_width = share
                yield MatrixGrid(plane(stages[-1].output), id="rf-out")
        yield Static(id="rf-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Receptive field"
        self.sub_title = self.simulation.title
        self.show_field()

    def _grids(self) -> list[MatrixGrid]:
        n = self.stage_no + 1
        return [self.query_one(f"#rf-{k}", MatrixGrid) for k in range(n)] + [
            self.query_one("#rf-out", MatrixGrid)
        ]

    def show_field(self) -> None:
        """Light up what output ``self.cell`` of the chosen stage depends on."""
        r, c = self.cell
        masks = receptive_field(self.simulation, self.stage_no, r, c)
        out_mask = np.zeros(plane(self.simulation.stages[self.stage_no].output).shape, dtype=bool)
        out_mask[r, c] = True
        grids = self._grids()
        for k, (grid, mask) in enumerate(zip(grids, [*masks, out_mask], strict=True)):
            grid.set_highlight(mask)
            grid.set_mark(None)
            box = self.query_one(f"#rf-box-{k}" if k <= self.stage_no else "#rf-box-out")
            box.border_subtitle = f"{int(mask.sum())} of {mask.size} cells"
        first = masks[0]
        stage = self.simulation.stages[self.stage_no]
        self.query_one("#rf-note", Static).update(
            Content.from_markup(  # $name is inserted as written, never read as markup
                f"[b]$name output ({r}, {c})[/b] depends on the [b]{int(first.sum())}[/b] "
                f"lit pixels of the {first.shape[0]}×{first.shape[1]} input (in every channel a "
                "convolution reads), and on nothing else: the connections are sparse, and the "
                "same weights serve every position.\n"
                "[dim]Click a pixel of the input grid to light up every output it reaches "
                "instead; click an output of the last grid to trace that one back. Esc or r "
                "returns.[/dim]",
                name=stage.name,
            )
        )

    def show_influence(self, row: int, col: int) -> None:
        """Light up every output that input pixel (row, col) reaches, stage by stage."""
        masks = influence(self.simulation, row, col)[: self.stage_no + 1]
        grids = self._grids()
        start = np.zeros(input_hw(self.simulation.stages[0]), dtype=np.bool_)
        start[row, col] = True
        for k, (grid, mask) in enumerate(zip(grids, [start, *masks], strict=True)):
            grid.set_highlight(mask)
            box = self.query_one(f"#rf-box-{k}" if k <= self.stage_no else "#rf-box-out")
            box.border_subtitle = f"{int(mask.sum())} of {mask.size} cells"
        reached = int(masks[-1].sum())
        self.query_one("#rf-note", Static).update(
            Content.from_markup(
                f"Input pixel [b]({row}, {col})[/b] reaches [b]{reached}[/b] output(s) of "
                "$name, lit in each grid.\n"
                "[dim]Click an output of the last grid to trace it back. Esc or r returns.[/dim]",
                name=self.simulation.stages[self.stage_no].name,
            )
        )

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        if message.grid.id == "rf-0":
            self.show_influence(message.row, message.col)
        elif message.grid.id == "rf-out":
            self.cell = (message.row, message.col)
            self.show_field()

    def action_close(self) -> None:
        self.dismiss(None)
