"""ResidualScreen: one residual block of a network — the main path, the skip path (identity, or
the 1×1 projection when shapes change), their addition and the activation after it — with the
shape on every arrow and the size of every path's output, from the network's real outputs.

Opened from the network screen with ``r`` on a layer inside a residual block:
``ResidualScreen(network, block_of(network, layer) or layer)``; ``]`` / ``[`` walk the blocks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from engine.errors import SpecError
from engine.network import ACTIVATION_OPS, INPUT, Network, shape_text
from tui.widgets.keyfooter import KeyFooter


@dataclass(frozen=True)
class ResidualBlock:
    """The layers of one residual block, found from the graph alone."""

    add: str
    """The add layer joining the two paths."""
    source: str
    """The layer both paths read (the block's input), or "input"."""
    main: tuple[str, ...]
    """The longer path, source excluded, in order: conv → bn → relu → conv → bn."""
    skip: tuple[str, ...]
    """The shorter path: () for the identity, the projection's layers otherwise."""
    after: tuple[str, ...]
    """Activations that read the sum (the block's last relu)."""


def ancestors(network: Network, name: str) -> set[str]:
    """``name`` and every layer it depends on, "input" included."""
    seen = {name}
    todo = [name]
    while todo:
        n = todo.pop()
        if n == INPUT:
            continue
        for m in network.input_names(n):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def _position(network: Network, name: str) -> int:
    return -1 if name == INPUT else network.index(name)


def residual_block(network: Network, add: str) -> ResidualBlock:
    """Walk back from the two inputs of ``add`` to their nearest common ancestor: the layers
    between it and each input are the two paths. ``SpecError`` when ``add`` is not an add."""
    layer = network.layers[network.index(add)]
    if layer.op != "add":
        raise SpecError("layer", f"{add} is a {layer.op} layer, not an add joining two paths")
    a, b = network.input_names(add)
    anc_a, anc_b = ancestors(network, a), ancestors(network, b)
    source = max(anc_a & anc_b, key=lambda n: _position(network, n))
    start = _position(network, source)

    def path(anc: set[str]) -> tuple[str, ...]:
        names = [n for n in anc if n != INPUT and _position(network, n) > start]
        return tuple(sorted(names, key=lambda n: network.index(n)))

    pa, pb = path(anc_a), path(anc_b)
    main, skip = (pa, pb) if len(pa) >= len(pb) else (pb, pa)
    after = tuple(
        lay.name
        for lay in network.layers
        if lay.op in ACTIVATION_OPS and network.input_names(lay.name) == (add,)
    )
    return ResidualBlock(add=add, source=source, main=main, skip=skip, after=after)


def residual_adds(network: Network) -> list[str]:
    """Every add layer, in order: the blocks ``]`` and ``[`` walk."""
    return [lay.name for lay in network.layers if lay.op == "add"]


def block_of(network: Network, name: str) -> str | None:
    """The add layer of the residual block that holds layer ``name`` (on either path, the add
    itself or the activation after it), or None."""
    for add in residual_adds(network):
        block = residual_block(network, add)
        if name == add or name in block.main or name in block.skip or name in block.after:
            return add
    return None


def op_text(network: Network, name: str) -> str:
    """conv 3×3 s2 p1, 128 · batch norm · relu: a layer's op and its hyper-parameters."""
    layer = network.layers[network.index(name)]
    h = network.hyper(name)
    if layer.op == "conv2d":
        k = h["kernel_size"]
        text = f"conv {k[0]}×{k[1]}"
        if tuple(h.get("stride", (1, 1))) != (1, 1):
            text += f" s{h['stride'][0]}"
        if tuple(h.get("padding", (0, 0))) != (0, 0):
            text += f" p{h['padding'][0]}"
        return text + f", {h['out_channels']}"
    return {"batchnorm2d": "batch norm", "linear": "linear"}.get(layer.op, layer.op)


def short_name(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


@dataclass(frozen=True)
class Sizes:
    """‖y‖₂ and mean |y| of a layer's output."""

    norm: float
    mean_abs: float


def sizes_of(a: np.ndarray) -> Sizes:
    a = np.asarray(a, dtype=np.float64)
    return Sizes(float(np.sqrt(np.sum(a * a))), float(np.mean(np.abs(a))))


class ResidualScreen(Screen[None]):
    """A residual block drawn as its two paths and their sum."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="close"),
        Binding("right_square_bracket", "block(1)", "Next block", key_display="]", id="next"),
        Binding("left_square_bracket", "block(-1)", "Previous block", key_display="[", id="prev"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self, network: Network, add_layer: str) -> None:
        """``add_layer``: the block's add layer (or any layer of the block)."""
        super().__init__()
        self.network = network
        self.add_layer = block_of(network, add_layer) or add_layer
        self.block: ResidualBlock | None = None
        self.sizes: dict[str, Sizes] = {}
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(id="res-source")
        with Horizontal(id="res-paths"):
            with Vertical(classes="box", id="res-main-box") as box:
                box.border_title = "main path"
                yield Static(id="res-main")
            with Vertical(classes="box", id="res-skip-box") as box:
                box.border_title = "skip path"
                yield Static(id="res-skip")
        with Vertical(classes="box", id="res-sum-box") as box:
            box.border_title = "the addition"
            yield Static(id="res-sum")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Residual block"
        self.show_block()

    # -- the block -------------------------------------------------------------------------------

    def show_block(self) -> None:
        """Draw the current block from shapes at once; the sizes follow from a worker."""
        try:
            self.block = residual_block(self.network, self.add_layer)
        except (SpecError, KeyError) as e:
            self.block = None
            message = e.message if isinstance(e, SpecError) else f"no layer {e}"
            self.error = f"{self.add_layer}: {message}"
            self.query_one("#res-source", Static).update(Text(self.error, style="bold red"))
            return
        self.error = ""
        self.sizes = {}
        block = self.prefix().rstrip(".") or self.block.add
        self.sub_title = f"{self.network.title} · {block}".strip(" ·")
        self.redraw(computing=True)
        self._worker(self.block)

    def prefix(self) -> str:
        """ "layer2.0." for the block whose add is "layer2.0.add"."""
        assert self.block is not None
        add = self.block.add
        return add[: add.rfind(".") + 1] if "." in add else ""

    @work(thread=True, exclusive=True, group="residual")
    def _worker(self, block: ResidualBlock) -> None:
        worker = get_current_worker()
        sizes = {}
        try:
            for name in (block.source, *block.main, *block.skip, block.add, *block.after):
                if worker.is_cancelled:
                    return
                sizes[name] = sizes_of(self.network.output(name))
        except SpecError as e:
            self._post(self._failed, f"{e.field}: {e.message}")
            return
        self._post(self._show, block, sizes)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(callback, *args)

    def _failed(self, line: str) -> None:
        if self.is_attached:
            self.error = line
            self.query_one("#res-sum", Static).update(Text(line, style="bold red"))

    def _show(self, block: ResidualBlock, sizes: dict[str, Sizes]) -> None:
        if self.is_attached and block == self.block:
            self.sizes = sizes
            self.redraw(computing=False)

    # -- text ------------------------------------------------------------------------------------

    def _arrow(self, t: Text, name: str) -> None:
        """↓ shape  ‖y‖  mean|y| of ``name``'s output."""
        t.append("  ↓ ", style="grey50")
        t.append(f"{shape_text(self.network.shape(name)):<11}", style="cyan")
        s = self.sizes.get(name)
        if s is not None:
            t.append(f"{s.norm:>9.4g} {s.mean_abs:>9.3g}")
        t.append("\n")

    def path_text(self, path: tuple[str, ...], prefix: str) -> Text:
        t = Text(no_wrap=True)
        t.append(f"{'':15}{'‖y‖':>9} {'mean |y|':>9}\n", style="grey62")
        if not path:
            t.append("identity: the block's input\nitself, unchanged\n", style="bold")
            assert self.block is not None
            self._arrow(t, self.block.source)
            t.rstrip()
            return t
        for name in path:
            t.append(f"{short_name(name, prefix)}", style="bold")
            t.append(f"  {op_text(self.network, name)}\n", style="grey70")
            self._arrow(t, name)
        t.rstrip()
        return t

    def redraw(self, *, computing: bool) -> None:
        assert self.block is not None
        b, prefix = self.block, self.prefix()
        source = Text(no_wrap=True)
        source.append("block input ", style="grey70")
        source.append(b.source, style="bold")
        source.append(f"  {shape_text(self.network.shape(b.source))}", style="cyan")
        s = self.sizes.get(b.source)
        if s is not None:
            source.append(f"  ‖x‖ {s.norm:.4g}, mean |x| {s.mean_abs:.3g}", style="grey70")
        source.append("  → both paths", style="grey62")
        self.query_one("#res-source", Static).update(source)
        self.query_one("#res-main", Static).update(self.path_text(b.main, prefix))
        self.query_one("#res-skip", Static).update(self.path_text(b.skip, prefix))
        projection = "identity"
        for name in b.skip:
            if self.network.layers[self.network.index(name)].op == "conv2d":
                k = self.network.hyper(name)["kernel_size"]
                projection = f"{k[0]}×{k[1]} projection"
                break
        else:
            if b.skip:
                projection = "projection"
        self.query_one("#res-skip-box").border_title = f"skip path · {projection}"
        self.query_one("#res-main-box").border_title = f"main path · {len(b.main)} layers"
        self.query_one("#res-sum", Static).update(self.sum_text(computing))

    def sum_text(self, computing: bool) -> Text:
        assert self.block is not None
        b, prefix = self.block, self.prefix()
        main_end = b.main[-1] if b.main else b.source
        skip_end = b.skip[-1] if b.skip else b.source
        t = Text(no_wrap=True)
        t.append(short_name(b.add, prefix), style="bold")
        t.append(
            f" = {short_name(main_end, prefix)} + {short_name(skip_end, prefix)}\n",
            style="grey70",
        )
        self._arrow(t, b.add)
        for name in b.after:
            t.append(short_name(name, prefix), style="bold")
            t.append(f"  {op_text(self.network, name)} after the sum\n", style="grey70")
            self._arrow(t, name)
        if computing:
            t.append("computing the block's outputs …", style="grey62")
            return t
        m, k, s = self.sizes[main_end], self.sizes[skip_end], self.sizes[b.add]
        t.append("at the add: ‖main‖ ", style="grey70")
        t.append(f"{m.norm:.4g}", style="bold")
        t.append(", ‖skip‖ ", style="grey70")
        t.append(f"{k.norm:.4g}", style="bold")
        t.append(", ‖sum‖ ", style="grey70")
        t.append(f"{s.norm:.4g}", style="bold")
        if k.norm > 0:
            t.append(f"; the main path adds {m.norm / k.norm:.2f}× the skip's size", style="grey70")
        return t

    # -- keys ------------------------------------------------------------------------------------

    def action_block(self, direction: int) -> None:
        adds = residual_adds(self.network)
        if not adds:
            return
        k = adds.index(self.add_layer) if self.add_layer in adds else -1
        self.add_layer = adds[(k + direction) % len(adds)]
        self.show_block()

    def action_close(self) -> None:
        self.dismiss(None)
