"""ActivationPanel: an element-wise function applied cell by cell, with its curve and the point."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.activation import ACTIVATIONS, ActivationStage, ActivationStep
from tui.numbers import fmt_exact
from tui.panels._maps import MAX_ZOOM, GrowingInspector
from tui.panels.base import ReflowingPanel, register
from tui.widgets.curve import CurvePlot
from tui.widgets.matrix import MatrixGrid, Window


def as_volume(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` as (C, H, W): a vector is one row, a matrix one channel."""
    if a.ndim == 1:
        return a[None, None, :]
    if a.ndim == 2:
        return a[None]
    return a.reshape(-1, *a.shape[-2:])


def cell_of(stage: ActivationStage, step: ActivationStep) -> tuple[int, int, int]:
    """(channel, row, col) of the step in the ``as_volume`` view."""
    h, w = as_volume(stage.x).shape[1:]
    flat = step.index
    c, rest = divmod(flat, h * w)
    r, col = divmod(rest, w)
    return c, r, col


CURVE_LEAST = 34
"""Columns the curve's box keeps at least (its plot 28 wide, the y labels, the border): the
grids take what is left, as much as they need."""
CURVE_LINES = 12
"""The curve's height at least; on a taller screen it takes half the screen's height."""
CURVE_SAMPLES = 401
"""Points the curve is drawn through: one a column or more however wide the plot gets."""
BOX_FRAME = 4
"""Columns a grid's box takes beyond the grid: the border and a column of padding each side."""


NATURAL_RANGE: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
"""The bounded activations' ranges: their curves are drawn on exactly this y axis, so that the
plot's top and bottom are the asymptotes the function approaches."""


def curve_span(stage: ActivationStage) -> tuple[float, float]:
    """The x range the curve is drawn over: ±the largest input, between 3 and 10.

    Leaky ReLU's negative side falls only a·x, which over a symmetric range is a fraction of a
    row (0.3 against 3 for a = 0.1) and looks as flat as ReLU's; its left end is taken further,
    up to four times, so that a·x falls by a third of what x rises on the right."""
    lim = float(min(max(3.0, np.abs(stage.x).max()), 10.0))
    left = lim
    a = stage.negative_slope
    if stage.function == "leaky_relu" and 0 < a < 1 / 3:
        left = min(lim / (3 * a), 4 * lim)
    return -left, lim


def explain_activation(stage: ActivationStage, step: ActivationStep) -> Text:
    """f(x) with the formula and the numbers, and the derivative backpropagation would use."""
    f = ACTIVATIONS[step.function]
    x = fmt_exact(step.x)
    t = Text()
    where = ", ".join(str(i) for i in step.position)
    t.append(f"out[{where}]", style="bold")
    t.append(f" = {step.function}({x}) = ")
    t.append(fmt_exact(step.value), style="bold black on bright_green")
    t.append(f"\n  where {step.function}(x) = {f.formula}", style="grey62")
    if step.function == "leaky_relu":
        t.append(f" and a = {fmt_exact(stage.negative_slope)}", style="grey62")
    t.append(
        f"\n  derivative f′({x}) = {fmt_exact(step.derivative)}   (f′(x) = {f.derivative_formula})",
        style="grey62",
    )
    t.append(
        "\n  applied to every element on its own: same shape in and out, no learnable parameters",
        style="grey62",
    )
    return t


@register
class ActivationPanel(ReflowingPanel):
    """Draws an ActivationStage: input and output side by side, and the function's curve."""

    kind = "activation"

    DEFAULT_CSS = """
    ActivationPanel #act-grids {
        height: auto;
        max-height: 65vh;
    }
    ActivationPanel #act-left {
        width: auto;
        height: auto;
        max-height: 65vh;
    }
    ActivationPanel .box {
        width: auto;
        height: auto;
        min-width: 30;
        max-width: 100%;
        max-height: 33vh;
        padding: 0 1;
    }
    ActivationPanel #act-curve-box {
        width: 1fr;
        min-width: 30;
        max-height: 65vh;
    }
    ActivationPanel #act-curve {
        width: 100%;
    }
    ActivationPanel #act-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The input element read, its output, and the point on the curve."""
        from tui.widgets import legend

        point = ("●", "bold yellow", "this x on the curve")
        # Element by element: the cell lit in the input is the one x read, not a window.
        sample, style, _ = legend.window()
        read = (sample, style, "x read")
        return [read, *legend.grid(heat_on=heat)[1:], point]

    def __init__(self, stage: ActivationStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.act = stage
        self._channel = -1
        self._x = as_volume(stage.x)
        self._y = as_volume(stage.output)
        self._heat = False
        self._applied: tuple[int, int, int] | None = None
        self._inspector = GrowingInspector()

    def compose(self) -> ComposeResult:
        st = self.act
        shape = "×".join(str(d) for d in st.x.shape)
        lo, hi = curve_span(st)
        xs, ys = st.curve(lo, hi, CURVE_SAMPLES)
        with Horizontal(id="act-grids"):
            with Vertical(id="act-left"):
                with Vertical(classes="box", id="act-input-box") as box:
                    box.border_title = f"Input x {shape}"
                    yield MatrixGrid(self._x[0], id="act-input")
                with Vertical(classes="box", id="act-output-box") as box:
                    box.border_title = f"Output {st.function}(x) {shape}"
                    yield MatrixGrid(self._y[0], progress=True, id="act-output")
            with Vertical(classes="box", id="act-curve-box") as box:
                box.border_title = f"{st.function}(x)"
                box.border_subtitle = f"x from {xs[0]:g} to {xs[-1]:g}"
                yield CurvePlot(xs, ys, y_range=NATURAL_RANGE.get(st.function), id="act-curve")
        inspector = Static(id="act-inspector")
        inspector.border_title = "How this number is computed"
        yield inspector

    # -- layout -----------------------------------------------------------------------

    def _relayout(self) -> None:
        """Give the grids the width they need, whole when the curve keeps ``CURVE_LEAST``
        columns, and in heat view the largest cells (up to ``MAX_ZOOM``) that fit: a grid
        that scrolls repaints its scroll bar in a second frame on every step."""
        width = self.content_region.width
        if width <= 0 or not self.is_mounted:
            return
        grids = [self.query_one(f"#act-{g}", MatrixGrid) for g in ("input", "output")]
        lines = max(int(self.app.size.height * 0.33) - 2, 2)
        room = width - CURVE_LEAST - BOX_FRAME
        zoom = 1
        if self._heat:
            for z in range(MAX_ZOOM, 1, -1):
                w, h = grids[0].natural_size(True, z)
                if w <= room and h <= lines:
                    zoom = z
                    break
        w, h = grids[0].natural_size(self._heat, zoom)
        if h > lines:
            w += 1  # a vertical scroll bar
        left = min(max(w, 30 - BOX_FRAME) + BOX_FRAME, width - CURVE_LEAST)
        plan = (left, zoom, self.app.size.height)
        if plan == self._applied:
            return
        self._applied = plan
        for grid in grids:
            grid.zoom = zoom
        self.query_one("#act-left").styles.width = left
        curve = self.query_one("#act-curve", CurvePlot)
        curve.styles.height = max(CURVE_LINES, int(self.app.size.height * 0.5) - 2)

    # -- drawing ----------------------------------------------------------------------

    def show(self, step: ActivationStep) -> None:  # type: ignore[override]
        c, r, col = cell_of(self.act, step)
        grid_in = self.query_one("#act-input", MatrixGrid)
        grid_out = self.query_one("#act-output", MatrixGrid)
        if c != self._channel:
            self._channel = c
            grid_in.set_values(self._x[c])
            grid_out.set_values(self._y[c])
            if self._x.shape[0] > 1:
                self.query_one(
                    "#act-output-box"
                ).border_subtitle = f"channel {c} of {self._x.shape[0]}"
        grid_in.set_window(Window(r, col, 1, 1))
        grid_out.set_current(r * self._x.shape[2] + col)
        self.query_one("#act-curve", CurvePlot).point = (step.x, step.value)
        self._inspector.show(
            self.query_one("#act-inspector", Static),
            Content.from_rich_text(explain_activation(self.act, step)),
        )

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        if message.grid.id == "act-output":
            message.stop()
            h, w = self._x.shape[1:]
            self.post_message(
                self.StepChosen((max(self._channel, 0) * h + message.row) * w + message.col)
            )
