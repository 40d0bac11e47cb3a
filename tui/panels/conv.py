"""ConvPanel: the input and its sliding window, the kernel, the output filling in, the sum."""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.conv import ConvStage, ConvStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels._vector import update_inspector
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid, Window

MAX_CHANNELS_SHOWN = 4
"""Input and kernel channels drawn side by side; the inspector still sums every channel."""
MAX_OUTPUTS_SHOWN = 4
"""Output channels drawn at once; with more filters only the current one is drawn."""
MAX_TERMS_WRITTEN = 27
"""Products written out per step, over all channels, before the lines are abbreviated."""
TERMS_WHEN_ABBREVIATED = 6
"""Products written out per channel when a step has more than MAX_TERMS_WRITTEN."""


def explain(stage: ConvStage, step: ConvStep) -> Text:
    """The inspector's text: every product with its numbers, the partial sums, bias and result."""
    t = Text()
    f, r, c = step.filter, step.row, step.col
    t.append(f"out[{f}, {r}, {c}]", style="bold")
    t.append(f" = sum of window × kernel {f} over every channel, row and column, plus bias\n")
    fh, fw = stage.kernel_hw
    mask = step.padding_mask
    channels = stage.in_channels
    for ch in range(channels):
        # Many channels (a network's 64 or 512): the first two and the last, so that the sum
        # over channels and the bias stay on screen; the channel sums line has the rest.
        if channels > 8 and 2 <= ch < channels - 1:
            if ch == 2:
                t.append(f"  … channels 2–{channels - 2} omitted …\n", style="grey50")
            continue
        t.append(f"  ch {ch}: ", style="grey62")
        terms = 0
        limit = fh * fw if channels * fh * fw <= MAX_TERMS_WRITTEN else TERMS_WHEN_ABBREVIATED
        for u in range(fh):
            for v in range(fw):
                if terms == limit:
                    t.append(f" + … ({fh * fw - limit} more)", style="grey62")
                    break
                if terms:
                    t.append(" + ")
                x = float(step.window[ch, u, v])
                k = float(step.kernel[ch, u, v])
                style = "grey50 italic" if mask[u, v] else ""
                t.append(f"{fmt_factor(x)}·{fmt_factor(k)}", style=style)
                terms += 1
            else:
                continue
            break
        t.append(" = ")
        t.append(fmt_exact(float(step.partial_sums[ch])), style="bold")
        t.append("\n")
    total = float(step.partial_sums.sum())
    if channels > 1:
        t.append("  channels: ", style="grey62")
        written = 12 if channels <= 12 else 6  # many channels: one line, the rest as "…"
        t.append(" + ".join(fmt_factor(float(p)) for p in step.partial_sums[:written]))
        if channels > written:
            t.append(f" + … ({channels - written} more)")
        t.append(f" = {fmt_exact(total)}\n")
    t.append("  bias: ", style="grey62")
    t.append(f"{fmt_exact(total)} + {fmt_factor(step.bias)} = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append("\n")
    top, left = step.top, step.left
    t.append(
        f"  window: input rows {top}…{top + fh - 1}, cols {left}…{left + fw - 1}".replace("-", "−"),
        style="grey62",
    )
    if mask.any():
        t.append(f" ({int(mask.sum())} padding cell(s) count as 0)", style="grey50 italic")
    t.append("\n")
    fh_text, fw_text = stage.size_formulas()
    t.append("  output size ", style="grey62")
    t.append(f"H: {fh_text}   W: {fw_text}")
    t.append("   (⌊(n + 2p − f)/s⌋ + 1)", style="grey50")
    t.append("\n")
    t.append(sharing_line(stage), style="grey62")
    return t


def sharing_line(stage: ConvStage) -> str:
    """Parameter sharing in numbers: this layer's parameters against a fully connected layer
    between the same input and output."""
    c, h, w = stage.x.shape
    fh, fw = stage.kernel_hw
    n_in, n_out = c * h * w, stage.output.size
    dense = n_in * n_out + n_out
    return (
        f"  parameters: F·(C·f·f + 1) = {stage.filters}·({c}·{fh}·{fw} + 1) = "
        f"{stage.parameter_count:,}, shared by all {stage.out_hw[0] * stage.out_hw[1]:,} "
        f"positions; a fully connected layer from the {n_in:,} inputs to the {n_out:,} outputs "
        f"would need {n_in:,}·{n_out:,} + {n_out:,} = {dense:,}"
    )


@register
class ConvPanel(Panel):
    """Draws a ConvStage: input volume, current filter, output plane and the inspector."""

    kind = "conv"

    DEFAULT_CSS = """
    ConvPanel #conv-grids {
        height: auto;
        max-height: 65vh;
    }
    ConvPanel .box {
        width: auto;
        height: auto;
        max-height: 65vh;
        min-width: 14;
        padding: 0 1;
    }
    ConvPanel #input-box {
        width: 1fr;
    }
    ConvPanel #kernel-box {
        max-width: 25%;
    }
    ConvPanel #output-box {
        max-width: 35%;
    }
    ConvPanel .channels {
        width: auto;
        height: auto;
        max-width: 100%;
        max-height: 100%;
    }
    ConvPanel #input-box MatrixGrid {
        margin-right: 1;
    }
    ConvPanel #kernel-box MatrixGrid, ConvPanel #output-box MatrixGrid {
        margin-bottom: 1;
    }
    ConvPanel #inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The window the kernel reads, the padding (when there is some), this output."""
        from tui.widgets import legend

        return legend.grid(pad=any(self.stage.padding), heat_on=heat)  # type: ignore[attr-defined]

    def __init__(self, stage: ConvStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.conv = stage
        self._filter = 0
        self._drawn = False
        self._inspector_drawn: tuple[int, int] | None = None
        self._grids: dict[str, MatrixGrid] = {}
        self._flip = False
        self._flipped: ConvStage | None = None
        self._last = 0
        self._shown = min(stage.in_channels, MAX_CHANNELS_SHOWN)
        self._fit = self._shown  # of those, how many the input box has room for
        oh = stage.out_hw[0]
        self._all_outputs = stage.filters <= MAX_OUTPUTS_SHOWN and stage.filters * (oh + 2) <= 24

    def compose(self) -> ComposeResult:
        st = self.conv
        c, h, w = st.x.shape
        ph, pw = st.padding
        oh, ow = st.out_hw
        multi = c > 1
        with Horizontal(id="conv-grids"):
            with Horizontal(classes="box", id="input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                box.border_subtitle = self._input_label(self._shown)
                for ch in range(self._shown):
                    grid = MatrixGrid(
                        st.x_padded[ch],
                        padding=(ph, pw),
                        caption=f"c{ch}" if multi else "",
                        id=f"input-{ch}",
                    )
                    grid.styles.max_width = f"{100 // self._shown}%"
                    yield grid
            with Vertical(classes="box", id="kernel-box") as box:
                box.border_title = "Kernel 0"
                box.border_subtitle = self._kernel_label(0)
                for ch in range(self._shown):
                    yield MatrixGrid(
                        st.weight[0, ch], caption=f"c{ch}" if multi else "", id=f"kernel-{ch}"
                    )
            with Vertical(classes="box", id="output-box") as box:
                box.border_title = f"Output {st.filters}×{oh}×{ow}"
                box.border_subtitle = self._output_label(0)
                if self._all_outputs:
                    for f in range(st.filters):
                        yield MatrixGrid(
                            st.output[f],
                            progress=True,
                            caption=f"c{f}" if st.filters > 1 else "",
                            id=f"output-{f}",
                        )
                else:
                    yield MatrixGrid(st.output[0], progress=True, id="output-cur")
        inspector = Static(id="inspector")
        inspector.border_title = "How this number is computed"
        yield inspector

    def _input_label(self, drawn: int) -> str:
        """The input box's subtitle: padding, stride, and which channels are drawn."""
        st = self.conv
        c = st.in_channels
        ph, pw = st.padding
        pad = f"{ph}" if ph == pw else f"{ph},{pw}"
        stride = f"{st.stride[0]}" if st.stride[0] == st.stride[1] else "{},{}".format(*st.stride)
        if c <= drawn:
            shown = ""
        elif drawn == 1:
            shown = f" · c0 of {c} shown"
        else:
            shown = f" · c0–c{drawn - 1} of {c} shown"
        return f"padding {pad} · stride {stride}{shown}"

    def channels_that_fit(self, width: int) -> int:
        """How many input grids, side by side in ``width`` columns, each show at least one
        whole column of numbers (or the whole grid): as many as allowed when they do, fewer
        when a grid would be too narrow for one number (a 64-channel layer at 120×40)."""
        grid = self._grid("input-0")
        cols = grid._values.shape[1]
        need = grid._label_w + grid.cell_width  # the row labels and one whole number
        whole = grid._label_w + cols * grid.cell_width + 1  # the grid's own width
        for k in range(self._shown, 1, -1):
            # Each grid may take 100 // k percent of the box and keeps one column of margin;
            # a grid that scrolls sideways also scrolls down and gives a column to its bar.
            # Grids that overflow the box are clipped: the last one keeps what is left.
            room = min(width * (100 // k) // 100, whole)
            last = width - (k - 1) * (room + 1)
            if (room == whole or room - 1 >= need) and last >= min(room, need + 1):
                return k
        return 1

    def on_resize(self) -> None:
        width = self.query_one("#input-box").content_region.width
        if width <= 0:
            return
        fit = self.channels_that_fit(width)
        if fit == self._fit:
            return
        self._fit = fit
        for ch in range(self._shown):
            grid = self._grid(f"input-{ch}")
            grid.display = ch < fit
            grid.styles.max_width = f"{100 // fit}%"
            self._grid(f"kernel-{ch}").display = ch < fit
        self.query_one("#input-box").border_subtitle = self._input_label(fit)

    def _kernel_label(self, f: int) -> str:
        return f"bias {fmt_exact(float(self.conv.bias[f]))}"

    def _output_label(self, f: int) -> str:
        if self._all_outputs and self.conv.filters > 1:
            return "one per filter"
        return f"from filter {f}"

    def toggle_flip(self) -> bool:
        """Switch between cross-correlation (what deep learning calls convolution) and true
        convolution (kernels flipped); returns whether the kernels are now flipped."""
        self._flip = not self._flip
        if self._flip and self._flipped is None:
            self._flipped = self.conv.flipped()
        self._drawn = False  # kernels and outputs change: redraw them
        self.show(self.conv.step(self._last))
        return self._flip

    def show(self, step: ConvStep) -> None:  # type: ignore[override]
        self._last = step.index
        st = self.conv
        if self._flip:
            assert self._flipped is not None
            st = self._flipped
            step = st.step(step.index)
        fh, fw = st.kernel_hw
        plane = st.out_hw[0] * st.out_hw[1]
        if step.filter != self._filter or not self._drawn:
            self._filter = step.filter
            self._drawn = True
            for ch in range(self._shown):
                self._grid(f"kernel-{ch}").set_values(st.weight[step.filter, ch])
            kernel_box = self.query_one("#kernel-box")
            kernel_box.border_title = f"Kernel {step.filter}" + (" ⟲" if self._flip else "")
            if self._all_outputs:
                for f in range(st.filters):
                    self._grid(f"output-{f}").set_values(st.output[f])
            kernel_box.border_subtitle = self._kernel_label(step.filter) + (
                " · flipped" if self._flip else ""
            )
            if self._all_outputs:
                for f in range(st.filters):
                    if f != step.filter:
                        grid = self._grid(f"output-{f}")
                        grid.set_current(plane if f < step.filter else -1, follow=False)
            else:
                self._grid("output-cur").set_values(st.output[step.filter])
                self.query_one("#output-box").border_subtitle = self._output_label(step.filter)
        window = Window(step.row * st.stride[0], step.col * st.stride[1], fh, fw)
        for ch in range(self._shown):
            self._grid(f"input-{ch}").set_window(window)
        out_id = f"output-{step.filter}" if self._all_outputs else "output-cur"
        self._grid(out_id).set_current(step.row * st.out_hw[1] + step.col)
        text = explain(st, step)
        if self._flip:
            text.append(
                "\n  flipped: this is true convolution, the kernel rotated by 180°. Deep learning "
                "libraries skip the flip: the kernel is learned, and a learned flipped kernel is "
                "just another kernel. Press f to flip back.",
                style="bold yellow",
            )
        inspector = self._inspector
        # Wrapping costs a third of the inspector's drawing; skip it when every line fits.
        longest = max(len(line) for line in text.plain.split("\n"))
        wrap: Literal["wrap", "nowrap"] = (
            "wrap" if longest > inspector.content_region.width else "nowrap"
        )
        if inspector.styles.text_wrap != wrap:
            inspector.styles.text_wrap = wrap
        # A new layout only when the height changes (wrapped or not); Textual's own Content
        # renders faster than a Rich Text on every step.
        self._inspector_drawn = update_inspector(
            inspector, Content.from_rich_text(text), self._inspector_drawn
        )

    def _grid(self, grid_id: str) -> MatrixGrid:
        """The grid with this id, looked up once: ``show`` runs on every step."""
        grid = self._grids.get(grid_id)
        if grid is None:
            grid = self._grids[grid_id] = self.query_one(f"#{grid_id}", MatrixGrid)
        return grid

    @property
    def _inspector(self) -> Static:
        return self.query_one("#inspector", Static)

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        grid_id = message.grid.id or ""
        if grid_id.startswith("output-"):
            message.stop()
            f = self._filter if grid_id == "output-cur" else int(grid_id.removeprefix("output-"))
            self.post_message(self.StepChosen(self.conv.index_of(f, message.row, message.col)))
