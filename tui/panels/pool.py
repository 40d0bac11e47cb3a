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
from tui.panels._maps import (
    BOX_FRAME,
    LABEL_LEAST,
    MAX_SLOTS,
    MAX_ZOOM,
    TITLE_ROOM,
    Box,
    GrowingInspector,
    channel_name,
    fit,
    least_width,
    next_page,
    page_start,
    page_title,
    set_floors,
    span_of,
    subtitle_room,
    title_floors,
)
from tui.panels.base import ReflowingPanel, register
from tui.widgets.mapcard import MapCard
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


def explain_pool(stage: PoolStage, step: PoolStep, *, facts: bool = True) -> Text:
    """The inspector's text: the window's values, the max (and where it is) or the mean,
    and (with ``facts``) what holds for every step: the output size and the channels."""
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
    if facts:
        t.append("\n")
        t.append_text(pool_facts(stage))
    return t


def pool_facts(stage: PoolStage) -> Text:
    """What every step of ``stage`` shares: the output size and its formula, the channels
    pooled on their own, the hyper-parameters."""
    t = Text()
    fh, fw = stage.size
    h_text, w_text = stage.size_formulas()
    t.append("  output size ", style="grey62")
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


class ChannelPoolPanel(ReflowingPanel, Generic[S, T]):
    """A stage that pools each channel on its own: the input channels and their output maps
    side by side (as many as fit, the rest a page away), the current channel lit and its
    window drawn, and the inspector below. Clicking an output cell chooses its step. Widget
    ids start with ``PREFIX``; a subclass says what the input grids show, how the window is
    marked and how the number is explained."""

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
        self._slots = min(stage.in_shape[0], MAX_SLOTS)
        self._fit = self._slots
        self._start = 0
        self._filled: int | None = None
        self._applied: tuple[object, ...] | None = None
        self._heat = False
        self._last: T | None = None
        self._inspector = GrowingInspector()

    def input_plane(self, channel: int) -> np.ndarray:
        """What the input grids show of ``channel``."""
        return self.pool.x[channel]

    def input_grid(self, slot: int) -> MatrixGrid:
        return MatrixGrid(
            self.input_plane(slot), span=self._input_span(), id=f"{self.PREFIX}-input-{slot}"
        )

    def _input_span(self) -> tuple[float, float]:
        return span_of(np.stack([self.input_plane(c) for c in range(self.pool.in_shape[0])]))

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
        out_span = span_of(st.output)
        with Horizontal(id=f"{p}-grids"):
            with Vertical(classes="box", id=f"{p}-input-box") as box:
                box.border_title = f"Input {c}×{h}×{w}"
                box.border_subtitle = self.input_subtitle()
                with Horizontal(classes="maps"):
                    for s in range(self._slots):
                        yield MapCard(
                            [self.input_grid(s)], channel_name(s, c), id=f"{p}-input-card-{s}"
                        )
            with Vertical(classes="box", id=f"{p}-output-box") as box:
                box.border_title = f"Output {c}×{oh}×{ow}"
                with Horizontal(classes="maps"):
                    for s in range(self._slots):
                        grid = MatrixGrid(
                            st.output[s], progress=True, span=out_span, id=f"{p}-output-{s}"
                        )
                        yield MapCard([grid], f"map {s} of {c}", id=f"{p}-output-card-{s}")
        inspector = Static(id=f"{p}-inspector")
        inspector.border_title = "How this number is computed"
        yield inspector
        facts = self.facts()
        if facts is not None:
            yield Static(Content.from_rich_text(facts), id=f"{p}-facts")

    def window_width(self) -> int:
        """The widest window a step marks on the input, in columns."""
        w = self.pool.in_shape[2]
        return max(1, w // max(self.pool.out_hw[1], 1) + 1)

    def facts(self) -> Text | None:
        """What every step shares, drawn once below the inspector (None: nothing)."""
        return None

    # -- layout -----------------------------------------------------------------------

    def _card(self, kind: str, slot: int) -> MapCard:
        return self.query_one(f"#{self.PREFIX}-{kind}-card-{slot}", MapCard)

    def _grid(self, kind: str, slot: int) -> MatrixGrid:
        return self._card(kind, slot).grids[0]

    def _card_width(self, card: MapCard, zoom: int, lines: int) -> tuple[int, int]:
        grid = card.grids[0]
        w, h = grid.natural_size(self._heat, zoom)
        if h > lines:
            w += 1
        cw = zoom if self._heat else grid.cell_width
        window = self.window_width() if "input" in (card.id or "") else 0
        least = least_width(w, grid._label_w, cw, grid._values.shape[1], window)
        c = self.pool.in_shape[0]
        text = len(channel_name(c - 1, c)) if "input" in (card.id or "") else len(f"map {c} of {c}")
        return max(w, text) + 1, max(least, min(text, LABEL_LEAST)) + 1

    def _plan(self, width: int, lines: int, zoom: int) -> tuple[list[int], list[int], list[int]]:
        """How many channels fit, the width of one card of each box, and the boxes' floors
        (room for their titles; applied by ``_relayout`` with the plan it draws)."""
        p, c = self.PREFIX, self.pool.in_shape[0]
        cards, titles, short = [], [], []
        for kind in ("input", "output"):
            cards.append(self._card_width(self._card(kind, 0), zoom, lines))
            title = len(str(self.query_one(f"#{p}-{kind}-box").border_title)) + TITLE_ROOM
            short.append(title)
            if kind == "input":
                title = max(title, len(self.input_subtitle()) + TITLE_ROOM)
            elif c > 1:  # room for "maps 0–1 of 3, m for more"
                title = max(title, len(page_title("maps", 0, 2, c)) + TITLE_ROOM)
            titles.append(title)
        # The boxes are as wide as their maps, and never too narrow for their titles, unless
        # the terminal is too narrow for the titles and one map each: then the subtitles are
        # cut, then the titles.
        least = [(c, [Box(n, w) for n, w in cards])]
        floors = title_floors(width, 2 * BOX_FRAME, least, titles, short)
        boxes = [Box(n, w, floor=f) for (n, w), f in zip(cards, floors, strict=True)]
        return (*fit(width, 2 * BOX_FRAME, [(c, boxes)]), floors)

    def _relayout(self) -> None:
        width = self.content_region.width
        if width <= 0 or not self.is_mounted:
            return
        lines = max(int(self.app.size.height * 0.65) - 4, 3)
        counts, widths, floors = self._plan(width, lines, 1)
        zoom = 1
        if self._heat:
            for z in range(MAX_ZOOM, 1, -1):
                z_counts, z_widths, z_floors = self._plan(width, lines, z)
                natural = [
                    self._card_width(self._card(k, 0), z, lines)[0] for k in ("input", "output")
                ]
                high = self._grid("input", 0).natural_size(True, z)[1] <= lines
                if high and z_counts == counts and z_widths == natural:
                    widths, floors, zoom = z_widths, z_floors, z
                    break
        plan = (counts, widths, floors, zoom, lines)
        if plan == self._applied:
            return
        self._applied = plan
        # Room for the boxes' titles, as the plan drawn left it (see ``_plan``).
        boxes = (self.query_one(f"#{self.PREFIX}-{kind}-box") for kind in ("input", "output"))
        set_floors(boxes, floors)
        paged = self.map_pages()
        self._fit = counts[0]
        if self.map_pages() != paged:
            self.screen.refresh_bindings()
        for s in range(self._slots):
            for kind, w in zip(("input", "output"), widths, strict=True):
                card = self._card(kind, s)
                whole = self._card_width(card, zoom, lines)[0]
                card.styles.max_width = None if w >= whole else max(w - 1, 4)
                for grid in card.grids:
                    grid.zoom = zoom
                    grid.styles.max_height = lines
        self._filled = None
        if self._last is not None:  # on the page that holds the current channel
            self.show(self._last)
        self.call_after_refresh(self._subtitles)

    # -- paging -----------------------------------------------------------------------

    def map_pages(self) -> bool:
        """Whether some channels are a page away (the page key does something)."""
        return self._fit < self.pool.in_shape[0]

    def page_maps(self, direction: int) -> None:
        """Show the next (1) or previous (−1) page of channels and their maps."""
        self._start = next_page(self._start, self._fit, self.pool.in_shape[0], direction)
        if self._last is not None:
            self.show(self._last, keep_page=True)

    # -- drawing ----------------------------------------------------------------------

    def _fill(self) -> None:
        st = self.pool
        c = st.in_shape[0]
        for s in range(self._slots):
            ch = self._start + s
            shown = s < self._fit and ch < c
            for kind in ("input", "output"):
                self._card(kind, s).display = shown
            if ch >= c:
                continue
            self._grid("input", s).set_values(self.input_plane(ch))
            self._grid("output", s).set_values(st.output[ch])
            self._card("input", s).set_label(channel_name(ch, c))
            self._card("output", s).set_label(f"map {ch} of {c}")
        self._subtitles()

    def _subtitles(self) -> None:
        """The boxes' subtitles; short forms in a narrow box (after a new layout, once the
        boxes have their widths)."""
        out_box = self.query_one(f"#{self.PREFIX}-output-box")
        out_box.border_subtitle = page_title(
            "maps", self._start, self._fit, self.pool.in_shape[0], subtitle_room(out_box)
        )
        self.query_one(f"#{self.PREFIX}-input-box").border_subtitle = self.input_subtitle()

    def show(self, step: T, *, keep_page: bool = False) -> None:  # type: ignore[override]
        st = self.pool
        self._last = step
        c = st.in_shape[0]
        if not keep_page:
            self._start = page_start(step.channel, self._start, self._fit, c)
        if self._start != self._filled:
            self._filled = self._start
            self._channel = -1
            self._fill()
        plane = st.out_hw[0] * st.out_hw[1]
        if step.channel != self._channel:
            self._channel = step.channel
            for s in range(min(self._fit, self._slots)):
                ch = self._start + s
                if ch >= c:
                    break
                lit = ch == step.channel
                self._card("input", s).set_lit(lit)
                self._card("output", s).set_lit(lit)
                if not lit:
                    grid = self._grid("input", s)
                    grid.set_window(None)
                    grid.set_mark(None)
                    self._grid("output", s).set_current(plane if ch < step.channel else -1)
        slot = step.channel - self._start
        if 0 <= slot < self._slots:
            self.mark_window(self._grid("input", slot), step)
            self._grid("output", slot).set_current(step.row * st.out_hw[1] + step.col)
        self._inspector.show(
            self.query_one(f"#{self.PREFIX}-inspector", Static),
            Content.from_rich_text(self.explain(step)),
        )

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        prefix = f"{self.PREFIX}-output-"
        grid_id = message.grid.id or ""
        if grid_id.startswith(prefix):
            message.stop()
            channel = self._start + int(grid_id.removeprefix(prefix))
            self.post_message(
                self.StepChosen(self.pool.index_of(channel, message.row, message.col))
            )


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
        padding: 0 0 0 1;
    }
    PoolPanel .maps {
        width: auto;
        height: auto;
    }
    PoolPanel #pool-facts {
        height: auto;
        padding: 0 1;
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

    def input_grid(self, slot: int) -> MatrixGrid:
        return MatrixGrid(
            self.input_plane(slot),
            padding=self.pool.padding,
            span=self._input_span(),
            id=f"pool-input-{slot}",
        )

    def window_width(self) -> int:
        return self.pool.size[1]

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
        return explain_pool(self.pool, step, facts=False)

    def facts(self) -> Text | None:
        return pool_facts(self.pool)
