"""CollapseScreen: linear layers without activations between them equal one affine layer —
W = W2·W1 and b = W2·b1 + b2 shown by their corners, and both computations side by side on the
current input with the largest difference between them.

Opened from the network screen with ``c`` on a network with two or more linear layers in a
chain (the MLP; LeNet-5's classifier): ``CollapseScreen.from_network(network, labels)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from engine.collapse import CollapseCheck, Linear, compare
from engine.errors import SpecError
from engine.network import INPUT, Network
from tui.numbers import fmt_exact
from tui.styles import MUTED
from tui.widgets.badge import TOLERANCE, tolerance_text
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.peek import MatrixPeek

PASS_THROUGH = ("relu", "sigmoid", "tanh", "leaky_relu", "dropout", "flatten")
"""Ops the collapse drops between two linear layers (the activations it is about) or that move
no number (dropout at inference, flatten of a vector)."""


def linear_stack(network: Network) -> tuple[list[Linear], np.ndarray, list[str]]:
    """The network's chain of linear layers from the first one on — each reading the one
    before through activations, dropout or flatten only — as (W, b) pairs, the real input of
    the first (computed by the network), and their names. Raises ``SpecError`` when there
    are fewer than two. The product costs out₂·out₁·in₁ multiply-adds: VGG-16's classifier
    would need 4·10¹¹, an MLP a few thousand."""
    chain: list[str] = []
    for layer in network.layers:
        if layer.op != "linear":
            continue
        if chain:
            (src,) = network.input_names(layer.name)
            while src != INPUT and network.layers[network.index(src)].op in PASS_THROUGH:
                (src,) = network.input_names(src)
            if src != chain[-1]:
                break
        chain.append(layer.name)
    if len(chain) < 2:
        raise SpecError("layers", "the collapse needs two or more linear layers in a chain")
    layers = [(network.params[f"{n}.weight"], network.params.get(f"{n}.bias")) for n in chain]
    x = np.asarray(network.inputs_of(chain[0])[0], dtype=np.float64).reshape(-1)
    return layers, x, chain


def product_names(n: int) -> tuple[str, str]:
    """("W3·W2·W1", "W3·(W2·b1 + b2) + b3") for n = 3."""
    weight = "·".join(f"W{k}" for k in range(n, 0, -1))
    bias = "b1"
    for k in range(2, n + 1):
        bias = f"W{k}·{bias} + b{k}" if k == 2 else f"W{k}·({bias}) + b{k}"
    return weight, bias


class CollapseScreen(Screen[None]):
    """The stack and its one equivalent affine layer, on the current input."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="close"),
        Binding("right_square_bracket,right", "pick(1)", "Next input", key_display="]", id="next"),
        Binding(
            "left_square_bracket,left", "pick(-1)", "Previous input", key_display="[", id="prev"
        ),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        layers: Sequence[tuple[Any, Any]],
        x: np.ndarray,
        labels: Sequence[str] | None = None,
        *,
        names: Sequence[str] | None = None,
        input_names: Sequence[str] | None = None,
        actual: np.ndarray | None = None,
        activations: Sequence[str] = (),
    ) -> None:
        """``layers``: (W (out, in), b (out,) or None) in order. ``x``: one input (in,) or
        several (K, in), picked with ] and [. ``labels``: names of the output units (class
        names). ``names``: the layers' names; ``input_names``: a name per input."""
        super().__init__()
        self.stack: list[Linear] = [(np.asarray(w), b) for w, b in layers]
        xs = np.asarray(x, dtype=np.float64)
        self.inputs = xs[None] if xs.ndim == 1 else xs
        self.labels = list(labels) if labels is not None else None
        self.names = list(names) if names is not None else None
        self.input_names = list(input_names) if input_names is not None else None
        self.actual = None if actual is None else np.asarray(actual, dtype=np.float64).ravel()
        self.activations = list(activations)
        self.current = 0
        self.check: CollapseCheck | None = None
        self.error = ""

    @classmethod
    def from_network(cls, network: Network, labels: Sequence[str] | None = None) -> CollapseScreen:
        """The network's chain of linear layers (``linear_stack``) without the activations
        between them, on the real input of the first. Computes the network up to that layer:
        call it where a short wait is acceptable (an MLP or LeNet-5 takes milliseconds)."""
        stack, x, names = linear_stack(network)
        first, last = network.index(names[0]), network.index(names[-1])
        between = [
            layer.name
            for layer in network.layers[first:last]
            if layer.op in ("relu", "sigmoid", "tanh", "leaky_relu")
        ]
        actual = network.output(names[-1]) if between else None
        return cls(
            stack,
            x,
            labels,
            names=names,
            input_names=[f"{names[0]}'s input"],
            actual=actual,
            activations=between,
        )

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(self.equation(), id="collapse-eq")
        with Horizontal(id="collapse-main"):
            with Vertical(classes="box", id="collapse-w-box") as box:
                box.border_title = "W = " + product_names(len(self.stack))[0]
                yield MatrixPeek(np.zeros((1, 1)), max_rows=10, id="collapse-w")
            with Vertical(classes="box", id="collapse-b-box") as box:
                box.border_title = "b"
                yield MatrixPeek(np.zeros(1), max_rows=10, id="collapse-b")
            with Vertical(classes="box", id="collapse-out-box") as box:
                box.border_title = "on the input"
                yield Static(id="collapse-out")
        yield Static(id="collapse-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Linear layers collapse"
        self.sub_title = " → ".join(self.names) if self.names else ""
        self.compute()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return len(self.inputs) > 1
        return True

    # -- computing -------------------------------------------------------------------------------

    def compute(self) -> None:
        self.query_one("#collapse-out", Static).update(Text("computing …", style=MUTED))
        self._worker(self.current)

    @work(thread=True, exclusive=True, group="collapse")
    def _worker(self, index: int) -> None:
        worker = get_current_worker()
        try:
            check = compare(self.stack, self.inputs[index])
        except SpecError as e:
            self._post(self._failed, f"{e.field}: {e.message}")
            return
        if not worker.is_cancelled:
            self._post(self._show, index, check)

    def _post(self, callback: Any, *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(callback, *args)

    def _failed(self, line: str) -> None:
        if self.is_attached:
            self.error = line
            self.query_one("#collapse-out", Static).update(Text(line, style="bold red"))

    def _show(self, index: int, check: CollapseCheck) -> None:
        if not self.is_attached or index != self.current:
            return
        self.check, self.error = check, ""
        w_shape = "×".join(map(str, check.weight.shape))
        self.query_one("#collapse-w", MatrixPeek).set_matrix(check.weight)
        self.query_one("#collapse-w-box").border_subtitle = w_shape
        self.query_one("#collapse-b", MatrixPeek).set_matrix(check.bias)
        self.query_one("#collapse-b-box").border_subtitle = str(check.bias.shape[0])
        box = self.query_one("#collapse-out-box")
        box.border_title = Content(self.input_title())  # the file's names, not markup
        self.query_one("#collapse-out", Static).update(self.outputs(check))
        self.query_one("#collapse-note", Static).update(self.note(check))

    # -- text ------------------------------------------------------------------------------------

    def input_title(self) -> str:
        k = self.current
        name = self.input_names[k] if self.input_names and k < len(self.input_names) else ""
        if len(self.inputs) == 1:
            return f"on the input{' ' + name if name else ''}"
        return f"input {k + 1} of {len(self.inputs)}{': ' + name if name else ''}"

    def equation(self) -> Text:
        """The stack with every shape, and what it collapses to."""
        t = Text()
        n = len(self.stack)
        sizes = [self.stack[0][0].shape[1]] + [w.shape[0] for w, _ in self.stack]
        t.append(f"{sizes[0]}", style="bold")
        for k, (w, b) in enumerate(self.stack, start=1):
            name = self.names[k - 1] if self.names else f"layer {k}"
            bias = f", b{k} {w.shape[0]}" if b is not None else ""
            t.append(f" → {name} (W{k} {w.shape[0]}×{w.shape[1]}{bias}) → ", style="grey70")
            t.append(f"{sizes[k]}", style="bold")
        t.append(", no activation between:\n", style="grey70")
        weight, bias = product_names(n)
        t.append(f"W = {weight}", style="bold cyan")
        t.append(f" ({sizes[-1]}×{sizes[0]})   ", style="grey70")
        t.append(f"b = {bias}", style="bold cyan")
        t.append(f" ({sizes[-1]}): one affine layer x ↦ W·x + b", style="grey70")
        return t

    def label(self, i: int) -> str:
        if self.labels is not None and i < len(self.labels):
            return self.labels[i]
        return str(i)

    def outputs(self, check: CollapseCheck) -> Text:
        """Output by output: the stack, the one layer, |Δ|."""
        t = Text(no_wrap=True)
        t.append(f"{'':>4} {'stack':>8} {'W·x + b':>8} {'|Δ|':>7}", style="bold")
        n = len(check.stacked)
        rows: list[int | None] = list(range(n)) if n <= 12 else [*range(10), None, n - 1]
        top_s, top_c = int(np.argmax(check.stacked)), int(np.argmax(check.collapsed))
        for i in rows:
            t.append("\n")
            if i is None:
                t.append(f"{'⋮':>4}", style="grey50")
                continue
            s, c = float(check.stacked[i]), float(check.collapsed[i])
            style = "bold yellow" if i == top_s else ""
            d = abs(s - c)
            t.append(f"{self.label(i)[:4]:>4} ", style="grey70")
            t.append(f"{fmt_exact(s, 5):>8} {fmt_exact(c, 5):>8}", style=style)
            t.append(f" {self.rounding(d, check, '.1e'):>7}", style="grey62")
        t.append("\nmax |Δ| ", style="grey70")
        t.append(self.rounding(check.max_abs_diff, check, ".2e", "= "), style="bold green")
        same = "same" if top_s == top_c else "different"
        t.append(f"\nargmax {self.label(top_s)} / {self.label(top_c)}: {same}", style="grey70")
        actual = self.actual_here()
        if actual is not None:
            top_a = int(np.argmax(actual))
            t.append(f"\nwith {', '.join(self.activations)}: ", style="grey70")
            t.append(
                f"max |Δ| = {float(np.max(np.abs(actual - check.collapsed))):.3g}", style="bold red"
            )
            t.append(f", argmax {self.label(top_a)}", style="grey70")
        return t

    def rounding(self, d: float, check: CollapseCheck, spec: str, equals: str = "") -> str:
        """A difference that is float64 rounding: its measured figure, or in a reproducible app
        (snapshots; see ``NetsimApp.reproducible``) the tolerance it is within, since its last
        digits depend on the CPU and the BLAS kernels that summed the products."""
        if not getattr(self.app, "reproducible", False):
            return "0" if d == 0 and not equals else f"{equals}{d:{spec}}"
        scale = max(1.0, float(np.max(np.abs(check.stacked)))) if check.stacked.size else 1.0
        bound = "within" if d <= TOLERANCE * scale else "above"
        text = tolerance_text(TOLERANCE)
        return f"{bound} {text}" if equals else f"≤{text}" if bound == "within" else f">{text}"

    def actual_here(self) -> np.ndarray | None:
        """The network's own output (activations kept) on the input on screen, if known."""
        if self.actual is None or self.current != 0:
            return None
        return self.actual

    def note(self, check: CollapseCheck) -> Text:
        t = Text(style=MUTED)
        t.append(
            f"Without activations the {len(self.stack)} layers compute exactly what one layer "
            f"computes: the outputs differ by rounding only (max |Δ| "
        )
        t.append(self.rounding(check.max_abs_diff, check, ".1e"), style="bold green")
        t.append("). Depth adds nothing without a non-linearity between the layers.")
        actual = self.actual_here()
        if actual is not None:
            gap = float(np.max(np.abs(actual - check.collapsed)))
            t.append(
                f" This network has {', '.join(self.activations)} between them, left out here: "
                f"with it the output differs from W·x + b by up to {gap:.3g}, which no single "
                "affine layer can give."
            )
        return t

    # -- keys ------------------------------------------------------------------------------------

    def action_pick(self, direction: int) -> None:
        self.current = (self.current + direction) % len(self.inputs)
        self.compute()

    def action_close(self) -> None:
        self.dismiss(None)
