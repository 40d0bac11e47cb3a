"""Recurrent weights under the course's names (W_aa, W_ax, b_a; W_u, W_f, W_c, W_o, b_·) are
the same cell as PyTorch's names laid out as PyTorch lays them out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import scenarios
from scenarios.errors import ScenarioError

H, N_IN = 2, 1
X = [[1.0], [0.5], [-1.0]]
RNG = np.random.default_rng(7)
COURSE = {g: RNG.uniform(-1, 1, (H, H + N_IN)) for g in ("W_u", "W_f", "W_c", "W_o")}
BIAS = {b: RNG.uniform(-1, 1, H) for b in ("b_u", "b_f", "b_c", "b_o")}


def toml(cell: str, weights: dict[str, np.ndarray]) -> str:
    lines = [
        'kind = "recurrent"',
        'title = "t"',
        f'cell = "{cell}"',
        f"hidden_size = {H}",
        f"input = {X}",
        "",
        "[weights]",
    ]
    lines += [f"{k} = {np.asarray(v).tolist()}" for k, v in weights.items()]
    return "\n".join(lines) + "\n"


def load(tmp_path: Path, text: str) -> scenarios.Simulation:  # type: ignore[name-defined]
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return scenarios.load(path)


def problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, text)
    return info.value.problems


def test_an_lstm_under_the_course_names_is_pytorchs_lstm(tmp_path: Path) -> None:
    stage = load(tmp_path, toml("lstm", {**COURSE, **BIAS})).stages[0]
    lstm = torch.nn.LSTM(N_IN, H, dtype=torch.float64)
    with torch.no_grad():
        gates = ("W_u", "W_f", "W_c", "W_o")  # PyTorch's order: i, f, g, o
        lstm.weight_hh_l0.copy_(torch.tensor(np.vstack([COURSE[g][:, :H] for g in gates])))
        lstm.weight_ih_l0.copy_(torch.tensor(np.vstack([COURSE[g][:, H:] for g in gates])))
        lstm.bias_ih_l0.copy_(torch.tensor(np.concatenate([BIAS[b] for b in BIAS])))
        lstm.bias_hh_l0.zero_()
        expected = lstm(torch.tensor(X, dtype=torch.float64)[:, None])[0][:, 0].numpy()
    np.testing.assert_allclose(stage.output, expected, atol=1e-12)
    # Γf is the course's forget gate: σ(W_f·[a⟨t−1⟩, x⟨t⟩] + b_f) at the first step (a = 0).
    first = stage.step(0)
    stacked = np.concatenate([np.zeros(H), X[0]])
    forget = 1 / (1 + np.exp(-(COURSE["W_f"] @ stacked + BIAS["b_f"])))
    np.testing.assert_allclose(first.gates["f"], forget, atol=1e-12)


def test_an_rnn_under_the_course_names_is_the_same_cell(tmp_path: Path) -> None:
    w_aa, w_ax = RNG.uniform(-1, 1, (H, H)), RNG.uniform(-1, 1, (H, N_IN))
    b_a = RNG.uniform(-1, 1, H)
    course = load(tmp_path, toml("rnn", {"W_aa": w_aa, "W_ax": w_ax, "b_a": b_a})).stages[0]
    names = {"weight_hh": w_aa, "weight_ih": w_ax, "bias_ih": b_a, "bias_hh": np.zeros(H)}
    pytorch = load(tmp_path, toml("rnn", names)).stages[0]
    np.testing.assert_array_equal(course.output, pytorch.output)


def test_biases_left_out_are_zero(tmp_path: Path) -> None:
    without = load(tmp_path, toml("lstm", COURSE)).stages[0]
    zeros = load(tmp_path, toml("lstm", {**COURSE, **{b: np.zeros(H) for b in BIAS}})).stages[0]
    np.testing.assert_array_equal(without.output, zeros.output)


def test_a_gru_under_the_course_names_is_refused_with_the_reason(tmp_path: Path) -> None:
    (field, message), *_ = problems(tmp_path, toml("gru", {**COURSE}))
    assert field.startswith("weights.W_")
    assert "reset gate after the product" in message and "PyTorch's names" in message


@pytest.mark.parametrize(
    ("weights", "field", "words"),
    [
        ({**{k: v for k, v in COURSE.items() if k != "W_o"}}, "weights.W_o", "missing"),
        ({**COURSE, "weight_ih": np.zeros((4 * H, N_IN))}, "weights.W_u", "not both"),
        ({**COURSE, "W_u": np.zeros((H, H))}, "weights.W_u", f"expected shape ({H}, {H + N_IN})"),
        ({**COURSE, "W_aa": np.zeros((H, H))}, "weights.W_aa", "not a weight of a lstm cell"),
    ],
    ids=["missing", "mixed", "shape", "wrong-cell"],
)
def test_bad_course_weights_are_one_line_naming_the_key(
    tmp_path: Path, weights: dict[str, np.ndarray], field: str, words: str
) -> None:
    found = problems(tmp_path, toml("lstm", weights))
    assert len(found) == 1, found
    assert found[0][0] == field and words in found[0][1]
