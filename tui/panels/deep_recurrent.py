"""DeepRecurrentPanel: the grid of a[l]⟨t⟩ cells of a deep or bidirectional RNN filled in the
order they are computed, the current cell's two inputs lit, and its numbers."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from engine.deep_recurrent import DeepRecurrentStage, DeepStep
from tui import styles
from tui.numbers import fmt_exact
from tui.panels._vector import LeastHeight, put_text, update_inspector
from tui.panels.base import Panel, register
from tui.panels.recurrent import bars, gate_rows
from tui.widgets.rows import CachedRows

CELL = 9
"""Characters per grid cell, at least."""
MAX_CELL = 14
"""Characters per grid cell at most, however long a word of the input."""
LABEL = 9
"""Characters of the row labels on the left."""

_DONE = "bright_white"
_CURRENT = "bold black on bright_green"
_LEFT = "bold black on yellow"
_BELOW = "bold black on cyan"
_PENDING = "grey35"
_LABEL = styles.MUTED


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
    column per time step t = 1 … T; done / current / not yet, and the current cell's inputs
    lit. Columns are walked by row k of the arrays, which is time step t = k + 1."""
    steps, dirs = stage.steps_per_sweep, stage.directions
    texts = [*(stage.words or ()), *(stage.compare.words or () if stage.compare else ())]
    cw = max(CELL, min(max((len(w) + 1 for w in texts), default=0), MAX_CELL))
    shown = max(1, min(steps, (width - LABEL) // cw))
    first = max(0, min(step.t - 1 - shown // 2, steps - shown))
    cols = range(first, first + shown)
    current = step.index
    left: tuple[int, int, int] | None = None
    below: set[tuple[int, int, int]] = set()  # (layer, direction, t from 1); layer −1 is x
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
    for k in cols:
        text.append(f"t={k + 1}".center(cw), style=_LABEL)
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
        base = stage.num_layers * dirs * steps
        rows = [("ŷ⟨t⟩[0]", y, 0)]
        if stage.labels is not None:
            last = len(stage.labels) - 1  # with two labels, the probability of the second
            rows = [(f"P({stage.labels[last]})", y, last)]
            other = stage.compare
            if other is not None and other.outputs_y is not None:
                rows.append((f"P′({stage.labels[last]})", other.outputs_y, last))
        for name, probs, lab in rows:
            text.append(name[: LABEL - 1].ljust(LABEL), style=_LABEL)
            for k in cols:
                if k >= len(probs):
                    text.append(" " * cw)
                    continue
                s, style = cell(base + k, float(probs[k, lab]), (-2, 0, k + 1))
                text.append(s.rjust(cw - 1) + " ", style=style)
            text.append("\n")
    for layer in reversed(range(stage.num_layers)):
        for d in range(dirs):
            text.append(_name(layer, d, dirs).ljust(LABEL), style=_LABEL)
            out = stage.layer_outputs[layer][:, d * stage.hidden_size]
            for k in cols:
                t = k + 1
                s, style = cell(stage.cell_index(layer, d, t), float(out[k]), (layer, d, t))
                text.append(s.rjust(cw - 1) + " ", style=style)
            text.append("\n")
    text.append("x⟨t⟩[0]".ljust(LABEL) if stage.words is None else "x⟨t⟩".ljust(LABEL), _LABEL)
    for k in cols:
        style = _BELOW if (-1, 0, k + 1) in below else _DONE
        entry = _num(float(stage.x[k, 0])) if stage.words is None else stage.words[k][: cw - 1]
        text.append(entry.rjust(cw - 1) + " ", style=style)
    text.append("\n")
    other = stage.compare
    if other is not None and other.words is not None:
        text.append("x′⟨t⟩".ljust(LABEL), style=_LABEL)
        for k in cols:
            word = other.words[k][: cw - 1] if k < len(other.words) else ""
            text.append(word.rjust(cw - 1) + " ", style=_LABEL)
        text.append("\n")
    text.append("  ■ computing now", style="bright_green")
    sweep = "previous state in this sweep" if dirs == 2 else "from the left (same layer)"
    text.append(f"   ■ {sweep}", style="yellow")
    text.append("   ■ from below (same t)", style="cyan")
    text.append("   · not computed yet", style=_PENDING)
    return text


def sentence(words: tuple[str, ...]) -> str:
    """Words joined as written: no space before a punctuation mark."""
    out = ""
    for w in words:
        out += w if not out or not w[0].isalnum() else " " + w
    return out


def compare_text(stage: DeepRecurrentStage, step: DeepStep) -> Text:
    """The second text (′) at the same cell: how far its state is from this one's, and whether
    the words this sweep has read so far are the same; at an output step, both ŷ⟨t⟩."""
    other = stage.compare
    text = Text()
    if other is None or other.words is None or stage.words is None:
        return text
    t, h = step.t - 1, stage.hidden_size  # the row of the arrays: time step t is row t − 1
    quoted = sentence(other.words)
    text.append(f"second text (′): {quoted}\n", style="bold")
    if t >= len(other.words):
        text.append(f"  it has no word at this t: it is {len(other.words)} words long\n", _LABEL)
        return text
    if step.is_output and step.y_hat is not None and other.outputs_y is not None:
        assert stage.labels is not None
        k = len(stage.labels) - 1
        mine, theirs = float(step.y_hat[k]), float(other.outputs_y[t, k])
        text.append(f"  P({stage.labels[k]}) at {stage.words[t]!r}: {fmt_exact(mine, 4)} here, ")
        text.append(f"{fmt_exact(theirs, 4)} at {other.words[t]!r} there\n")
        for d, arrow in enumerate("→←"[: stage.directions]):
            a = stage.layer_outputs[-1][t, d * h : (d + 1) * h]
            b = other.layer_outputs[-1][t, d * h : (d + 1) * h]
            gap = float(np.abs(a - b).max())
            text.append(f"  max |a{arrow}⟨t⟩ − a{arrow}′⟨t⟩| = {fmt_exact(gap, 3)}\n", _LABEL)
        return text
    d, layer = step.direction, step.layer
    a = step.a
    b = other.layer_outputs[layer][t, d * h : (d + 1) * h]
    seen = slice(0, t + 1) if d == 0 else slice(t, None)
    same = [w.lower() for w in stage.words[seen]] == [w.lower() for w in other.words[seen]]
    arrow = ("→", "←")[d] if stage.directions == 2 else ""
    gap = float(np.abs(a - b).max())
    read = "the words up to here" if d == 0 else "the words from here to the end"
    verdict = "the same, so the states are equal" if same else "different"
    text.append(f"  max |a{arrow}⟨t⟩ − a{arrow}′⟨t⟩| = {fmt_exact(gap, 3)}: {read} are {verdict}\n")
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
        name = "" if stage.labels is None else f" ({stage.labels[k]})"
        text.append(f"  ŷ⟨{t}⟩ = {_vector(step.y_hat)}; most likely class {k}{name}")
        text.append(" (they sum to 1)\n")
        return text.append_text(compare_text(stage, step))
    name = _name(step.layer, step.direction, dirs)
    inner, from_left = step.inner, step.from_left
    if inner is None or from_left is None:  # only output steps lack them, handled above
        return text
    side = "from the right" if step.direction == 1 else "from the left"
    text.append(f"{name}⟨{t}⟩ = {stage.cell.upper()} cell({side}, from below)\n", "bold")
    text.append(f"  {side}: ", _LABEL)
    if step.left_t is None:
        start = stage.steps_per_sweep + 1 if step.direction == 1 else 0
        text.append(f"the start of this sweep, {name}⟨{start}⟩ = 0", style="yellow")
    else:
        text.append(f"{name}⟨{step.left_t}⟩ = {_vector(from_left)}", style="yellow")
    text.append("\n  from below: ", _LABEL)
    if step.layer == 0:
        where = f"x⟨{t}⟩"
    elif dirs == 2:
        where = f"[a→[{step.layer}]⟨{t}⟩, a←[{step.layer}]⟨{t}⟩]"
    else:
        where = f"a[{step.layer}]⟨{t}⟩"
    shown = _vector(step.from_below)
    if step.layer == 0 and step.word is not None:
        shown = f"one-hot({step.word!r})"
    text.append(f"{where} = {shown}\n", style="cyan")
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
    return text.append_text(compare_text(stage, step))


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
        """The cell computed now and the two states it reads (a backward sweep reads its
        previous state from the right, t + 1)."""
        two_way = getattr(self.stage, "directions", 1) == 2
        previous = "previous state in this sweep" if two_way else "from the left (t − 1)"
        return [
            (" 0.1 ", _CURRENT, "this cell"),
            (" 0.2 ", _LEFT, previous),
            (" 0.3 ", _BELOW, "from below (same t)"),
            (" · ", _PENDING, "not yet computed"),
        ]

    def __init__(self, stage: DeepRecurrentStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.deep = stage
        self._grid_drawn: tuple[int, int] | None = None
        self._inspector_drawn: tuple[int, int] | None = None
        self._least = LeastHeight()
        self._last: DeepStep | None = None

    def compose(self) -> ComposeResult:
        st = self.deep
        yield CachedRows(id="deep-order")
        box = CachedRows(id="deep-grid")
        kind = "bidirectional " if st.directions == 2 else ""
        box.border_title = (
            f"{kind}{st.cell.upper()} · {st.num_layers} layer{'s' * (st.num_layers > 1)} × "
            f"{st.steps_per_sweep} steps · hidden {st.hidden_size}"
        )
        box.border_subtitle = "each cell shows its first unit"
        yield box
        inspector_box = CachedRows(id="deep-inspector")
        inspector_box.border_title = "This cell and its two inputs"
        yield inspector_box

    def show(self, step: DeepStep) -> None:  # type: ignore[override]
        st = self.deep
        # The order line is one row high: writing it never changes the layout.
        put_text(self.query_one("#deep-order", Static), order_line(st, step), layout=False)
        room = self.app.size.width - 4 if self.is_attached and self.app.size.width else 116
        table = grid(st, step, width=min(116, max(room, 40)))
        self._grid_drawn = update_inspector(
            self.query_one("#deep-grid", Static), table, self._grid_drawn
        )
        box = self.query_one("#deep-inspector", Static)
        least = self._least.lines(box, None, len(st), lambda i: inspector(st, st.step(i)).plain)
        self._inspector_drawn = update_inspector(
            box, inspector(st, step), self._inspector_drawn, least
        )
        self._least.drawn(self._inspector_drawn)
        self._last = step

    def on_resize(self) -> None:
        # The first step is drawn before the panel has a size: written again once it has one,
        # the inspector takes the height it keeps from step to step.
        if self._last is not None:
            self.call_after_refresh(self.show, self._last)

    def set_heat(self, on: bool) -> None:
        """The grid is words and numbers; there is no heat view to switch to."""
