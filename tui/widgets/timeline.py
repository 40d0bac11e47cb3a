"""Timeline: where the cursor is among all steps, with stage boundaries and playback state."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tui.styles import MUTED

MIN_BAR = 20
"""Cells of the progress bar kept however long the step's label is."""


class Timeline(Widget):
    """One line: play state, ``step n of N`` (n from 1), a bar with stage boundaries, and the
    speed."""

    DEFAULT_CSS = """
    Timeline {
        height: 1;
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    position: reactive[int] = reactive(0)
    """The current global step's index (from 0; it is shown as step position + 1)."""
    total: reactive[int] = reactive(1)
    """How many steps there are."""
    playing: reactive[bool] = reactive(False)
    """Whether playback is running."""
    speed: reactive[float] = reactive(5.0)
    """Playback speed in steps per second."""
    label: reactive[str] = reactive("")
    """What the current step is (stage and output element)."""

    def __init__(self, boundaries: list[int] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.boundaries = boundaries or []
        """Global indices where a new stage starts (after the first)."""

    def render(self) -> Content:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" ▶ " if self.playing else " ⏸ ", style="bold green" if self.playing else "bold")
        last = max(self.total - 1, 0)
        width_num = len(str(self.total))
        # Steps count from 1, as in `netsim trace` and `netsim snapshot --step`: the first of
        # N steps is step 1 and the last is step N.
        shown = str(self.position + 1).rjust(width_num)
        t.append(f"step {shown} of {self.total} ", style="bold")
        tail = Text(f"  {self.speed:g} steps/s  ", style=MUTED)
        tail.append(self.label)
        # A long label is cut short (with …) before the bar gets shorter than MIN_BAR.
        # In a narrow terminal the label matters more, and the bar may shrink to 4 cells.
        least = MIN_BAR if self.size.width >= 70 else 4
        bar_w = max(self.size.width - len(t) - len(tail) - 1, least)
        frac = self.position / last if last else 1.0
        filled = round(frac * (bar_w - 1))
        marks = {round(b / last * (bar_w - 1)) for b in self.boundaries if last}
        bar = ["━"] * bar_w
        for m in marks:
            bar[m] = "┃"  # where a new stage starts
        bar[filled] = "●"
        # Three styled runs (done, here, to come) rather than one piece per cell.
        t.append("".join(bar[:filled]), style="bright_green")
        t.append(bar[filled], style="bold yellow")
        t.append("".join(bar[filled + 1 :]), style="grey35")
        t.append_text(tail)
        return Content.from_rich_text(t)
