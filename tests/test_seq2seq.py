"""The date translator as a stage: the engine against the NumPy reference of
tests/test_translator_data.py and against PyTorch, the attention's arithmetic, the held-out
accuracy, the decoder's batched rows, <UNK>, and every bad input."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from test_translator_data import SETS, translate

import scenarios
from engine.core import Retextable
from engine.decoding import Decoder
from engine.errors import SpecError
from engine.limits import MAX_INPUT_TEXT, MAX_LENGTH
from engine.seq2seq import (
    WEIGHT_KEYS,
    TranslationStage,
    TranslationStep,
    Translator,
    TranslatorDecoder,
)
from scenarios.errors import ScenarioError
from scenarios.translator import read_translator, record, translator
from tui.cli import cli

DATA = Path(scenarios.__file__).parent / "data"
TEXTS = ["Tuesday 09/10/2021", "5 march 2003", "3 May 1979", "2003-03-05", "xyz", "5/3/49"]


@pytest.fixture(scope="module")
def model() -> Translator:
    return translator()


@pytest.fixture(scope="module")
def reference_weights() -> dict[str, np.ndarray]:
    """The shipped arrays as tests/test_translator_data.py's own decoder takes them."""
    with np.load(DATA / "translator.npz", allow_pickle=False) as npz:
        raw = {k: npz[k] for k in npz.files}
    w = {k: v.astype(np.float64) for k, v in raw.items() if v.dtype == np.float32}
    w["input_chars"], w["output_chars"] = raw["input_chars"], raw["output_chars"]
    return w


def shipped_arrays() -> dict[str, np.ndarray]:
    with np.load(DATA / "translator.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def vocabularies(model: Translator) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return model.input_vocabulary, model.vocabulary


# -- the numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS)
def test_engine_equals_the_numpy_reference(
    model: Translator, reference_weights: dict[str, np.ndarray], text: str
) -> None:
    stage = TranslationStage(model, text)
    want_text, want_alphas = translate(reference_weights, text)
    assert stage.output_text == want_text
    # The reference stops at <EOS> without keeping its row; ours has it as the last step.
    rows = len(want_alphas)
    np.testing.assert_allclose(stage.alpha[:rows], np.array(want_alphas), rtol=0, atol=1e-12)


@pytest.mark.parametrize("text", TEXTS)
def test_engine_equals_torch(model: Translator, text: str) -> None:
    stage = TranslationStage(model, text)
    assert stage.output.shape == (len(stage.chosen), len(model.vocabulary))
    assert stage.check_against_torch() <= stage.tolerance()


def test_encoder_states_equal_torch_gru(model: Translator) -> None:
    """→h and ←h of every input position equal nn.GRU(bidirectional=True)'s output halves."""
    import torch

    stage = TranslationStage(model, "Sat 5 Mar 2003")
    w, h = model.weights, model.hidden_size
    gru = torch.nn.GRU(len(model.input_vocabulary), h, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for name, p in gru.named_parameters():
            p.copy_(torch.from_numpy(np.array(w[f"encoder.{name}"])))
        x = torch.nn.functional.one_hot(torch.tensor(stage.ids), len(model.input_vocabulary))
        out = gru(x.to(torch.float64)[:, None])[0][:, 0].numpy()
    np.testing.assert_allclose(stage.encoding.forward, out[:, :h], rtol=0, atol=1e-12)
    np.testing.assert_allclose(stage.encoding.backward, out[:, h:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(stage.encoding.h, out, rtol=0, atol=1e-12)


def test_attention_arithmetic(model: Translator) -> None:
    stage = TranslationStage(model, "Saturday, March 5, 2003")
    enc = stage.encoding
    w = model.weights
    for t in range(1, len(stage.chosen) + 1):
        step = stage.step(2 * stage.tx + t)
        assert step.phase == "decoder" and step.t == t
        assert step.alpha is not None and step.energies is not None and step.context is not None
        assert abs(step.alpha.sum() - 1.0) < 1e-12 and (step.alpha >= 0).all()
        # e⟨t,t′⟩ = vᵀ·tanh(W_s·s⟨t−1⟩ + W_h·h⟨t′⟩), written out per input position
        e = [
            w["attention.v.weight"][0]
            @ np.tanh(w["attention.w_s.weight"] @ step.state_prev + w["attention.w_h.weight"] @ h)
            for h in enc.h
        ]
        np.testing.assert_allclose(step.energies, e, rtol=0, atol=1e-12)
        np.testing.assert_allclose(step.alpha, np.exp(e) / np.exp(e).sum(), rtol=0, atol=1e-12)
        # c⟨t⟩ = Σ α⟨t,t′⟩·h⟨t′⟩
        c = sum(a * h for a, h in zip(step.alpha, enc.h, strict=True))
        np.testing.assert_allclose(step.context, c, rtol=0, atol=1e-12)
    np.testing.assert_allclose(stage.alpha.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_bridge_is_the_conditional_language_models_first_state(model: Translator) -> None:
    stage = TranslationStage(model, "3 May 1979")
    bridge = stage.step(2 * stage.tx)
    assert bridge.phase == "bridge" and bridge.t == 0
    w, enc = model.weights, stage.encoding
    joined = np.concatenate([enc.forward[-1], enc.backward[0]])
    np.testing.assert_array_equal(bridge.state_prev, joined)
    np.testing.assert_allclose(
        bridge.state, np.tanh(w["init.weight"] @ joined + w["init.bias"]), rtol=0, atol=1e-15
    )
    assert "conditional language model" in bridge.explanation
    assert "instead of a zero vector" in bridge.explanation
    first = stage.step(2 * stage.tx + 1)
    np.testing.assert_array_equal(first.state_prev, bridge.state)


def test_running_log_probability(model: Translator) -> None:
    stage = TranslationStage(model, "2003-03-05")
    total = 0.0
    for t in range(1, len(stage.chosen) + 1):
        step = stage.step(2 * stage.tx + t)
        assert step.distribution is not None and step.chosen is not None
        assert step.log_p is not None and step.log_prob_total is not None
        assert step.chosen == int(np.argmax(step.distribution))  # greedy
        assert step.log_p == pytest.approx(math.log(step.distribution[step.chosen]), abs=1e-12)
        total += step.log_p
        assert step.log_prob_total == pytest.approx(total, abs=1e-12)
        assert step.value == step.distribution[step.chosen]
        assert step.output_tokens == stage.tokens[:t]
        assert step.top[0] == (step.token, step.distribution[step.chosen])
        probs = [p for _, p in step.top]
        assert len(step.top) == 5 and probs == sorted(probs, reverse=True)
        assert f"log P(ŷ⟨1…{t}⟩|x) = " in step.explanation
    assert stage.log_prob == pytest.approx(total, abs=1e-12)
    assert stage.log_prob < 0


def test_steps_in_order(model: Translator) -> None:
    text = "5 march 2003"
    stage = TranslationStage(model, text)
    tx, ty = len(text) + 1, len(stage.chosen)
    assert stage.tx == tx and len(stage) == 2 * tx + 1 + ty
    steps = [stage.step(i) for i in range(len(stage))]
    assert all(isinstance(s, TranslationStep) for s in steps)
    assert [s.phase for s in steps] == ["forward"] * tx + ["backward"] * tx + ["bridge"] + [
        "decoder"
    ] * ty
    assert [s.t for s in steps] == [
        *range(1, tx + 1),
        *range(tx, 0, -1),
        0,
        *range(1, ty + 1),
    ]
    h = model.hidden_size
    for s in steps[:tx]:
        np.testing.assert_array_equal(s.state, stage.encoding.forward[s.t - 1])
        prev = stage.encoding.forward[s.t - 2] if s.t > 1 else np.zeros(h)
        np.testing.assert_array_equal(s.state_prev, prev)
        assert s.alpha is None and s.alpha_matrix is None and s.output_tokens == ()
        assert f"→h⟨{s.t}⟩" in s.explanation
    for s in steps[tx : 2 * tx]:
        np.testing.assert_array_equal(s.state, stage.encoding.backward[s.t - 1])
        prev = stage.encoding.backward[s.t] if s.t < tx else np.zeros(h)
        np.testing.assert_array_equal(s.state_prev, prev)
        assert f"←h⟨{s.t}⟩" in s.explanation
    assert steps[0].input_tokens == (*text, "<EOS>")
    # The α matrix fills in row by row: rows after t are not computed yet.
    for s in steps[2 * tx + 1 :]:
        assert s.alpha_matrix is not None and s.alpha_matrix.shape == (ty, tx)
        np.testing.assert_array_equal(s.alpha_matrix[: s.t], stage.alpha[: s.t])
        assert np.isnan(s.alpha_matrix[s.t :]).all()
    assert steps[-1].token == "<EOS>" and stage.ended
    assert stage.step(-1).index == len(stage) - 1
    with pytest.raises(IndexError):
        stage.step(len(stage))


def test_decoder_explanation_names_attention_and_probability(model: Translator) -> None:
    stage = TranslationStage(model, "5 march 2003")
    step = stage.step(2 * stage.tx + 3)
    assert step.alpha is not None
    where = int(np.argmax(step.alpha))
    assert step.explanation.startswith("t = 3: e⟨3,t′⟩ = vᵀ·tanh(W_s·s⟨2⟩ + W_h·h⟨t′⟩); ")
    assert f"puts {step.alpha[where]:.2f} on x⟨{where + 1}⟩ = {stage.read[where]!r}" in (
        step.explanation
    )
    assert f"ŷ⟨3⟩ = {step.token!r} with P = " in step.explanation


def test_held_out_accuracy_matches_the_record(model: Translator) -> None:
    """200 held-out dates, greedy in float64: as many right as translator.json says (its
    `test_errors` lists the first errors, so those among the 200 are the only ones)."""
    rec = record()
    pairs = SETS["test"][:200]
    wrong = {e["input"] for e in rec["test_errors"]}
    assert len(rec["test_errors"]) < 10  # the list is complete, not cut at ten
    correct = sum(TranslationStage(model, s).output_text == t for s, t in pairs)
    assert correct == len(pairs) - len(wrong & {s for s, _ in pairs})
    assert model.accuracy == f"held-out exact match {rec['test_correct']:,}/{rec['test_count']:,}"
    assert TranslationStage(model, "5 march 2003").accuracy == model.accuracy


def test_recorded_examples(model: Translator) -> None:
    for example in record()["examples"]:
        assert TranslationStage(model, example["input"]).output_text == example["output"]


def test_max_length_stops_the_decoder(model: Translator) -> None:
    stage = TranslationStage(model, "5 march 2003", max_length=4)
    assert len(stage.chosen) == 4 and not stage.ended
    assert stage.output_text == "2003"
    assert len(stage) == 2 * 13 + 1 + 4


# -- the decoder ---------------------------------------------------------------------------


def test_decoder_is_a_decoder_and_matches_the_stage(model: Translator) -> None:
    dec = model.decoder("Wed 5 Mar 2003")
    assert isinstance(dec, Decoder) and isinstance(dec, TranslatorDecoder)
    assert dec.vocabulary == model.vocabulary and dec.eos == 0
    stage = TranslationStage(model, "Wed 5 Mar 2003")
    state = dec.start()
    for t, k in enumerate(stage.chosen):
        np.testing.assert_array_equal(state.log_p[0], stage.log_probs[t])
        np.testing.assert_array_equal(state.arrays[0][0], stage.states[t + 1])
        state = dec.advance(state, np.array([k]))


def test_decoder_rows_batched_equal_rows_alone(model: Translator) -> None:
    dec = model.decoder("Tuesday 09/10/2021")
    state = dec.start()
    fed = [[2, 1, 11, 5], [3, 3, 3, 3], [0, 4, 9, 2]]
    fed += np.random.default_rng(1).integers(0, len(model.vocabulary), (17, 4)).tolist()
    batch = state.take([0] * len(fed))
    for col in range(4):
        batch = dec.advance(batch, np.array([row[col] for row in fed]))
    for r, row in enumerate(fed):
        alone = state
        for k in row:
            alone = dec.advance(alone, np.array([k]))
        np.testing.assert_array_equal(batch.log_p[r], alone.log_p[0])
        np.testing.assert_array_equal(batch.arrays[0][r], alone.arrays[0][0])


def test_attention_batched(model: Translator) -> None:
    dec = model.decoder("5 march 2003")
    s = np.random.default_rng(0).normal(size=(4, 2 * model.hidden_size))
    energies, alpha, context = dec.attention(s)
    assert energies.shape == alpha.shape == (4, 13) and context.shape == (4, 64)
    for b in range(4):
        e1, a1, c1 = dec.attention(s[b : b + 1])
        np.testing.assert_array_equal(energies[b], e1[0])
        np.testing.assert_array_equal(alpha[b], a1[0])
        np.testing.assert_array_equal(context[b], c1[0])
    np.testing.assert_allclose(context, alpha @ dec.encoding.h, rtol=0, atol=1e-13)


def test_reference_log_probs_teacher_forced(model: Translator) -> None:
    dec = model.decoder("March 5, 2003")
    ids = [3, 1, 1, 4, 11, 1, 4, 11, 1, 6, 0]  # 2003-03-05 <EOS>
    state, ours = dec.start(), []
    for k in ids:
        ours.append(state.log_p[0, k])
        state = dec.advance(state, np.array([k]))
    np.testing.assert_allclose(dec.reference_log_probs(ids), ours, rtol=0, atol=1e-9)


# -- <UNK> ---------------------------------------------------------------------------------


def test_unknown_characters_become_unk(
    model: Translator, reference_weights: dict[str, np.ndarray]
) -> None:
    text = "5 mé# 2003"
    assert "é" not in model.input_vocabulary and "#" not in model.input_vocabulary
    stage = TranslationStage(model, text)
    assert stage.read == ("5", " ", "m", "<UNK>", "<UNK>", " ", "2", "0", "0", "3", "<EOS>")
    assert stage.ids[3] == stage.ids[4] == 1
    assert stage.unknown == (4, 5)
    assert stage.output_text == translate(reference_weights, text)[0]
    step = stage.step(3)  # the forward encoder reading x⟨4⟩
    assert step.input_tokens[3] == "<UNK>"
    assert "x⟨4⟩ = <UNK> (the translator does not know 'é')" in step.explanation
    assert stage.check_against_torch() <= stage.tolerance()


# -- Retextable ----------------------------------------------------------------------------


def test_retextable(model: Translator) -> None:
    stage = TranslationStage(model, "5 march 2003", max_length=11)
    assert isinstance(stage, Retextable)
    assert stage.text_field == "text" and stage.input_text == "5 march 2003"
    other = stage.with_text("Oct 20, 2019")
    assert isinstance(other, TranslationStage)
    assert other.output_text == "2019-10-20" and other.max_length == 11
    with pytest.raises(SpecError) as err:
        stage.with_text("   ")
    assert err.value.field == "text"


def test_describe_is_json(model: Translator) -> None:
    stage = TranslationStage(model, "5 mé 2003")
    d = json.loads(json.dumps(stage.describe(), allow_nan=False))
    assert d["kind"] == "translation" and d["output_text"] == stage.output_text
    assert d["input"]["tokens"] == list(stage.read)
    assert d["output"]["shape"] == list(stage.output.shape)
    assert d["accuracy"] == model.accuracy and d["steps"] == len(stage)
    assert set(d["parameters"]) == set(WEIGHT_KEYS)


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "blank"),
        ("\t\n", "blank"),
        ("1" * (MAX_INPUT_TEXT + 1), f"at most {MAX_INPUT_TEXT}"),
        (5, "expected a text"),
    ],
)
def test_bad_text(model: Translator, text: Any, says: str) -> None:
    with pytest.raises(SpecError) as err:
        TranslationStage(model, text)
    assert err.value.field == "text" and says in err.value.message
    assert "\n" not in err.value.message[:200]


def test_longest_text_is_read(model: Translator) -> None:
    stage = TranslationStage(model, "5 march 2003 " * 15 + "x" * (MAX_INPUT_TEXT - 195))
    assert stage.tx == MAX_INPUT_TEXT + 1


@pytest.mark.parametrize("max_length", [0, -1, MAX_LENGTH + 1, 2.5, True, "12"])
def test_bad_max_length(model: Translator, max_length: Any) -> None:
    with pytest.raises(SpecError) as err:
        TranslationStage(model, "5 march 2003", max_length=max_length)
    assert err.value.field == "max_length"


def damaged(change: Callable[[dict[str, np.ndarray]], None]) -> dict[str, np.ndarray]:
    arrays = shipped_arrays()
    change(arrays)
    return arrays


@pytest.mark.parametrize(
    ("change", "vocab_change", "says"),
    [
        (lambda a: a.pop("out.bias"), None, "'out.bias' is missing"),
        (
            lambda a: a.__setitem__("encoder.weight_ih_l0", a["encoder.weight_ih_l0"][:, :-1]),
            None,
            "encoder.weight_ih_l0 has shape (96, 57), expected (96, 58)",
        ),
        (
            lambda a: a.__setitem__("out.weight", np.zeros((13, 128), np.float32)),
            None,
            "out.weight has shape (13, 128), expected (12, 128)",
        ),
        (None, "input", "encoder.weight_ih_l0 has shape (96, 58), expected (96, 59)"),
        (None, "output", "decoder.weight_ih has shape (192, 76), expected (192, 77)"),
        (
            lambda a: a.__setitem__("encoder.weight_hh_l0", np.zeros((96, 31))),
            None,
            "encoder.weight_hh_l0 has shape (96, 31), expected (3H, H)",
        ),
        (
            lambda a: a.__setitem__("init.bias", np.full(64, np.nan)),
            None,
            "init.bias holds values that are not finite",
        ),
        (
            lambda a: a.__setitem__("init.bias", np.array(["x"] * 64)),
            None,
            "init.bias holds <U1 values, not numbers",
        ),
    ],
)
def test_damaged_or_mismatched_weights(
    model: Translator,
    change: Callable[[dict[str, np.ndarray]], None] | None,
    vocab_change: str | None,
    says: str,
) -> None:
    arrays = damaged(change) if change else shipped_arrays()
    inp, out = vocabularies(model)
    if vocab_change == "input":
        inp = (*inp, "é")
    elif vocab_change == "output":
        out = (*out, "/")
    with pytest.raises(SpecError) as err:
        Translator.from_arrays(arrays, inp, out, source="bad.npz")
    assert err.value.field == "model"
    assert err.value.message.startswith("bad.npz: ") and says in err.value.message


def test_mismatched_weight_file_on_disk(tmp_path: Path, model: Translator) -> None:
    """A weight file whose vocabulary array is one character longer than its weights."""
    arrays = shipped_arrays()
    arrays["input_chars"] = np.frombuffer(bytes(arrays["input_chars"]) + b"~", np.uint8)
    path = tmp_path / "translator.npz"
    np.savez(path, **arrays)
    with pytest.raises(SpecError) as err:
        read_translator(path)
    assert err.value.field == "model"
    assert "encoder.weight_ih_l0 has shape (96, 58), expected (96, 59)" in err.value.message
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read the translator"):
        read_translator(path)


def test_vocabulary_problems(model: Translator) -> None:
    arrays = shipped_arrays()
    inp, out = vocabularies(model)
    for bad_inp, bad_out, says in [
        (inp[1:], out, "must start with <EOS>, <UNK>"),
        (inp, out[1:], "must start with <EOS>"),
        ((*inp[:-1], "2"), out, "lists '2' twice"),
        ((*inp[:-1], "ab"), out, "not one character"),
    ]:
        with pytest.raises(SpecError) as err:
            Translator.from_arrays(arrays, bad_inp, bad_out, source="x.npz")
        assert err.value.field == "model" and says in err.value.message


# -- scenario files -------------------------------------------------------------------------

BASE = 'kind = "translation"\ntitle = "t"\n'


def check(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", str(path)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('text = ""\n', "text"),
        ('text = "   "\n', "text"),
        (f'text = "{"1" * (MAX_INPUT_TEXT + 1)}"\n', "text"),
        ('text = "5 march 2003"\nmax_length = 0\n', "max_length"),
        ('text = "5 march 2003"\nmax_length = 51\n', "max_length"),
        ('text = "5 march 2003"\nreference = "2003/03/05"\n', "reference"),
        ('text = "5 march 2003"\nreference = "2003-03-05x"\n', "reference"),
        ('text = "5 march 2003"\nbeam_width = 0\n', "beam_width"),
        ('text = "5 march 2003"\nbeam_width = 1001\n', "beam_width"),
        ('text = "5 march 2003"\nalpha = -0.1\n', "alpha"),
        ('text = "5 march 2003"\nalpha = 1.5\n', "alpha"),
        ('text = "5 march 2003"\nalpha = nan\n', "alpha"),
        ('text = "5 march 2003"\nreference = ""\n', "reference"),
        ("max_length = 12\n", "text"),
        ("text = 2003\n", "text"),
        ('text = "5 march 2003"\ncolour = "red"\n', "colour"),
    ],
)
def test_bad_scenario_is_one_line_naming_the_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASE + body, encoding="utf-8")
    code, out, err = check(path)
    assert code != 0 and out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"{path}: {field}: ")
    assert "Traceback" not in err


def test_scenario_with_unknown_characters_loads(tmp_path: Path) -> None:
    path = tmp_path / "unk.toml"
    path.write_text(BASE + 'text = "5 mé# 2003"\n', encoding="utf-8")
    sim = scenarios.load(path)
    stage = sim.stages[0]
    assert isinstance(stage, TranslationStage) and stage.read[3:5] == ("<UNK>", "<UNK>")


def test_scenario_error_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASE + 'text = "5 march 2003"\nreference = "2003-03-O5"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        scenarios.load(path)
    (line,) = str(err.value).splitlines()
    assert line.startswith(f"{path}: reference: ")
    assert "'O' at position 8" in line and "0123456789-" in line


def reject(constant: str) -> float:
    raise AssertionError(f"{constant} in the trace header")


@pytest.mark.parametrize(
    "name", ["translate_date", "translate_attention", "translate_error_analysis"]
)
def test_bundled_scenarios_check_and_trace(name: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["check", name], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout.endswith(": ok\n")
    sim = scenarios.load(scenarios.resolve(name))
    translation = sim.stages[0]
    assert isinstance(translation, TranslationStage)
    assert [s.kind for s in sim.stages] == ["translation", "beam_search"]
    # The translation's steps; the header describes every stage.
    selected = f":{len(translation)}"
    result = runner.invoke(
        cli, ["trace", name, "--format", "json", "--steps", selected], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = json.loads(lines[0], parse_constant=reject)  # no NaN or infinity in the header
    steps = [json.loads(line) for line in lines[1:]]
    assert header["steps"] == len(sim) and len(steps) == len(translation)
    stage = header["stages"][0]
    assert stage["kind"] == "translation" and stage["output_text"] == translation.output_text
    assert header["stages"][1]["kind"] == "beam_search"
    assert [r["phase"] for r in steps] == [translation.step(i).phase for i in range(len(steps))]
    assert [r["value"] for r in steps] == [translation.step(i).value for i in range(len(steps))]
    result = runner.invoke(cli, ["trace", name, "--steps", ":3"], catch_exceptions=False)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3


@pytest.mark.parametrize(("text", "max_length"), [("5 march 2003", 12), ("9" * 200, 50)])
def test_peak_estimate_bounds_the_numpy_peak(model: Translator, text: str, max_length: int) -> None:
    """The estimate charged to the budget bounds what building the stage, stepping it and
    describing it allocate (traced by tracemalloc; PyTorch's own memory is not traced)."""
    import tracemalloc

    tracemalloc.start()
    try:
        stage = TranslationStage(model, text, max_length=max_length)
        for i in range(len(stage)):
            stage.step(i)
        stage.describe()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= model.peak_bytes(len(text), max_length)


# -- the beam search over the translator ----------------------------------------------------


@pytest.mark.parametrize("text", ["5 march 2003", "2003-03-05", "xyz"])
def test_beam_of_one_is_the_greedy_translation(model: Translator, text: str) -> None:
    from engine.beam import BeamSearchStage

    stage = TranslationStage(model, text)
    search = BeamSearchStage(stage.decoder, 1, stage.max_length, 0.7)
    assert list(search.best.tokens) == stage.chosen
    assert search.best.log_prob == pytest.approx(stage.log_prob, abs=1e-12)
    assert search.check_against_torch() <= 1e-9


def test_translation_scenario_builds_both_stages_and_retexts(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(BASE + 'text = "5 march 2003"\nbeam_width = 4\nalpha = 0.5\n', "utf-8")
    sim = scenarios.load(path)
    stage, search = sim.stages
    assert isinstance(stage, TranslationStage) and search.kind == "beam_search"
    assert isinstance(stage, Retextable) and isinstance(search, Retextable)
    assert (search.beam_width, search.alpha, search.input_text) == (4, 0.5, "5 march 2003")
    typed = "Oct 20, 2019"
    again = [s.with_text(typed) for s in sim.stages]
    assert isinstance(again[0], TranslationStage) and again[0].output_text == "2019-10-20"
    assert again[1].text_of(again[1].best) == "2019-10-20"  # type: ignore[attr-defined]
    for s in sim.stages:
        with pytest.raises(SpecError) as err:
            s.with_text("")
        assert err.value.field == "text"


def test_beam_search_kind_over_the_translator(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        'kind = "beam_search"\ntitle = "t"\nmodel = "translator"\ntext = "5 mé 2003"\n'
        'reference = "2003-05-05"\n',
        "utf-8",
    )
    (search,) = scenarios.load(path).stages
    assert search.decoder.read[3] == "<UNK>"  # type: ignore[attr-defined]
    assert search.analysis is not None  # type: ignore[attr-defined]
    path.write_text('kind = "beam_search"\ntitle = "t"\nmodel = "translator"\n', "utf-8")
    code, out, err = check(path)
    assert code != 0 and out == "" and err.startswith(f"{path}: text: ") and err.count("\n") == 1


def test_every_problem_of_a_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BASE + 'text = " "\nreference = "a"\nalpha = 2\nbeam_width = 0\n', "utf-8")
    code, out, err = check(path)
    assert code != 0 and out == ""
    fields = [line.removeprefix(f"{path}: ").split(": ")[0] for line in err.splitlines()]
    assert sorted(fields) == ["alpha", "beam_width", "reference", "text"]


@pytest.mark.parametrize(
    ("key", "refused"),
    [("attention.v.weight", True), ("out.weight", True), ("init.weight", False)],
)
def test_weights_that_overflow(model: Translator, key: str, refused: bool) -> None:
    """Finite weights so large that float64 overflows: one SpecError where what is shown would
    not be finite, and never a RuntimeWarning (the bridge's tanh saturates to ±1: no error)."""
    import warnings

    arrays = shipped_arrays()
    arrays[key] = arrays[key].astype(np.float64) * 1e308
    huge = Translator.from_arrays(arrays, *vocabularies(model), source="huge.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if not refused:
            stage = TranslationStage(huge, "5 march 2003")
            assert np.isfinite(stage.output).all() and np.isfinite(stage.states).all()
            assert (np.abs(stage.encoding.s0) <= 1.0).all()  # tanh of ±inf is ±1
            return
        with pytest.raises(SpecError) as err:
            TranslationStage(huge, "5 march 2003")
    assert err.value.field == "model" and err.value.message.startswith("huge.npz: ")
    assert "overflow float64" in err.value.message


def test_a_translation_cut_by_max_length_says_so_on_its_last_step() -> None:
    from scenarios.translator import translator

    short = TranslationStage(translator(), "3 May 1979", max_length=4)
    assert not short.ended and short.output_text == "1979"
    last = short.step(len(short) - 1)
    assert "no <EOS> within max_length = 4" in last.explanation
    assert "no <EOS>" not in short.step(len(short) - 2).explanation
    whole = TranslationStage(translator(), "3 May 1979")
    assert whole.ended and "no <EOS>" not in whole.step(len(whole) - 1).explanation
