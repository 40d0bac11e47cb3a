"""PoolPanel: one channel's input with the window and its winner, the pooled output filling in."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.pool import PoolStage, PoolStep
from tui.numbers import fmt_exact
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid, Window

PAD_MAX = "−inf"
"""How a max-pool padding cell is written: PyTorch pads max pooling with −inf, so it never wins."""


def _window_terms(t: Text, step: PoolStep, sep: str) -> None:
    """The window's cells in reading order, joined by ``sep``; a padding cell is written as
    what it counts as (−inf for max, 0 for average), in the padding's style."""
    pad = PAD_MAX if step.argmax is not None else "0"
    for k, (v, is_pad) in enumerate(
        zip(step.window.ravel(), step.padding_mask.ravel(), strict=True)
    ):
        if k:
            t.append(sep)
        if is_pad:
            t.append(pad, style="grey50 italic")
        else:
            t.append(fmt_exact(float(v)))


def explain_pool(stage: PoolStage, step: PoolStep) -> Text:
    """The inspector's text: the window's values, the max (and where it is) or the mean."""
    t = Text()
    pads = int(step.padding_mask.sum())
    t.append(f"out[{step.channel}, {step.row}, {step.col}]", style="bold")
    fh, fw = stage.size
    if step.argmax is not None:  # max pooling
        wr, wc = step.argmax
        if pads:
            t.append(" = max(")
            _window_terms(t, step, ", ")
            t.append(") = ")
        else:
            values = [fmt_exact(float(v)) for v in step.window.ravel()]
            t.append(f" = max({', '.join(values)}) = ")
        t.append(fmt_exact(step.value), style="bold black on bright_green")
        t.append(
            f"\n  the winner is input row {step.top + wr}, col {step.left + wc}"
            " (ties go to the first in reading order, as in PyTorch)",
            style="grey62",
        )
    else:
        total = float(step.window.sum())
        if pads:
            t.append(" = (")
            _window_terms(t, step, " + ")
            t.append(f") / {fh * fw} = {fmt_exact(total)} / {fh * fw} = ")
        else:
            values = [fmt_exact(float(v)) for v in step.window.ravel()]
            t.append(f" = ({' + '.join(values)}) / {fh * fw} = {fmt_exact(total)} / {fh * fw} = ")
        t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append(
        f"\n  window: input rows {step.top}…{step.top + fh - 1}, "
        f"cols {step.left}…{step.left + fw - 1} of channel {step.channel}".replace("-", "−"),
        style="grey62",
    )
    if pads and step.argmax is not None:
        t.append(
            f" ({pads} padding cell(s) count as −inf: padding never wins, as in PyTorch)",
            style="grey50 italic",
        )
    elif pads:
        t.append(
            f" ({pads} padding cell(s) count as 0 and in the divisor {fh * fw}, "
            "PyTorch's count_include_pad)",
            style="grey50 italic",
        )
    h_text, w_text = stage.size_formulas()
    t.append("\n  output size ", style="grey62")
    t.append(f"H: {h_text}   W: {w_text}")
    padded = stage.padding != (0, 0)
    t.append("   (⌊(n + 2p − f)/s⌋ + 1)" if padded else "   (⌊(n − f)/s⌋ + 1)", style="grey50")
    hyper = f"f = {fh}×{fw} and s = {stage.stride[0]}×{stage.stride[1]}"
    if padded:
        hyper = (
            f"f = {fh}×{fw}, s = {stage.stride[0]}×{stage.stride[1]} "
            f"and p = {stage.padding[0]}×{stage.padding[1]}"
        )
    t.append(
        f"\n  {stage.channels} channel(s) in, {stage.channels} out: each channel is pooled on its "
        f"own. {hyper} are hyper-parameters; pooling has no learnable parameters.",
        style="grey62",
    )
    return t


@register
class PoolPanel(Panel):
    """Draws a PoolStage one channel at a time: pooling never mixes channels."""

    kind = "pool"

    DEFAULT_CSS = """
    PoolPanel #pool-grids {
        height: auto;
        max-height: 65vh;
    }
    PoolPanel .box {
        width: auto;
        height: auto;
        max-height: 65vh;
        min-width: 28;
        padding: 0 1;
    }
    PoolPanel #pool-input-box {
        max-width: 60%;
    }
    PoolPanel #pool-output-box {
        max-width: 40%;
    }
    PoolPanel #pool-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: PoolStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.pool = stage
        self._channel = -1

    def compose(self) -> ComposeResult:
        st = self.pool
        c, h, w = st.in_shape
        oh, ow = st.out_hw
        kind = "Max" if st.mode == "max" else "Average"
        with Horizontal(id="pool-grids"):
            with Vertical(classes="box", id="pool-input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                box.border_subtitle = f"{kind} pool, f {st.size[0]}×{st.size[1]}, s {st.stride[0]}"
                ph, pw = st.padding
                if ph or pw:
                    box.border_subtitle += f", p {ph}" if ph == pw else f", p {ph},{pw}"
                yield MatrixGrid(st.x_padded[0], padding=st.padding, id="pool-input")
            with Vertical(classes="box", id="pool-output-box") as box:
                box.border_title = f"Output {c}×{oh}×{ow}"
                yield MatrixGrid(st.output[0], progress=True, id="pool-output")
        inspector = Static(id="pool-inspector")
        inspector.border_title = "How this number is computed"
        yield inspector

    def show(self, step: PoolStep) -> None:  # type: ignore[override]
        st = self.pool
        grid_in = self.query_one("#pool-input", MatrixGrid)
        grid_out = self.query_one("#pool-output", MatrixGrid)
        if step.channel != self._channel:
            self._channel = step.channel
            grid_in.set_values(st.x_padded[step.channel])
            grid_out.set_values(st.output[step.channel])
            channels = st.in_shape[0]
            self.query_one(
                "#pool-output-box"
            ).border_subtitle = f"channel {step.channel} of {channels}"
        fh, fw = st.size
        # The grid holds the padded plane: its row 0 is input row −p_h.
        top, left = step.top + st.padding[0], step.left + st.padding[1]
        grid_in.set_window(Window(top, left, fh, fw))
        if step.argmax is not None:
            grid_in.set_mark((top + step.argmax[0], left + step.argmax[1]))
        grid_out.set_current(step.row * st.out_hw[1] + step.col)
        self.query_one("#pool-inspector", Static).update(
            Content.from_rich_text(explain_pool(st, step))
        )

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        if message.grid.id == "pool-output":
            message.stop()
            index = self.pool.index_of(max(self._channel, 0), message.row, message.col)
            self.post_message(self.StepChosen(index))
