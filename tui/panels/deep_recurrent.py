"""DeepRecurrentPanel: the grid of a[l]⟨t⟩ cells of a deep or bidirectional RNN filled in the
order they are computed, the current cell's two inputs lit, and its numbers."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from engine.deep_recurrent import DeepRecurrentStage, DeepStep
from tui.numbers import fmt_exact
from tui.panels.base import Panel, register
from tui.panels.recurrent import bars, gate_rows

CELL = 9
"""Characters per grid cell."""
LABEL = 9
"""Characters of the row labels on the left."""

_DONE = "bright_white"
_CURRENT = "bold black on bright_green"
_LEFT = "bold black on yellow"
_BELOW = "bold black on cyan"
_PENDING = "grey35"
_LABEL = "grey62"


def _num(v: float) -> str:
    return f"{v:.3f}".replace("-", "−")


def _name(layer: int, d: int, dirs: int) -> str:
    """a→[l], a←[l] or a[l], layers counted from 1."""
    return f"a{('→', '←')[d] if dirs == 2 else ''}[{layer + 1}]"


def order_line(stage: DeepRecurrentStage, step: DeepStep) -> Text:
    """Where this step sits in the order of computation, in words."""
    text = Text("order of computation: ", style=_LABEL)
    if step.is_output:
        text.append(f"output, t = {step.t}", style="bold")
        text.append(": every layer and both sweeps are done, so ŷ⟨t⟩ sees the whole sequence")
        return text
    sweep = "backward sweep" if step.direction else "forward sweep"
    way = "(right to left)" if step.direction else "(left to right)"
    text.append(f"layer {step.layer + 1} of {stage.num_layers}, {sweep}, t = {step.t} ", "bold")
    text.append(way)
    return text


def grid(stage: DeepRecurrentStage, step: DeepStep, width: int = 116) -> Text:
    """Rows ŷ (if any), then layers top to bottom (each forward and backward), then x; one
    column per time step; done / current / not yet, and the current cell's inputs lit."""
    steps, dirs = stage.steps_per_sweep, stage.directions
    shown = max(1, min(steps, (width - LABEL) // CELL))
    first = max(0, min(step.t - shown // 2, steps - shown))
    cols = range(first, first + shown)
    current = step.index
    left: tuple[int, int, int] | None = None
    below: set[tuple[int, int, int]] = set()  # (layer, direction, t); layer −1 is x
    if step.is_output:
        below = {(stage.num_layers - 1, d, step.t) for d in range(dirs)}
    else:
        if step.left_t is not None:
            left = (step.layer, step.direction, step.left_t)
        below = (
            {(-1, 0, step.t)}
            if step.layer == 0
            else {(step.layer - 1, d, step.t) for d in range(dirs)}
        )

    text = Text(" " * LABEL + ("… " if first else ""), style=_LABEL)
    for t in cols:
        text.append(f"t={t}".center(CELL), style=_LABEL)
    text.append(" …\n" if first + shown < steps else "\n", style=_LABEL)

    def cell(index: int, value: float, key: tuple[int, int, int]) -> tuple[str, str]:
        if index == current:
            return _num(value), _CURRENT
        if index > current:
            return "·", _PENDING
        if key == left:
            return _num(value), _LEFT
        if key in below:
            return _num(value), _BELOW
        return _num(value), _DONE

    y = stage.outputs_y
    if y is not None:
        text.append("ŷ⟨t⟩[0]".ljust(LABEL), style=_LABEL)
        base = stage.num_layers * dirs * steps
        for t in cols:
            s, style = cell(base + t, float(y[t, 0]), (-2, 0, t))
            text.append(s.rjust(CELL - 1) + " ", style=style)
        text.append("\n")
    for layer in reversed(range(stage.num_layers)):
        for d in range(dirs):
            text.append(_name(layer, d, dirs).ljust(LABEL), style=_LABEL)
            out = stage.layer_outputs[layer][:, d * stage.hidden_size]
            for t in cols:
                s, style = cell(stage.cell_index(layer, d, t), float(out[t]), (layer, d, t))
                text.append(s.rjust(CELL - 1) + " ", style=style)
            text.append("\n")
    text.append("x⟨t⟩[0]".ljust(LABEL), style=_LABEL)
    for t in cols:
        style = _BELOW if (-1, 0, t) in below else _DONE
        text.append(_num(float(stage.x[t, 0])).rjust(CELL - 1) + " ", style=style)
    text.append("\n")
    text.append("  ■ computing now", style="bright_green")
    sweep = "previous state in this sweep" if dirs == 2 else "from the left (same layer)"
    text.append(f"   ■ {sweep}", style="yellow")
    text.append("   ■ from below (same t)", style="cyan")
    text.append("   · not computed yet", style=_PENDING)
    return text


def _vector(v: np.ndarray) -> str:
    return "[" + ", ".join(fmt_exact(float(x)) for x in v) + "]"


def inspector(stage: DeepRecurrentStage, step: DeepStep) -> Text:
    """The current cell's result per unit, its two inputs and where they came from."""
    text = Text()
    dirs = stage.directions
    t = step.t
    if step.y_hat is not None:  # an output step
        top = stage.num_layers
        text.append(f"ŷ⟨{t}⟩ = softmax(W_ya·[a→[{top}]⟨{t}⟩, a←[{top}]⟨{t}⟩] + b_y)\n", "bold")
        text.append(f"  from below: the top layer at t = {t}, both directions = ", _LABEL)
        text.append(_vector(step.from_below) + "\n", style="cyan")
        k = int(np.argmax(step.y_hat))
        text.append(f"  ŷ⟨{t}⟩ = {_vector(step.y_hat)}; most likely class {k} (they sum to 1)\n")
        return text
    name = _name(step.layer, step.direction, dirs)
    inner, from_left = step.inner, step.from_left
    if inner is None or from_left is None:  # only output steps lack them, handled above
        return text
    side = "from the right" if step.direction == 1 else "from the left"
    text.append(f"{name}⟨{t}⟩ = {stage.cell.upper()} cell({side}, from below)\n", "bold")
    text.append(f"  {side}: ", _LABEL)
    if step.left_t is None:
        text.append("the start of this sweep, a0 = 0", style="yellow")
    else:
        text.append(f"{name}⟨{step.left_t}⟩ = {_vector(from_left)}", style="yellow")
    text.append("\n  from below: ", _LABEL)
    if step.layer == 0:
        where = f"x⟨{t}⟩"
    elif dirs == 2:
        where = f"[a→[{step.layer}]⟨{t}⟩, a←[{step.layer}]⟨{t}⟩]"
    else:
        where = f"a[{step.layer}]⟨{t}⟩"
    text.append(f"{where} = {_vector(step.from_below)}\n", style="cyan")
    if stage.cell != "rnn":
        for label, values, signed in gate_rows(stage.cell, inner.gates):
            text.append(f"  {label:<13}", style=_LABEL)
            text.append_text(bars(values, signed=signed))
            text.append("\n")
    if inner.c is not None:
        text.append(f"  c⟨{t}⟩ = {_vector(inner.c)}\n")
    text.append(f"  {name}⟨{t}⟩ = ")
    text.append(_vector(step.a), style=_CURRENT)
    text.append("\n")
    return text


@register
class DeepRecurrentPanel(Panel):
    """Draws a DeepRecurrentStage one cell (or output) at a time."""

    kind = "deep_recurrent"

    DEFAULT_CSS = """
    DeepRecurrentPanel #deep-order {
        height: 1;
        margin: 0 1;
    }
    DeepRecurrentPanel #deep-grid {
        height: auto;
        border: round $primary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    DeepRecurrentPanel #deep-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The cell computed now and the two states it reads."""
        return [
            (" 0.1 ", _CURRENT, "this cell"),
            (" 0.2 ", _LEFT, "from the left (t − 1)"),
            (" 0.3 ", _BELOW, "from below (same t)"),
            (" · ", _PENDING, "not yet computed"),
        ]

    def __init__(self, stage: DeepRecurrentStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.deep = stage

    def compose(self) -> ComposeResult:
        st = self.deep
        yield Static(id="deep-order")
        box = Static(id="deep-grid")
        kind = "bidirectional " if st.directions == 2 else ""
        box.border_title = (
            f"{kind}{st.cell.upper()} · {st.num_layers} layer{'s' * (st.num_layers > 1)} × "
            f"{st.steps_per_sweep} steps · hidden {st.hidden_size}"
        )
        box.border_subtitle = "each cell shows its first unit"
        yield box
        inspector_box = Static(id="deep-inspector")
        inspector_box.border_title = "This cell and its two inputs"
        yield inspector_box

    def show(self, step: DeepStep) -> None:  # type: ignore[override]
        st = self.deep
        self.query_one("#deep-order", Static).update(Content.from_rich_text(order_line(st, step)))
        self.query_one("#deep-grid", Static).update(Content.from_rich_text(grid(st, step)))
        self.query_one("#deep-inspector", Static).update(
            Content.from_rich_text(inspector(st, step))
        )

    def set_heat(self, on: bool) -> None:
        """The grid is words and numbers; there is no heat view to switch to."""
