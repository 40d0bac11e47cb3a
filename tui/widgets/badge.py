"""TorchBadge: whether the stage on screen matches PyTorch's own op, and by how much."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

TOLERANCE = 1e-9
"""Largest |Δ| still called a match, relative to the stage's largest magnitude (at least 1)."""


class TorchBadge(Widget):
    """A short badge: not checked / checking / matches (max |Δ|) / differs / error."""

    DEFAULT_CSS = """
    TorchBadge {
        width: auto;
        height: 1;
        padding: 0 1;
    }
    """

    state: reactive[str] = reactive("idle", layout=True)
    """One of idle, checking, done, error."""
    delta: reactive[float] = reactive(0.0)
    """Max |Δ| from the last check."""
    matches: reactive[bool] = reactive(True)
    """Whether the last check was within tolerance."""
    stages: reactive[int] = reactive(1)
    """How many stages the last check compared."""
    detail: reactive[str] = reactive("")
    """Error text when the check could not run."""

    def render(self) -> Text:
        if self.state == "checking":
            return Text("⋯ checking against PyTorch", style="grey62")
        if self.state == "error":
            return Text(f"✗ PyTorch check failed: {self.detail}", style="bold red")
        if self.state == "done":
            what = "matches" if self.stages == 1 else f"all {self.stages} stages match"
            if self.matches:
                return Text(f"✓ {what} PyTorch · max |Δ| = {self.delta:.1e}", style="bold green")
            return Text(f"✗ differs from PyTorch · max |Δ| = {self.delta:.1e}", style="bold red")
        return Text("PyTorch: press c to check", style="grey62")
