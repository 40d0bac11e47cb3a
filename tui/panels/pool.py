"""PoolPanel: one channel's input with the window and its winner, the pooled output filling in."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Generic, TypeVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.pool import ChannelGridStage, ChannelStep, PoolStage, PoolStep
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


S = TypeVar("S", bound=ChannelGridStage)
T = TypeVar("T", bound=ChannelStep)


class ChannelPoolPanel(Panel, Generic[S, T]):
    """A stage that pools each channel on its own, drawn one channel at a time: the input plane
    with the current window, the output plane filling in, and the inspector below. Clicking an
    output cell chooses its step. Widget ids start with ``PREFIX``; a subclass says what the
    input grid shows, how the window is marked and how the number is explained."""

    PREFIX: ClassVar[str]

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The window, the padding (when there is some), this output and, in max pooling,
        the window's winner."""
        from tui.widgets import legend

        pad = any(getattr(self.stage, "padding", (0, 0)))
        out = legend.grid(pad=pad, heat_on=heat)
        if getattr(self.stage, "mode", None) == "max":
            out.insert(1, legend.winner())
        return out

    def __init__(self, stage: S, *, id: str | None = None) -> None:
        super().__init__(stage, id=id)
        self.pool: S = stage
        self._channel = -1

    def input_plane(self, channel: int) -> np.ndarray:
        """What the input grid shows of ``channel``."""
        return self.pool.x[channel]

    def input_grid(self) -> MatrixGrid:
        return MatrixGrid(self.input_plane(0), id=f"{self.PREFIX}-input")

    @abstractmethod
    def input_subtitle(self) -> str:
        raise NotImplementedError

    @abstractmethod
    def mark_window(self, grid: MatrixGrid, step: T) -> None:
        """Show ``step``'s window on the input grid."""
        raise NotImplementedError

    @abstractmethod
    def explain(self, step: T) -> Text:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        st, p = self.pool, self.PREFIX
        c, h, w = st.in_shape
        oh, ow = st.out_hw
        with Horizontal(id=f"{p}-grids"):
            with Vertical(classes="box", id=f"{p}-input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                box.border_subtitle = self.input_subtitle()
                yield self.input_grid()
            with Vertical(classes="box", id=f"{p}-output-box") as box:
                box.border_title = f"Output {c}×{oh}×{ow}"
                yield MatrixGrid(st.output[0], progress=True, id=f"{p}-output")
        inspector = Static(id=f"{p}-inspector")
        inspector.border_title = "How this number is computed"
        yield inspector

    def show(self, step: T) -> None:  # type: ignore[override]
        st, p = self.pool, self.PREFIX
        grid_in = self.query_one(f"#{p}-input", MatrixGrid)
        grid_out = self.query_one(f"#{p}-output", MatrixGrid)
        if step.channel != self._channel:
            self._channel = step.channel
            grid_in.set_values(self.input_plane(step.channel))
            grid_out.set_values(st.output[step.channel])
            self.query_one(
                f"#{p}-output-box"
            ).border_subtitle = f"channel {step.channel} of {st.channels}"
        self.mark_window(grid_in, step)
        grid_out.set_current(step.row * st.out_hw[1] + step.col)
        self.query_one(f"#{p}-inspector", Static).update(Content.from_rich_text(self.explain(step)))

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        if message.grid.id == f"{self.PREFIX}-output":
            message.stop()
            index = self.pool.index_of(max(self._channel, 0), message.row, message.col)
            self.post_message(self.StepChosen(index))


@register
class PoolPanel(ChannelPoolPanel[PoolStage, PoolStep]):
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

    PREFIX = "pool"

    def input_plane(self, channel: int) -> np.ndarray:
        """The padded plane: padding cells are drawn, and the window may cover them."""
        return self.pool.x_padded[channel]

    def input_grid(self) -> MatrixGrid:
        return MatrixGrid(self.input_plane(0), padding=self.pool.padding, id="pool-input")

    def input_subtitle(self) -> str:
        st = self.pool
        kind = "Max" if st.mode == "max" else "Average"
        subtitle = f"{kind} pool, f {st.size[0]}×{st.size[1]}, s {st.stride[0]}"
        ph, pw = st.padding
        if ph or pw:
            subtitle += f", p {ph}" if ph == pw else f", p {ph},{pw}"
        return subtitle

    def mark_window(self, grid: MatrixGrid, step: PoolStep) -> None:
        st = self.pool
        fh, fw = st.size
        # The grid holds the padded plane: its row 0 is input row −p_h.
        top, left = step.top + st.padding[0], step.left + st.padding[1]
        grid.set_window(Window(top, left, fh, fw))
        if step.argmax is not None:
            grid.set_mark((top + step.argmax[0], left + step.argmax[1]))

    def explain(self, step: PoolStep) -> Text:
        return explain_pool(self.pool, step)
