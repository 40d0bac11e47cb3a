"""Beam search, greedy decoding, exhaustive search, teacher-forced scoring and error analysis,
written once for every ``engine.decoding.Decoder``; and the stage that steps through a search.

The rule, at every token position t = 1, 2, … ::

    expansions   every alive hypothesis × every token v:  log P(y⟨1⟩ … y⟨t−1⟩, v | x)
                 = parent.log_prob + log P(y⟨t⟩ = v | x, y⟨<t⟩)          (B_alive, V)
    kept         the best B − |finished| expansions by that cumulative log-probability
                 (ties: lower token index first, then lower parent row)
    finished     those of the kept that end in <EOS> leave the beam for the finished pool,
                 so the beam narrows by one for each hypothesis that ends
    stop         when no hypothesis is alive, or at t = max_length

With B = 1 this is greedy decoding; with B ≥ V^T nothing is ever pruned and the search is
exhaustive. The finished pool is ranked by the length-normalised score
log P(y|x) / Ty^α (Ty counts <EOS>; α = 0 ranks by the raw log-probability, α = 1 by the mean
per token). If nothing ends before max_length, the best unfinished hypotheses are ranked
instead and ``BeamResult.ran_out`` says so.

Recording is cheap: the search keeps, per step, the arrays it computes anyway (parent rows,
tokens, cumulative scores, the (B_alive, V) expansions); ``Hypothesis`` objects and step
records are built from them only when first asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from engine.arrays import frozen, is_whole
from engine.core import Stage, Step
from engine.decoding import Decoder, DecoderState
from engine.errors import SpecError
from engine.limits import MAX_BEAM_WIDTH, MAX_INPUT_TEXT, MAX_LENGTH

EOS = "<EOS>"
UNK = "<UNK>"
MAX_EXHAUSTIVE = 1_000_000
"""Most sequences (V^max_length) an exhaustive search may enumerate."""
STABLE_SORT_SIZE = 4096
"""Up to this many expansions a step sorts them all; above, it partitions first."""


def _shown(value: Any, limit: int = 40) -> str:
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- checks ----------------------------------------------------------------------------------


def check_beam_width(value: Any) -> int:
    """``value`` as an int if it is a whole number 1 to 1,000, else SpecError("beam_width")."""
    if is_whole(value) and 1 <= value <= MAX_BEAM_WIDTH:
        return int(value)
    raise SpecError(
        "beam_width",
        f"expected a whole number 1 to {MAX_BEAM_WIDTH:,} (the hypotheses B kept per step; "
        f"B = 1 is greedy decoding), got {_shown(value)}",
    )


def check_alpha(value: Any) -> float:
    """``value`` as a float if it is a number in [0, 1], else SpecError("alpha")."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)) and 0.0 <= float(value) <= 1.0:
        return float(value)
    raise SpecError(
        "alpha",
        f"expected a number in [0, 1] (the length-normalisation exponent: 0 ranks by log P, "
        f"1 by log P per token), got {_shown(value)}",
    )


def check_search_length(value: Any) -> int:
    """``value`` as an int if it is a whole number 1 to 50, else SpecError("max_length")."""
    if is_whole(value) and 1 <= value <= MAX_LENGTH:
        return int(value)
    raise SpecError(
        "max_length",
        f"expected a whole number 1 to {MAX_LENGTH} (the most tokens a hypothesis may take, "
        f"<EOS> included), got {_shown(value)}",
    )


def beam_peak_bytes(beam_width: int, vocabulary: int, max_length: int, state: int = 0) -> int:
    """Peak bytes of a beam-search stage from sizes alone: per step the (B, V) expansions kept
    for the stepper and a few temporaries of that size while the best are chosen, the decoder's
    per-row state (``state`` numbers a row) and log-probabilities, and up to B hypotheses a
    step as Python objects (about 600 bytes each and 8 per token); and what every step holds
    whatever B (its record and explanation: 4 KiB) and a fixed 64 KiB."""
    b, v, t = int(beam_width), int(vocabulary), int(max_length)
    expansions = 8 * b * v * (t + 4)
    states = 8 * b * (v + int(state)) * 3
    hypotheses = b * t * (600 + 8 * t)
    return expansions + states + hypotheses + 4096 * t + 65536


# -- hypotheses and results ------------------------------------------------------------------


@dataclass(frozen=True)
class Hypothesis:
    """One partial or finished output sequence of a search."""

    id: int
    """Index in ``BeamResult.hypotheses``; 0 is the empty root."""
    parent: int | None
    """The hypothesis it extends (None for the root, and for a hypothesis kept on its own)."""
    tokens: tuple[int, ...]
    """y⟨1⟩ … y⟨t⟩, <EOS> included when finished."""
    log_prob: float
    """Σ log P(y⟨k⟩ | x, y⟨<k⟩): the cumulative score."""
    step_log_p: float
    """log P of its last token (0.0 for the root)."""
    finished: bool
    """Whether it ends with <EOS>."""
    t: int
    """len(tokens)."""

    def score(self, alpha: float) -> float:
        """The length-normalised score log_prob / t^α (the root's is its log_prob, 0)."""
        if self.t < 1 or alpha == 0:
            return self.log_prob
        return self.log_prob / self.t**alpha


def _hyp(
    id: int,
    parent: int | None,
    tokens: tuple[int, ...],
    log_prob: float,
    step_log_p: float,
    finished: bool,
) -> Hypothesis:
    """A Hypothesis without the frozen dataclass's per-field ``object.__setattr__``: a search
    makes thousands of them."""
    h = object.__new__(Hypothesis)
    h.__dict__.update(
        id=id,
        parent=parent,
        tokens=tokens,
        log_prob=log_prob,
        step_log_p=step_log_p,
        finished=finished,
        t=len(tokens),
    )
    return h


ROOT = _hyp(0, None, (), 0.0, 0.0, False)


@dataclass(frozen=True)
class SearchStepRecord:
    """What one step of a beam search did."""

    t: int
    """The token position expanded, 1-based."""
    parents: tuple[int, ...]
    """Ids of the B_alive hypotheses expanded, in row order."""
    expansions: np.ndarray
    """(B_alive, V): cumulative log-probs parent.log_prob + log P(v | x, parent's tokens)."""
    kept: tuple[int, ...]
    """Ids of the new hypotheses still alive, best first."""
    finished: tuple[int, ...]
    """Ids of those that took <EOS> at this step, best first."""
    pruned: int
    """B_alive·V − len(kept) − len(finished)."""


class _Trace:
    """What a recorded search keeps per step: the arrays it computes anyway, from which every
    hypothesis and step record is built when first asked for (nothing more is computed while
    the search runs)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []  # (k,) parent row in the step's alive list
        self.tokens: list[np.ndarray] = []  # (k,) the token each new hypothesis took
        self.scores: list[np.ndarray] = []  # (k,) cumulative log-probs, best first
        self.step_lp: list[np.ndarray] = []  # (k,) log P of that token
        self.done: list[np.ndarray] = []  # (k,) bool: took <EOS>
        self.expansions: list[np.ndarray] = []  # (B_alive, V)
        self.offsets: list[int] = [1]  # id of each step's first new hypothesis, then the end

    def add(
        self,
        rows: np.ndarray,
        tokens: np.ndarray,
        scores: np.ndarray,
        step_lp: np.ndarray,
        done: np.ndarray,
        expansions: np.ndarray,
    ) -> None:
        self.offsets.append(self.offsets[-1] + len(rows))
        self.rows.append(rows)
        self.tokens.append(tokens)
        self.scores.append(scores)
        self.step_lp.append(step_lp)
        self.done.append(done)
        self.expansions.append(expansions)

    def alive_before(self, s: int) -> np.ndarray:
        """Ids of the hypotheses step s (0-based) expands, in row order."""
        if s == 0:
            return np.zeros(1, dtype=np.intp)
        return self.offsets[s - 1] + np.flatnonzero(~self.done[s - 1])

    @cached_property
    def parents(self) -> list[np.ndarray]:
        """Per step, the id of the hypothesis each new one extends."""
        return [self.alive_before(s)[rows] for s, rows in enumerate(self.rows)]

    def all_hypotheses(self, known: dict[int, Hypothesis]) -> tuple[Hypothesis, ...]:
        """Every hypothesis, root first; those in ``known`` (the final ones) reused."""
        out = [ROOT]
        for s in range(len(self.tokens)):
            base = self.offsets[s]
            zipped = zip(
                self.parents[s].tolist(),
                self.tokens[s].tolist(),
                self.scores[s].tolist(),
                self.step_lp[s].tolist(),
                self.done[s].tolist(),
                strict=True,
            )
            for j, (p, tok, lp, slp, done) in enumerate(zipped):
                h = known.get(base + j)
                out.append(h or _hyp(base + j, p, (*out[p].tokens, tok), lp, slp, done))
        return tuple(out)

    def step_records(self) -> tuple[SearchStepRecord, ...]:
        out = []
        for s, expansions in enumerate(self.expansions):
            expansions.flags.writeable = False
            done = self.done[s]
            out.append(
                SearchStepRecord(
                    t=s + 1,
                    parents=tuple(self.alive_before(s).tolist()),
                    expansions=expansions,
                    kept=tuple(self.alive_before(s + 1).tolist()),
                    finished=tuple((self.offsets[s] + np.flatnonzero(done)).tolist()),
                    pruned=int(expansions.size - len(done)),
                )
            )
        return tuple(out)


@dataclass(frozen=True, eq=False)
class BeamResult:
    """Everything a beam search found.

    ``hypotheses`` and ``steps`` are built from the search's arrays when first read. A search
    run with ``record=False`` keeps only the root, then the finished pool and the hypotheses
    still alive (numbered in that order, their parents not kept), and no steps.
    """

    finished: tuple[int, ...]
    """The pool: ids of the finished hypotheses, in the order they finished."""
    alive: tuple[int, ...]
    """Ids of the hypotheses still unfinished when the search stopped, best first."""
    beam_width: int
    alpha: float
    max_length: int
    _final: dict[int, Hypothesis] = field(default_factory=dict, repr=False)
    """The finished and alive hypotheses by id: all the ranking needs."""
    _trace: _Trace | None = field(default=None, repr=False)

    @cached_property
    def hypotheses(self) -> tuple[Hypothesis, ...]:
        """Every kept or finished hypothesis, root first (ids are indices here)."""
        if self._trace is None:
            return (ROOT, *(self._final[i] for i in self.finished + self.alive))
        return self._trace.all_hypotheses(self._final)

    @cached_property
    def steps(self) -> tuple[SearchStepRecord, ...]:
        """One record per step, t = 1 …; empty for a search run with ``record=False``."""
        return () if self._trace is None else self._trace.step_records()

    def ranking(self, alpha: float | None = None) -> list[Hypothesis]:
        """The finished hypotheses, best first by ``score(alpha)`` (α None: the search's α;
        0: the raw log-probability), ties by id. With an empty pool: the alive ones instead."""
        a = self.alpha if alpha is None else alpha
        hyps = [self._final[i] for i in self.finished or self.alive]
        return sorted(hyps, key=lambda h: (-h.score(a), h.id))

    @property
    def best(self) -> Hypothesis:
        """ranking()[0]."""
        return self.ranking()[0]

    @property
    def ran_out(self) -> bool:
        """True when nothing finished before max_length."""
        return not self.finished


def _top(flat: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries of ``flat``, largest first, equal values by lower
    index: the same choice as a stable sort, with a partition first when ``flat`` is large."""
    n = flat.size
    if k >= n or n <= STABLE_SORT_SIZE:
        return np.argsort(-flat, kind="stable")[:k]
    neg = -flat
    part = np.argpartition(neg, k - 1)[:k]
    kth = neg[part].max()
    better = np.flatnonzero(neg < kth)
    tied = np.flatnonzero(neg == kth)[: k - better.size]
    idx = np.concatenate((better, tied))
    return idx[np.lexsort((idx, neg[idx]))]


def beam_search(
    decoder: Decoder,
    beam_width: int,
    max_length: int,
    alpha: float = 0.7,
    *,
    record: bool = True,
) -> BeamResult:
    """Beam search of width B = ``beam_width`` over ``decoder`` (the rule in the module's
    docstring), at most ``max_length`` tokens, <EOS> included.

    With ``record=False`` the same search keeps only what the final ranking needs: the same
    best, no steps."""
    b = check_beam_width(beam_width)
    a = check_alpha(alpha)
    length = check_search_length(max_length)
    eos = int(decoder.eos)
    trace = _Trace() if record else None
    state: DecoderState = decoder.start()
    cum = np.zeros(1)  # (B_alive,) cumulative log-probs of the alive rows
    history = np.zeros((1, 0), dtype=np.intp)  # (B_alive, t − 1) their tokens
    width = b
    # (step, positions among the step's new hypotheses, tokens, scores, last log P, finished)
    final: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]] = []
    for t in range(1, length + 1):
        log_p = np.asarray(state.log_p, dtype=np.float64)  # (B_alive, V)
        n = log_p.shape[0]
        expansions = cum[:, None] + log_p  # (B_alive, V)
        flat = expansions.T.ravel()  # token-major: ties go to the lower token, then row
        sel = _top(flat, min(width, flat.size))
        tokens, rows = np.divmod(sel, n)
        scores = flat[sel]
        step_lp = log_p[rows, tokens]
        done = tokens == eos
        grown = np.concatenate((history[rows], tokens[:, None]), axis=1)  # (k, t)
        if trace is not None:
            trace.add(rows, tokens, scores, step_lp, done, expansions)
        if done.any():
            j = np.flatnonzero(done)
            final.append((t - 1, j, grown[j], scores[j], step_lp[j], True))
        keep = ~done
        alive = int(keep.sum())
        width -= len(sel) - alive
        if alive == 0 or t == length:
            if alive:
                j = np.flatnonzero(keep)
                final.append((t - 1, j, grown[j], scores[j], step_lp[j], False))
            break
        state = decoder.advance(state.take(rows[keep]), tokens[keep])
        cum = scores[keep]
        history = grown[keep]
    hyps: dict[int, Hypothesis] = {}
    finished: list[int] = []
    alive_ids: list[int] = []
    next_id = 1
    for s, j, toks, scores, step_lp, ended in final:
        if trace is not None:
            ids = (trace.offsets[s] + j).tolist()
            parents: list[int | None] = trace.alive_before(s)[trace.rows[s][j]].tolist()
        else:
            ids = list(range(next_id, next_id + len(j)))
            parents = [None] * len(j)
            next_id += len(j)
        zipped = zip(ids, parents, toks.tolist(), scores.tolist(), step_lp.tolist(), strict=True)
        for i, p, tk, lp, slp in zipped:
            hyps[i] = _hyp(i, p, tuple(tk), lp, slp, ended)
        (finished if ended else alive_ids).extend(ids)
    return BeamResult(tuple(finished), tuple(alive_ids), b, a, length, hyps, trace)


# -- greedy, exhaustive, teacher forcing -----------------------------------------------------


def greedy_decode(decoder: Decoder, max_length: int) -> Hypothesis:
    """The argmax token at each step (the lower index on a tie) until <EOS> or ``max_length``
    tokens. The hypothesis returned is number t of the chain root = 0, y⟨1⟩ = 1, …"""
    length = check_search_length(max_length)
    eos = int(decoder.eos)
    state = decoder.start()
    tokens: list[int] = []
    total = 0.0
    last = 0.0
    for t in range(1, length + 1):
        row = np.asarray(state.log_p[0], dtype=np.float64)
        k = int(np.argmax(row))
        tokens.append(k)
        last = float(row[k])
        total += last
        if k == eos or t == length:
            break
        state = decoder.advance(state, np.array([k]))
    n = len(tokens)
    return _hyp(n, n - 1, tuple(tokens), total, last, tokens[-1] == eos)


def exhaustive_search(decoder: Decoder, max_length: int, alpha: float) -> Hypothesis:
    """The finished sequence (ending in <EOS>, at most ``max_length`` tokens) with the best
    score log P / Ty^α, found by scoring every one; on a tie the shorter, then the one with the
    lower tokens. SpecError("max_length") if V^max_length exceeds 1,000,000."""
    length = check_search_length(max_length)
    a = check_alpha(alpha)
    v = len(decoder.vocabulary)
    if v**length > MAX_EXHAUSTIVE:
        raise SpecError(
            "max_length",
            f"an exhaustive search over {v} tokens and {length} steps would score "
            f"V^T = {v}^{length} sequences; the limit is {MAX_EXHAUSTIVE:,}",
        )
    eos = int(decoder.eos)
    others = np.array([k for k in range(v) if k != eos], dtype=np.intp)
    state = decoder.start()
    prefixes = np.zeros((1, 0), dtype=np.intp)  # (N, t − 1)
    cum = np.zeros(1)  # (N,)
    best: tuple[float, tuple[int, ...], float, float] | None = None
    for t in range(1, length + 1):
        log_p = np.asarray(state.log_p, dtype=np.float64)  # (N, V)
        ended = cum + log_p[:, eos]  # (N,) the prefixes closed with <EOS>
        scores = ended / t**a if a else ended
        j = int(np.argmax(scores))
        if best is None or scores[j] > best[0]:
            tokens = (*prefixes[j].tolist(), eos)
            best = (float(scores[j]), tokens, float(ended[j]), float(log_p[j, eos]))
        if t == length:
            break
        n = len(cum)
        rows = np.repeat(np.arange(n), len(others))
        toks = np.tile(others, n)
        cum = (cum[:, None] + log_p[:, others]).ravel()
        prefixes = np.concatenate((prefixes[rows], toks[:, None]), axis=1)
        state = decoder.advance(state.take(rows), toks)
    assert best is not None
    return _hyp(0, None, best[1], best[2], best[3], True)


def sequence_log_prob(decoder: Decoder, ids: Sequence[int]) -> np.ndarray:
    """log P(y⟨t⟩ | x, y⟨<t⟩) of each token of ``ids`` fed teacher-forced, (len(ids),)."""
    v = len(decoder.vocabulary)
    tokens = [int(k) for k in ids]
    bad = [k for k in tokens if not 0 <= k < v]
    if bad:
        raise SpecError("reference", f"token index {bad[0]} is outside the {v}-token vocabulary")
    out = np.empty(len(tokens))
    state = decoder.start()
    for t, k in enumerate(tokens):
        out[t] = state.log_p[0, k]
        if t + 1 < len(tokens):
            state = decoder.advance(state, np.array([k]))
    return out


# -- error analysis --------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorAnalysis:
    """The course's error analysis: is the search or the model to blame for ŷ ≠ y*?"""

    reference: tuple[int, ...]
    """y*, <EOS> included."""
    found: tuple[int, ...]
    """ŷ, the search's best."""
    log_p_reference: float
    """log P(y* | x), a raw sum with <EOS>."""
    log_p_found: float
    """log P(ŷ | x)."""
    score_reference: float
    """log P(y* | x) / Ty*^α."""
    score_found: float
    """log P(ŷ | x) / Ty^α."""
    fault: str
    """``"none"`` (ŷ = y*), ``"search"`` (the model scores y* higher: the search missed it),
    ``"model"`` (the model scores ŷ at least as high: a better search would not help) or
    ``"length"`` (y* is longer than the search's max_length: no search of that length can
    return it, whatever the model thinks)."""
    alpha: float = 0.0
    """The α the scores are normalised with (the search's own)."""
    max_length: int = MAX_LENGTH
    """The search's max_length, which y* must fit in to be found."""
    found_finished: bool = True
    """Whether ŷ ended with <EOS> (False when the search ran out of length)."""

    def explain(self) -> str:
        """One sentence, as the course says it."""
        if self.fault == "length":
            return (
                f"y* takes {len(self.reference)} tokens with <EOS>, more than max_length = "
                f"{self.max_length}: no search this short can return it; raise max_length "
                "before asking whether the search or the model is at fault."
            )
        if self.fault == "none":
            return (
                f"The search found y* itself (log P = {self.log_p_found:.4g}): neither the "
                "search nor the model is at fault."
            )
        # With α > 0 the search ranks by log P / Ty^α, so that is what is compared.
        what = "P" if self.alpha == 0 else f"log P / Ty^α with α = {self.alpha:g},"
        compare = f"{what} {self.score_reference:.4g} for y* vs {self.score_found:.4g} for ŷ"
        unfinished = (
            "" if self.found_finished else " (ŷ did not end before max_length, so it is a prefix)"
        )
        if self.fault == "search":
            return (
                f"The model scores y* higher than ŷ ({compare}){unfinished}: the model prefers "
                "y* but beam search did not find it, so the search is at fault; a wider beam "
                "may find it."
            )
        return (
            f"The model scores ŷ at least as high as y* ({compare}){unfinished}: the model "
            "itself prefers ŷ, so the model is at fault; a wider beam would not help."
        )


def error_analysis(
    decoder: Decoder, result: BeamResult, reference_ids: Sequence[int]
) -> ErrorAnalysis:
    """Compare P(y*|x) with P(ŷ|x) for ŷ = ``result.best``, both normalised with
    ``result.alpha`` (the objective the search optimises). <EOS> is appended to
    ``reference_ids`` if it does not end with it."""
    eos = int(decoder.eos)
    ref = tuple(int(k) for k in reference_ids)
    if not ref or ref[-1] != eos:
        ref = (*ref, eos)
    if len(ref) > MAX_LENGTH:
        raise SpecError(
            "reference", f"y* takes {len(ref)} tokens with {EOS}; the limit is {MAX_LENGTH}"
        )
    log_p_ref = float(sequence_log_prob(decoder, ref).sum())
    best = result.best
    score_ref = _hyp(0, None, ref, log_p_ref, 0.0, True).score(result.alpha)
    score_found = best.score(result.alpha)
    if best.tokens == ref:
        fault = "none"
    elif len(ref) > result.max_length:
        fault = "length"
    elif score_ref > score_found:
        fault = "search"
    else:
        fault = "model"
    return ErrorAnalysis(
        reference=ref,
        found=best.tokens,
        log_p_reference=log_p_ref,
        log_p_found=best.log_prob,
        score_reference=score_ref,
        score_found=score_found,
        fault=fault,
        alpha=result.alpha,
        max_length=result.max_length,
        found_finished=best.finished,
    )


def reference_ids(decoder: Decoder, text: Any) -> list[int]:
    """The token ids of y* = ``text`` then <EOS>, read with the decoder's vocabulary (its
    characters, or its lower-cased words without punctuation); SpecError("reference") for an
    empty text, a token the vocabulary lacks, or one too long."""
    from engine.tokens import tokenize

    if not isinstance(text, str) or not text.strip():
        raise SpecError("reference", f"expected a non-empty text y*, got {_shown(text)}")
    if len(text) > MAX_INPUT_TEXT:
        raise SpecError(
            "reference", f"y* has {len(text):,} characters; the limit is {MAX_INPUT_TEXT}"
        )
    level = _level(decoder)
    tokens = list(text.strip()) if level == "char" else tokenize(text, "word")
    if not tokens:
        raise SpecError("reference", f"{_shown(text)} holds no word; expected y* of one or more")
    index = {tok: k for k, tok in enumerate(decoder.vocabulary) if tok not in (EOS, UNK)}
    for pos, tok in enumerate(tokens):
        if tok not in index:
            known = list(index)
            listed = "".join(known) if level == "char" else ", ".join(known)
            unit = "character" if level == "char" else "word"
            raise SpecError(
                "reference",
                f"{unit} {tok!r} at position {pos} of {_shown(text)} is not in the output "
                f"vocabulary: {_shown(listed, 160)}",
            )
    if len(tokens) + 1 > MAX_LENGTH:
        raise SpecError(
            "reference", f"y* takes {len(tokens) + 1} tokens with {EOS}; the limit is {MAX_LENGTH}"
        )
    return [*(index[tok] for tok in tokens), int(decoder.eos)]


# -- the stage -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class BeamStep(Step):
    """One step of a beam search: a token position expanded, or the final ranking.

    ``value`` is the best cumulative log-probability among this step's new hypotheses (a
    search step), or the best's normalised score (the final step).
    """

    t: int
    """1-based search step; len(records) + 1 for the ranking step."""
    record: SearchStepRecord | None
    """What the step did; None on the final (ranking) step."""
    alive_before: tuple[Hypothesis, ...]
    """What was expanded, in row order (empty on the final step)."""
    pool: tuple[Hypothesis, ...]
    """Finished so far, after this step, in the order they finished."""
    final: bool
    """Whether this is the ranking step."""
    ranking_raw: tuple[Hypothesis, ...]
    """Final step only (else empty): ranked by log P (α = 0)."""
    ranking_norm: tuple[Hypothesis, ...]
    """Final step only: ranked by log P / Ty^α with the stage's α."""
    ran_out: bool
    """Whether nothing finished before max_length (the rankings then hold unfinished ones)."""


def _level(decoder: Decoder) -> str:
    """``"char"`` if every ordinary token is one character, else ``"word"`` (a decoder's own
    ``level`` attribute wins)."""
    level = getattr(decoder, "level", None)
    if level in ("char", "word"):
        return str(level)
    ordinary = [tok for tok in decoder.vocabulary if tok not in (EOS, UNK)]
    return "char" if all(len(tok) == 1 for tok in ordinary) else "word"


class BeamSearchStage(Stage):
    """A beam search over a decoder, one step per token position, then the final ranking.

    Step t (1-based) shows the B_alive hypotheses expanded, the B_alive × V cumulative
    log-probabilities, which B − |finished| were kept, which of those ended with <EOS> and how
    many were pruned. The last step ranks the finished pool with and without length
    normalisation, and says when nothing finished before max_length.

    Args:
        decoder: any ``engine.decoding.Decoder``.
        beam_width: B, 1 to 1,000 (1 is greedy decoding).
        max_length: most tokens of a hypothesis, <EOS> included, 1 to 50.
        alpha: α of the normalised score log P / Ty^α, in [0, 1].
        reference_text: y*, decoded with the decoder's vocabulary: error analysis compares it
            with the best found (``analysis``).
        name: the stage's name.
        remake: how to build the decoder for another typed text (a translator's or
            captioner's input); the stage is then ``Retextable``. None for a language model.
        text: the input text the decoder was made from (None for a language model).
        text_field: the scenario field ``text`` came from, named in errors.

    Shape:
        output (R,): log P of the R hypotheses of the normalised ranking, best first.
    """

    kind = "beam_search"

    def __init__(
        self,
        decoder: Decoder,
        beam_width: int,
        max_length: int,
        alpha: float = 0.7,
        *,
        reference_text: str | None = None,
        name: str = "beam",
        remake: Callable[[str], Decoder] | None = None,
        text: str | None = None,
        text_field: str = "text",
    ) -> None:
        super().__init__(name)
        self.beam_width = check_beam_width(beam_width)
        self.alpha = check_alpha(alpha)
        self.max_length = check_search_length(max_length)
        self.decoder = decoder
        self.vocabulary: tuple[str, ...] = tuple(decoder.vocabulary)
        self.eos = int(decoder.eos)
        self.level = _level(decoder)
        self.text_field = text_field
        self._text = text
        self._remake = remake
        if remake is not None:
            # Retextable only when the decoder can be made again from a typed text: the
            # capability is this instance attribute, absent otherwise.
            self.with_text: Callable[[str], BeamSearchStage] = self._with_text
        self.reference_text = reference_text
        reference_ids = None if reference_text is None else self.encode_reference(reference_text)
        self.result = beam_search(
            decoder, self.beam_width, self.max_length, self.alpha, record=True
        )
        self.analysis: ErrorAnalysis | None = (
            None if reference_ids is None else error_analysis(decoder, self.result, reference_ids)
        )
        self.ranking_raw = tuple(self.result.ranking(0.0))
        self.ranking_norm = tuple(self.result.ranking(self.alpha))
        self._output = frozen(np.array([h.log_prob for h in self.ranking_norm]))
        self._pool_counts = np.cumsum([len(r.finished) for r in self.result.steps])

    # -- text ------------------------------------------------------------------------------

    @property
    def joiner(self) -> str:
        """What goes between two tokens of a text: nothing for characters, a space for words."""
        return "" if self.level == "char" else " "

    def text_of(self, h: Hypothesis | Sequence[int]) -> str:
        """The tokens joined (characters run together, words by spaces), without <EOS>."""
        tokens = h.tokens if isinstance(h, Hypothesis) else h
        return self.joiner.join(self.vocabulary[k] for k in tokens if k != self.eos)

    def encode_reference(self, text: Any) -> list[int]:
        """y*'s token ids then <EOS> (``reference_ids``)."""
        return reference_ids(self.decoder, text)

    # -- capabilities ----------------------------------------------------------------------

    @property
    def input_text(self) -> str | None:
        """The text the decoder read (a date, a scene), or None for a language model."""
        return self._text

    def with_search(
        self, beam_width: int | None = None, alpha: float | None = None
    ) -> BeamSearchStage:
        """The same search with B and/or α changed; SpecError under beam_width or alpha."""
        return BeamSearchStage(
            self.decoder,
            self.beam_width if beam_width is None else check_beam_width(beam_width),
            self.max_length,
            self.alpha if alpha is None else check_alpha(alpha),
            reference_text=self.reference_text,
            name=self.name,
            remake=self._remake,
            text=self._text,
            text_field=self.text_field,
        )

    def _with_text(self, text: str) -> BeamSearchStage:
        """The same search over the decoder made from ``text``; the reference y* belonged to
        the old text and is dropped. SpecError under ``text_field`` if it cannot be read."""
        assert self._remake is not None
        decoder = self._remake(text)
        return BeamSearchStage(
            decoder,
            self.beam_width,
            self.max_length,
            self.alpha,
            name=self.name,
            remake=self._remake,
            text=text,
            text_field=self.text_field,
        )

    # -- steps -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.result.steps) + 1

    def tree(self) -> list[tuple[int, int, str]]:
        """(depth, hypothesis id, label) of every hypothesis in preorder, children best first;
        the label is the hypothesis' last token ("" for the root)."""
        hyps = self.result.hypotheses
        children: dict[int, list[int]] = {}
        for h in hyps[1:]:
            assert h.parent is not None
            children.setdefault(h.parent, []).append(h.id)
        out: list[tuple[int, int, str]] = []
        stack = [(0, 0)]
        while stack:
            depth, i = stack.pop()
            h = hyps[i]
            out.append((depth, i, self.vocabulary[h.tokens[-1]] if h.tokens else ""))
            stack.extend((depth + 1, c) for c in reversed(children.get(i, [])))
        return out

    def _quote(self, h: Hypothesis) -> str:
        end = f" {EOS}" if h.finished else ""
        return f"{self.text_of(h)!r}{end}"

    def step(self, i: int) -> BeamStep:
        i = self._normalise_index(i)
        hyps = self.result.hypotheses
        records = self.result.steps
        if i == len(records):
            return self._final_step(i)
        rec = records[i]
        pool_count = int(self._pool_counts[i])
        pool = tuple(hyps[k] for k in self.result.finished[:pool_count])
        before = tuple(hyps[k] for k in rec.parents)
        new = [hyps[k] for k in rec.kept + rec.finished]
        best = max(new, key=lambda h: (h.log_prob, -h.id))
        n_rows, v = rec.expansions.shape
        rows = "hypothesis" if n_rows == 1 else "hypotheses"
        ended = f", {len(rec.finished)} finished with {EOS}" if rec.finished else ""
        narrowed = ""
        if rec.finished and rec.kept:
            narrowed = f"; the beam narrows to {len(rec.kept)}"
        explanation = (
            f"t = {rec.t}: {n_rows} {rows} × {v} tokens = {n_rows * v} expansions; kept "
            f"{len(rec.kept)}{ended}, {rec.pruned} pruned{narrowed}. Best: {self._quote(best)}"
            f" with log P = {best.log_prob:.4g}"
        )
        return BeamStep(
            stage=self.name,
            index=i,
            value=best.log_prob,
            explanation=explanation,
            t=rec.t,
            record=rec,
            alive_before=before,
            pool=pool,
            final=False,
            ranking_raw=(),
            ranking_norm=(),
            ran_out=False,
        )

    def _final_step(self, i: int) -> BeamStep:
        hyps = self.result.hypotheses
        pool = tuple(hyps[k] for k in self.result.finished)
        best_norm, best_raw = self.ranking_norm[0], self.ranking_raw[0]
        a = self.alpha
        if self.result.ran_out:
            explanation = (
                f"No hypothesis ended with {EOS} before max_length = {self.max_length}: the "
                f"best unfinished one, {self._quote(best_norm)} (log P = "
                f"{best_norm.log_prob:.4g}, score {best_norm.score(a):.4g} with α = {a:g}), "
                f"is returned."
            )
        else:
            n = len(pool)
            which = "hypothesis" if n == 1 else "hypotheses"
            same = (
                "the same one"
                if best_raw.id == best_norm.id
                else f"{self._quote(best_raw)} (log P = {best_raw.log_prob:.4g})"
            )
            explanation = (
                f"{n} finished {which} ranked. With length normalisation (α = {a:g}) the best "
                f"is {self._quote(best_norm)}: log P = {best_norm.log_prob:.4g} over "
                f"Ty = {best_norm.t}, score {best_norm.score(a):.4g}; without it, {same}."
            )
        if self.beam_width == 1:
            explanation += " With B = 1 this is greedy decoding: the likeliest token every step."
        if self.analysis is not None:
            e = self.analysis
            explanation += (
                f" Error analysis, y* = {self.text_of(e.reference)!r} against ŷ = "
                f"{self.text_of(e.found)!r}: {e.explain()}"
            )
        return BeamStep(
            stage=self.name,
            index=i,
            value=best_norm.score(a),
            explanation=explanation,
            t=len(self.result.steps) + 1,
            record=None,
            alive_before=(),
            pool=pool,
            final=True,
            ranking_raw=self.ranking_raw,
            ranking_norm=self.ranking_norm,
            ran_out=self.result.ran_out,
        )

    # -- results ---------------------------------------------------------------------------

    @property
    def best(self) -> Hypothesis:
        """The search's answer: the best by the normalised score."""
        return self.ranking_norm[0]

    @property
    def output(self) -> np.ndarray:
        """log P of the normalised ranking's hypotheses, best first, (R,)."""
        return self._output

    def reference(self) -> np.ndarray:
        """The same hypotheses re-scored teacher-forced by the decoder's PyTorch check."""
        return np.array(
            [
                float(np.sum(self.decoder.reference_log_probs(list(h.tokens))))
                for h in self.ranking_norm
            ]
        )

    def describe(self) -> dict[str, Any]:
        r = self.result

        def hyp(h: Hypothesis) -> dict[str, Any]:
            return {
                "id": h.id,
                "parent": h.parent,
                "tokens": list(h.tokens),
                "text": self.text_of(h),
                "log_prob": h.log_prob,
                "step_log_p": h.step_log_p,
                "finished": h.finished,
            }

        analysis = None
        if self.analysis is not None:
            e = self.analysis
            analysis = {
                "reference": list(e.reference),
                "found": list(e.found),
                "log_p_reference": e.log_p_reference,
                "log_p_found": e.log_p_found,
                "score_reference": e.score_reference,
                "score_found": e.score_found,
                "fault": e.fault,
            }
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {"text": self._text, "field": self.text_field},
            # A language model by its shipped name; the translator's and the captioner's
            # weights are in the header of the stage before, whose decoder this is.
            "model": getattr(self.decoder, "name", None) or type(self.decoder).__name__,
            "hyperparameters": {
                "beam_width": self.beam_width,
                "alpha": self.alpha,
                "max_length": self.max_length,
                "vocabulary": list(self.vocabulary),
                "eos": self.eos,
                "level": self.level,
            },
            "reference_text": self.reference_text,
            # Each expansion is its parent's log_prob plus the model's log P of the token, so
            # the (B, V) arrays are not written out: the model recomputes them.
            "hypotheses": [hyp(h) for h in r.hypotheses],
            "search_steps": [
                {
                    "t": s.t,
                    "parents": list(s.parents),
                    "kept": list(s.kept),
                    "finished": list(s.finished),
                    "pruned": s.pruned,
                }
                for s in r.steps
            ],
            "finished": list(r.finished),
            "alive": list(r.alive),
            "ran_out": r.ran_out,
            "ranking_raw": [h.id for h in self.ranking_raw],
            "ranking_norm": [h.id for h in self.ranking_norm],
            "error_analysis": analysis,
            "output": {"shape": list(self._output.shape), "values": self._output.tolist()},
            "steps": len(self),
            "step_order": ["t"],
        }
