"""What a change of stage does, counted: the widgets it mounts (none: every panel is built once,
with the player, and the footer holds every stage's keys from the start, showing and hiding
them), how often the footer is rebuilt (once), how often the screen is laid out, and that the
footer rebuilt in place shows what a new player shows. ``tests/test_stage_frames.py`` counts
the frames (one)."""

from __future__ import annotations

from typing import Any

import pytest
from test_frames import SIZE, count_frames, player_app
from test_stage_frames import settle
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets._footer import FooterKey

from tui.screens.player import PlayerScreen
from tui.widgets.keyfooter import KeyFooter


class Counts:
    """Widgets mounted, footer rebuilds and screen layouts from now on (Textual's
    ``Widget._on_mount`` and ``Screen._refresh_layout`` wrapped: internal, pinned)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.mounted: list[Widget] = []
        self.rebuilds = 0
        self.layouts = 0
        mount = Widget._on_mount
        rebuild = KeyFooter.recompose
        layout = Screen._refresh_layout

        def mounted(widget: Widget, event: Any) -> Any:
            self.mounted.append(widget)
            return mount(widget, event)

        async def rebuilt(footer: KeyFooter) -> None:
            self.rebuilds += 1
            await rebuild(footer)

        def laid_out(screen: Screen[Any], *args: Any, **kw: Any) -> None:
            self.layouts += 1
            layout(screen, *args, **kw)

        monkeypatch.setattr(Widget, "_on_mount", mounted)
        monkeypatch.setattr(KeyFooter, "recompose", rebuilt)
        monkeypatch.setattr(Screen, "_refresh_layout", laid_out)

    def clear(self) -> None:
        self.mounted.clear()
        self.rebuilds = self.layouts = 0


def shown(footer: KeyFooter) -> list[Widget]:
    """Every widget the footer shows (the keys it holds hidden left out), in order."""
    return [
        w for piece in footer.shown_pieces() for w in piece.walk_children(Widget, with_self=True)
    ]


def pieces(screen: Any) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every widget the footer shows: its type, key, description and classes."""
    return [
        (
            type(w).__name__,
            str(getattr(w, "key_display", "")),
            str(getattr(w, "description", getattr(w, "content", ""))),
            tuple(sorted(w.classes)),
        )
        for w in shown(screen.query_one(KeyFooter))
    ]


async def walk(name: str, monkeypatch: pytest.MonkeyPatch, rounds: int = 2) -> list[dict[str, Any]]:
    """Every stage with ``]`` and back with ``[``, ``rounds`` times: what each press did."""
    app = player_app(name)
    counts = Counts(monkeypatch)
    out = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        footer = screen.query_one(KeyFooter)
        frames = count_frames(app)
        n = len(screen.simulation.stages)
        keys = ["right_square_bracket"] * (n - 1) + ["left_square_bracket"] * (n - 1)
        for r in range(rounds):
            for key in keys:
                before = set(shown(footer))
                held = set(footer.walk_children(Widget))
                counts.clear()
                frames.clear()
                await pilot.press(key)
                await settle(app, pilot)
                after = set(shown(footer))
                out.append(
                    {
                        "round": r,
                        "stage": screen.simulation.locate(screen.cursor)[0],
                        "frames": len(frames),
                        "mounted": list(counts.mounted),
                        "new_in_footer": after - before,
                        "kept_in_footer": after & before,
                        "never_held": after - held,
                        "rebuilds": counts.rebuilds,
                        "layouts": counts.layouts,
                        "pieces": pieces(screen),
                    }
                )
    return out


@pytest.mark.parametrize("name", ["caption_shapes", "cnn_conv_relu_pool", "translate_date"])
async def test_a_change_of_stage_mounts_nothing(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for press in await walk(name, monkeypatch):
        assert press["frames"] == 1
        # No widget is built on the key, the first visit to a stage included: every panel is
        # mounted with the player, and the footer already holds the new stage's keys (only the
        # panel area's scroll bar is made by Textual, the first time it is needed).
        assert not [w for w in press["mounted"] if not isinstance(w, ScrollBar)], press["stage"]
        assert not press["never_held"]
        # The keys that come are shown, those that go hidden; the footer keeps showing what the
        # two stages share (at least ?, q and the step keys).
        assert len(press["kept_in_footer"]) >= 5


async def test_the_footer_shows_and_hides_keys_on_a_change_of_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The beam search offers more keys than the captioner (B b, A a): they are shown going
    to it and hidden going back, not mounted and removed."""
    presses = await walk("caption_shapes", monkeypatch, rounds=1)
    to_search, back = presses
    assert to_search["stage"] == 1 and back["stage"] == 0
    assert to_search["new_in_footer"] and not back["new_in_footer"]
    keys = {w.key_display for w in to_search["new_in_footer"] if isinstance(w, FooterKey)}
    assert {"B", "b", "A", "a"} <= keys


@pytest.mark.parametrize("name", ["caption_shapes", "cnn_conv_relu_pool", "translate_date"])
async def test_on_a_second_visit_the_footer_is_rebuilt_once_and_the_screen_laid_out_twice_at_most(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether the panel area scrolls (the ``i`` key, the scroll bar) is known from the panel's
    last visit: the footer is built once and the scroll bar's coming or going asks for no
    layout of its own."""
    for press in await walk(name, monkeypatch):
        if press["round"] == 0:
            continue
        assert press["rebuilds"] == 1, press
        assert press["layouts"] <= 2, press


@pytest.mark.parametrize("name", ["caption_shapes", "cnn_conv_relu_pool"])
async def test_the_footer_rebuilt_in_place_is_the_one_a_new_player_shows(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys, descriptions, groups and classes (``-compact`` among them: ``cnn_conv_relu_pool``'s
    activation fits its keys on one line, the convolution and the pooling do not)."""
    presses = await walk(name, monkeypatch, rounds=1)
    for press in presses:
        fresh = player_app(name)
        fresh._start = fresh.simulation.offsets[press["stage"]]  # type: ignore[union-attr]
        async with fresh.run_test(size=SIZE) as pilot:
            await settle(fresh, pilot)
            assert pieces(fresh.screen) == press["pieces"], press["stage"]
