"""DropoutPanel: dropout at inference, the identity, and what it would do in training."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from engine.layers import DropoutStage, DropoutStep
from tui.numbers import fmt_exact
from tui.panels._elementwise import ElementwisePanel
from tui.panels.base import register


def explain_dropout(step: DropoutStep) -> Text:
    """The inspector's text: out = x, and why."""
    t = Text()
    where = ", ".join(str(p) for p in step.position)
    t.append(f"out[{where}]", style="bold")
    t.append(f" = x[{where}] = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append("   dropout is the identity at inference (model.eval())", style="bold")
    p = step.p
    scale = f"multiplied by 1/(1 − p) = {fmt_exact(1 / (1 - p))}" if p < 1 else "none kept"
    t.append(
        f"\n  in training each element would be zeroed with probability p = {fmt_exact(p)} and "
        f"the others {scale}, so that each output's expected value stays x; at inference "
        "nothing is dropped and nothing scaled. No parameters.",
        style="grey62",
    )
    return t


@register
class DropoutPanel(ElementwisePanel):
    """Draws a DropoutStage: input and output, equal, side by side."""

    kind = "dropout"

    def arrays(self) -> list[tuple[str, np.ndarray]]:
        st = self.stage
        assert isinstance(st, DropoutStage)
        shape = "×".join(str(d) for d in st.x.shape)
        return [(f"Input x {shape}", st.x), (f"Output = x (p = {st.p:g}, inference)", st.output)]

    def show(self, step: DropoutStep) -> None:  # type: ignore[override]
        self.show_element(step.index)
        self.query_one("#ew-inspector", Static).update(
            Content.from_rich_text(explain_dropout(step))
        )
