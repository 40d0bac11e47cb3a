"""NetworkScreen: a network as a table of layers, a layer's feature maps, and the class scores.

The table comes from shapes alone, so it opens at once for any network. A layer's numbers are
computed when the cursor first rests on it, in a worker, layer by layer with progress, and
never all up front. Enter opens the layer in the player, fed the real output of the layers
before it; there ``]`` and ``[`` walk on to the next or previous layer.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import DataTable, Header, Static
from textual.worker import get_current_worker

from engine.network import INPUT, Network
from tui import heap
from tui.compositor import use_line_updates
from tui.numbers import fmt_num
from tui.screens.help import LAYER_BINDINGS, NETWORK_KEYS, NETWORK_LEGEND, HelpScreen
from tui.styles import FAINT, MUTED
from tui.widgets.featuremaps import FeatureMapGallery, TileKey, draw_tiles
from tui.widgets.halfblock import HalfBlockImage, finite_range
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.topk import TopK, bar, softmax

if TYPE_CHECKING:
    from engine.core import Simulation, Stage
    from tui.screens.player import PlayerScreen

SHARE_BAR = 5
"""Cells of the bar that draws a layer's share of the parameters."""

OP_STYLES = {
    "conv2d": "bold cyan",
    "linear": "bold yellow",
    "maxpool2d": "magenta",
    "avgpool2d": "magenta",
    "adaptive_avgpool2d": "magenta",
    "batchnorm2d": "green",
    "add": "bold green",
}
"""How an op is written in the table: the layers with weights stand out, pooling is apart,
the activations and the reshaping ops stay quiet."""

Prepared = tuple[tuple[float, float], dict[TileKey, list[list[Segment]]]]
"""A layer's maps made ready by the worker: their range and the gallery's tiles."""

ANNOUNCE_AFTER = 0.6
"""Seconds a layer may take to open from the player before a notification says why."""

INLINE_WORK = 2_000_000
"""Work (``layer_work``) a layer's first visit may compute on the spot, drawn in the frame that
moves the cursor, when its output is small too (``INLINE_OUTPUT``) and no other thread is inside
the network (``Network.if_free``); more is computed in a worker once that frame is painted. A
network whose whole forward pass is within both limits is computed as the screen opens."""

INLINE_OUTPUT = 50_000
"""Output elements a layer's first visit may compute on the spot. Fresh memory is what costs
there, not arithmetic: the pages of each new output are mapped on first touch, about 3 ms a
megabyte on the machine of docs/performance.md, so ResNet's 64×56×56 ReLU (1.6 MB in float64)
took 5 to 7 ms in the app for 0.1 ms of sums. LeNet's largest output has 4,704 elements."""

DRAW_INLINE = 20_000
"""Numbers of the maps a page of the gallery shows that are drawn in the frame that moves the
cursor (LeNet's 6×28×28: a few milliseconds); the page of a larger layer (VGG's 27 maps of
224×224, ResNet's of 56×56: 10 to 30 ms, most of it styles for colours not seen before) is
drawn by the worker, off the event loop, and shown in the next frame."""

LABEL_ATTRIBUTES = ("labels", "class_names")
"""Where class names may be found, on the simulation, its stage or the network."""


# -- the table's text, from shapes alone ----------------------------------------------------------


def si(n: int) -> str:
    """A count in a few characters: 950, 12.3 k, 4.5 M, 15.5 G."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


def out_shape_text(shape: Sequence[int]) -> str:
    """An output shape as the course writes it: H×W×C for an image, N for a vector."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}×{w}×{c}"
    return "×".join(str(n) for n in shape)


def _pair(v: Any) -> str:
    """5 for (5, 5), 3×1 for (3, 1)."""
    if isinstance(v, (tuple, list)):
        return str(v[0]) if len(set(v)) == 1 else "×".join(str(n) for n in v)
    return "" if v is None else str(v)


def hyper_cells(network: Network, name: str) -> tuple[str, str, str, str]:
    """The f, s, p and filters/units cells of a layer (empty where the op has none)."""
    op = network.layers[network.index(name)].op
    h = network.hyper(name)
    if op == "conv2d":
        n = str(h["out_channels"])
        if h.get("groups", 1) > 1:
            n += f"/g{h['groups']}"
        return _pair(h["kernel_size"]), _pair(h["stride"]), _pair(h["padding"]), n
    if op in ("maxpool2d", "avgpool2d"):
        return _pair(h["kernel_size"]), _pair(h["stride"]), _pair(h["padding"]), ""
    if op == "adaptive_avgpool2d":
        return "→" + "×".join(str(n) for n in network.shape(name)[1:]), "", "", ""
    if op == "linear":
        return "", "", "", str(h["out_features"])
    return "", "", "", ""


COLUMNS = (
    ("name", "layer", "left"),
    ("op", "op", "left"),
    ("f", "f", "right"),
    ("s", "s", "right"),
    ("p", "p", "right"),
    ("n", "filters", "right"),
    ("shape", "out H×W×C", "right"),
    ("params", "params", "right"),
    ("share", "share", "left"),
    ("macs", "MACs", "right"),
    ("size", "activations", "right"),
)
"""(key, header, alignment) of the table's columns, the course's points first: the shapes,
where the parameters are, and the work; activation sizes last, where a narrow terminal
scrolls to them."""

SHORT_HEADERS = {"n": "n", "shape": "H×W×C", "size": "acts"}
"""The headers of the compact table (a terminal narrower than the whole table): one word
each, so that no two read as one ("filters out H×W×C")."""

SHORT_OPS = {
    "conv2d": "conv",
    "batchnorm2d": "bn",
    "maxpool2d": "maxpool",
    "avgpool2d": "avgpool",
    "adaptive_avgpool2d": "adapt.avg",
}
"""How the compact table writes the ops with long names."""


def header(key: str, text: str, compact: bool) -> str:
    """A column's header, in the compact table its one-word form."""
    return SHORT_HEADERS.get(key, text) if compact else text


def layer_rows(network: Network, compact: bool = False) -> list[dict[str, Text]]:
    """One row of cells per layer, keyed like ``COLUMNS``: everything from shapes alone.
    ``compact`` (a narrow terminal): long op names shortened, the share without its bar."""
    total = network.param_count() or 1
    rows = []
    for layer in network.layers:
        name = layer.name
        params = network.param_count(name)
        f, s, p, n = hyper_cells(network, name)
        share = params / total
        share_text = Text(
            "" if compact else bar(share, SHARE_BAR), style="yellow" if share >= 0.2 else MUTED
        )
        share_text.append(
            f"{share:6.1%}" if params else "     –", style="bold" if share >= 0.2 else ""
        )
        rows.append(
            {
                "name": Text(name),
                "op": Text(
                    SHORT_OPS.get(layer.op, layer.op) if compact else layer.op,
                    style=OP_STYLES.get(layer.op, MUTED),
                ),
                "f": Text(f),
                "s": Text(s),
                "p": Text(p),
                "n": Text(n, style="bold" if n else ""),
                "shape": Text(out_shape_text(network.shape(name))),
                "size": Text(f"{network.activation_size(name):,}"),
                "params": Text(f"{params:,}", style="bold" if params else FAINT),
                "share": share_text,
                "macs": Text(si(network.macs(name)) if network.macs(name) else "–", style=""),
            }
        )
    return rows


def totals_row(network: Network, compact: bool = False) -> dict[str, Text]:
    """The cells under the table: the network's totals."""
    acts = sum(network.activation_size(layer.name) for layer in network.layers)
    return {
        "name": Text("total", style="bold"),
        "op": Text(f"{len(network.layers)} layers", style=MUTED),
        "shape": Text(out_shape_text(network.input_shape) + " in", style=MUTED),
        "size": Text(f"{acts:,}", style="bold"),
        "params": Text(f"{network.param_count():,}", style="bold"),
        "share": Text(("" if compact else bar(1.0, SHARE_BAR)) + "  100%", style="bold"),
        "macs": Text(si(network.macs()), style="bold"),
    }


def column_widths(
    rows: list[dict[str, Text]], totals: dict[str, Text], compact: bool = False
) -> dict[str, int]:
    """Each column as wide as its header, its widest cell and its total."""
    widths = {}
    for key, text, _ in COLUMNS:
        cells = [row[key].cell_len for row in rows]
        title = header(key, text, compact)
        widths[key] = max(len(title), *cells, totals[key].cell_len if key in totals else 0)
    return widths


def table_width(widths: dict[str, int]) -> int:
    """Columns the whole table takes: each column one wider than its text."""
    return sum(w + 1 for w in widths.values())


def cell(text: Text, width: int, align: str) -> Text:
    """A cell one space wider than its column's widest text, that space in front: columns
    one space apart, which a DataTable's cell padding (one on each side) would double."""
    t = Text(" ") + text if align == "left" else text.copy()
    t.justify = align  # type: ignore[assignment]
    return t


def layer_work(network: Network, name: str) -> int:
    """What computing a layer costs, roughly: its multiply-adds plus its output's elements, and
    for pooling each output element once per cell of its window."""
    work = network.macs(name) + network.activation_size(name)
    op = network.layers[network.index(name)].op
    if op in ("maxpool2d", "avgpool2d"):
        k = network.hyper(name)["kernel_size"]
        work += network.activation_size(name) * (k[0] * k[1] - 1)
    return work


def needed_layers(network: Network, *names: str) -> list[str]:
    """The layers that must still be computed, in order, before the outputs of ``names``
    exist."""
    needed: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n == INPUT or n in needed or network.computed(n):
            continue
        needed.add(n)
        todo.extend(network.input_names(n))
    return [layer.name for layer in network.layers if layer.name in needed]


def vector_grid(n: int) -> int:
    """How many values a row when a vector of ``n`` is drawn as a picture: a divisor of ``n``
    near √n (wider than tall), so no cell is padding; ``n`` itself when there is none."""
    root = math.isqrt(n)
    for w in range(max(root, 1), min(4 * root, n) + 1):
        if n % w == 0 and n // w <= w:
            return w
    return n


def first_attribute(names: Sequence[str], *objects: object) -> Any:
    """The first of attributes ``names`` that one of ``objects`` has and is not None."""
    for obj in objects:
        for name in names:
            value = getattr(obj, name, None)
            if value is not None:
                return value
    return None


class LayerTable(DataTable[Text]):
    """The layer table: Enter opens the layer under the cursor; Home and End go to the first
    and the last layer (the class scores), as in the player."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Step through", key_display="Enter", id="open-layer"),
        Binding("home", "scroll_top", "First layer", show=False, id="first-layer"),
        Binding("end", "scroll_bottom", "Last layer", show=False, id="last-layer"),
    ]

    def __init__(self, *args: Any, on_row: Any = None, **kw: Any) -> None:
        """``on_row(name)`` is called as the cursor moves onto a row, before the screen is
        painted: the table's RowHighlighted message arrives after a frame that shows the new
        row beside the old layer's maps, and the maps then take a frame of their own."""
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        super().__init__(*args, **kw)
        self._on_row = on_row

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._lines.clear()

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        """A line of the table, from a cache that holds each row's look by whether the row is
        the cursor's or the mouse's, not by where those are: DataTable's own cache is keyed by
        both coordinates, so a cursor move drew every line of the table again (13 to 40 rows,
        2 to 10 ms of a key's frame) for the two rows whose look changed."""
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        row = self.get_row_index(row_key) if row_key is not self._header_row_key else -1
        key = (
            y,
            x1,
            x2,
            self.size.width,
            row == self.cursor_coordinate.row,
            row == self.hover_coordinate.row,
            base_style,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = super()._render_line(y, x1, x2, base_style)
        return line

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if self._on_row is not None and old != new and 0 <= new.row < self.row_count:
            key = self.coordinate_to_cell_key(new).row_key.value
            if key is not None:
                self._on_row(key)


COLLAPSE_MACS = 10**8
"""Most multiply-adds the product W_n·…·W_1 of a collapse may take (VGG-16's classifier would
take 4·10¹¹): beyond it the collapse is not offered."""


def collapsible(network: Network) -> bool:
    """Whether the network has two or more linear layers whose product is cheap to show."""
    linear = [layer.name for layer in network.layers if layer.op == "linear"]
    if len(linear) < 2:
        return False
    first_in = math.prod(network.shape(network.input_names(linear[0])[0]))
    outs = [math.prod(network.shape(name)) for name in linear]
    cost = sum(outs[k] * outs[k - 1] * first_in for k in range(1, len(outs)))
    return cost <= COLLAPSE_MACS


class NetworkScreen(Screen[None]):
    """A network's layers as a table; the selected layer's feature maps, the input image and the
    class scores beside it; Enter steps through a layer in the player."""

    _MAP = Binding.Group("Map", compact=True)

    BINDINGS = [
        *LAYER_BINDINGS,
        Binding("N", "channel(-1)", "Previous map", group=_MAP, id="prev-map"),
        Binding("n", "channel(1)", "Next map", group=_MAP, id="next-map"),
        Binding("s", "scale", "Scale", id="scale"),
        Binding("g", "gradients", "Gradients", id="gradients"),
        Binding("r", "residual", "Block", id="residual"),
        Binding("c", "collapse", "Collapse", id="collapse"),
        Binding("e", "experiment", "Depth runs", id="experiment"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("escape", "back", "List", key_display="Esc", show=False, id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    selected: var[str] = var("", init=False)
    """The layer under the table's cursor."""

    class BackToList(Message):
        """The user asked for the scenario list (Esc); the app decides which screen that is."""

    def __init__(self, simulation: Simulation, *, start: int = 0, check: bool = True) -> None:
        """``simulation`` holds one stage with a ``network``; the cursor starts on layer
        ``start``; ``check`` is handed to the player (compare with PyTorch on opening)."""
        super().__init__()
        use_line_updates(self)  # partial updates draw only the widgets on changed lines
        self.simulation = simulation
        self.stage = simulation.stages[0]
        self.network: Network = self.stage.network  # type: ignore[attr-defined]
        self._start = start
        self._check = check
        self._player: PlayerScreen | None = None
        self._opening = ""
        """The layer being opened in the player, if one is."""
        self._status = ""
        """How far opening it has got."""
        self._asked_from_player = False
        """Whether it was asked for from the player (``]`` / ``[``), not from the table."""
        self._compact = False
        """Whether the table is drawn compact: the whole one is wider than the screen."""
        self._note_lines = 0
        """Lines the note took when it was last written (0: not known)."""
        self._ticket = 0
        """Bumped by every layer shown (and on leaving): a worker queued to start after a frame
        starts only if no other layer was shown meanwhile."""
        self._refitting = False
        """Whether the table is being refilled for a new width (its cursor passes row 0)."""
        self._lit = 0
        """The map chosen (n, N, a click): lit on every layer shown, as far as it has maps.
        Kept here, as the gallery forgets it while it waits for a layer's maps."""
        self._top5_of: object = ()
        """The scores the top-5 box shows (``()`` until it shows some)."""
        self._rows = layer_rows(self.network)
        self._totals = totals_row(self.network)
        self._widths = column_widths(self._rows, self._totals)
        self._full_width = table_width(self._widths)

    # -- what the screen is made of --------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(self._source_line(), id="net-info")
        table: LayerTable = LayerTable(
            id="net-layers",
            cursor_type="row",
            zebra_stripes=True,
            cell_padding=0,
            fixed_columns=1,
            on_row=self._select,
        )
        self._set_compact(self._too_wide(self.app.size.width))
        self._fill_table(table)
        yield table
        yield Static(id="net-totals")
        with Horizontal(id="net-detail"):
            with Vertical(classes="box", id="net-input-box") as box:
                box.border_title = "input"
                yield HalfBlockImage(id="net-input")
            with Vertical(classes="box", id="net-maps-box"):
                yield Static(id="net-note")
                yield FeatureMapGallery(id="net-maps")
            with Vertical(classes="box", id="net-top5-box") as box:
                box.border_title = "top 5"
                yield TopK(id="net-top5")
        yield KeyFooter()

    def _too_wide(self, width: int) -> bool:
        """Whether the whole table is wider than ``width`` columns (a scroll bar kept)."""
        return self._full_width > width - 1

    def _set_compact(self, compact: bool) -> None:
        self._compact = compact
        self._rows = layer_rows(self.network, compact)
        self._totals = totals_row(self.network, compact)
        self._widths = column_widths(self._rows, self._totals, compact)

    def _fill_table(self, table: LayerTable) -> None:
        """The table's columns and rows, compact or whole as ``_compact`` says."""
        widths = self._widths
        for key, text, align in COLUMNS:
            title = Text(header(key, text, self._compact), style="bold")
            table.add_column(cell(title, widths[key], align), key=key, width=widths[key] + 1)
        for layer, row in zip(self.network.layers, self._rows, strict=True):
            cells = [cell(row[key], widths[key], align) for key, _, align in COLUMNS]
            table.add_row(*cells, key=layer.name)

    def _refit_table(self) -> None:
        """Draw the table compact on a terminal too narrow for the whole one, whole again
        when it has room; the cursor stays on its layer."""
        compact = self._too_wide(self.size.width)
        if compact == self._compact:
            return
        table = self.table
        row = table.cursor_row
        self._set_compact(compact)
        self._refitting = True  # the refilled table's cursor passes row 0: not a layer chosen
        try:
            table.clear(columns=True)
            self._fill_table(table)
            table.move_cursor(row=row, animate=False)
        finally:
            self._refitting = False
        self._show_totals()

    @property
    def table(self) -> LayerTable:
        return self.query_one("#net-layers", LayerTable)

    @property
    def gallery(self) -> FeatureMapGallery:
        return self.query_one("#net-maps", FeatureMapGallery)

    def on_mount(self) -> None:
        self.title = self.simulation.title or self.network.title or "netsim"
        self.sub_title = self.simulation.source.rsplit("/", 1)[-1] if self.simulation.source else ""
        table = self.table
        self.watch(table, "scroll_x", self._show_totals)
        self._show_totals()
        self._show_input()
        net = self.network
        if net.computed(INPUT) and not self._no_weights():
            # A small network is computed whole before the first frame: its class scores are
            # on screen from the start, and no later key lays the screen out for them.
            self._compute_if_small(needed_layers(net, net.layers[-1].name))
        self._show_top5()
        start = max(0, min(self._start, len(self.network.layers) - 1))
        table.move_cursor(row=start, animate=False)
        table.focus()
        self.selected = self.network.layers[start].name
        heap.settle_later(self)  # after the first frame (see tui.heap)

    def on_screen_resume(self) -> None:
        if self._opening and self._asked_from_player:
            # ] or [ in the player, then Esc before that layer was ready: the user left the
            # player, and the layer must not bring it back.
            self._opening = ""
            self.app.workers.cancel_group(self, "open")
            self._show_map_subtitle()
        self._player = None  # back from the layer's player: it is garbage (see tui.heap)

    def on_resize(self) -> None:
        self._refit_table()
        self.call_after_refresh(self._fit_input_box)

    # -- the lines above and below the table -----------------------------------------------------

    def _source_line(self) -> Content:
        """Where the weights came from (and what their record says), the precision, the
        memory the forward pass needs, and what the input is."""
        net = self.network
        objects = (self.stage, self.simulation, net)
        source = first_attribute(("weights_source", "weights_file"), *objects)
        parts: list[str | tuple[str, str]] = []
        if net.seeded:
            seed = first_attribute(("seed",), *objects)
            if seed is None and isinstance(source, str):
                found = re.search(r"seed (\d+)", source)
                seed = found.group(1) if found else None
            seed_text = f", seed {seed}" if seed is not None else ""
            parts.append((f"seeded weights (Kaiming{seed_text}) — not trained", "bold yellow"))
        elif net.params:
            parts.append((f"weights: {source}" if source else "loaded weights", "bold green"))
            note = first_attribute(("weights_note",), *objects)
            if note:
                parts.append((f" — {note}", "green"))
        else:
            parts.append(("no weights yet: shapes only", "bold red"))
        # The weights' story on the first line, the rest on the second when it is long.
        what = first_attribute(("input_source",), *objects)
        rest = f"{net.dtype.name} · peak ≈ {si(net.peak_bytes())}B"
        if what:
            rest += f" · input: {what}"
        long = len(Content.assemble(*parts).plain) + len(rest) + 3 > 100
        parts.append("\n" if long else " · ")
        parts.append(rest)
        return Content.assemble(*parts)

    def _show_totals(self) -> None:
        """The totals, aligned under the table's columns and scrolled with it (the first
        column, the layer's name, stays put as in the table)."""
        t = Text(no_wrap=True, overflow="crop")
        for key, _, align in COLUMNS:
            total = self._totals.get(key, Text(""))
            pad = " " * max(self._widths[key] - total.cell_len, 0)
            t.append(" ")
            if align == "right":
                t.append(pad)
            t.append_text(total)
            if align != "right":
                t.append(pad)
        first = self._widths[COLUMNS[0][0]] + 1
        x = int(self.table.scroll_x)
        self.query_one("#net-totals", Static).update(t[:first] + t[first + x :])

    # -- the selected layer ----------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # A message about a row the cursor has left since (a refilled table's passes row 0)
        # is not a layer chosen.
        if event.row_key.value is not None and event.cursor_row == self.table.cursor_row:
            self._select(event.row_key.value)

    def _select(self, name: str) -> None:
        if not self._refitting:
            self.selected = name

    def watch_selected(self, old: str, name: str) -> None:
        self._show_layer(name)
        if self._in_block(old) != self._in_block(name):
            self.refresh_bindings()  # the residual key is offered inside a block only

    def _in_block(self, name: str) -> bool:
        from tui.screens.residual import block_of

        return name != "" and block_of(self.network, name) is not None

    def _layer_title(self, name: str) -> str:
        return f"{self._layer_name(name)} · {out_shape_text(self.network.shape(name))}"

    def _layer_name(self, name: str) -> str:
        """A layer's name and op ("conv1 · conv2d"), the op once when it is the name too."""
        op = self.network.layers[self.network.index(name)].op
        return name if op == name else f"{name} · {op}"

    def _show_layer(self, name: str) -> None:
        """The layer's maps if they are computed; otherwise compute them in a worker."""
        net = self.network
        self._stop_workers()
        current = self._lit  # the lit map stays lit, whichever way the maps come
        box = self.query_one("#net-maps-box")
        box.border_title = Content(self._layer_title(name))
        box.border_subtitle = ""
        if not net.computed(INPUT):
            self._note("No input: the table comes from shapes alone; there are no numbers to show.")
            return
        if self._no_weights():
            self._note(
                "No weights: the table comes from shapes alone; there are no numbers to show."
            )
            return
        todo = needed_layers(net, name)
        self._compute_if_small(todo)
        if net.computed(name):
            if self._draw_cost(name) <= DRAW_INLINE:
                self._show_maps(name, current=current)
                return
            # Large maps already computed: the worker draws them.
            self._waiting(f"drawing the maps of {name} …")
        elif len(todo) == 1:
            self._waiting(f"computing {name} …")
        else:
            self._note(f"computing {name} …")  # the progress of several layers follows
        # Once the key's frame is painted: the worker holds the interpreter's lock for much of
        # its time (a style per new colour, fresh memory for each output), which the frame
        # would wait for.
        self.call_after_refresh(self._start_compute, self._ticket, name, current)

    def _compute_if_small(self, todo: list[str]) -> None:
        """Compute the layers ``todo`` on the spot if together they are small (``INLINE_WORK``,
        ``INLINE_OUTPUT``) and no other thread is inside the network (a worker of this screen
        or of another view, finishing a layer it was told to stop after): a worker waits for
        that thread instead of the event loop. A failure is left for the worker to say."""
        net = self.network
        small = (
            sum(layer_work(net, layer) for layer in todo) <= INLINE_WORK
            and sum(net.activation_size(layer) for layer in todo) <= INLINE_OUTPUT
        )
        if not small:
            return
        with net.if_free() as free:
            if free:
                with contextlib.suppress(Exception):
                    for layer in todo:
                        net.output(layer)

    def _stop_workers(self) -> None:
        """What a worker computes or draws for the layer left behind is not wanted now: told at
        once, it stops between two layers or two maps rather than share the next frame's CPU,
        and a worker still queued to start after a frame does not start."""
        self._ticket += 1
        self.app.workers.cancel_group(self, "compute")

    def _start_compute(self, ticket: int, name: str, current: int) -> None:
        """Start the worker for ``name`` queued by ticket ``ticket``, unless another layer was
        shown (or the screen left) since."""
        if ticket == self._ticket and self.is_attached:
            self._compute(name, current)

    def _waiting(self, text: str) -> None:
        """Say ``text`` under the gallery, emptied in place, while a worker makes its maps; a
        note (when the gallery is hidden) otherwise. Hiding the gallery for a note would lay
        the screen out, twice, for one layer's short wait."""
        if self.gallery.display:
            self.gallery.set_maps(None)
            self.query_one("#net-maps-box").border_subtitle = Content(text)
        else:
            self._note(text)

    def _draw_cost(self, name: str) -> int:
        """Numbers the gallery's page would draw for ``name`` (all of a vector's: few)."""
        shape = self.network.shape(name)
        if len(shape) != 3:
            return 0
        tiling = self.gallery.tiling_for(shape, self._lit)
        return tiling.count * shape[1] * shape[2]

    def _note(self, text: str) -> None:
        """Say ``text`` in place of the maps. A note that replaces a note of the same number
        of lines is written without laying the screen out again: the progress of a layer
        being computed is then one small repaint a step, not a layout and a frame of its own."""
        note = self.query_one("#net-note", Static)
        # Hidden, the note has no width: the box's, less the note's padding, is the same.
        width = note.content_region.width or self.query_one("#net-maps-box").content_region.width
        width -= 0 if note.content_region.width else note.styles.gutter.width
        lines = -(-len(text) // width) if width > 0 else 0
        same = note.display and not self.gallery.display and 0 < lines == self._note_lines
        self._note_lines = lines
        note.update(Text(text, style=MUTED), layout=not same)
        note.display = True
        self.gallery.display = False

    def _show_maps(
        self, name: str, prepared: Prepared | None = None, current: int | None = None
    ) -> None:
        """Show ``name``'s computed maps, map ``current`` lit (the one lit now by default).
        Reads the network without its lock: a worker may be inside it."""
        out = self.network.cached(name)
        if out is None:
            return
        box = self.query_one("#net-maps-box")
        gallery = self.gallery
        current = gallery.current if current is None else current
        if out.ndim == 3:
            span, tiles = prepared if prepared is not None else (None, None)
            gallery.set_maps(out, span=span, tiles=tiles)
            box.border_title = Content(f"{self._layer_title(name)} · {out.shape[0]} maps")
        else:
            flat = np.asarray(out).ravel()
            w = vector_grid(flat.size)
            gallery.set_maps(flat.reshape(-1, w)[None], captions=[f"{flat.size} values"])
            rows = flat.size // w
            title = f"{self._layer_name(name)} · {flat.size} values as {rows}×{w}"
            box.border_title = Content(title)
        gallery.current = current
        self.query_one("#net-note", Static).display = False
        gallery.display = True
        self._show_map_subtitle()
        self._show_top5()

    def _show_map_subtitle(self) -> None:
        name = self.selected
        out = self.network.cached(name) if name else None
        if out is None:
            return
        box = self.query_one("#net-maps-box")
        if out.ndim != 3:
            lo, hi = float(out.min()), float(out.max())
            box.border_subtitle = f"min {fmt_num(lo)} · max {fmt_num(hi)}"
            return
        c = self.gallery.current
        m = out[c]
        box.border_subtitle = (
            f"map {c} of {out.shape[0]} · min {fmt_num(float(m.min()))} · "
            f"max {fmt_num(float(m.max()))}"
        )

    def on_feature_map_gallery_map_chosen(self, message: FeatureMapGallery.MapChosen) -> None:
        self._lit = message.index  # the gallery may have been emptied for another layer since
        self._show_map_subtitle()

    @work(thread=True, exclusive=True, group="compute")
    def _compute(self, name: str, current: int = 0) -> None:
        """Compute ``name`` and the layers it needs, one at a time, saying how far it got, then
        draw the gallery's page of its maps (map ``current`` lit) when they are large. A newer
        request cancels this one between two layers."""
        net = self.network
        try:
            if not self._run(name, needed_layers(net, name)):
                return
            prepared = self._prepare(name, current)
        except Exception as e:  # an overflow, a missing weight: said in the box, not raised
            self._from_thread(self._failed, name, " ".join(str(e).split()) or type(e).__name__)
            return
        if not get_current_worker().is_cancelled:
            self._from_thread(self._computed, name, prepared, current)

    def _prepare(self, name: str, current: int) -> Prepared | None:
        """In the worker: the range and the gallery's tiles of ``name``'s maps, when they are
        too large to draw in a frame (None otherwise: the frame draws them)."""
        if self._draw_cost(name) <= DRAW_INLINE:
            return None
        out = self.network.output(name)
        span = finite_range(out)
        gallery = self.gallery
        worker = get_current_worker()
        tiling = gallery.tiling_for(out.shape, current)
        tiles = draw_tiles(out, tiling, span, gallery.shared_scale, lambda: worker.is_cancelled)
        return span, tiles

    def _run(self, name: str, todo: list[str]) -> bool:
        """Compute the layers ``todo`` (for ``name``) one at a time in this worker's thread,
        saying how far it got by the work done (multiply-adds plus output elements: VGG's
        first layers take most of the time). False when the worker was cancelled."""
        worker = get_current_worker()
        net = self.network
        total = sum(layer_work(net, layer) for layer in todo) or 1
        done = 0
        for k, layer in enumerate(todo):
            if worker.is_cancelled:
                return False
            self._from_thread(self._progress, name, k, len(todo), done / total, layer)
            if worker.is_cancelled:  # while the event loop said how far it got
                return False
            net.output(layer)
            done += layer_work(net, layer)
        return not worker.is_cancelled

    def _from_thread(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(callback, *args)

    def _progress(self, name: str, k: int, count: int, fraction: float, layer: str) -> None:
        """Layer ``k + 1`` of the ``count`` that ``name`` waits for is being computed, with
        ``fraction`` of the work done."""
        if not self.is_attached:
            return
        text = f"computing {name}: layer {k + 1} of {count} ({layer})"
        if count > 1:
            text += f"  {bar(fraction, 10)} {fraction:.0%} of the work"
        if self._opening == name:
            self._opening_status(text)
        elif name == self.selected and (count > 1 or not self.gallery.display):
            self._note(text)  # one layer's wait is said under the emptied gallery

    def _opening_status(self, text: str) -> None:
        """How far opening a layer in the player has got: under the maps while the table is
        on screen; over the player (``]`` / ``[`` there), kept for ``_announce``."""
        self._status = text
        if self.app.screen is self:
            self.query_one("#net-maps-box").border_subtitle = text

    def _announce(self, name: str) -> None:
        """Over the player, say what a layer that is slow to open is waiting for (a quick one
        opens before this runs, and says nothing)."""
        if self._opening == name and self._status and self.app.screen is not self:
            self.app.notify(self._status, timeout=4)

    def _computed(self, name: str, prepared: Prepared | None = None, current: int = 0) -> None:
        if self.is_attached and name == self.selected:
            self._show_maps(name, prepared, current)

    def _failed(self, name: str, error: str) -> None:
        if self.is_attached and name == self.selected:
            self.query_one("#net-maps-box").border_subtitle = ""  # no longer "computing …"
            self._note(f"{name} could not be computed: {error}")

    # -- the input image and the class scores ----------------------------------------------------

    def _image_input(self) -> bool:
        shape = self.network.input_shape
        return len(shape) == 3 and shape[0] in (1, 3) and self.network.computed(INPUT)

    def _picture(self) -> np.ndarray | None:
        """The picture the scenario fed the network, (H, W, 3) uint8, before normalisation
        (a stage's ``picture``), or None."""
        picture = first_attribute(("picture",), self.stage, self.simulation)
        if not isinstance(picture, np.ndarray) or picture.dtype != np.uint8:
            return None
        if picture.ndim == 2:
            picture = picture[:, :, None]
        if picture.ndim != 3 or picture.shape[2] not in (1, 3) or 0 in picture.shape:
            return None
        return np.repeat(picture, 3, axis=2) if picture.shape[2] == 1 else picture

    def _show_input(self) -> None:
        """The input in half blocks: the picture as the scenario read it, or else the
        network's input array, contrast stretched."""
        box = self.query_one("#net-input-box")
        picture = self._picture()
        box.display = picture is not None or self._image_input()
        if not box.display:
            return
        image = self.query_one("#net-input", HalfBlockImage)
        if picture is not None:
            image.set_rgb(picture)
        else:
            image.set_image(self.network.input)
        self._fit_input_box()

    def _fit_input_box(self) -> None:
        """The input box as wide as the picture needs at the height the box gets."""
        box = self.query_one("#net-input-box")
        if not box.display:
            return
        lines = max(box.size.height - 2, 1)
        shape = self.query_one("#net-input", HalfBlockImage).source_shape
        h, w = shape if shape is not None else self.network.input_shape[1:]
        cols = max(10, min(math.ceil(w * 2 * lines / h), self.size.width // 5))
        box.styles.width = cols + 2

    def labels(self) -> Sequence[str] | None:
        """Class names, where the scenario gives them (None when it gives none)."""
        labels = first_attribute(LABEL_ATTRIBUTES, self.simulation, self.stage, self.network)
        if labels is None or isinstance(labels, str):
            return None
        try:
            names = [str(label) for label in labels]
        except TypeError:
            return None
        return names or None

    def target(self) -> int | None:
        """The input's true class, where the scenario knows it (a shipped digit)."""
        target = first_attribute(("target",), self.stage, self.simulation)
        return target if isinstance(target, int) and not isinstance(target, bool) else None

    def _no_weights(self) -> bool:
        """Whether the network has layers with weights but was given none (shapes alone)."""
        net = self.network
        return not net.params and any(net.param_count(layer.name) for layer in net.layers)

    def _show_top5(self) -> None:
        """The class scores once the last layer is computed (a vector of scores)."""
        net = self.network
        last = net.layers[-1]
        box = self.query_one("#net-top5-box")
        scores = net.cached(last.name) if net.computed(INPUT) else None
        show = scores is not None and len(net.shape(last.name)) == 1
        box.display = show
        if scores is None or not show or scores is self._top5_of:
            return  # nothing to show, or shown already: no repaint
        self._top5_of = scores
        z = np.asarray(scores, dtype=np.float64)
        if last.op == "softmax":
            probs = z
            note = (
                "the last layer is a softmax"
                if last.name == last.op
                else f"{last.name} is a softmax"
            )
        else:
            probs, note = softmax(z), f"softmax of {last.name}'s scores"
        labels = self.labels()
        if labels is None:
            note += "\nno class names given"
        target = self.target()
        if target is not None:
            name = labels[target] if labels is not None and target < len(labels) else target
            note += f"\n✓ true class: {name}"
        self.query_one("#net-top5", TopK).set_scores(probs, labels, note=note, target=target)

    # -- keys ------------------------------------------------------------------------------------

    def action_layer(self, direction: int) -> None:
        """Move the table's cursor to the next or previous layer."""
        table = self.table
        row = max(0, min(table.cursor_row + direction, len(self.network.layers) - 1))
        table.move_cursor(row=row)

    def action_channel(self, direction: int) -> None:
        """Light the next or previous map of the gallery; nothing while it waits for the maps
        of the layer chosen (emptied, or hidden by a note). The choice stays as it was at
        either end and on a layer with a single map."""
        gallery = self.gallery
        if not gallery.display or not gallery.count or self.network.cached(self.selected) is None:
            return
        before = gallery.current
        gallery.current += direction
        if gallery.current != before:
            self._lit = gallery.current
        self._show_map_subtitle()

    def action_scale(self) -> None:
        """One colour scale for every map, or each map its own."""
        gallery = self.gallery
        gallery.shared_scale = not gallery.shared_scale
        self.notify(
            "one colour scale for all maps: compare their strengths"
            if gallery.shared_scale
            else "each map on its own colour scale: see every map's pattern"
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer each view only where it means something: the residual block inside a block,
        the collapse on a small chain of linear layers, the depth runs on a plain stack."""
        from tui.screens.gradients import plain_stack

        if action == "residual":
            return self._in_block(self.selected)
        if action == "collapse":
            return collapsible(self.network)
        if action == "experiment":
            return plain_stack(self.network) is not None
        if action == "gradients":
            return self.network.computed(INPUT)
        return True

    def action_gradients(self) -> None:
        """The gradient norm of every layer, backpropagated from the loss (a new screen)."""
        from tui.screens.gradients import GradientScreen

        seed = getattr(self.stage, "seed", None)
        budget = getattr(self.stage, "budget", None)
        self.app.push_screen(
            GradientScreen(
                self.network,
                self.target(),
                labels=self.labels(),
                seed=seed if isinstance(seed, int) else 0,
                budget=budget,
            )
        )

    def action_residual(self) -> None:
        """The residual block around the selected layer: main path, skip path, addition."""
        from tui.screens.residual import ResidualScreen, block_of

        add = block_of(self.network, self.selected)
        if add is not None:
            self.app.push_screen(ResidualScreen(self.network, add))

    def action_collapse(self) -> None:
        """The chain of linear layers as one affine layer, on this input."""
        from tui.screens.collapse import CollapseScreen

        try:
            screen = CollapseScreen.from_network(self.network, self.labels())
        except Exception as e:  # a network without a chain of linear layers
            self.notify(f"no collapse here: {e}", severity="warning")
            return
        self.app.push_screen(screen)

    def action_experiment(self) -> None:
        """Plain and residual stacks of growing depth trained on the digits (a new screen)."""
        from tui.screens.depth import DepthScreen

        self.app.push_screen(DepthScreen())

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.simulation, keys=NETWORK_KEYS, legend=NETWORK_LEGEND))

    def action_back(self) -> None:
        self._stop_workers()
        self.post_message(self.BackToList())

    def on_unmount(self) -> None:
        self._stop_workers()

    # -- a layer in the player -------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_layer(event.row_key.value)

    def open_layer(self, name: str, *, from_player: bool = False) -> None:
        """Step through layer ``name`` in the player, fed its real input: over the table, or in
        place of the player it was asked from (``]`` / ``[`` there)."""
        net = self.network
        if not net.computed(INPUT):
            self.notify("this network has no input: nothing to step through", severity="warning")
            return
        self._opening = name
        self._status = ""
        self._asked_from_player = from_player
        if from_player:
            self.set_timer(ANNOUNCE_AFTER, lambda: self._announce(name))
        self._open(name)

    @work(thread=True, exclusive=True, group="open")
    def _open(self, name: str) -> None:
        """Compute what the layer reads, then build it as a stepping stage (float64)."""
        worker = get_current_worker()
        net = self.network
        try:
            if not self._run(name, needed_layers(net, *net.input_names(name))):
                return
            size = net.activation_size(name)
            self._from_thread(
                self._opening_status, f"building {name} as a stepping stage ({size:,} outputs) …"
            )
            stage = net.stage(name)
            heap.collect()  # a layer closed before: collected while the user waits
        except Exception as e:  # a layer kind this build cannot step, an overflow, a limit
            self._from_thread(self._open_failed, name, " ".join(str(e).split()) or type(e).__name__)
            return
        if not worker.is_cancelled:
            self._from_thread(self._push_player, name, stage)

    def _open_failed(self, name: str, error: str) -> None:
        self._opening = ""
        self._show_map_subtitle()
        self.notify(f"cannot step through {name}: {error}", severity="error", timeout=8)

    def _push_player(self, name: str, stage: Stage) -> None:
        """Show ``stage`` in the player: in place of the player already open (``]`` / ``[``
        there), or over this screen."""
        from engine.core import Simulation
        from tui.panels import PANELS
        from tui.screens.player import PlayerScreen

        if self._opening != name or not self.is_attached:
            return
        if self._asked_from_player and (
            self._player is None or self.app.screen is not self._player
        ):
            # The player it was asked from is gone, or covered by a dialog: not brought back.
            self._opening = ""
            self._show_map_subtitle()
            return
        self._opening = ""
        self._show_map_subtitle()
        if stage.kind not in PANELS:
            self.notify(f"cannot step through {name}: no panel draws {stage.kind!r} stages")
            return
        net = self.network
        k = net.index(name)
        title = self.simulation.title or net.title or "network"
        simulation = Simulation(
            [stage],
            title=f"{title} · layer {k + 1} of {len(net.layers)}: {name} ({net.layers[k].op})",
            description=self.simulation.description,
            topic=self.simulation.topic,
            source=self.simulation.source,
        )
        player = PlayerScreen(simulation, check=self._check, layers=self)
        if self._player is not None and self.app.screen is self._player:
            self.app.switch_screen(player)
            heap.release(self._player)
        else:
            self.app.push_screen(player)
        self._player = player

    def on_player_screen_layer_wanted(self, message: PlayerScreen.LayerWanted) -> None:
        """``]`` / ``[`` past the player's only stage: the next or previous layer."""
        current = self.table.cursor_row
        target = current + message.direction
        layers = self.network.layers
        if not 0 <= target < len(layers):
            end = "last" if message.direction > 0 else "first"
            self.notify(f"{layers[current].name} is the {end} layer")
            return
        self.table.move_cursor(row=target, animate=False)
        self.open_layer(layers[target].name, from_player=True)
