"""LanguageModelPanel: the text so far, the next-token distribution and the running log P."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Static

from engine.language import EOS, LanguageModelStage, LmStep
from engine.tokens import UNK
from tui.numbers import clamp
from tui.panels._heights import Heights, wrapped_lines
from tui.panels.base import Panel, register
from tui.widgets.rows import CachedRows, set_border_title

TOP = 10
"""Tokens shown in the bar chart: the most probable ones, and the chosen one if not among
them."""
BAR_WIDTH = 40
"""Cells of the longest bar (probability 1) when there is room; narrower boxes get shorter bars."""
MIN_BAR_WIDTH = 10
"""Bars never shrink below this: the chart may then be cropped, but stays readable."""
RUNNING_ROWS = 10
"""Terms of the running sum listed at most: the latest ones, so the box stays as tall as the
bar chart however long the sequence."""
TITLE_PREFIX = 30
"""Characters of the condition shown in the chart's title before the first layout; after it,
as many as the box has room for. Longer ones keep their end."""

CURRENT = "bold black on bright_green"
DONE = "bright_white"
PENDING = "grey42"
EOS_STYLE = "bold cyan"
UNK_STYLE = "bold magenta"
MUTED = "grey62"
BAR = "steel_blue1"
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(p: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``p × width`` cells, in eighths of a cell."""
    eighths = round(clamp(p, 0.0, 1.0, nan=0.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def token_style(token: str) -> str:
    """The specials stand apart from real tokens, in the colours of the tokens panel."""
    return EOS_STYLE if token == EOS else UNK_STYLE if token == UNK else "bold"


def unit(stage: LanguageModelStage) -> str:
    """What one token is: ``character`` or ``word``."""
    return "character" if stage.level == "char" else "word"


def label_width(stage: LanguageModelStage) -> int:
    """Cells for a token in the chart and the running sum: five (``<EOS>``) for characters,
    the longest word of the vocabulary (at most 12) for words."""
    if stage.level == "char":
        return len(EOS)
    return min(12, max(len(EOS), *map(len, stage.vocabulary)))


def short(prefix: str, limit: int = TITLE_PREFIX) -> str:
    """``prefix`` cut from the left to at most ``limit`` characters, at a space if it can be:
    the last words are the ones the next word depends on most."""
    if len(prefix) <= limit:
        return prefix
    tail = prefix[-(limit - 1) :]
    cut = tail.find(" ")
    return "…" + (tail[cut + 1 :] if 0 <= cut < len(tail) - 1 else tail)


def sequence_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """Every token of the sequence: the ones read or drawn so far bright, the current one lit,
    the rest dim (scoring) or not yet drawn (sampling, shown as dots). A word the vocabulary
    lacks is shown as it was written, then the ``<UNK>`` it became."""
    t = Text()
    words = stage.level == "word"
    for i, k in enumerate(stage.ids):
        if i > step.index and stage.mode == "sample":
            break
        token, given = stage.vocabulary[k], stage.read[i]
        if (i and words) or k == stage.eos:
            t.append(" ")
        if i == step.index:
            style = CURRENT
        elif i > step.index:
            style = PENDING
        else:
            style = token_style(token) if token in (EOS, UNK) else DONE
        if given != token:
            t.append(given, style=PENDING if i > step.index else f"{MUTED} strike")
            t.append("→", style=MUTED)
        t.append(token, style=style)
    if stage.mode == "sample" and step.index < len(stage) - 1:
        t.append(" …", style=PENDING)
    return t


def distribution_chart(
    stage: LanguageModelStage, step: LmStep, top: int = TOP, width: int = BAR_WIDTH
) -> Text:
    """The ``top`` most probable next tokens as bars ``width`` cells long at p = 1, the chosen
    one highlighted."""
    p = step.distribution
    order = [int(k) for k in np.argsort(-p, kind="stable")[:top]]
    if step.chosen not in order:
        order.append(step.chosen)
    w = label_width(stage)
    align = ">" if stage.level == "char" else "<"
    t = Text()
    for row, k in enumerate(order):
        name = stage.vocabulary[k]
        here = k == step.chosen
        line = Text("▶ " if here else "  ")
        line.append(f"{name:{align}{w}}", style=token_style(name))
        line.append(f"  {p[k]:6.3f}  ")
        line.append(bar(float(p[k]), width), style="bold bright_green" if here else BAR)
        if here:
            line.stylize(CURRENT, 0, w + 2)
        if row:
            t.append("\n")
        t.append_text(line)
    rest = 1.0 - float(sum(p[k] for k in order))
    t.append(f"\n  {len(p) - len(order)} others: {rest:.3f} together", style=MUTED)
    return t


def _prob(log_p: float) -> str:
    p = math.exp(log_p) if log_p < 700 else math.inf  # exp overflows (OverflowError) above
    return f"{p:.3g}" if p >= 1e-4 or p == 0 else f"{p:.2e}"


def running_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """log P(y⟨1⟩ … y⟨t⟩) as a sum of logs, one term per token so far (the latest
    ``RUNNING_ROWS``), and P."""
    t = Text()
    t.append("log P(y⟨1⟩ … y⟨t⟩) = Σ log P(y⟨s⟩ | y⟨<s⟩)\n", style=MUTED)
    first = max(0, step.index + 1 - RUNNING_ROWS)
    if first:
        first += 1  # the note takes a row
        t.append(f"  … {first} earlier term(s)\n", style=MUTED)
    w = label_width(stage)
    align = ">" if stage.level == "char" else "<"
    for i in range(first, step.index + 1):
        s = stage.step(i)
        mark = "▶" if i == step.index else " "
        line = Text(f"{mark} t={s.t:<3}")
        special = s.token in (EOS, UNK) and i != step.index
        line.append(f"{s.token:{align}{w}}", style=token_style(s.token) if special else "")
        line.append(f"  log p = {s.log_p:8.3f}   Σ = {s.log_prob_total:8.3f}")
        if i == step.index:
            line.stylize(CURRENT, 0, len(line))
        t.append_text(line)
        t.append("\n")
    t.append(
        f"P(sequence so far) = e^({step.log_prob_total:.3f}) = {_prob(step.log_prob_total)}",
        style="bold",
    )
    return t


def running_width(stage: LanguageModelStage) -> int:
    """Cells of the running-sum box: its longest line, two of padding and two of border."""
    return 40 + label_width(stage) + 4 + 1


def how_text(stage: LanguageModelStage, step: LmStep) -> str:
    """Where this step's token came from and what its probability means."""
    tok, t = step.token, step.t
    known = sum(1 for k in stage.vocabulary if k not in (EOS, UNK))
    if step.mode == "sample":
        fate = "ends the sequence" if step.chosen == stage.eos else f"is fed back as x⟨{t + 1}⟩"
        how = f"{tok!r} drawn from ŷ⟨{t}⟩ (seed {stage.seed}) {fate}"
        if tok == UNK:
            how += (
                f"; it stands for every word outside the model's {known}, so the text can "
                "only show that some unknown word is here"
            )
        if step.index == len(stage) - 1 and not stage.ended:
            how += f"; stopped at max_length = {stage.max_length} before {EOS}"
        return how
    field = stage.text_field
    if step.unknown:
        return (
            f"{step.given!r} is not among the model's {known} words, so it is read as {UNK}: "
            f"P({UNK} | {step.prefix!r}) is the probability of some word the model does not know, "
            "all such words together"
        )
    if step.chosen == stage.eos:
        return (
            f"the {field} ends here: P({EOS} | {step.prefix!r}) is the probability that nothing "
            "more follows"
        )
    return f"{tok!r} is the {field}'s next {unit(stage)}; its probability is read off ŷ⟨{t}⟩"


def inspector_text(stage: LanguageModelStage, step: LmStep) -> Text:
    """``P('a' | 'ma') = 0.31; log P(sequence so far) = −4.2 → P = 0.015``, and how it was got."""
    t = Text()
    t.append(f"P({step.token!r} | {step.prefix!r}) = {step.p_chosen:.4g}", style="bold")
    total = f"{step.log_prob_total:.4g}".replace("-", "−")
    t.append(f"; log P(sequence so far) = {total} → P = {_prob(step.log_prob_total)}", style="bold")
    prev = (
        "0 (nothing read yet)"
        if step.t == 1
        else f"one_hot({stage.vocabulary[stage.ids[step.index - 1]]!r})"
    )
    t.append(
        f"\n  x⟨{step.t}⟩ = {prev};  a⟨{step.t}⟩ = tanh(W_ax·x⟨{step.t}⟩ + W_aa·a⟨{step.t - 1}⟩"
        f" + b_a)\n  ŷ⟨{step.t}⟩ = softmax((W_ya·a⟨{step.t}⟩ + b_y) / τ), τ = {step.temperature:g}",
        style=MUTED,
    )
    t.append(f"\n  {how_text(stage, step)}", style=MUTED)
    return t


def vocabulary_note(stage: LanguageModelStage) -> str:
    """``V = 48 (<UNK>, <EOS> + 46 words)``: the size, and what the specials leave."""
    specials = [tok for tok in (UNK, EOS) if tok in stage.vocabulary]
    rest = len(stage.vocabulary) - len(specials)
    units = "letters" if stage.level == "char" else "words"
    return f"V = {len(stage.vocabulary)} ({', '.join(specials)} + {rest} {units})"


@register
class LanguageModelPanel(Panel):
    """Draws a LanguageModelStage: the sequence, the distribution of the next token as bars,
    and the running log-probability."""

    kind = "language_model"

    DEFAULT_CSS = """
    LanguageModelPanel .box {
        height: auto;
        padding: 0 1;
    }
    LanguageModelPanel #lm-row {
        height: auto;
    }
    LanguageModelPanel #lm-dist-box {
        width: 1fr;
    }
    LanguageModelPanel #lm-dist {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    LanguageModelPanel #lm-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The token of this step, the probability bars and the special tokens (``<UNK>`` only
        for a model whose vocabulary has it)."""
        entries = [
            (" a ", CURRENT, "this step's token"),
            ("███", BAR, "P(token)"),
            ("<EOS>", EOS_STYLE, "end"),
        ]
        if UNK in self.lm.vocabulary:
            entries.append(("<UNK>", UNK_STYLE, "unknown word"))
        return entries

    def __init__(self, stage: LanguageModelStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.lm = stage
        self._step: LmStep | None = None
        self._width = 0
        self._heights = Heights()
        self._chart: int | None = None

    def compose(self) -> ComposeResult:
        lm = self.lm
        with Vertical(classes="box", id="lm-text-box") as box:
            verb = "scoring" if lm.mode == "score" else f"sampling, seed {lm.seed}"
            box.border_title = f"Sequence · {verb} · τ = {lm.temperature:g}"
            box.border_subtitle = f"{vocabulary_note(lm)} · H = {lm.hidden_size}"
            yield CachedRows(id="lm-text")
        with Horizontal(id="lm-row"):
            with Vertical(classes="box", id="lm-dist-box"):
                yield CachedRows(id="lm-dist")
            with Vertical(classes="box", id="lm-running-box") as box:
                box.border_title = "Running log-probability"
                if lm.temperature != 1:
                    # The tempered distributions are what was drawn from, not the model's own.
                    box.border_title += f" at τ = {lm.temperature:g}"
                    box.border_subtitle = "the model's own P is at τ = 1"
                box.styles.width = running_width(lm)
                yield CachedRows(id="lm-running")
        inspector = CachedRows(id="lm-inspector")
        inspector.border_title = "This step"
        yield inspector

    def _bar_width(self) -> int:
        """The longest bar that fits beside the labels in the chart's box (before the first
        layout, when the box has no size yet, the full ``BAR_WIDTH``)."""
        room = self.query_one("#lm-dist", Static).content_size.width
        if not room:
            return BAR_WIDTH
        labels = 2 + label_width(self.lm) + 10  # "▶ ", the token, the probability
        return max(MIN_BAR_WIDTH, min(BAR_WIDTH, room - labels))

    def show(self, step: LmStep) -> None:  # type: ignore[override]
        lm, heights = self.lm, self._heights
        self._step = step
        text = self.query_one("#lm-text", Static)
        heights.put(text, sequence_text(lm, step), heights.tallest(text, self._text_lines(text)))
        chart = distribution_chart(lm, step, width=self._bar_width())
        dist = self.query_one("#lm-dist", Static)
        running = self.query_one("#lm-running", Static)
        # The chart and the running sum side by side, both as tall as the taller of them
        # ever is, so that the row keeps its height from step to step.
        row = max(self._chart_lines(), self._running_lines())
        heights.put(dist, chart, row)
        heights.put(running, running_text(lm, step), row)
        box = self.query_one("#lm-dist-box")
        head, tail = f"ŷ⟨{step.t}⟩ = P(next {unit(lm)} | ", f") · top {TOP}"
        room = TITLE_PREFIX
        width = box.region.width
        if width:  # laid out: what the border leaves ("╭─ ", " ─╮" and the quotes)
            room = width - 6 - len(head) - 2
            if len(step.prefix) > room - len(tail) < 16:  # keep the condition, not "top 10"
                tail = ")"
            room -= len(tail)
        # The top border only is repainted, not the chart it holds.
        set_border_title(box, Content(f"{head}{short(step.prefix, max(8, room))!r}{tail}"))
        inspector = self.query_one("#lm-inspector", Static)
        heights.put_tallest(
            inspector,
            inspector_text(lm, step),
            lambda: [inspector_text(lm, lm.step(i)) for i in range(len(lm))],
        )

    def _text_lines(self, box: Static) -> Callable[[int], int]:
        """Lines of the sequence box over the stage: its text wraps, and grows while sampling."""
        lm = self.lm
        return wrapped_lines(box, lambda: [sequence_text(lm, lm.step(i)) for i in range(len(lm))])

    def _chart_lines(self) -> int:
        """Lines of the chart over the stage: the top tokens, the chosen one when it is not
        among them, and the line counting the others."""
        if self._chart is None:
            lm, outside = self.lm, False
            for i in range(len(lm)):
                s = lm.step(i)
                top = np.argsort(-s.distribution, kind="stable")[:TOP]
                outside = outside or s.chosen not in top
            self._chart = min(TOP, len(lm.vocabulary)) + int(outside) + 1
        return self._chart

    def _running_lines(self) -> int:
        """Lines of the running sum over the stage: the head, the latest terms (a note counts
        the earlier ones) and P."""
        return 2 + min(len(self.lm), RUNNING_ROWS)

    def on_resize(self, event: events.Resize) -> None:
        """The bars are as long as the chart's box allows: redraw them for the new width (a new
        height alone changes nothing drawn)."""
        if self._step is not None and event.size.width and event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        # Deferred, so the panel may be on its way out by now (a new τ replaces it): its
        # children are removed first, and then there is nothing left to draw into.
        if self._step is None or not self.is_attached:
            return
        try:
            self.show(self._step)
        except NoMatches:
            return

    def set_heat(self, on: bool) -> None:
        """No numbers grid here: the bars already are the shaded view."""
