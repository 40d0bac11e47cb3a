"""BrowserScreen: the bundled scenarios grouped by topic, their descriptions, and opening a path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

import scenarios
from scenarios import BundledScenario, ScenarioError
from tui.screens.help import BROWSER_KEYS, HelpScreen

if TYPE_CHECKING:
    from engine.core import Simulation


class BrowserScreen(Screen[None]):
    """Pick a bundled scenario (Enter) or type the path of a scenario file."""

    BINDINGS = [
        Binding("o", "focus_path", "Open file", id="open-file"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

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
            yield OptionList(*options, id="scenario-list", markup=False)  # "a[l]" is text
            with Vertical(id="scenario-info"):
                yield Static(id="scenario-title")
                yield Static(id="scenario-description")
                yield Static(id="scenario-file")
        with Horizontal(id="open-row"):
            yield Label("Open a file: ")
            yield Input(placeholder="path/to/scenario.toml, then Enter", id="path-input")
        yield Static(id="browser-error")
        yield Footer()

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
            Text(f"\n{entry.topic} · netsim {entry.name}", style="grey62")
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        entry = self.entries.get(event.option.id or "")
        if entry is not None:
            self.open(entry.path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.open(scenarios.resolve(Path(event.value.strip()).expanduser()))

    def open(self, path: Path) -> None:
        """Load ``path`` in a worker (training scenarios compute while loading) and open the
        player, or show the one-line error; the list stays responsive meanwhile."""
        self.query_one("#browser-error", Static).update(
            Text(f"loading {path.name} …", style="grey62")
        )
        self._load(path)

    @work(thread=True, exclusive=True, group="load")
    def _load(self, path: Path) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, path, done, total)

        try:
            simulation = scenarios.load(path, progress=progress)
        except ScenarioError as e:
            self.app.call_from_thread(self._failed, e.lines()[0])
        else:
            self.app.call_from_thread(self._opened, simulation)

    def _progress(self, path: Path, done: int, total: int) -> None:
        self.query_one("#browser-error", Static).update(
            Text(f"loading {path.name}: training {done:,} of {total:,} iterations", style="grey62")
        )

    def _failed(self, line: str) -> None:
        self.query_one("#browser-error", Static).update(Text(line, style="bold red"))

    def _opened(self, simulation: Simulation) -> None:
        from tui.screens.player import PlayerScreen

        self.query_one("#browser-error", Static).update("")
        self.app.push_screen(PlayerScreen(simulation))

    def action_focus_path(self) -> None:
        self.query_one("#path-input", Input).focus()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keys=BROWSER_KEYS))
