"""SoftmaxPanel: class scores turned into probabilities, one class at a time, with the shift by
the largest logit that keeps every exponential finite."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from engine.layers import SoftmaxStage, SoftmaxStep
from tui.numbers import fmt_exact, fmt_factor, fraction
from tui.panels._maps import no_links
from tui.panels._vector import update_inspector
from tui.panels.base import Panel, register

ROWS = 10
"""Classes listed when they are this many or fewer; with more, the TOP most probable ones."""
TOP = 5
"""Most probable classes listed (with the current one) when there are more than ROWS."""
TERMS_WRITTEN = 8
"""Terms of Σ written out before the rest are counted."""

_HEAD = Style(color="grey50")
_CURRENT = Style(color="black", bgcolor="bright_green", bold=True)
_BAR = Style(color="bright_cyan")
_GAP = Style(color="grey50")


def listed_classes(stage: SoftmaxStage, current: int) -> list[int]:
    """The classes the table lists: all of them in order when they fit, else the most probable
    ones, most probable first, and the current class."""
    n = len(stage)
    if n <= ROWS:
        return list(range(n))
    top: list[int] = np.argsort(-stage.output, kind="stable")[:TOP].tolist()
    if current not in top:
        top.append(current)
    return top


class ClassTable(Widget, can_focus=False):
    """One row per listed class: z_i, z_i − max, e^(z_i − max), p_i and a bar of p_i."""

    DEFAULT_CSS = """
    ClassTable {
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, stage: SoftmaxStage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = stage
        self.current = 0

    def render(self) -> Text:
        st = self.stage
        width = self.content_region.width or self.size.width or 76
        idx_w = max(len(str(len(st) - 1)), 5)
        titles = ("z_i", "z_i − max", "e^(z_i − max)", "p_i")
        widths = [max(len(title), 9) + 2 for title in titles]
        bar_w = max(width - idx_w - 1 - sum(widths), 4)
        head = Text("class".rjust(idx_w) + " ", style=_HEAD)
        for title, cw in zip(titles, widths, strict=True):
            head.append(title.rjust(cw - 1) + " ", style=_HEAD)
        lines = [head]
        listed = listed_classes(st, self.current)
        for k in listed:
            z, shifted, e = float(st.z[k]), float(st.shifted[k]), float(st.exp[k])
            p = float(st.output[k])
            style = _CURRENT if k == self.current else Style()
            line = Text(str(k).rjust(idx_w) + " ", style=style)
            shift_text = fmt_exact(shifted, 4) if np.isfinite(shifted) else "< −1.8e308"
            for text, cw in zip(
                (fmt_exact(z, 4), shift_text, fmt_exact(e, 4), fmt_exact(p, 4)), widths, strict=True
            ):
                line.append(text.rjust(cw - 1) + " ", style=style)
            line.append("█" * round(fraction(p, 1.0) * bar_w), style=_BAR)
            lines.append(line)
        if len(listed) < len(st):
            lines.append(Text(f"… {len(st) - len(listed):,} other classes", style=_GAP))
        out = Text("\n").join(lines)
        out.no_wrap = True
        out.overflow = "crop"
        return out

    def get_content_height(self, container, viewport, width) -> int:  # type: ignore[no-untyped-def]
        listed = len(listed_classes(self.stage, self.current))
        return 1 + listed + (listed < len(self.stage))


def explain_softmax(stage: SoftmaxStage, step: SoftmaxStep) -> Text:
    """The inspector's text: p_i with every number, and Σ written out."""
    i = step.index
    t = Text()
    t.append(f"p[{i}]", style="bold")
    t.append(" = e^(z_i − max)/Σ_j e^(z_j − max)\n")
    t.append(f"  = e^({fmt_exact(step.z)} − {fmt_factor(step.z_max)})/Σ = ")
    power = fmt_factor(step.shifted) if np.isfinite(step.shifted) else "(< −1.8e308)"
    t.append(f"e^{power}")
    t.append(f"/Σ = {fmt_exact(step.exp)}/{fmt_exact(step.total)} = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    e = stage.exp
    n = e.size
    terms = " + ".join(fmt_exact(float(v), 4) for v in e[:TERMS_WRITTEN])
    more = f" + … ({n - TERMS_WRITTEN:,} more)" if n > TERMS_WRITTEN else ""
    t.append(f"\n  Σ = {terms}{more} = {fmt_exact(step.total)}", style="grey62")
    t.append(
        f"\n  max = z_{step.argmax} = {fmt_exact(step.z_max)}: subtracting it changes no p_i (it "
        "cancels) but keeps every e^(…) ≤ 1, so no exponential overflows; the p_i sum to 1",
        style="grey62",
    )
    return t


@register
class SoftmaxPanel(Panel):
    """Draws a SoftmaxStage: the classes as a table with probability bars, and the inspector."""

    kind = "softmax"

    DEFAULT_CSS = """
    SoftmaxPanel .box {
        height: auto;
        padding: 0 1;
    }
    SoftmaxPanel #softmax-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: SoftmaxStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self._inspector_drawn: tuple[int, int] | None = None
        self.softmax = stage

    def compose(self) -> ComposeResult:
        st = self.softmax
        with Vertical(classes="box", id="softmax-box") as box:
            box.border_title = f"Softmax over {len(st):,} classes"
            if len(st) > ROWS:
                box.border_subtitle = f"the {TOP} most probable, and the current class"
            yield ClassTable(st, id="softmax-table")
        inspector = Static(id="softmax-inspector")
        no_links(inspector)  # rewritten every step; it has no links
        inspector.border_title = "How this number is computed"
        yield inspector

    def show(self, step: SoftmaxStep) -> None:  # type: ignore[override]
        table = self.query_one("#softmax-table", ClassTable)
        changed = table.current != step.index
        table.current = step.index
        table.refresh(layout=changed)
        self._inspector_drawn = update_inspector(
            self.query_one("#softmax-inspector", Static),
            Content.from_rich_text(explain_softmax(self.softmax, step)),
            self._inspector_drawn,
        )

    def set_heat(self, on: bool) -> None:
        """No grid of numbers: the bars already show the sizes."""
