"""Render the player at any step to SVG without a terminal (``netsim snapshot`` and the tests),
in any of its views: the keys that open a view are pressed as a person would press them, and a
view is drawn only where the screen offers its key, by the same ``check_action`` that decides
the footer."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import Binding
    from textual.pilot import Pilot

    from engine.core import Simulation


@dataclass(frozen=True)
class View:
    """A view of the player or of the network screen, opened by one key."""

    name: str
    """What ``--view`` calls it."""
    key: str
    """The key that opens it (Textual's name for the key)."""
    action: str
    """The action that key runs where the view is offered; where the key runs another action,
    or its action is disabled, the view is not offered."""
    what: str
    """A few words for ``--help``."""
    opens: bool = False
    """Whether the key opens a screen of its own (which it may refuse, saying why)."""


VIEWS = (
    View("heat", "h", "toggle_heat", "shaded cells instead of numbers (h)"),
    View("receptive", "r", "receptive", "the inputs the current output depends on (r)", opens=True),
    View(
        "usage",
        "u",
        "usage",
        "how often each input pixel is read, with and without padding (u)",
        opens=True,
    ),
    View(
        "shift",
        "t",
        "translate",
        "the input moved by a pixel, every output compared (t)",
        opens=True,
    ),
    View("flip", "f", "flip", "true convolution: the kernels flipped (f)"),
    View("compact", "k", "compact", "the RNN cell's compact form W_a·[a, x] (k)"),
    View(
        "layer",
        "enter",
        "select_cursor",
        "a network's layer stepped through in the player",
        opens=True,
    ),
    View("gradients", "g", "gradients", "a network's gradient norm per layer (g)", opens=True),
    View("block", "r", "residual", "the residual block around a network's layer (r)", opens=True),
    View("collapse", "c", "collapse", "a chain of linear layers as one layer (c)", opens=True),
    View("scale", "s", "scale", "one colour scale for every feature map of a network (s)"),
)
"""Every view ``netsim snapshot --view`` can draw, in the order ``--help`` lists them."""

UNIT = View("unit", "n", "unit", "the next hidden unit in the inspector (n)")
"""``--unit N`` presses this key N times (hidden unit 0 is on screen first)."""

_BY_NAME = {view.name: view for view in VIEWS}


class ViewError(ValueError):
    """A view that cannot be drawn here; ``option`` is the command-line option at fault."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def parse_views(specs: Sequence[str]) -> list[View]:
    """The views named by ``--view`` options, each a name or names separated by commas, in the
    order given; ViewError for an unknown name, with the nearest one."""
    views = []
    for spec in specs:
        for name in spec.split(","):
            name = name.strip().lower()
            if not name:
                continue
            view = _BY_NAME.get(name)
            if view is None:
                close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ViewError(
                    "--view", f"unknown view {name!r}; {hint}views: {', '.join(_BY_NAME)}"
                )
            views.append(view)
    return views


def _action_name(action: str) -> str:
    """``unit`` for ``unit(1)``: the action a binding runs, without its arguments."""
    return action.split("(", 1)[0]


def offered(app: App[None], views: Sequence[View] = VIEWS) -> list[View]:
    """The views whose key, pressed now, would open them: the key is bound to the view's action
    on the screen shown (or the widget focused there) and that action is enabled, as the
    screen's ``check_action`` decides for the footer and for ``?``."""
    active = app.screen.active_bindings
    out = []
    for view in views:
        bound = active.get(view.key)
        if bound is None or not bound.enabled:
            continue
        if _action_name(bound.binding.action) == view.action:
            out.append(view)
    return out


def _where(app: App[None]) -> str:
    """What is on screen, for messages: "the conv stage 'edge'", "the layer table"."""
    from tui.screens.network import NetworkScreen
    from tui.screens.player import PlayerScreen

    screen = app.screen
    if isinstance(screen, PlayerScreen):
        stage = screen.simulation.stage_of(screen.cursor)
        return f"the {stage.kind} stage {stage.name!r}"
    if isinstance(screen, NetworkScreen):
        return "the network's layer table"
    return f"the {screen.title or type(screen).__name__} view"


def _require(app: App[None], view: View, after: str) -> None:
    """ViewError unless ``view`` is offered on the screen shown."""
    if offered(app, [view]):
        return
    if view is UNIT:
        raise ViewError(
            "--unit",
            f"{_where(app)} has no hidden units to choose between (the player offers n only on "
            "a recurrent cell with more than one)",
        )
    names = ", ".join(v.name for v in offered(app)) or "none"
    raise ViewError(
        "--view",
        f"{view.name!r} is not offered on {_where(app)}{after}; views offered there: {names}",
    )


async def _settle(app: App[None], pilot: Pilot[None]) -> None:
    """Wait until the screen is drawn and every worker (the PyTorch check, a layer being
    computed, the player it opens and that player's own check) has finished."""
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def parse_keys(specs: Sequence[str]) -> list[str]:
    """The keys named by ``--press`` options, each a key or keys separated by commas or spaces,
    in order (``right``, ``]``, ``n``)."""
    keys = []
    for spec in specs:
        keys.extend(spec.replace(",", " ").split())
    return keys


KEY_ALIASES = {"esc": "escape", "return": "enter", "pgup": "pageup", "pgdn": "pagedown"}
"""Other names people write for keys, and Textual's name for each."""

NOT_PRESSED = frozenset(
    {"app.quit", "quit", "help", "back", "close", "goto", "edit_text", "toggle_play"}
)
"""Actions ``--press`` refuses: they leave the screen, open a dialog or the help that would be
drawn instead, or start playback, whose frame would depend on the clock."""


def _key_names(key: str, binding: Binding) -> set[str]:
    """The ways a person may write a bound key: Textual's name (``right_square_bracket``), the
    character (``]``) and what the footer shows."""
    from textual.keys import key_to_character

    names = {key}
    character = key_to_character(key)
    if character:
        names.add(character)
    if binding.key_display:
        names.add(binding.key_display)
    return names


def _press_target(app: App[None], key: str, after: str) -> str:
    """Textual's name for ``key`` where it does something on the screen shown, or ViewError
    naming the keys that do."""
    if len(key) > 1:  # names are lower case (right, pageup); a letter keeps its case (N, n)
        key = KEY_ALIASES.get(key.lower(), key.lower())
    usable, refused = [], None
    for name, bound in app.screen.active_bindings.items():
        action = _action_name(bound.binding.action)
        if not bound.enabled or ("." in action and action not in NOT_PRESSED):
            continue  # disabled, or Textual's own (screen.copy_text, app.focus_next …)
        if action in NOT_PRESSED:
            if key in _key_names(name, bound.binding):
                refused = bound.binding.description or action
            continue
        if key in _key_names(name, bound.binding):
            return name
        usable.append(bound.binding.key_display or name)
    listed = ", ".join(dict.fromkeys(usable)) or "none"
    where = f"{_where(app)}{after}"
    problem = (
        f"({refused}) on {where} is not pressed in a snapshot, which draws one still screen"
        if refused
        else f"does nothing on {where}"
    )
    raise ViewError("--press", f"{key!r} {problem}; keys that do: {listed}")


async def press_views(
    app: App[None],
    pilot: Pilot[None],
    views: Sequence[View] = (),
    unit: int | None = None,
    keys: Sequence[str] = (),
) -> None:
    """Open ``views`` in order, after selecting hidden ``unit``, by pressing their keys, then
    press ``keys``; each is checked first, and ViewError names the views (or keys) offered
    where one is not."""
    await _settle(app, pilot)
    if unit is not None:
        _require(app, UNIT, "")
        count = _unit_count(app)
        if not 0 <= unit < count:
            raise ViewError(
                "--unit",
                f"{unit} is out of range: {_where(app)} has {count} hidden units, "
                f"numbered 0 to {count - 1} as in its inspector",
            )
        for _ in range(unit):
            await pilot.press(UNIT.key)
        await _settle(app, pilot)
    after = ""
    for view in views:
        _require(app, view, after)
        before, where = app.screen, _where(app)
        await pilot.press(view.key)
        await _settle(app, pilot)
        if view.opens and app.screen is before:
            said = "; ".join(_notices(app)) or "no reason given"
            raise ViewError(
                "--view", f"{view.name!r} could not be opened on {where}{after}: {said}"
            )
        after = f" (after {view.name})"
    for key in keys:
        await pilot.press(_press_target(app, key, after))
        await _settle(app, pilot)
        after = f" (after {key})"


def _notices(app: App[None]) -> list[str]:
    """What the notifications on screen say (how a screen says why a view did not open)."""
    try:  # Textual keeps them in a private list; without it, the message says less
        return [str(n.message) for n in getattr(app, "_notifications", ())]
    except TypeError:
        return []


def _unit_count(app: App[None]) -> int:
    from engine.core import HiddenUnits
    from tui.screens.player import PlayerScreen

    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    stage = screen.simulation.stage_of(screen.cursor)
    assert isinstance(stage, HiddenUnits)
    return int(stage.unit_count())


def render_svg(
    simulation: Simulation,
    step: int,
    size: tuple[int, int],
    *,
    reproducible: bool = False,
    views: Sequence[View] = (),
    unit: int | None = None,
    keys: Sequence[str] = (),
) -> str:
    """The screen of the player at global step ``step`` in a ``size`` = (columns, rows) terminal,
    after selecting hidden ``unit`` (``n`` pressed that many times), opening ``views`` in order
    and pressing ``keys``: what a person sees after pressing the same keys, less the
    notifications that fade. ViewError (nothing drawn) when a view, the unit or a key is not
    offered where it is asked for.

    The PyTorch comparison runs to completion first, so the badge shows its result: the measured
    max |Δ|, or with ``reproducible`` the tolerance it met, so that the SVG is the same on every
    machine (see ``NetsimApp.reproducible``).
    """
    from tui.app import NetsimApp

    async def run() -> str:
        app = NetsimApp(simulation, start=step, reproducible=reproducible)
        async with app.run_test(size=size) as pilot:
            await press_views(app, pilot, views, unit, keys)
            app.clear_notifications()
            await pilot.pause()
            return app.export_screenshot(title=simulation.title or "netsim")

    return asyncio.run(run())
