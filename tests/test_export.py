"""``netsim snapshot --view``: every view the player has, drawn headless, equals the screen a
person sees after pressing the same keys; a view the screen does not offer is refused in one
line that names the views it does offer, and nothing is written.

Steps are given with ``--step`` as the command parses it today and never assume how steps are
numbered: the tests compare the command with an app started at the same ``start``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import scenarios
from engine.core import Simulation
from tui.app import NetsimApp
from tui.cli import cli
from tui.screens.player import PlayerScreen
from tui.snapshot import VIEWS, offered

SIZE = (100, 32)
SIZE_TEXT = f"{SIZE[0]}x{SIZE[1]}"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def load(name: str) -> Simulation:
    return scenarios.load(scenarios.resolve(name))


def pressed(name: str, start: int, keys: list[str]) -> str:
    """The SVG of a Pilot app opened on ``name`` at ``start``, after pressing ``keys`` one at a
    time and letting every worker finish, as a person would see it (notifications cleared)."""
    simulation = load(name)

    async def run() -> str:
        app = NetsimApp(simulation, start=start, reproducible=True)
        async with app.run_test(size=SIZE) as pilot:
            for key in ["", *keys]:
                if key:
                    await pilot.press(key)
                for _ in range(3):
                    await pilot.pause()
                    await app.workers.wait_for_complete()
                await pilot.pause()
            app.clear_notifications()
            await pilot.pause()
            return app.export_screenshot(title=simulation.title or "netsim")

    return asyncio.run(run())


def snapshot(tmp_path: Path, name: str, *options: str) -> tuple[Result, Path]:
    out = tmp_path / "view.svg"
    result = invoke(
        "snapshot", name, "--size", SIZE_TEXT, "--reproducible", *options, "-o", str(out)
    )
    return result, out


@pytest.mark.parametrize(
    ("name", "options", "start", "keys"),
    [
        pytest.param("conv_vertical_edge", ["--view", "heat"], 0, ["h"], id="heat"),
        pytest.param(
            "conv_vertical_edge", ["--step", "6", "--view", "receptive"], 5, ["r"], id="receptive"
        ),
        pytest.param("conv_vertical_edge", ["--view", "usage"], 0, ["u"], id="usage"),
        pytest.param("conv_vertical_edge", ["--view", "usage,heat"], 0, ["u", "h"], id="usage-h"),
        pytest.param("conv_vertical_edge", ["--view", "shift"], 0, ["t"], id="shift"),
        pytest.param(
            "conv_vertical_edge",
            ["--view", "heat", "--view", "flip"],
            0,
            ["h", "f"],
            id="heat-flip",
        ),
        pytest.param(
            "rnn_step", ["--view", "compact", "--unit", "2"], 0, ["n", "n", "k"], id="rnn"
        ),
        pytest.param(
            "net_mlp_digits", ["--step", "2", "--view", "layer"], 1, ["enter"], id="layer"
        ),
        pytest.param("net_mlp_digits", ["--view", "gradients"], 0, ["g"], id="gradients"),
        pytest.param(
            "conv_vertical_edge",
            ["--view", "shift", "--press", "down,Down", "--press", "left"],
            0,
            ["t", "down", "down", "left"],
            id="shift-moved",
        ),
        pytest.param(
            "conv_vertical_edge",
            ["--press", "right right", "--press", "PgDn"],
            0,
            ["right", "right", "pagedown"],
            id="press-steps",
        ),
        pytest.param("net_mlp_digits", ["--step", "2", "--press", "n"], 1, ["n"], id="next-map"),
    ],
)
def test_a_view_equals_the_screen_after_its_keys(
    tmp_path: Path, name: str, options: list[str], start: int, keys: list[str]
) -> None:
    result, out = snapshot(tmp_path, name, *options)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == pressed(name, start, keys)


def test_each_view_draws_something_else(tmp_path: Path) -> None:
    """The views are not the default screen redrawn: each conv view differs from it, and heat
    changes the colours while keeping the numbers."""
    plain = pressed("conv_vertical_edge", 0, [])
    for view in ("receptive", "usage", "shift", "flip"):
        result, out = snapshot(tmp_path, "conv_vertical_edge", "--view", view)
        assert result.exit_code == 0, result.output
        assert out.read_text(encoding="utf-8") != plain, view
    result, out = snapshot(tmp_path, "conv_vertical_edge", "--view", "heat")
    assert out.read_text(encoding="utf-8") != plain


@pytest.mark.parametrize(
    ("name", "view", "offers", "lacks"),
    [
        ("conv_vertical_edge", "compact", ["heat", "receptive", "usage", "shift", "flip"], []),
        ("rnn_step", "flip", ["heat", "compact"], ["receptive", "usage", "shift", "flip"]),
        ("net_mlp_digits", "block", ["layer", "gradients"], ["heat", "block"]),
    ],
)
def test_a_view_not_offered_is_one_line_naming_those_offered(
    tmp_path: Path, name: str, view: str, offers: list[str], lacks: list[str]
) -> None:
    result, out = snapshot(tmp_path, name, "--view", view)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    line = lines[0]
    assert f"'{view}' is not offered" in line and "'--view'" in line
    listed = line.split("views offered there: ", 1)[1].split(" (see", 1)[0].split(", ")
    assert set(offers) <= set(listed)
    assert not set(lacks) & set(listed)
    assert not out.exists()


def test_a_view_not_offered_after_another_says_so(tmp_path: Path) -> None:
    """Over the border-use view only heat is offered (its own h); flip belongs to the player."""
    result, out = snapshot(tmp_path, "conv_vertical_edge", "--view", "usage,flip")
    assert result.exit_code == 2, result.output
    assert "'flip' is not offered on the" in result.output
    assert "(after usage); views offered there: heat" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--view", "hat"], "unknown view 'hat'; did you mean 'heat'? views: heat, receptive"),
        (["--view", "heat,,nope"], "unknown view 'nope'"),
        (["--unit", "1"], "has no hidden units to choose between"),
    ],
)
def test_bad_view_options_are_one_line(tmp_path: Path, options: list[str], expected: str) -> None:
    result, out = snapshot(tmp_path, "conv_vertical_edge", *options)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert expected in result.output
    assert not out.exists()


@pytest.mark.parametrize("past", [False, True])
def test_a_unit_out_of_range_names_the_range(tmp_path: Path, past: bool) -> None:
    hidden = load("rnn_step").stages[0].unit_count()  # type: ignore[attr-defined]
    result, out = snapshot(tmp_path, "rnn_step", "--unit", str(hidden if past else -1))
    assert result.exit_code == 2
    assert f"has {hidden} hidden units" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "name",
    ["conv_vertical_edge", "rnn_step", "lstm_gates", "pool_max_4x4", "receptive_two_convs"],
)
def test_views_offered_follow_the_players_check_action(name: str) -> None:
    """The command offers a player view exactly where the player's check_action enables the
    action its key runs, at the first and the last step."""
    simulation = load(name)
    player_views = [v for v in VIEWS if hasattr(PlayerScreen, f"action_{v.action}")]

    async def run() -> list[tuple[int, set[str], set[str]]]:
        out = []
        for start in (0, len(simulation) - 1):
            app = NetsimApp(simulation, start=start, check=False)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                screen = app.screen
                assert isinstance(screen, PlayerScreen)
                enabled = {v.name for v in player_views if screen.check_action(v.action, ())}
                out.append((start, {v.name for v in offered(app)}, enabled))
        return out

    for start, got, enabled in asyncio.run(run()):
        assert got == enabled, (name, start)


def test_a_view_that_does_not_open_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer the player cannot step through: the screen's own notice, not the table drawn as
    if it were the view."""
    from engine.network import Network
    from tui.snapshot import ViewError, parse_views, render_svg

    def refuse(self: Network, name: str) -> None:
        raise ValueError(f"no stepping through {name} today")

    monkeypatch.setattr(Network, "stage", refuse)
    simulation = load("net_mlp_digits")
    with pytest.raises(ViewError) as info:
        render_svg(simulation, 1, SIZE, views=parse_views(["layer"]))
    message = str(info.value)
    assert info.value.option == "--view"
    assert message.startswith("'layer' could not be opened on the network's layer table: ")
    assert "no stepping through fc1 today" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--press", "x"], "'x' does nothing on the conv stage 'conv'; keys that do: ←, →"),
        (["--press", "q"], "'q' (Quit) on the conv stage 'conv' is not pressed in a snapshot"),
        (["--press", "space"], "'space' (Play) on the conv stage"),
        (["--view", "usage", "--press", "esc"], "(after usage) is not pressed in a snapshot"),
        (["--view", "usage", "--press", "f"], "'f' does nothing on the Border usage view"),
    ],
)
def test_a_key_that_does_nothing_there_is_one_line(
    tmp_path: Path, options: list[str], expected: str
) -> None:
    result, out = snapshot(tmp_path, "conv_vertical_edge", *options)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert expected in result.output and "'--press'" in result.output
    assert not out.exists()
