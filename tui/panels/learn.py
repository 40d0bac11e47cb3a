"""LearnPanel: a kernel's weights moving toward the hidden kernel, the gradient, the loss curve."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.learn import KernelLearningStage, LearnStep
from tui.numbers import fmt_exact, fmt_factor, fmt_num
from tui.panels._vector import LeastHeight, update_inspector
from tui.panels.base import Panel, register
from tui.widgets.curve import CurvePlot
from tui.widgets.matrix import MatrixGrid
from tui.widgets.rows import CachedRows

TOLERANCE = 1e-3
"""How close to the hidden kernel (max |W − W*|) counts as learned, in the inspector."""


def log_losses(losses: np.ndarray) -> np.ndarray:
    """log₁₀ of the losses, with an exact 0 drawn at the smallest positive loss (or 10⁻³⁰⁰)."""
    positive = losses[losses > 0]
    floor = float(positive.min()) if positive.size else 1e-300
    return np.log10(np.maximum(losses, floor))


def fmt_pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` to six significant digits, or more where six would hide their difference."""
    for digits in range(6, 18):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb or a == b:
            break
    return sa.replace("-", "−"), sb.replace("-", "−")


def explain_learn(stage: KernelLearningStage, step: LearnStep, weight: tuple[int, int]) -> Text:
    """The inspector's text: one weight's update with its numbers, the loss, and the distance."""
    u, v = weight
    n, h, w = stage.images.shape
    oh, ow = stage.out_hw
    eta = fmt_exact(step.learning_rate)
    a, g, b = (float(step.kernel[u, v]), float(step.gradient[u, v]), float(step.next_kernel[u, v]))
    t = Text()
    t.append(f"W[{u}, {v}]", style="bold")
    before, after = fmt_pair(a, b)
    t.append(f" ← W[{u}, {v}] − η·∂L/∂W[{u}, {v}] = {before} − {eta}·{fmt_factor(g)} = ")
    t.append(after, style="bold black on bright_green")
    t.append(f"\n  ∂L/∂W[{u}, {v}] = (2/M)·Σ residual · input shifted by ({u}, {v}) = ")
    t.append(fmt_exact(g), style="bold")
    t.append("\n  loss L(W) = (1/M)·Σ residual² = ", style="grey62")
    t.append(fmt_exact(step.loss), style="bold")
    images = f"{n} image{'s' if n != 1 else ''}"
    t.append(f" over M = {stage.pixels} pixels ({images}, {h}×{w} → {oh}×{ow})", style="grey50")
    t.append("\n  max |W − W*| ", style="grey62")
    t.append(" → ".join(fmt_pair(step.distance, float(stage.distances[step.iteration + 1]))))
    reached = stage.first_iteration_within(TOLERANCE)
    if reached is None:
        t.append(f", not ≤ {TOLERANCE:g} within {len(stage)} iterations", style="grey50")
    else:
        # A count of iterations done (W after k updates), not an iteration's number.
        done = "from the start" if reached == 0 else f"after {reached} iterations"
        t.append(f", ≤ {TOLERANCE:g} {done}", style="grey50")
    t.append(
        f"\n  residual = image ⋆ W − image ⋆ W*; all {stage.parameter_count} weights move at "
        "once, W ← W − η·∇W; click a weight to follow it",
        style="grey50",
    )
    return t


@register
class LearnPanel(Panel):
    """Draws a KernelLearningStage: the weights, the hidden kernel, the gradient, the error, and
    the loss over all iterations with the current one marked."""

    kind = "learn_kernel"

    DEFAULT_CSS = """
    LearnPanel #learn-top {
        height: auto;
    }
    LearnPanel #learn-grids {
        width: auto;
        height: auto;
    }
    LearnPanel .learn-row {
        width: auto;
        height: auto;
    }
    LearnPanel .box {
        width: auto;
        min-width: 28;
        max-width: 50%;
        height: auto;
        padding: 0 1;
    }
    LearnPanel #learn-curve-box {
        width: 1fr;
        max-width: 100%;
        height: 12;
        min-width: 24;
    }
    LearnPanel #learn-curve {
        width: 1fr;
        height: 1fr;
    }
    LearnPanel #learn-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: KernelLearningStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self._inspector_drawn: tuple[int, int] | None = None
        self._least = LeastHeight()
        self.learn = stage
        self._weight = (0, 0)
        self._step: LearnStep | None = None
        self._grids: dict[str, MatrixGrid] = {}

    def on_mount(self) -> None:
        # Looked up once: show() runs on every step.
        self._kernel_box = self.query_one("#learn-kernel-box")
        self._error_box = self.query_one("#learn-error-box")
        self._curve = self.query_one("#learn-curve", CurvePlot)
        self._inspector = self.query_one("#learn-inspector", Static)

    def compose(self) -> ComposeResult:
        st = self.learn
        first = st.step(0)
        grids = {
            "kernel": ("Learned kernel W", f"iteration 1 of {len(st)}", st.init),
            "gradient": ("Gradient ∂L/∂W", f"η = {fmt_exact(st.learning_rate)}", first.gradient),
            "hidden": ("Hidden kernel W*", "makes the targets", st.hidden),
            "error": ("Error W − W*", "", st.init - st.hidden),
        }
        with Horizontal(id="learn-top"):
            with Vertical(id="learn-grids"):
                for row in (("kernel", "gradient"), ("hidden", "error")):
                    with Horizontal(classes="learn-row"):
                        for key in row:
                            title, subtitle, values = grids[key]
                            with Vertical(classes="box", id=f"learn-{key}-box") as box:
                                box.border_title = title
                                box.border_subtitle = subtitle
                                grid = MatrixGrid(values, id=f"learn-{key}")
                                self._grids[key] = grid
                                yield grid
            with Vertical(classes="box", id="learn-curve-box") as box:
                box.border_title = "Loss (log₁₀)"
                box.border_subtitle = f"iterations 1–{len(st)}"
                yield CurvePlot(
                    np.arange(len(st), dtype=np.float64), log_losses(st.losses), id="learn-curve"
                )
        inspector = CachedRows(id="learn-inspector")
        inspector.border_title = "How the weights move"
        yield inspector

    def show(self, step: LearnStep) -> None:  # type: ignore[override]
        self._step = step
        st = self.learn
        grids = self._grids
        grids["kernel"].set_values(step.kernel)
        grids["gradient"].set_values(step.gradient)
        grids["error"].set_values(step.kernel - st.hidden)
        self._kernel_box.border_subtitle = f"iteration {step.iteration + 1} of {len(st)}"
        self._error_box.border_subtitle = f"max {fmt_num(step.distance)}"
        self._curve.point = (float(step.iteration), float(self._curve.ys[step.iteration]))
        self._show_weight()

    def _show_weight(self) -> None:
        """Mark the followed weight in every grid and write out its update."""
        if self._step is None:
            return
        for grid in self._grids.values():
            grid.set_mark(self._weight)
        st, weight = self.learn, self._weight
        least = self._least.lines(
            self._inspector, weight, len(st), lambda i: explain_learn(st, st.step(i), weight).plain
        )
        self._inspector_drawn = update_inspector(
            self._inspector,
            explain_learn(st, self._step, weight),
            self._inspector_drawn,
            least,
        )
        self._least.drawn(self._inspector_drawn)

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        self._weight = (message.row, message.col)
        self._show_weight()
