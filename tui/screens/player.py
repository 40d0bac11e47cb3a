"""PlayerScreen: one step cursor over a Simulation, the panel that draws it, and playback."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.message_pump import MessagePump
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Header, Static
from textual.worker import Worker, get_current_worker

from engine.core import (
    BorderUsage,
    CompactForm,
    Flippable,
    HiddenUnits,
    Refeedable,
    Restridable,
    Revaluable,
    Searchable,
    Tempered,
)
from engine.errors import SpecError
from engine.receptive import traceable
from engine.translation import shiftable
from tui import heap
from tui.compositor import use_line_updates
from tui.edits import Cell, as_saved, near_cells, number, parse, written
from tui.panels import Panel, panel_for
from tui.screens.goto import GotoScreen
from tui.screens.help import LAYER_BINDINGS, HelpScreen, editable, offered_keys
from tui.screens.textinput import TextInputScreen
from tui.text import paragraphs
from tui.widgets.badge import TorchBadge
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.legend import Legend
from tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from engine.core import Pair, Simulation, Stage

SPEEDS = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0]
"""Playback speeds in steps per second; + and − move along this list."""
TEMPERATURES = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]
"""Sampling temperatures τ that < and > move along (a scenario may start between two)."""
BEAM_WIDTHS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000]
"""Beam widths B that B and b move along (a scenario may start between two): B = 1 is greedy
decoding, and the list ends at the engine's limit (``engine.limits.MAX_BEAM_WIDTH``)."""
ALPHA_STEP = 0.1
"""How far A and a move the length-normalisation exponent α, within [0, 1]."""
RELOAD_POLL_SECONDS = 1.0
"""How often the player looks at its scenario file's modification time and size."""
CHECK_IDLE = 0.5
"""Seconds without a key press (and without playback) before the PyTorch check that starts by
itself imports torch: loading torch's libraries holds the interpreter's lock for 0.5 to 0.7 s
in one piece, and a key pressed meanwhile waits that long for its frame. Once torch is
imported a check starts at once; the c key never waits."""
HOLD_UPDATES = 6
"""Screen updates a change of stage may take to settle (each one a layout that asks for
another) before it is painted anyway."""
HOLD_IDLE = 0.001
"""Seconds between two looks at a change of stage that is settling: whether anything is left
to lay out, rebuild or handle (laid out there and then, not at the next tick of the screen's
60 Hz update timer), else it is painted. Each look gives the widgets' message queues a turn."""
HOLD_LONGEST = 1.0
"""Seconds after which a change of stage that has not settled is painted anyway (a first visit
to a large panel on a busy machine takes up to half of that)."""
SYNC_OUTPUTS = 100_000
"""Outputs up to which a flip, or a change (``v``, ``s`` / ``S``, ``p`` / ``P``) counted over
the changed stage and every later one, is computed on the spot (measured: a few milliseconds);
more is computed again in a worker, the panel marked as loading, and Esc cancels it. A
3×224×224 input through 64 filters takes 0.06–0.3 s to compute again, 3×626×626 0.3–2.5 s."""


def next_temperature(tau: float, direction: int) -> float | None:
    """The listed temperature after ``tau`` going up (``direction`` > 0) or down, or None at the
    end of the list."""
    if direction > 0:
        return next((t for t in TEMPERATURES if t > tau + 1e-9), None)
    return next((t for t in reversed(TEMPERATURES) if t < tau - 1e-9), None)


def next_beam_width(width: int, direction: int) -> int | None:
    """The listed beam width after ``width`` going up (``direction`` > 0) or down, or None at
    the end of the list."""
    if direction > 0:
        return next((b for b in BEAM_WIDTHS if b > width), None)
    return next((b for b in reversed(BEAM_WIDTHS) if b < width), None)


def next_alpha(alpha: float, direction: int) -> float | None:
    """α moved by ``ALPHA_STEP`` up or down, rounded to the step and kept within [0, 1], or None
    when it is already at that end."""
    new = min(1.0, max(0.0, round(alpha + direction * ALPHA_STEP, 1)))
    return None if abs(new - alpha) < 1e-9 else new


def search_summary(stage: Stage) -> str:
    """``; best '1979-05-03' (log P −0.12)``: what a beam search found, for a notification."""
    result = getattr(stage, "result", None)
    text_of = getattr(stage, "text_of", None)
    if result is None or text_of is None:
        return ""
    best = result.best
    log_p = f"{best.log_prob:.3g}".replace("-", "−")
    unfinished = ", unfinished" if result.ran_out else ""
    return f"; best {text_of(best)!r} (log P {log_p}{unfinished})"


UNBOUNDED = 100_000
"""A height, in lines, that no panel reaches."""
SHORT = 32
"""Below this many rows the description starts hidden: the panel needs the lines (``d`` shows
it)."""


class ScrollArea(VerticalScroll, can_focus=False):
    """A part of the player that scrolls with its keys (``i``, ``d``) and the mouse wheel. It
    never takes the focus, which would give it the arrows, Home/End and PgUp/PgDn the player
    steps with."""

    scrolls: bool | None = None
    """Whether the content was taller than the area at the last resize (None before)."""

    def on_resize(self, event: Resize) -> None:
        self.note_scrolls()

    def note_scrolls(self) -> bool:
        """Whether the area scrolls decides whether its key is offered: tell the footer when
        that changed (True). A new panel of another height changes the content's size only,
        which sends the area no Resize: the player asks after a change of stage."""
        scrolls = self.max_scroll_y > 0
        if scrolls == self.scrolls:
            return False
        self.scrolls = scrolls
        self.screen.refresh_bindings()
        return True

    def page(self) -> int:
        """Lines one key press scrolls: the visible height, less one line kept for context
        when there are enough to spare."""
        height = self.scrollable_content_region.height
        return max(1, height - 1 if height > 3 else height)


class PlayerScreen(Screen[None]):
    """Steps forward and backward through a simulation; every key is a binding."""

    _STEP = Binding.Group("Step", compact=True)
    _ROW = Binding.Group("Row")
    _ENDS = Binding.Group("Ends")
    _SPEED = Binding.Group("Speed", compact=True)
    _STAGE = Binding.Group("Stage", compact=True)
    _TAU = Binding.Group("τ", compact=True)
    _BEAM = Binding.Group("Beam", compact=True)
    _ALPHA = Binding.Group("α", compact=True)
    _STRIDE = Binding.Group("Stride", compact=True)
    _PADDING = Binding.Group("Pad", compact=True)

    BINDINGS = [
        # The footer shows every key offered here, on two lines or three at 80 columns, in this
        # order: help and quit first, then the keys used most.
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("space", "toggle_play", "Play", id="play"),
        Binding("left", "step(-1)", "Back", key_display="←", group=_STEP, id="prev"),
        Binding("right", "step(1)", "Step", key_display="→", group=_STEP, id="next"),
        Binding("pageup", "row(-1)", "Row back", key_display="PgUp", group=_ROW, id="prev-row"),
        Binding("pagedown", "row(1)", "Row", key_display="PgDn", group=_ROW, id="next-row"),
        # On a small terminal these are what brings the rest of the screen into view.
        Binding("i", "inspector(1)", "Inspector", id="inspector"),
        Binding("I", "inspector(-1)", "Inspector up", show=False, id="inspector-up"),
        Binding("d", "description", "About", id="description"),
        Binding(
            "home", "jump_start", "First", key_display="Home", group=_ENDS, show=False, id="first"
        ),
        Binding("end", "jump_end", "Last", key_display="End", group=_ENDS, show=False, id="last"),
        Binding("minus", "speed(-1)", "Slower", key_display="−", group=_SPEED, id="slower"),
        Binding(
            "plus,equals_sign", "speed(1)", "Faster", key_display="+", group=_SPEED, id="faster"
        ),
        Binding(
            "left_square_bracket",
            "stage(-1)",
            "Previous stage",
            key_display="[",
            group=_STAGE,
            id="prev-stage",
        ),
        Binding(
            "right_square_bracket",
            "stage(1)",
            "Next stage",
            key_display="]",
            group=_STAGE,
            id="next-stage",
        ),
        # Opened on one layer of a network, ] and [ go to the next and previous layer instead
        # (the stage bindings are then disabled, so the key falls through to these).
        *LAYER_BINDINGS,
        Binding("tab", "stage(1)", "Next stage", show=False, id="next-stage-tab"),
        Binding("shift+tab", "stage(-1)", "Previous stage", show=False, id="prev-stage-tab"),
        Binding("g", "goto", "Go to", id="goto"),
        Binding("h", "toggle_heat", "Heat", id="heat"),
        Binding("r", "receptive", "Field", id="receptive"),
        Binding("f", "flip", "Flip", id="flip"),
        Binding("u", "usage", "Border", id="usage"),
        Binding("t", "translate", "Shift", id="translate"),
        Binding("k", "compact", "Compact", id="compact"),
        Binding("m", "maps(1)", "Maps", id="next-maps"),
        Binding("M", "maps(-1)", "Previous maps", show=False, id="prev-maps"),
        Binding("n", "unit(1)", "Next unit", show=False, id="next-unit"),
        Binding("N", "unit(-1)", "Previous unit", show=False, id="prev-unit"),
        Binding(
            "less_than_sign", "temperature(-1)", "Colder", key_display="<", group=_TAU, id="colder"
        ),
        Binding(
            "greater_than_sign",
            "temperature(1)",
            "Hotter",
            key_display=">",
            group=_TAU,
            id="hotter",
        ),
        Binding("e", "edit_text", "Edit text", id="edit-text"),
        Binding("B", "beam(1)", "Wider", key_display="B", group=_BEAM, id="wider-beam"),
        Binding("b", "beam(-1)", "Narrower", key_display="b", group=_BEAM, id="narrower-beam"),
        Binding("A", "alpha(1)", "α up", key_display="A", group=_ALPHA, id="alpha-up"),
        Binding("a", "alpha(-1)", "α down", key_display="a", group=_ALPHA, id="alpha-down"),
        Binding("c", "check", "Check", show=False, id="check"),
        Binding("escape", "back", "List", key_display="Esc", show=False, id="back"),
        Binding("v", "edit_value", "Edit", id="edit-value"),
        Binding("s", "stride(-1)", "Stride −", key_display="s", group=_STRIDE, id="stride-down"),
        Binding("S", "stride(1)", "Stride +", key_display="S", group=_STRIDE, id="stride-up"),
        Binding("p", "padding(-1)", "Padding −", key_display="p", group=_PADDING, id="pad-down"),
        Binding("P", "padding(1)", "Padding +", key_display="P", group=_PADDING, id="pad-up"),
    ]

    # var, not reactive: a change is drawn by the panel's widgets, not by repainting the screen.
    cursor: var[int] = var(0, init=False)
    """The global step on screen; clamped to the simulation's range."""
    playing: var[bool] = var(False, init=False)
    """Whether playback advances the cursor on a timer."""
    speed: var[float] = var(5.0, init=False)
    """Playback speed, steps per second."""
    heat: var[bool] = var(False, init=False)
    """Heat view (shaded cells) instead of numbers."""

    class BackToList(Message):
        """The user asked for the scenario list (Esc); the app decides which screen that is."""

    class LayerWanted(Message):
        """``]`` past the last stage or ``[`` at the first, in a player opened on one layer of
        a network: the screen that opened it shows the next (``direction`` 1) or previous
        (−1) layer instead."""

        def __init__(self, direction: int) -> None:
            super().__init__()
            self.direction = direction

    def __init__(
        self,
        simulation: Simulation,
        *,
        start: int = 0,
        check: bool = True,
        layers: MessagePump | None = None,
        heat: bool = False,
    ) -> None:
        """``layers``: the screen that opened this player on one layer of a network; ``]`` and
        ``[`` beyond the simulation's stages send it a ``LayerWanted``. ``heat`` starts in the
        heat view (a player reloaded from its file keeps the one it had)."""
        super().__init__()
        use_line_updates(self)  # partial updates draw only the widgets on changed lines
        self._start_heat = heat
        self._source_stamp: tuple[int, int] | None = None
        self._changes: dict[str, tuple[str, str]] = {}  # what was changed here: key → (now, file)
        self._file_text = (simulation.title, simulation.description)  # as the file has them
        self.simulation = simulation
        self._layers = layers
        self._start = start
        self._auto_check = check
        self._timer: Timer | None = None
        self._panels: dict[int, Panel] = {}
        self._generation = 0  # bumped when a stage is replaced, so its new panel gets a new id
        self._description_chosen = False  # d was pressed: the size no longer decides
        self._area = ScrollArea(id="panel-area")
        """The panel's scrolling area (kept: the footer asks about it before it is mounted)."""
        self._last_key = time.monotonic()  # the last key pressed, for the deferred check
        self._busy: Worker[None] | None = None  # a slow view being computed; Esc cancels it
        self._pending_window: tuple[int, Pair, Pair] | None = None  # stage, stride, padding
        self._held = 0  # screen updates left before a change of stage is painted anyway
        self._hold_since = 0.0  # when the change of stage on hold began (time.monotonic)
        self._scrolls_seen: dict[str, tuple[bool, bool]] = {}  # panel id → area scrolled, bar
        self.updates_held = 0
        """Screen updates made while changes of stage settled (a layout, or a repaint held for the
        one frame), counted."""
        self._release_timer: Timer | None = None
        self._deadline_timer: Timer | None = None  # paints a change of stage that never settles

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(id="stage-bar")
        with self._area, ContentSwitcher(id="panels"):
            for s, stage in enumerate(self.simulation.stages):
                panel = panel_for(stage, id=f"stage-{s}")
                self._panels[s] = panel
                yield panel
        description = Content(paragraphs(self.simulation.description))  # not markup
        with ScrollArea(id="description"):
            yield Static(description, id="description-text")
        yield Legend(id="legend")
        with Horizontal(id="status"):
            yield Timeline(self.simulation.offsets[1:], id="timeline")
            yield TorchBadge(id="badge")
        yield KeyFooter()

    @property
    def _timeline(self) -> Timeline:
        return self.query_one("#timeline", Timeline)

    @property
    def _switcher(self) -> ContentSwitcher:
        return self.query_one("#panels", ContentSwitcher)

    def on_mount(self) -> None:
        self.title = self.simulation.title or "netsim"
        self.sub_title = Path(self.simulation.source).name if self.simulation.source else ""
        self._timer = self.set_interval(1 / self.speed, self._tick, pause=True)
        timeline = self.query_one(Timeline)
        timeline.total = len(self.simulation)
        timeline.speed = self.speed
        for panel in self._panels.values():
            self._unclip(panel)
        self.set_reactive(PlayerScreen.cursor, self.validate_cursor(self._start))
        self._show(self.cursor)
        if self._start_heat:
            self.heat = True
        self._watch_source()
        if self._auto_check:
            # After the first frame: the wait for an idle user starts from what they see.
            self.call_after_refresh(self._request_check)
        # After the first frame, and after every screen this one replaces (see tui.heap).
        heap.settle_later(self, self._idle)

    def on_key(self) -> None:
        # Only noted, never stopped: the bindings still see the key.
        self._last_key = time.monotonic()

    @property
    def _description(self) -> ScrollArea:
        return self.query_one("#description", ScrollArea)

    @staticmethod
    def _unclip(panel: Panel) -> None:
        """A panel that scrolls its own body when the terminal is small lets it grow here
        instead: the panel area scrolls, and then ``i`` reaches every line."""
        from tui.panels._sequence import Body

        for body in panel.query(Body):
            # An inline rule beats the panel's ``max-height: 100%`` (None would only remove
            # the inline rule, and Textual has no "none" for it): a bound no panel reaches.
            body.styles.max_height = UNBOUNDED

    def on_resize(self) -> None:
        # On short terminals the panel needs the lines, until d asks for the description.
        if not self._description_chosen:
            self._description.display = self.size.height >= SHORT and self._has_description

    # -- the cursor ----------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.simulation) - 1))

    def watch_cursor(self, value: int) -> None:
        self._show(value)

    def _show(self, i: int) -> None:
        stage_no, local = self.simulation.locate(i)
        switcher = self._switcher
        panel = self._panels[stage_no]
        if switcher.current != panel.id:
            if switcher.current is not None:  # from one stage to another, not the first
                self._hold_frames()
                self._guess_scrolls(switcher.current, stage_no)
            switcher.current = panel.id
            self._show_stage_bar(stage_no)
            self._area.scroll_home(animate=False, immediate=True)
            self._show_legend(stage_no)
            self.refresh_bindings()
        step = self.simulation.stages[stage_no].step(local)
        # Panels sum and multiply the step's numbers to explain them; when those overflowed
        # in the engine they overflow here too, and the screen shows inf / nan instead.
        with np.errstate(over="ignore", invalid="ignore"):
            panel.show(step)
        timeline = self._timeline
        timeline.position = i
        t = getattr(step, "t", None)
        label = getattr(panel, "step_label", None)  # a step that is not a time step names itself
        where = label(step) if label is not None else None
        if where is None:
            where = f"t = {t}" if t is not None else step.explanation.split(" = ")[0]
        timeline.label = f"{step.stage} · {where}"

    # -- one frame for a change of stage -------------------------------------------------

    def _hold_frames(self) -> None:
        """Paint the next change of stage in one frame. The new panel is laid out, and the
        layout leads to more: the scrolling area gains or loses its scroll bar (a second
        layout, one column narrower), and the footer is rebuilt for the new stage's keys (a
        third); each used to be painted. Painting now waits until the screen has nothing more
        to lay out, for HOLD_UPDATES screen updates or HOLD_LONGEST at most. No timer is waited
        for meanwhile: ``_release_frames`` looks every HOLD_IDLE and does what is left in
        order (the footer, the widgets' messages, one layout), and the area's scroll bar is
        set as it was on the panel's last visit (``_guess_scrolls``)."""
        self._held = HOLD_UPDATES
        self._hold_since = time.monotonic()
        self._release_later()
        if self._deadline_timer is not None:
            self._deadline_timer.stop()
        # Whatever happens to the looks, the change is painted by then.
        self._deadline_timer = self.set_timer(HOLD_LONGEST, self._past_deadline, name="deadline")

    def _guess_scrolls(self, leaving: str, stage_no: int) -> None:
        """Whether the panel area will scroll with stage ``stage_no``'s panel, as it did the
        last time it was on screen (the terminal's size rarely changes meanwhile). The footer
        is then built once, with or without ``i``, before the screen is laid out, and the area's
        scroll bar is there or not from the start: its coming or going during the layout would
        ask for a second one, at a width one column different, and the panel's boxes would be
        drawn and measured again for it. The layout tells (``note_scrolls``); a wrong guess
        costs what every change of stage cost before."""
        area = self._area
        if area.scrolls is not None:
            self._scrolls_seen[leaving] = (area.scrolls, area.show_vertical_scrollbar)
        guess = self._scrolls_seen.get(self._panels[stage_no].id or "")
        if guess is None:
            return
        area.scrolls, bar = guess
        if area.show_vertical_scrollbar != bar:
            area.show_vertical_scrollbar = bar
            area.vertical_scrollbar.display = bar

    def footer_states(self) -> Iterator[None]:
        """The other stages' keys, for the footer to hold them from the start (``FooterStates``):
        the cursor on each other stage's first step, the panel area scrolling (``i`` offered),
        then both as they were. A change of stage then only shows and hides keys, and mounts
        none. (A player of one stage has none: its footer holds only what it shows.)"""
        cursor, scrolls = self.cursor, self._area.scrolls
        here = self.simulation.locate(cursor)[0]
        try:
            for stage_no, offset in enumerate(
                self.simulation.offsets[: len(self.simulation.stages)]
            ):
                if stage_no == here:
                    continue
                self.set_reactive(PlayerScreen.cursor, offset)
                self._area.scrolls = True
                yield
        finally:
            self.set_reactive(PlayerScreen.cursor, cursor)
            self._area.scrolls = scrolls

    def hold_first_frame(self) -> None:
        """Paint this player's first frame once its first layouts have settled (the footer
        rebuilt for the stage's keys, the scroll bar decided), as a change of stage is: the
        screen it replaces (the loading screen) stays on the terminal until then, and a key
        pressed once the player is painted does not wait for those layouts."""
        self._held = HOLD_UPDATES
        self._hold_since = 0.0  # counted from its first update: mounting comes before

    @property
    def settling(self) -> bool:
        """Whether a change of stage is being laid out, and painted once it has settled."""
        return self._held > 0

    def _on_timer_update(self) -> None:
        # Textual's screen update, which lays out and paints what changed (internal: the
        # version of Textual is pinned). While a change of stage settles, the update timer's
        # tick only hands over to _release_frames, which does the updates in its own order.
        if self._held:
            self._update_timer.pause()
            if self._release_timer is None:
                self._release_later()
            return
        super()._on_timer_update()

    def _held_update(self) -> None:
        """One screen update while a change of stage settles: laid out without painting (see
        _compositor_refresh); the Resize events it sends may ask for more."""
        self._hold_since = self._hold_since or time.monotonic()
        super()._on_timer_update()
        self.updates_held += 1
        self._held -= 1
        if self._held:
            self._area.note_scrolls()  # its key comes or goes: the footer is rebuilt
            self._release_later()
        else:
            self._paint_held()

    def _past_deadline(self) -> None:
        self._deadline_timer = None
        if self._held:
            self._paint_held()

    def _release_later(self) -> None:
        if self._release_timer is not None:
            self._release_timer.stop()
        self._release_timer = self.set_timer(HOLD_IDLE, self._release_frames, name="release")

    async def _release_frames(self) -> None:
        """HOLD_IDLE after a held update: paint, unless something is still to be done. The
        footer's rebuild (a callback after a refresh) comes first, then the widgets' messages
        (mounting the footer's new keys, the Resize events of the new panel's widgets); then
        the screen is laid out once, with all of it; then painted."""
        self._release_timer = None
        if not self._held:
            return
        if self._hold_since and time.monotonic() - self._hold_since > HOLD_LONGEST:
            self._paint_held()
            return
        if self._callbacks:
            await self._invoke_and_clear_callbacks()
            self._release_later()
            return
        if self._messages_pending():
            self._release_later()
            self.check_idle()
            return
        if (
            self._layout_required
            or self._scroll_required
            or self._repaint_required
            or self._dirty_widgets
        ):
            # Laid out now (without painting) rather than at the update timer's next tick, up
            # to 16.7 ms away; that update looks again after it.
            self._held_update()
            return
        if self._area.note_scrolls():
            self._release_later()
            return
        self._paint_held()

    def _messages_pending(self) -> bool:
        """Whether the screen or any of its widgets still has a message to handle (a Resize,
        say, that may ask for another layout) or something to rebuild or lay out."""
        if self.message_queue_size:
            return True
        return any(
            w.message_queue_size
            or w._layout_required
            or w._repaint_required
            or w._recompose_required
            for w in self.walk_children(Widget, with_self=False)
        )

    def _paint_held(self) -> None:
        """Paint what the held updates laid out, in one frame."""
        if self._release_timer is not None:
            self._release_timer.stop()
            self._release_timer = None
        if self._deadline_timer is not None:
            self._deadline_timer.stop()
            self._deadline_timer = None
        self._held = 0
        if self.is_current:
            self._compositor_refresh()
        # Painted before it settled (HOLD_UPDATES or HOLD_LONGEST reached): whether the area
        # scrolls is still asked, so that the footer offers i or not (a frame more).
        self._area.note_scrolls()

    def _compositor_refresh(self) -> None:
        # Textual's paint of the screen's changed regions (internal): skipped while a change of
        # stage settles; the regions add up and are painted in one frame when it has.
        if not self._held:
            super()._compositor_refresh()

    def _show_stage_bar(self, stage_no: int) -> None:
        """Which stage is on screen and where its input comes from (pipelines only)."""
        bar = self.query_one("#stage-bar", Static)
        stages = self.simulation.stages
        bar.display = len(stages) > 1
        if len(stages) < 2:
            return
        if stage_no == 0:
            source = "the scenario's input"
        elif isinstance(stages[stage_no], Searchable):
            # A search after a translation or a caption reads the same input with the same
            # model: it does not read the stage before's output.
            source = f"the same input, searched with {stages[stage_no - 1].name}'s model"
        else:
            source = f"{stages[stage_no - 1].name}'s output"
        # Stage names are the scenario's own text: pieces of Content, never parsed as markup.
        parts: list[str | tuple[str, str]] = [f" Stage {stage_no + 1} of {len(stages)}: "]
        for i, s in enumerate(stages):
            if i:
                parts.append(" → ")
            parts.append((f" {s.name} ", "bold reverse") if i == stage_no else s.name)
        parts.append(f"   input = {source}")
        bar.update(Content.assemble(*parts))

    # -- playback ------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.cursor >= len(self.simulation) - 1:
            self.playing = False
            return
        self.cursor += 1

    def watch_playing(self, playing: bool) -> None:
        if self._timer is not None:
            if playing:
                if self.cursor >= len(self.simulation) - 1:
                    self.cursor = 0
                self._timer.resume()
            else:
                self._timer.pause()
        self.query_one(Timeline).playing = playing

    def watch_speed(self, speed: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1 / speed, self._tick, pause=not self.playing)
        self.query_one(Timeline).speed = speed

    def watch_heat(self, heat: bool) -> None:
        for panel in self._panels.values():
            panel.set_heat(heat)
        self._show_legend(self.simulation.locate(self.cursor)[0])

    def _show_legend(self, stage_no: int) -> None:
        """The colours of stage ``stage_no``'s panel, in the current view, under the panel."""
        self.query_one("#legend", Legend).show(self._panels[stage_no].legend(self.heat))

    # -- actions -------------------------------------------------------------------------

    def action_toggle_play(self) -> None:
        self.playing = not self.playing

    def action_step(self, delta: int) -> None:
        self.playing = False
        self.cursor += delta

    def action_row(self, delta: int) -> None:
        self.playing = False
        stage = self.simulation.stage_of(self.cursor)
        self.cursor += delta * stage.row_steps()

    def action_stage(self, direction: int) -> None:
        """To the first step of the next stage, or of this one (then the previous one) going
        back — like a music player's previous-track button."""
        self.playing = False
        sim = self.simulation
        stage_no, local = sim.locate(self.cursor)
        if direction > 0:
            target = stage_no + 1
            if target >= len(sim.stages):
                return
        else:
            target = stage_no if local > 0 else max(stage_no - 1, 0)
        self.cursor = sim.offsets[target]

    def action_layer(self, direction: int) -> None:
        """Opened on one layer of a network: ask the network screen for the next or previous
        layer, which replaces this player."""
        self.playing = False
        if self._layers is not None:
            self._layers.post_message(self.LayerWanted(direction))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Stage keys only mean something when there is more than one stage; on one layer of a
        # network, ] and [ move between layers instead.
        if action == "stage":
            return len(self.simulation.stages) > 1 and self._layers is None
        if action == "layer":
            return self._layers is not None
        if action == "description":
            return self._has_description
        if action == "inspector":
            # Only when the panel is taller than its area: otherwise every line is on screen.
            return bool(self._area.scrolls)
        # Every other key depends on what the stage on screen declares it can do.
        stage = self.simulation.stage_of(self.cursor)
        if action == "row":
            # PgUp/PgDn move by a row of output: only where there is more than one row and a
            # row is more than one step (else they would be → or End).
            return 1 < stage.row_steps() < len(stage)
        if action == "compact":
            return isinstance(stage, CompactForm) and stage.has_compact_form()
        if action == "maps":
            # Only where some channels or maps of the panel on screen are a page away.
            pages = getattr(self._panels[self.simulation.locate(self.cursor)[0]], "map_pages", None)
            return pages is not None and pages()
        if action == "receptive":
            # Tracing needs the stages up to the one on screen to be image-to-image maps.
            upto = self.simulation.locate(self.cursor)[0]
            return traceable(self.simulation.stages[: upto + 1])
        if action == "translate":
            # Re-running needs every stage to accept a new input.
            return shiftable(self.simulation.stages)
        if action == "unit":
            return isinstance(stage, HiddenUnits) and stage.unit_count() > 1
        if action == "temperature":
            return isinstance(stage, Tempered)
        if action in ("beam", "alpha"):
            return isinstance(stage, Searchable)
        if action == "edit_text":
            return editable(stage)
        if action == "edit_value":
            return bool(self._value_arrays(self.simulation.locate(self.cursor)[0]))
        if action in ("stride", "padding"):
            return isinstance(stage, Restridable) and self._later_refeedable(stage)
        if action == "toggle_heat":
            return self._panels[self.simulation.locate(self.cursor)[0]].has_heat()
        if action == "flip":
            return isinstance(stage, Flippable)
        if action == "usage":
            return isinstance(stage, BorderUsage)
        return True

    @property
    def _has_description(self) -> bool:
        return bool(self.simulation.description.strip())

    def action_description(self) -> None:
        """Show the description, then page through it; after its last line, hide it again."""
        self._description_chosen = True
        box = self._description
        if not box.display:
            box.display = True
            box.scroll_home(animate=False, immediate=True)
        elif box.scroll_y < box.max_scroll_y:
            box.scroll_to(y=box.scroll_y + box.page(), animate=False, immediate=True)
        else:
            box.display = False

    def action_inspector(self, direction: int) -> None:
        """Scroll the panel a page towards its inspector (``i``, stopping where the inspector
        begins) or back up (``I``); past the end, back to the other end."""
        area = self._area
        if direction < 0:
            if area.scroll_y <= 0:
                area.scroll_end(animate=False, immediate=True)
            else:
                area.scroll_to(y=area.scroll_y - area.page(), animate=False, immediate=True)
            return
        if area.scroll_y >= area.max_scroll_y:
            area.scroll_home(animate=False, immediate=True)
            return
        target = area.scroll_y + area.page()
        inspector = self._panels[self.simulation.locate(self.cursor)[0]].inspector()
        if inspector is not None:
            # Where the inspector begins, in the area's scrolled coordinates.
            top = inspector.region.y - area.scrollable_content_region.y + area.scroll_y
            if area.scroll_y < top < target:
                target = top
        area.scroll_to(y=min(target, area.max_scroll_y), animate=False, immediate=True)

    def action_jump_start(self) -> None:
        self.playing = False
        self.cursor = 0

    def action_jump_end(self) -> None:
        self.playing = False
        self.cursor = len(self.simulation) - 1

    def action_speed(self, direction: int) -> None:
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - self.speed))
        self.speed = SPEEDS[max(0, min(i + direction, len(SPEEDS) - 1))]

    def action_toggle_heat(self) -> None:
        self.heat = not self.heat

    def action_goto(self) -> None:
        def chosen(step: int | None) -> None:
            if step is not None:
                self.cursor = step

        self.playing = False
        self.app.push_screen(GotoScreen(len(self.simulation), self.cursor), chosen)

    def action_receptive(self) -> None:
        """Open the receptive-field view for the output the current step computes."""
        from tui.screens.receptive import ReceptiveScreen, step_cell

        self.playing = False
        stage_no, local = self.simulation.locate(self.cursor)
        step = self.simulation.stages[stage_no].step(local)
        self.app.push_screen(ReceptiveScreen(self.simulation, stage_no, step_cell(step)))

    def action_flip(self) -> None:
        """Cross-correlation ⇄ true convolution for the convolution on screen. The first flip
        of a large layer computes it again in a worker, the panel marked as loading; Esc
        cancels it."""
        stage_no = self.simulation.locate(self.cursor)[0]
        panel = self._panels[stage_no]
        toggle = getattr(panel, "toggle_flip", None)
        if toggle is None or self._busy is not None:
            return
        stage = self.simulation.stages[stage_no]
        slow = stage.output.size > SYNC_OUTPUTS and hasattr(stage, "flipped")
        # The panel keeps the flipped layer once made (``_flipped``); only a first flip of a
        # large layer is slow.
        if not slow or getattr(panel, "_flipped", False) is not None:
            self._toggle_flip(panel)
            return
        self._in_worker(panel, cast(Flippable, stage).flipped, lambda f: self._flip_done(panel, f))

    def _in_worker(
        self, panel: Panel, compute: Callable[[], Any], done: Callable[..., Any]
    ) -> None:
        """Run ``compute`` in a thread worker, ``panel`` marked as loading, and hand its result
        (or the SpecError it raised) to ``done`` on the event loop. Esc cancels it and the
        screen keeps what it shows; a new one replaces the one under way."""
        self.playing = False
        panel.loading = True
        self._busy = self._slow_worker(panel, compute, done)

    @work(thread=True, exclusive=True, group="slow-view")
    def _slow_worker(
        self, panel: Panel, compute: Callable[[], Any], done: Callable[..., Any]
    ) -> None:
        try:
            result = compute()
        except SpecError as e:
            result = e
        worker = get_current_worker()
        if not worker.is_cancelled:
            self.app.call_from_thread(self._worker_done, worker, panel, done, result)

    def _worker_done(
        self, worker: Worker[None], panel: Panel, done: Callable[..., Any], result: object
    ) -> Any:
        if worker is not self._busy:
            return None  # cancelled, or replaced by a newer one, meanwhile
        self._busy = None
        self._pending_window = None
        panel.loading = False
        return done(result)

    def _flip_done(self, panel: Panel, flipped: Stage) -> None:
        if panel in self._panels.values() and panel.stage in self.simulation.stages:
            panel._flipped = flipped  # type: ignore[attr-defined]
            self._toggle_flip(panel)

    def _toggle_flip(self, panel: Panel) -> None:
        flipped = panel.toggle_flip()  # type: ignore[attr-defined]
        self.notify("true convolution: kernels flipped" if flipped else "cross-correlation")

    def action_compact(self) -> None:
        """W_a·[a⟨t−1⟩, x⟨t⟩] next to W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ (plain RNN cell)."""
        stage_no = self.simulation.locate(self.cursor)[0]
        toggle = getattr(self._panels[stage_no], "toggle_compact", None)
        if toggle is not None:
            toggle()

    def action_maps(self, direction: int) -> None:
        """The next or previous page of channels and maps, when not all fit side by side."""
        panel = self._panels[self.simulation.locate(self.cursor)[0]]
        page = getattr(panel, "page_maps", None)
        if page is not None:
            page(direction)
            self.refresh_bindings()

    def action_unit(self, direction: int) -> None:
        """Write the equations out for the next or previous hidden unit (recurrent cells)."""
        stage_no = self.simulation.locate(self.cursor)[0]
        select = getattr(self._panels[stage_no], "select_unit", None)
        if select is not None:
            select(direction)

    async def action_temperature(self, direction: int) -> None:
        """Re-run the language model on screen at the next colder or hotter τ: the same seed, so
        the draws differ only because the distributions do. The cursor keeps its time step."""
        stage_no, local = self.simulation.locate(self.cursor)
        stage = self.simulation.stages[stage_no]
        retemper = getattr(stage, "with_temperature", None)
        if retemper is None:
            return
        old_tau = float(getattr(stage, "temperature", 1.0))
        tau = next_temperature(old_tau, direction)
        if tau is None:
            end = "lowest" if direction < 0 else "highest"
            self.notify(f"τ = {old_tau:g} is the {end} temperature offered here")
            return
        self.playing = False
        await self._replace_stage(stage_no, retemper(tau), local)
        what = (
            "sharper: the likeliest choices gain" if tau < old_tau else "flatter: rarer ones gain"
        )
        self.notify(f"τ = {old_tau:g} → {tau:g}, distributions {what}")

    async def _replace_stage(self, stage_no: int, stage: Stage, local: int) -> None:
        """Put ``stage`` in place of stage ``stage_no`` with a new panel, keep the cursor at
        ``local`` within it (or its last step), and check the new numbers against PyTorch."""
        await self._replace_stages({stage_no: stage}, stage_no, local)

    async def _replace_stages(self, new: dict[int, Stage], stage_no: int, local: int) -> None:
        """Put each stage of ``new`` (stage number → stage) in place of the old one with a new
        panel, keep the cursor at step ``local`` of stage ``stage_no`` (or that stage's last
        step), and check the new numbers against PyTorch."""
        from engine.core import Simulation

        old = self.simulation
        stages = list(old.stages)
        for s, stage in new.items():
            stages[s] = stage
        simulation = Simulation(
            stages,
            title=old.title,
            description=old.description,
            topic=old.topic,
            source=old.source,
        )
        # The new stages may have fewer steps. The simulation and the cursor change together,
        # before the first await: bindings are checked (and keys handled) while the new panels
        # mount, and the cursor must already lie inside the simulation they see.
        local = min(local, len(stages[stage_no]) - 1)
        self.simulation = simulation
        self.set_reactive(PlayerScreen.cursor, simulation.global_index(stage_no, local))
        self._generation += 1
        switcher = self._switcher
        # One repaint for the whole change: frames painted while the panels mount would show
        # the old panels again, or none, and each costs a full layout.
        with self.app.batch_update():
            for s, stage in new.items():
                old_panel = self._panels[s]
                # A panel that can show another stage of its kind keeps its widgets: nothing
                # is mounted, and the screen need not be laid out again.
                restage = getattr(old_panel, "restage", None)
                if restage is not None and old_panel.stage.kind == stage.kind:
                    restage(stage)
                    continue
                panel = panel_for(stage, id=f"stage-{s}-{self._generation}")
                await switcher.mount(panel, after=old_panel)
                self._unclip(panel)
                self._panels[s] = panel
                if switcher.current == old_panel.id:
                    switcher.current = panel.id
                await old_panel.remove()
                panel.set_heat(self.heat)
            switcher.current = self._panels[stage_no].id
            timeline = self._timeline
            timeline.boundaries = self.simulation.offsets[1:]
            timeline.total = len(self.simulation)
            self._show(self.cursor)
            self._show_legend(stage_no)
        self.refresh_bindings()
        if self._auto_check:
            self._request_check()

    def action_edit_text(self) -> None:
        """Type another text for the model on screen: every stage that reads a text (the
        translator and its beam search, say) is run again on it, or none is."""
        stage_no, local = self.simulation.locate(self.cursor)
        stage = self.simulation.stages[stage_no]
        if not editable(stage):
            return
        self.playing = False
        field = str(getattr(stage, "text_field", "text"))
        before = str(getattr(stage, "input_text", "") or "")
        stages = self.simulation.stages

        def rerun(text: str) -> dict[int, Stage]:
            # Every stage is built before any is replaced: one refusal changes nothing.
            return {
                s: old.with_text(text)  # type: ignore[attr-defined]
                for s, old in enumerate(stages)
                if editable(old)
            }

        async def chosen(new: dict[int, Stage] | None) -> None:
            if not new or self.simulation.stages is not stages:
                return
            await self._replace_stages(new, stage_no, local)
            after = str(getattr(self.simulation.stages[stage_no], "input_text", "") or "")
            self.notify(f"{field} = {before!r} → {after!r}: {len(new)} stage(s) run again")
            self._note_change(field, f"{field} {after!r}", f"{field} {before!r}")

        what = getattr(stage, "text_prompt", None) or f"the {field} the model reads"
        prompt = f"{stage.name}: {what} ({field} = {before!r})"
        self.app.push_screen(TextInputScreen(prompt, before, rerun), chosen)

    def _search_on_screen(self) -> tuple[int, int, Searchable] | None:
        """(stage number, local step, stage) of the beam search on screen, or None."""
        stage_no, local = self.simulation.locate(self.cursor)
        stage = self.simulation.stages[stage_no]
        return (stage_no, local, stage) if isinstance(stage, Searchable) else None

    async def _search_again(
        self, stage_no: int, local: int, stage: Searchable, **change: float
    ) -> Stage:
        """The search on screen run again with ``change`` (beam_width or alpha), in its place."""
        self.playing = False
        new = stage.with_search(**change)  # type: ignore[arg-type]
        await self._replace_stage(stage_no, new, local)
        return new

    async def action_beam(self, direction: int) -> None:
        """Search again with the next wider or narrower beam width B."""
        found = self._search_on_screen()
        if found is None:
            return
        old = int(found[2].beam_width)
        width = next_beam_width(old, direction)
        if width is None:
            end = "narrowest" if direction < 0 else "widest"
            self.notify(f"B = {old} is the {end} beam offered here")
            return
        new = await self._search_again(*found, beam_width=width)
        what = "greedy decoding: one hypothesis" if width == 1 else f"{width} hypotheses kept"
        self.notify(f"B = {old} → {width}: {what} per step{search_summary(new)}")

    async def action_alpha(self, direction: int) -> None:
        """Rank the finished hypotheses again with α one step higher or lower."""
        found = self._search_on_screen()
        if found is None:
            return
        old = float(found[2].alpha)
        alpha = next_alpha(old, direction)
        if alpha is None:
            end = "lowest" if direction < 0 else "highest"
            self.notify(f"α = {old:g} is the {end} offered (α lies in [0, 1])")
            return
        new = await self._search_again(*found, alpha=alpha)
        if alpha == 0:
            what = "raw Σ log P, which favours short outputs"
        elif alpha == 1:
            what = "the average log P per token"
        else:
            what = f"longer outputs penalised {'less' if alpha > old else 'more'}"
        self.notify(f"α = {old:g} → {alpha:g}: {what}{search_summary(new)}")

    def action_usage(self) -> None:
        """How often each input pixel is read, with and without padding."""
        from tui.screens.usage import UsageScreen

        stage = self.simulation.stage_of(self.cursor)
        self.playing = False
        self.app.push_screen(UsageScreen(stage))  # type: ignore[arg-type]

    def action_translate(self) -> None:
        """Move the input by a pixel and compare every stage's output with the original."""
        from tui.screens.translation import TranslationScreen

        self.playing = False
        self.app.push_screen(TranslationScreen(self.simulation))

    def action_help(self) -> None:
        """The keys that do something on the stage on screen (as the footer decides), the
        colours and the scenario's description."""
        keys = offered_keys(lambda action: self.check_action(action, ()))
        panel = self._panels[self.simulation.locate(self.cursor)[0]]
        self.app.push_screen(
            HelpScreen(self.simulation, keys=keys, legend=panel.legend_entries(self.heat))
        )

    def action_back(self) -> None:
        """Back to the scenario list: the one this player was opened from, or a new one; while
        a slow view is being computed, Esc cancels that instead."""
        self.playing = False
        if self._busy is not None:
            self._busy.cancel()
            self._busy = None
            self._pending_window = None
            for panel in self._panels.values():
                panel.loading = False
            self.notify("cancelled")
            return
        self.post_message(self.BackToList())

    def _request_check(self) -> None:
        """Check the simulation against PyTorch once the user is idle (see ``CHECK_IDLE``)."""
        self.query_one(TorchBadge).state = "checking"
        self._check_worker(wait=True)

    def action_check(self) -> None:
        """Compare every stage with PyTorch now (the c key)."""
        badge = self.query_one(TorchBadge)
        badge.state = "checking"
        self._check_worker(wait=False)

    def _idle(self) -> bool:
        return not self.playing and time.monotonic() - self._last_key >= CHECK_IDLE

    @work(thread=True, exclusive=True, group="torch-check")
    def _check_worker(self, wait: bool) -> None:
        """Compare every stage with PyTorch's own op. The badge shows the largest |Δ| and calls
        it a match when every stage is within its tolerance (1e-9 in float64) of its largest
        magnitude (at least 1): rounding grows with the size of the numbers. With ``wait``,
        and torch not imported yet, first wait until the user is idle."""
        worker = get_current_worker()
        if wait and "torch" not in sys.modules:
            self._last_key = time.monotonic()
            while not self._idle():
                if worker.is_cancelled:
                    return
                time.sleep(CHECK_IDLE / 8)
        if worker.is_cancelled:
            return
        importing = "torch" not in sys.modules
        try:
            deltas, ok = [], True
            for stage in self.simulation.stages:
                delta = stage.check_against_torch()
                scale = max(1.0, float(abs(stage.output).max())) if stage.output.size else 1.0
                deltas.append(delta)
                ok = ok and delta <= stage.tolerance() * scale
        except Exception as e:  # any failure of the optional check is shown, not raised
            self.app.call_from_thread(self._checked, None, f"{type(e).__name__}: {e}")
        else:
            self.app.call_from_thread(self._checked, max(deltas), "", ok)
        if importing and "torch" in sys.modules:
            heap.freeze()  # torch's own objects: several times the app's

    def _checked(self, delta: float | None, error: str, ok: bool = False) -> None:
        badge = self.query_one(TorchBadge)
        if delta is None:
            badge.detail = error
            badge.state = "error"
        else:
            badge.stages = len(self.simulation.stages)
            badge.tolerance = max(stage.tolerance() for stage in self.simulation.stages)
            badge.matches = ok
            badge.delta = delta
            badge.state = "done"

    def on_panel_step_chosen(self, message: Panel.StepChosen) -> None:
        stage_no = self.simulation.locate(self.cursor)[0]
        self.playing = False
        self.cursor = self.simulation.global_index(stage_no, message.local_index)

    # -- changing things live --------------------------------------------------------------

    def _value_arrays(self, stage_no: int) -> dict[str, np.ndarray]:
        """The arrays of stage ``stage_no`` that ``v`` may change: its parameters, and its input
        where that is the scenario's own (the first stage; a later stage reads the output of
        the one before, which changes with that stage's numbers)."""
        stage = self.simulation.stages[stage_no]
        if not isinstance(stage, Revaluable) or not self._later_refeedable(stage):
            return {}
        arrays = stage.value_arrays()
        if stage_no > 0:
            arrays.pop("input", None)
        return arrays

    def _later_refeedable(self, stage: Stage) -> bool:
        """Whether every stage after ``stage`` can be run again on a new input: a change to
        ``stage`` reaches the end of the pipeline, or is not offered."""
        stages = self.simulation.stages
        after = stages[stages.index(stage) + 1 :]
        return all(isinstance(s, Refeedable) for s in after)

    def _rerun_after(self, stage_no: int, stage: Stage) -> dict[int, Stage]:
        """``stage`` in place of stage ``stage_no`` and every later stage run again on the new
        output before it, all built before any is shown: SpecError naming the stage that
        refuses (a pooling window larger than its new input, say), and nothing changes."""
        new: dict[int, Stage] = {stage_no: stage}
        previous = stage
        for s in range(stage_no + 1, len(self.simulation.stages)):
            later = self.simulation.stages[s]
            try:
                previous = later.with_input(previous.output)  # type: ignore[attr-defined]
            except SpecError as e:
                raise SpecError(later.name, e.message) from None  # "maxpool3: pool window …"
            new[s] = previous
        return new

    def _note_change(self, key: str, now: str, before: str) -> None:
        """Remember that ``key`` (``stride``, ``input[2, 3]`` …) reads ``now`` here where the
        file says ``before``, and say so beside the file's name, above the description and,
        after a stride or padding change, in the title (``tui.edits.as_saved``): the scenario's
        own words describe the file. A reload from disk starts a new player without marks."""
        _, original = self._changes.get(key, ("", before))
        if now == original:
            self._changes.pop(key, None)
        else:
            self._changes[key] = (now, original)
        name = Path(self.simulation.source).name if self.simulation.source else ""
        changed = ", ".join(now for now, _ in self._changes.values())
        self.sub_title = f"{name} · changed here: {changed}" if changed else name
        # The title and description speak of the file: say so where they no longer agree.
        title, description = as_saved(*self._file_text, self._changes)
        self.simulation.title, self.simulation.description = title, description
        self.title = title or "netsim"
        self.query_one("#description-text", Static).update(Content(paragraphs(description)))

    def _key(self, stage: Stage, what: str) -> str:
        """``what`` (``stride``) named with its stage where there is more than one."""
        return f"{stage.name} {what}" if len(self.simulation.stages) > 1 else what

    def action_edit_value(self) -> None:
        """A box prefilled with the input cell the window reads first (max pooling: the
        window's winner), ``input[2, 3] = 5``: change the number, or name another cell or a
        kernel weight (``kernel[0, 1] = 2``). Every output, later stage, the inspector and the
        PyTorch check follow; a refusal is one line in the box and changes nothing."""
        stage_no, local = self.simulation.locate(self.cursor)
        stage = self.simulation.stages[stage_no]
        arrays = self._value_arrays(stage_no)
        if not arrays:
            return
        self.playing = False
        step = stage.step(local)
        near = near_cells(step, arrays)
        default = next(iter(near.values()))
        shapes = {name: a.shape for name, a in arrays.items()}
        label = written(default, shapes[default.name])
        prefill = f"{label} = {number(float(arrays[default.name][default.index]))}"
        stages = self.simulation.stages

        slow = self._slow(stage_no)

        def rerun(cell: Cell, changed: np.ndarray) -> dict[int, Stage]:
            new_stage = stage.with_values(cell.name, changed)  # type: ignore[attr-defined]
            return self._rerun_after(stage_no, new_stage)

        def apply(text: str) -> tuple[dict[int, Stage] | None, Cell, float, float, np.ndarray]:
            cell, value = parse(text, default, arrays, near)
            changed = arrays[cell.name].copy()
            old = float(changed[cell.index])
            changed[cell.index] = value
            # A quick change is computed here, so that a refusal stays in the box; a slow one
            # in a worker once the box is closed.
            new = None if slow else rerun(cell, changed)
            return new, cell, old, value, changed

        async def chosen(
            result: tuple[dict[int, Stage] | None, Cell, float, float, np.ndarray] | None,
        ) -> None:
            if result is None or self.simulation.stages is not stages:
                return
            new, cell, old, value, changed = result
            if new is None:
                self._in_worker(
                    self._panels[stage_no],
                    lambda: rerun(cell, changed),
                    lambda new: show(new, cell, old, value),
                )
            else:
                await show(new, cell, old, value)

        async def show(
            new: dict[int, Stage] | SpecError, cell: Cell, old: float, value: float
        ) -> None:
            label = written(cell, shapes[cell.name])
            if isinstance(new, SpecError):
                self.notify(f"{label} = {number(value)} refused: {new}", severity="warning")
                return
            if self.simulation.stages is not stages:
                return
            await self._replace_stages(new, stage_no, local)
            moved = int(np.count_nonzero(new[stage_no].output != stage.output))
            later = f"; {len(new) - 1} later stage(s) run again" if len(new) > 1 else ""
            self.notify(
                f"{label}: {number(old)} → {number(value)}; {moved} of {stage.output.size} "
                f"outputs of {stage.name} changed{later}"
            )
            self._note_change(
                self._key(stage, label), f"{label} = {number(value)}", f"{label} = {number(old)}"
            )

        names = " or ".join(f"{n}[…]" for n in arrays)
        prompt = f"{stage.name}: change one number ({names}), then Enter"
        if len(prompt) > 70:  # the box's width: the names move to the examples, which wrap
            prompt = f"{stage.name}: change one number, then Enter"
        hint = "e.g. " + ", ".join(
            f"{written(Cell(n, tuple(0 for _ in shapes[n])), shapes[n])} = 1" for n in arrays
        )
        if getattr(step, "t", None) is not None and "input" in arrays and arrays["input"].ndim == 2:
            hint += "; input[t − 1, i] is x⟨t⟩[i]"  # rows count from 0, time from t = 1
        self.app.push_screen(
            TextInputScreen(prompt, prefill, apply, hint=f"{hint}; Esc cancels"), chosen
        )

    async def action_stride(self, direction: int) -> None:
        """Stride one smaller or larger on both axes, for the convolution or pooling on
        screen; the rest of the pipeline runs again, or nothing changes."""
        found = self._window_on_screen()
        if found is None:
            return
        stage_no, local, stage, windowed = found
        stride, padding = self._window_now(stage_no, windowed)
        new = (stride[0] + direction, stride[1] + direction)
        if min(new) < 1:
            self.notify(f"stride {_pair(stride)} is the smallest: the window moves a cell")
            return
        if direction > 0 and stage.output.shape[-2:] == (1, 1) and stride == windowed.stride:
            self.notify(
                f"the output is already 1×1: a stride above {_pair(stride)} changes nothing"
            )
            return
        await self._rewindow(stage_no, local, stage, new, padding, "stride", stride)

    async def action_padding(self, direction: int) -> None:
        """Padding one smaller or larger on both axes, for the convolution or pooling on
        screen; the rest of the pipeline runs again, or nothing changes."""
        found = self._window_on_screen()
        if found is None:
            return
        stage_no, local, stage, windowed = found
        stride, padding = self._window_now(stage_no, windowed)
        window = stage.window_geometry()[0]  # type: ignore[attr-defined]
        new = (padding[0] + direction, padding[1] + direction)
        if min(new) < 0:
            self.notify("padding 0 is the least: no zeros around the input")
            return
        if new[0] >= window[0] or new[1] >= window[1]:
            self.notify(
                f"padding {_pair(new)} refused: with a {window[0]}×{window[1]} window the "
                f"corner windows would read nothing but padding (at most {window[0] - 1})"
            )
            return
        await self._rewindow(stage_no, local, stage, stride, new, "padding", padding)

    def _window_now(self, stage_no: int, windowed: Restridable) -> tuple[Pair, Pair]:
        """(stride, padding) a key starts from: those of a change of this stage still being
        computed (a second S while the first is under way asks for one more), else the
        stage's own."""
        pending = self._pending_window
        if pending is not None and pending[0] == stage_no and self._busy is not None:
            return pending[1], pending[2]
        return windowed.stride, windowed.padding

    def _slow(self, stage_no: int) -> bool:
        """Whether a change to stage ``stage_no`` is computed in a worker: more than
        SYNC_OUTPUTS outputs from that stage on."""
        outputs = sum(s.output.size for s in self.simulation.stages[stage_no:])
        return outputs > SYNC_OUTPUTS

    def _window_on_screen(self) -> tuple[int, int, Stage, Restridable] | None:
        """(stage number, local step, stage, the same as Restridable) on screen, or None."""
        stage_no, local = self.simulation.locate(self.cursor)
        stage = self.simulation.stages[stage_no]
        if not isinstance(stage, Restridable) or not self._later_refeedable(stage):
            return None
        return stage_no, local, stage, stage

    async def _rewindow(
        self,
        stage_no: int,
        local: int,
        stage: Stage,
        stride: tuple[int, int],
        padding: tuple[int, int],
        what: str,
        old: tuple[int, int],
    ) -> None:
        """Run ``stage`` again with ``stride`` and ``padding`` and every later stage after it;
        the cursor keeps its channel and, as far as the new output allows, its row and column."""
        self.playing = False
        now = stride if what == "stride" else padding
        stages = self.simulation.stages

        def compute() -> tuple[Stage, dict[int, Stage]]:
            new_stage = cast(Restridable, stage).with_window(stride, padding)
            return new_stage, self._rerun_after(stage_no, new_stage)

        async def done(result: tuple[Stage, dict[int, Stage]] | SpecError) -> None:
            if isinstance(result, SpecError):
                self.notify(
                    f"{what} {_pair(old)} → {_pair(now)} refused: {result}", severity="warning"
                )
            elif self.simulation.stages is stages:
                # The file's side of the change is what the screen showed, not a change
                # this one replaced while it was under way.
                shown = getattr(stage, what)
                await self._rewindowed(stage_no, local, stage, *result, what, shown, now)

        if self._slow(stage_no):
            self._in_worker(self._panels[stage_no], compute, done)
            self._pending_window = (stage_no, stride, padding)
            return
        try:
            result: tuple[Stage, dict[int, Stage]] | SpecError = compute()
        except SpecError as e:
            result = e
        await done(result)

    async def _rewindowed(
        self,
        stage_no: int,
        local: int,
        stage: Stage,
        new_stage: Stage,
        new: dict[int, Stage],
        what: str,
        old: Pair,
        now: Pair,
    ) -> None:
        """Show ``new`` (``new_stage`` and the stages after it) in place of ``stage`` and the
        rest; the cursor keeps its channel and, as far as the new output allows, its row and
        column."""
        before_shape = stage.output.shape
        after_shape = new_stage.output.shape
        position = np.unravel_index(local, before_shape)
        clamped = tuple(min(int(p), n - 1) for p, n in zip(position, after_shape, strict=True))
        await self._replace_stages(new, stage_no, int(np.ravel_multi_index(clamped, after_shape)))
        name = stage.name
        later = f"; {len(new) - 1} later stage(s) run again" if len(new) > 1 else ""
        self.notify(
            f"{what} {_pair(old)} → {_pair(now)}: {name} output "
            f"{_shape(before_shape)} → {_shape(after_shape)}{later}"
        )
        self._note_change(
            self._key(new_stage, what), f"{what} {_pair(now)}", f"{what} {_pair(old)}"
        )

    # -- reloading the file ----------------------------------------------------------------

    def _watch_source(self) -> None:
        """Look at the scenario file every RELOAD_POLL_SECONDS (a player on one layer of a
        network belongs to the network screen, which has its own file). A reproducible app
        (snapshots) runs no timer: ``poll_source`` is then called by hand."""
        if not self.simulation.source or self._layers is not None:
            return
        self._source_stamp = _stamp(self.simulation.source)
        if not getattr(self.app, "reproducible", False):
            self.set_interval(RELOAD_POLL_SECONDS, self.poll_source)

    def poll_source(self) -> None:
        """Reload the scenario file if its modification time or size changed since it was
        read: a valid file replaces this player by one on the new simulation, at the same step
        (or the last) and in the same view; an invalid or deleted one is reported and the
        screen stays. The timer calls this; tests call it directly."""
        if not self.simulation.source or self.app.screen is not self:
            return  # a dialog is open: look again once it is closed
        stamp = _stamp(self.simulation.source)
        if stamp == self._source_stamp:
            return
        self._source_stamp = stamp
        name = Path(self.simulation.source).name
        if stamp is None:
            self.sub_title = f"{name} · deleted: showing what was read before"
            self.notify(
                f"{self.simulation.source}: the file was deleted; the screen shows what was "
                "read before, and a new file of that name is read when it appears",
                severity="warning",
                timeout=8,
            )
            return
        self._reload_worker(self.simulation.source)

    @work(thread=True, exclusive=True, group="reload")
    def _reload_worker(self, source: str) -> None:
        """Read the file again off the event loop (a large scenario takes a while to build)."""
        import scenarios
        from scenarios.errors import ScenarioError

        try:
            simulation = scenarios.load(source)
        except ScenarioError as e:
            lines = e.lines()
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            self.app.call_from_thread(self._reload_failed, lines[0] + more)
        except Exception as e:  # the loader's contract is ScenarioError; say anything else
            self.app.call_from_thread(self._reload_failed, f"{source}: {type(e).__name__}: {e}")
        else:
            # Posted to the app rather than run through call_from_thread, or from this
            # screen: the new player's tasks copy the context they are started in, and this
            # thread's names this worker (so this screen), this screen's names this screen;
            # either would keep it alive for as long as the new player lives (see tui.heap).
            self.app.call_later(self._reloaded, simulation)

    def _reload_failed(self, line: str) -> None:
        name = Path(self.simulation.source).name
        self.sub_title = f"{name} · not reloaded: the file has an error"
        self.notify(line, title="Not reloaded", severity="error", timeout=10)

    def _reloaded(self, simulation: Simulation) -> None:
        from engine.core import Layered

        name = Path(self.simulation.source).name
        if self.app.screen is not self:
            self._source_stamp = (0, -1)  # a dialog opened meanwhile: read it again after
            return
        if any(isinstance(s, Layered) for s in simulation.stages):
            self._reload_failed(
                f"{self.simulation.source}: the file is now a whole network; open it again "
                "from the list (Esc)"
            )
            return
        self.playing = False
        player = PlayerScreen(simulation, start=self.cursor, check=self._auto_check, heat=self.heat)
        self.app.switch_screen(player)
        heap.release(self)  # the old simulation is about to be garbage
        self.app.notify(f"{name} changed on disk: read again, at the same step")


def _stamp(path: str) -> tuple[int, int] | None:
    """(modification time in ns, size) of ``path``, or None when it is gone."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _pair(p: tuple[int, int]) -> str:
    """``2`` for (2, 2), ``1×2`` otherwise."""
    return str(p[0]) if p[0] == p[1] else f"{p[0]}×{p[1]}"


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))
