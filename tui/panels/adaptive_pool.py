"""AdaptivePoolPanel: adaptive average pooling, each output's window found by PyTorch's rule."""

from __future__ import annotations

from rich.text import Text

from engine.layers import AdaptiveAvgPoolStage, AdaptivePoolStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels.base import register
from tui.panels.pool import ChannelPoolPanel
from tui.widgets.matrix import MatrixGrid, Window

VALUES_WRITTEN = 16
"""Window values written out in the sum before the rest are left to "…"."""


def window_rule(i: int, n_in: int, n_out: int, size: str, out: str) -> str:
    """Output index ``i``'s window along one axis with the numbers: ⌊i·H/h⌋ … ⌈(i+1)·H/h⌉ − 1."""
    start = i * n_in // n_out
    end = -(-(i + 1) * n_in // n_out)
    return (
        f"⌊{i}·{n_in}/{n_out}⌋ = {start} … ⌈{i + 1}·{n_in}/{n_out}⌉ − 1 = {end - 1}"
        f"   (⌊{out}·{size}/{size.lower()}⌋ … ⌈({out}+1)·{size}/{size.lower()}⌉ − 1)"
    )


def explain_adaptive(stage: AdaptiveAvgPoolStage, step: AdaptivePoolStep) -> Text:
    """The inspector's text: the window from the rule, its values, their mean."""
    t = Text()
    _, h, w = stage.in_shape
    oh, ow = stage.out_hw
    cells = step.window.ravel()[:VALUES_WRITTEN]
    values = [fmt_exact(float(cells[0]))] + [fmt_factor(float(v)) for v in cells[1:]]
    n = step.window.size
    t.append(f"out[{step.channel}, {step.row}, {step.col}]", style="bold")
    t.append(" = mean of the window = (" + " + ".join(values))
    if n > VALUES_WRITTEN:
        t.append(f" + … {n - VALUES_WRITTEN} more", style="grey62")
    t.append(f")/{n} = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append("\n  rows " + window_rule(step.row, h, oh, "H", "i"), style="grey62")
    t.append("\n  cols " + window_rule(step.col, w, ow, "W", "j"), style="grey62")
    t.append(
        f"\n  the output is {oh}×{ow} whatever the input size ({h}×{w} here): windows differ in "
        "size, and neighbours may share rows or columns. No parameters.",
        style="grey62",
    )
    return t


@register
class AdaptivePoolPanel(ChannelPoolPanel[AdaptiveAvgPoolStage, AdaptivePoolStep]):
    """Draws an AdaptiveAvgPoolStage: the channels side by side, the current one with its
    window, and their outputs."""

    kind = "adaptive_avgpool2d"

    DEFAULT_CSS = """
    AdaptivePoolPanel #ap-grids {
        height: auto;
        max-height: 65vh;
    }
    AdaptivePoolPanel .box {
        width: auto;
        height: auto;
        max-height: 65vh;
        padding: 0 0 0 1;
    }
    AdaptivePoolPanel .maps {
        width: auto;
        height: auto;
    }
    AdaptivePoolPanel #ap-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    PREFIX = "ap"

    def input_subtitle(self) -> str:
        oh, ow = self.pool.out_hw
        return f"pooled to {oh}×{ow}"

    def mark_window(self, grid: MatrixGrid, step: AdaptivePoolStep) -> None:
        grid.set_window(Window(step.top, step.left, step.bottom - step.top, step.right - step.left))

    def explain(self, step: AdaptivePoolStep) -> Text:
        return explain_adaptive(self.pool, step)
