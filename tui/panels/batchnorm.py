"""BatchNormPanel: one element normalised by its channel's running statistics, then scaled and
shifted, every number written out."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.layers import BatchNormStage, BatchNormStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels._maps import no_links
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid, Window


def explain_batchnorm(stage: BatchNormStage, step: BatchNormStep) -> Text:
    """The inspector's text: the formula, then with its numbers, then step by step."""
    t = Text()
    c = step.channel
    gamma, beta = fmt_factor(step.gamma), fmt_factor(step.beta)
    t.append(f"out[{c}, {step.row}, {step.col}]", style="bold")
    t.append(" = (x − μ)/√(σ² + ε)·γ + β", style="")
    t.append(f"   with channel {c}'s μ, σ², γ, β\n", style="grey62")
    t.append(f"  = ({fmt_exact(step.x)} − {fmt_factor(step.mean)})/")
    t.append(f"√({fmt_exact(step.var)} + {fmt_exact(step.eps)})·{gamma} + {beta}\n")
    t.append(f"  = {fmt_exact(step.x - step.mean)}/{fmt_exact(step.std)}·{gamma} + {beta}\n")
    t.append(f"  = {fmt_exact(step.x_hat)}·{gamma} + {beta} = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    ch = stage.channels
    t.append(
        "\n  μ and σ² are running statistics from training, not this input's; γ and β are "
        f"learned. At inference a fixed affine map per channel: {2 * ch:,} parameters (γ, β), "
        f"{2 * ch:,} buffers (μ, σ²)",
        style="grey62",
    )
    return t


@register
class BatchNormPanel(Panel):
    """Draws a BatchNormStage one channel at a time: input, output and the channel's numbers."""

    kind = "batchnorm2d"

    DEFAULT_CSS = """
    BatchNormPanel #bn-grids {
        height: auto;
        max-height: 60vh;
    }
    BatchNormPanel .box {
        width: auto;
        height: auto;
        max-height: 60vh;
        min-width: 32;
        max-width: 50%;
        padding: 0 1;
    }
    BatchNormPanel #bn-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: BatchNormStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.bn = stage
        self._channel = -1

    def compose(self) -> ComposeResult:
        st = self.bn
        c, h, w = st.x.shape
        with Horizontal(id="bn-grids"):
            with Vertical(classes="box", id="bn-input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                yield MatrixGrid(st.x[0], id="bn-input")
            with Vertical(classes="box", id="bn-output-box") as box:
                box.border_title = f"Output {c}×{h}×{w}"
                yield MatrixGrid(st.output[0], progress=True, id="bn-output")
        inspector = Static(id="bn-inspector")
        no_links(inspector)  # rewritten every step; it has no links
        inspector.border_title = "How this number is computed"
        yield inspector

    def show(self, step: BatchNormStep) -> None:  # type: ignore[override]
        st = self.bn
        grid_in = self.query_one("#bn-input", MatrixGrid)
        grid_out = self.query_one("#bn-output", MatrixGrid)
        if step.channel != self._channel:
            self._channel = step.channel
            grid_in.set_values(st.x[step.channel])
            grid_out.set_values(st.output[step.channel])
            self.query_one(
                "#bn-input-box"
            ).border_subtitle = (
                f"ch {step.channel}: μ {fmt_exact(step.mean, 3)}, σ² {fmt_exact(step.var, 3)}"
            )
            self.query_one(
                "#bn-output-box"
            ).border_subtitle = f"γ {fmt_exact(step.gamma, 3)}, β {fmt_exact(step.beta, 3)}"
        grid_in.set_window(Window(step.row, step.col, 1, 1))
        grid_out.set_current(step.row * st.x.shape[2] + step.col)
        self.query_one("#bn-inspector", Static).update(
            Content.from_rich_text(explain_batchnorm(st, step))
        )

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        index = self.bn.index_of(max(self._channel, 0), message.row, message.col)
        self.post_message(self.StepChosen(index))
