"""TokenPanel: a sentence cut into tokens, each token's vocabulary index and its one-hot vector."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from engine.tokens import EOS, UNK, TokenStage, TokenStep
from tui.panels._heights import Heights, line_count, sampled, wrapped_lines
from tui.panels._sequence import WidthPanel
from tui.panels.base import register
from tui.widgets.matrix import MatrixGrid, Window
from tui.widgets.rows import CachedRows, set_border_title

DENSE_MAX = 40
"""Largest vocabulary whose one-hot vectors are drawn in full; larger ones are summarised."""
TABLE_ROWS = 12
"""Rows of the token table: the current token and the ones just before it."""
NEIGHBOURS = 3
"""Vocabulary positions shown on each side of the 1 in a summarised one-hot vector."""

CURRENT = "bold black on bright_green"
DONE = "bright_white"
PENDING = "grey42"
UNK_STYLE = "bold magenta"
EOS_STYLE = "bold cyan"
MUTED = "grey62"

_VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def visible(token: str) -> str:
    """A token as a table cell: whitespace characters get a visible sign."""
    return _VISIBLE.get(token, token)


def entry_style(entry: str) -> str:
    """How a vocabulary entry is drawn: the specials apart from real tokens."""
    return UNK_STYLE if entry == UNK else EOS_STYLE if entry == EOS else ""


def sentence_text(stage: TokenStage, step: TokenStep) -> Text:
    """The sentence as written, the current token lit, tokens already read bright, unknown ones
    in the ``<UNK>`` colour, the rest dim; ``<EOS>`` after it."""
    t = Text(stage.text, style=Style.parse(PENDING))
    unk = stage.vocabulary.index[UNK]
    for k, (start, end, _) in enumerate(stage.spans):
        if k < step.position:
            unknown = int(stage.output[k]) == unk
            t.stylize(UNK_STYLE if unknown else DONE, start, end)
        elif k == step.position:
            t.stylize(CURRENT, start, end)
    t.append(" ")
    t.append(EOS, style=CURRENT if step.eos else PENDING)
    return t


def token_table(stage: TokenStage, step: TokenStep, rows: int = TABLE_ROWS) -> Text:
    """``t  token → index`` for every token up to the current one (the last ``rows`` of them)."""
    first = max(0, step.position - rows + 1)
    width = max(
        len(visible(stage.text[s:e]))
        for s, e, _ in stage.spans[first : step.position + 1] or [(0, 0, "")]
    )
    width = min(max(width, len(EOS), 5), 18)
    t = Text()
    if first:
        t.append(f"… {first:,} earlier token(s)\n", style=MUTED)
    t.append(f"{'t':>4}  {'token':<{width}}    index\n", style=MUTED)
    for k in range(first, step.position + 1):
        s = stage.step(k)
        surface = visible(s.token)[:width]
        line = Text(f"{k + 1:>4}  ")  # time steps count from 1: x⟨1⟩ is the first token
        line.append(f"{surface:<{width}}", style=EOS_STYLE if s.eos else "")
        line.append(" → ", style=MUTED)
        line.append(f"{s.token_id:>5,}", style="bold")
        if s.mapped in (UNK, EOS):
            line.append(f" {s.mapped}", style=entry_style(s.mapped))
        if k == step.position:
            line.stylize(CURRENT, 0, len(line))
        t.append_text(line)
        if k < step.position:
            t.append("\n")
    return t


def one_hot_summary(stage: TokenStage, step: TokenStep) -> Text:
    """The one-hot vector in words, and the vocabulary around its 1 with each entry's value."""
    v = step.vocab_size
    t = Text()
    t.append(f"{v:,}-dimensional, all zeros except position ")
    t.append(f"{step.token_id:,} = 1", style="bold")
    t.append("\n")
    lo = max(0, step.token_id - NEIGHBOURS)
    hi = min(v, step.token_id + NEIGHBOURS + 1)
    width = len(f"{v - 1:,}")
    if lo:
        t.append(f"  {'…':>{width}}\n", style=MUTED)
    for i in range(lo, hi):
        entry = stage.vocabulary.tokens[i]
        here = i == step.token_id
        line = Text(f"{'▶' if here else ' '} {i:>{width},}  ")
        line.append(f"{visible(entry)[:16]:<16}", style=entry_style(entry))
        line.append(f"  {1 if here else 0}")
        if here:
            line.stylize(CURRENT, 0, len(line))
        t.append_text(line)
        t.append("\n")
    if hi < v:
        t.append(f"  {'…':>{width}}", style=MUTED)
    t.rstrip()
    return t


def vocabulary_line(stage: TokenStage, step: TokenStep) -> Text:
    """Every entry of a small vocabulary as ``index:token``, the current one lit."""
    t = Text()
    for i, entry in enumerate(stage.vocabulary.tokens):
        if i:
            t.append("  ")
        part = Text(f"{i}:")
        part.append(visible(entry), style=entry_style(entry))
        if i == step.token_id:
            part.stylize(CURRENT, 0, len(part))
        t.append_text(part)
    return t


def explain_token(stage: TokenStage, step: TokenStep) -> Text:
    """Why the token got its index, and what the network receives for it."""
    t = Text()
    v = f"{stage.vocab_size:,}"
    if step.eos:
        t.append("end of sentence", style="bold")
        t.append(" → ")
        t.append(EOS, style=EOS_STYLE)
        t.append(f" = index {step.token_id}", style="bold")
    elif step.known:
        t.append(repr(step.lookup), style="bold")
        t.append(f" → index {step.token_id:,}", style="bold")
        t.append(" (known)")
    else:
        t.append(repr(step.lookup), style="bold")
        t.append(f" is not in the {v}-token vocabulary → ")
        t.append(UNK, style=UNK_STYLE)
        t.append(f" = index {step.token_id}", style="bold")
    if step.lookup != step.token and not step.eos:
        t.append(f"   (written {step.token!r}; words are looked up in lower case)", style=MUTED)
    t.append(
        f"\n  x⟨{step.position + 1}⟩ = one-hot({step.token_id:,}): {v} numbers, a single 1 at "
        f"position {step.token_id:,}",
        style=MUTED,
    )
    level = stage.level
    rule = (
        "lower-cased words; whitespace and punctuation split words and are dropped"
        if level == "word"
        else "every character, spaces and punctuation included; case kept"
    )
    t.append(f"\n  {level} level: {rule}", style=MUTED)
    t.append(
        f"\n  vocabulary: {UNK} = 0, {EOS} = 1, then the {stage.vocab_size - 2:,} most frequent "
        "corpus tokens (ties alphabetical)",
        style=MUTED,
    )
    return t


@register
class TokenPanel(WidthPanel):
    """Draws a TokenStage: the sentence, the tokens read so far, the current one-hot vector."""

    kind = "tokens"

    DEFAULT_CSS = """
    TokenPanel .box {
        height: auto;
        padding: 0 1;
    }
    TokenPanel #tok-row {
        height: auto;
    }
    TokenPanel #tok-table-box {
        width: 46;
    }
    TokenPanel #tok-onehot-box {
        width: 1fr;
    }
    TokenPanel #tok-inspector {
        height: auto;
        border: round $secondary 60%;
        border-title-color: $text;
        padding: 0 1;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """The token of this step and the special tokens."""
        return [
            (" a ", CURRENT, "this token"),
            ("<EOS>", EOS_STYLE, "end of sequence"),
            ("<UNK>", UNK_STYLE, "not in the vocabulary"),
        ]

    def __init__(self, stage: TokenStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.tokens = stage
        self.dense = stage.vocab_size <= DENSE_MAX
        self._heights = Heights()

    def compose(self) -> ComposeResult:
        st = self.tokens
        n = len(st.spans)
        with Vertical(classes="box", id="tok-sentence-box") as box:
            box.border_title = f"Sentence · {st.level} level · {n:,} tokens + {EOS}"
            box.border_subtitle = f"{st.unknown_count:,} unknown → {UNK}"
            yield CachedRows(id="tok-sentence")
        with Horizontal(id="tok-row"):
            with Vertical(classes="box", id="tok-table-box") as box:
                box.border_title = "Token → index"
                yield CachedRows(id="tok-table")
            with Vertical(classes="box", id="tok-onehot-box") as box:
                box.border_title = f"One-hot vector x⟨t⟩ · V = {st.vocab_size:,}"
                if self.dense:
                    yield MatrixGrid(np.zeros((1, st.vocab_size)), id="tok-onehot")
                    yield CachedRows(id="tok-vocab")
                else:
                    box.border_subtitle = "sparse: only the 1 and its neighbours"
                    yield CachedRows(id="tok-onehot-text")
        inspector = CachedRows(id="tok-inspector")
        inspector.border_title = "How this token becomes a number"
        yield inspector

    def show(self, step: TokenStep) -> None:  # type: ignore[override]
        super().show(step)  # drawn again once laid out, at the heights of its width
        st, heights = self.tokens, self._heights
        # Every box keeps one height for the whole sentence (the table and the one-hot box
        # side by side at the taller of their largest), so a step repaints and lays nothing out.
        sentence = self.query_one("#tok-sentence", Static)
        text = sentence_text(st, step)
        heights.put(
            sentence, text, heights.tallest(sentence, wrapped_lines(sentence, lambda: [text]))
        )
        table = self.query_one("#tok-table", Static)
        row = self._table_lines()
        if self.dense:
            grid = self.query_one("#tok-onehot", MatrixGrid)
            grid.set_values(step.one_hot()[None])
            grid.set_window(Window(0, step.token_id, 1, 1))
            vocab = self.query_one("#tok-vocab", Static)
            line = vocabulary_line(st, step)
            heights.put(vocab, line, heights.tallest(vocab, wrapped_lines(vocab, lambda: [line])))
        else:
            # The summary's first line wraps in a narrow box: measured as the box wraps it.
            onehot = self.query_one("#tok-onehot-text", Static)
            summary = one_hot_summary(st, step)
            most = heights.tallest(
                onehot,
                wrapped_lines(
                    onehot, lambda: [one_hot_summary(st, st.step(i)) for i in sampled(len(st))]
                ),
                now=summary,
            )
            row = max(row, most or 0)
            heights.put(onehot, summary, row)
        heights.put(table, token_table(st, step), row)
        # The top border only is repainted, not the vector it holds.
        set_border_title(
            self.query_one("#tok-onehot-box"),
            f"One-hot vector x⟨{step.position + 1}⟩ · V = {st.vocab_size:,}",
        )
        inspector = self.query_one("#tok-inspector", Static)
        explained = explain_token(st, step)
        heights.put_tallest(
            inspector,
            explained,
            lambda: [explain_token(st, st.step(i)) for i in sampled(len(st))],
            grow=True,
        )

    def _table_lines(self) -> int:
        """Lines of the token table at the sentence's last token: it grows to ``TABLE_ROWS``
        and a note."""
        last = len(self.tokens) - 1
        return line_count(token_table(self.tokens, self.tokens.step(last)))
