"""LanguageModelPanel: the text so far, the next-character distribution and the running log P."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from engine.language import EOS, LanguageModelStage, LmStep
from tui.panels.base import Panel, register

TOP = 10
"""Characters shown in the bar chart: the most probable ones, and the chosen one if not among
them."""
BAR_WIDTH = 40
"""Cells of the longest bar (probability 1)."""

CURRENT = "bold black on bright_green"
DONE = "bright_white"
PENDING = "grey42"
EOS_STYLE = "bold cyan"
MUTED = "grey62"
BAR = "steel_blue1"
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(p: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``p × width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, p)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def sequence_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """Every character of the sequence: the ones read or drawn so far bright, the current one
    lit, the rest dim (scoring) or not yet drawn (sampling, shown as dots)."""
    t = Text()
    for i, k in enumerate(stage.ids):
        ch = stage.vocabulary[k]
        if i > step.index and stage.mode == "sample":
            break
        style = CURRENT if i == step.index else DONE if i < step.index else PENDING
        if k == 0:
            t.append(" ")
            t.append(
                EOS, style=CURRENT if i == step.index else EOS_STYLE if i < step.index else PENDING
            )
        else:
            t.append(ch, style=style)
    if stage.mode == "sample" and step.index < len(stage) - 1:
        t.append(" …", style=PENDING)
    return t


def distribution_chart(stage: LanguageModelStage, step: LmStep, top: int = TOP) -> Text:
    """The ``top`` most probable next characters as bars, the chosen one highlighted."""
    assert step.distribution is not None
    p = step.distribution
    order = [int(k) for k in np.argsort(-p, kind="stable")[:top]]
    if step.chosen not in order:
        order.append(step.chosen)
    t = Text()
    for row, k in enumerate(order):
        name = stage.vocabulary[k]
        here = k == step.chosen
        line = Text("▶ " if here else "  ")
        line.append(f"{name:>5}", style=EOS_STYLE if k == 0 else "bold")
        line.append(f"  {p[k]:6.3f}  ")
        line.append(bar(float(p[k])), style="bold bright_green" if here else BAR)
        if here:
            line.stylize(CURRENT, 0, 7)
        if row:
            t.append("\n")
        t.append_text(line)
    rest = 1.0 - float(sum(p[k] for k in order))
    t.append(f"\n  {len(p) - len(order)} others: {rest:.3f} together", style=MUTED)
    return t


def _prob(log_p: float) -> str:
    p = math.exp(log_p)
    return f"{p:.3g}" if p >= 1e-4 or p == 0 else f"{p:.2e}"


def running_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """log P(y⟨1⟩ … y⟨t⟩) as a sum of logs, one term per character so far, and P."""
    t = Text()
    t.append("log P(y⟨1⟩ … y⟨t⟩) = Σ log P(y⟨s⟩ | y⟨<s⟩)\n", style=MUTED)
    for i in range(step.index + 1):
        s = stage.step(i)
        mark = "▶" if i == step.index else " "
        line = Text(
            f"{mark} t={s.t:<3}{s.char:>5}  log p = {s.log_p:8.3f}   Σ = {s.log_prob_total:8.3f}"
        )
        if i == step.index:
            line.stylize(CURRENT, 0, len(line))
        t.append_text(line)
        t.append("\n")
    t.append(
        f"P(sequence so far) = e^({step.log_prob_total:.3f}) = {_prob(step.log_prob_total)}",
        style="bold",
    )
    return t


def inspector_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """``P('a' | 'ma') = 0.31; log P(sequence so far) = −4.2 → P = 0.015``, and how it was got."""
    t = Text()
    t.append(f"P({step.char!r} | {step.prefix!r}) = {step.p_chosen:.4g}", style="bold")
    total = f"{step.log_prob_total:.4g}".replace("-", "−")
    t.append(f"; log P(sequence so far) = {total} → P = {_prob(step.log_prob_total)}", style="bold")
    prev = (
        "0 (nothing read yet)"
        if step.t == 1
        else f"one_hot({stage.vocabulary[stage.ids[step.index - 1]]!r})"
    )
    t.append(
        f"\n  x⟨{step.t}⟩ = {prev};  a⟨{step.t}⟩ = tanh(W_ax·x⟨{step.t}⟩ + W_aa·a⟨{step.t - 1}⟩"
        f" + b_a);  ŷ⟨{step.t}⟩ = softmax((W_ya·a⟨{step.t}⟩ + b_y) / τ), τ = {step.temperature:g}",
        style=MUTED,
    )
    if step.mode == "sample":
        fate = "ends the sequence" if step.chosen == 0 else f"is fed back as x⟨{step.t + 1}⟩"
        how = f"{step.char!r} drawn from ŷ⟨{step.t}⟩ (seed {stage.seed}) {fate}"
        if step.index == len(stage) - 1 and not stage.ended:
            how += f"; stopped at max_length = {stage.max_length} before {EOS}"
    else:
        how = f"{step.char!r} is the word's next character; its probability is read off ŷ⟨{step.t}⟩"
    t.append(f"\n  {how}", style=MUTED)
    return t


@register
class LanguageModelPanel(Panel):
    """Draws a LanguageModelStage: the sequence, the distribution of the next character as bars,
    and the running log-probability."""

    kind = "language_model"

    DEFAULT_CSS = """
    LanguageModelPanel .box {
        border: round $primary 60%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        height: auto;
        padding: 0 1;
    }
    LanguageModelPanel #lm-row {
        height: auto;
    }
    LanguageModelPanel #lm-dist-box {
        width: 1fr;
    }
    LanguageModelPanel #lm-running-box {
        width: 50;
    }
    LanguageModelPanel #lm-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, stage: LanguageModelStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.lm = stage

    def compose(self) -> ComposeResult:
        lm = self.lm
        with Vertical(classes="box", id="lm-text-box") as box:
            verb = "scoring" if lm.mode == "score" else f"sampling, seed {lm.seed}"
            box.border_title = f"Sequence · {verb} · τ = {lm.temperature:g}"
            v = len(lm.vocabulary)
            box.border_subtitle = f"V = {v} ({EOS} + {v - 1} letters) · H = {lm.hidden_size}"
            yield Static(id="lm-text")
        with Horizontal(id="lm-row"):
            with Vertical(classes="box", id="lm-dist-box"):
                yield Static(id="lm-dist")
            with Vertical(classes="box", id="lm-running-box") as box:
                box.border_title = "Running log-probability"
                yield Static(id="lm-running")
        inspector = Static(id="lm-inspector")
        inspector.border_title = "This step"
        yield inspector

    def show(self, step: LmStep) -> None:  # type: ignore[override]
        lm = self.lm
        self.query_one("#lm-text", Static).update(Content.from_rich_text(sequence_text(lm, step)))
        self.query_one("#lm-dist", Static).update(
            Content.from_rich_text(distribution_chart(lm, step))
        )
        self.query_one(
            "#lm-dist-box"
        ).border_title = f"ŷ⟨{step.t}⟩ = P(next character | {step.prefix!r}) · top {TOP}"
        self.query_one("#lm-running", Static).update(Content.from_rich_text(running_text(lm, step)))
        self.query_one("#lm-inspector", Static).update(
            Content.from_rich_text(inspector_text(lm, step))
        )

    def set_heat(self, on: bool) -> None:
        """No numbers grid here: the bars already are the shaded view."""
