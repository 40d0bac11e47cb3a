"""HelpScreen: the keys, what the colours mean, and what the open scenario teaches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from engine.core import Simulation


KEYS = [
    ("space", "play / pause"),
    ("→ / ←", "one step forward / back"),
    ("PgDn / PgUp", "one output row forward / back"),
    ("Home / End", "first / last step"),
    ("+ / −", "faster / slower playback"),
    ("] / [", "next stage / start of this or the previous stage (also Tab / Shift+Tab)"),
    ("g", "go to a step by number"),
    ("h", "heat view: shade cells by value instead of numbers"),
    ("c", "check this stage against PyTorch again"),
    ("click", "click an output cell to jump to its step"),
    ("Esc", "back to the scenario list"),
    ("?", "this help"),
    ("q", "quit"),
]

LEGEND = [
    (" 10 ", "black on yellow", "the window the current step reads"),
    (" 0 ", "grey50 on grey19 italic", "padding: zeros added around the input"),
    (" 30 ", "black on bright_green", "the output element being computed"),
    (" 30 ", "bright_white", "output already computed"),
    (" · ", "grey35", "output not computed yet"),
    (" 9 ", "bold underline bright_white on red", "max pooling: the window's winner"),
]


class HelpScreen(ModalScreen[None]):
    """Keys, colour legend and the scenario's description."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", id="close"),
    ]

    def __init__(self, simulation: Simulation | None = None) -> None:
        super().__init__()
        self.simulation = simulation

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        for key, what in KEYS:
            keys.add_row(Text(key, style="bold"), what)
        legend = Table.grid(padding=(0, 2))
        for sample, style, what in LEGEND:
            legend.add_row(Text(sample, style=style), what)
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("Keys", style="bold underline"))
            yield Static(keys)
            yield Static(Text("\nColours", style="bold underline"))
            yield Static(legend)
            if self.simulation is not None:
                yield Static(Text(f"\n{self.simulation.title}", style="bold underline"))
                yield Static(Text(" ".join(self.simulation.description.split())))
            yield Static(Text("\nEsc, ? or q closes this help.", style="grey62"))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
