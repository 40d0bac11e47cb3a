"""The character-level language model: probabilities against torch.nn.RNN, the running
log-probability, seeded sampling, temperature, the bundled scenarios and every error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scenarios
from engine.errors import SpecError
from engine.language import EOS, LanguageModelStage, LmStep, char_vocabulary
from scenarios import ScenarioError
from scenarios.language import language_model

BUNDLED = ["lm_score_name", "lm_score_unlikely", "lm_sample", "lm_sample_cold"]
LM = 'kind = "language_model"\ntitle = "t"\n'


def stage(word: str | None = None, **kw: object) -> LanguageModelStage:
    weights, vocabulary, level = language_model("char_lm")
    return LanguageModelStage(weights, vocabulary, text=word, level=level, **kw)  # type: ignore[arg-type]


def entropy(p: np.ndarray) -> float:
    return float(-(p * np.log(np.clip(p, 1e-300, None))).sum())


def test_shipped_model_and_corpus() -> None:
    weights, vocabulary, level = language_model("char_lm")
    assert vocabulary == char_vocabulary("abcdefghijklmnopqrstuvwxyz") and level == "char"
    assert weights["w_ya"].shape == (27, weights["weight_hh_l0"].shape[0])
    names = (scenarios.BUNDLED_DIR / "data" / "names.txt").read_text(encoding="utf-8").split()
    assert len(names) == len(set(names)) >= 2000
    assert all(n.isascii() and n.isalpha() and n.islower() for n in names)


@pytest.mark.parametrize(
    "kw",
    [
        {"mode": "score", "word": "maranen"},
        {"mode": "score", "word": "xqzvk", "temperature": 2.0},
        {"mode": "sample", "seed": 1},
        {"mode": "sample", "seed": 5, "temperature": 0.5},
    ],
)
def test_probabilities_match_torch_and_sum_to_one(kw: dict[str, object]) -> None:
    lm = stage(**kw)
    assert lm.check_against_torch() < 1e-12
    np.testing.assert_allclose(lm.output.sum(axis=1), 1.0, atol=1e-12)


def test_score_steps_and_running_log_probability() -> None:
    lm = stage(mode="score", word="mara")
    assert len(lm) == 5 and lm.text == "mara" and lm.ended
    steps = [lm.step(i) for i in range(len(lm))]
    assert [s.token for s in steps] == ["m", "a", "r", "a", EOS]
    assert all(s.given == s.token and not s.unknown for s in steps)
    assert [s.prefix for s in steps] == ["", "m", "ma", "mar", "mara"]
    assert all(isinstance(s, LmStep) and s.value == s.p_chosen for s in steps)
    logs = np.log([s.p_chosen for s in steps])
    np.testing.assert_allclose([s.log_prob_total for s in steps], np.cumsum(logs), atol=1e-12)
    assert lm.log_prob == pytest.approx(logs.sum(), abs=1e-12)
    assert steps[-1].prob_total == pytest.approx(float(np.prod([s.p_chosen for s in steps])))
    # x⟨1⟩ is zeros; x⟨t⟩ is the one-hot of y⟨t−1⟩.
    x = lm.inputs(lm.ids)
    assert not x[0].any() and [int(np.argmax(r)) for r in x[1:]] == lm.ids[:-1]


def test_a_corpus_name_is_likelier_than_a_jumble() -> None:
    assert stage(word="maranen").log_prob > stage(word="xqzvk").log_prob + 20


def test_sampling_is_reproducible_and_ends() -> None:
    for seed in range(20):
        a, b = stage(mode="sample", seed=seed), stage(mode="sample", seed=seed)
        assert a.ids == b.ids
        assert a.ended or len(a) == a.max_length
        assert 0 not in a.ids[:-1]
    texts = {stage(mode="sample", seed=s).text for s in range(20)}
    assert len(texts) > 10
    short = stage(mode="sample", seed=0, max_length=2)
    assert len(short) <= 2


def test_sampled_character_is_scored_the_same() -> None:
    """Scoring a sample gives back the distributions it was drawn from."""
    lm = stage(mode="sample", seed=4)
    assert lm.ended
    again = stage(mode="score", word=lm.text)
    np.testing.assert_allclose(again.output, lm.output, atol=1e-12)


def test_temperature_sharpens() -> None:
    word = "maranen"
    h = [
        np.mean([entropy(p) for p in stage(word=word, temperature=tau).output])
        for tau in (2.0, 1.0, 0.5, 0.1)
    ]
    assert h == sorted(h, reverse=True) and h[-1] < h[0]


@pytest.mark.parametrize(
    ("kw", "field", "text"),
    [
        ({"mode": "guess"}, "mode", "valid: score, sample"),
        ({"word": "Mara"}, "word", "'M' at position 0"),
        ({"word": ""}, "word", "at least one letter"),
        ({"word": "abc", "max_length": 3}, "word", "max_length = 3"),
        ({"temperature": 0}, "temperature", "must be > 0"),
        ({"temperature": 100.0}, "temperature", "≤ 10"),
        ({"max_length": 51}, "max_length", "≤ 50"),
        # a sample may start from a text, but must still draw one token within max_length
        ({"mode": "sample", "word": "abc", "max_length": 3}, "word", "at least one more"),
        ({"mode": "sample", "word": "Ab"}, "word", "'A' at position 0"),
        ({"seed": -1, "word": "ab"}, "seed", "≥ 0"),
    ],
)
def test_errors_name_the_field(kw: dict[str, object], field: str, text: str) -> None:
    with pytest.raises(SpecError) as e:
        stage(**kw)
    assert e.value.field == field and text in e.value.message


def test_bad_weights_are_refused() -> None:
    weights, vocabulary, _ = language_model("char_lm")
    with pytest.raises(SpecError, match="w_ya"):
        LanguageModelStage(weights, vocabulary[:-1], text="ab")
    broken = dict(weights, weight_hh_l0=np.zeros((3, 3)))
    with pytest.raises(SpecError) as e:
        LanguageModelStage(broken, vocabulary, text="ab")
    assert e.value.field == "model" and "weights.weight_ih: expected (3, 27)" in e.value.message


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled(name: str) -> None:
    sim = scenarios.load(scenarios.resolve(name))
    (lm,) = sim.stages
    assert isinstance(lm, LanguageModelStage) and lm.check_against_torch() < 1e-12
    assert lm.ended


def test_scenario_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(LM + 'mode = "sample"\ntemperature = -1\nmodel = "gpt"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        scenarios.load(path)
    assert "model" in str(e.value) and "unknown model 'gpt'" in str(e.value)
    path.write_text(LM + 'word = "héllo"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="'é' at position 1"):
        scenarios.load(path)
    path.write_text(LM + 'mode = "sample"\ntemperature = -1\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="temperature"):
        scenarios.load(path)
