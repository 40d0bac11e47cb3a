"""AddPanel: the residual join, out = a + b element by element."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from engine.layers import AddStage, AddStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels._elementwise import ElementwisePanel
from tui.panels.base import register


def explain_add(step: AddStep) -> Text:
    """The inspector's text: the two numbers and their sum, and what the join means."""
    t = Text()
    where = ", ".join(str(p) for p in step.position)
    t.append(f"out[{where}]", style="bold")
    t.append(f" = a + b = {fmt_exact(step.a)} + {fmt_factor(step.b)} = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append(
        "\n  a residual join: a is the block's main path F(x), b its skip path (x itself, or its "
        "1×1 projection when the shape changes), so the block outputs F(x) + x and only has to "
        "learn the change F(x). The gradient reaches both paths through the + unchanged. "
        "No parameters.",
        style="grey62",
    )
    return t


@register
class AddPanel(ElementwisePanel):
    """Draws an AddStage: a, b and a + b side by side, one channel at a time."""

    kind = "add"

    DEFAULT_CSS = """
    AddPanel .box {
        max-width: 33%;
    }
    """

    def arrays(self) -> list[tuple[str, np.ndarray]]:
        st = self.stage
        assert isinstance(st, AddStage)
        shape = "×".join(str(d) for d in st.a.shape)
        return [(f"a {shape}", st.a), ("b (skip)", st.b), ("a + b", st.output)]

    def show(self, step: AddStep) -> None:  # type: ignore[override]
        self.show_element(step.index)
        self.query_one("#ew-inspector", Static).update(Content.from_rich_text(explain_add(step)))
