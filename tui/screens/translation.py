"""TranslationScreen: the input moved by a pixel or two, every stage run again, and what changed:
convolution moves its output along (equivariance), pooling absorbs small moves (invariance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, ProgressBar, Static
from textual.worker import get_current_worker

from engine.translation import ShiftError, StageComparison, compare_shift, shift
from tui.screens.receptive import plane
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.matrix import MatrixGrid

if TYPE_CHECKING:
    from engine.core import Simulation

MAX_SHIFT = 4
"""How far the input may be moved in each direction."""

WIDE = 100
"""Terminal width from which the explanation stands beside the grids instead of below them."""

KEYS_NOTE = (
    "←/→/↑/↓ move the input by a pixel, 0 puts it back; lit cells differ from the original "
    "in the same place. PgUp/PgDn scroll. Esc or t returns."
)


def channel_note(a: np.ndarray) -> str:
    """ ", channel 1 of C" when ``a`` has several channels (only the first is drawn)."""
    channels = a.size // max(plane(a).size, 1)
    return f", channel 1 of {channels}" if channels > 1 else ""


def said(c: StageComparison, cells: tuple[int, int], kept: int, dy: int, dx: int) -> str:
    """A few words for the moved output's box: " · moved along" when every output away
    from the borders is the original output moved along (``cells``: equivariant cells, cells
    compared), " · absorbed" when none changed (``kept``: outputs unchanged)."""
    if not (dy or dx):
        return ""
    same, compared = cells
    if compared and same == compared:
        return " · moved along"
    return " · absorbed" if kept == c.original.size else ""


SYNC_CELLS = 200_000
"""Input and output cells (every stage together) up to which a move is computed on the spot;
measured, a move of that size takes well under 100 ms. Beyond, it runs in a worker."""


class _Cancelled(Exception):
    """Raised inside the worker's progress callback to stop a cancelled computation."""


def work_cells(sim: Simulation) -> int:
    """How many numbers a move computes and compares: the input and every stage's output."""
    return int(sim.stages[0].x.size) + sum(int(s.output.size) for s in sim.stages)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Shifted:
    """What one move found: per grid (key, original plane, moved plane, changed cells, verdict),
    and per stage (comparison, outputs unchanged, (equivariant cells, cells compared))."""

    dy: int
    dx: int
    pairs: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, str]]
    stages: list[tuple[StageComparison, int, tuple[int, int]]]


def shifted(
    sim: Simulation, dy: int, dx: int, progress: Callable[[int], None] | None = None
) -> Shifted | str:
    """Every stage run on the input moved by (dy, dx) and compared with the original, with no
    widget touched (a worker may call it); the refusal's message when a stage refuses.
    ``progress`` is called with the work done out of 2 × stages (it may raise to stop)."""
    try:
        comparisons = compare_shift(sim, dy, dx, progress)
    except ShiftError as e:
        return str(e)
    n = len(comparisons)
    x = sim.stages[0].x  # type: ignore[attr-defined]
    a, b = plane(x), plane(shift(x, dy, dx))
    pairs = [("input", a, b, ~np.isclose(a, b, equal_nan=True), "")]
    stages = []
    for i, c in enumerate(comparisons):
        cells = c.equivariant_cells(dy, dx)  # once: on a large output it is the slow part
        kept = c.unchanged
        a, b = plane(c.original), plane(c.shifted)
        pairs.append(
            (f"stage-{i}", a, b, ~np.isclose(a, b, equal_nan=True), said(c, cells, kept, dy, dx))
        )
        stages.append((c, kept, cells))
        if progress is not None:
            progress(n + i + 1)
    return Shifted(dy, dx, pairs, stages)


class TranslationScreen(Screen[None]):
    """For the input and for every stage, the output on the original input beside the output
    on the moved input, the cells that changed lit up; what each stage did is written beside."""

    BINDINGS = [
        Binding("left", "move(0, -1)", "Left", key_display="←", id="shift-left"),
        Binding("right", "move(0, 1)", "Right", key_display="→", id="shift-right"),
        Binding("up", "move(-1, 0)", "Up", key_display="↑", id="shift-up"),
        Binding("down", "move(1, 0)", "Down", key_display="↓", id="shift-down"),
        Binding("0", "reset", "No shift", id="shift-reset"),
        Binding("pageup", "page(-1)", "Scroll", key_display="PgUp", show=False, id="page-up"),
        Binding("pagedown", "page(1)", "Scroll", key_display="PgDn", show=False, id="page-down"),
        Binding("escape,t", "close", "Back to the player", id="close"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    DEFAULT_CSS = """
    TranslationScreen #tr-body {
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    TranslationScreen #tr-main {
        height: auto;
    }
    TranslationScreen.-narrow #tr-main {
        layout: vertical;
    }
    TranslationScreen #tr-grids {
        width: auto;
        height: auto;
    }
    TranslationScreen .tr-row {
        width: auto;
        height: auto;
    }
    TranslationScreen .tr-box {
        width: auto;
        max-width: 40vw;
        min-width: 40;
        height: auto;
        padding: 0 1;
    }
    TranslationScreen.-narrow .tr-box {
        width: 1fr;
        max-width: 50%;
        min-width: 0;
        padding: 0;
        border-top: round $primary 60%;
        border-bottom: round $primary 60%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
    }
    TranslationScreen.-narrow .tr-moved {
        border-left: round $primary 60%;
    }
    TranslationScreen.-narrow MatrixGrid {
        scrollbar-size-horizontal: 0;
    }
    TranslationScreen.-narrow #tr-grids, TranslationScreen.-narrow .tr-row {
        width: 100%;
    }
    TranslationScreen #tr-side {
        width: 1fr;
        min-width: 24;
        height: auto;
    }
    TranslationScreen #tr-note {
        height: auto;
        padding: 0 1;
        border: round $secondary 60%;
    }
    TranslationScreen.-narrow #tr-side {
        width: 100%;
    }
    """

    def __init__(self, simulation: Simulation, dy: int = 0, dx: int = 1) -> None:
        super().__init__()
        self.simulation = simulation
        self.dy, self.dx = dy, dx

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        sim = self.simulation
        x = sim.stages[0].x  # type: ignore[attr-defined]
        rows = [("input", f"input{channel_note(x)}", x)]
        rows += [
            (f"stage-{i}", f"{s.name}{channel_note(s.output)}", s.output)
            for i, s in enumerate(sim.stages)
        ]
        with VerticalScroll(id="tr-body", can_focus=False), Horizontal(id="tr-main"):
            with Vertical(id="tr-grids"):
                for key, label, a in rows:
                    with Horizontal(classes="tr-row", id=f"tr-row-{key}"):
                        for side, what in (("orig", "original"), ("shift", "on the moved input")):
                            if key == "input" and side == "shift":
                                what = "moved"
                            classes = "box tr-box" + (" tr-moved" if side == "shift" else "")
                            with Vertical(classes=classes, id=f"tr-box-{key}-{side}") as box:
                                box.border_title = Content.assemble((label, "bold"), f" · {what}")
                                yield MatrixGrid(plane(a), id=f"tr-{key}-{side}")
            with Vertical(id="tr-side"):
                progress = ProgressBar(id="tr-progress", show_eta=False)
                progress.display = False
                yield progress
                yield Static(id="tr-note")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Shift the input"
        self.sub_title = self.simulation.title
        self.redraw()

    def on_resize(self) -> None:
        # Below WIDE columns two 12-pixel grids fit side by side only without the boxes' side
        # borders (the app's "box" rule draws all four), and the explanation goes underneath.
        narrow = self.size.width < WIDE
        self.set_class(narrow, "-narrow")
        for box in self.query(".tr-box"):
            box.set_class(not narrow, "box")

    def redraw(self) -> None:
        """Run every stage on the shifted input and show what changed, or, when a stage
        refuses the moved input, say so and leave the moved grids as they were. Small
        simulations are run on the spot; larger ones in a worker, with a progress bar, that
        Esc cancels (and a new move replaces)."""
        if work_cells(self.simulation) <= SYNC_CELLS:
            self._shown(shifted(self.simulation, self.dy, self.dx))
            return
        stages = len(self.simulation.stages)
        bar = self.query_one("#tr-progress", ProgressBar)
        bar.update(total=2 * stages, progress=0)
        bar.display = True
        self.query_one("#tr-note", Static).update(
            Content.from_markup(
                f"Running {stages} stage(s) on the input moved by ({self.dy}, {self.dx}) …\n\n"
                f"[dim]{KEYS_NOTE}[/dim]"
            )
        )
        self._compute(self.dy, self.dx)

    @work(thread=True, exclusive=True, group="shift")
    def _compute(self, dy: int, dx: int) -> None:
        worker = get_current_worker()

        def progress(done: int) -> None:
            if worker.is_cancelled:
                raise _Cancelled
            self.app.call_from_thread(self._advance, done)

        try:
            result = shifted(self.simulation, dy, dx, progress)
        except _Cancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._shown, result)

    def _advance(self, done: int) -> None:
        self.query_one("#tr-progress", ProgressBar).update(progress=done)

    def _shown(self, result: Shifted | str) -> None:
        """Draw what ``shifted`` found (or the refusal it returned)."""
        self.query_one("#tr-progress", ProgressBar).display = False
        if isinstance(result, str):
            self.query_one("#tr-note", Static).update(
                Content.assemble(
                    Content(result).stylize("bold red"),  # stage names as written
                    "\n\n",
                    Content.from_markup(f"[dim]{KEYS_NOTE}[/dim]"),
                )
            )
            return
        dy, dx = result.dy, result.dx
        for key, a, b, changed, said in result.pairs:
            self.query_one(f"#tr-{key}-orig", MatrixGrid).set_values(a)
            grid = self.query_one(f"#tr-{key}-shift", MatrixGrid)
            grid.set_values(b)
            grid.set_highlight(changed)
            box = self.query_one(f"#tr-box-{key}-shift")
            box.border_subtitle = f"{int(changed.sum())} of {changed.size} changed{said}"
        moved = f"({dy}, {dx})"
        lines = [
            Content.from_markup(
                f"Input moved [b]{dy}[/b] down and [b]{dx}[/b] right {moved}; zeros fill in."
            )
        ]
        for c, kept, (same, compared) in result.stages:
            line = f"[b]$name[/b]: {kept} of {c.original.size} outputs unchanged"
            if compared and (dy or dx) and same == compared:
                line += (
                    f"; all {compared} inner outputs equal the original output moved by "
                    f"({dy // c.scale}, {dx // c.scale}): "
                    "[b]the output moves with the input[/b]"
                )
            elif compared and (dy or dx):
                line += (
                    f"; {same} of {compared} inner outputs equal the original output moved by "
                    f"({dy // c.scale}, {dx // c.scale})"
                )
            elif (dy or dx) and kept == c.original.size:
                line += f": one output spans {c.scale} input pixels, [b]the move is absorbed[/b]"
            elif dy or dx:
                line += f" (one output here spans {c.scale} input pixels)"
            lines.append(Content.from_markup(line, name=c.name))  # the name as written
        lines.append(Content.from_markup(f"[dim]{KEYS_NOTE}[/dim]"))
        self.query_one("#tr-note", Static).update(Content("\n\n").join(lines))

    def action_move(self, dy: int, dx: int) -> None:
        self.dy = max(-MAX_SHIFT, min(MAX_SHIFT, self.dy + dy))
        self.dx = max(-MAX_SHIFT, min(MAX_SHIFT, self.dx + dx))
        self.redraw()

    def action_reset(self) -> None:
        self.dy = self.dx = 0
        self.redraw()

    def action_page(self, direction: int) -> None:
        body = self.query_one("#tr-body", VerticalScroll)
        if direction < 0:
            body.scroll_page_up()
        else:
            body.scroll_page_down()

    def action_close(self) -> None:
        self.dismiss(None)
