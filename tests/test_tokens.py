"""Tokenization: building vocabularies, the word and character rules, steps, and bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scenarios
from engine.errors import SpecError
from engine.tokens import EOS, UNK, TokenStage, Vocabulary, token_spans, tokenize
from tui.panels.tokens import explain_token, one_hot_summary, sentence_text, token_table

TOK = 'kind = "tokens"\ntitle = "t"\n'
CORPUS = "Cats sleep. Dogs sleep. Cats eat fish. Dogs eat meat. A cat sleeps a lot."
SENTENCE = "Cats average 15 hours of sleep a day."


def stage(size: int = 12, text: str = SENTENCE, level: str = "word") -> TokenStage:
    return TokenStage(text, Vocabulary.build(tokenize(CORPUS, level), size), level)


# -- vocabulary ------------------------------------------------------------------------------


def test_vocabulary_keeps_the_most_frequent_after_the_specials() -> None:
    v = Vocabulary.build(tokenize(CORPUS), 7)
    # sleep ×2, cats ×2, dogs ×2, eat ×2, a ×2: ties alphabetical; then only room for 5.
    assert v.tokens == (UNK, EOS, "a", "cats", "dogs", "eat", "sleep")
    assert len(v) == 7 and v.index["cats"] == 3
    assert v.lookup("cats") == 3 and v.lookup("zebra") == 0 and v.index[EOS] == 1


def test_vocabulary_size_is_a_maximum() -> None:
    v = Vocabulary.build(["b", "a", "b"], 10_000)
    assert v.tokens == (UNK, EOS, "b", "a")


def test_vocabulary_ties_are_alphabetical_whatever_the_corpus_order() -> None:
    assert Vocabulary.build(["z", "y", "x"], 4).tokens == (UNK, EOS, "x", "y")
    assert Vocabulary.build(["x", "y", "z"], 4).tokens == (UNK, EOS, "x", "y")


def test_specials_in_the_corpus_are_not_counted_twice() -> None:
    assert Vocabulary.build([EOS, "a", UNK], 5).tokens == (UNK, EOS, "a")


@pytest.mark.parametrize("size", [2, 0, -1, True, 3.5])
def test_vocabulary_too_small(size: object) -> None:
    with pytest.raises(SpecError) as info:
        Vocabulary.build(["a"], size)  # type: ignore[arg-type]
    assert info.value.field == "vocabulary_size" and "≥ 3" in info.value.message


# -- tokenization rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Cats average 15 hours.", ["cats", "average", "15", "hours"]),
        ("don't STOP—now!", ["don't", "stop", "now"]),
        ("snake_case, tab\tand\nnewline", ["snake", "case", "tab", "and", "newline"]),
        ("Café Über", ["café", "über"]),
        ("... !!", []),
    ],
)
def test_word_rule(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_spans_point_at_the_words_as_written() -> None:
    spans = token_spans("Cats, sleep.")
    assert [("Cats, sleep."[s:e], tok) for s, e, tok in spans] == [
        ("Cats", "cats"),
        ("sleep", "sleep"),
    ]


def test_char_rule_keeps_every_character_and_its_case() -> None:
    assert tokenize("Hi, A", "char") == ["H", "i", ",", " ", "A"]


def test_unknown_level_suggests_a_valid_one() -> None:
    with pytest.raises(SpecError) as info:
        tokenize("x", "wrod")
    assert info.value.field == "level" and "did you mean 'word'" in info.value.message


# -- the stage and its steps -----------------------------------------------------------------


def test_steps_map_each_token_then_eos() -> None:
    st = stage()
    words = ["Cats", "average", "15", "hours", "of", "sleep", "a", "day"]
    assert len(st) == len(words) + 1
    steps = [st.step(i) for i in range(len(st))]
    assert [s.token for s in steps] == [*words, EOS]
    assert steps[-1].eos and steps[-1].token_id == 1 and steps[-1].mapped == EOS
    first = steps[0]
    assert (first.lookup, first.known, first.mapped) == ("cats", True, "cats")
    assert first.token_id == st.vocabulary.index["cats"] == first.value
    unknown = steps[1]
    assert not unknown.known and unknown.token_id == 0 and unknown.mapped == UNK
    assert "'average' is not in the 12-token vocabulary → <UNK> = index 0" in unknown.explanation
    assert "'cats' → index 3 (known)" in first.explanation
    np.testing.assert_array_equal(st.output, [s.token_id for s in steps])
    assert st.output.dtype == np.float64
    assert st.unknown_count == sum(not s.known for s in steps)


def test_one_hot_vectors_have_a_single_one_at_the_index() -> None:
    st = stage()
    for i in range(len(st)):
        s = st.step(i)
        v = s.one_hot()
        assert v.shape == (12,) and v.sum() == 1 and v[s.token_id] == 1
    np.testing.assert_array_equal(st.one_hots().argmax(axis=1), st.output)


def test_char_level_stage() -> None:
    st = stage(30, "Cat!", "char")
    assert [st.step(i).token for i in range(len(st))] == ["C", "a", "t", "!", EOS]
    assert st.vocabulary.lookup("c") != st.vocabulary.lookup("C")  # case is kept
    assert [st.step(i).known for i in range(4)] == [True, True, True, False]  # no "!" in corpus
    assert " " in st.vocabulary.index


def test_matches_torch_one_hot() -> None:
    assert stage().check_against_torch() == 0.0
    big = TokenStage("b a c", Vocabulary.build([f"w{i}" for i in range(5000)] + ["a"], 10_000))
    assert big.vocab_size == 5003 and big.check_against_torch() == 0.0


def test_negative_step_index_and_out_of_range() -> None:
    st = stage()
    assert st.step(-1).eos
    with pytest.raises(IndexError):
        st.step(len(st))


def test_too_many_tokens_names_text() -> None:
    with pytest.raises(SpecError) as info:
        TokenStage("a b c", Vocabulary.build(["a"], 3), max_tokens=3)
    assert info.value.field == "text" and "max_tokens = 3" in info.value.message
    assert len(TokenStage("a b", Vocabulary.build(["a"], 3), max_tokens=3)) == 3


def test_describe_is_plain_data() -> None:
    d = stage().describe()
    assert d["kind"] == "tokens" and d["vocabulary"]["size"] == 12
    assert d["input"]["text"] == SENTENCE and d["input"]["tokens"][0] == "cats"
    assert d["hyperparameters"] == {"level": "word", "max_tokens": 1000}
    assert d["output"]["values"][-1] == 1.0 and d["steps"] == 9


# -- the panel's text ------------------------------------------------------------------------


def test_inspector_lines() -> None:
    st = stage()
    assert "'cats' → index 3 (known)" in explain_token(st, st.step(0)).plain
    text = explain_token(st, st.step(1)).plain
    assert "'average' is not in the 12-token vocabulary → <UNK> = index 0" in text
    assert "end of sentence → <EOS> = index 1" in explain_token(st, st.step(-1)).plain


def test_sparse_one_hot_summary() -> None:
    vocab = Vocabulary.build([f"w{i:05d}" for i in range(9998)], 10_000)
    st = TokenStage("w04319", vocab)
    s = st.step(0)
    text = one_hot_summary(st, s).plain
    assert f"10,000-dimensional, all zeros except position {s.token_id:,} = 1" in text
    assert "▶ 4,321  w04319" in text and text.count("\n") == 2 * 3 + 1 + 2


def test_table_and_sentence_follow_the_current_token() -> None:
    st = stage()
    table = token_table(st, st.step(2)).plain
    assert "Cats" in table and "15" in table and "hours" not in table
    assert sentence_text(st, st.step(2)).plain == SENTENCE + " " + EOS


# -- scenario files --------------------------------------------------------------------------


def test_inline_corpus(load_text: Callable[..., Any]) -> None:
    sim = load_text(TOK + f'text = "{SENTENCE}"\ncorpus = "{CORPUS}"\n')
    (st,) = sim.stages
    assert isinstance(st, TokenStage) and st.level == "word"
    assert st.vocab_size == len(set(tokenize(CORPUS))) + 2  # 10,000 by default: room for all


def test_corpus_file_is_relative_to_the_scenario(
    tmp_path: Path, load_text: Callable[..., Any]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.txt").write_text(CORPUS, encoding="utf-8")
    sim = load_text(
        TOK + 'text = "cats nap"\ncorpus_file = "data/c.txt"\nvocabulary_size = 4\n',
    )
    st = sim.stages[0]
    assert isinstance(st, TokenStage)
    assert st.vocabulary.tokens == (UNK, EOS, "a", "cats")


@pytest.mark.parametrize("name", ["tokens_words", "tokens_chars"])
def test_bundled(name: str) -> None:
    sim = scenarios.load(scenarios.resolve(name))
    st = sim.stages[0]
    assert isinstance(st, TokenStage) and st.unknown_count > 0
    assert st.check_against_torch() == 0.0


def test_non_utf8_corpus_file(tmp_path: Path, scenario_problems: Callable[..., Any]) -> None:
    (tmp_path / "c.txt").write_bytes(b"caf\xe9 \xff\xfe")
    assert scenario_problems(TOK + 'text = "x"\ncorpus_file = "c.txt"\n') == [
        ("corpus_file", "'c.txt' is not UTF-8 text (invalid continuation byte at byte 3)")
    ]


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        pytest.param(
            'corpus_file = "nope.txt"\n',
            "corpus_file",
            "no such file 'nope.txt'",
            id="missing-file",
        ),
        pytest.param('corpus_file = "."\n', "corpus_file", "is a directory", id="directory"),
        pytest.param('corpus = "a"\ncorpus_file = "c.txt"\n', "corpus_file", "not both", id="both"),
        pytest.param("", "corpus", "missing", id="no-corpus"),
        pytest.param('corpus = "a"\nvocabulary_size = 2\n', "vocabulary_size", "≥ 3", id="vocab-2"),
        pytest.param('corpus = "a"\nlevel = "wrod"\n', "level", "did you mean 'word'", id="level"),
        pytest.param('corpus = "a"\nmax_tokens = 2\n', "text", "max_tokens = 2", id="too-long"),
        pytest.param(
            'corpus = "a"\nmax_tokens = 9223372036854775808\n',
            "max_tokens",
            "from 1 to 100,000",
            id="max-tokens-huge",
        ),
        pytest.param(
            'corpus = "a"\nvocab_size = 5\n',
            "vocab_size",
            "did you mean 'vocabulary_size'",
            id="typo",
        ),
    ],
)
def test_bad_files(
    scenario_problems: Callable[..., Any], extra: str, field: str, words: str
) -> None:
    found = scenario_problems(TOK + 'text = "cats sleep now"\n' + extra)
    assert len(found) == 1, found
    assert found[0][0] == field and words in found[0][1]


def test_empty_text(scenario_problems: Callable[..., Any]) -> None:
    found = scenario_problems(TOK + 'text = "..."\ncorpus = "a"\n')
    assert found == [("text", "no tokens at word level in '...'")]


def test_the_large_vocabulary_scenario_says_what_its_corpus_gives() -> None:
    """tokens_large: every claim of its description, from the corpus and the stage."""
    import re
    from collections import Counter

    shipped = next(s for s in scenarios.bundled() if s.name == "tokens_large")
    sim = scenarios.load(shipped.path)
    st = sim.stages[0]
    assert isinstance(st, TokenStage)
    corpus = (shipped.path.parent / "data" / "sentences.txt").read_text(encoding="utf-8")
    words = tokenize(corpus, "word")
    counts = Counter(words)
    assert len(corpus.splitlines()) == 2500 and len(words) == 13548 and len(counts) == 374
    assert st.vocab_size == 376 and counts["zebra"] == 4 and counts["unicorn"] == 0
    zebra, unicorn = st.step(1), st.step(5)
    assert zebra.token_id == 223 == st.vocabulary.lookup("zebra")
    assert unicorn.token_id == st.vocabulary.index[UNK]
    summary = one_hot_summary(st, zebra).plain
    assert "376-dimensional, all zeros except position 223 = 1" in summary
    assert len(summary.splitlines()) < 15  # sparse: not 376 lines
    lm = scenarios.load(scenarios.resolve("lm_words_score")).stages[0]
    assert "zebra" not in lm.vocabulary and len(lm.vocabulary) == 48
    description = " ".join(shipped.description.split())
    for claim in ("2,500 sentences", "13,548 words", "374 distinct", "V = 376", "4 times", "223"):
        assert claim in description, claim
    assert re.search(r"48-token vocabulary of lm_words_score", description)
