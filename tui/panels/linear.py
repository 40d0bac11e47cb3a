"""LinearPanel: one neuron of a fully connected layer, its dot product written out, term by term
where it fits and by its largest terms where the input is long."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from engine.layers import LinearStage, LinearStep
from tui.numbers import fmt_exact, fmt_factor, fmt_num
from tui.panels._maps import no_links
from tui.panels._vector import VectorStrip, update_inspector, value_width
from tui.panels.base import Panel, register
from tui.widgets.matrix import heat_style

TERMS_WRITTEN = 12
"""Products the inspector writes out one by one before it sums the rest in one number."""

_LABEL = Style(color="grey50")
_GAP = Style(color="grey50")
_POSITIVE = Style(color="bright_green")
_NEGATIVE = Style(color="bright_red")
_LARGEST = Style(color="black", bgcolor="yellow", bold=True)


def shown_terms(products: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` products largest in magnitude, in input order (all of them
    when there are no more than ``count``)."""
    n = products.size
    if n <= count:
        return np.arange(n)
    top = np.argpartition(-np.abs(products), count - 1)[:count]
    return np.sort(top)


def with_gaps(indices: np.ndarray) -> list[int | None]:
    """``indices`` with None wherever consecutive ones are not neighbours (drawn as "…")."""
    out: list[int | None] = []
    prev = -1
    for k in indices.tolist():
        if k != prev + 1:
            out.append(None)
        out.append(k)
        prev = k
    return out


class TermsTable(Widget, can_focus=False):
    """The dot product as a table: input index k, x[k], W[i, k] and the product, one column per
    term; when the input is longer than the width allows, the columns are the largest products
    and "…" stands for the terms between them."""

    DEFAULT_CSS = """
    TermsTable {
        height: 4;
        width: 1fr;
    }
    """

    LABELS = ("k", "x[k]", "W[i,k]", "W·x")

    def __init__(self, stage: LinearStage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = stage
        self.step: LinearStep | None = None
        self.heat = False
        x = stage.x
        self._x_w = value_width(x)
        self._label_w = max(len(s) for s in self.LABELS) + 1
        self.shown = 0

    def show(self, step: LinearStep) -> None:
        self.step = step
        self.refresh()

    def columns(self, width: int) -> np.ndarray:
        """Which terms fit in ``width`` columns of the table."""
        assert self.step is not None
        cw = self._cell_w(self.step)
        n = self.step.products.size
        room = max(width - self._label_w, cw)
        if n * cw <= room:
            return np.arange(n)
        return shown_terms(self.step.products, max(1, room // (cw + 2)))

    def _cell_w(self, step: LinearStep) -> int:
        index_w = len(str(step.products.size - 1))
        return max(self._x_w, value_width(step.weight_row), value_width(step.products), index_w) + 1

    def render(self) -> Text:
        step = self.step
        if step is None:
            return Text()
        width = self.content_region.width or self.size.width
        cols = self.columns(width)
        self.shown = cols.size
        cw = self._cell_w(step)
        largest = int(np.argmax(np.abs(step.products)))
        lines = [Text() for _ in self.LABELS]
        for line, label in zip(lines, self.LABELS, strict=True):
            line.append(label.rjust(self._label_w - 1) + " ", style=_LABEL)
        rows = (step.x, step.weight_row, step.products)
        lo = float(step.products.min())
        hi = float(step.products.max())
        for k in with_gaps(cols):
            if k is None:
                for line in lines:
                    line.append(" …" if line is not lines[0] else "  ", style=_GAP)
                continue
            lines[0].append(" " + str(k).rjust(cw - 1), style=_LABEL)
            for line, row in zip(lines[1:], rows, strict=True):
                v = float(row[k])
                style: Style | str = ""
                if row is step.products:
                    if self.heat:
                        style = heat_style(v, lo, hi)
                    elif k == largest:
                        style = _LARGEST
                    else:
                        style = _POSITIVE if v > 0 else (_NEGATIVE if v < 0 else "")
                line.append(" " + fmt_num(v).rjust(cw - 1), style=style)
        out = Text("\n").join(lines)
        out.no_wrap = True
        out.overflow = "crop"
        return out

    def on_resize(self) -> None:
        self.refresh()


def explain_linear(stage: LinearStage, step: LinearStep, shown: np.ndarray) -> Text:
    """The inspector's text: the dot product with the terms in the table written out and the
    others summed in one number, the bias, the value, and the layer's size."""
    i = step.neuron
    n = step.products.size
    t = Text()
    t.append(f"out[{i}]", style="bold")
    t.append(f" = Σ_k W[{i},k]·x[k]" + (f" + b[{i}]" if step.has_bias else ""))
    t.append(f"   (a dot product of {n:,} terms)\n", style="grey62")
    written = shown if shown.size <= TERMS_WRITTEN else shown_terms(step.products, TERMS_WRITTEN)
    t.append("  = ")
    w, x = step.weight_row, step.x
    parts = [f"{fmt_factor(float(w[k]))}·{fmt_factor(float(x[k]))}" for k in written]
    t.append(" + ".join(parts))
    rest = n - written.size
    if rest:
        others = float(step.total - float(step.products[written].sum()))
        t.append(f" + [the other {rest:,}: {fmt_exact(others)}]", style="grey62")
    t.append(" = ")
    t.append(fmt_exact(step.total), style="bold")
    t.append("\n")
    if step.has_bias:
        t.append("  bias: ", style="grey62")
        t.append(f"{fmt_exact(step.total)} + {fmt_factor(step.bias)} = ")
    else:
        t.append("  no bias: ", style="grey62")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append("\n")
    m = stage.out_features
    params = stage.parameter_count
    formula = f"{m:,}·{n:,}" + (f" + {m:,}" if step.has_bias else "")
    t.append(
        f"  W is {m:,}×{n:,}, one row per neuron: {formula} = {params:,} parameters; "
        "every output reads every input",
        style="grey62",
    )
    return t


@register
class LinearPanel(Panel):
    """Draws a LinearStage: the current neuron's dot product, and the outputs filling in."""

    kind = "linear"

    DEFAULT_CSS = """
    LinearPanel .box {
        height: auto;
        padding: 0 1;
    }
    LinearPanel #linear-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: LinearStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.linear = stage
        self._last: LinearStep | None = None
        self._inspector_drawn: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        st = self.linear
        n, m = st.in_features, st.out_features
        with Vertical(classes="box", id="linear-terms-box") as box:
            box.border_title = f"Neuron 0: W[0] · x over {n:,} inputs"
            yield TermsTable(st, id="linear-terms")
        with Vertical(classes="box", id="linear-output-box") as box:
            box.border_title = f"Output: {m:,} neurons"
            box.border_subtitle = "bias" if st.bias is not None else "no bias"
            yield VectorStrip(st.output, labels=("i", "out"), progress=True, id="linear-output")
        inspector = Static(id="linear-inspector")
        no_links(inspector)  # rewritten every step; it has no links
        inspector.border_title = "How this number is computed"
        yield inspector

    def show(self, step: LinearStep) -> None:  # type: ignore[override]
        self._last = step
        table = self.query_one("#linear-terms", TermsTable)
        table.show(step)
        self.query_one("#linear-output", VectorStrip).set_current(step.neuron)
        n = self.linear.in_features
        box = self.query_one("#linear-terms-box")
        box.border_title = f"Neuron {step.neuron}: W[{step.neuron}] · x over {n:,} inputs"
        width = table.content_region.width or table.size.width or 76
        shown = table.columns(width)
        box.border_subtitle = (
            "every term" if shown.size == n else f"the {shown.size} largest |W·x| of {n:,}"
        )
        self._inspector_drawn = update_inspector(
            self.query_one("#linear-inspector", Static),
            Content.from_rich_text(explain_linear(self.linear, step, shown)),
            self._inspector_drawn,
        )

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(self._last)

    def set_heat(self, on: bool) -> None:
        table = self.query_one("#linear-terms", TermsTable)
        table.heat = on
        table.refresh()
        self.query_one("#linear-output", VectorStrip).heat = on

    def on_vector_strip_cell_clicked(self, message: VectorStrip.CellClicked) -> None:
        message.stop()
        self.post_message(self.StepChosen(message.index))
