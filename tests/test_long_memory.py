"""The long-memory pair (long_memory_lstm, long_memory_rnn): both match PyTorch, and the claims
in their descriptions hold for the shipped weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import scenarios
from engine.recurrent import RecurrentStage, sigmoid
from scenarios import ScenarioError
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


def test_lstm_holds_the_value() -> None:
    stage = stage_of("long_memory_lstm")
    assert stage.outputs_y is not None and stage.cell_states is not None
    y = stage.outputs_y[-1]
    assert np.argmax(y) == 1 and y[1] > 0.999
    f = forget_gates(stage)
    assert f[:, 0].min() >= 0.94 and f[:, 0].max() <= 0.98
    c = stage.cell_states[:, 0]
    assert np.all(c > 0) and round(c[0], 2) == 0.44 and round(c[-1], 2) == 7.71
    said = " ".join(description("long_memory_lstm").split())
    assert f"{c[0]:.2f} at t = 1 to {c[-1]:.2f} at the end" in said  # c⟨1⟩ is row 0
    assert f"At t = {len(stage)}, ŷ gives class 1 (+1)" in said and "x⟨1⟩ carries" in said
    flipped = with_value(stage, -1.0)
    assert flipped.cell_states is not None and flipped.outputs_y is not None
    assert np.all(flipped.cell_states[:, 0] < 0) and round(flipped.cell_states[-1, 0], 2) == -9.69
    assert np.argmax(flipped.outputs_y[-1]) == 0


def test_rnn_forgets_the_value() -> None:
    stage = stage_of("long_memory_rnn")
    flipped = with_value(stage, -1.0)
    assert stage.outputs_y is not None and flipped.outputs_y is not None
    y = stage.outputs_y[-1]
    assert np.argmax(y) == 0 and abs(y[0] - 0.52) < 0.005  # near 50/50 and wrong
    lstm = stage_of("long_memory_lstm").outputs_y
    assert lstm is not None and y[1] < lstm[-1, 1]
    gap = np.abs(stage.output - flipped.output).max(axis=1)  # row k is time step t = k + 1
    assert [round(gap[0], 2), round(gap[2], 2), round(gap[4], 3)] == [1.08, 0.16, 0.013]
    assert np.all(gap[6:] < 1e-3) and gap[5] >= 1e-3  # "less than 0.001 from t = 7 on"
    said = " ".join(description("long_memory_rnn").split())
    from_t = int(np.argmax(gap < 1e-3)) + 1
    assert (
        f"with −1 at t = 1 and a⟨t⟩ differs by {gap[0]:.2f} at t = 1, {gap[2]:.2f} at t = 3, "
        f"{gap[4]:.3f} at t = 5 and by less than 0.001 from t = {from_t} on" in said
    )
    assert f"So ŷ⟨{len(stage)}⟩ is the same either way: class 0 {y[0]:.2f}" in said
    assert np.all(np.diff(gap) <= 1e-12)  # shrinks step by step
    np.testing.assert_allclose(flipped.outputs_y[-1], y, atol=1e-3)


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
    text = contrast_text(rnn, rnn.step(2)).plain  # the third step, t = 3
    assert "second run with x⟨1⟩[0] = −1 instead" in text and "= 0.16" in text
    assert "|a⟨3⟩[j] − a′⟨3⟩[j]|" in text
    marks = text.split("by step ")[1][:16]
    assert marks[6:] == "·" * 10 and "·" not in marks[:6]  # below 0.001 from t = 7 on
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
