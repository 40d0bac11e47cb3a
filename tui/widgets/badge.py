"""TorchBadge: whether the stage on screen matches PyTorch's own op, and by how much."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.styles import MUTED

TOLERANCE = 1e-9
"""Largest |Δ| still called a match, relative to the stage's largest magnitude (at least 1)."""


def tolerance_text(tolerance: float) -> str:
    """A tolerance as the reproducible badge prints it: 1e-9, 1e-4."""
    return "{}e{}".format(*(int(part) for part in f"{tolerance:.0e}".split("e")))


class TorchBadge(Widget):
    """A short badge: not checked / checking / matches (max |Δ|) / differs / error.

    The measured max |Δ| is float64 rounding noise, and its last bits depend on the CPU, the
    BLAS kernels and the thread count. When the app is *reproducible* (``NetsimApp`` with
    ``reproducible=True``, as in ``netsim snapshot --reproducible`` and the snapshot tests), the
    badge prints the tolerance met or missed instead of the measured figure, so that the same
    screen draws the same on every machine.
    """

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
    tolerance: reactive[float] = reactive(TOLERANCE)
    """The tolerance the last check was held to (relative to the output's scale)."""
    detail: reactive[str] = reactive("")
    """Error text when the check could not run."""

    @property
    def reproducible(self) -> bool:
        """Whether the app asks for machine-independent figures only (see the class doc)."""
        return bool(getattr(self.app, "reproducible", False))

    def render(self) -> Text:
        if self.state == "checking":
            return Text("⋯ checking against PyTorch", style=MUTED)
        if self.state == "error":
            return Text(f"✗ PyTorch check failed: {self.detail}", style="bold red")
        if self.state == "done":
            what = "matches" if self.stages == 1 else f"all {self.stages} stages match"
            if self.reproducible:
                bound = "within" if self.matches else "above"
                figure = f"|Δ| {bound} {tolerance_text(self.tolerance)}"
            else:
                figure = f"max |Δ| = {self.delta:.1e}"
            if self.matches:
                return Text(f"✓ {what} PyTorch · {figure}", style="bold green")
            return Text(f"✗ differs from PyTorch · {figure}", style="bold red")
        return Text("PyTorch: press c to check", style=MUTED)
