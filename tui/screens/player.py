"""PlayerScreen: one step cursor over a Simulation, the panel that draws it, and playback."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.message_pump import MessagePump
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Header, Static

from engine.core import (
    BorderUsage,
    CompactForm,
    Flippable,
    HiddenUnits,
    Searchable,
    Tempered,
)
from engine.receptive import traceable
from engine.translation import shiftable
from tui.panels import Panel, panel_for
from tui.screens.goto import GotoScreen
from tui.screens.help import LAYER_BINDINGS, LEGEND, HelpScreen, editable, offered_keys
from tui.screens.textinput import TextInputScreen
from tui.widgets.badge import TorchBadge
from tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from engine.core import Simulation, Stage

SPEEDS = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0]
"""Playback speeds in steps per second; + and − move along this list."""
TEMPERATURES = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]
"""Sampling temperatures τ that < and > move along (a scenario may start between two)."""
BEAM_WIDTHS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000]
"""Beam widths B that B and b move along (a scenario may start between two): B = 1 is greedy
decoding, and the list ends at the engine's limit (``engine.limits.MAX_BEAM_WIDTH``)."""
ALPHA_STEP = 0.1
"""How far A and a move the length-normalisation exponent α, within [0, 1]."""


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

    BINDINGS = [
        Binding("space", "toggle_play", "Play", id="play"),
        Binding("left", "step(-1)", "Back", key_display="←", group=_STEP, id="prev"),
        Binding("right", "step(1)", "Step", key_display="→", group=_STEP, id="next"),
        Binding("pageup", "row(-1)", "Row back", key_display="PgUp", group=_ROW, id="prev-row"),
        Binding("pagedown", "row(1)", "Row", key_display="PgDn", group=_ROW, id="next-row"),
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
        Binding("m", "maps(1)", "More maps", id="next-maps"),
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
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("escape", "back", "List", key_display="Esc", show=False, id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
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
    ) -> None:
        """``layers``: the screen that opened this player on one layer of a network; ``]`` and
        ``[`` beyond the simulation's stages send it a ``LayerWanted``."""
        super().__init__()
        self.simulation = simulation
        self._layers = layers
        self._start = start
        self._auto_check = check
        self._timer: Timer | None = None
        self._panels: dict[int, Panel] = {}
        self._generation = 0  # bumped when a stage is replaced, so its new panel gets a new id

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(id="stage-bar")
        with ContentSwitcher(id="panels"):
            for s, stage in enumerate(self.simulation.stages):
                panel = panel_for(stage, id=f"stage-{s}")
                self._panels[s] = panel
                yield panel
        description = Content(" ".join(self.simulation.description.split()))  # not markup
        yield Static(description, id="description")
        with Horizontal(id="status"):
            yield Timeline(self.simulation.offsets[1:], id="timeline")
            yield TorchBadge(id="badge")
        yield Footer()

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
        self.set_reactive(PlayerScreen.cursor, self.validate_cursor(self._start))
        self._show(self.cursor)
        if self._auto_check:
            self.call_after_refresh(self.action_check)

    def on_resize(self) -> None:
        # On short terminals the grids and the inspector need every line.
        self.query_one("#description").display = self.size.height >= 32

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
            switcher.current = panel.id
            self._show_stage_bar(stage_no)
            self.refresh_bindings()
        step = self.simulation.stages[stage_no].step(local)
        # Panels sum and multiply the step's numbers to explain them; when those overflowed
        # in the engine they overflow here too, and the screen shows inf / nan instead.
        with np.errstate(over="ignore", invalid="ignore"):
            panel.show(step)
        timeline = self._timeline
        timeline.position = i
        t = getattr(step, "t", None)
        where = f"t = {t}" if t is not None else step.explanation.split(" = ")[0]
        timeline.label = f"{step.stage} · {where}"

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
        if action == "flip":
            return isinstance(stage, Flippable)
        if action == "usage":
            return isinstance(stage, BorderUsage)
        return True

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
        """Cross-correlation ⇄ true convolution for the convolution on screen."""
        stage_no = self.simulation.locate(self.cursor)[0]
        panel = self._panels[stage_no]
        toggle = getattr(panel, "toggle_flip", None)
        if toggle is not None:
            flipped = toggle()
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
        self.refresh_bindings()
        if self._auto_check:
            self.action_check()

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

        prompt = f"{stage.name}: the {field} the model reads ({field} = {before!r})"
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
        self.app.push_screen(HelpScreen(self.simulation, keys=keys, legend=LEGEND))

    def action_back(self) -> None:
        """Back to the scenario list: the one this player was opened from, or a new one."""
        self.playing = False
        self.post_message(self.BackToList())

    def action_check(self) -> None:
        badge = self.query_one(TorchBadge)
        badge.state = "checking"
        self._check_worker()

    @work(thread=True, exclusive=True, group="torch-check")
    def _check_worker(self) -> None:
        """Compare every stage with PyTorch's own op. The badge shows the largest |Δ| and calls
        it a match when every stage is within its tolerance (1e-9 in float64) of its largest
        magnitude (at least 1): rounding grows with the size of the numbers."""
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
