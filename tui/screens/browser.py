"""BrowserScreen: the bundled scenarios grouped by topic, their descriptions, and opening a path."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.message import Message
from textual.screen import Screen
from textual.strip import Strip
from textual.visual import VisualType
from textual.widgets import Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

import scenarios
from scenarios import BundledScenario, ScenarioError
from tui import heap
from tui.screens.help import BROWSER_KEYS, HelpScreen
from tui.styles import MUTED
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.scenario_list import ScenarioList

if TYPE_CHECKING:
    from engine.core import Simulation


def error_line(error: BaseException) -> str:
    """An exception as one line: an OS error's reason, otherwise its message (or its type)."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = " ".join(str(error).split())
    return text or type(error).__name__


PAINT_WAIT = 0.5
"""Seconds a file's load waits at most for its "loading …" line to be painted before the
collection that ends it (see ``BrowserScreen._load``)."""


class StatusLine(Static):
    """The line under the list ("loading …", an error). ``painted`` is set once the text last
    given to ``update`` has been drawn for a frame."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.painted = threading.Event()

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self.painted.clear()
        super().update(content, layout=layout)

    def render_lines(self, crop: Region) -> list[Strip]:
        lines = super().render_lines(crop)
        self.painted.set()
        return lines


class BrowserScreen(Screen[None]):
    """Pick a bundled scenario (Enter) or type the path of a scenario file."""

    BINDINGS = [
        Binding("o", "focus_path", "Open file", id="open-file"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("escape", "leave_path", "List", key_display="Esc", show=False, id="leave-path"),
    ]

    class Opened(Message):
        """A scenario was loaded; the app shows it in the player."""

        def __init__(self, simulation: Simulation) -> None:
            super().__init__()
            self.simulation = simulation

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, BundledScenario] = {}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        options: list[Option | None] = []
        topic = None
        for entry in scenarios.bundled():
            if entry.topic != topic:
                if topic is not None:
                    options.append(None)
                topic = entry.topic
                options.append(Option(Text(topic, style="bold underline"), disabled=True))
            self.entries[entry.name] = entry
            options.append(Option(f"  {entry.title}", id=entry.name))
        with Horizontal(id="browser"):
            yield ScenarioList(*options, id="scenario-list", markup=False)  # "a[l]" is text
            with Vertical(id="scenario-info"):
                yield Static(id="scenario-title")
                yield Static(id="scenario-description")
                yield Static(id="scenario-file")
        with Horizontal(id="open-row"):
            yield Label("Open a file: ")
            yield Input(placeholder="path/to/scenario.toml, then Enter", id="path-input")
        yield StatusLine(id="browser-error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "netsim"
        self.sub_title = "choose a scenario: ↑/↓ then Enter"
        option_list = self.query_one(OptionList)
        option_list.focus()
        for index in range(option_list.option_count):
            if not option_list.get_option_at_index(index).disabled:
                option_list.highlighted = index
                break

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.entries.get(event.option.id or "")
        if entry is None:
            return
        self.query_one("#scenario-title", Static).update(Text(entry.title, style="bold"))
        description = Text(" ".join(entry.description.split()))  # as written, not markup
        self.query_one("#scenario-description", Static).update(description)
        self.query_one("#scenario-file", Static).update(
            Text(f"\n{entry.topic} · netsim {entry.name}", style=MUTED)
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        entry = self.entries.get(event.option.id or "")
        if entry is not None:
            self.open(entry.path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        try:
            path = scenarios.resolve(Path(text).expanduser())
        except (OSError, RuntimeError, ValueError) as e:  # ~nosuchuser, a name too long, NUL
            self._failed(f"{text}: {error_line(e)}")
            return
        self.open(path)

    def open(self, path: Path) -> None:
        """Load ``path`` (training scenarios compute while loading) and open the player, or
        show the one-line error; the list stays responsive meanwhile."""
        self.query_one("#browser-error", Static).update(Text(f"loading {path.name} …", style=MUTED))
        self._load(path)

    @work(exclusive=True, group="load")
    async def _load(self, path: Path) -> None:
        """Read and build the scenario in a daemon thread and wait for it here.

        A Textual thread worker runs in the event loop's executor, whose threads are joined
        when Python exits: a read that never returns (a FIFO nobody writes to) would stop the
        app from ever exiting. A daemon thread does not, and this worker, waiting on the loop,
        is cancelled like any other when the app exits or another file is opened.
        """
        loop = asyncio.get_running_loop()
        done: concurrent.futures.Future[Simulation] = concurrent.futures.Future()
        status = self.query_one("#browser-error", StatusLine)

        def progress(count: int, total: int) -> None:
            with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
                loop.call_soon_threadsafe(self._progress, path, count, total)

        def read() -> None:
            # A cancelled wait (app closed, another file opened) has already settled `done`.
            try:
                simulation = scenarios.load(path, progress=progress)
                # The loader's garbage and the simulation closed before (if any), collected
                # here where the user waits anyway (see tui.heap), once the "loading …" line
                # is on the screen: the collection holds the interpreter's lock, which that
                # frame must not wait for.
                status.painted.wait(PAINT_WAIT)
                heap.collect()
            except BaseException as e:  # handed to the worker, which shows it
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    done.set_exception(e)
            else:
                with contextlib.suppress(concurrent.futures.InvalidStateError):
                    done.set_result(simulation)

        threading.Thread(target=read, name=f"load {path.name}", daemon=True).start()
        try:
            simulation = await asyncio.wrap_future(done)
        except ScenarioError as e:
            self._failed(e.lines()[0])
        except Exception as e:  # anything else a file can provoke: one line, and carry on
            self._failed(f"{path}: {error_line(e)}")
        else:
            self.query_one("#browser-error", Static).update("")
            self.post_message(self.Opened(simulation))

    def _progress(self, path: Path, done: int, total: int) -> None:
        if not self.is_attached:
            return
        self.query_one("#browser-error", Static).update(
            Text(f"loading {path.name}: training {done:,} of {total:,} iterations", style=MUTED)
        )

    def _failed(self, line: str) -> None:
        self.query_one("#browser-error", Static).update(Text(line, style="bold red"))

    def action_focus_path(self) -> None:
        self.query_one("#path-input", Input).focus()

    def action_leave_path(self) -> None:
        """Esc in the path box (after a file failed to open, say) goes back to the list, where
        q quits and the arrows choose again; what was typed and the error stay."""
        self.query_one(OptionList).focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys=BROWSER_KEYS))
