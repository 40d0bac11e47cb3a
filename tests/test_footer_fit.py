"""Every key the footer offers is on screen, whole, at 80×24 and 120×40: on every stage kind of
the player and on the other screens with a footer. The footer turns compact and takes a second
line when the keys need it, and that line is taken from the panel above it."""

from __future__ import annotations

from typing import Any

import pytest
from apps import player, player_app
from rich.cells import cell_len
from test_footer_keys import CASES
from textual.pilot import Pilot
from textual.screen import Screen

import scenarios
from tui.app import NetsimApp
from tui.widgets.keyfooter import KeyFooter, roomy_width

SIZES = [(80, 24), (120, 40)]


def offered(screen: Screen[Any]) -> set[str]:
    """The actions the screen's bindings put in the footer."""
    active = screen.active_bindings.values()
    return {b.action for _, b, enabled, _ in active if b.show and enabled}


async def settle(pilot: Pilot[Any], workers: bool = True) -> Screen[Any]:
    """Wait until the footer shows the screen's current bindings (it is composed again after
    they change, and whether ``i`` is offered depends on the layout); with ``workers``, after
    the screen's workers have finished."""
    await pilot.pause()
    if workers:
        await pilot.app.workers.wait_for_complete()
    screen = pilot.app.screen
    for _ in range(20):
        await pilot.pause()
        if {k.action for k in screen.query_one(KeyFooter).shown_keys()} == offered(screen):
            break
    return screen


def assert_every_key_visible(screen: Screen[Any]) -> int:
    """Each key of the footer lies inside the terminal, wide enough for its key and label, and
    the screen's own hit test finds it on every cell (nothing scrolls or clips it away).
    Returns the footer's height in lines."""
    width, height = screen.size
    footer = screen.query_one(KeyFooter)
    keys = footer.shown_keys()
    assert {k.action for k in keys} == offered(screen)
    for key in keys:
        text = f"{key.key_display} {key.description}".strip()
        region = key.region
        assert region.width >= cell_len(text), text
        assert region.x >= 0 and region.right <= width, (text, region, width)
        assert footer.region.y <= region.y < min(footer.region.bottom, height), (text, region)
        for x in range(region.x, region.right):
            hit, _ = screen.get_widget_at(x, region.y)
            assert hit is key, (text, x, hit)
    return footer.region.height


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("name", "stage_no", "kind", "_meaningful"), CASES)
async def test_every_offered_key_is_on_screen(
    name: str, stage_no: int, kind: str, _meaningful: set[str], size: tuple[int, int]
) -> None:
    app = player_app(name)
    async with app.run_test(size=size) as pilot:
        screen = player(app)
        screen.cursor = screen.simulation.offsets[stage_no]
        await settle(pilot)
        assert screen.simulation.stages[stage_no].kind == kind
        lines = assert_every_key_visible(screen)
        # Two lines are enough for every stage kind down to 80 columns.
        assert lines <= 2
        # The panel area ends above the legend, the status line and the whole footer.
        footer = screen.query_one(KeyFooter)
        status = screen.query_one("#status")
        assert status.region.bottom <= footer.region.y
        assert screen.query_one("#panel-area").region.bottom <= status.region.y


async def test_a_convolution_takes_two_compact_lines_at_80_and_one_roomy_line_at_200() -> None:
    """The keys of a convolution do not fit on one line at 80 columns: the footer turns compact
    and wraps; at 200 they fit in Textual's roomier style, on one line."""
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        footer = screen.query_one(KeyFooter)
        assert footer.compact
        assert assert_every_key_visible(screen) == 2
        area_small = screen.query_one("#panel-area").region.height
        await pilot.resize_terminal(200, 24)
        await settle(pilot)
        assert not footer.compact
        assert assert_every_key_visible(screen) == 1
        # The line the footer gave back goes to the panel.
        assert screen.query_one("#panel-area").region.height == area_small + 1


@pytest.mark.parametrize(("name", "stage_no"), [(c[0], c[1]) for c in CASES])
async def test_roomy_width_is_the_width_the_roomier_style_takes(name: str, stage_no: int) -> None:
    """``roomy_width``, which decides the style, is the width the keys take laid out in the
    roomier style (measured on a terminal wide enough for any footer)."""
    app = player_app(name)
    async with app.run_test(size=(400, 50)) as pilot:
        screen = player(app)
        screen.cursor = screen.simulation.offsets[stage_no]
        await settle(pilot)
        footer = screen.query_one(KeyFooter)
        assert not footer.compact
        children = footer.shown_pieces()
        laid_out = max(c.region.right + c.styles.margin.right for c in children)
        assert roomy_width(children) == laid_out


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("net_mlp_digits", []),  # the network table
        ("net_plain_sigmoid", ["g"]),  # gradient flow
        ("net_plain_sigmoid", ["e"]),  # depth runs
        ("net_mlp_linear_digits", ["c"]),  # collapse
        ("net_custom_layers", ["right_square_bracket", "right_square_bracket", "r"]),  # block
        ("conv_vertical_edge", ["r"]),  # receptive field
        ("conv_vertical_edge", ["u"]),  # border use
        ("conv_vertical_edge", ["t"]),  # shift
    ],
)
async def test_other_screens_show_every_key(
    name: str, keys: list[str], size: tuple[int, int]
) -> None:
    app = player_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        first = app.screen
        for key in keys:
            await pilot.press(key)
        # The gradient and depth screens train in workers: their keys are there meanwhile.
        screen = await settle(pilot, workers=False)
        assert (screen is first) == (not keys)  # the keys opened another screen
        assert screen.query(KeyFooter)
        assert_every_key_visible(screen)


async def test_the_browser_shows_every_key() -> None:
    app = NetsimApp(None, check=False)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        assert_every_key_visible(screen)


def test_scenarios_used_here_exist() -> None:
    names = {b.name for b in scenarios.bundled()}
    assert {"net_mlp_digits", "net_plain_sigmoid", "net_mlp_linear_digits"} <= names
    assert "net_custom_layers" in names


async def test_a_key_on_the_second_line_can_be_clicked() -> None:
    """The keys keep Textual's click: ``h`` on the footer's second line turns the heat on."""
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        footer = screen.query_one(KeyFooter)
        heat = next(k for k in footer.shown_keys() if k.action == "toggle_heat")
        assert heat.region.y > footer.region.y  # wrapped onto the second line
        assert not screen.heat
        await pilot.click(heat)
        await pilot.pause()
        assert screen.heat
