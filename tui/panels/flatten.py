"""FlattenPanel: where each element of the flattened vector comes from in the (C, H, W) input."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from engine.layers import FlattenStage, FlattenStep
from tui.numbers import fmt_exact
from tui.panels._maps import no_links
from tui.panels._vector import VectorStrip, update_inspector
from tui.panels.activation import as_volume
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid, Window


def index_formula(shape: tuple[int, ...], source: tuple[int, ...]) -> str:
    """The row-major index of ``source`` in ``shape``, written out: i = (c·H + h)·W + w with
    the numbers."""
    value = 0
    for size, pos in zip(shape, source, strict=True):
        value = value * size + pos
    if len(source) == 1:
        return f"i = {value}"
    names = {3: ("c", "h", "w"), 2: ("h", "w")}.get(len(source))
    sizes = {3: ("C", "H", "W"), 2: ("H", "W")}.get(len(source))
    num = str(source[0])
    sym = names[0] if names else ""
    for k in range(1, len(source)):
        num = f"({num}·{shape[k]} + {source[k]})"
        if names and sizes:
            sym = f"({sym}·{sizes[k]} + {names[k]})"
    symbolic = f"{sym[1:-1]} = " if names else ""
    return f"i = {symbolic}{num[1:-1]} = {value}"


def explain_flatten(stage: FlattenStage, step: FlattenStep) -> Text:
    """The inspector's text: which input element this output copies and why it lands here."""
    t = Text()
    where = ", ".join(str(p) for p in step.source)
    t.append(f"out[{step.index}]", style="bold")
    t.append(f" = x[{where}] = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append("\n  " + index_formula(step.in_shape, step.source), style="")
    shape = "×".join(str(d) for d in step.in_shape)
    t.append(
        f"\n  row-major order, as torch.flatten(x, 1): channel by channel, each channel row by "
        f"row; the {shape} volume becomes a vector of {len(stage):,} numbers, nothing computed "
        "and no parameters, so a linear layer can read it",
        style="grey62",
    )
    return t


@register
class FlattenPanel(Panel):
    """Draws a FlattenStage: the input channel holding the element, and the vector filling in."""

    kind = "flatten"

    DEFAULT_CSS = """
    FlattenPanel .box {
        width: auto;
        height: auto;
        max-height: 45vh;
        max-width: 100%;
        min-width: 30;
        padding: 0 1;
    }
    FlattenPanel #flatten-output-box {
        width: 1fr;
    }
    FlattenPanel #flatten-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: FlattenStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self._inspector_drawn: tuple[int, int] | None = None
        self.flat = stage
        self._x = as_volume(stage.x)
        self._channel = -1

    def compose(self) -> ComposeResult:
        st = self.flat
        shape = "×".join(str(d) for d in st.x.shape)
        with Vertical(classes="box", id="flatten-input-box") as box:
            box.border_title = f"Input {shape}"
            yield MatrixGrid(self._x[0], id="flatten-input")
        with Vertical(classes="box", id="flatten-output-box") as box:
            box.border_title = f"Output: a vector of {len(st):,}"
            yield VectorStrip(st.output, labels=("i", "out"), progress=True, id="flatten-output")
        inspector = Static(id="flatten-inspector")
        no_links(inspector)  # rewritten every step; it has no links
        inspector.border_title = "Where this number comes from"
        yield inspector

    def _cell(self, index: int) -> tuple[int, int, int]:
        h, w = self._x.shape[1:]
        c, rest = divmod(index, h * w)
        r, col = divmod(rest, w)
        return c, r, col

    def show(self, step: FlattenStep) -> None:  # type: ignore[override]
        c, r, col = self._cell(step.index)
        grid = self.query_one("#flatten-input", MatrixGrid)
        if c != self._channel:
            self._channel = c
            grid.set_values(self._x[c])
            if self._x.shape[0] > 1:
                self.query_one(
                    "#flatten-input-box"
                ).border_subtitle = f"channel {c} of {self._x.shape[0]}"
        grid.set_window(Window(r, col, 1, 1))
        self.query_one("#flatten-output", VectorStrip).set_current(step.index)
        self._inspector_drawn = update_inspector(
            self.query_one("#flatten-inspector", Static),
            Content.from_rich_text(explain_flatten(self.flat, step)),
            self._inspector_drawn,
        )

    def set_heat(self, on: bool) -> None:
        super().set_heat(on)
        self.query_one("#flatten-output", VectorStrip).heat = on

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        h, w = self._x.shape[1:]
        index = (max(self._channel, 0) * h + message.row) * w + message.col
        self.post_message(self.StepChosen(index))

    def on_vector_strip_cell_clicked(self, message: VectorStrip.CellClicked) -> None:
        message.stop()
        self.post_message(self.StepChosen(message.index))
