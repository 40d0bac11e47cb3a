"""NetsimApp: opens the scenario browser, or the player straight away when given a simulation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from tui.screens.browser import BrowserScreen

if TYPE_CHECKING:
    from engine.core import Simulation


class NetsimApp(App[None]):
    """The netsim terminal app."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "netsim"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        simulation: Simulation | None = None,
        *,
        start: int = 0,
        check: bool = True,
        reproducible: bool = False,
    ) -> None:
        """With ``simulation`` the player opens at step ``start``; without, the browser.
        ``check`` runs the PyTorch comparison once the player is on screen. ``reproducible``
        shows only figures that are the same on every machine (see ``reproducible``)."""
        super().__init__()
        self.simulation = simulation
        self.reproducible = reproducible
        """Draw the same screen on every machine: where a figure depends on the CPU, the BLAS
        kernels, the thread count or the clock (the PyTorch badge's measured max |Δ|), show
        what does not (the tolerance it met). For snapshots; people see the real figures."""
        self._start = start
        self._check = check

    def on_mount(self) -> None:
        if self.simulation is None:
            self.push_screen(BrowserScreen())
        else:
            from tui.screens.player import PlayerScreen

            self.push_screen(PlayerScreen(self.simulation, start=self._start, check=self._check))
