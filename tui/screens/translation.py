"""TranslationScreen: the input moved by a pixel or two, every stage run again, and what changed:
convolution moves its output along (equivariance), pooling absorbs small moves (invariance)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.translation import ShiftError, compare_shift, shift
from tui.screens.receptive import plane
from tui.widgets.matrix import MatrixGrid

if TYPE_CHECKING:
    from engine.core import Simulation

MAX_SHIFT = 4
"""How far the input may be moved in each direction."""

KEYS_NOTE = (
    "←/→/↑/↓ move the input by a pixel, 0 puts it back; lit cells differ from the original. "
    "Esc or t returns."
)


class TranslationScreen(Screen[None]):
    """Original and shifted input and last output side by side; changed cells lit up."""

    BINDINGS = [
        Binding("left", "move(0, -1)", "Left", key_display="←", id="shift-left"),
        Binding("right", "move(0, 1)", "Right", key_display="→", id="shift-right"),
        Binding("up", "move(-1, 0)", "Up", key_display="↑", id="shift-up"),
        Binding("down", "move(1, 0)", "Down", key_display="↓", id="shift-down"),
        Binding("0", "reset", "No shift", id="shift-reset"),
        Binding("escape,t", "close", "Back to the player", id="close"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    DEFAULT_CSS = """
    TranslationScreen .tr-row {
        height: auto;
        max-height: 45%;
    }
    TranslationScreen .tr-box {
        width: auto;
        max-width: 50%;
        min-width: 30;
        height: auto;
        max-height: 100%;
        padding: 0 1;
    }
    TranslationScreen #tr-note {
        height: auto;
        padding: 0 1;
        border: round $secondary 60%;
    }
    """

    def __init__(self, simulation: Simulation, dy: int = 0, dx: int = 1) -> None:
        super().__init__()
        self.simulation = simulation
        self.dy, self.dx = dy, dx

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        x = plane(self.simulation.stages[0].x)  # type: ignore[attr-defined]
        y = plane(self.simulation.stages[-1].output)
        last = self.simulation.stages[-1].name
        for row, (a, label) in enumerate(((x, "input"), (y, f"after {last}"))):
            with Horizontal(classes="tr-row"):
                for side in ("orig", "shift"):
                    with Vertical(classes="box tr-box", id=f"tr-box-{row}-{side}") as box:
                        box.border_title = Content(label if side == "orig" else f"{label}, moved")
                        yield MatrixGrid(a, id=f"tr-{row}-{side}")
        yield Static(id="tr-note")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Shift the input"
        self.sub_title = self.simulation.title
        self.redraw()

    def redraw(self) -> None:
        """Run every stage on the shifted input and show what changed, or, when a stage
        refuses the moved input, say so and leave the moved grids as they were."""
        sim = self.simulation
        try:
            comparisons = compare_shift(sim, self.dy, self.dx)
        except ShiftError as e:
            self.query_one("#tr-note", Static).update(
                Content.assemble(
                    Content(str(e)).stylize("bold red"),  # stage names as written
                    "\n",
                    Content.from_markup(f"[dim]{KEYS_NOTE}[/dim]"),
                )
            )
            return
        x = plane(sim.stages[0].x)  # type: ignore[attr-defined]
        xs = plane(shift(sim.stages[0].x, self.dy, self.dx))  # type: ignore[attr-defined]
        last = comparisons[-1]
        y, ys = plane(last.original), plane(last.shifted)
        for row, (a, b) in enumerate(((x, xs), (y, ys))):
            changed = ~np.isclose(a, b, equal_nan=True)
            self.query_one(f"#tr-{row}-shift", MatrixGrid).set_values(b)
            self.query_one(f"#tr-{row}-shift", MatrixGrid).set_highlight(changed)
            self.query_one(
                f"#tr-box-{row}-shift"
            ).border_subtitle = f"{int(changed.sum())} of {changed.size} cells changed"
        lines = [
            Content.from_markup(
                f"Input moved [b]{self.dy}[/b] down and [b]{self.dx}[/b] right (zeros fill in)."
            )
        ]
        for c in comparisons:
            kept = c.unchanged
            same, compared = c.equivariant_cells(self.dy, self.dx)
            line = f"  [b]$name[/b]: {kept} of {c.original.size} outputs unchanged"
            if compared:
                line += (
                    f"; {same} of {compared} inner outputs equal the original output moved by "
                    f"({self.dy // c.scale}, {self.dx // c.scale}): the output moves with the input"
                )
            elif self.dy or self.dx:
                line += f" (one output here spans {c.scale} input pixels)"
            lines.append(Content.from_markup(line, name=c.name))  # the name as written
        lines.append(Content.from_markup(f"[dim]{KEYS_NOTE}[/dim]"))
        self.query_one("#tr-note", Static).update(Content("\n").join(lines))

    def action_move(self, dy: int, dx: int) -> None:
        self.dy = max(-MAX_SHIFT, min(MAX_SHIFT, self.dy + dy))
        self.dx = max(-MAX_SHIFT, min(MAX_SHIFT, self.dx + dx))
        self.redraw()

    def action_reset(self) -> None:
        self.dy = self.dx = 0
        self.redraw()

    def action_close(self) -> None:
        self.dismiss(None)
