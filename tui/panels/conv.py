"""ConvPanel: the input and its sliding window, the kernel, the output filling in, the sum."""

from __future__ import annotations

from itertools import product

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.conv import ConvStage, ConvStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels._maps import (
    BOX_FRAME,
    LABEL_LEAST,
    MAX_SLOTS,
    MAX_ZOOM,
    TITLE_ROOM,
    Box,
    GrowingInspector,
    channel_name,
    filter_name,
    fit,
    least_width,
    next_page,
    page_start,
    page_title,
    sampled_steps,
    set_floors,
    span_of,
    subtitle_room,
    title_floors,
)
from tui.panels.base import ReflowingPanel, register
from tui.widgets.mapcard import MapCard
from tui.widgets.matrix import MatrixGrid, Window
from tui.widgets.rows import CachedRows

MAX_TERMS_WRITTEN = 27
"""Products written out per step, over all channels, before the lines are abbreviated."""
TERMS_WHEN_ABBREVIATED = 6
"""Products written out per channel when a step has more than MAX_TERMS_WRITTEN."""


def explain(stage: ConvStage, step: ConvStep, *, sharing: bool = True) -> Text:
    """The inspector's text: every product with its numbers, the partial sums, bias and result,
    and (with ``sharing``) the parameter count against a fully connected layer's."""
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
    if sharing:
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
class ConvPanel(ReflowingPanel):
    """Draws a ConvStage: the input's channels, the filters and their output maps side by side
    (as many as fit, the rest a page away), and the inspector below."""

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
        padding: 0 0 0 1;
    }
    ConvPanel .maps {
        width: auto;
        height: auto;
    }
    ConvPanel .maps.stacked {
        layout: vertical;
    }
    ConvPanel #inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    ConvPanel #conv-params {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The window the kernel reads, the padding (when there is some), this output."""
        from tui.widgets import legend

        return legend.grid(pad=any(self.stage.padding), heat_on=heat)  # type: ignore[attr-defined]

    def __init__(self, stage: ConvStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.conv = stage
        self._filter = -1
        self._grids: dict[str, MatrixGrid] = {}
        self._flip = False
        self._flipped: ConvStage | None = None
        self._last = 0
        self._heat = False
        self._in_slots = min(stage.in_channels, MAX_SLOTS)
        self._out_slots = min(stage.filters, MAX_SLOTS)
        self._fit_in = self._in_slots
        self._fit_out = self._out_slots
        self._in_start = 0
        self._out_start = 0
        self._filled: tuple[int, int, bool] | None = None  # (in_start, out_start, flip) drawn
        self._applied: tuple[object, ...] | None = None
        self._inspector = GrowingInspector()
        # The longest label and footer of any map of each box, whichever page is drawn.
        c, f = stage.in_channels, stage.filters
        self._text_widths = {
            "input": max(len(channel_name(ch, c)) for ch in range(c)),
            "kernel": max(
                max(len(filter_name(k, f, stage.weight[k])) + 2 for k in range(f)),
                max(len(self._bias_label(stage, k)) for k in range(f)),
            ),
            "output": len(f"map {f - 1} of {f}"),
        }

    # -- composition ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        st = self.conv
        c, h, w = st.x.shape
        f, _, fh, fw = st.weight.shape
        ph, pw = st.padding
        oh, ow = st.out_hw
        in_span = span_of(st.x_padded)
        k_span = span_of(st.weight)
        out_span = span_of(st.output)
        with Horizontal(id="conv-grids"):
            with Vertical(classes="box", id="input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                box.border_subtitle = self._input_label()
                with Horizontal(classes="maps", id="input-maps"):
                    for s in range(self._in_slots):
                        grid = MatrixGrid(
                            st.x_padded[s], padding=(ph, pw), span=in_span, id=f"input-{s}"
                        )
                        yield MapCard([grid], channel_name(s, c), id=f"input-card-{s}")
            with Vertical(classes="box", id="kernel-box") as box:
                box.border_title = f"Filters {f}×{c}×{fh}×{fw}"
                box.border_subtitle = self._kernel_subtitle()
                with Horizontal(classes="maps", id="kernel-maps"):
                    for s in range(self._out_slots):
                        grids = [
                            MatrixGrid(
                                st.weight[s, ch],
                                caption=f"c{ch}" if c > 1 else "",
                                span=k_span,
                                id=f"kernel-{s}-{ch}",
                            )
                            for ch in range(self._in_slots)
                        ]
                        yield MapCard(
                            grids,
                            filter_name(s, f, st.weight[s]),
                            footer=self._bias_label(st, s),
                            id=f"kernel-card-{s}",
                        )
            with Vertical(classes="box", id="output-box") as box:
                box.border_title = f"Output {f}×{oh}×{ow}"
                with Horizontal(classes="maps", id="output-maps"):
                    for s in range(self._out_slots):
                        grid = MatrixGrid(
                            st.output[s], progress=True, span=out_span, id=f"output-{s}"
                        )
                        yield MapCard([grid], f"map {s} of {f}", id=f"output-card-{s}")
        inspector = CachedRows(id="inspector")
        inspector.border_title = "How this number is computed"
        yield inspector
        yield Static(sharing_line(st).strip(), id="conv-params", markup=False)

    @staticmethod
    def _bias_label(st: ConvStage, f: int) -> str:
        return f"bias {fmt_exact(float(st.bias[f]))}"

    def _input_label(self) -> str:
        """The input box's subtitle: which channels are drawn, when not all are."""
        return page_title(
            "channels",
            self._in_start,
            self._fit_in,
            self.conv.in_channels,
            subtitle_room(next(iter(self.query("#input-box")), None)),
        )

    def _kernel_subtitle(self) -> str:
        """The filters' stride and padding (drawn around the input), and the flip if on."""
        st = self.conv
        ph, pw = st.padding
        pad = f"{ph}" if ph == pw else f"{ph},{pw}"
        stride = f"{st.stride[0]}" if st.stride[0] == st.stride[1] else "{},{}".format(*st.stride)
        return f"stride {stride} · padding {pad}" + (" · flipped" if self._flip else "")

    # -- layout -----------------------------------------------------------------------

    def _card_width(self, card: MapCard, zoom: int, lines: int) -> tuple[int, int]:
        """The natural and narrowest width of ``card`` (its right margin included) with its
        grids at ``zoom``, when each grid may be ``lines`` high."""
        grid = card.grids[0]
        w, h = grid.natural_size(self._heat, zoom)
        if h > lines:
            w += 1  # a vertical scroll bar
        cw = zoom if self._heat else grid.cell_width
        window = self.conv.kernel_hw[1] if card.id and card.id.startswith("input") else 0
        least = least_width(w, grid._label_w, cw, grid._values.shape[1], window)
        text = self._text_widths[(card.id or "").split("-")[0]]
        # A label may be cut short before a map is: it is the map that teaches.
        return max(w, text) + 1, max(least, min(text, LABEL_LEAST)) + 1

    def _plan(
        self, width: int, lines: int, zoom: int
    ) -> tuple[list[int], list[int], tuple[bool, bool], list[int]]:
        """How many input channels and filters fit in ``width`` with grids ``lines`` high at
        ``zoom``, the width of one card of each box, whether the filters and the output
        maps are stacked (one above the other, where they are low enough) or side by side,
        and the boxes' floors (room for their titles; applied by ``_relayout`` with the plan
        it draws)."""
        st = self.conv
        cards = [
            self._card("input-card-0"),
            self._card("kernel-card-0"),
            self._card("output-card-0"),
        ]
        (in_n, in_l), (k_n, k_l), (out_n, out_l) = (self._card_width(c, zoom, lines) for c in cards)
        kernel_h = (
            2
            + min(self._in_slots, st.in_channels)
            * (self._grid("kernel-0-0").natural_size(self._heat, zoom)[1])
        )
        out_h = 1 + self._grid("output-0").natural_size(self._heat, zoom)[1]
        short = [
            len(str(self.query_one(f"#{b}-box").border_title)) + TITLE_ROOM
            for b in ("input", "kernel", "output")
        ]
        titles = list(short)
        titles[1] = max(titles[1], len(self._kernel_subtitle()) + TITLE_ROOM)
        if st.in_channels > 1:  # room for "channels 0–1 of 3, m for more"
            titles[0] = max(
                titles[0], len(page_title("channels", 0, 2, st.in_channels)) + TITLE_ROOM
            )
        if st.filters > 1:  # and for "maps 0–1 of 6, m for more"
            titles[2] = max(titles[2], len(page_title("maps", 0, 2, st.filters)) + TITLE_ROOM)
        best: tuple[tuple[int, ...], tuple[list[int], list[int], tuple[bool, bool]]] | None
        best = None
        # A terminal too narrow for every title and one map of each box cuts the subtitles,
        # then the titles.
        least = [
            (st.in_channels, [Box(in_l, in_l)]),
            (st.filters, [Box(k_l, k_l), Box(out_l, out_l)]),
        ]
        floors = title_floors(width, 3 * BOX_FRAME, least, titles, short)
        for k_stacked, o_stacked, k_whole in product((False, True), (False, True), (True, False)):
            sets = [
                (st.in_channels, [Box(in_n, in_l, floor=floors[0])]),
                (
                    st.filters,
                    [
                        Box(k_n, k_n if k_whole else k_l, not k_stacked, floors[1]),
                        Box(out_n, out_l, not o_stacked, floors[2]),
                    ],
                ),
            ]
            counts, widths = fit(width, 3 * BOX_FRAME, sets)
            if (k_stacked and counts[1] * kernel_h > lines + 1) or (
                o_stacked and counts[1] * out_h > lines + 1
            ):
                continue  # too high to stack
            # More maps first, then more channels, then filters named in full (a name cut
            # short hides what the map shows), then the least cut from the cards.
            cut = (
                sum(
                    (n - w) * (counts[1] if side else 1)
                    for n, w, side in zip(
                        (k_n, out_n), widths[1:], (not k_stacked, not o_stacked), strict=True
                    )
                )
                + (in_n - widths[0]) * counts[0]
            )
            score = (counts[1], counts[0], widths[1] >= k_n, -cut)
            if best is None or score > best[0]:
                best = (score, (counts, widths, (k_stacked, o_stacked)))
        assert best is not None
        return (*best[1], floors)

    def _relayout(self) -> None:
        """Decide how many maps are drawn, how wide, and (in heat view) how large."""
        width = self.content_region.width
        if width <= 0 or not self.is_mounted:
            return
        lines = max(int(self.app.size.height * 0.65) - 4, 3)
        counts, widths, stacked, floors = self._plan(width, lines, 1)
        zoom = 1
        if self._heat:
            for z in range(MAX_ZOOM, 1, -1):
                z_counts, z_widths, z_stacked, z_floors = self._plan(width, lines, z)
                fits = all(
                    self._grid(g).natural_size(True, z)[1] <= lines for g in ("input-0", "output-0")
                )
                natural = [
                    self._card_width(self._card(f"{b}-card-0"), z, lines)[0]
                    for b in ("input", "kernel", "output")
                ]
                if fits and z_counts == counts and z_widths == natural:
                    counts, widths, stacked, floors, zoom = (
                        z_counts,
                        z_widths,
                        z_stacked,
                        z_floors,
                        z,
                    )
                    break
        plan = (counts, widths, stacked, floors, zoom, lines)
        if plan == self._applied:
            return
        self._applied = plan
        # Room for the boxes' titles, as the plan drawn left it (see ``_plan``).
        set_floors((self.query_one(f"#{b}-box") for b in ("input", "kernel", "output")), floors)
        paged = self.map_pages()
        self._fit_in, self._fit_out = counts
        if self.map_pages() != paged:
            self.screen.refresh_bindings()  # the page key is offered or withdrawn
        st = self.conv
        self.query_one("#kernel-maps").set_class(stacked[0], "stacked")
        self.query_one("#output-maps").set_class(stacked[1], "stacked")
        for s in range(self._in_slots):
            card = self._card(f"input-card-{s}")
            card.display = s < self._fit_in and self._in_start + s < st.in_channels
            self._size_card(card, widths[0], lines, zoom)
        for s in range(self._out_slots):
            for kind, w in (("kernel", widths[1]), ("output", widths[2])):
                card = self._card(f"{kind}-card-{s}")
                card.display = s < self._fit_out
                self._size_card(card, w, lines, zoom)
            for ch in range(self._in_slots):
                self._grid(f"kernel-{s}-{ch}").display = ch < self._fit_in
        self._filled = None
        self._redraw()
        self.call_after_refresh(self._subtitles)

    def _size_card(self, card: MapCard, width: int, lines: int, zoom: int) -> None:
        natural = self._card_width(card, zoom, lines)[0]
        card.styles.max_width = None if width >= natural else max(width - 1, 4)
        for grid in card.grids:
            grid.zoom = zoom
            grid.styles.max_height = lines

    # -- paging -----------------------------------------------------------------------

    def map_pages(self) -> bool:
        """Whether some channels or maps are a page away (the page key does something)."""
        st = self.conv
        return self._fit_in < st.in_channels or self._fit_out < st.filters

    def page_maps(self, direction: int) -> None:
        """Show the next (1) or previous (−1) page of channels, filters and output maps."""
        st = self.conv
        self._in_start = next_page(self._in_start, self._fit_in, st.in_channels, direction)
        self._out_start = next_page(self._out_start, self._fit_out, st.filters, direction)
        self._redraw(keep_page=True)

    def _redraw(self, *, keep_page: bool = False) -> None:
        """Draw the last step again: on a new page (``keep_page``), or after a new layout,
        on the page that holds its filter."""
        if self._filter >= 0:
            self.show(self.conv.step(self._last), keep_page=keep_page)

    # -- drawing ----------------------------------------------------------------------

    def toggle_flip(self) -> bool:
        """Switch between cross-correlation (what deep learning calls convolution) and true
        convolution (kernels flipped); returns whether the kernels are now flipped."""
        self._flip = not self._flip
        if self._flip and self._flipped is None:
            self._flipped = self.conv.flipped()
        self.show(self.conv.step(self._last))
        return self._flip

    def _fill(self, st: ConvStage) -> None:
        """Put the channels, filters and maps of the current pages into the slots."""
        c, f = st.in_channels, st.filters
        for s in range(self._in_slots):
            ch = self._in_start + s
            if ch < c:
                self._grid(f"input-{s}").set_values(st.x_padded[ch])
                self._card(f"input-card-{s}").set_label(channel_name(ch, c))
            self._card(f"input-card-{s}").display = s < self._fit_in and ch < c
        for s in range(self._out_slots):
            k = self._out_start + s
            shown = s < self._fit_out and k < f
            self._card(f"kernel-card-{s}").display = shown
            self._card(f"output-card-{s}").display = shown
            if k >= f:
                continue
            kernel = self._card(f"kernel-card-{s}")
            # The flip's mark first: a label too long for its card is cut at the end.
            kernel.set_label(("⟲ " if self._flip else "") + filter_name(k, f, st.weight[k]))
            kernel.set_footer(self._bias_label(st, k))
            for i in range(self._in_slots):
                ch = self._in_start + i
                grid = self._grid(f"kernel-{s}-{i}")
                grid.display = i < self._fit_in and ch < c
                if ch < c:
                    grid.set_values(st.weight[k, ch], span=span_of(st.weight))
                    grid._caption = f"c{ch}" if c > 1 else ""
            self._grid(f"output-{s}").set_values(st.output[k], span=span_of(st.output))
            self._card(f"output-card-{s}").set_label(f"map {k} of {f}")
        self._subtitles()

    def _subtitles(self) -> None:
        """The boxes' subtitles: which maps are drawn, stride and padding; short forms in a
        narrow box (after a new layout, once the boxes have their widths)."""
        self.query_one("#input-box").border_subtitle = self._input_label()
        self.query_one("#kernel-box").border_subtitle = self._kernel_subtitle()
        out_box = self.query_one("#output-box")
        out_box.border_subtitle = page_title(
            "maps", self._out_start, self._fit_out, self.conv.filters, subtitle_room(out_box)
        )

    def show(self, step: ConvStep, *, keep_page: bool = False) -> None:  # type: ignore[override]
        self._last = step.index
        st = self.conv
        if self._flip:
            assert self._flipped is not None
            st = self._flipped
            step = st.step(step.index)
        fh, fw = st.kernel_hw
        plane = st.out_hw[0] * st.out_hw[1]
        f = step.filter
        if not keep_page:
            self._out_start = page_start(f, self._out_start, self._fit_out, st.filters)
        state = (self._in_start, self._out_start, self._flip)
        if state != self._filled:
            self._filled = state
            self._filter = -1
            self._fill(st)
        if f != self._filter:
            self._filter = f
            for s in range(min(self._fit_out, self._out_slots)):
                k = self._out_start + s
                if k >= st.filters:
                    break
                self._card(f"kernel-card-{s}").set_lit(k == f)
                self._card(f"output-card-{s}").set_lit(k == f)
                if k != f:
                    self._grid(f"output-{s}").set_current(plane if k < f else -1, follow=False)
        window = Window(step.row * st.stride[0], step.col * st.stride[1], fh, fw)
        for s in range(min(self._fit_in, self._in_slots)):
            self._grid(f"input-{s}").set_window(window)
        slot = f - self._out_start
        if 0 <= slot < self._out_slots:
            self._grid(f"output-{slot}").set_current(step.row * st.out_hw[1] + step.col)
        self._explain(st, step)

    def _explain(self, st: ConvStage, step: ConvStep) -> None:
        self._inspector.show(
            self.query_one("#inspector", Static),
            self._text(st, step),
            lambda: [self._text(st, st.step(i)) for i in sampled_steps(len(st))],
            key=self._flip,
        )

    def _text(self, st: ConvStage, step: ConvStep) -> Text:
        """The inspector's text for ``step`` of ``st`` (the flipped stage when flipped)."""
        text = explain(st, step, sharing=False)
        if self._flip:
            text.append(
                "\n  flipped: this is true convolution, the kernel rotated by 180°. Deep learning "
                "libraries skip the flip: the kernel is learned, and a learned flipped kernel is "
                "just another kernel. Press f to flip back.",
                style="bold yellow",
            )
        return text

    def _grid(self, grid_id: str) -> MatrixGrid:
        """The grid with this id, looked up once: ``show`` runs on every step."""
        grid = self._grids.get(grid_id)
        if grid is None:
            grid = self._grids[grid_id] = self.query_one(f"#{grid_id}", MatrixGrid)
        return grid

    def _card(self, card_id: str) -> MapCard:
        return self.query_one(f"#{card_id}", MapCard)

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        grid_id = message.grid.id or ""
        if grid_id.startswith("output-"):
            message.stop()
            f = self._out_start + int(grid_id.removeprefix("output-"))
            self.post_message(self.StepChosen(self.conv.index_of(f, message.row, message.col)))
