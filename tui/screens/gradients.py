"""GradientScreen: the gradient norm at every layer of a network as bars on a log scale, with
an alarm where it vanishes or explodes; for a deep plain stack, keys change its depth and
weight scale and the predicted factor s′·w stands beside the measured one.

Opened from the network screen with ``g`` (``GradientScreen(network, None)``: the loss is
taken against the class the network predicts). The backward pass runs in a thread worker —
VGG-16's takes seconds — while a bar counts the forward layers it needs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header, ProgressBar, Static
from textual.worker import get_current_worker

from engine.architectures import architecture
from engine.errors import SpecError
from engine.gradients import (
    EXPLODING,
    VANISHING,
    GradientFlow,
    LayerFactor,
    alarm,
    gradient_flow,
    gradient_peak_bytes,
    plain_factors,
)
from engine.limits import Budget
from engine.network import ACTIVATION_OPS, Layer, Network
from tui.numbers import fmt_special
from tui.styles import MUTED
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.logbars import ALARM_STYLES, BarRow, LogBars

DEPTHS = (1, 2, 3, 5, 10, 15, 20, 30, 50, 75, 100)
"""The depths ``d`` / ``D`` step through."""

SCALES = tuple(2.0**k for k in range(-4, 10))
"""The weight scales ``w`` / ``W`` step through: halving and doubling, 1/16 … 512."""

OP_SHORT = {
    "conv2d": "conv",
    "batchnorm2d": "bn",
    "maxpool2d": "maxpool",
    "avgpool2d": "avgpool",
    "adaptive_avgpool2d": "avgpool",
    "linear": "linear",
    "flatten": "flatten",
    "leaky_relu": "lrelu",
}
"""Short op names beside the layer names."""


def step_ladder(ladder: Sequence[float], value: float, direction: int) -> float:
    """The next value of ``ladder`` above (direction +1) or below (−1) ``value``; ``value`` at
    the end of the ladder stays."""
    if direction > 0:
        bigger = [v for v in ladder if v > value * (1 + 1e-9)]
        return bigger[0] if bigger else value
    smaller = [v for v in ladder if v < value * (1 - 1e-9)]
    return smaller[-1] if smaller else value


@dataclass(frozen=True)
class PlainStack:
    """The options ``architecture("plain", …)`` rebuilds a plain stack from."""

    depth: int
    width: int
    activation: str
    weight_scale: float
    num_classes: int

    def layers(self) -> list[Layer]:
        layers, _ = architecture(
            "plain",
            depth=self.depth,
            width=self.width,
            activation=self.activation,
            weight_scale=self.weight_scale,
            num_classes=self.num_classes,
        )
        return layers

    def describe(self) -> str:
        return (
            f"plain stack: {self.depth} × (linear {self.width} + {self.activation}), "
            f"w = {fmt_scale(self.weight_scale)}"
        )


def fmt_scale(w: float) -> str:
    """1, 2, 0.5, 1/16 — the ladder's values as a person writes them."""
    if w >= 1 or w == 0.5 or w == 0.25:
        return f"{w:g}"
    return f"1/{round(1 / w)}"


def plain_stack(network: Network) -> PlainStack | None:
    """The options of ``network`` when it is a plain stack — flatten, then depth × (linear of
    one width, one activation), then a linear layer to the classes, each reading the layer
    before — such that ``architecture("plain", …)`` builds the same layers; else None."""
    layers = network.layers
    linears = [lay for lay in layers if lay.op == "linear"]
    acts = [lay for lay in layers if lay.op in ACTIVATION_OPS]
    if len(linears) < 2 or not acts or any(lay.inputs for lay in layers):
        return None
    width = network.shape(linears[0].name)[0]
    weight_scale = linears[0].args.get("init_gain", 1.0)
    try:
        options = PlainStack(
            depth=len(linears) - 1,
            width=int(width),
            activation=acts[0].op,
            weight_scale=float(weight_scale),
            num_classes=int(network.shape(layers[-1].name)[0]),
        )
        rebuilt = options.layers()
    except (SpecError, TypeError, ValueError):
        return None
    same = [(lay.name, lay.op) for lay in layers] == [(lay.name, lay.op) for lay in rebuilt]
    return options if same else None


def fmt_norm(v: float | None) -> str:
    """A norm in 9 cells: 3.63e-07, inf, nan, 0, or blank for none."""
    if v is None:
        return ""
    special = fmt_special(v)
    if special is not None:
        return special
    if v == 0:
        return "0"
    return f"{v:.2e}"


@dataclass(frozen=True)
class Result:
    """What the worker hands the screen: the flow, and the plain stack's factors."""

    network: Network
    flow: GradientFlow
    factors: list[LayerFactor]


def bar_rows(flow: GradientFlow, factors: Sequence[LayerFactor], plain: bool) -> list[BarRow]:
    """One bar per layer (‖∂L/∂y‖), then the input; tails: the norm, its alarm, ‖∂L/∂W‖, and
    for a plain stack s′·w predicted and measured on each linear layer's row."""
    by_linear = {f.linear: f for f in factors}
    rows = []
    for lg in flow.layers:
        tail = Text(no_wrap=True)
        tail.append(fmt_norm(lg.output_norm).rjust(9))
        w_alarm = lg.weight_alarm or "ok"
        # the word names what is out of range: the output's gradient, else the weights'
        worst = lg.alarm if lg.alarm != "ok" else w_alarm
        word = "" if worst == "ok" else worst
        tail.append(" " + word.ljust(9), style=ALARM_STYLES[worst] if word else "")
        tail.append(
            " " + fmt_norm(lg.weight_norm).rjust(9),
            style=ALARM_STYLES[w_alarm] if w_alarm != "ok" else "",
        )
        if plain:
            f = by_linear.get(lg.name)
            if f is None:
                tail.append(" " * 12)
            else:
                tail.append(f" {f.predicted:5.3f}", style="green")
                # nan where the gradient under- or overflowed: no ratio to show
                measured = f"{f.measured:5.3f}" if math.isfinite(f.measured) else "—".rjust(5)
                tail.append(f" {measured}", style="yellow")
        op = OP_SHORT.get(lg.op, lg.op)
        label = f"{lg.name} {op}" if op != lg.name else lg.name
        rows.append(BarRow(label, lg.output_norm, tail, lg.alarm))
    tail = Text(no_wrap=True)
    tail.append(fmt_norm(flow.input_norm).rjust(9))
    a = alarm(flow.input_norm)
    tail.append(" " + ("" if a == "ok" else a), style=ALARM_STYLES[a])
    rows.append(BarRow("input (∂L/∂x)", flow.input_norm, tail, a))
    return rows


def tail_header(plain: bool) -> Text:
    t = Text(no_wrap=True, style="bold")
    t.append("‖∂L/∂y‖".rjust(9) + " " + "alarm".ljust(9) + " " + "‖∂L/∂W‖".rjust(9))
    if plain:
        t.append("  s′·w", style="bold green")
        t.append("  meas", style="bold yellow")
    return t


class GradientScreen(Screen[None]):
    """Gradient norms per layer from the cross-entropy back to the input, on a log axis."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="close"),
        Binding("D", "depth(1)", "Depth", key_display="D/d", id="deeper"),
        Binding("d", "depth(-1)", "Shallower", show=False, id="shallower"),
        Binding("W", "scale(1)", "Weights ×2/÷2", key_display="W/w", id="scale-up"),
        Binding("w", "scale(-1)", "Weights ÷2", show=False, id="scale-down"),
        Binding("e", "experiment", "Depth runs", id="experiment"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        network: Network,
        target: int | None,
        *,
        labels: Sequence[str] | None = None,
        seed: int = 0,
        budget: Budget | None = None,
    ) -> None:
        """``target``: the class the loss is taken against, None for the predicted class.
        ``labels``: class names. ``seed``: the seed ``d``/``D``/``w``/``W`` draw a rebuilt
        plain stack's weights with (the caller's network is never changed: keys build a new
        one, fed the same input). ``budget``: the simulation's memory budget, charged the
        backward pass's estimate (``gradient_peak_bytes``) once before the first pass; without
        one the pass alone may take what a whole simulation may."""
        super().__init__()
        self.network = network
        self.target = target
        self.labels = list(labels) if labels is not None else None
        self.seed = seed
        self.plain = plain_stack(network)
        self.budget = budget
        self._charged = False
        self.result: Result | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(id="grad-summary")
        yield ProgressBar(id="grad-progress", show_eta=False)
        yield LogBars(
            thresholds=(VANISHING, EXPLODING),
            label_header="layer",
            tail_header=tail_header(self.plain is not None),
            id="grad-bars",
        )
        yield Static(id="grad-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Gradient flow"
        self.sub_title = self.network.title
        self.query_one("#grad-note", Static).update(self._note())
        self.compute()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("depth", "scale"):
            return self.plain is not None
        return True

    # -- computing -------------------------------------------------------------------------------

    def compute(self) -> None:
        """Start the backward pass of the current network (or of the plain stack the keys
        chose) in a worker; the bars show the result when it arrives."""
        bar = self.query_one("#grad-progress", ProgressBar)
        bar.display = True
        n = len(self.plain.layers()) if self.plain is not None else len(self.network.layers)
        bar.update(total=n + 1, progress=0)
        self.query_one("#grad-bars", LogBars).display = self.result is not None
        self.query_one("#grad-summary", Static).update(
            Text(f"computing the gradient of {self._what()} …", style=MUTED)
        )
        self._worker(self.plain)

    def _what(self) -> str:
        if self.plain is not None:
            return self.plain.describe()
        return f"{self.network.title or 'the network'} ({len(self.network.layers)} layers)"

    @work(thread=True, exclusive=True, group="gradient")
    def _worker(self, plain: PlainStack | None) -> None:
        worker = get_current_worker()
        try:
            network = self.network
            if plain is not None and plain != plain_stack(network):
                network = Network(
                    plain.layers(),
                    network.input_shape,
                    dtype=network.dtype,
                    title=network.title,
                )
                network.init_params(self.seed)
                network.set_input(self.network.input)
            if not self._charged:
                (self.budget or Budget()).charge(
                    gradient_peak_bytes(network),
                    "gradient",
                    f"the backward pass of {network.title or 'the network'}",
                )
                self._charged = True
            n = len(network.layers)
            for i, layer in enumerate(network.layers):
                if worker.is_cancelled:
                    return
                self._post(self._progress, i, n + 1, f"forward: {layer.name} ({i + 1} of {n})")
                network.output(layer.name)
            self._post(self._progress, n, n + 1, "backward pass from the loss …")
            target = self.target
            if target is None:
                target = int(np.argmax(network.output(network.layers[-1].name)))
            flow = gradient_flow(network, target)
            factors = plain_factors(network, flow) if plain is not None else []
        except SpecError as e:
            self._post(self._failed, f"{e.field}: {e.message}")
            return
        if not worker.is_cancelled:
            self._post(self._show, Result(network, flow, factors))

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(callback, *args)

    def _progress(self, done: int, total: int, doing: str) -> None:
        if self.is_attached:
            self.query_one("#grad-progress", ProgressBar).update(total=total, progress=done)
            self.query_one("#grad-summary", Static).update(
                Text(f"computing the gradient of {self._what()}: {doing}", style=MUTED)
            )

    def _failed(self, line: str) -> None:
        if not self.is_attached:
            return
        self.error = line
        self.query_one("#grad-progress", ProgressBar).display = False
        self.query_one("#grad-summary", Static).update(Text(line, style="bold red"))

    def _show(self, result: Result) -> None:
        if not self.is_attached:
            return
        self.result = result
        self.error = ""
        self.query_one("#grad-progress", ProgressBar).display = False
        plain = self.plain is not None
        bars = self.query_one("#grad-bars", LogBars)
        bars.display = True
        bars.set_rows(bar_rows(result.flow, result.factors, plain), tail_header(plain))
        self.query_one("#grad-summary", Static).update(self.summary(result))

    # -- text ------------------------------------------------------------------------------------

    def class_name(self, k: int) -> str:
        if self.labels is not None and 0 <= k < len(self.labels):
            return f"{k} ({self.labels[k]})"
        return str(k)

    def summary(self, result: Result) -> Text:
        """Loss, target and alarms; for a plain stack, the factors multiplied out."""
        flow = result.flow
        t = Text()
        chosen = "given" if self.target is not None else "predicted"
        t.append(f"loss against class {self.class_name(flow.target)} ({chosen}): ", style="grey70")
        t.append(f"L = {flow.loss:.4g}", style="bold")
        t.append(f", p = {flow.probability:.3g}", style="grey70")
        t.append("  ‖∂L/∂x‖ = ", style="grey70")
        t.append(fmt_norm(flow.input_norm), style="bold")
        alarms = flow.alarms()
        if alarms:
            kinds = sorted({kind for _, kind in alarms})
            t.append(f"\n{len(alarms)} of {len(flow.layers)} layers {' or '.join(kinds)}: ")
            t.append(
                ", ".join(name for name, _ in alarms[:4]) + (" …" if len(alarms) > 4 else ""),
                style=ALARM_STYLES[alarms[0][1]],
            )
        else:
            t.append("\nno layer's gradient vanishes (< 1e-6) or explodes (> 1e6)", style="green")
        if self.plain is not None and result.factors:
            fs = result.factors
            predicted = math.prod(f.predicted for f in fs)
            with np.errstate(all="ignore"):
                measured = float(np.prod([f.measured for f in fs]))
            with np.errstate(all="ignore"):  # geometric means, through logs: no underflow
                mean = float(np.exp(np.mean(np.log([f.predicted for f in fs]))))
                course = float(np.exp(np.mean(np.log([f.predicted_mean for f in fs]))))
            t.append(f"\n{self.plain.describe()}", style="bold")
            t.append(f"{' (seeded)' if result.network.seeded else ''}: s′·w ≈ ", style="grey70")
            t.append(f"{mean:.3f}", style="green")
            t.append(f" per layer ({course:.3f} with the mean s′), ×{len(fs)} → ", style="grey70")
            t.append(f"{predicted:.2e}", style="green")
            t.append(", measured ", style="grey70")
            t.append(fmt_norm(measured), style="yellow")
        return t

    def _note(self) -> Text:
        t = Text(style=MUTED)
        t.append("Bars: ‖∂L/∂y‖ per layer, log scale; ┊ marks the alarm bounds 1e-6 and 1e+6.")
        if self.plain is not None:
            t.append(" s′·w: the factor predicted across each linear + activation; meas: measured.")
        return t

    # -- keys ------------------------------------------------------------------------------------

    def action_depth(self, direction: int) -> None:
        if self.plain is None:
            return
        depth = int(step_ladder(DEPTHS, self.plain.depth, direction))
        if depth != self.plain.depth:
            self.plain = replace(self.plain, depth=depth)
            self.compute()

    def action_scale(self, direction: int) -> None:
        if self.plain is None:
            return
        w = step_ladder(SCALES, self.plain.weight_scale, direction)
        if w != self.plain.weight_scale:
            self.plain = replace(self.plain, weight_scale=w)
            self.compute()

    def action_experiment(self) -> None:
        from tui.screens.depth import DepthScreen

        self.app.push_screen(DepthScreen())

    def action_close(self) -> None:
        self.workers.cancel_group(self, "gradient")
        self.dismiss(None)
