"""RecurrentPanel: one time step of an RNN, GRU or LSTM: the unrolled sequence, the vectors that
flow in and out, every gate per unit, and the equations written out with the numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from engine.recurrent import RecurrentStage, RecurrentStep
from tui import styles
from tui.numbers import clamp, fmt_exact, fmt_factor
from tui.panels._vector import LeastHeight, put_text, text_height, update_inspector
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid, Window
from tui.widgets.rows import CachedRows
from tui.widgets.steadygrid import SteadyGrid

GATE_LABELS = {
    "gru": {"r": "Γr relevance", "u": "Γu = 1 − z", "n": "c̃ candidate"},
    "lstm": {"i": "Γu update", "f": "Γf forget", "g": "c̃ candidate", "o": "Γo output"},
}
"""How each gate is named in the course's notation. PyTorch's GRU keeps z, the share of
a⟨t−1⟩ kept; the course's update gate is Γu = 1 − z."""


def gate_rows(cell: str, gates: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, bool]]:
    """(label, values per unit, signed) for each gate bar of a GRU or LSTM step."""
    rows = []
    for name, label in GATE_LABELS[cell].items():
        values = 1.0 - gates["z"] if name == "u" else gates[name]
        rows.append((label, values, name in ("n", "g")))
    return rows


def step_label(t: int) -> str:
    """``⟨t⟩`` for a time step t (from 1; ⟨0⟩ is the initial state), with a true minus sign
    should t ever be negative."""
    return f"⟨{t}⟩".replace("-", "−")


BAR = 6
"""Characters in one gate bar."""
MAX_TERMS = 8
"""Products written out per dot product before it is abbreviated."""
TERM_DIGITS = 4
"""Significant digits of each factor and part written out; the sums keep six."""


def cut(word: str, room: int) -> str:
    """``word`` in at most ``room`` characters, ending in … when cut."""
    return word if len(word) <= room else word[: room - 1] + "…"


def unrolled(
    t: int,
    steps: int,
    width: int = 110,
    has_input: np.ndarray | None = None,
    has_output: np.ndarray | None = None,
    words: tuple[str, ...] | None = None,
    tags: list[str] | None = None,
    known: int | None = None,
) -> Text:
    """The unrolled network in three rows: ŷ⟨k⟩ boxes on top where a step has an output, the
    chain of cells from a⟨0⟩ with a⟨t⟩ flowing right and time step ``t`` lit, and x⟨k⟩ boxes
    below where a step has an input. Time steps count from 1, as in the course; the masks are
    indexed from 0 (entry k is t = k + 1). Every step has an input if ``has_input`` is None;
    none has an output if ``has_output`` is None (no output layer), and then the top rows are
    left out. A window of the steps around ``t`` is shown when they do not all fit in
    ``width``. With ``words`` the x boxes name the word each x⟨k⟩ is (those after row
    ``known``, not fed back yet, are dots), and with ``tags`` the ŷ boxes of the steps done so
    far name their likeliest label."""
    # Room for the widest label with a space on each side of "[t=10]", so arrows never touch.
    least = max(7, len(f"[ŷ⟨{steps}⟩]"), len(f"[t={steps}]") + 2)
    longest = max((len(w) + 2 for w in (*(words or ()), *(tags or ()))), default=0)
    fits = (width - 8) // steps - 1  # the widest cell with which every step is shown
    cell = max(least, min(longest, 12, fits))
    per = cell + 1  # the → and the cell
    lead = 5
    shown = max(1, min(steps, (width - lead - 3) // per))
    now = t - 1  # the lit cell's position in the chain, from 0 (cell k is time step k + 1)
    first = max(0, min(now - shown // 2, steps - shown))
    ins = np.ones(steps, dtype=bool) if has_input is None else np.asarray(has_input, dtype=bool)
    outs = np.zeros(steps, dtype=bool) if has_output is None else np.asarray(has_output, bool)

    def put(line: Text, k: int, label: str, lit: str) -> None:
        """``label`` centred in a cell, styled (not its padding) by where k is from now."""
        left = (cell - len(label)) // 2
        line.append(" " * left)
        line.append(label, style=lit if k == now else ("white" if k < now else "grey42"))
        line.append(" " * (cell - len(label) - left))

    def row(mask: np.ndarray, box: str, arrow: bool) -> Text:
        line = Text(" " * lead)
        for k in range(first, first + shown):
            line.append(" ")
            if not mask[k]:
                line.append(" " * cell)
            elif arrow:
                line.append("↑".center(cell), style="grey62")
            elif box.startswith("[x") and words is not None:
                word = words[k] if known is None or k <= known else "·"
                put(line, k, cut(word, cell - 2).join("[]"), "bold bright_green")
            elif box.startswith("[ŷ") and tags is not None and k <= now:
                put(line, k, cut(tags[k], cell - 2).join("[]"), "bold bright_green")
            else:
                put(line, k, box.format(k + 1), "bold bright_green")
        line.rstrip()
        return line

    lines: list[Text] = []
    if outs.any():
        lines += [row(outs, "[ŷ⟨{}⟩]", False), row(outs, "", True)]
    chain = Text((" a⟨0⟩" if first == 0 else " …").ljust(lead), style=styles.MUTED)
    for k in range(first, first + shown):
        chain.append("→", style="grey62")
        put(chain, k, f"[t={k + 1}]", "bold black on bright_green")
    if first + shown < steps:
        chain.append("→ …", style="grey62")
    lines.append(chain)
    if ins.any():
        lines += [row(ins, "", True), row(ins, "[x⟨{}⟩]", False)]
    return Text("\n").join(lines)


TOP_LABELS = 3
"""Labelled outputs listed per step, likeliest first."""


def labelled(y: np.ndarray, labels: tuple[str, ...], top: int = TOP_LABELS) -> Text:
    """``negative 0.9999  positive 0.0001``: the likeliest labels of ŷ⟨t⟩ with their
    probabilities, the first in bold; ``+ 22 more`` when there are more than ``top``."""
    order = np.argsort(-np.asarray(y), kind="stable")[:top]
    text = Text()
    for n, k in enumerate(order):
        text.append("  " if n else "")
        text.append(labels[int(k)], style="bold bright_green" if n == 0 else "")
        text.append(f" {fmt_exact(float(y[int(k)]), 4)}")
    if len(labels) > top:
        text.append(f"  + {len(labels) - top} more", style="grey50")
    return text


def input_label(stage: RecurrentStage, step: RecurrentStep) -> str:
    """What x⟨t⟩ is when it stands for a word: the word, or the label fed back."""
    return input_label_at(stage, step.index)


def input_label_at(stage: RecurrentStage, index: int) -> str:
    """``input_label`` of the step at ``index`` (from 0), without making the step."""
    if stage.words is None:
        has_input = bool(stage.has_input[index])
        return "x⟨t⟩ input" if has_input else "x⟨t⟩ = 0: no input at this step"
    word = stage.words[index]
    if stage.feedback and index > 0:
        return f"x⟨t⟩ = one-hot({word!r}), ŷ⟨t−1⟩'s likeliest fed back"
    return f"x⟨t⟩ = one-hot({word!r})"


def output_label_at(stage: RecurrentStage, index: int) -> Text:
    """The line over ŷ⟨t⟩ at the step at ``index`` (from 0): its likeliest labels where the
    outputs are named and the step has one, else what the row below is."""
    has_output = bool(stage.has_output[index])
    y = stage.outputs_y
    if stage.labels is not None and has_output and y is not None:
        text = Text("ŷ⟨t⟩: ", style=styles.MUTED)
        return text.append_text(labelled(y[index], stage.labels))
    label = "ŷ⟨t⟩ softmax" if has_output else "ŷ⟨t⟩: no output at this step"
    return Text(label, style=styles.MUTED)


def bars(values: np.ndarray, signed: bool) -> Text:
    """One bar per unit: gates in [0, 1] fill from the left, tanh values from the middle."""
    t = Text()
    for v in values:
        v = float(v)
        if signed:
            half = BAR // 2
            n = round(clamp(abs(v), 0.0, 1.0, nan=0.0) * half)  # tanh: |v| ≤ 1
            left = " " * half if v >= 0 else " " * (half - n) + "█" * n
            right = "█" * n + " " * (half - n) if v >= 0 else " " * half
            t.append("▕" + left, style="cyan")
            t.append(right + "▏", style="magenta")
        else:
            n = round(clamp(v, 0.0, 1.0, nan=0.0) * BAR)
            t.append("▕" + "█" * n + " " * (BAR - n) + "▏", style="green")
        t.append(f"{v:5.2f} ".replace("-", "−"))
    return t


LABEL_W = 12
"""Cells of the gate names' column: ``c̃ candidate`` (11 cells) and a space."""
UNIT_W = BAR + 2 + 6
"""Characters of one unit's bar: the bar, its two ends and the value."""


def gate_table(cell: str, gates: dict[str, np.ndarray], width: int) -> Text:
    """Every gate's bars, one row per gate with its name, one column per hidden unit under
    its number ``j``. Units that do not fit in ``width`` go to further blocks of rows, each
    with its own names and unit numbers, so that no bar is ever read without its label."""
    rows = gate_rows(cell, gates)
    units = len(rows[0][1])
    per = max(1, (width - LABEL_W + 1) // UNIT_W)  # the last unit's trailing space may go
    text = Text()
    for first in range(0, units, per):
        chunk = range(first, min(first + per, units))
        if first:
            text.append("\n")
        text.append(" " * LABEL_W)
        text.append("".join(f"j = {j}".ljust(UNIT_W) for j in chunk).rstrip(), style="grey50")
        for label, values, signed in rows:
            text.append("\n")
            text.append(label + " " * (LABEL_W - cell_len(label)), style="bold")
            text.append_text(bars(values[first : chunk.stop], signed=signed))
    text.rstrip()
    return text


class GateBars(Widget):
    """The gate table of the step on screen (``gate_table``'s lines), drawn a line at a time:
    only the lines on screen are built, and a step changes the bars in place. The screen is
    laid out again only when the table's height changes (a new width), not on every step. With
    128 hidden units the table is over a hundred lines, most of them scrolled away."""

    DEFAULT_CSS = """
    GateBars {
        height: auto;
    }
    """

    def __init__(self, cell: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cell = cell
        self._rows: list[tuple[str, np.ndarray, bool]] = []
        self._lines = 0
        self._cache: dict[tuple[int, int], Strip] = {}
        self._styles: dict[str, Style] = {}
        self.lines_built = 0
        """Lines made into strips so far (a step rebuilds the bars, not the unit numbers)."""

    def _per(self, width: int) -> int:
        """Units per block of rows at ``width`` cells, as ``gate_table`` splits them."""
        return max(1, (width - LABEL_W + 1) // UNIT_W)

    def _count(self, width: int) -> int:
        """Lines of the table at ``width``: a line of unit numbers and one per gate a block."""
        if not self._rows:
            return 0
        units = len(self._rows[0][1])
        return -(-units // self._per(width)) * (1 + len(self._rows))

    def show(self, gates: dict[str, np.ndarray]) -> None:
        """Draw the bars of ``gates`` at the width the widget has. The lines of unit numbers
        stay as they are: only the bars are built and repainted again."""
        self._rows = gate_rows(self.cell, gates)
        self._styles.clear()
        width = self.content_region.width or self.app.size.width
        lines = self._count(width)
        if lines != self._lines:
            self._cache.clear()
            self.refresh(layout=True)
        else:
            per_block = 1 + len(self._rows)
            self._cache = {
                key: strip for key, strip in self._cache.items() if key[0] % per_block == 0
            }
            # One call: each marks the widget dirty and asks for an idle pass.
            self.refresh(*(Region(0, y, width, 1) for y in range(lines) if y % per_block))
        self._lines = lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._count(width)

    def line_text(self, y: int, width: int) -> Text:
        """Line ``y`` of ``gate_table(cell, gates, width)``."""
        block, r = divmod(y, 1 + len(self._rows))
        per = self._per(width)
        units = len(self._rows[0][1])
        chunk = range(block * per, min(block * per + per, units))
        text = Text()
        if r == 0:
            text.append(" " * LABEL_W)
            heads = "".join(f"j = {j}".ljust(UNIT_W) for j in chunk).rstrip()
            text.append(heads, style="grey50")
            return text
        label, values, signed = self._rows[r - 1]
        text.append(label + " " * (LABEL_W - cell_len(label)), style="bold")
        text.append_text(bars(values[chunk.start : chunk.stop], signed=signed))
        return text

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width or self.size.width
        if y >= self._count(width):
            return Strip.blank(width)
        key = (y, width)
        strip = self._cache.get(key)
        if strip is None:
            segments = self.line_segments(y, width)
            cells = sum(cell_len(segment.text) for segment in segments)
            # As a Static shows gate_table: the last line, and a line whose trailing space
            # does not fit, end without it.
            if y == self._count(width) - 1 or cells > width:
                while segments and segments[-1].text.endswith(" "):
                    last = segments.pop()
                    if last.text.rstrip():
                        segments.append(Segment(last.text.rstrip(), last.style))
                cells = sum(cell_len(segment.text) for segment in segments)
            strip = Strip(segments, cells)
            if cells > width:
                strip = strip.crop(0, width)
            self._cache[key] = strip
            self.lines_built += 1
        return strip

    def line_segments(self, y: int, width: int) -> list[Segment]:
        """Line ``y`` of the table as segments, as ``line_text`` would be drawn, built straight
        from the values (a Rich Text of a hundred appends and its spans cost several times
        more): one per name, bar half and value."""
        block, r = divmod(y, 1 + len(self._rows))
        per = self._per(width)
        units = len(self._rows[0][1])
        chunk = range(block * per, min(block * per + per, units))
        base = self._style("")
        if r == 0:
            heads = "".join(f"j = {j}".ljust(UNIT_W) for j in chunk).rstrip()
            return [Segment(" " * LABEL_W, base), Segment(heads, self._style("grey50"))]
        label, values, signed = self._rows[r - 1]
        out = [Segment(label + " " * (LABEL_W - cell_len(label)), self._style("bold"))]
        green, cyan, magenta = self._style("green"), self._style("cyan"), self._style("magenta")
        half = BAR // 2
        for v in values[chunk.start : chunk.stop]:
            v = float(v)
            if signed:
                n = round(clamp(abs(v), 0.0, 1.0, nan=0.0) * half)  # tanh: |v| ≤ 1
                left = " " * half if v >= 0 else " " * (half - n) + "█" * n
                right = "█" * n + " " * (half - n) if v >= 0 else " " * half
                out.append(Segment("▕" + left, cyan))
                out.append(Segment(right + "▏", magenta))
            else:
                n = round(clamp(v, 0.0, 1.0, nan=0.0) * BAR)
                out.append(Segment("▕" + "█" * n + " " * (BAR - n) + "▏", green))
            out.append(Segment(f"{v:5.2f} ".replace("-", "−"), base))
        return out

    def _style(self, name: str) -> Style:
        """The style ``name`` over the widget's colours, worked out once per step (each
        ``rich_style`` walks the widget's ancestors)."""
        style = self._styles.get(name)
        if style is None:
            base = self._styles.get("")
            if base is None:
                base = self._styles[""] = self.rich_style
            style = self._styles[name] = base + Style.parse(name) if name else base
        return style

    def on_resize(self) -> None:
        self._cache.clear()
        self._styles.clear()
        lines = self._count(self.content_region.width)
        if lines != self._lines:
            self._lines = lines
            self.refresh(layout=True)


def _sum3(a: float, b: float, c: float) -> str:
    """``a + b + c`` to four digits, negatives in parentheses after the first."""
    d = TERM_DIGITS
    return f"{fmt_exact(a, d)} + {fmt_factor(b, d)} + {fmt_factor(c, d)}"


def dot_terms(w: np.ndarray, v: np.ndarray) -> str:
    """w·v written out: ``0.3·1 + (−0.2)·0 + …``. Only the products written are formatted:
    with 128 hidden units, formatting every one cost more than the rest of the step."""
    n = len(w)
    if len(v) != n:
        raise ValueError(f"dot_terms: {n} weights against {len(v)} values")
    shown = n if n <= MAX_TERMS else MAX_TERMS - 1
    terms = [
        f"{fmt_factor(float(w[k]), TERM_DIGITS)}·{fmt_factor(float(v[k]), TERM_DIGITS)}"
        for k in range(shown)
    ]
    if shown < n:
        terms.append(f"… ({n - shown} more)")
    return " + ".join(terms)


def x_terms(w: np.ndarray, x: np.ndarray, word: str | None) -> str:
    """W·x written out, or, when x is the one-hot vector of ``word``, the one weight it picks."""
    if word is None:
        return dot_terms(w, x)
    return f"the weight of {word!r} (x is its one-hot vector)"


def explain_recurrent(stage: RecurrentStage, step: RecurrentStep, unit: int = 0) -> Text:
    """The equations of this time step for one hidden unit, with the numbers: each gate's sum
    W_x·x⟨t⟩ + W_a·a⟨t−1⟩ + b is written out term by term, so the printed parts add up."""
    x: np.ndarray = step.x
    a_prev: np.ndarray = step.a_prev
    j, t = unit, step.t
    now, before = step_label(t), step_label(t - 1)
    hidden = stage.hidden_size
    w_ih, w_hh = stage.weight_ih, stage.weight_hh
    b_ih, b_hh = stage.bias_ih, stage.bias_hh
    text = Text()
    text.append(f"time step t = {t}, hidden unit {j} of {hidden}", style="bold")
    if hidden > 1:
        text.append("  (n / N: next / previous unit)", style="grey50")
    text.append("\n")

    def parts(row: int) -> tuple[float, float, float, float]:
        """W_x·x, W_a·a, and the two biases of one row of the stacked weights."""
        return (
            float(w_ih[row] @ x),
            float(w_hh[row] @ a_prev),
            float(b_ih[row]),
            float(b_hh[row]),
        )

    def products(row: int) -> None:
        wx, wa, _, _ = parts(row)
        d = TERM_DIGITS
        wx_terms, wa_terms = x_terms(w_ih[row], x, step.word), dot_terms(w_hh[row], a_prev)
        text.append(f"\n      W_x·x{now} = {wx_terms} = {fmt_exact(wx, d)}", "grey50")
        text.append(f"\n      W_a·a{before} = {wa_terms} = {fmt_exact(wa, d)}\n", "grey50")

    def gate_line(label: str, k: int, fn: str, pre: float, val: float) -> None:
        row = k * hidden + j
        wx, wa, bi, bh = parts(row)
        text.append(f"  {label} = {fn}(", style="grey62")
        text.append(f"W_x·x{now} + W_a·a{before} + b")
        text.append(") = ", style="grey62")
        text.append(f"{fn}({_sum3(wx, wa, bi + bh)}) = ")
        text.append(f"{fn}({fmt_exact(pre)}) = ")
        text.append(fmt_exact(val), style="bold")
        products(row)

    if step.cell == "rnn":
        pre = float(step.pre["a"][j])
        wx, wa, bi, bh = parts(j)
        text.append(f"  a{now} = tanh(W_aa·a{before} + W_ax·x{now} + b_a) = tanh(")
        text.append(f"{_sum3(wa, wx, bi + bh)}) = tanh(")
        text.append(fmt_exact(pre))
        text.append(") = ")
        text.append(fmt_exact(float(step.a[j])), style="bold black on bright_green")
        d = TERM_DIGITS
        wa_sum, wx_sum = fmt_exact(wa, d), fmt_exact(wx, d)
        text.append(f"\n      W_aa·a{before} = {dot_terms(w_hh[j], a_prev)} = {wa_sum}", "grey50")
        text.append(f"\n      W_ax·x{now} = {x_terms(w_ih[j], x, step.word)} = {wx_sum}", "grey50")
        text.append(f"\n      b_a = {fmt_exact(bi + bh)}\n", style="grey50")
        if step.y_hat is not None and stage.w_ya is not None and stage.b_y is not None:
            y_hat: np.ndarray = step.y_hat
            k = int(np.argmax(y_hat))
            z = stage.w_ya @ step.a + stage.b_y

            def vec(v: np.ndarray) -> str:
                shown = [fmt_exact(float(u), TERM_DIGITS) for u in v[:MAX_TERMS]]
                return "[" + ", ".join(shown) + (", …]" if len(v) > MAX_TERMS else "]")

            text.append(f"  ŷ{now} = softmax(W_ya·a{now} + b_y) = softmax({vec(z)}) = {vec(y_hat)}")
            name = "" if stage.labels is None else f" ({stage.labels[k]})"
            text.append(f": class {k}{name} likeliest")
            bias, logit = float(stage.b_y[k]), float(z[k])
            text.append(
                f"\n      W_ya[{k}]·a{now} + b_y[{k}] = {dot_terms(stage.w_ya[k], step.a)} + "
                f"{fmt_factor(bias, TERM_DIGITS)} = {fmt_exact(logit, TERM_DIGITS)}",
                style="grey50",
            )
            text.append("\n")
    elif step.cell == "gru":
        r, z, n = (float(step.gates[g][j]) for g in ("r", "z", "n"))
        gate_line("Γr", 0, "σ", float(step.pre["r"][j]), r)
        gate_line("z ", 1, "σ", float(step.pre["z"][j]), z)
        row = 2 * hidden + j
        wx, wa, bi, bh = parts(row)
        d = TERM_DIGITS
        text.append(f"  c̃ = tanh(W_x·x{now} + b_x + Γr·(W_a·a{before} + b_a))", style="grey62")
        text.append(
            f"\n     = tanh({fmt_exact(wx, d)} + {fmt_factor(bi, d)} + {fmt_factor(r, d)}·"
            f"({fmt_exact(wa, d)} + {fmt_factor(bh, d)})) = "
            f"tanh({fmt_exact(float(step.pre['n'][j]))}) = "
        )
        text.append(fmt_exact(n), style="bold")
        products(row)
        prev = float(a_prev[j])
        text.append(f"  c{now} = a{now} = Γu·c̃ + (1 − Γu)·c{before} with Γu = 1 − z = ")
        text.append(f"{fmt_exact(1 - z)}·{fmt_factor(n)} + {fmt_exact(z)}·{fmt_factor(prev)} = ")
        text.append(fmt_exact(float(step.a[j])), style="bold black on bright_green")
        text.append("\n")
    elif step.c is not None and step.c_prev is not None:  # lstm: the only cell with a c
        i, f, g, o = (float(step.gates[k][j]) for k in ("i", "f", "g", "o"))
        for k, (label, fn) in enumerate((("Γu", "σ"), ("Γf", "σ"), ("c̃ ", "tanh"), ("Γo", "σ"))):
            gate_line(label, k, fn, float(step.pre["ifgo"[k]][j]), (i, f, g, o)[k])
        c_prev, c = float(step.c_prev[j]), float(step.c[j])
        text.append(f"  c{now} = Γf·c{before} + Γu·c̃ = ")
        text.append(f"{fmt_exact(f)}·{fmt_factor(c_prev)} + {fmt_exact(i)}·{fmt_factor(g)} = ")
        text.append(fmt_exact(c), style="bold")
        text.append(f"\n  a{now} = Γo·tanh(c{now}) = {fmt_exact(o)}·tanh({fmt_factor(c)}) = ")
        text.append(fmt_exact(float(step.a[j])), style="bold black on bright_green")
        text.append("\n")
    return text


SPARK = " ▁▂▃▄▅▆▇█"
"""Sparkline levels, empty to full."""


def spark(values: np.ndarray, now: int, low: float = 1e-3, high: float = 1.0) -> Text:
    """One character per step on a log scale from ``low`` (empty) to ``high`` (full); below
    ``low`` a dot. The current step is lit."""
    text = Text()
    top = len(SPARK) - 1
    for t, v in enumerate(values):
        if math.isnan(v):
            ch = "?"
        elif v < low:
            ch = "·"
        else:
            frac = (math.log10(min(v, high)) - math.log10(low)) / (math.log10(high / low))
            ch = SPARK[max(1, round(frac * top))]
        text.append(ch, style="bold black on bright_green" if t == now else "cyan")
    return text


def contrast_text(stage: RecurrentStage, step: RecurrentStep) -> Text:
    """The second run with one input changed: how far its state is from this run's, now and
    at every step, and, where there is an output, both predictions."""
    contrast = stage.contrast
    assert contrast is not None
    t, row = step.t, step.index  # time step t is row t − 1 of the arrays
    a_gap = np.abs(stage.output - contrast.a).max(axis=1)  # (T,)
    text = Text()
    text.append(f"second run with {contrast.label} instead: ", style="bold")
    text.append(f"max_j |a{step_label(t)}[j] − a′{step_label(t)}[j]| = {fmt_exact(a_gap[row], 3)}")
    text.append("\n      by step ", style="grey50")
    text.append_text(spark(a_gap, row))
    text.append("  (log scale, 1 down to 0.001; · below)", style="grey50")
    states = stage.cell_states
    if contrast.c is not None and states is not None:
        c_gap = np.abs(states - contrast.c).max(axis=1)
        text.append(f"\n  max_j |c{step_label(t)}[j] − c′{step_label(t)}[j]| = ")
        text.append(fmt_exact(c_gap[row], 3))
        text.append("\n      by step ", style="grey50")
        text.append_text(spark(c_gap, row, high=float(max(1.0, c_gap.max()))))
        text.append(f"  (log scale, {fmt_exact(max(1.0, c_gap.max()), 2)} down to 0.001)", "grey50")
    if step.y_hat is not None and contrast.y_hat is not None:
        mine = ", ".join(fmt_exact(float(p), 3) for p in step.y_hat)
        theirs = ", ".join(fmt_exact(float(p), 3) for p in contrast.y_hat[row])
        text.append(f"\n  ŷ{step_label(t)} = [{mine}]   ŷ′{step_label(t)} = [{theirs}]")
    text.append("\n")
    return text


def explain_compact(stage: RecurrentStage, step: RecurrentStep, unit: int = 0) -> Text:
    """The compact form W_a·[a⟨t−1⟩, x⟨t⟩] for a plain RNN, and that it gives the same value."""
    w_a, stacked, product = stage.compact_terms(step.index)
    j, t = unit, step.t
    now, before = step_label(t), step_label(t - 1)
    text = Text()
    text.append(f"compact form, unit {j}: ", style="bold")
    text.append(f"W_a = [W_aa | W_ax] is {w_a.shape[0]}×{w_a.shape[1]}, ")
    text.append(f"[a{before}, x{now}] stacks {len(stacked)} numbers\n")
    text.append(f"  W_a[{j}]·[a{before}, x{now}] = {dot_terms(w_a[j], stacked)}", style="grey50")
    text.append(f" = {fmt_exact(float(product[j]))}\n")
    separate = float(stage.weight_hh[j] @ step.a_prev + stage.weight_ih[j] @ step.x)
    text.append(
        f"  W_aa[{j}]·a{before} + W_ax[{j}]·x{now} = {fmt_exact(separate)}: the same number\n"
    )
    return text


BESIDE_LEAST = 72
"""Columns a plain RNN's inspector needs beside the vectors to stand there: its longest lines
(a⟨t⟩ = tanh(…) written out with its numbers) then wrap once at most."""


@register
class RecurrentPanel(Panel):
    """Draws a RecurrentStage one time step at a time."""

    kind = "recurrent"

    DEFAULT_CSS = """
    RecurrentPanel #rec-unrolled {
        height: auto;
        margin: 0 1;
    }
    RecurrentPanel #rec-top {
        height: auto;
    }
    RecurrentPanel .box {
        width: auto;
        height: auto;
        padding: 0 1;
    }
    RecurrentPanel #rec-vectors {
        max-width: 50%;
    }
    RecurrentPanel #rec-vectors.-alone {
        max-width: 100%;
    }
    RecurrentPanel #rec-gates {
        width: 1fr;
    }
    RecurrentPanel #rec-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    RecurrentPanel #rec-top > #rec-inspector {
        width: 1fr;
    }
    RecurrentPanel #rec-top.-stacked {
        layout: vertical;
    }
    RecurrentPanel #rec-top.-stacked > #rec-inspector {
        width: 100%;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The step on screen and the gate bars: gates in [0, 1] fill from the left, the tanh
        candidate from the middle (left below 0, right above)."""
        from tui.widgets import legend

        out = [("[t]", "bold black on bright_green", "this time step")]
        if self.rec.cell != "rnn":
            out += [
                ("▕██  ▏", "green", "gate 0…1"),
                ("▕ █", "cyan", "candidate < 0"),
                ("█ ▏", "magenta", "> 0"),
            ]
        return [*out, *(legend.heat() if heat else [])]

    def __init__(self, stage: RecurrentStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.rec = stage
        self.compact = False
        self.unit = 0
        """The hidden unit whose equations the inspector writes out."""
        self._last: RecurrentStep | None = None
        self._inspector_drawn: tuple[int, int] | None = None
        self._diagram_lines = 0
        self._labels: dict[str, str] = {}
        self._label_drawn: dict[str, tuple[int, int] | None] = {}
        self._label_width: dict[str, int] = {}
        self._label_least: dict[tuple[str, int], int] = {}
        self._least = LeastHeight()

    def _vectors(self) -> list[tuple[str, str, np.ndarray]]:
        """(id, label, initial values) of the vectors drawn for a step."""
        st: Any = self.rec
        h = st.hidden_size
        out = [
            ("x", "x⟨t⟩ input", st.x[0]),
            ("a_prev", "a⟨t−1⟩", np.zeros(h)),
        ]
        if st.cell == "lstm":
            out.append(("c_prev", "c⟨t−1⟩", np.zeros(h)))
            out.append(("c", "c⟨t⟩ memory", np.zeros(h)))
        out.append(("a", "a⟨t⟩", np.zeros(h)))
        if st.w_ya is not None:
            out.append(("y", "ŷ⟨t⟩ softmax", np.zeros(st.w_ya.shape[0])))
        return out

    def _every(self) -> dict[str, np.ndarray]:
        """Every value each vector takes over the sequence, one row per step (a⟨0⟩ … a⟨T⟩ for
        a⟨t−1⟩ and a⟨t⟩, c⟨0⟩ … c⟨T⟩ for the cell state)."""
        st = self.rec
        states = {"x": st.x, "a": np.vstack([st.a0[None, :], st.output])}
        if st.cell_states is not None and st.c0 is not None:
            states["c"] = np.vstack([st.c0[None, :], st.cell_states])
        if st.outputs_y is not None:
            states["y"] = st.outputs_y
        if "a" in states:
            states["a_prev"] = states["a"]
        if "c" in states:
            states["c_prev"] = states["c"]
        return states

    def _spans(self, every: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
        """The range of each vector over the whole sequence: its grid's columns are as wide
        (``SteadyGrid``), and its heat ramp the same, at every step, so that stepping never
        widens a grid (a⟨0⟩ = 0 is written in narrower columns than the states after it) and
        cells compare across steps."""
        out = {}
        for key, values in every.items():
            finite = values[np.isfinite(values)]
            if finite.size:
                out[key] = (float(finite.min()), float(finite.max()))
        return out

    def compose(self) -> ComposeResult:
        st = self.rec
        yield CachedRows(id="rec-unrolled")
        with Horizontal(id="rec-top"):
            # Without gates (a plain RNN) the vectors have the whole width.
            alone = " -alone" if st.cell == "rnn" else ""
            with Vertical(classes="box" + alone, id="rec-vectors") as box:
                box.border_title = f"{st.cell.upper()} · hidden {st.hidden_size}"
                box.border_subtitle = f"{len(st)} time steps"
                if st.architecture != "many_to_many":
                    box.border_subtitle = f"T = {len(st)} · {st.architecture.replace('_', '-')}"
                every = self._every()
                spans = self._spans(every)
                for key, label, values in self._vectors():
                    yield CachedRows(
                        Text(label, style=styles.MUTED), classes="rec-label", id=f"rec-{key}-label"
                    )
                    yield SteadyGrid(
                        values[None, :], every=every.get(key), span=spans.get(key), id=f"rec-{key}"
                    )
            if st.cell != "rnn":
                with Vertical(classes="box", id="rec-gates") as box:
                    box.border_title = "Gates, one bar per hidden unit"
                    yield GateBars(st.cell, id="rec-gate-bars")
            else:  # beside the vectors where there is room (see on_resize), else below them
                yield self._inspector_box()
        if st.cell != "rnn":
            yield self._inspector_box()

    @staticmethod
    def _inspector_box() -> CachedRows:
        inspector = CachedRows(id="rec-inspector")
        inspector.border_title = "How this step is computed"
        return inspector

    def show(self, step: RecurrentStep) -> None:  # type: ignore[override]
        self._last = step
        st = self.rec
        outs = None if st.w_ya is None else st.has_output
        tags = None
        if st.labels is not None and st.outputs_y is not None:
            tags = [st.labels[int(k)] for k in np.argmax(st.outputs_y, axis=1)]
        room = self.app.size.width - 4 if self.is_attached and self.app.size.width else 110
        diagram = unrolled(
            step.t,
            len(st),
            width=min(110, max(room, 40)),
            has_input=st.has_input,
            has_output=outs,
            words=st.words,
            tags=tags,
            known=step.t - 1 if st.feedback else None,  # rows up to this step's are known
        )
        # The diagram keeps its height from step to step: no new layout of the screen for it.
        lines = len(diagram.plain.split("\n"))
        put_text(
            self.query_one("#rec-unrolled", Static), diagram, layout=lines != self._diagram_lines
        )
        self._diagram_lines = lines
        y_grid = st.w_ya is not None and step.has_output and st.labels is None
        if st.w_ya is not None:
            # ŷ⟨t⟩ exists at every step; where the architecture has no output it is not shown,
            # and its grid keeps its room (one layout for the whole sequence).
            self._label("y", output_label_at(st, step.index))
            grid = self.query_one("#rec-y", SteadyGrid)
            grid.display = st.labels is None and bool(np.any(st.has_output))
            grid.blank = not y_grid
        self._label("x", Text(input_label(st, step), style=styles.MUTED))
        if st.words is not None:  # the word is named above; a one-hot row says no more
            self.query_one("#rec-x", MatrixGrid).display = False
        values = {
            "x": step.x,
            "a_prev": step.a_prev,
            "c_prev": step.c_prev,
            "c": step.c,
            "a": step.a,
            "y": step.y_hat,
        }
        for key, _, _ in self._vectors():
            v = values[key]
            if v is not None and (key != "y" or y_grid):  # a hidden grid waits
                grid = self.query_one(f"#rec-{key}", SteadyGrid)
                grid.set_values(np.asarray(v)[None, :])
                if key in ("a", "c", "c_prev"):
                    grid.set_window(Window(0, self.unit, 1, 1), follow=False)
        if st.cell != "rnn":
            self.query_one("#rec-gate-bars", GateBars).show(step.gates)
        inspector = self.query_one("#rec-inspector", Static)
        least = self._least.lines(
            inspector,
            (self.unit, self.compact),
            len(st),
            lambda i: self._explain(st.step(i)).plain,
        )
        self._inspector_drawn = update_inspector(
            inspector, self._explain(step), self._inspector_drawn, least
        )
        self._least.drawn(self._inspector_drawn)

    def _explain(self, step: RecurrentStep) -> Text:
        """The inspector's text for ``step``."""
        st = self.rec
        text = explain_recurrent(st, step, self.unit)
        if st.contrast is not None:  # the point of such a scenario: shown first
            text = contrast_text(st, step).append_text(text)
        if self.compact and st.cell == "rnn":
            text.append_text(explain_compact(st, step, self.unit))
        text.rstrip()
        return text

    def _widest(self, key: str) -> int:
        """Cells of the widest label vector ``key`` has at any step, worked out once."""
        width = self._label_width.get(key)
        if width is None:
            st = self.rec
            steps = range(len(st))
            if key == "x":
                width = max(cell_len(input_label_at(st, i)) for i in steps)
            else:
                width = max(output_label_at(st, i).cell_len for i in steps)
            self._label_width[key] = width
        return width

    def on_resize(self) -> None:
        # A plain RNN has no gate bars: its inspector stands beside the vectors when it keeps
        # BESIDE_LEAST columns there (the rows it took below them go to the rest of the
        # screen), else below them.
        if self.rec.cell == "rnn":
            top = self.query_one("#rec-top")
            vectors = self.query_one("#rec-vectors").outer_size.width
            top.set_class(self.size.width - vectors < BESIDE_LEAST, "-stacked")
        # The first step is drawn before the panel has a size: drawn again once it has one,
        # the labels and the inspector take the heights they keep from step to step.
        if self._last is not None:
            self.call_after_refresh(self._reshow)

    def _reshow(self) -> None:
        if self._last is not None:
            self._labels.clear()
            self.show(self._last)

    def _label(self, key: str, label: Text) -> None:
        """Write a vector's label, only when it changes. Every label of a vector is padded to
        the widest it has at any step, so the box keeps its width from step to step, and the
        screen is laid out again only when the label's height changes (a wrapped label)."""
        if self._labels.get(key) == label.markup:
            return
        self._labels[key] = label.markup
        padded = label.copy()
        padded.append(" " * (self._widest(key) - label.cell_len))
        widget = self.query_one(f"#rec-{key}-label", Static)
        self._label_drawn[key] = update_inspector(
            widget,
            padded,
            self._label_drawn.get(key),
            self._label_lines(key, widget),
        )

    def _label_lines(self, key: str, widget: Static) -> int:
        """Lines the label of vector ``key`` keeps at every step: the most any step's label
        wraps to at the label's width."""
        width = widget.content_region.width
        if width <= 0:
            return 0
        least = self._label_least.get((key, width))
        if least is None:
            st = self.rec
            widest = self._widest(key)
            labels = (
                input_label_at(st, i) if key == "x" else output_label_at(st, i).plain
                for i in range(len(st))
            )
            least = max(text_height(widget, label.ljust(widest), width) for label in labels)
            self._label_least[(key, width)] = least
        return least

    def select_unit(self, direction: int) -> int:
        """Move the inspector to the next (+1) or previous (−1) hidden unit, wrapping round."""
        self.unit = (self.unit + direction) % self.rec.hidden_size
        if self._last is not None:
            self.show(self._last)
        return self.unit

    def toggle_compact(self) -> bool:
        """Show the compact form W_a·[a⟨t−1⟩, x⟨t⟩] next to the separate terms (RNN cell)."""
        self.compact = not self.compact
        if self._last is not None:
            self.show(self._last)
        return self.compact
