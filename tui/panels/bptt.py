"""BpttPanel: backpropagation through time, one time step back per step: ‖δ⟨t⟩‖ per time step on a
log scale, the vectors that carry the gradient back, and clipping at the end."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.bptt import BpttStage, BpttStep
from tui.numbers import fmt_exact, fmt_factor
from tui.panels._vector import LeastHeight, update_inspector
from tui.panels.base import Panel, register
from tui.widgets.matrix import MatrixGrid
from tui.widgets.normbars import NormBars
from tui.widgets.rows import CachedRows
from tui.widgets.steadygrid import SteadyGrid

MAX_TERMS = 6
"""Products written out in the inspector's sum before it is abbreviated."""

VECTORS = {
    "delta": ("δ⟨t⟩ = ∂L/∂a⟨t⟩", "what reaches a⟨t⟩"),
    "dtanh": ("1 − a⟨t⟩²", "tanh's slope"),
    "dz": ("δ⟨t⟩ ⊙ (1 − a⟨t⟩²)", "∂L/∂z⟨t⟩"),
    "carry": ("W_aaᵀ·(δ⟨t⟩ ⊙ (1 − a⟨t⟩²))", "passed back to a⟨t−1⟩"),
}
"""The 1×H grids: title and subtitle by BpttStep field."""


def previous_delta(stage: BpttStage, step: BpttStep) -> np.ndarray:
    """δ⟨t−1⟩: the next step's δ, or δ⟨0⟩ = ∂L/∂a⟨0⟩ (no loss term at t = 0) at the last step."""
    return step.carry if step.t == 1 else stage.step(step.index + 1).delta  # type: ignore[return-value]


def explain_bptt(stage: BpttStage, step: BpttStep, unit: int = 0) -> Text:
    """One unit of δ⟨t−1⟩ written out with its numbers, the norm ratio, the running parameter
    gradient norms, and at the last step the clipping."""
    j, t = unit, step.t
    w_aa = stage.weight_hh
    text = Text()
    back = f"backward step {step.index + 1} of {len(stage)}"
    text.append(f"time step t = {t}, {back} (t = {len(stage)} is the first), ")
    text.append(f"unit j = {j}\n", style="bold")
    prev = previous_delta(stage, step)
    terms = [
        f"{fmt_factor(float(w_aa[k, j]))}·{fmt_factor(float(step.delta[k]))}"
        f"·{fmt_factor(float(step.dtanh[k]))}"
        for k in range(stage.hidden_size)
    ]
    if len(terms) > MAX_TERMS:
        terms = [*terms[: MAX_TERMS - 1], f"… ({len(terms) - MAX_TERMS + 1} more)"]
    text.append(f"  δ⟨{t - 1}⟩[{j}] = Σ_k W_aa[k, {j}]·δ⟨{t}⟩[k]·(1 − a⟨{t}⟩[k]²)")
    local = t > 1 and stage.loss_mode == "all"
    if local:
        text.append(f" + (a⟨{t - 1}⟩[{j}] − y⟨{t - 1}⟩[{j}])")
    text.append("\n      = " + " + ".join(terms), style="grey50")
    if local:
        text.append(f" + {fmt_factor(float(prev[j] - step.carry[j]))}", style="grey50")
    text.append("\n      = ")
    text.append(fmt_exact(float(prev[j])), style="bold black on bright_green")
    if t == 1:
        text.append("  (this is ∂L/∂a⟨0⟩, the initial state's gradient)", style="grey50")
    norm_prev = float(np.linalg.norm(prev))
    text.append(f"\n  ‖δ⟨{t}⟩‖ = {fmt_exact(step.norm)},  ‖δ⟨{t - 1}⟩‖ = ")
    text.append(fmt_exact(norm_prev))
    if step.norm > 0:
        ratio = norm_prev / step.norm
        word = "shrinks" if ratio < 1 else "grows"
        text.append(f",  ratio {fmt_exact(ratio)}: the gradient {word} going back", style="bold")
    first = float(stage.norms[-1])
    if first > 0:
        text.append(f"\n  ‖δ⟨{t}⟩‖ / ‖δ⟨{len(stage)}⟩‖ = {step.norm / first:.3g}", style="grey62")
    text.append(f";  whole sequence ‖δ⟨1⟩‖ / ‖δ⟨{len(stage)}⟩‖ = {stage.decay():.3g}")
    g = step.grad_norms
    text.append(
        f"\n  summed over t' ≥ {t}: ‖∂L/∂W_aa‖ = {fmt_exact(g['weight_hh'])}, "
        f"‖∂L/∂W_ax‖ = {fmt_exact(g['weight_ih'])}, ‖∂L/∂b_a‖ = {fmt_exact(g['bias'])}",
        style="grey62",
    )
    spec = stage.clip_spec
    if spec is not None:
        text.append("\n  ")
        if step.clip is None:
            text.append(
                f"clipping by {spec[0]} (c = {fmt_exact(float(spec[1]))}) is applied after the "
                "last step, t = 1",
                style="grey50",
            )
        else:
            text.append(clip_line(step.clip))
    return text


def clip_line(clip: dict[str, float]) -> Text:
    """Clipping before → after: the global norm, and the scale or the entries cut."""
    c = fmt_exact(clip["threshold"])
    before, after = fmt_exact(clip["norm_before"]), fmt_exact(clip["norm_after"])
    text = Text()
    if clip["mode"] == "norm":
        text.append(f"clip by norm, c = {c}: ", style="bold")
        if clip["scale"] < 1:
            text.append(f"‖g‖ = {before} > c, so g ← g·c/‖g‖ (×{clip['scale']:.3g}); ")
        else:
            text.append(f"‖g‖ = {before} ≤ c, nothing to do; ")
    else:
        text.append(f"clip by value into [−{c}, {c}]: ", style="bold")
        text.append(f"{int(clip['clipped_entries'])} of {int(clip['entries'])} entries cut; ")
    text.append(f"‖g‖ {before} → ")
    text.append(after, style="bold black on bright_green")
    text.append(
        "\n  g: W_ax, W_aa, bias_ih and bias_hh together, as PyTorch clips them;"
        " each bias gets ∂L/∂b_a",
        "grey50",
    )
    return text


@register
class BpttPanel(Panel):
    """Draws a BpttStage: the norm of δ⟨t⟩ over the sequence as the backward pass fills it in
    from the right, the current δ⟨t⟩ and what it passes back, and one unit written out."""

    kind = "bptt"

    DEFAULT_CSS = """
    BpttPanel .box {
        width: 1fr;
        height: auto;
        padding: 0;
    }
    BpttPanel #bptt-dtanh-box {
        width: auto;
    }
    BpttPanel #bptt-bars-box {
        padding: 0 1;
        height: 12;
    }
    BpttPanel .bptt-row {
        height: auto;
    }
    BpttPanel #bptt-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: BpttStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.bptt = stage
        self._unit = 0
        self._step: BpttStep | None = None
        self._grids: dict[str, MatrixGrid] = {}
        self._inspector_drawn: tuple[int, int] | None = None
        self._least = LeastHeight()

    def compose(self) -> ComposeResult:
        st = self.bptt
        first = st.step(0)
        with Vertical(classes="box", id="bptt-bars-box") as box:
            box.border_title = "‖δ⟨t⟩‖ = ‖∂L/∂a⟨t⟩‖ per time step (log scale)"
            loss = "½‖a⟨T⟩ − y‖²" if st.loss_mode == "last" else "½ Σ_t ‖a⟨t⟩ − y⟨t⟩‖²"
            box.border_subtitle = f"backward from t = {len(st)} to 1; L = {loss}"
            bars = NormBars(st.norms, id="bptt-bars")
            bars.current = len(st) - 1
            yield bars
        for row in (("delta", "dtanh"), ("dz", "carry")):
            with Horizontal(classes="bptt-row"):
                for key in row:
                    title, subtitle = VECTORS[key]
                    with Vertical(classes="box", id=f"bptt-{key}-box") as box:
                        box.border_title = title
                        box.border_subtitle = subtitle
                        # Columns as wide as the whole sequence needs: numbers that grow
                        # wider at a later step do not lay the screen out again.
                        grid = SteadyGrid(
                            getattr(first, key)[None], every=st.series(key), id=f"bptt-{key}"
                        )
                        self._grids[key] = grid
                        yield grid
        inspector = CachedRows(id="bptt-inspector")
        inspector.border_title = "δ⟨t−1⟩ = W_aaᵀ·(δ⟨t⟩ ⊙ (1 − a⟨t⟩²)): one unit"
        yield inspector

    def on_mount(self) -> None:
        # Looked up once: show() runs on every step.
        self._bars = self.query_one("#bptt-bars", NormBars)
        self._inspector = self.query_one("#bptt-inspector", Static)

    def show(self, step: BpttStep) -> None:  # type: ignore[override]
        self._step = step
        self._bars.current = step.t - 1  # bar k is t = k + 1
        for key, grid in self._grids.items():
            grid.set_values(getattr(step, key)[None])
        self._show_unit()

    def _show_unit(self) -> None:
        if self._step is None:
            return
        for grid in self._grids.values():
            grid.set_mark((0, self._unit))
        st, unit = self.bptt, self._unit
        least = self._least.lines(
            self._inspector, unit, len(st), lambda i: explain_bptt(st, st.step(i), unit).plain
        )
        self._inspector_drawn = update_inspector(
            self._inspector,
            explain_bptt(st, self._step, unit),
            self._inspector_drawn,
            least,
        )
        self._least.drawn(self._inspector_drawn)

    def on_resize(self) -> None:
        # The first step is drawn before the panel has a size: written again once it has one,
        # the inspector takes the height it keeps from step to step.
        if self._step is not None:
            self.call_after_refresh(self._show_unit)

    def on_matrix_grid_cell_clicked(self, message: MatrixGrid.CellClicked) -> None:
        message.stop()
        self._unit = message.col
        self._show_unit()
