"""DepthScreen: the depth experiment — plain and residual networks of the same depths trained
on the shipped digits — as training error against iterations, plain beside residual, and a
table of the final errors.

Opened with ``e`` from the gradient screen (and from the network screen, where it fits). The
training runs in a thread worker with a progress bar; each network's curve appears as soon as
it is trained. Esc stops the training and goes back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, ProgressBar, Static
from textual.worker import get_current_worker

from engine.depth import DepthConfig, DepthRun, DigitData, run_depth_experiment
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR
from tui.styles import QUIET
from tui.widgets.keyfooter import KeyFooter
from tui.widgets.linechart import LineChart, Series

COLORS = ("bright_green", "bright_cyan", "yellow", "bright_magenta", "bright_red", "white")
"""One colour per depth, shallow to deep (repeating past six depths)."""


def digit_data() -> DigitData:
    """The shipped digits as (B, 64) rows in [0, 1]: the training split of the shipped
    networks to train on, its test split to test on."""
    with np.load(DATA_DIR / "digits.npz", allow_pickle=False) as npz:
        return DigitData.from_arrays({key: npz[key] for key in npz.files})


class _Stopped(Exception):
    """Raised inside the training's progress callback when the screen is left."""


def depth_color(config: DepthConfig, depth: int) -> str:
    return COLORS[config.depths.index(depth) % len(COLORS)]


def fmt_error(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.1%}"


class DepthScreen(Screen[None]):
    """Training error against iterations: plain networks left, residual ones right."""

    BINDINGS = [
        Binding("escape", "close", "Stop and go back", key_display="Esc", id="close"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self, config: DepthConfig | None = None) -> None:
        """``config``: what to train (None: the run recorded in docs/)."""
        super().__init__()
        self.config = config or DepthConfig()
        self.runs: list[DepthRun] = []
        self.finished = False
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="▦")
        yield Static(self.describe(), id="depth-status")
        yield ProgressBar(id="depth-progress", show_eta=False)
        with Horizontal(id="depth-charts"):
            for kind in ("plain", "residual"):
                with Vertical(classes="box depth-box", id=f"depth-{kind}-box") as box:
                    box.border_title = f"{kind}: training error"
                    box.border_subtitle = "against iterations"
                    yield LineChart(id=f"depth-{kind}")
        yield Static(id="depth-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Depth experiment"
        self.sub_title = "plain vs residual"
        self.query_one("#depth-table", Static).update(self.table())
        for kind in ("plain", "residual"):
            self.query_one(f"#depth-{kind}", LineChart).set_series(
                [], x_max=float(self.config.iterations)
            )
        self._worker()

    def describe(self) -> Text:
        c = self.config
        t = Text(style=QUIET)
        t.append(
            f"{c.activation} networks of width {c.width}, "
            f"{', '.join(map(str, c.depths))} blocks of 2 linear layers, "
            f"{c.iterations:,} SGD steps (batch {c.batch_size}, lr {c.learning_rate:g}, "
            f"momentum {c.momentum:g}, seed {c.seed}) on the digits' training split"
        )
        return t

    # -- training --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="depth")
    def _worker(self) -> None:
        worker = get_current_worker()
        config = self.config
        try:
            data = digit_data()
        except (OSError, ValueError, KeyError) as e:
            self._post(self._failed, f"digits: cannot read the data set ({e})")
            return
        runs: list[DepthRun] = []

        def progress(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise _Stopped
            self._post(self._progress, done, total)

        def on_run(run: DepthRun) -> None:
            runs.append(run)
            if run.kind == "residual" and run.depth != config.depths[-1]:
                self._post(self._training, config.depths[config.depths.index(run.depth) + 1])
            self._post(self._show, list(runs))

        self._post(self._training, config.depths[0])
        try:
            run_depth_experiment(data, config, progress, on_run)
        except _Stopped:
            return
        except SpecError as e:
            self._post(self._failed, f"{e.field}: {e.message}")
            return
        self._post(self._done)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            self.app.call_from_thread(callback, *args)

    def _training(self, depth: int) -> None:
        if self.is_attached:
            status = self.describe()
            status.append(f"\ntraining {depth} blocks, plain then residual …", style="grey62")
            self.query_one("#depth-status", Static).update(status)

    def _progress(self, done: int, total: int) -> None:
        if self.is_attached:
            self.query_one("#depth-progress", ProgressBar).update(total=total, progress=done)

    def _failed(self, line: str) -> None:
        if self.is_attached:
            self.error = line
            self.query_one("#depth-status", Static).update(Text(line, style="bold red"))

    def _show(self, runs: list[DepthRun]) -> None:
        if not self.is_attached:
            return
        self.runs = runs
        for kind in ("plain", "residual"):
            series = [
                Series(
                    r.iterations.astype(np.float64),
                    r.train_error,
                    depth_color(self.config, r.depth),
                    f"{r.depth}",
                )
                for r in runs
                if r.kind == kind
            ]
            self.query_one(f"#depth-{kind}", LineChart).set_series(
                series, x_max=float(self.config.iterations)
            )
        self.query_one("#depth-table", Static).update(self.table())

    def _done(self) -> None:
        if not self.is_attached:
            return
        self.finished = True
        self.query_one("#depth-progress", ProgressBar).display = False
        status = self.describe()
        status.append("\n" + self.verdict(), style="bold")
        self.query_one("#depth-status", Static).update(status)

    # -- text ------------------------------------------------------------------------------------

    def run_of(self, kind: str, depth: int) -> DepthRun | None:
        for r in self.runs:
            if r.kind == kind and r.depth == depth:
                return r
        return None

    def table(self) -> Text:
        """Depth by depth: its colour (the legend), layers, final errors plain and residual."""
        t = Text(no_wrap=True)
        has_test = any(r.test_error is not None for r in self.runs)
        t.append(f"{'blocks':>9} {'layers':>6}  error: {'plain':>6} {'residual':>8}", style="bold")
        if has_test:
            t.append(f"   test: {'plain':>6} {'residual':>8}", style="bold")
        for depth in self.config.depths:
            p, r = self.run_of("plain", depth), self.run_of("residual", depth)
            t.append("\n")
            t.append("━━ ", style=depth_color(self.config, depth))
            t.append(f"{depth:>6} {2 * depth + 2:>6}         ")
            if p is None or r is None:
                t.append(f"{'…':>6} {'…':>8}", style="grey50")
                continue
            worse, better = "bold bright_red", "bold bright_green"
            t.append(
                f"{fmt_error(p.final_error):>6}",
                style=worse if p.final_error > r.final_error else "",
            )
            t.append(
                f" {fmt_error(r.final_error):>8}",
                style=better if r.final_error < p.final_error else "",
            )
            if has_test:
                t.append(f"   {'':6}{fmt_error(p.test_error):>6} {fmt_error(r.test_error):>8}")
        return t

    def verdict(self) -> str:
        """What the runs show, in one sentence, from the numbers themselves."""
        plain = [r for r in self.runs if r.kind == "plain"]
        resid = [r for r in self.runs if r.kind == "residual"]
        if len(plain) < 2:
            return "done"
        shallow, deep = plain[0], plain[-1]
        text = (
            f"plain: {shallow.depth} blocks end at {fmt_error(shallow.final_error)}, "
            f"{deep.depth} at {fmt_error(deep.final_error)}"
        )
        if deep.final_error > shallow.final_error:
            text += " — the deeper plain network ends worse"
        else:
            text += " — at this scale the deeper plain network does not end worse"
        if resid:
            text += f"; residual {deep.depth}: {fmt_error(resid[-1].final_error)}"
        return text

    def action_close(self) -> None:
        self.workers.cancel_group(self, "depth")
        self.dismiss(None)
