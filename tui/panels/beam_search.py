"""BeamSearchPanel: at each step the alive hypotheses, their B × V expansions with cumulative
log-probabilities (kept lit, finished marked, pruned dim), the finished pool and the search
tree; at the end the rankings with and without length normalisation and the error analysis."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from tui import styles
from tui.panels._heights import Heights, wrapped_lines
from tui.panels._sequence import SPECIALS, Body, WidthPanel, shown
from tui.panels.base import register
from tui.panels.language import EOS_STYLE, MUTED, PENDING, token_style
from tui.widgets.rows import CachedRows

if TYPE_CHECKING:
    from engine.beam import BeamSearchStage, BeamStep, Hypothesis

SPECIAL = re.compile("|".join(re.escape(tok) for tok in SPECIALS))
"""Where ``<EOS>`` and ``<UNK>`` are in a text: a cut never splits them."""
KEPT = "bold black on bright_green"
FINISHED = "bold black on cyan"
PRUNED = "grey35"
MAX_ROWS = 24
"""Hypotheses listed at most in the expansion grid, the kept list and the pool; the rest are
counted."""
FULL_V = 14
"""Vocabularies up to this size get a column per token; larger ones show each row's best few."""
TREE_ROWS = 400
"""Lines of the search tree drawn at most (a wide, long search has thousands of nodes)."""


def cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` columns: whole, or ended with "…" before any special token
    the cut would split (``'a <UNK> eats'`` in 8 columns is ``'a …``, never ``'a <UNK…``)."""
    if len(text) <= room:
        return text
    end = max(0, room - 1)
    for m in SPECIAL.finditer(text):
        if m.start() < end < m.end():
            end = m.start()
    return text[:end] + "…"


def _num(v: float, digits: int = 2) -> str:
    """A score in a column of scores (ASCII minus: every font draws it one cell wide)."""
    return f"{v:.{digits}f}"


class BeamView:
    """What one panel needs to know about its search, gathered once: each hypothesis by id, the
    hypothesis that each (parent, token) expansion became, and which ids have children."""

    def __init__(self, stage: BeamSearchStage) -> None:
        self.stage = stage
        result = stage.result
        self.vocabulary: tuple[str, ...] = tuple(stage.decoder.vocabulary)
        self.eos = int(stage.decoder.eos)
        self.by_id: dict[int, Hypothesis] = {h.id: h for h in result.hypotheses}
        self.child: dict[tuple[int, int], int] = {}
        for h in result.hypotheses:
            if h.parent is not None and h.tokens:
                self.child[(h.parent, h.tokens[-1])] = h.id

    @functools.cached_property
    def tree(self) -> list[tuple[int, int, str]]:
        """The search tree in preorder (``BeamSearchStage.tree()``), built once."""
        return self.stage.tree()

    def text(self, h: Hypothesis) -> str:
        """The hypothesis as text, quoted (``(empty)`` for the root), ``<EOS>`` left off."""
        if not h.tokens:
            return "(empty)"
        return repr(self.stage.text_of(h))

    def token(self, k: int) -> str:
        return self.vocabulary[k]


def search_title(stage: BeamSearchStage) -> str:
    """The head box's title: B, α, max_length and V, the same at every step (on a line of
    their own in the box they cost the panel a row)."""
    v = len(stage.decoder.vocabulary)
    return (
        f"Beam search · B = {stage.beam_width} · α = {stage.alpha:g}"
        f" · max_length = {stage.max_length} · V = {v}"
    )


def header_text(stage: BeamSearchStage, step: BeamStep) -> Text:
    """What this step does (B, α, max_length and V are the box's title, ``search_title``)."""
    v = len(stage.decoder.vocabulary)
    t = Text()
    if step.final:
        n = len(step.pool)
        if step.ran_out:
            # Nothing ended with <EOS>: say so plainly, and what is ranked instead.
            t.append(
                f"no hypothesis ended with <EOS> within max_length = {stage.max_length}: the "
                f"{len(step.ranking_norm)} unfinished ones are ranked, and the best of them is "
                "returned",
                style="bold yellow",
            )
            return t
        t.append(
            f"search over: {n} finished hypothes{'is' if n == 1 else 'es'} ranked", style=MUTED
        )
        return t
    alive = len(step.alive_before)
    rec = step.record
    pooled = len(step.pool) - (len(rec.finished) if rec is not None else 0)  # before this step
    width = stage.beam_width - pooled
    verb = "is" if width == 1 else "are"
    if alive * v <= width:
        best = f"all {alive * v} are kept (no more than B − |pool| = {width})"
    elif pooled == 0:
        best = f"the best B = {width} {verb} kept"
    else:
        best = f"the best B − |pool| = {stage.beam_width} − {pooled} = {width} {verb} kept"
    t.append(
        f"t = {step.t}: {alive} alive × V = {v} → {alive * v} expansions by cumulative log P; "
        f"{best}, those ending in <EOS> go to the pool",
        style=MUTED,
    )
    return t


def _cell_style(view: BeamView, parent: int, k: int, kept: set[int], finished: set[int]) -> str:
    hid = view.child.get((parent, k))
    if hid in finished:
        return FINISHED
    if hid in kept:
        return KEPT
    return PRUNED


def best_first(row: np.ndarray) -> list[int]:
    """A row's token indices by log P, best first (ties to the lower index, nan last)."""
    v = row.size
    return [int(k) for k in np.lexsort((np.arange(v), -np.where(np.isnan(row), -np.inf, row)))]


def expansion_grid(view: BeamView, step: BeamStep, width: int) -> Text:
    """Rows = the hypotheses expanded, columns = tokens, cells = cumulative log P of the
    hypothesis extended by the token: lit if kept, cyan if it finished with <EOS>, dim if
    pruned. A large vocabulary shows each row's best few and counts the rest."""
    rec = step.record
    assert rec is not None
    kept, finished = set(rec.kept), set(rec.finished)
    exp = np.asarray(rec.expansions, dtype=np.float64)
    rows, v = exp.shape
    texts = [view.text(h) for h in step.alive_before]
    label_w = min(24, max((len(s) for s in texts), default=4))
    head = 5 + label_w + 9  # "#id  'text'  Σ −1.23 │"
    out = Text(no_wrap=True, overflow="crop")
    cw = max(7, *(len(shown(tok)) + 1 for tok in view.vocabulary))
    full = v <= FULL_V and head + v * cw <= width
    orders = [] if full else [best_first(exp[r]) for r in range(min(rows, MAX_ROWS))]
    token_w = max(len(shown(tok)) for tok in view.vocabulary)
    few = max(1, (width - head - 8) // (token_w + 9))  # "tok −12.34 " and "+N more"
    if full:
        out.append(" " * head)
        for k in range(v):
            tok = shown(view.token(k))
            out.append(f"{tok:>{cw - 1}} ", style=token_style(view.token(k)))
    else:
        # A row also shows every expansion that went on, however far down the row it is.
        beyond = any(
            (h.id, k) in view.child
            for h, order in zip(step.alive_before, orders, strict=False)
            for k in order[few:]
        )
        text = f"each row's best {few} of V = {v}" + (", and any that went on" if beyond else "")
        out.append(" " * max(0, min(head, width - len(text))))  # over the chips, if it fits
        out.append(text, style=MUTED)
    for r in range(min(rows, MAX_ROWS)):
        h = step.alive_before[r]
        out.append("\n")
        label = cut(texts[r], label_w)
        out.append(f"#{h.id:<3} ", style=MUTED)
        out.append(f"{label:<{label_w}}", style="bold")
        out.append(f" {_num(h.log_prob):>7} │", style=MUTED)
        row = exp[r]
        if full:
            for k in range(v):
                out.append(
                    f"{_num(row[k]):>{cw - 1}}", style=_cell_style(view, h.id, k, kept, finished)
                )
                out.append(" ")
            continue
        order = orders[r]
        # The best few, and every expansion that went on however far down the row it is.
        chips = [k for i, k in enumerate(order) if i < few or (h.id, k) in view.child]
        # Whole chips only (a token cut short, <EOS> above all, reads as another token): the
        # ones that do not fit are counted with the rest.
        used, drawn = head, 0
        for k in chips:
            chip = f"{shown(view.token(k))} {_num(row[k])}"
            more = v - drawn - 1
            if used + 1 + len(chip) + (len(f" +{more} more") if more else 0) > width and drawn:
                break
            out.append(" ")
            out.append(chip, style=_cell_style(view, h.id, k, kept, finished))
            used, drawn = used + 1 + len(chip), drawn + 1
        if v > drawn:
            out.append(f" +{v - drawn} more", style=MUTED)
    if rows > MAX_ROWS:
        out.append(f"\n… {rows - MAX_ROWS} more hypotheses expanded", style=MUTED)
    out.append("\n")
    out.append(" kept ", style=KEPT)
    out.append(" ")
    out.append(" finished (<EOS>) ", style=FINISHED)
    out.append(" ")
    out.append(" pruned ", style=PRUNED)
    out.append(f"   {rec.pruned} pruned of {rows * v}", style=MUTED)
    return out


def hypothesis_lines(
    view: BeamView,
    hyps: Sequence[Hypothesis],
    alpha: float,
    *,
    lit: set[int] | None = None,
    width: int | None = None,
) -> Text:
    """One line per hypothesis: its id, text, length Ty, Σ log P and normalised score, and
    ``<EOS>`` after a finished one. In ``width`` columns a finished text that fits only without
    its ``<EOS>`` is shown whole without it (every hypothesis in the pool ends with <EOS>, and
    the name is what is compared), and a text still too long ends in "…"."""
    out = Text(no_wrap=True, overflow="crop")
    if not hyps:
        out.append("(none yet)", style=MUTED)
        return out
    out.append(f"{'id':>4}  {'Ty':>2} {'Σ log P':>8} {'/Ty^α':>7}  y", style=MUTED)
    for h in hyps[:MAX_ROWS]:
        out.append("\n")
        line = Text(f"#{h.id:<3}  {h.t:>2} {_num(h.log_prob):>8} {_num(h.score(alpha)):>7}  ")
        text = view.text(h)
        mark = h.finished
        if width is not None:
            room = width - len(line)
            mark = mark and len(text) + len(" <EOS>") <= room
            text = cut(text, max(2, room))
        line.append(text, style="bold")
        if mark:
            line.append(" <EOS>", style=EOS_STYLE)
        if lit is not None and h.id in lit:
            line.stylize(KEPT, 0, 5)
        out.append_text(line)
    if len(hyps) > MAX_ROWS:
        out.append(f"\n… {len(hyps) - MAX_ROWS} more", style=MUTED)
    return out


def ranking_columns(view: BeamView, step: BeamStep, alpha: float) -> Text:
    """The finished hypotheses ranked by raw Σ log P (α = 0) beside the ranking normalised by
    1/Ty^α, the best of each lit."""

    def column(hyps: Sequence[Hypothesis], a: float, name_w: int) -> list[Text]:
        lines = []
        for rank, h in enumerate(hyps[:MAX_ROWS], 1):
            line = Text(f"{rank:>2}. ")
            name = view.text(h)
            line.append(f"{cut(name, name_w):<{name_w}}", style="bold")
            line.append(f" Ty {h.t:>2} {_num(h.score(a), 3):>8}")
            if rank == 1:
                line.stylize(KEPT, 0, len(line))
            lines.append(line)
        return lines

    names = [view.text(h) for h in (*step.ranking_raw, *step.ranking_norm)]
    name_w = min(22, max((len(n) for n in names), default=8))
    left = column(step.ranking_raw, 0.0, name_w)
    right = column(step.ranking_norm, alpha, name_w)
    out = Text(no_wrap=True, overflow="crop")
    w = max(4 + name_w + 15, 20)
    out.append(f"{'by Σ log P (α = 0)':<{w}}", style="bold underline")
    out.append("  ")
    out.append(f"by Σ log P / Ty^α, α = {alpha:g}", style="bold underline")
    for i in range(max(len(left), len(right))):
        out.append("\n")
        if i < len(left):
            out.append_text(left[i])
            out.append(" " * max(0, w - len(left[i])))
        else:
            out.append(" " * w)
        out.append("  ")
        if i < len(right):
            out.append_text(right[i])
    return out


def analysis_text(view: BeamView) -> Text | None:
    """The verdict, then y* against ŷ: both log-probabilities and both normalised scores. The
    verdict comes first: where the box is cut off by a small terminal, it is what is seen."""
    a = view.stage.analysis
    if a is None:
        return None

    def seq(ids: Sequence[int]) -> str:
        # The stage joins tokens as its model does: words with spaces, characters without.
        return view.stage.text_of([k for k in ids if k != view.eos])

    out = Text(no_wrap=True, overflow="crop")
    verdict = {"none": "bold green", "search": "bold yellow", "model": "bold magenta"}
    label = {"none": "no error", "length": "y* longer than max_length"}
    out.append(label.get(a.fault, f"{a.fault} at fault"), style=verdict.get(a.fault, "bold"))
    out.append(": ")
    out.append(a.explain())
    out.append(
        f"\ny* = {seq(a.reference)!r} (the reference)   ŷ = {seq(a.found)!r} (the search's best)\n"
    )
    out.append(
        f"log P(y*|x) = {_num(a.log_p_reference, 4)}   log P(ŷ|x) = {_num(a.log_p_found, 4)}   "
    )
    out.append(f"normalised: {_num(a.score_reference, 4)} vs {_num(a.score_found, 4)}", style=MUTED)
    return out


def analysis_pending(view: BeamView) -> Text:
    """What the error analysis will compare once the search is over, shown until then."""
    a = view.stage.analysis
    assert a is not None
    reference = view.stage.text_of([k for k in a.reference if k != view.eos])
    out = Text()
    out.append(f"y* = {reference!r} (the reference)   log P(y*|x) = {_num(a.log_p_reference, 4)}\n")
    out.append(
        "Once the search is over, y* is compared with its best ŷ: if the model scores y* "
        "higher, the search is at fault (a wider beam may find y*); if not, the model is.",
        style=MUTED,
    )
    return out


def tree_text(view: BeamView, step: BeamStep, width: int | None = None) -> Text:
    """The search so far, depth first (``BeamSearchStage.tree()``): each node a token with its
    cumulative log P; this step's new hypotheses lit, finished ones marked, branches that were
    pruned at a later step dim. In ``width`` columns a node too deep drops its score, then the
    start of its indentation ("…"), and keeps its token whole."""
    upto = step.t if not step.final else max((h.t for h in view.by_id.values()), default=0)
    new = set() if step.record is None else {*step.record.kept, *step.record.finished}
    nodes = [(d, hid, label) for d, hid, label in view.tree if view.by_id[hid].t <= upto]
    parents = {view.by_id[hid].parent for _, hid, _ in nodes}
    out = Text(no_wrap=True, overflow="crop")
    for n, (depth, hid, label) in enumerate(nodes[:TREE_ROWS]):
        h = view.by_id[hid]
        if n:
            out.append("\n")
        indent = "  " * max(depth - 1, 0) + ("└ " if depth else "")
        name = label or "(start)"
        score = f" {_num(h.log_prob)}" if depth else ""
        if width is not None and len(indent) + len(name) + len(score) > width:
            score = ""
            if len(indent) + len(name) > width:
                keep = max(0, width - len(name) - 1)
                indent = "…" + (indent[-keep:] if keep else "")
        out.append(indent, style=MUTED)
        if h.finished:
            style = FINISHED if hid in new else EOS_STYLE
        elif hid in new:
            style = KEPT
        elif hid not in parents and h.t < upto:
            style = PENDING  # a dead end: none of its expansions was kept
        else:
            style = "bold"
        out.append(name, style=style)
        if score:
            out.append(score, style=MUTED)
    if len(nodes) > TREE_ROWS:
        out.append(f"\n… {len(nodes) - TREE_ROWS} more nodes", style=MUTED)
    return out


def listed(n: int) -> int:
    """Lines of ``n`` hypotheses in a list: at most ``MAX_ROWS``, and a line counting the rest."""
    return min(n, MAX_ROWS) + (1 if n > MAX_ROWS else 0)


class Tallest(NamedTuple):
    """The most text lines each list of the panel takes over a whole search."""

    grid: int
    kept: int
    pool: int
    tree: int
    tree_width: int
    """Columns of the tree's widest line over the search: the tree's box is as wide, the
    lists beside it take the rest."""


@register
class BeamSearchPanel(WidthPanel):
    """Draws a BeamSearchStage step by step."""

    kind = "beam_search"

    DEFAULT_CSS = """
    BeamSearchPanel {
        height: auto;
    }
    BeamSearchPanel #bs-body {
        height: auto;
        max-height: 100%;
    }
    BeamSearchPanel .box {
        height: auto;
        padding: 0 1;
    }
    BeamSearchPanel Static {
        text-wrap: nowrap;
        text-overflow: clip;
    }
    BeamSearchPanel #bs-row {
        height: auto;
    }
    BeamSearchPanel #bs-lists {
        width: 1fr;
        height: auto;
    }
    BeamSearchPanel #bs-tree {
        width: 1fr;
        max-width: 50%;
        max-height: 24;
    }
    BeamSearchPanel #bs-analysis, BeamSearchPanel #bs-head {
        text-wrap: wrap;
    }
    """

    def legend_entries(self, heat: bool = False) -> list[tuple[str, str, str]]:
        """What happens to each expansion: kept in the beam, finished with <EOS>, pruned."""
        return [
            (" -2.31 ", KEPT, "kept"),
            (" -2.60 ", FINISHED, "finished (<EOS>)"),
            (" -9.10 ", PRUNED, "pruned"),
        ]

    def __init__(self, stage: BeamSearchStage, *, id: str | None = None) -> None:  # type: ignore[override]
        super().__init__(stage, id=id)
        self.search = stage
        self.view = BeamView(stage)
        self._heights = Heights()
        self._tall: Tallest | None = None

    def compose(self) -> ComposeResult:
        with Body(id="bs-body"):
            yield Static(id="bs-head", classes="box")
            # Drawn line by line: a step repaints the lines that differ from the last
            # step's (the tree mostly grows; the lists change a few lines).
            yield CachedRows(id="bs-grid", classes="box")
            with Horizontal(id="bs-row"):
                with Body(id="bs-lists"):
                    yield CachedRows(id="bs-kept", classes="box")
                    yield CachedRows(id="bs-pool", classes="box")
                    # Beside the tree, which is as tall: on screen at every step, it costs
                    # no row of its own.
                    yield Static(id="bs-analysis", classes="box")
                tree = Body(id="bs-tree", classes="box")
                tree.border_title = "Search tree"
                with tree:
                    yield CachedRows(id="bs-tree-text")

    def on_mount(self) -> None:
        self._titles()

    def _titles(self) -> None:
        """What the stage says once, whatever the step: B, α, max_length and V, and the text the
        decoder read."""
        text = getattr(self.search, "input_text", None)
        head = self.query_one("#bs-head")
        head.border_title = Content(search_title(self.search))
        head.border_subtitle = Content(f"x = {text!r}") if text else ""

    def restage(self, stage: BeamSearchStage) -> None:
        """Show ``stage`` (another B, α or text) in this panel instead of a new panel: the
        widgets stay, so the screen is not laid out again. ``show`` draws its step."""
        self.stage = self.search = stage
        self.view = BeamView(stage)
        self._last = None
        self._heights.clear()
        self._tall = None
        self._titles()

    def show(self, step: BeamStep) -> None:  # type: ignore[override]
        super().show(step)
        stage, view, heights = self.search, self.view, self._heights
        head = self.query_one("#bs-head", Static)
        heights.put_tallest(
            head,
            header_text(stage, step),
            lambda: [header_text(stage, stage.step(i)) for i in range(len(stage))],
        )
        grid = self.query_one("#bs-grid", CachedRows)
        analysis = self.query_one("#bs-analysis", Static)
        kept = self.query_one("#bs-kept", CachedRows)
        pool = self.query_one("#bs-pool", CachedRows)
        tall = self._tallest()
        # The tree's box as wide as its widest line over the whole search, the same at every
        # step (a width that changed would lay the screen out): the lists take the rest.
        box = self.query_one("#bs-tree")
        wide = tall.tree_width + box.styles.gutter.width + 1  # and room for a scroll bar
        if box.styles.width is None or box.styles.width.value != wide:
            box.styles.width = wide
        # The boxes keep their places and heights at the final step too: the error analysis
        # is there from the first step (saying what it will compare), and the list of the
        # alive says that none is left, so the ranking step lays nothing out either.
        verdict = analysis_text(view)
        if verdict is not None:
            heights.title(analysis, "Error analysis: P(y*|x) against P(ŷ|x)")
            text = verdict if step.final else analysis_pending(view)
            heights.put(
                analysis,
                text,
                heights.tallest(
                    analysis, wrapped_lines(analysis, lambda: [verdict, analysis_pending(view)])
                ),
            )
        if analysis.display != (verdict is not None):
            analysis.display = verdict is not None
        if step.final:
            grid.set_title("The final ranking: without and with length normalisation")
            body = ranking_columns(view, step, stage.alpha)
            grid.set_text(body, height=tall.grid)
            kept.set_title("Alive: none")
            done = Text("(none: the search is over)", style=styles.MUTED)
            kept.set_text(done, height=tall.kept)
        else:
            ys = "y⟨1⟩" if step.t == 1 else f"y⟨1⟩ … y⟨{step.t}⟩"
            grid.set_title(f"Expansions at t = {step.t}: cumulative log P({ys} | x)")
            width = grid.content_size.width or 100
            grid.set_text(expansion_grid(view, step, width), height=tall.grid)
            rec = step.record
            assert rec is not None
            alive = [view.by_id[i] for i in rec.kept]
            kept.set_title(f"Alive after t = {step.t}: {len(alive)} go on")
            lines = hypothesis_lines(
                view, alive, stage.alpha, lit=set(rec.kept), width=kept.content_size.width or None
            )
            kept.set_text(lines, height=tall.kept)
        pool.set_title(f"Finished pool: {len(step.pool)}")
        new = set() if step.record is None else set(step.record.finished)
        lines = hypothesis_lines(
            view, step.pool, stage.alpha, lit=new, width=pool.content_size.width or None
        )
        pool.set_text(lines, height=tall.pool)
        tree = self.query_one("#bs-tree-text", CachedRows)
        tree.set_text(tree_text(view, step, tree.content_size.width or None), height=tall.tree)

    def _tallest(self) -> Tallest:
        """The most lines each list takes over the whole search (found once)."""
        if self._tall is None:
            stage = self.search
            grid = kept = pool = tree = tree_width = 1
            for i in range(len(stage)):
                step = stage.step(i)
                if step.final:
                    ranked = max(len(step.ranking_raw), len(step.ranking_norm))
                    grid = max(grid, 1 + min(ranked, MAX_ROWS))
                else:
                    assert step.record is not None
                    grid = max(grid, 2 + listed(len(step.alive_before)))
                    kept = max(kept, 1 + listed(len(step.record.kept)))
                pool = max(pool, 1 + listed(len(step.pool)) if step.pool else 1)
                drawn = tree_text(self.view, step).plain.split("\n")
                tree = max(tree, len(drawn))
                tree_width = max(tree_width, *(cell_len(line) for line in drawn))
            self._tall = Tallest(grid, kept, pool, tree, tree_width)
        return self._tall

    def set_heat(self, on: bool) -> None:
        """Scores are written out; there is no heat view here."""
