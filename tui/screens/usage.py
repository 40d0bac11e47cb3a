"""UsageScreen: how many windows read each input pixel, without padding and with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from engine.receptive import input_hw, usage_counts
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.matrix import MatrixGrid

if TYPE_CHECKING:
    from engine.core import BorderUsage


def hint(heat: bool) -> str:
    """What h does from here: the counts as numbers from the heat picture, or back."""
    if heat:
        return "Brighter is more often; press h to see the numbers."
    return "Press h to see them as heat again (brighter is more often)."


class UsageScreen(Screen[None]):
    """Two heat grids side by side: window counts per input pixel for "valid" and for padding
    (f − 1)/2, the stride and window of the stage on screen."""

    BINDINGS = [
        Binding("escape,u", "close", "Back to the player", id="close"),
        Binding("h", "toggle_heat", "Heat", id="heat"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    DEFAULT_CSS = """
    UsageScreen #usage-grids {
        height: auto;
        max-height: 1fr;
    }
    UsageScreen .usage-box {
        width: auto;
        max-width: 50%;
        min-width: 32;
        height: auto;
        padding: 0 1;
    }
    UsageScreen #usage-note {
        height: auto;
        padding: 0 1;
        border: round $secondary 60%;
    }
    """

    def __init__(self, stage: BorderUsage) -> None:
        super().__init__()
        self.stage = stage

    def compose(self) -> ComposeResult:
        st = self.stage
        hw = input_hw(st)  # type: ignore[arg-type]
        (fh, fw), stride, _ = st.usage_geometry()
        padded = ((fh - 1) // 2, (fw - 1) // 2)
        self.valid = usage_counts(hw, (fh, fw), stride, (0, 0))
        self.same = usage_counts(hw, (fh, fw), stride, padded)
        yield Header(show_clock=False, icon="▦")
        with Horizontal(id="usage-grids"):
            for key, counts, label in (
                ("valid", self.valid, "no padding (valid)"),
                (
                    "same",
                    self.same,
                    f"padding {padded[0]}" + (" (same)" if stride == (1, 1) else ""),
                ),
            ):
                with Vertical(classes="box usage-box") as box:
                    box.border_title = label
                    box.border_subtitle = (
                        f"corner {counts[0, 0]}×, centre {counts[hw[0] // 2, hw[1] // 2]}×"
                    )
                    grid = MatrixGrid(counts, id=f"usage-{key}")
                    grid.heat = True
                    yield grid
        corner_v, corner_s = int(self.valid[0, 0]), int(self.same[0, 0])
        self._note = (
            f"How many {fh}×{fw} windows (stride {stride[0]}) read each pixel of the "
            f"{hw[0]}×{hw[1]} input. Without padding a corner pixel is read {corner_v}× "
            f"while a centre pixel is read up to {int(self.valid.max())}×: the border counts for "
            f"less, and the output shrinks. With padding the corner is read {corner_s}× and the "
            "output keeps its size. "
        )
        yield Static(self._note + hint(heat=True), id="usage-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Border usage"
        self.sub_title = self.stage.name  # type: ignore[attr-defined]

    def action_toggle_heat(self) -> None:
        heat = not self.query_one("#usage-valid", MatrixGrid).heat
        for grid in self.query(MatrixGrid):
            grid.heat = heat
        self.query_one("#usage-note", Static).update(self._note + hint(heat))

    def action_close(self) -> None:
        self.dismiss(None)
