"""TranslationPanel: the encoder reading the input both ways, then the decoder writing the output
with attention: α⟨t,·⟩ over the input, the α matrix filling in, the energies, the context
c⟨t⟩, the next-symbol distribution and P(y|x) as a running sum of log-probabilities."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from tui.panels._heights import Heights, line_count, sampled
from tui.panels._sequence import (
    SPECIALS,
    Body,
    Term,
    WidthPanel,
    cell_width,
    heat_strip,
    running_sum,
    shown,
    token_cells,
    top_bars,
    vector_line,
)
from tui.panels.base import register
from tui.panels.language import CURRENT, MUTED, PENDING, token_style
from tui.widgets.halfblock import heat_colours
from tui.widgets.rows import CachedRows, Row, text_rows

if TYPE_CHECKING:
    from engine.seq2seq import TranslationStage, TranslationStep

ROW_NAME = 9
"""Columns of the names before the rows of input cells (``α⟨12,·⟩%``)."""
NARROW = 110
"""Below this many columns the distribution and the running sum go under the attention matrix
rather than beside it."""
CONDITIONAL = (
    "The decoder is a conditional language model: its first state s⟨0⟩ comes from the encoder "
    "instead of a zero vector, so what it writes has the probability P(y⟨1⟩ … y⟨Ty⟩ | x)."
)

_PHASES = {
    "forward": "→ encoder reads x⟨1⟩ … x⟨Tx⟩ left to right",
    "backward": "← encoder reads x⟨Tx⟩ … x⟨1⟩ right to left",
    "bridge": "bridge: the decoder's first state from the encoder",
    "decoder": "decoder writes ŷ⟨t⟩ with attention",
}


def window(widths: list[int], room: int, focus: int) -> tuple[int, int]:
    """The cells [a, b) drawn of a row too long for ``room`` columns: as many as fit, grown
    from ``focus`` to both sides (all of them when they fit)."""
    n = len(widths)
    if sum(widths) <= room or n == 0:
        return 0, n
    focus = min(max(focus, 0), n - 1)
    a, b, used = focus, focus + 1, widths[focus]
    grew = True
    while grew:
        grew = False
        if b < n and used + widths[b] <= room:
            used, b, grew = used + widths[b], b + 1, True
        if a > 0 and used + widths[a - 1] <= room:
            a, used, grew = a - 1, used + widths[a - 1], True
    return a, b


def number_row(
    tokens: tuple[str, ...], values: np.ndarray, *, signed: bool = False, scale: float = 0.0
) -> Text:
    """One whole number per input cell: α⟨t,t′⟩ in percent (``·`` under 0.5 %), or the
    energies e⟨t,t′⟩ rounded, shaded on the signed heat ramp up to ``scale`` (their largest
    magnitude by default)."""
    t = Text(no_wrap=True, overflow="crop")
    v = np.asarray(values, dtype=np.float64)
    if signed:
        m = scale or float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) or 1.0
        colours = heat_colours(v, -m, m)
    for j, tok in enumerate(tokens):
        w = cell_width(tok)
        if signed:
            r, g, b = (int(c) for c in colours[j])
            text = f"{v[j]:.0f}".replace("-0", "0").replace("-", "−")
            style: str | Style = Style(color="bright_white", bgcolor=f"rgb({r},{g},{b})")
        else:
            pct = round(float(v[j]) * 100)
            text = "·" if pct == 0 else str(pct)
            style = "bold" if pct >= 20 else MUTED if pct == 0 else ""
        t.append(text.rjust(w - 1)[: w - 1] + " ", style=style)
    return t


def matrix_head_width(outputs: tuple[str, ...]) -> int:
    """Columns of the α matrix's row heads: the row number and ŷ⟨t⟩."""
    return max(6, *(len(shown(o)) + 5 for o in outputs)) if outputs else 6


def alpha_rows(
    matrix: np.ndarray,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    t: int,
    cols: tuple[int, int] | None = None,
) -> list[Row]:
    """The whole α matrix so far: a row per output position (ŷ⟨t⟩ as its head, the rows not yet
    computed dotted), a column per input token (heads above), two columns a cell, shaded by α
    and written in tenths (``5`` = 0.45 … 0.55, blank under 0.05). ``cols`` = (a, b) draws
    the input columns a … b − 1 only, for an input too long for the box. Each line's key says
    all it shows, so a step rewrites two rows: the one computed and the one lit before."""
    first, stop = cols if cols is not None else (0, len(inputs))
    whole = (first, stop) == (0, len(inputs))
    shown_in = inputs[first:stop]
    ty = matrix.shape[0]
    head_w = matrix_head_width(outputs)

    def head() -> Text:
        out = Text(" " * head_w, no_wrap=True, overflow="crop")
        for tok in shown_in:
            name = shown(tok)
            out.append(
                (name if len(name) == 1 else name[1]) + " ",
                style=token_style(tok) if tok in SPECIALS else "bold",
            )
        if whole:
            out.append("  x⟨t′⟩", style=MUTED)
        return out

    def row(r: int, tok: str, here: bool, done: bool) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        label = f"{r + 1:>2} {shown(tok)}".ljust(head_w)
        out.append(label, style=CURRENT if here else token_style(tok) if tok in SPECIALS else "")
        if not done:
            out.append("· " * len(shown_in), style=PENDING)
            return out
        values = matrix[r, first:stop]
        colours = heat_colours(values, 0.0, 1.0)
        for j in range(len(shown_in)):
            red, green, blue = (int(c) for c in colours[j])
            tenths = round(float(values[j]) * 10)
            digit = " " if tenths == 0 else "█" if tenths >= 10 else str(tenths)
            light = red + green + blue > 380
            fg = "bright_white" if tenths >= 10 else "black" if light else "bright_white"
            out.append(digit + " ", style=Style(color=fg, bgcolor=f"rgb({red},{green},{blue})"))
        return out

    def legend() -> Text:
        out = muted("digits: α in tenths")
        if not whole:
            out.append(f" · x⟨{first + 1}⟩ … x⟨{stop}⟩ of {len(inputs)} shown", style=MUTED)
        heads = [f"{tok[1]} = {tok}" for tok in SPECIALS if tok in shown_in]
        if heads:
            out.append(f" · {', '.join(heads)}", style=MUTED)
        return out

    rows: list[Row] = [(("α-head", first, stop), head)]
    for r in range(ty):
        tok = outputs[r] if r < t else "·"
        here = r == t - 1
        done = not bool(np.isnan(matrix[r]).all())
        rows.append((("α", r, tok, here, done, first, stop), partial(row, r, tok, here, done)))
    rows.append((("α-legend", first, stop), legend))
    return rows


def encoder_rows(
    tokens: tuple[str, ...],
    forward: np.ndarray,
    backward: np.ndarray,
    filled_forward: int,
    filled_backward: int,
    current: tuple[str, int] | None,
    rows: int = 10_000,
    strips: dict[tuple[str, int], Text] | None = None,
) -> list[Row]:
    """One line per input position t′: x⟨t′⟩, →h⟨t′⟩ and ←h⟨t′⟩ as heat strips once computed
    (→ rows fill from the top, ← rows from the bottom), dots before; at most ``rows`` of them,
    around the position read. ``strips`` keeps each state's strip from step to step (the states
    do not change, only how many are shown). A line's key says what it shows: a step rewrites
    the line read and the one read before."""
    tx, hid = forward.shape
    width = (hid + 1) // 2
    lo = float(min(forward.min(), backward.min(), 0.0))
    hi = float(max(forward.max(), backward.max(), 0.0))
    w = max(len(shown(tok)) for tok in tokens)

    def head() -> Text:
        return muted(f"{'t′':>3} {'x':<{w}}  {'→h⟨t′⟩':<{width}}  ←h⟨t′⟩")

    def line(j: int, done_f: bool, here_f: bool, done_b: bool, here_b: bool) -> Text:
        tok = tokens[j]
        out = Text(no_wrap=True, overflow="crop")
        out.append(f"{j + 1:>3} ", style=CURRENT if here_f or here_b else "")
        out.append(f"{shown(tok):<{w}}  ", style=token_style(tok) if tok in SPECIALS else "bold")
        if done_f:
            out.append_text(_strip(strips, ("→", j), forward[j], lo, hi))
        else:
            out.append("·" * width, style=PENDING)
        out.append(" ◀" if here_f else "  ", style="bold bright_green")
        if done_b:
            out.append_text(_strip(strips, ("←", j), backward[j], lo, hi))
        else:
            out.append("·" * width, style=PENDING)
        if here_b:
            out.append(" ◀", style="bold bright_green")
        return out

    def note(text: str) -> Callable[[], Text]:
        return lambda: muted(text)

    focus = current[1] - 1 if current is not None and current[1] > 0 else 0
    first, stop = window([1] * tx, max(rows, 1), focus)
    out: list[Row] = [(("enc-head",), head)]
    if first:
        text = f"    … t′ = 1 … {first} above"
        out.append((("note", text), note(text)))
    for j in range(first, stop):
        state = (
            j < filled_forward,
            current == ("forward", j + 1),
            j >= tx - filled_backward,
            current == ("backward", j + 1),
        )
        out.append((("enc", j, *state), partial(line, j, *state)))
    if stop < tx:
        text = f"    … t′ = {stop + 1} … {tx} below"
        out.append((("note", text), note(text)))
    return out


def muted(text: str) -> Text:
    """A line in the muted colour (a span, as Content keeps it, not the Text's own style)."""
    out = Text(no_wrap=True, overflow="crop")
    out.append(text, style=MUTED)
    return out


def _strip(
    cache: dict[tuple[str, int], Text] | None,
    key: tuple[str, int],
    values: np.ndarray,
    lo: float,
    hi: float,
) -> Text:
    """A state's heat strip, drawn once per panel when ``cache`` is given."""
    if cache is None:
        return heat_strip(values, lo=lo, hi=hi)
    if key not in cache:
        cache[key] = heat_strip(values, lo=lo, hi=hi)
    return cache[key]


class Boxes(NamedTuple):
    """Lines of the panel's boxes whose height stays the same at every step."""

    seq: int
    main: int
    dist: int
    running: int


@register
class TranslationPanel(WidthPanel):
    """Draws a TranslationStage: input and output, then the encoder's states or the decoder's
    attention, distribution and running log-probability."""

    kind = "translation"

    DEFAULT_CSS = """
    TranslationPanel {
        height: auto;
    }
    TranslationPanel #tr-body {
        height: auto;
        max-height: 100%;
    }
    TranslationPanel .box {
        height: auto;
        padding: 0 1;
    }
    TranslationPanel Static {
        text-wrap: nowrap;
        text-overflow: clip;
    }
    TranslationPanel #tr-row, TranslationPanel #tr-side {
        height: auto;
    }
    TranslationPanel #tr-note {
        text-wrap: wrap;
        color: $text-muted;
    }
    TranslationPanel #tr-main {
        width: auto;
        min-width: 30;
        max-width: 60%;
    }
    TranslationPanel #tr-side {
        width: 1fr;
    }
    TranslationPanel.-narrow #tr-row {
        layout: vertical;
    }
    TranslationPanel.-narrow #tr-main, TranslationPanel.-narrow #tr-side {
        width: 100%;
        max-width: 100%;
    }
    TranslationPanel #tr-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
        text-wrap: wrap;
        text-overflow: fold;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The token of this step and the attention weights α (in %)."""
        return [
            (" a ", CURRENT, "this output token"),
            (" 45 ", "bold", "α ≥ 20 %"),
            (" · ", MUTED, "α ≈ 0"),
        ]

    def __init__(self, stage: TranslationStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.tr = stage
        self._encoder: tuple[np.ndarray, np.ndarray] | None = None
        self._terms: list[Term] | None = None
        self._heights = Heights()
        self._tall: Boxes | None = None
        self._strips: dict[tuple[str, int], Text] = {}

    def compose(self) -> ComposeResult:
        # Decided now for the terminal's width, so that a new panel is laid out once, not
        # again when its first resize changes the class.
        self.set_class(self.app.size.width < NARROW, "-narrow")
        with Body(id="tr-body"):
            with Vertical(id="tr-seq-box", classes="box") as seq:
                seq.border_title = "Input x and output ŷ"
                yield CachedRows(id="tr-seq")
                yield Static(Content(CONDITIONAL), id="tr-note")
            with Horizontal(id="tr-row"):
                yield CachedRows(id="tr-main", classes="box")
                with Vertical(id="tr-side"):
                    yield CachedRows(id="tr-dist", classes="box")
                    yield CachedRows(id="tr-running", classes="box")
            # Below the screen at 120×40: a CachedRows is not repainted there (see rows.repaint).
            inspector = CachedRows(id="tr-inspector")
            inspector.border_title = "This step"
            yield inspector

    def on_mount(self) -> None:
        self._titles()

    def _titles(self) -> None:
        """What the stage says once, whatever the step: the held-out accuracy, and when the
        translation is not a real date, that nothing checked it."""
        seq = self.query_one("#tr-seq-box")
        seq.border_subtitle = Content(str(getattr(self.tr, "accuracy", "") or ""))
        note = Content(CONDITIONAL)
        if not self.tr.real_date:
            note = Content.assemble(
                CONDITIONAL,
                " ",
                (
                    f"Its translation {self.tr.output_text!r} is not a real date: the translator "
                    "never refuses a text and nothing checks what it writes.",
                    "bold yellow",
                ),
            )
        self.query_one("#tr-note", Static).update(note)

    def restage(self, stage: TranslationStage) -> None:
        """Show ``stage`` (a new text, the same model) in this panel instead of a new panel:
        the widgets stay, so the screen is not laid out again. ``show`` draws its step."""
        self.stage = self.tr = stage
        self._encoder = self._terms = None
        self._tall = None
        self._strips = {}
        for box in self.query(CachedRows):
            box.clear()
        self._heights.clear()
        self._last = None
        self._titles()

    def on_resize(self, event: events.Resize) -> None:
        """The layout and how much of a long input fits follow the width."""
        if event.size.width:
            self.set_class(event.size.width < NARROW, "-narrow")
        super().on_resize(event)

    # -- what the stage holds, gathered once ---------------------------------------------

    def _encoder_states(self) -> tuple[np.ndarray, np.ndarray]:
        """→h⟨t′⟩ and ←h⟨t′⟩ for every input position (Tx, H), from the encoder's steps."""
        if self._encoder is None:
            tx = len(self.tr.read)
            steps = [self.tr.step(i) for i in range(2 * tx)]
            forward = np.stack([s.state for s in steps[:tx]])
            backward = np.stack([s.state for s in reversed(steps[tx:])])
            self._encoder = (forward, backward)
        return self._encoder

    def _decoder_terms(self) -> list[Term]:
        """(t, ŷ⟨t⟩, log p, Σ) of every decoder step."""
        if self._terms is None:
            first = 2 * len(self.tr.read) + 1
            self._terms = []
            for i in range(first, len(self.tr)):
                s = self.tr.step(i)
                self._terms.append(
                    Term(s.t, str(s.token), float(s.log_p or 0.0), float(s.log_prob_total or 0.0))
                )
        return self._terms

    # -- drawing ---------------------------------------------------------------------------

    def show(self, step: TranslationStep) -> None:  # type: ignore[override]
        super().show(step)
        heights = self._heights
        seq = self.query_one("#tr-seq", CachedRows)
        main = self.query_one("#tr-main", CachedRows)
        dist = self.query_one("#tr-dist", CachedRows)
        running = self.query_one("#tr-running", CachedRows)
        # Every box keeps one height through the whole translation, encoder and decoder
        # alike (the running sum stays, empty until the decoder writes), so that a step
        # repaints text and lays nothing out.
        tall = self._tallest()
        # The boxes are drawn line by line: a line shown before is not written again.
        seq.set_rows(text_rows(self._sequence(step)), height=tall.seq)
        if step.phase == "decoder":
            main.set_title(f"Attention α⟨t,t′⟩ · row {step.t} new")
            t = step.t
            dist.set_title(f"ŷ⟨{t}⟩ = P(y⟨{t}⟩ | x, ŷ⟨<{t}⟩) · top {len(step.top)}")
            distribution = text_rows(self._distribution(step))
            terms = self._decoder_terms()[: step.t]
        else:
            main.set_title("Encoder: h⟨t′⟩ = [→h⟨t′⟩; ←h⟨t′⟩]")
            dist.set_title("The state this step builds")
            distribution = self._states(step)
            terms = []
        main.set_rows(self._main(step), height=tall.main)
        dist.set_rows(distribution, height=tall.dist)
        heights.title(running, "P(y|x): running log-probability")
        running.set_rows(text_rows(self._running_text(terms)), height=tall.running)
        inspector = self.query_one("#tr-inspector", CachedRows)
        tr = self.tr
        explained = Text(step.explanation)
        heights.put_tallest(
            inspector,
            explained,
            lambda: [Text(tr.step(i).explanation) for i in sampled(len(tr))],
            grow=True,
        )

    def _main(self, step: TranslationStep) -> list[Row]:
        """The α matrix (decoder) or the encoder's states, cut to the box's width."""
        if step.phase == "decoder":
            assert step.alpha_matrix is not None
            outputs = self._all_outputs()
            tokens = step.input_tokens
            room = self._main_width() - 5 - matrix_head_width(outputs)
            cols = window([2] * len(tokens), room, self._focus(step))
            return alpha_rows(step.alpha_matrix, tokens, outputs, step.t, cols)
        forward, backward = self._encoder_states()
        tx = len(step.input_tokens)
        filled_f = step.t if step.phase == "forward" else tx
        filled_b = {"forward": 0, "backward": tx - step.t + 1}.get(step.phase, tx)
        return encoder_rows(
            step.input_tokens,
            forward,
            backward,
            filled_f,
            filled_b,
            (step.phase, step.t),
            rows=max(8, (self.app.size.height or 40) - 18),
            strips=self._strips,
        )

    @staticmethod
    def step_label(step: TranslationStep) -> str | None:
        """The timeline's name for the bridge, which is not a time step: it makes s⟨0⟩, and the
        decoder's time steps count from t = 1."""
        return "bridge" if step.phase == "bridge" else None

    @staticmethod
    def _running_text(terms: list[Term]) -> Text:
        """P(ŷ|x) as a running sum; before the decoder's first step, a line saying so."""
        t = running_sum(terms, head="log P(ŷ|x) = Σ log P(ŷ⟨s⟩ | x, ŷ⟨<s⟩)", what="P(ŷ so far | x)")
        if not terms:
            t.append("(nothing written yet: the decoder starts after the encoder)", style=MUTED)
        return t

    def _tallest(self) -> Boxes:
        """The most lines each box takes in any step of the translation (one step of each
        phase is enough: within a phase every step has as many lines)."""
        if self._tall is None:
            tr = self.tr
            firsts: dict[str, int] = {}
            for i in range(len(tr)):
                firsts.setdefault(tr.step(i).phase, i)
            seq = main = dist = 1
            for i in firsts.values():
                step = tr.step(i)
                seq = max(seq, line_count(self._sequence(step)))
                main = max(main, len(self._main(step)))
                if step.phase == "decoder":
                    dist = max(dist, line_count(self._distribution(step)))
                else:
                    dist = max(dist, len(self._states(step)))
            running = max(
                line_count(self._running_text([])),
                line_count(self._running_text(self._decoder_terms())),
            )
            self._tall = Boxes(seq, main, dist, running)
        return self._tall

    def _panel_width(self) -> int:
        """Columns the panel has (the terminal's before the first layout)."""
        return self.size.width or self.app.size.width

    def _main_width(self) -> int:
        """Columns of the attention box: the panel's width when narrow, else at most 60 %."""
        width = self._panel_width()
        return width if width < NARROW else width * 3 // 5

    @staticmethod
    def _focus(step: TranslationStep) -> int:
        """The input position a long input is shown around: the one read (encoder) or the
        one most attended to (decoder)."""
        if step.phase == "decoder" and step.alpha is not None:
            return int(np.argmax(step.alpha))
        if step.phase in ("forward", "backward"):
            return step.t - 1
        return 0

    def _all_outputs(self) -> tuple[str, ...]:
        return tuple(term.token for term in self._decoder_terms())

    def _sequence(self, step: TranslationStep) -> Text:
        """x with the current position lit (encoder) or shaded by α⟨t,·⟩ (decoder) and α in
        percent and the energies under it; then ŷ so far."""
        tokens = step.input_tokens
        t = Text(no_wrap=True, overflow="crop")
        t.append(f"{_PHASES[step.phase]}", style="bold")
        tx, ty = len(tokens), len(self._decoder_terms())
        t.append(f"   Tx = {tx}, Ty = {ty}\n", style=MUTED)
        room = self._panel_width() - 5 - ROW_NAME - 2  # box, the row names, the cut marks
        a, b = window([cell_width(tok) for tok in tokens], room, self._focus(step))
        shown_x = tokens[a:b]
        before = "…" if a else " "
        after = "…" if b < tx else ""
        t.append(f"{'x':<{ROW_NAME}}", style="bold")
        t.append(before, style=MUTED)
        if step.phase == "decoder":
            assert step.alpha is not None and step.energies is not None
            t.append_text(token_cells(shown_x, heat=step.alpha[a:b]))
            t.append(after, style=MUTED)
            t.append(f"\n{f'α⟨{step.t},·⟩%':<{ROW_NAME}}", style="bold")
            t.append(before, style=MUTED)
            t.append_text(number_row(shown_x, step.alpha[a:b]))
            t.append(f"\n{f'e⟨{step.t},·⟩':<{ROW_NAME}}", style="bold")
            t.append(before, style=MUTED)
            energies = np.asarray(step.energies, dtype=np.float64)
            scale = float(np.max(np.abs(energies[np.isfinite(energies)]), initial=0.0))
            t.append_text(number_row(shown_x, energies[a:b], signed=True, scale=scale))
        else:
            current = step.t - 1 - a if step.phase in ("forward", "backward") else None
            t.append_text(token_cells(shown_x, current=current))
            t.append(after, style=MUTED)
        if (a, b) != (0, tx):
            t.append(f"   x⟨{a + 1}⟩ … x⟨{b}⟩ of {tx}", style=MUTED)
        t.append(f"\n{'ŷ':<{ROW_NAME}} ", style="bold")
        outputs = step.output_tokens
        if not outputs:
            t.append("(nothing written yet)", style=MUTED)
        for k, tok in enumerate(outputs):
            style = CURRENT if k == len(outputs) - 1 else token_style(tok)
            t.append(shown(tok), style=style)
        unknown = [
            f"{typed!r}" for typed, tok in zip(self.tr.text, tokens, strict=False) if tok == "<UNK>"
        ]
        if step.phase == "decoder":
            t.append(
                f"\nα⟨{step.t},t′⟩ in % (· under 0.5 %) = softmax of the energies e⟨{step.t},t′⟩",
                style=MUTED,
            )
        if unknown:
            t.append(f"\n{', '.join(unknown)} outside the vocabulary: read as ", style=MUTED)
            t.append("<UNK>", style=token_style("<UNK>"))
        return t

    def _distribution(self, step: TranslationStep) -> Text:
        """The top-k bars, then the context and the decoder state as heat strips."""
        assert step.context is not None and step.distribution is not None
        room = self.query_one("#tr-dist", CachedRows).content_size.width
        width = max(8, min(30, room - 18)) if room else 24
        t = top_bars(step.top, step.token, width=width, rest=len(step.distribution) - len(step.top))
        t.append("\n")
        t.append_text(vector_line(f"c⟨{step.t}⟩", step.context))
        t.append("\n")
        t.append_text(vector_line(f"s⟨{step.t}⟩", step.state))
        t.append(f"\nc⟨{step.t}⟩ = Σ α⟨{step.t},t′⟩·h⟨t′⟩ · red > 0, blue < 0", style=MUTED)
        return t

    def _states(self, step: TranslationStep) -> list[Row]:
        """The state before and after this encoder (or bridge) step, as heat strips. A state's
        name says which it is, so the state a step starts from is the line the step before
        ended with, drawn already."""
        names: dict[str, tuple[str, str]] = {
            "forward": (f"→h⟨{step.t - 1}⟩", f"→h⟨{step.t}⟩"),
            "backward": (f"←h⟨{step.t + 1}⟩", f"←h⟨{step.t}⟩"),
            "bridge": ("[→h⟨Tx⟩; ←h⟨1⟩]", "s⟨0⟩"),
        }
        before, after = names.get(step.phase, ("before", "after"))
        width = max(len(before), len(after)) + 1
        legend = "red > 0, blue < 0, black 0 · two units a cell"
        return [
            (("state", before, width), partial(vector_line, before, step.state_prev, width=width)),
            (("state", after, width), partial(vector_line, after, step.state, width=width)),
            (("note", legend), lambda: muted(legend)),
        ]

    def set_heat(self, on: bool) -> None:
        """The attention and the states are drawn shaded already."""
