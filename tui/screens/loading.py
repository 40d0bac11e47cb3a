"""LoadingScreen: the player's layout (or the layer table's, for a network), drawn from a
scenario file's title and description while the file is loaded in a thread.

``netsim FILE`` in a terminal paints this screen before NumPy, pydantic and the scenario loader
are imported (they take most of the time to the first frame): the title and file name in the
header, the description where the player has it, "Loading …" where the panel will be, and the
footer. When the file is loaded the app puts the player (or the network screen) in its place;
when it fails, the app exits and the command line prints the file's one-line error. This module
imports neither NumPy nor the engine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from scenarios.errors import ScenarioError
from tui import heap
from tui.styles import MUTED
from tui.text import paragraphs
from tui.widgets.keyfooter import KeyFooter

if TYPE_CHECKING:
    from engine.core import Simulation

SHORT = 32
"""Below this many rows the description starts hidden: the panel needs the lines (``d`` shows
it). The player and this screen share it, so that the description does not jump."""

FOOTER_TWO_LINES = 100
"""Below this many columns the player's footer takes two lines for most scenarios (32 of the
49 bundled players at 80 columns, 15 at 100, none at 160; its keys depend on the stage, not
known before loading): the loading screen keeps two lines for it there, so that the
description does not move up a line when the player comes."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Opening:
    """A scenario file to open, with what can be shown before it is loaded."""

    path: Path
    title: str
    description: str
    load: Callable[[Progress], Simulation]
    """Reads and builds the simulation (in a thread), calling ``progress(done, total)`` while
    a scenario trains; raises ScenarioError naming what is wrong with the file."""
    kind: str = ""
    """The file's ``kind``: a ``network`` opens on the layer table, not the player."""

    @property
    def network(self) -> bool:
        return self.kind == "network"


class LoadingScreen(Screen[None]):
    """The player's frame around a file being loaded: q and Esc quit."""

    BINDINGS = [
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("escape", "app.quit", "Quit", key_display="Esc", show=False, id="back"),
    ]

    class Loaded(Message):
        """The file is loaded: the app shows ``simulation`` in this screen's place."""

        def __init__(self, simulation: Simulation) -> None:
            super().__init__()
            self.simulation = simulation

    class Failed(Message):
        """The file could not be loaded: ``error`` says why."""

        def __init__(self, error: ScenarioError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, opening: Opening) -> None:
        super().__init__()
        self.opening = opening

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        if self.opening.network:
            # The layer table's frame: "Loading …" where the table comes, no description.
            yield Static(self._note(), id="loading-note")
            yield KeyFooter()
            return
        yield Static(id="stage-bar")
        with VerticalScroll(id="panel-area", can_focus=False):
            yield Static(self._note(), id="loading-note")
        text = Content(paragraphs(self.opening.description))  # not markup
        with VerticalScroll(id="description", can_focus=False):
            yield Static(text, id="description-text")
        legend = Static(id="legend")  # the line the player's legend of colours will take
        legend.styles.height = 1
        yield legend
        yield Horizontal(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = self.opening.title or "netsim"
        self.sub_title = self.opening.path.name
        if not self.opening.network:
            self.query_one("#stage-bar").display = False
        # After the first frame: the loader's imports hold the interpreter's lock for long
        # stretches, and the frame must not wait for them.
        self.call_after_refresh(self._load)

    def on_resize(self) -> None:
        if self.opening.network:
            return
        description = self.query_one("#description")
        description.display = self.size.height >= SHORT and bool(self.opening.description.strip())
        footer = self.query_one(KeyFooter)
        footer.styles.min_height = 2 if self.size.width < FOOTER_TWO_LINES else None

    def _note(self, done: int = 0, total: int = 0) -> Text:
        name = self.opening.path.name
        if total:
            return Text(f"Loading {name}: training {done:,} of {total:,} iterations", style=MUTED)
        return Text(f"Loading {name} …", style=MUTED)

    def _progress(self, done: int, total: int) -> None:
        if self.is_attached:
            self.query_one("#loading-note", Static).update(self._note(done, total))

    @work(exclusive=True, group="load")
    async def _load(self) -> None:
        """Read and build the scenario in a daemon thread and wait for it here.

        A Textual thread worker runs in the event loop's executor, whose threads are joined
        when Python exits: q pressed during a long load would wait for it. A daemon thread is
        not joined, and this worker, waiting on the loop, is cancelled when the app exits.
        """
        loop = asyncio.get_running_loop()
        done: concurrent.futures.Future[Simulation] = concurrent.futures.Future()

        def progress(count: int, total: int) -> None:
            with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
                loop.call_soon_threadsafe(self._progress, count, total)

        def read() -> None:
            try:
                simulation = self.opening.load(progress)
                _import_screens(simulation)
                # The loader's garbage, collected here where no key waits for it: the player
                # then freezes what is left (see tui.heap).
                heap.collect()
            except BaseException as e:  # handed to the worker
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    done.set_exception(e)
            else:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    done.set_result(simulation)

        threading.Thread(target=read, name=f"load {self.opening.path.name}", daemon=True).start()
        try:
            simulation = await asyncio.wrap_future(done)
        except ScenarioError as e:
            self.post_message(self.Failed(e))
        else:
            self.post_message(self.Loaded(simulation))


def _import_screens(simulation: Simulation) -> None:
    """Import the screen and the panels ``simulation`` will be shown with, in the loading
    thread, so that the event loop does not stop for them when the player replaces this
    screen."""
    from engine.core import Layered

    if any(isinstance(s, Layered) for s in simulation.stages):
        import tui.screens.network
    else:
        import tui.screens.player  # noqa: F401
        from tui.panels import PANELS

        for stage in simulation.stages:
            _ = stage.kind in PANELS  # imports the kind's panel module
