"""NetsimApp: opens the scenario browser, or the player straight away when given a simulation.

The app decides which screen comes next, so that the browser and the player never import each
other: the browser posts ``BrowserScreen.Opened`` and the player ``PlayerScreen.BackToList``.
"""

from __future__ import annotations

import os
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App
from textual.worker import WorkerFailed

from tui import heap
from tui.screens.browser import BrowserScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from engine.core import Simulation
    from scenarios.errors import ScenarioError
    from tui.screens.loading import LoadingScreen, Opening
    from tui.screens.network import NetworkScreen
    from tui.screens.player import PlayerScreen

DEBUG_VARIABLE = "NETSIM_DEBUG"
"""Environment variable that, set to anything but empty or 0, prints the traceback of a crash."""


IDLE_COLLECT_SECONDS = 1.0
"""How often the app looks whether it is idle enough for the full collection Python would
have made by then (``tui.heap.collect_when_idle``)."""
IDLE_SECONDS = 0.5
"""Seconds without an input event (a key, or any mouse event, moves included) after which the
app counts as idle."""


def debugging() -> bool:
    """Whether the user asked for tracebacks (``NETSIM_DEBUG=1``)."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


class NetsimApp(App[None]):
    """The netsim terminal app."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "netsim"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        simulation: Simulation | None = None,
        *,
        opening: Opening | None = None,
        start: int = 0,
        check: bool = True,
        reproducible: bool = False,
    ) -> None:
        """With ``simulation`` the player opens at step ``start``; with ``opening``, the player's
        frame is drawn from the file's title and description while it is loaded, then the
        player (see ``LoadingScreen``); with neither, the browser.
        ``check`` runs the PyTorch comparison once the player is on screen. ``reproducible``
        shows only figures that are the same on every machine (see ``reproducible``)."""
        super().__init__()
        self._simulation: Simulation | weakref.ref[Simulation] | None = simulation
        self.opening = opening
        self.reproducible = reproducible
        """Draw the same screen on every machine: where a figure depends on the CPU, the BLAS
        kernels, the thread count or the clock (the PyTorch badge's measured max |Δ|), show
        what does not (the tolerance it met). For snapshots; people see the real figures."""
        self._start = start
        self._check = check
        self.crash: BaseException | None = None
        """The exception that stopped the app, if one did (its return code is then 1)."""
        self.load_error: ScenarioError | None = None
        """Why the file given as ``opening`` could not be loaded (the app then exits with
        return code 1, and the command line prints it once the terminal is restored)."""
        self.last_input = time.monotonic()
        """When the user last pressed a key or used the mouse (``time.monotonic``)."""

    @property
    def simulation(self) -> Simulation | None:
        """The simulation given, or loaded from ``opening``; once on screen, only for as long
        as a screen shows it (a reload or another scenario lets it be freed)."""
        held = self._simulation
        return held() if isinstance(held, weakref.ref) else held

    def _shown(self, simulation: Simulation, screen: Screen[None]) -> Screen[None]:
        self._simulation = weakref.ref(simulation)  # the screen holds it now
        return screen

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.last_input = time.monotonic()  # every key and mouse event reaches the app first
        await super().on_event(event)

    def idle(self) -> bool:
        """Whether no key or mouse event came for ``IDLE_SECONDS`` and the screen on top is not
        playing."""
        quiet = time.monotonic() - self.last_input >= IDLE_SECONDS
        return quiet and not getattr(self.screen, "playing", False)

    def _collect_when_idle(self) -> None:
        """The full garbage collection Python would have made during the keys (see
        ``tui.heap``), made now that none is being pressed, whichever screen is on top."""
        if self.idle():
            heap.collect_when_idle()

    def on_mount(self) -> None:
        heap.use_fresh_contexts()  # a worker's thread keeps no screen alive (see tui.heap)
        heap.quiet_full_collections()  # full collections when no key is pressed (tui.heap)
        if not self.reproducible:  # a collection's moment would depend on the clock
            self.set_interval(IDLE_COLLECT_SECONDS, self._collect_when_idle)
        if heap.pending():
            heap.collect()  # an app closed before in this process (tests, benchmarks)
        simulation = self.simulation
        if simulation is not None:
            screen = self._opened(simulation, start=self._start, check=self._check)
            self.push_screen(self._shown(simulation, screen))
        elif self.opening is not None:
            from tui.screens.loading import LoadingScreen

            self.push_screen(LoadingScreen(self.opening))
        else:
            self.push_screen(BrowserScreen())

    def on_loading_screen_loaded(self, message: LoadingScreen.Loaded) -> None:
        """The file given as ``opening`` is loaded: its screen takes the loading one's place."""
        screen = self._opened(message.simulation, start=self._start, check=self._check)
        hold = getattr(screen, "hold_first_frame", None)  # the player's; not the network's
        if hold is not None:
            hold()
        self.switch_screen(self._shown(message.simulation, screen))

    def on_loading_screen_failed(self, message: LoadingScreen.Failed) -> None:
        """The file given as ``opening`` has a mistake: leave, and let the command line say it
        on one line once the terminal is back to normal."""
        self.load_error = message.error
        self.exit(return_code=1)

    def on_browser_screen_opened(self, message: BrowserScreen.Opened) -> None:
        self.push_screen(self._opened(message.simulation))

    @classmethod
    def _opened(cls, simulation: Simulation, **kw: object) -> Screen[None]:
        """The screen a simulation opens in: the network screen for a whole network (its one
        stage is ``Layered``; ``start`` is then the layer the cursor starts on), the player
        otherwise. Both are imported here, on first use, like the player."""
        from engine.core import Layered

        if len(simulation.stages) == 1 and isinstance(simulation.stages[0], Layered):
            from tui.screens.network import NetworkScreen

            return NetworkScreen(simulation, **kw)  # type: ignore[arg-type]
        return cls._player(simulation, **kw)

    @staticmethod
    def _player(simulation: Simulation, **kw: object) -> PlayerScreen:
        """The player on ``simulation``. Imported here, on first use: the player brings NumPy,
        the engine and every panel, which the browser's first frame must not wait for."""
        from tui.screens.player import PlayerScreen

        return PlayerScreen(simulation, **kw)  # type: ignore[arg-type]

    def on_player_screen_back_to_list(self, message: PlayerScreen.BackToList) -> None:
        """Back to the list (or the layer table) the player was opened from, or a new list
        (``netsim FILE``)."""
        self._back()

    def on_network_screen_back_to_list(self, message: NetworkScreen.BackToList) -> None:
        """Back to the list the network was opened from, or a new one (``netsim FILE``)."""
        self._back()

    def _back(self) -> None:
        heap.release(self.screen)  # the simulation left is garbage: let the collector free it
        if len(self.screen_stack) > 2:
            self.pop_screen()
        else:
            self.switch_screen(BrowserScreen())

    def on_unmount(self) -> None:
        """The app has closed: what it froze is garbage (another app may follow in the same
        process: tests, benchmarks)."""
        heap.release()

    def _handle_exception(self, error: Exception) -> None:
        # Textual exits with return code 1 and prints a full traceback with local variables.
        # Keep the exit, remember the error for the command line's one-line message, and keep
        # the traceback only when asked for. (Textual has no public hook for this; its version
        # is pinned in pyproject.toml.)
        if self.crash is None:
            inner = error.error if isinstance(error, WorkerFailed) else None
            self.crash = inner if isinstance(inner, BaseException) else error
        super()._handle_exception(error)
        if not debugging():
            self._exit_renderables.clear()
