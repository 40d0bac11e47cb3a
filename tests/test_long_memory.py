"""The long-memory pair (long_memory_lstm, long_memory_rnn): both match PyTorch, and the claims
in their descriptions hold for the shipped weights."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import scenarios
from engine.recurrent import RecurrentStage, sigmoid
from scenarios import ScenarioError
from tui.numbers import fmt_exact
from tui.panels.recurrent import contrast_text


def stage_of(name: str) -> RecurrentStage:
    (stage,) = scenarios.load(scenarios.resolve(name)).stages
    assert isinstance(stage, RecurrentStage)
    return stage


def with_value(stage: RecurrentStage, value: float) -> RecurrentStage:
    """The same stage with x⟨1⟩[0] (row 0 of the input) replaced by ``value``."""
    x = np.array(stage.x, dtype=float)
    x[0, 0] = value
    w = {k: np.array(getattr(stage, k)) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    return RecurrentStage(
        x, stage.cell, stage.hidden_size, **w, w_ya=np.array(stage.w_ya), b_y=np.array(stage.b_y)
    )


def description(name: str) -> str:
    return scenarios.load(scenarios.resolve(name)).description


def forget_gates(stage: RecurrentStage) -> np.ndarray:
    """Γf (T, H), recomputed from the weights and the states."""
    h = stage.hidden_size
    prev = np.vstack([np.zeros(h), stage.output[:-1]])
    wi, wh = np.array(stage.weight_ih)[h : 2 * h], np.array(stage.weight_hh)[h : 2 * h]
    b = (np.array(stage.bias_ih) + np.array(stage.bias_hh))[h : 2 * h]
    return sigmoid(np.array(stage.x) @ wi.T + prev @ wh.T + b)


def test_both_match_torch() -> None:
    for name, cell in [("long_memory_lstm", "lstm"), ("long_memory_rnn", "rnn")]:
        stage = stage_of(name)
        assert stage.cell == cell and stage.hidden_size == 4 and stage.input_size == 2
        assert len(stage.x) == 16 and stage.x[0][0] == 1 and stage.x[-1][1] == 1
        assert stage.check_against_torch() < 1e-12


def said(name: str) -> str:
    """The description on one line."""
    return " ".join(description(name).split())


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def claimed(name: str, pattern: str) -> list[float]:
    """The numbers ``pattern`` (a regular expression with one group per number) finds in the
    scenario's description; the test fails when the sentence is missing."""
    match = re.search(pattern, said(name))
    assert match is not None, f"{name}: no {pattern!r} in its description"
    return [number(g) for g in match.groups()]


def test_lstm_holds_the_value() -> None:
    stage = stage_of("long_memory_lstm")
    assert stage.outputs_y is not None and stage.cell_states is not None
    name = "long_memory_lstm"
    (unit, f_low, f_high) = claimed(
        name,
        r"Watch unit (\d+): its forget gate Γf stays between "
        r"([\d.]+) and ([\d.]+) at every step",
    )
    u = int(unit)
    f = forget_gates(stage)[:, u]
    assert f.min() >= f_low and f.max() <= f_high and f_high - f_low <= 0.1  # near 1 throughout
    c = stage.cell_states[:, u]
    first, last = claimed(
        name,
        rf"c⟨t⟩\[{u}\] stays positive from ([\d.]+) at t = 1 to "
        r"([\d.]+) at the end",
    )
    assert np.all(c > 0) and (round(c[0], 2), round(c[-1], 2)) == (first, last)
    y = stage.outputs_y[-1]
    (p,) = claimed(name, rf"At t = {len(stage)}, ŷ gives class 1 \(\+1\) with p = (\d\.\d+)")
    assert np.argmax(y) == 1 and round(y[1], 4) == p and "x⟨1⟩ carries" in said(name)
    flipped = with_value(stage, -1.0)
    assert flipped.cell_states is not None and flipped.outputs_y is not None
    (low,) = claimed(
        name,
        rf"Had x⟨1⟩ been −1, c⟨t⟩\[{u}\] would be negative at every step "
        r"\(down to (−[\d.]+)\) and ŷ would give class 0",
    )
    c_flip = flipped.cell_states[:, u]
    assert np.all(c_flip < 0) and round(c_flip[-1], 2) == low
    assert np.argmax(flipped.outputs_y[-1]) == 0
    assert np.all(np.diff(np.abs(c - c_flip)) > 0)  # "the two cell states drifting apart"
    gap = np.abs(stage.output - flipped.output).max(axis=1)  # measured as for long_memory_rnn
    first, last = claimed(
        name,
        r"a⟨t⟩ differs between the two runs by ([\d.]+) at t = 1 and still by ([\d.]+) "
        rf"at t = {len(stage)}",
    )
    assert (round(gap[0], 2), round(gap[-1], 2)) == (first, last)
    assert gap.min() >= 0.5  # it stays large at every step
    rnn = stage_of("long_memory_rnn")
    rnn_gap = np.abs(rnn.output - with_value(rnn, -1.0).output).max(axis=1)
    assert gap[-1] > 100 * rnn_gap[-1]


def test_rnn_forgets_the_value() -> None:
    name = "long_memory_rnn"
    stage = stage_of(name)
    flipped = with_value(stage, -1.0)
    assert stage.outputs_y is not None and flipped.outputs_y is not None
    gap = np.abs(stage.output - flipped.output).max(axis=1)  # row k is time step t = k + 1
    g1, g2, g3, settle = claimed(
        name,
        r"with −1 at t = 1 and a⟨t⟩ differs by ([\d.]+) at t = 1 \(the RNN has read the value\), "
        r"([\d.]+) at t = 2, ([\d.]+) at t = 3 and by less than 0\.001 from t = (\d+) on",
    )
    assert [round(gap[0], 2), round(gap[1], 2), round(gap[2], 3)] == [g1, g2, g3]
    t = int(settle)
    assert t > 3 and np.all(gap[t - 1 :] < 1e-3) and gap[t - 2] >= 1e-3  # row t − 1 is t
    assert np.all(np.diff(gap) <= 1e-12)  # shrinks step by step
    # It did read x⟨1⟩ (not an RNN that never looked), and washes out to a small share of that.
    assert gap[0] >= 0.5 and gap[-1] < 0.1 * gap[0]
    y = stage.outputs_y[-1]
    y0, y1 = claimed(
        name,
        rf"So ŷ⟨{len(stage)}⟩ is the same either way: class 0 ([\d.]+), class 1 ([\d.]+), "
        r"near 50/50 and here wrong",
    )
    assert (round(y[0], 2), round(y[1], 2)) == (y0, y1)
    assert np.argmax(y) == 0 and abs(y[0] - 0.5) < 0.05  # near 50/50, and wrong: x⟨1⟩ = +1
    np.testing.assert_allclose(flipped.outputs_y[-1], y, atol=1e-3)
    lstm = stage_of("long_memory_lstm").outputs_y
    assert lstm is not None and y[1] < lstm[-1, 1]


def recall_sequences(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` fresh sequences of the task (T = 16): ±1 at t = 1, distractors uniform in [−1, 1],
    the recall flag at the last step; and the sign to recall as a class (0: −1, 1: +1)."""
    rng = np.random.default_rng(seed)
    sign = rng.integers(0, 2, n)
    x = np.zeros((n, 16, 2))
    x[:, 1:, 0] = rng.uniform(-1, 1, (n, 15))
    x[:, 0, 0] = sign * 2 - 1
    x[:, -1, 1] = 1
    return x, sign


def test_on_fresh_sequences_the_rnn_is_right_about_half_the_time_the_lstm_every_time() -> None:
    assert "the RNN is right about half the time, the LSTM every time" in said("long_memory_rnn")
    xs, signs = recall_sequences(300, seed=2026)
    for name, low, high in [("long_memory_lstm", 1.0, 1.0), ("long_memory_rnn", 0.4, 0.6)]:
        stage = stage_of(name)
        w = {
            k: np.array(getattr(stage, k)) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
        right = 0
        for x, sign in zip(xs, signs, strict=True):
            run = RecurrentStage(
                x, stage.cell, 4, **w, w_ya=np.array(stage.w_ya), b_y=np.array(stage.b_y)
            )
            assert run.outputs_y is not None
            right += int(np.argmax(run.outputs_y[-1]) == sign)
        assert low <= right / len(xs) <= high, (name, right / len(xs))


@pytest.mark.parametrize("name", ["long_memory_lstm", "long_memory_rnn"])
def test_the_contrast_run_is_the_flipped_sequence_through_torch(name: str) -> None:
    """The scenario's second run (contrast = x⟨1⟩[0] = −1, the first input) is what PyTorch's
    module gives for the changed sequence with the same weights."""
    stage = stage_of(name)
    contrast = stage.contrast
    assert contrast is not None and contrast.label == "x⟨1⟩[0] = −1" and contrast.step == 1
    cls = torch.nn.LSTM if stage.cell == "lstm" else torch.nn.RNN
    module = cls(2, 4, dtype=torch.float64)
    with torch.no_grad():
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(module, f"{key}_l0").copy_(torch.tensor(np.array(getattr(stage, key))))
        x = torch.tensor(np.array(stage.x))
        x[0, 0] = -1.0
        out, _ = module(x[:, None])
    np.testing.assert_allclose(contrast.a, out[:, 0].numpy(), atol=1e-12)
    np.testing.assert_allclose(contrast.a, with_value(stage, -1.0).output, atol=0)
    assert contrast.y_hat is not None and stage.w_ya is not None
    logits = out[-1, 0].numpy() @ np.array(stage.w_ya).T + np.array(stage.b_y)
    np.testing.assert_allclose(contrast.y_hat[-1], np.exp(logits) / np.exp(logits).sum())
    assert stage.x[0, 0] == 1.0  # the shown run is untouched


def test_the_inspector_marks_the_gap_at_every_step() -> None:
    rnn = stage_of("long_memory_rnn")
    gap = np.abs(rnn.output - with_value(rnn, -1.0).output).max(axis=1)
    text = contrast_text(rnn, rnn.step(2)).plain  # the third step, t = 3
    assert "second run with x⟨1⟩[0] = −1 instead" in text
    assert f"|a⟨3⟩[j] − a′⟨3⟩[j]| = {fmt_exact(gap[2], 3)}" in text
    marks = text.split("by step ")[1][:16]
    below = int(np.argmax(gap < 1e-3))  # the first row below 0.001, from there on
    assert below > 0 and np.all(gap[below:] < 1e-3)
    assert marks[below:] == "·" * (16 - below) and "·" not in marks[:below]
    lstm = stage_of("long_memory_lstm")
    text = contrast_text(lstm, lstm.step(15)).plain
    assert "|c⟨16⟩[j] − c′⟨16⟩[j]|" in text and "·" not in text.split("by step ")[2][:16]
    assert "ŷ′⟨16⟩" in text


@pytest.mark.parametrize(
    ("contrast", "field"),
    [
        ("{ step = 17, value = -1 }", "contrast.step"),
        ("{ step = 0, value = -1 }", "contrast.step"),  # time steps count from 1
        ("{ step = 1, channel = 2, value = -1 }", "contrast.channel"),
        ("{ step = 1, value = -1, colour = 1 }", "contrast.colour"),
        ("{ value = -1 }", "contrast.step"),
    ],
)
def test_a_bad_contrast_names_its_field(tmp_path: Path, contrast: str, field: str) -> None:
    text = (scenarios.resolve("long_memory_rnn")).read_text(encoding="utf-8")
    given = "contrast = { step = 1, channel = 0, value = -1 }"
    assert given in text
    text = text.replace(given, f"contrast = {contrast}")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        scenarios.load(path)
    assert field in str(e.value) and "\n" not in str(e.value).strip()


def test_the_trace_header_holds_the_second_run() -> None:
    stage = stage_of("long_memory_lstm")
    header = stage.describe()["contrast"]
    assert (header["step"], header["channel"], header["value"]) == (1, 0, -1.0)  # t = 1
    assert stage.contrast is not None and stage.contrast.c is not None
    np.testing.assert_array_equal(header["output"]["values"], stage.contrast.a)
    np.testing.assert_array_equal(header["cell_states"]["values"], stage.contrast.c)
    assert header["outputs_y"]["shape"] == [16, 2]
    assert "contrast" not in stage_of_plain().describe()


def stage_of_plain() -> RecurrentStage:
    stage = scenarios.load(scenarios.resolve("lstm_gates")).stages[0]
    assert isinstance(stage, RecurrentStage)
    return stage
