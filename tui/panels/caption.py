"""CaptionPanel: the picture in half blocks, the CNN encoder's feature vector, then the caption
written word by word with the next-word distribution and the running log P."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from tui import styles
from tui.panels._heights import Heights, line_count, sampled
from tui.panels._sequence import (
    Body,
    Term,
    WidthPanel,
    heat_strip,
    running_sum,
    token_cells,
    top_bars,
)
from tui.panels.base import register
from tui.panels.language import BAR, CURRENT, EOS_STYLE, MUTED
from tui.widgets.halfblock import HalfBlockImage, heat_colours
from tui.widgets.rows import CachedRows

if TYPE_CHECKING:
    from engine.caption import CaptionStage, CaptionStep

NARROW = 100
"""Below this many columns the running sum goes under the distribution, not beside it."""
STRIP = 32
"""Character cells per line of the feature vector's heat strip (two values a cell)."""
CONDITIONAL = (
    "The encoder is a CNN with the classifier's softmax removed: its last layer's vector f "
    "sets the decoder's first state s⟨0⟩, so the decoder is a language model conditioned on "
    "the picture, P(y⟨1⟩ … y⟨Ty⟩ | image)."
)


def feature_lines(features: np.ndarray) -> Text:
    """The feature vector as heat strips ``STRIP`` cells long (a value a cell when that makes
    at most two lines, else two), one shared colour scale, each line headed by the index of its
    first value."""
    f = np.asarray(features, dtype=np.float64).ravel()
    pack = 1 if len(f) <= 2 * STRIP else 2
    per_line = STRIP * pack
    finite = f[np.isfinite(f)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    out = Text(no_wrap=True, overflow="crop")
    for start in range(0, len(f), per_line):
        if start:
            out.append("\n")
        out.append(f"{start:>4} ", style=MUTED)
        out.append_text(heat_strip(f[start : start + per_line], lo=lo, hi=hi, pack=pack))
    norm = float(np.linalg.norm(f))
    out.append(
        f"\nF = {len(f)} · from {lo:.3g} (blue) to {hi:.3g} (red) · ‖f‖ = {norm:.3g}", style=MUTED
    )
    return out


@register
class CaptionPanel(WidthPanel):
    """Draws a CaptionStage: the picture and its features, then each word of the caption."""

    kind = "caption"

    DEFAULT_CSS = """
    CaptionPanel {
        height: auto;
    }
    CaptionPanel #cap-body {
        height: auto;
        max-height: 100%;
    }
    CaptionPanel .box {
        height: auto;
        padding: 0 1;
    }
    CaptionPanel Static {
        text-wrap: nowrap;
        text-overflow: clip;
    }
    CaptionPanel #cap-row, CaptionPanel #cap-side, CaptionPanel #cap-row2 {
        height: auto;
    }
    CaptionPanel #cap-picture-box {
        width: 30;
        height: 15;
    }
    CaptionPanel #cap-picture, CaptionPanel #cap-attention {
        height: 1fr;
        background: transparent;
    }
    CaptionPanel #cap-side {
        width: 1fr;
    }
    CaptionPanel #cap-note {
        text-wrap: wrap;
        color: $text-muted;
    }
    CaptionPanel #cap-dist {
        width: 1fr;
    }
    CaptionPanel #cap-running {
        width: 1fr;
    }
    CaptionPanel.-narrow #cap-row2 {
        layout: vertical;
    }
    CaptionPanel.-narrow #cap-dist, CaptionPanel.-narrow #cap-running {
        width: 100%;
    }
    CaptionPanel #cap-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
        text-wrap: wrap;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The word this step writes, the probability bars and the end token (the picture and
        the features say their own scale in words)."""
        return [
            (" a ", CURRENT, "this step's word"),
            ("███", BAR, "P(word)"),
            ("<EOS>", EOS_STYLE, "end"),
        ]

    def __init__(self, stage: CaptionStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.cap = stage
        self._terms: list[Term] | None = None
        self._heights = Heights()
        self._tall: tuple[int, int] | None = None
        self._features: np.ndarray | None = None

    def compose(self) -> ComposeResult:
        self.set_class(self.app.size.width < NARROW, "-narrow")
        with Body(id="cap-body"):
            with Horizontal(id="cap-row"):
                with Vertical(id="cap-picture-box", classes="box") as box:
                    box.border_title = "The picture"
                    yield HalfBlockImage(id="cap-picture")
                    yield HalfBlockImage(id="cap-attention")
                with Vertical(id="cap-side"):
                    with Vertical(id="cap-features-box", classes="box") as box:
                        box.border_title = "Encoder: the CNN's feature vector f"
                        yield Static(id="cap-features")
                        yield Static(Content(CONDITIONAL), id="cap-note")
                    yield Static(id="cap-caption", classes="box")
            with Horizontal(id="cap-row2"):
                # Drawn line by line: a step repaints the lines that differ.
                yield CachedRows(id="cap-dist", classes="box")
                running = CachedRows(id="cap-running", classes="box")
                running.border_title = "P(y|image): running log-probability"
                yield running
            inspector = Static(id="cap-inspector")
            inspector.border_title = "This step"
            yield inspector

    def on_mount(self) -> None:
        self._titles()

    def _titles(self) -> None:
        """What the stage says once, whatever the step: the scene and the accuracy."""
        scene = str(getattr(self.cap, "input_text", "") or "")
        caption = self.query_one("#cap-caption")
        caption.border_title = Content(f"The caption so far · scene = {scene!r}")
        caption.border_subtitle = Content(str(getattr(self.cap, "accuracy", "") or ""))

    def restage(self, stage: CaptionStage) -> None:
        """Show ``stage`` (another scene, the same model) in this panel instead of a new
        panel: the widgets stay, so the screen is not laid out again. ``show`` draws its
        step, the new picture included."""
        self.stage = self.cap = stage
        self._terms = None
        self._last = None
        self._tall = self._features = None
        self._heights.clear()
        self.query_one("#cap-picture", HalfBlockImage).set_image(None)
        self._titles()

    def _decoder_terms(self) -> list[Term]:
        """(t, word, log p, Σ) of every decoder step."""
        if self._terms is None:
            self._terms = []
            for i in range(len(self.cap)):
                s = self.cap.step(i)
                if s.phase == "decoder":
                    self._terms.append(
                        Term(
                            s.t, str(s.token), float(s.log_p or 0.0), float(s.log_prob_total or 0.0)
                        )
                    )
        return self._terms

    def show(self, step: CaptionStep) -> None:  # type: ignore[override]
        super().show(step)
        heights = self._heights
        picture = self.query_one("#cap-picture", HalfBlockImage)
        if picture.source_shape is None:
            picture.set_image(step.image)
        attention = self.query_one("#cap-attention", HalfBlockImage)
        if attention.display != (step.attention is not None):
            attention.display = step.attention is not None
        if step.attention is not None:
            a = np.asarray(step.attention, dtype=np.float64)
            attention.set_rgb(heat_colours(a, 0.0, float(np.nanmax(a)) or 1.0))
        features = self.query_one("#cap-features", Static)
        if self._features is not step.features:
            # The same vector at every step: drawn once.
            self._features = step.features
            lines = feature_lines(step.features)
            heights.put(features, lines, line_count(lines))
        words = Text(no_wrap=True, overflow="crop")
        words.append("ŷ ", style="bold")
        if step.words:
            words.append_text(token_cells(step.words, current=len(step.words) - 1))
        else:
            words.append("(nothing written yet: the decoder starts at s⟨0⟩ from f)", style=MUTED)
        heights.put(self.query_one("#cap-caption", Static), words, 1)
        dist = self.query_one("#cap-dist", CachedRows)
        running = self.query_one("#cap-running", CachedRows)
        # Both boxes stay through the encoder step too (saying that nothing is written yet),
        # each as tall as it ever gets, so that no step lays the screen out again.
        room = dist.content_size.width
        width = max(8, min(30, room - 20)) if room else 24
        if step.phase == "decoder":
            assert step.distribution is not None
            t = step.t
            dist.set_title(f"ŷ⟨{t}⟩ = P(y⟨{t}⟩ | image, ŷ⟨<{t}⟩) · top {len(step.top)}")
            rest = len(step.distribution) - len(step.top)
            bars = top_bars(step.top, step.token, width=width, rest=rest)
            terms = [term for term in self._decoder_terms() if term.t <= t]
        else:
            dist.set_title("ŷ⟨1⟩ = P(y⟨1⟩ | image): the next step")
            bars = Text(
                "(the decoder writes its first word from s⟨0⟩ at t = 1)", style=styles.MUTED
            )
            terms = []
        # Side by side, as tall as the bars: the running sum lists the latest terms that fit
        # beside them (with its total), so that the panel fits a 120×40 screen at every step.
        most_bars, rows = self._tallest()
        summed = self._running_text(terms, rows)
        dist.set_text(bars, height=most_bars)
        running.set_text(summed, height=max(most_bars, line_count(self._running_text([], rows))))
        inspector = self.query_one("#cap-inspector", Static)
        cap = self.cap
        heights.put_tallest(
            inspector,
            Content(step.explanation),
            lambda: [Content(cap.step(i).explanation) for i in sampled(len(cap))],
            grow=True,
        )

    @staticmethod
    def step_label(step: CaptionStep) -> str | None:
        """The timeline's name for the encoder step, which is not a time step: the decoder's
        time steps count from t = 1, after s⟨0⟩ (as a⟨0⟩ in every recurrent kind)."""
        return "encoder" if step.phase == "encoder" else None

    @staticmethod
    def _running_text(terms: list[Term], rows: int) -> Text:
        """P(ŷ|image) as a running sum of the latest ``rows`` terms; before the decoder's first
        word, a line saying so."""
        t = running_sum(
            terms,
            rows=rows,
            head="log P(ŷ|image) = Σ log P(ŷ⟨s⟩ | image, ŷ⟨<s⟩)",
            what="P(ŷ so far | image)",
        )
        if not terms:
            t.append("(nothing written yet)", style=MUTED)
        return t

    def _tallest(self) -> tuple[int, int]:
        """The most lines of the top-k bars over the caption, and the terms of the running sum
        that fit in as many lines (its heading, column names, a note of the earlier terms and
        the total take four)."""
        if self._tall is None:
            bars = 1
            for i in range(len(self.cap)):
                s = self.cap.step(i)
                if s.phase == "decoder" and s.distribution is not None:
                    bars = max(bars, len(s.top) + (1 if len(s.distribution) > len(s.top) else 0))
            self._tall = (bars, max(1, bars - 3))
        return self._tall

    def on_resize(self, event: events.Resize) -> None:
        """Narrow terminals put the running sum under the distribution, not beside it; a new
        width draws the step again (the boxes' heights are found for a width)."""
        if event.size.width:
            self.set_class(event.size.width < NARROW, "-narrow")
        super().on_resize(event)

    def set_heat(self, on: bool) -> None:
        """The picture and the features are drawn in colour already."""
