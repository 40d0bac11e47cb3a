"""The word-level language model: <UNK> for unknown words, <EOS> at index 1 ending sentences,
the corpus and model files, the wrong text field, a new temperature, the panel, and every number
the lm_words_* descriptions claim."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from textual.content import Content
from textual.widgets import Static

import scenarios
from engine.errors import SpecError
from engine.language import LanguageModelStage
from engine.tokens import EOS, UNK, Vocabulary, tokenize
from scenarios import ScenarioError
from scenarios.language import language_model
from tui.app import NetsimApp
from tui.panels.language import (
    LanguageModelPanel,
    inspector_text,
    running_text,
    sequence_text,
    short,
    vocabulary_note,
)

DATA = scenarios.BUNDLED_DIR / "data"
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
ZEBRA = "The zebra sleeps under the tree all day."
VERBS = ["sleeps", "runs", "sings", "sits", "waits", "eats", "sees", "likes", "chases"]


def words(text: str | None = None, **kw: object) -> LanguageModelStage:
    weights, vocabulary, level = language_model("word_lm")
    kw.setdefault("name", "word_lm")
    kw.setdefault("level", level)
    return LanguageModelStage(weights, vocabulary, text=text, **kw)  # type: ignore[arg-type]


def chars(text: str | None = None, **kw: object) -> LanguageModelStage:
    weights, vocabulary, level = language_model("char_lm")
    return LanguageModelStage(weights, vocabulary, text=text, level=level, **kw)  # type: ignore[arg-type]


def p_next(stage: LanguageModelStage, token: str, step: int = -1) -> float:
    dist = stage.step(step).distribution
    assert dist is not None
    return float(dist[stage.vocabulary.index(token)])


def corpus() -> list[list[str]]:
    lines = (DATA / "sentences.txt").read_text(encoding="utf-8").splitlines()
    return [tokenize(line, "word") for line in lines]


# -- the files ------------------------------------------------------------------------------


def test_corpus_is_the_seeded_grammar_with_a_rare_tail() -> None:
    path = DATA / "sentences.txt"
    assert path.stat().st_size < 150_000
    spec = importlib.util.spec_from_file_location("make_sentences", SCRIPTS / "make_sentences.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert path.read_text(encoding="utf-8") == "\n".join(module.sentences()) + "\n"
    counts = Counter(w for s in corpus() for w in s)
    vocabulary = Vocabulary.build((w for s in corpus() for w in s), 48)
    kept = vocabulary.tokens[2:]
    left_out = [w for w in counts if w not in vocabulary.index]
    assert len(kept) == 46 and len(left_out) > 200
    assert min(counts[w] for w in kept) == 47
    assert max(counts[w] for w in left_out) == 5  # "a few times" each, never close to the cut


def test_shipped_model_matches_the_corpus_vocabulary() -> None:
    weights, vocabulary, level = language_model("word_lm")
    assert level == "word"
    assert vocabulary == Vocabulary.build((w for s in corpus() for w in s), 48).tokens
    assert vocabulary[:2] == (UNK, EOS)
    assert weights["w_ya"].shape == (48, 32) and weights["weight_hh_l0"].shape == (32, 32)
    assert (DATA / "word_lm.npz").stat().st_size < 40_000
    with np.load(DATA / "word_lm.npz", allow_pickle=False) as npz:
        assert npz["level"].dtype == np.uint8 and npz["vocabulary"].dtype == np.uint8
        assert all(npz[k].dtype == np.float32 for k in weights)


# -- the engine -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"text": ZEBRA},
        {"text": "Priya eats mango at night.", "temperature": 0.5},
        {"mode": "sample", "seed": 1},
        {"mode": "sample", "seed": 7, "temperature": 2.0},
    ],
)
def test_probabilities_match_torch(kw: dict[str, object]) -> None:
    lm = words(**kw)
    assert lm.check_against_torch() < 1e-12
    np.testing.assert_allclose(lm.output.sum(axis=1), 1.0, atol=1e-12)


def test_unknown_words_become_unk_and_are_kept_as_written() -> None:
    lm = words(ZEBRA)
    assert lm.text == "the <UNK> sleeps under the tree all day"
    assert lm.ids[1] == lm.unk == 0 and lm.unknown_count == 1
    zebra = lm.step(1)
    assert (zebra.token, zebra.given, zebra.unknown) == (UNK, "zebra", True)
    assert "'zebra' is not in the vocabulary" in zebra.explanation
    assert lm.step(2).prefix == "the <UNK>"
    assert not any(lm.step(i).unknown for i in (0, 2, len(lm) - 1))
    assert lm.describe()["input"]["tokens"][:2] == ["the", "zebra"]
    # Every unknown word is the same <UNK> to the model: the same numbers follow.
    other = words("the walrus sleeps under the tree ALL day!")
    assert other.ids == lm.ids
    np.testing.assert_array_equal(other.output, lm.output)


def test_eos_is_index_one_and_ends_every_sentence() -> None:
    lm = words(ZEBRA)
    assert lm.eos == 1 and lm.ids[-1] == 1 and lm.ended
    assert lm.step(-1).token == EOS and EOS not in lm.text
    assert chars("mara").eos == 0 and chars("mara").unk is None


def test_a_drawn_unk_is_fed_back_and_sampling_goes_on_to_eos() -> None:
    """<UNK> is index 0, the char model's <EOS>: drawing it must not stop the sentence."""
    lm = words(mode="sample", seed=19)
    assert lm.ids[2] == 0 and lm.step(2).token == UNK and lm.step(2).given == UNK
    assert not lm.step(2).unknown  # drawn, not read for an unknown word
    assert len(lm) > 3 and lm.ended and lm.unknown_count == 2
    assert lm.inputs(lm.ids)[3, 0] == 1.0  # x⟨4⟩ = one_hot(<UNK>)
    assert lm.text == "my young <UNK> eats <UNK> today"


def test_sampling_is_reproducible_and_rescoring_gives_the_same_numbers() -> None:
    texts = set()
    for seed in range(15):
        a, b = words(mode="sample", seed=seed), words(mode="sample", seed=seed)
        assert a.ids == b.ids and (a.ended or len(a) == a.max_length)
        assert a.eos not in a.ids[:-1]
        texts.add(a.text)
        # "<UNK>" in a sample's text tokenizes to "unk", itself unknown: the same ids again.
        again = words(a.text)
        assert again.ids == a.ids
        np.testing.assert_allclose(again.output, a.output, atol=1e-12)
    assert len(texts) > 10


@pytest.mark.parametrize(
    ("kw", "field", "text"),
    [
        ({"text": "..."}, "sentence", "a sentence of at least one word"),
        ({"text": ""}, "sentence", "at least one word"),
        (
            {"mode": "sample", "text": "the cat sat", "max_length": 3},
            "sentence",
            "must draw at least one more",
        ),
        ({"text": "the cat sleeps", "max_length": 3}, "sentence", "takes 4 steps"),
        ({"text": "the cat", "level": "words"}, "level", "did you mean 'word'"),
    ],
)
def test_errors_name_the_sentence_field(kw: dict[str, object], field: str, text: str) -> None:
    with pytest.raises(SpecError) as e:
        words(**kw)
    assert e.value.field == field and text in e.value.message


def test_a_long_sentence_is_cut_short_in_its_one_line_error() -> None:
    with pytest.raises(SpecError) as e:
        words("the cat " * 200)
    message = e.value.message
    assert "takes 401 steps" in message and "at most 50" in message
    assert len(message) < 160 and "…" in message and "\n" not in message


def test_a_vocabulary_without_unk_refuses_unknown_words() -> None:
    weights, vocabulary, _ = language_model("word_lm")
    no_unk = ("<none>", *vocabulary[1:])  # same size, so the weights still fit
    with pytest.raises(SpecError) as e:
        LanguageModelStage(weights, no_unk, text="the zebra", level="word")
    assert e.value.field == "sentence" and "word 'zebra' at position 1" in e.value.message
    with pytest.raises(SpecError, match="no <EOS>"):
        LanguageModelStage(weights, (UNK, "x", *vocabulary[2:]), text="the", level="word")
    with pytest.raises(SpecError, match="single characters, got 'the'"):
        LanguageModelStage(weights, vocabulary, text="the", level="char")


# -- with_temperature -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: words(ZEBRA, max_length=12),
        lambda: words(mode="sample", seed=19, max_length=15),
        lambda: chars("maranen"),
        lambda: chars(mode="sample", seed=3),
    ],
)
def test_with_temperature_keeps_everything_but_tau(make: object) -> None:
    lm = make()  # type: ignore[operator]
    hot = lm.with_temperature(2.0)
    assert hot is not lm and hot.temperature == 2.0 and lm.temperature == 1.0
    for attr in ("mode", "seed", "max_length", "level", "vocabulary", "name", "input_text"):
        assert getattr(hot, attr) == getattr(lm, attr), attr
    assert hot.weights is not None and all(hot.weights[k] is lm.weights[k] for k in lm.weights)
    fresh = LanguageModelStage(
        lm.weights,
        lm.vocabulary,
        lm.mode,
        lm.input_text,
        level=lm.level,
        seed=lm.seed,
        temperature=2.0,
        max_length=lm.max_length,
    )
    assert hot.ids == fresh.ids
    np.testing.assert_array_equal(hot.output, fresh.output)
    if lm.mode == "score":  # the same text, flatter distributions
        assert hot.ids == lm.ids
        assert float(hot.output.max(axis=1).mean()) < float(lm.output.max(axis=1).mean())
    assert hot.check_against_torch() < 1e-12
    assert lm.with_temperature(1.0).ids == lm.ids


@pytest.mark.parametrize("tau", [0, -1.0, 11.0, float("nan"), "hot"])
def test_with_temperature_refuses_a_bad_tau(tau: object) -> None:
    with pytest.raises(SpecError) as e:
        words(ZEBRA).with_temperature(tau)  # type: ignore[arg-type]
    assert e.value.field == "temperature"


# -- the scenario files ----------------------------------------------------------------------

LM = 'kind = "language_model"\ntitle = "t"\n'


def load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(LM + text, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        scenarios.load(path)
    (line,) = e.value.lines()
    return line.removeprefix(f"{path}: ")


def test_the_wrong_text_field_is_one_line_naming_it(tmp_path: Path) -> None:
    assert load_error(tmp_path, 'model = "word_lm"\nword = "zebra"\n') == (
        "word: 'word_lm' is a word-level model, which scores a sentence: give "
        'sentence = "…" instead of word'
    )
    assert load_error(tmp_path, 'sentence = "the cat sleeps"\n') == (
        "sentence: 'char_lm' is a character-level model, which scores a word: give "
        'word = "…" instead of sentence'
    )
    assert load_error(tmp_path, 'model = "word_lm"\nmode = "sample"\nsentence = "a"\n') == (
        "sentence: a sentence is scored in score mode; sample mode draws one"
    )
    assert "unknown model 'words'; valid: char_lm, word_lm" in load_error(
        tmp_path, 'model = "words"\n'
    )
    # an unknown word is no error for the word model; an unknown character is for the other
    path = tmp_path / "ok.toml"
    path.write_text(LM + 'model = "word_lm"\nsentence = "Zebras eat kale."\n', encoding="utf-8")
    (lm,) = scenarios.load(path).stages
    assert isinstance(lm, LanguageModelStage) and lm.text == "<UNK> <UNK> <UNK>"
    assert "'é' at position 1" in load_error(tmp_path, 'word = "héllo"\n')


def bundled(name: str) -> LanguageModelStage:
    (lm,) = scenarios.load(scenarios.resolve(name)).stages
    assert isinstance(lm, LanguageModelStage)
    return lm


def test_lm_words_score_description_is_true() -> None:
    lm = bundled("lm_words_score")
    assert lm.input_text == ZEBRA and lm.check_against_torch() < 1e-12
    description = scenarios.load(scenarios.resolve("lm_words_score")).description
    counts = Counter(w for s in corpus() for w in s)
    assert len(corpus()) == 2500 and len(lm.vocabulary) == 48 and counts["zebra"] == 4
    assert "zebra" not in lm.vocabulary and min(counts[w] for w in lm.vocabulary[2:]) == 47
    after_the = lm.step(1)
    assert after_the.prefix == "the" and after_the.token == UNK
    assert f"{after_the.p_chosen:.3f}" == "0.178"
    dist = after_the.distribution
    assert dist is not None
    order = [lm.vocabulary[int(k)] for k in np.argsort(-dist)]
    assert order[:2] == [UNK, "cow"] and f"{p_next(lm, 'cow', 1):.3f}" == "0.141"
    assert f"{lm.log_prob:.2f}" == "-10.05"
    assert f"{words(ZEBRA.replace('zebra', 'cat')).log_prob:.2f}" == "-11.08"
    after_tree = lm.step(6)
    assert after_tree.prefix.endswith("tree") and f"{p_next(lm, EOS, 6):.3f}" == "0.525"
    assert after_tree.distribution is not None
    assert int(np.argmax(after_tree.distribution)) == lm.eos
    assert lm.step(-1).prefix.endswith("all day") and f"{lm.step(-1).p_chosen:.3f}" == "0.998"
    for claim in ("2,500", "48 tokens", "46 words", "47 times", "4 times", "0.178", "0.141"):
        assert claim in description, claim
    for claim in ("−10.05", "−11.08", "(0.525)", "0.998"):
        assert claim in description, claim


def test_lm_words_sample_description_is_true() -> None:
    lm = bundled("lm_words_sample")
    assert lm.check_against_torch() < 1e-12 and lm.ended
    assert lm.text == "my young <UNK> eats <UNK> today"
    description = scenarios.load(scenarios.resolve("lm_words_sample")).description
    for i, prefix, p in ((2, "my young", "0.283"), (4, "my young <UNK> eats", "0.331")):
        step = lm.step(i)
        assert step.prefix == prefix and step.token == UNK and f"{step.p_chosen:.3f}" == p
        assert step.distribution is not None and int(np.argmax(step.distribution)) == lm.unk
        assert f"({p})" in description
    # the first <UNK> is where an animal goes (a verb follows), the second where a food goes
    assert sum(p_next(lm, v, 3) for v in VERBS) > 0.99
    assert sum(p_next(lm, f, 4) for f in ("fish", "milk", "bread", "cheese")) > 0.6
    today = lm.step(5)
    assert today.token == "today" and today.distribution is not None
    assert int(np.argmax(today.distribution)) == lm.eos and f"{p_next(lm, EOS, 5):.3f}" == "0.475"
    assert lm.step(-1).prefix.endswith("today") and f"{lm.step(-1).p_chosen:.3f}" == "0.996"
    for claim in ('"my young"', '"eats"', "(0.475)", "P(<EOS>) = 0.996", "twice"):
        assert claim in description, claim


# -- the panel --------------------------------------------------------------------------------


def test_panel_text_for_words() -> None:
    lm = words(ZEBRA)
    assert vocabulary_note(lm) == "V = 48 (<UNK>, <EOS> + 46 words)"
    assert vocabulary_note(chars("ab")) == "V = 27 (<EOS> + 26 letters)"
    seq = sequence_text(lm, lm.step(2)).plain
    assert seq == "the zebra→<UNK> sleeps under the tree all day <EOS>"
    assert sequence_text(chars("mara"), chars("mara").step(1)).plain == "mara <EOS>"
    inspector = inspector_text(lm, lm.step(1)).plain
    assert "x⟨2⟩ = one_hot('the')" in inspector
    assert "'zebra' is not among the model's 46 words, so it is read as <UNK>" in inspector
    assert "the sentence ends here" in inspector_text(lm, lm.step(-1)).plain
    assert "x⟨3⟩ = one_hot('<UNK>')" in inspector_text(lm, lm.step(2)).plain
    rows = running_text(lm, lm.step(-1)).plain.splitlines()
    assert len(rows) == 11 and rows[1].startswith("  t=1  the ")  # all 9 terms
    assert rows[-2].startswith("▶ t=9  <EOS>")
    long = words("the cat sees the dog and the dog sees the cat today")  # 13 terms
    rows = running_text(long, long.step(-1)).plain.splitlines()
    assert len(rows) == 12 and rows[1] == "  … 4 earlier term(s)"  # ten rows, the note one
    assert rows[2].startswith("  t=5 ") and rows[-2].startswith("▶ t=13 <EOS>")
    sample = words(mode="sample", seed=19)
    assert (
        "stands for every word outside the model's 46"
        in inspector_text(sample, sample.step(2)).plain
    )


def test_short_prefix_keeps_the_last_words() -> None:
    assert short("the cat") == "the cat"
    assert short("the <UNK> sleeps under the tree all day today", 20) == "…tree all day today"
    assert short("abcdefghijklmnopqrstuvwxyz", 10) == "…rstuvwxyz"


def plain(widget: Static) -> str:
    visual = widget.visual
    assert isinstance(visual, Content)
    return visual.plain


@pytest.mark.parametrize("size", [(120, 40), (100, 30)])
async def test_panel_fits_at_both_sizes(size: tuple[int, int]) -> None:
    """Bars, running sum and title fit their boxes, at the first step and at the last (a bar
    of 0.998, the longest condition)."""
    app = NetsimApp(scenarios.load(scenarios.resolve("lm_words_score")), start=1, check=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        panel = app.screen.query_one(LanguageModelPanel)
        box = panel.query_one("#lm-dist-box")
        assert "'the'" in str(box.border_title)
        for _ in range(2):
            for name in ("#lm-dist", "#lm-running", "#lm-text"):
                widget = panel.query_one(name, Static)
                width = max(map(len, plain(widget).splitlines()))
                assert width <= widget.content_size.width, name
            title = str(box.border_title)
            assert len(title) + 6 <= box.region.width
            await pilot.press("end")
            await pilot.pause()
            await pilot.pause()
        assert "all day'" in title and panel._step is not None and panel._step.t == 9
