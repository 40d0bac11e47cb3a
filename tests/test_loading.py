"""``netsim FILE`` in a terminal: the player's frame is painted before the file is loaded.

The frame (title, description, "Loading …", footer) comes before NumPy is imported; the file is
loaded in a thread and the player takes its place. A file whose mistakes only the loader finds
closes the app and ends in the same one-line error, with the same exit status, as ``netsim
check``; a file a cheap look already refuses never opens the app. q and Esc quit while loading.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apps import painted
from click.testing import CliRunner, Result
from textual.app import App
from textual.widgets import Static

import scenarios
import tui.cli
from tui.app import NetsimApp
from tui.cli import cli
from tui.screens import loading
from tui.screens.loading import LoadingScreen, Opening
from tui.screens.player import PlayerScreen
from tui.text import paragraphs

ROOT = Path(__file__).resolve().parent.parent
GOOD = 'kind = "conv"\ntitle = "Three by three"\ndescription = "A small input."\n'
INPUT = "input = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\n"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="netsim")


@pytest.fixture
def in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``netsim FILE`` as in a terminal, the app run headless; the names of the screens it
    showed are collected in the list returned."""
    shown: list[str] = []
    monkeypatch.setattr(tui.cli, "paints_early", lambda: True)
    real_run = App.run

    def run(self: App[Any], *args: Any, **kwargs: Any) -> Any:
        def noted(screen: Any, renderable: Any) -> Any:
            if renderable is not None and (not shown or shown[-1] != type(screen).__name__):
                shown.append(type(screen).__name__)
            return display(screen, renderable)

        display = self._display
        self._display = noted  # type: ignore[method-assign]
        kwargs.update(headless=True, size=(120, 40))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(NetsimApp, "run", run)
    return shown


# -- the first frame -------------------------------------------------------------------------

FIRST_FRAME = """
import json, sys
import tui.cli
from textual.app import App

tui.cli.paints_early = lambda: True
out = {"frames": []}
real_run = App.run


def run(self, *args, **kwargs):
    display = self._display

    def noted(screen, renderable):
        result = display(screen, renderable)
        if renderable is not None:
            name = type(screen).__name__
            if not out["frames"] or out["frames"][-1]["screen"] != name:
                note = screen.query("#loading-note")
                out["frames"].append({
                    "screen": name,
                    "numpy": "numpy" in sys.modules,
                    "title": screen.title,
                    "sub_title": screen.sub_title,
                    "note": str(note.first().render()) if note else None,
                    "description": str(screen.query_one("#description-text").render()),
                })
        return result

    self._display = noted

    async def pilot(p):
        while out["frames"][-1:] == [] or out["frames"][-1]["screen"] != "PlayerScreen":
            await p.pause(0.01)
        p.app.exit()

    kwargs.update(headless=True, size=(120, 40), auto_pilot=pilot)
    return real_run(self, *args, **kwargs)


App.run = run
try:
    tui.cli.main(sys.argv[1:])
except SystemExit as e:
    out["exit"] = e.code
print(json.dumps(out))
"""


def test_the_first_frame_is_the_players_frame_painted_before_numpy_is_imported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, "conv_vertical_edge"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    first, *rest = out["frames"]
    shipped = {s.name: s for s in scenarios.bundled()}["conv_vertical_edge"]
    assert first["screen"] == "LoadingScreen"
    assert first["numpy"] is False
    assert first["title"] == shipped.title and first["sub_title"] == "conv_vertical_edge.toml"
    assert first["note"].startswith("Loading conv_vertical_edge.toml")
    assert first["description"] == paragraphs(shipped.description)
    # Then the player, with the same header and description, in its place.
    assert rest and rest[-1]["screen"] == "PlayerScreen" and rest[-1]["numpy"] is True
    assert (rest[-1]["title"], rest[-1]["description"]) == (first["title"], first["description"])


def test_the_loading_screen_draws_the_description_as_the_player_does() -> None:
    for shipped in scenarios.bundled():
        assert loading.paragraphs(shipped.description) == paragraphs(shipped.description)


# -- bad files -------------------------------------------------------------------------------

LOADER_FINDS = {
    "unknown kernel": GOOD + INPUT + 'kernel = "no_such_kernel"\n',
    "ragged input": GOOD + 'input = [[1, 2, 3], [4, 5]]\nkernel = "identity"\n',
    "unknown key": GOOD + INPUT + 'kernel = "identity"\nstrid = 2\n',
}


@pytest.mark.parametrize("text", LOADER_FINDS.values(), ids=LOADER_FINDS.keys())
def test_a_file_only_the_loader_refuses_closes_the_app_with_its_one_line_error(
    in_a_terminal: list[str], write_scenario: Callable[..., Path], text: str
) -> None:
    path = write_scenario(text)
    assert tui.cli.preview(str(path)) is not None  # the cheap look lets it through
    checked = invoke("check", str(path))
    assert checked.exit_code == 1 and checked.stderr.count("\n") == 1

    result = invoke(str(path))
    assert in_a_terminal == ["LoadingScreen"]  # the screen opened, then closed
    assert result.exit_code == checked.exit_code
    assert result.stderr == checked.stderr
    assert result.stdout == ""


CHEAP_LOOK_FINDS = {
    "missing file": None,
    "TOML syntax error": GOOD + "input = [[1, 2, 3]\n",
    "unknown kind": GOOD.replace('"conv"', '"convolutoin"') + INPUT,
    "no title": 'kind = "conv"\n' + INPUT + 'kernel = "identity"\n',
    "not UTF-8": b'kind = "conv"\ntitle = "\xff"\n',
}


@pytest.mark.parametrize("text", CHEAP_LOOK_FINDS.values(), ids=CHEAP_LOOK_FINDS.keys())
def test_a_file_a_cheap_look_refuses_never_opens_the_app(
    in_a_terminal: list[str], tmp_path: Path, text: str | bytes | None
) -> None:
    path = tmp_path / "s.toml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    elif isinstance(text, bytes):
        path.write_bytes(text)
    assert tui.cli.preview(str(path)) is None
    checked = invoke("check", str(path))
    result = invoke(str(path))
    assert in_a_terminal == []
    assert (result.exit_code, result.stderr) == (1, checked.stderr)
    assert result.stderr.count("\n") >= 1 and result.stdout == ""


def test_a_good_file_opens_the_player_after_the_loading_screen(
    in_a_terminal: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The player quits as soon as its first frame is painted: q, as a person would.
    paint = PlayerScreen._paint_held

    def painted(self: PlayerScreen) -> None:
        paint(self)
        self.app.exit()

    monkeypatch.setattr(PlayerScreen, "_paint_held", painted)
    result = invoke("conv_vertical_edge")
    assert result.exit_code == 0, result.output
    assert in_a_terminal == ["LoadingScreen", "PlayerScreen"]


def test_without_a_terminal_the_file_is_loaded_before_the_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[dict[str, Any]] = []

    class FakeApp:
        return_code = 0

        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

        def run(self) -> None:
            pass

    monkeypatch.setitem(sys.modules, "tui.app", types.SimpleNamespace(NetsimApp=FakeApp))
    assert tui.cli.paints_early() is False  # the test's standard streams are not a terminal
    assert invoke("conv_vertical_edge").exit_code == 0
    (kwargs,) = made
    assert "opening" not in kwargs and len(kwargs["simulation"]) == 16


# -- keys while loading ----------------------------------------------------------------------


@pytest.fixture
def never_loads() -> Iterator[Opening]:
    """An opening whose load waits until the test is over."""
    release = threading.Event()

    def load(progress: Callable[[int, int], None]) -> Any:
        release.wait(30)
        raise scenarios.ScenarioError("slow.toml", [("(file)", "released")])

    yield Opening(Path("slow.toml"), "A slow file", "It takes its time.", load)
    release.set()


@pytest.mark.parametrize("key", ["q", "escape"])
async def test_q_and_esc_quit_while_the_file_loads(never_loads: Opening, key: str) -> None:
    app = NetsimApp(opening=never_loads)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadingScreen)
        note = app.screen.query_one("#loading-note", Static)
        assert "Loading slow.toml" in str(note.render())
        await pilot.press(key)
        await pilot.pause()
    assert app.return_code == 0 and app.load_error is None


async def test_a_load_that_fails_exits_the_app_with_its_error(tmp_path: Path) -> None:
    def load(progress: Callable[[int, int], None]) -> Any:
        raise scenarios.ScenarioError("bad.toml", [("kernel", "unknown kernel 'x'")])

    app = NetsimApp(opening=Opening(tmp_path / "bad.toml", "Bad", "", load))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 1 and app.crash is None
    assert app.load_error is not None and app.load_error.lines() == [
        "bad.toml: kernel: unknown kernel 'x'"
    ]


async def test_the_loaded_player_replaces_the_loading_screen_in_one_frame() -> None:
    """The player is painted once its first layouts have settled (the footer rebuilt for its
    keys): until then the loading screen stays, and then one frame shows the player."""
    path = scenarios.resolve("caption_shapes")
    opening = tui.cli.preview(str(path))
    assert opening is not None
    app = NetsimApp(opening=opening, check=False)
    screens = painted(app, lambda screen, _: type(screen).__name__)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(1000):
            await pilot.pause(0.01)
            if isinstance(app.screen, PlayerScreen) and not app.screen.settling:
                break
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen) and not app.screen.settling
    assert screens[0] == "LoadingScreen" and screens.count("PlayerScreen") == 1, screens


def held(name: str) -> tuple[Opening, threading.Event]:
    """The preview of a bundled scenario whose load waits for the event returned."""
    opening = tui.cli.preview(str(scenarios.resolve(name)))
    assert opening is not None
    go = threading.Event()
    load = opening.load

    def wait_then_load(progress: Callable[[int, int], None]) -> Any:
        go.wait(30)
        return load(progress)

    return Opening(
        opening.path, opening.title, opening.description, wait_then_load, opening.kind
    ), go


async def opened(app: NetsimApp, pilot: Any, go: threading.Event) -> None:
    go.set()
    for _ in range(1000):
        await pilot.pause(0.01)
        if not isinstance(app.screen, LoadingScreen) and not getattr(app.screen, "settling", 0):
            break
    await pilot.pause()


async def test_the_description_does_not_move_when_the_player_comes_at_80_columns() -> None:
    """At 80 columns the player's footer takes two lines (for most scenarios, this one among
    them): the loading screen keeps them, so the description is where the player puts it."""
    opening, go = held("conv_vertical_edge")
    app = NetsimApp(opening=opening, check=False)
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadingScreen)
        before = app.screen.query_one("#description").region
        await opened(app, pilot, go)
        assert isinstance(app.screen, PlayerScreen)
        footer = app.screen.query_one(loading.KeyFooter)
        assert footer.size.height == 2
        assert app.screen.query_one("#description").region == before


async def test_a_network_loads_in_the_layer_tables_frame() -> None:
    """A network opens on its layer table, which has no description: the loading screen
    draws none either, and says "Loading …" on the line under the header, as the table
    screen begins."""
    opening, go = held("net_mlp_digits")
    assert opening.network
    app = NetsimApp(opening=opening, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LoadingScreen)
        assert not screen.query("#description") and not screen.query("#legend")
        note = screen.query_one("#loading-note", Static)
        assert note.region.y == 1 and "Loading net_mlp_digits.toml" in str(note.render())
        await opened(app, pilot, go)
        assert type(app.screen).__name__ == "NetworkScreen"
