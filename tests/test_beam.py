"""engine.beam: beam search against the exhaustive optimum and greedy decoding, every score
against teacher forcing and PyTorch, the pool and pruning counts, running out of length, error
analysis, and every bad setting refused with the field named."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from engine.beam import (
    BeamResult,
    BeamSearchStage,
    BeamStep,
    Hypothesis,
    beam_search,
    check_alpha,
    check_beam_width,
    check_search_length,
    error_analysis,
    exhaustive_search,
    greedy_decode,
    sequence_log_prob,
)
from engine.core import Retextable, Searchable
from engine.decoding import Decoder, DecoderState
from engine.errors import SpecError


def log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


class MarkovDecoder:
    """A bigram table: P(y⟨t⟩ | y⟨t−1⟩) from fixed logits, the first token from ``start``."""

    def __init__(self, start: np.ndarray, trans: np.ndarray, vocabulary: tuple[str, ...]):
        self.vocabulary = vocabulary
        self.eos = vocabulary.index("<EOS>")
        self.start_logits = np.asarray(start, dtype=np.float64)
        self.trans_logits = np.asarray(trans, dtype=np.float64)
        self.start_lp = log_softmax(self.start_logits)
        self.trans_lp = log_softmax(self.trans_logits)

    def start(self) -> DecoderState:
        return DecoderState(self.start_lp[None], (np.full(1, -1),))

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        tokens = np.asarray(tokens, dtype=np.intp)
        assert tokens.shape == (len(state),)
        return DecoderState(self.trans_lp[tokens], (tokens,))

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        import torch

        start = torch.log_softmax(torch.from_numpy(self.start_logits), dim=-1)
        trans = torch.log_softmax(torch.from_numpy(self.trans_logits), dim=-1)
        out = [start[ids[0]]] + [trans[a, b] for a, b in itertools.pairwise(ids)]
        return torch.stack(out).numpy()


class PrefixDecoder:
    """P(y⟨t⟩ | y⟨<t⟩) depends on the whole prefix: seeded logits for every prefix, so that
    greedy, beam and exhaustive search really differ."""

    def __init__(self, v: int = 4, seed: int = 0, scale: float = 1.5, eos_shift: float = 0.0):
        self.vocabulary = ("<EOS>", *"abcdefgh"[: v - 1])
        self.eos = 0
        self.seed, self.scale, self.eos_shift = seed, scale, eos_shift
        self.calls = 0

    def logits(self, prefix: tuple[int, ...]) -> np.ndarray:
        key = [self.seed, len(prefix), *prefix]
        z = np.random.default_rng(key).normal(size=len(self.vocabulary)) * self.scale
        z[self.eos] += self.eos_shift
        return z

    def _state(self, prefixes: np.ndarray) -> DecoderState:
        z = np.array([self.logits(tuple(p)) for p in prefixes.tolist()])
        return DecoderState(log_softmax(z), (prefixes,))

    def start(self) -> DecoderState:
        return self._state(np.zeros((1, 0), dtype=np.intp))

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        self.calls += 1
        prefixes = np.concatenate((state.arrays[0], np.asarray(tokens)[:, None]), axis=1)
        return self._state(prefixes)

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        import torch

        rows = [self.logits(tuple(ids[:t])) for t in range(len(ids))]
        lp = torch.log_softmax(torch.from_numpy(np.array(rows)), dim=-1)
        return lp[torch.arange(len(ids)), torch.tensor(ids)].numpy()


def markov(seed: int = 0, v: int = 4) -> MarkovDecoder:
    rng = np.random.default_rng(seed)
    vocab = ("<EOS>", *"abcdefgh"[: v - 1])
    return MarkovDecoder(rng.normal(size=v) * 1.5, rng.normal(size=(v, v)) * 1.5, vocab)


def all_finished(decoder: Decoder, max_length: int) -> list[tuple[tuple[int, ...], float]]:
    """Every sequence ending in <EOS> with at most max_length tokens and its log P, by brute
    force (teacher forcing each one)."""
    v, eos = len(decoder.vocabulary), decoder.eos
    others = [k for k in range(v) if k != eos]
    out = []
    for t in range(1, max_length + 1):
        for prefix in itertools.product(others, repeat=t - 1):
            ids = (*prefix, eos)
            out.append((ids, float(sequence_log_prob(decoder, ids).sum())))
    return out


DECODERS: dict[str, Callable[[], MarkovDecoder | PrefixDecoder]] = {
    "markov": lambda: markov(0),
    "markov-v3": lambda: markov(5, v=3),
    "prefix": lambda: PrefixDecoder(4, seed=1),
    "prefix-late-eos": lambda: PrefixDecoder(4, seed=2, eos_shift=-1.0),
}


# -- the search finds what it should ---------------------------------------------------------


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_wide_beam_finds_the_exhaustive_optimum(name: str, alpha: float) -> None:
    decoder = DECODERS[name]()
    v, t = len(decoder.vocabulary), 4
    result = beam_search(decoder, v**t, t, alpha)
    assert all(s.pruned == 0 for s in result.steps)  # B ≥ V^T: nothing is ever pruned
    best = exhaustive_search(decoder, t, alpha)
    brute = max(all_finished(decoder, t), key=lambda p: p[1] / len(p[0]) ** alpha)
    assert best.tokens == brute[0] and result.best.tokens == brute[0]
    assert result.best.log_prob == pytest.approx(brute[1], abs=1e-12)
    # every finished sequence was found: the pool is the whole set
    assert {result.hypotheses[i].tokens for i in result.finished} == {
        ids for ids, _ in all_finished(decoder, t)
    }


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("max_length", [1, 3, 8])
def test_width_one_is_greedy(name: str, max_length: int) -> None:
    decoder = DECODERS[name]()
    greedy = greedy_decode(decoder, max_length)
    result = beam_search(decoder, 1, max_length, 0.7)
    assert result.best.tokens == greedy.tokens
    assert result.best.log_prob == pytest.approx(greedy.log_prob, abs=1e-12)
    # the greedy sequence is each step's argmax, checked against the table itself
    lp = sequence_log_prob(decoder, greedy.tokens)
    state = decoder.start()
    for k, tok in enumerate(greedy.tokens):
        assert state.log_p[0, tok] == state.log_p[0].max() == lp[k]
        state = decoder.advance(state, np.array([tok]))


def test_a_wider_beam_can_beat_greedy() -> None:
    """The prefix decoder's seeds are such that greedy is not the optimum: the tests above
    would pass for a search that always returned greedy's answer otherwise."""
    decoder = PrefixDecoder(4, seed=1)
    greedy = greedy_decode(decoder, 4)
    best = exhaustive_search(decoder, 4, 0.0)
    assert best.log_prob > greedy.log_prob + 1e-6
    assert beam_search(decoder, 64, 4, 0.0).best.tokens == best.tokens


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("width", [1, 2, 3, 7])
def test_every_score_is_the_models_own_log_probability(name: str, width: int) -> None:
    decoder = DECODERS[name]()
    result = beam_search(decoder, width, 6, 0.7)
    assert result.hypotheses[0].tokens == () and result.hypotheses[0].parent is None
    for h in result.hypotheses[1:]:
        lp = sequence_log_prob(decoder, h.tokens)
        assert abs(h.log_prob - lp.sum()) <= 1e-12
        assert abs(h.step_log_p - lp[-1]) <= 1e-12
        torch_lp = decoder.reference_log_probs(list(h.tokens))
        assert abs(h.log_prob - torch_lp.sum()) <= 1e-9
        assert h.finished == (h.tokens[-1] == decoder.eos) and h.t == len(h.tokens)
        parent = result.hypotheses[h.parent]  # type: ignore[index]
        assert parent.tokens == h.tokens[:-1] and parent.id < h.id and not parent.finished


@pytest.mark.parametrize("name", DECODERS)
@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_kept_counts_and_order(name: str, width: int) -> None:
    decoder = DECODERS[name]()
    result = beam_search(decoder, width, 7, 0.7)
    hyps = result.hypotheses
    v = len(decoder.vocabulary)
    finished_so_far = 0
    for step in result.steps:
        n = len(step.parents)
        assert step.expansions.shape == (n, v)
        new = step.kept + step.finished
        assert len(new) == min(width - finished_so_far, n * v) <= width
        assert step.pruned == n * v - len(new) >= 0
        # the kept are the best expansions, best first; nothing pruned beats them
        scores = [hyps[i].log_prob for i in sorted(new)]
        assert scores == sorted(scores, reverse=True)
        for ids in (step.kept, step.finished):
            kept = [hyps[i].log_prob for i in ids]
            assert kept == sorted(kept, reverse=True)
        assert np.sort(step.expansions, axis=None)[::-1][len(new) - 1] == min(scores)
        for i in new:
            h = hyps[i]
            row = step.parents.index(h.parent)  # type: ignore[arg-type]
            assert step.expansions[row, h.tokens[-1]] == h.log_prob
        assert all(hyps[i].finished for i in step.finished)
        assert not any(hyps[i].finished for i in step.kept)
        finished_so_far += len(step.finished)
        # the beam narrows: the next step expands exactly the kept
    for a, b in itertools.pairwise(result.steps):
        assert b.parents == a.kept
    assert len(result.finished) == finished_so_far
    assert len(result.finished) + len(result.alive) <= width
    assert result.alive == (result.steps[-1].kept if len(result.steps) == 7 else ())


def test_ties_go_to_the_lower_token_then_the_lower_row() -> None:
    flat = np.zeros(4)
    decoder = MarkovDecoder(flat, np.zeros((4, 4)), ("<EOS>", "a", "b", "c"))
    result = beam_search(decoder, 2, 3, 0.0)
    first = result.steps[0]
    # every token is equally likely: <EOS> (index 0) and "a" (index 1) are kept at t = 1
    assert [result.hypotheses[i].tokens for i in first.finished + first.kept] == [(0,), (1,)]
    wider = beam_search(decoder, 3, 2, 0.0)
    second = wider.steps[1]
    # t = 2 expands "a" and "b" (rows 0, 1) with 2 places left, and all 8 expansions tie:
    # <EOS> (the lower token) after each row, row 0 first, rather than "a" then "aa"
    assert [wider.hypotheses[i].tokens for i in second.finished] == [(1, 0), (2, 0)]
    assert second.kept == () and wider.alive == ()
    again = beam_search(decoder, 3, 2, 0.0)
    assert [h.tokens for h in again.hypotheses] == [h.tokens for h in wider.hypotheses]


def test_record_false_gives_the_same_answer() -> None:
    for name, make in DECODERS.items():
        for width in (1, 2, 5, 30):
            full = beam_search(make(), width, 6, 0.7)
            bare = beam_search(make(), width, 6, 0.7, record=False)
            assert bare.steps == ()
            for a in (0.0, 0.5, 0.7, 1.0):
                got = [(h.tokens, h.log_prob) for h in bare.ranking(a)]
                assert got == [(h.tokens, h.log_prob) for h in full.ranking(a)], name
            assert bare.ran_out == full.ran_out
            assert len(bare.hypotheses) == 1 + len(full.finished) + len(full.alive)
            assert all(bare.hypotheses[i].id == i for i in range(len(bare.hypotheses)))


def test_the_ranked_hypotheses_are_those_of_the_whole_list() -> None:
    result = beam_search(PrefixDecoder(4, seed=3), 5, 6, 0.7)
    ranked = result.ranking()
    assert ranked and all(result.hypotheses[h.id] is h for h in ranked)
    assert {h.id for h in ranked} == set(result.finished)


def test_normalisation_changes_the_ranking() -> None:
    """α = 0 prefers short sequences; the normalised score is log P / Ty^α with Ty counting
    <EOS>."""
    decoder = PrefixDecoder(4, seed=2, eos_shift=-1.0)
    result = beam_search(decoder, 6, 8, 0.7)
    for a in (0.0, 0.7, 1.0):
        ranked = result.ranking(a)
        scores = [h.log_prob / h.t**a for h in ranked]
        assert scores == sorted(scores, reverse=True)
        assert [h.score(a) for h in ranked] == scores
    assert result.ranking(0.0) == sorted(result.ranking(0.7), key=lambda h: -h.log_prob)
    assert result.ranking() == result.ranking(0.7)


# -- running out of length --------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [1, 2])
def test_nothing_finished_returns_the_best_unfinished(max_length: int) -> None:
    start = np.array([-30.0, 1.0, 0.5, 0.0])
    trans = np.array([[0.0, 0, 0, 0]] + [[-30.0, 1.0, 0.2, 0.1]] * 3)
    decoder = MarkovDecoder(start, trans, ("<EOS>", "a", "b", "c"))
    result = beam_search(decoder, 2, max_length, 0.7)
    assert result.ran_out and result.finished == ()
    assert len(result.alive) == 2
    best = result.best
    assert not best.finished and best.t == max_length
    assert best.tokens == (1,) * max_length
    assert [h.id for h in result.ranking()] == list(result.alive)
    stage = BeamSearchStage(decoder, 2, max_length, 0.7)
    final = stage.step(-1)
    assert isinstance(final, BeamStep) and final.final and final.ran_out
    assert f"before max_length = {max_length}" in final.explanation
    assert "best unfinished" in final.explanation and "'" + "a" * max_length + "'" in (
        final.explanation
    )
    assert final.ranking_norm[0] == best and final.pool == ()
    bare = beam_search(decoder, 2, max_length, 0.7, record=False)
    assert bare.ran_out and bare.best.tokens == best.tokens


def test_a_finished_pool_ignores_the_cut_off_hypotheses() -> None:
    decoder = PrefixDecoder(4, seed=2, eos_shift=-2.0)
    result = beam_search(decoder, 4, 3, 0.0)
    assert result.finished and result.alive
    assert all(h.finished for h in result.ranking())


# -- error analysis ---------------------------------------------------------------------------


def trap() -> MarkovDecoder:
    """ "a" is likelier first, but everything after it is poor; "b" then <EOS> is the best
    sequence, which greedy decoding misses."""
    vocab = ("<EOS>", "a", "b")
    start = np.log([1e-3, 0.55, 0.45])
    trans = np.log([[1 / 3] * 3, [0.34, 0.33, 0.33], [0.98, 0.01, 0.01]])
    return MarkovDecoder(start, trans, vocab)


def test_error_analysis_blames_the_search_when_the_model_prefers_the_reference() -> None:
    decoder = trap()
    result = beam_search(decoder, 1, 5, 0.7)
    reference = [2]  # "b", <EOS> appended
    ref_lp = sequence_log_prob(decoder, [2, 0]).sum()
    assert ref_lp / 2**0.7 > result.best.score(0.7)  # the construction holds
    e = error_analysis(decoder, result, reference)
    assert e.fault == "search" and e.reference == (2, 0) and e.found == result.best.tokens
    assert e.log_p_reference == pytest.approx(ref_lp, abs=1e-12)
    assert e.score_reference > e.score_found
    assert "log P / Ty^α with α = 0.7" in e.explain() and "search is at fault" in e.explain()
    # a wider beam finds it: nothing left to blame
    wide = beam_search(decoder, 3, 5, 0.7)
    assert wide.best.tokens == (2, 0)
    assert error_analysis(decoder, wide, [2, 0]).fault == "none"


def test_error_analysis_blames_the_model_when_it_prefers_the_search_result() -> None:
    decoder = trap()
    result = beam_search(decoder, 3, 5, 0.7)
    reference = [1, 1]  # "aa": a plausible y* the model finds unlikely
    e = error_analysis(decoder, result, reference)
    assert e.score_reference <= e.score_found
    assert e.fault == "model" and "model is at fault" in e.explain()
    stage = BeamSearchStage(decoder, 3, 5, 0.7, reference_text="aa")
    assert stage.analysis is not None and stage.analysis.fault == "model"
    assert stage.analysis.explain() in stage.step(-1).explanation


def test_error_analysis_uses_the_search_objective() -> None:
    """The comparison is on normalised scores with the search's α."""
    decoder = trap()
    for alpha in (0.0, 1.0):
        result = beam_search(decoder, 1, 5, alpha)
        e = error_analysis(decoder, result, [2])
        assert e.score_reference == pytest.approx(e.log_p_reference / 2**alpha, abs=1e-15)
        assert e.alpha == alpha


# -- the stage ---------------------------------------------------------------------------------


def test_stage_steps_and_explanations() -> None:
    decoder = PrefixDecoder(4, seed=1)
    stage = BeamSearchStage(decoder, 3, 6, 0.7)
    result = stage.result
    assert len(stage) == len(result.steps) + 1
    v = len(decoder.vocabulary)
    pool: list[Hypothesis] = []
    for i, rec in enumerate(result.steps):
        s = stage.step(i)
        assert s.record is rec and s.t == i + 1 and not s.final
        assert [h.id for h in s.alive_before] == list(rec.parents)
        pool += [result.hypotheses[k] for k in rec.finished]
        assert list(s.pool) == pool
        n = len(rec.parents)
        assert s.explanation.startswith(
            f"t = {i + 1}: {n} {'hypothesis' if n == 1 else 'hypotheses'} × {v} tokens = "
            f"{n * v} expansions; kept {len(rec.kept)}"
        )
        assert f"{rec.pruned} pruned" in s.explanation
        if rec.finished:
            assert f"{len(rec.finished)} finished with <EOS>" in s.explanation
        assert s.value == max(result.hypotheses[k].log_prob for k in rec.kept + rec.finished)
    final = stage.step(len(stage) - 1)
    assert final.final and final.record is None and final.t == len(result.steps) + 1
    assert list(final.ranking_norm) == result.ranking(0.7)
    assert list(final.ranking_raw) == result.ranking(0.0)
    best, raw = final.ranking_norm[0], final.ranking_raw[0]
    assert f"α = 0.7) the best is {stage.text_of(best)!r}" in final.explanation
    if raw.id != best.id:
        assert f"without it, {stage.text_of(raw)!r}" in final.explanation
    assert final.value == best.score(0.7)
    np.testing.assert_array_equal(stage.output, [h.log_prob for h in final.ranking_norm])
    assert stage.check_against_torch() < 1e-9


def test_stage_text_and_tree() -> None:
    decoder = markov(0)
    stage = BeamSearchStage(decoder, 2, 4, 0.7)
    h = stage.best
    assert stage.text_of(h) == "".join(decoder.vocabulary[k] for k in h.tokens if k != 0)
    tree = stage.tree()
    assert tree[0] == (0, 0, "")
    assert sorted(i for _, i, _ in tree) == list(range(len(stage.result.hypotheses)))
    for depth, i, label in tree:
        hyp = stage.result.hypotheses[i]
        assert depth == hyp.t and (label == decoder.vocabulary[hyp.tokens[-1]] if i else True)
    # preorder: every node's parent comes before it, at depth − 1
    seen: dict[int, int] = {}
    for depth, i, _ in tree:
        parent = stage.result.hypotheses[i].parent
        assert parent is None or seen[parent] == depth - 1
        seen[i] = depth


def test_stage_capabilities() -> None:
    decoder = markov(1)
    stage = BeamSearchStage(decoder, 3, 5, 0.7, reference_text="ab")
    assert isinstance(stage, Searchable) and not isinstance(stage, Retextable)
    assert stage.input_text is None
    wider = stage.with_search(beam_width=5)
    assert wider.beam_width == 5 and wider.alpha == 0.7 and wider.analysis is not None
    assert stage.with_search(alpha=0.0).alpha == 0.0
    with pytest.raises(SpecError) as e:
        stage.with_search(beam_width=0)
    assert e.value.field == "beam_width"
    with pytest.raises(SpecError) as e:
        stage.with_search(alpha=2)
    assert e.value.field == "alpha"

    made: list[str] = []

    def remake(text: str) -> Decoder:
        if not text:
            raise SpecError("text", "empty")
        made.append(text)
        return markov(len(text))

    typed = BeamSearchStage(markov(3), 3, 5, 0.7, remake=remake, text="xyz")
    assert isinstance(typed, Retextable) and isinstance(typed, Searchable)
    assert typed.input_text == "xyz" and typed.text_field == "text"
    other = typed.with_text("hello")
    assert made == ["hello"] and other.input_text == "hello" and isinstance(other, Retextable)
    assert other.result.best.tokens == beam_search(markov(5), 3, 5, 0.7).best.tokens
    with pytest.raises(SpecError) as e:
        typed.with_text("")
    assert e.value.field == "text"


def test_describe_is_plain_data() -> None:
    import json

    stage = BeamSearchStage(trap(), 2, 5, 0.7, reference_text="b")
    d = json.loads(json.dumps(stage.describe()))
    assert d["kind"] == "beam_search" and d["steps"] == len(stage)
    assert d["hyperparameters"]["beam_width"] == 2
    assert len(d["hypotheses"]) == len(stage.result.hypotheses)
    assert d["error_analysis"]["fault"] == stage.analysis.fault  # type: ignore[union-attr]
    assert d["output"]["values"] == stage.output.tolist()


# -- bad input ---------------------------------------------------------------------------------

BAD: list[tuple[str, Any]] = [
    ("beam_width", 0),
    ("beam_width", 1001),
    ("beam_width", 2.5),
    ("beam_width", "3"),
    ("beam_width", True),
    ("beam_width", -1),
    ("alpha", -0.1),
    ("alpha", 1.5),
    ("alpha", math.nan),
    ("alpha", math.inf),
    ("alpha", "0.5"),
    ("alpha", True),
    ("max_length", 0),
    ("max_length", 51),
    ("max_length", 2.0),
    ("max_length", None),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v!r}" for f, v in BAD])
def test_bad_settings_name_their_field(field: str, value: Any) -> None:
    settings: dict[str, Any] = {"beam_width": 3, "max_length": 5, "alpha": 0.7}
    settings[field] = value
    for call in (
        lambda: beam_search(markov(), **settings),
        lambda: BeamSearchStage(markov(), **settings),
    ):
        with pytest.raises(SpecError) as e:
            call()
        assert e.value.field == field
        assert "\n" not in e.value.message
        shown = "true" if value is True else repr(value)
        assert shown in e.value.message
    check = {"beam_width": check_beam_width, "alpha": check_alpha}
    with pytest.raises(SpecError):
        check.get(field, check_search_length)(value)


def test_good_settings_pass_their_checks() -> None:
    assert check_beam_width(1) == 1 and check_beam_width(1000) == 1000
    assert check_beam_width(np.int64(7)) == 7
    assert check_alpha(0) == 0.0 and check_alpha(1) == 1.0 and check_alpha(0.7) == 0.7
    assert check_search_length(1) == 1 and check_search_length(50) == 50


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("abz", "'z' at position 2"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("a" * 60, "limit is 50"),
        ("a" * 201, "limit is 200"),
    ],
)
def test_bad_reference_names_the_field(reference: str, says: str) -> None:
    with pytest.raises(SpecError) as e:
        BeamSearchStage(markov(), 3, 5, 0.7, reference_text=reference)
    assert e.value.field == "reference" and says in e.value.message
    assert "\n" not in e.value.message


def test_reference_of_a_word_vocabulary() -> None:
    vocab = ("<UNK>", "<EOS>", "the", "cat", "sat")
    rng = np.random.default_rng(0)
    decoder = MarkovDecoder(rng.normal(size=5), rng.normal(size=(5, 5)), vocab)
    stage = BeamSearchStage(decoder, 2, 5, 0.7, reference_text="The cat.")
    assert stage.analysis is not None and stage.analysis.reference == (2, 3, 1)
    assert stage.text_of(stage.analysis.reference) == "the cat"
    with pytest.raises(SpecError) as e:
        BeamSearchStage(decoder, 2, 5, 0.7, reference_text="the dog")
    assert e.value.field == "reference" and "'dog'" in e.value.message
    assert "the, cat, sat" in e.value.message
    with pytest.raises(SpecError) as e:
        BeamSearchStage(decoder, 2, 5, 0.7, reference_text="?!")
    assert e.value.field == "reference" and "holds no word" in e.value.message


def test_exhaustive_search_refuses_too_many_sequences() -> None:
    with pytest.raises(SpecError) as e:
        exhaustive_search(markov(), 11, 0.7)  # 4^11 > 1e6
    assert e.value.field == "max_length" and "4^11" in e.value.message
    assert exhaustive_search(markov(), 9, 0.7).finished  # 4^9 fits


def test_result_type() -> None:
    assert isinstance(beam_search(markov(), 2, 3), BeamResult)


@pytest.mark.parametrize("k", [1, 7, 100, 4999, 5000])
def test_partitioned_choice_equals_a_stable_sort(k: int) -> None:
    from engine.beam import _top

    rng = np.random.default_rng(k)
    flat = rng.integers(-20, 0, size=5000).astype(float)  # many ties
    flat[rng.integers(0, 5000, size=50)] = -np.inf
    expected = np.argsort(-flat, kind="stable")[:k]
    np.testing.assert_array_equal(_top(flat, k), expected)


# -- the shipped language models ---------------------------------------------------------------


def lm(name: str) -> Decoder:
    from engine.language import LmDecoder
    from scenarios.language import language_model

    model = language_model(name)
    return LmDecoder(model.weights, model.vocabulary, model.level, name)


@pytest.mark.parametrize("name", ["char_lm", "word_lm"])
@pytest.mark.parametrize("width", [1, 3, 10])
def test_language_model_scores_agree_with_teacher_forcing_and_torch(name: str, width: int) -> None:
    decoder = lm(name)
    result = beam_search(decoder, width, 20, 0.7)
    assert not result.ran_out
    for h in result.hypotheses[1:]:
        lp = sequence_log_prob(decoder, h.tokens)
        assert abs(h.log_prob - lp.sum()) <= 1e-12
        torch_lp = decoder.reference_log_probs(list(h.tokens))
        assert abs(h.log_prob - float(np.sum(torch_lp))) <= 1e-9
    stage = BeamSearchStage(decoder, width, 20, 0.7)
    assert stage.check_against_torch() <= 1e-9


@pytest.mark.parametrize("name", ["char_lm", "word_lm"])
def test_language_model_width_one_is_greedy(name: str) -> None:
    decoder = lm(name)
    greedy = greedy_decode(decoder, 20)
    best = beam_search(decoder, 1, 20, 0.7).best
    assert best.tokens == greedy.tokens and abs(best.log_prob - greedy.log_prob) <= 1e-12


def test_language_model_wide_beam_is_exhaustive() -> None:
    decoder = lm("char_lm")
    v = len(decoder.vocabulary)
    for alpha in (0.0, 0.7):
        result = beam_search(decoder, v**2, 2, alpha)
        assert all(s.pruned == 0 for s in result.steps)
        best = exhaustive_search(decoder, 2, alpha)
        assert result.best.tokens == best.tokens
        assert abs(result.best.log_prob - best.log_prob) <= 1e-12


@pytest.mark.parametrize("width", [3, 10, 100])
def test_language_model_record_false_gives_the_same_best(width: int) -> None:
    for name in ("char_lm", "word_lm"):
        decoder = lm(name)
        full = beam_search(decoder, width, 20, 0.7)
        bare = beam_search(decoder, width, 20, 0.7, record=False)
        assert bare.best.tokens == full.best.tokens and bare.best.log_prob == full.best.log_prob
        assert bare.steps == () and len(full.steps) > 0


def test_language_model_running_out_of_length() -> None:
    decoder = lm("word_lm")
    for max_length in (1, 2):
        stage = BeamSearchStage(decoder, 3, max_length, 0.7)
        assert stage.result.ran_out and not stage.best.finished
        assert stage.best.t == max_length
        assert f"max_length = {max_length}" in stage.step(-1).explanation


@pytest.mark.parametrize("width", [1, 50, 200])
def test_memory_estimate_bounds_the_peak(width: int) -> None:
    """Near the worst case: hardly anything finishes, so the search keeps close to B
    hypotheses a step to max_length."""
    import tracemalloc

    from engine.beam import beam_peak_bytes

    vocab = ("<EOS>", "a", "b", "c")
    start = np.array([-40.0, 0.0, 0.1, 0.2])
    decoder = MarkovDecoder(start, np.tile(start, (4, 1)), vocab)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        stage = BeamSearchStage(decoder, width, 50, 0.7)
        steps = [stage.step(i) for i in range(len(stage))]
        tree = stage.tree()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(steps) == 51 and len(tree) == len(stage.result.hypotheses) > 30 * width
    state = sum(a[0].size for a in decoder.start().arrays)
    assert peak <= beam_peak_bytes(width, 4, 50, state)


def test_a_reference_longer_than_max_length_blames_neither() -> None:
    """No search of max_length 2 can return a three-token y*: the verdict says so, whatever
    the scores, and does not send the user to a wider beam."""
    decoder = trap()
    result = beam_search(decoder, 1000, 2, 0.7)
    e = error_analysis(decoder, result, [2, 2])  # y* = b b <EOS>: three tokens
    assert len(e.reference) == 3 > result.max_length
    assert e.fault == "length"
    assert "more than max_length = 2" in e.explain() and "wider beam" not in e.explain()
