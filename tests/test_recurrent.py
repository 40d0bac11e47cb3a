"""Recurrent cells: RNN, GRU and LSTM against PyTorch's modules, every gate recomputed by hand
from a step's own fields, the compact form, the bundled scenarios, and every error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import scenarios
from engine.errors import SpecError
from engine.recurrent import (
    GATES,
    MAX_SEQUENCE,
    RecurrentStage,
    RecurrentStep,
    seeded_weights,
)
from scenarios import ScenarioError

ATOL = 1e-12
CELLS = list(GATES)
BUNDLED = ["rnn_step", "gru_gates", "lstm_gates"]
REC = 'kind = "recurrent"\ntitle = "t"\n'


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def make(
    cell: str,
    steps: int = 5,
    n_in: int = 3,
    hidden: int = 4,
    out: int | None = 3,
    seed: int = 0,
    states: bool = True,
) -> RecurrentStage:
    """A stage with seeded weights, a random sequence and random initial states."""
    rng = np.random.default_rng(seed + 100)
    w = seeded_weights(cell, n_in, hidden, seed, out)
    return RecurrentStage(
        rng.normal(size=(steps, n_in)),
        cell,
        hidden,
        w["weight_ih"],
        w["weight_hh"],
        w["bias_ih"],
        w["bias_hh"],
        a0=rng.normal(size=hidden) if states else None,
        c0=rng.normal(size=hidden) if states and cell == "lstm" else None,
        w_ya=w.get("w_ya"),
        b_y=w.get("b_y"),
        name=cell,
    )


def torch_run(stage: RecurrentStage) -> tuple[np.ndarray, np.ndarray | None]:
    """Hidden states from a module built here (not the stage's own), fed the same weights, and
    the LSTM's cell states from torch.nn.LSTMCell stepped by hand."""
    n_in, hidden = stage.input_size, stage.hidden_size
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[stage.cell]
    module = cls(n_in, hidden, dtype=torch.float64)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            params[f"{name}_l0"].copy_(torch.tensor(np.array(getattr(stage, name))))
        x = torch.tensor(np.array(stage.x))[None]  # batch_first here: (1, T, I)
        h0 = torch.tensor(np.array(stage.a0))[None, None]
        module.batch_first = True
        if stage.cell != "lstm":
            out, _ = module(x, h0)
            return out[0].numpy(), None
        c0 = torch.tensor(np.array(stage.c0))[None, None]
        out, _ = module(x, (h0, c0))
        lstm_cell = torch.nn.LSTMCell(n_in, hidden, dtype=torch.float64)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm_cell, name).copy_(params[f"{name}_l0"])
        h, c = h0[0], c0[0]
        cells = []
        for t in range(len(stage)):
            h, c = lstm_cell(x[:, t], (h, c))
            cells.append(c[0].numpy().copy())
        return out[0].numpy(), np.array(cells)


# -- against PyTorch ------------------------------------------------------------------------


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("states", [True, False], ids=["given-states", "zero-states"])
def test_matches_torch(cell: str, states: bool) -> None:
    stage = make(cell, steps=7, n_in=3, hidden=5, states=states)
    hidden, cells = torch_run(stage)
    assert stage.output.shape == hidden.shape == (7, 5)
    np.testing.assert_allclose(stage.output, hidden, rtol=0, atol=ATOL)
    if cell == "lstm":
        assert stage.cell_states is not None and cells is not None
        np.testing.assert_allclose(stage.cell_states, cells, rtol=0, atol=ATOL)
    else:
        assert stage.cell_states is None
    assert stage.check_against_torch() < ATOL
    ref_h, ref_c, ref_y = stage.reference_run()
    np.testing.assert_allclose(ref_h, hidden, rtol=0, atol=ATOL)
    assert stage.outputs_y is not None and ref_y is not None
    np.testing.assert_allclose(stage.outputs_y, ref_y, rtol=0, atol=ATOL)
    if cell == "lstm":
        np.testing.assert_allclose(ref_c, cells, rtol=0, atol=ATOL)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(
    cell=st.sampled_from(CELLS),
    steps=st.integers(1, 8),
    n_in=st.integers(1, 5),
    hidden=st.integers(1, 6),
    out=st.one_of(st.none(), st.integers(1, 4)),
    seed=st.integers(0, 2**16),
)
def test_matches_torch_on_random_sizes(
    cell: str, steps: int, n_in: int, hidden: int, out: int | None, seed: int
) -> None:
    stage = make(cell, steps, n_in, hidden, out, seed)
    ref, cells = torch_run(stage)
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=ATOL)
    if cells is not None:
        np.testing.assert_allclose(stage.cell_states, cells, rtol=0, atol=ATOL)  # type: ignore[arg-type]
    assert (stage.outputs_y is None) == (out is None)
    assert stage.output_size == out
    g = len(GATES[cell])
    expected = g * hidden * (n_in + hidden + 2) + (0 if out is None else out * (hidden + 1))
    assert stage.parameter_count == expected
    assert len(stage) == steps


def test_reference_matches_torch_on_large_inputs() -> None:
    """Saturating gates (|z| up to hundreds) stay finite and equal to PyTorch's."""
    rng = np.random.default_rng(7)
    for cell in CELLS:
        g = len(GATES[cell])
        stage = RecurrentStage(
            rng.normal(scale=100, size=(6, 2)),
            cell,
            3,
            rng.normal(size=(3 * g, 2)),
            rng.normal(size=(3 * g, 3)),
            None,
            None,
        )
        assert stage.check_against_torch() < ATOL


# -- every gate by hand, from the step's own fields ------------------------------------------


def test_rnn_step_by_hand() -> None:
    stage = make("rnn")
    w_ax, w_aa = stage.weight_ih, stage.weight_hh
    b_a = stage.bias_ih + stage.bias_hh
    assert stage.w_ya is not None and stage.b_y is not None
    for t in range(len(stage)):
        s = stage.step(t)
        assert isinstance(s, RecurrentStep)
        assert s.x is not None and s.a_prev is not None and s.a is not None
        assert s.y_hat is not None
        # Step t (from 0) is the course's time step t + 1: x⟨1⟩ is the first input.
        assert (s.t, s.index, s.cell, s.stage) == (t + 1, t, "rnn", "rnn")
        assert s.explanation.startswith(f"t = {t + 1}: a⟨{t + 1}⟩ = tanh(W_aa·a⟨{t}⟩ + ")
        assert set(s.pre) == {"a"} and s.gates == {}
        assert s.c is None and s.c_prev is None
        np.testing.assert_allclose(s.pre["a"], w_aa @ s.a_prev + w_ax @ s.x + b_a, atol=ATOL)
        np.testing.assert_array_equal(s.a, np.tanh(s.pre["a"]))
        z = stage.w_ya @ s.a + stage.b_y
        np.testing.assert_allclose(s.y_hat, np.exp(z) / np.exp(z).sum(), atol=ATOL)
        assert s.y_hat.sum() == pytest.approx(1, abs=1e-15) and (s.y_hat > 0).all()
        assert s.value == s.a[0]
        np.testing.assert_array_equal(s.a_prev, stage.a0 if t == 0 else stage.output[t - 1])


def test_gru_step_by_hand() -> None:
    stage = make("gru")
    h = stage.hidden_size
    w_i, w_h = stage.weight_ih, stage.weight_hh
    b_i, b_h = stage.bias_ih, stage.bias_hh
    blk = {name: slice(k * h, (k + 1) * h) for k, name in enumerate("rzn")}
    for t in range(len(stage)):
        s = stage.step(t)
        assert s.x is not None and s.a_prev is not None and s.a is not None
        assert list(s.pre) == list(s.gates) == ["r", "z", "n"]
        for g in "rz":
            pre = w_i[blk[g]] @ s.x + b_i[blk[g]] + w_h[blk[g]] @ s.a_prev + b_h[blk[g]]
            np.testing.assert_allclose(s.pre[g], pre, atol=ATOL)
            np.testing.assert_allclose(s.gates[g], sigmoid(s.pre[g]), atol=ATOL)
        r, z, n = s.gates["r"], s.gates["z"], s.gates["n"]
        pre_n = w_i[blk["n"]] @ s.x + b_i[blk["n"]] + r * (w_h[blk["n"]] @ s.a_prev + b_h[blk["n"]])
        np.testing.assert_allclose(s.pre["n"], pre_n, atol=ATOL)
        np.testing.assert_allclose(n, np.tanh(s.pre["n"]), atol=ATOL)
        np.testing.assert_allclose(s.a, (1 - z) * n + z * s.a_prev, atol=ATOL)
        # Andrew Ng's form with Γu = 1 − z: c⟨t⟩ = Γu·c̃⟨t⟩ + (1 − Γu)·c⟨t−1⟩.
        gamma_u = 1 - z
        np.testing.assert_allclose(s.a, gamma_u * n + (1 - gamma_u) * s.a_prev, atol=ATOL)
        halves = stage.terms(t)
        np.testing.assert_allclose(halves["n"][0] + r * halves["n"][1], s.pre["n"], atol=ATOL)
        assert s.c is None and s.c_prev is None


def test_lstm_step_by_hand() -> None:
    stage = make("lstm")
    h = stage.hidden_size
    for t in range(len(stage)):
        s = stage.step(t)
        assert s.x is not None and s.a_prev is not None and s.a is not None
        assert s.c is not None and s.c_prev is not None
        assert list(s.pre) == list(s.gates) == ["i", "f", "g", "o"]
        for k, g in enumerate("ifgo"):
            rows = slice(k * h, (k + 1) * h)
            pre = (
                stage.weight_ih[rows] @ s.x
                + stage.bias_ih[rows]
                + stage.weight_hh[rows] @ s.a_prev
                + stage.bias_hh[rows]
            )
            np.testing.assert_allclose(s.pre[g], pre, atol=ATOL)
            act = np.tanh if g == "g" else sigmoid
            np.testing.assert_allclose(s.gates[g], act(s.pre[g]), atol=ATOL)
            halves = stage.terms(t)[g]
            np.testing.assert_allclose(halves[0] + halves[1], s.pre[g], atol=ATOL)
        i, f, g_, o = (s.gates[k] for k in "ifgo")
        np.testing.assert_allclose(s.c, f * s.c_prev + i * g_, atol=ATOL)
        np.testing.assert_allclose(s.a, o * np.tanh(s.c), atol=ATOL)
        np.testing.assert_array_equal(s.c_prev, stage.c0 if t == 0 else stage.cell_states[t - 1])  # type: ignore[index]


def test_compact_form_equals_separate_terms() -> None:
    stage = make("rnn", n_in=3, hidden=4)
    for t in range(len(stage)):
        s = stage.step(t)
        w_a, stacked, product = stage.compact_terms(t)
        assert w_a.shape == (4, 7) and stacked.shape == (7,) and product.shape == (4,)
        np.testing.assert_array_equal(w_a[:, :4], stage.weight_hh)
        np.testing.assert_array_equal(w_a[:, 4:], stage.weight_ih)
        np.testing.assert_array_equal(stacked, np.concatenate([s.a_prev, s.x]))  # type: ignore[list-item]
        separate = stage.weight_hh @ s.a_prev + stage.weight_ih @ s.x  # type: ignore[operator]
        np.testing.assert_allclose(product, separate, atol=ATOL)
        b_a = stage.bias_ih + stage.bias_hh
        np.testing.assert_allclose(np.tanh(product + b_a), s.a, atol=ATOL)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rnn"):
        make("gru").compact_terms(0)


def test_stepping_is_slicing() -> None:
    stage = make("lstm", steps=6)
    s = stage.step(-1)
    assert s.t == 6  # the last of t = 1 … 6
    assert s.a is not None and s.x is not None
    with pytest.raises(ValueError):
        s.a[0] = 1.0  # read-only views of the stored run
    with pytest.raises(IndexError):
        stage.step(6)
    assert stage.row_steps() == 1
    assert isinstance(stage, engine.RecurrentStage) and engine.RecurrentStep is RecurrentStep
    assert "Γf" in s.explanation and "a⟨6⟩" in s.explanation and "c⟨5⟩" in s.explanation
    first = stage.step(0).explanation
    assert first.startswith("t = 1: c⟨1⟩ = Γf·c⟨0⟩ + Γu·c̃⟨1⟩")
    assert np.any(stage.a0) and "a⟨0⟩ is the given a0, c⟨0⟩ is the given c0" in first
    zero = scenarios.load(scenarios.resolve("lstm_gates")).stages[0].step(0).explanation
    assert zero.startswith("t = 1: ") and "; a⟨0⟩ = 0, c⟨0⟩ = 0" in zero


def test_describe_uses_pytorch_names() -> None:
    stage = make("gru", out=2)
    d = stage.describe()
    assert d["kind"] == "recurrent" and d["step_order"] == ["t"] and d["steps"] == 5
    assert set(d["parameters"]) == {
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "output.weight",
        "output.bias",
    }
    assert d["parameters"]["weight_ih_l0"]["shape"] == [12, 3]
    hp = d["hyperparameters"]
    assert (hp["cell"], hp["hidden_size"], hp["input_size"], hp["output_size"]) == ("gru", 4, 3, 2)
    assert hp["gate_order"] == ["r", "z", "n"]
    assert d["output"]["shape"] == [5, 4] and d["outputs_y"]["shape"] == [5, 2]
    assert "cell_states" not in d
    lstm = make("lstm", out=None).describe()
    assert lstm["cell_states"]["shape"] == [5, 4] and "c0" in lstm["initial_state"]
    assert "outputs_y" not in lstm


def test_seeded_weights_follow_pytorch_bounds() -> None:
    w = seeded_weights("lstm", 3, 16, 0, 5)
    assert w["weight_ih"].shape == (64, 3) and w["w_ya"].shape == (5, 16)
    assert all(np.abs(a).max() <= 0.25 for a in w.values())
    again = seeded_weights("lstm", 3, 16, 0)
    np.testing.assert_array_equal(w["bias_hh"], again["bias_hh"])


# -- engine errors --------------------------------------------------------------------------


def args(cell: str = "gru", hidden: int = 4, n_in: int = 3, steps: int = 5) -> dict[str, object]:
    g = len(GATES.get(cell, (0, 0, 0)))
    return {
        "x": np.zeros((steps, n_in)),
        "cell": cell,
        "hidden_size": hidden,
        "weight_ih": np.zeros((g * hidden, n_in)),
        "weight_hh": np.zeros((g * hidden, hidden)),
        "bias_ih": np.zeros(g * hidden),
        "bias_hh": np.zeros(g * hidden),
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"cell": "lstn"},
            "cell",
            "unknown cell 'lstn'; did you mean 'lstm'? valid: rnn, gru, lstm",
        ),
        ({"cell": "transformer"}, "cell", "valid: rnn, gru, lstm"),
        ({"hidden_size": 0}, "hidden_size", "must be ≥ 1, got 0"),
        ({"hidden_size": 2.5}, "hidden_size", "whole number"),
        ({"x": np.zeros(5)}, "input", "2-D (T, input_size)"),
        ({"x": np.zeros((0, 3))}, "input", "empty"),
        (
            {"x": np.zeros((MAX_SEQUENCE + 1, 3))},
            "input",
            "sequence of 10,001 steps is longer than the limit of 10,000",
        ),
        ({"x": np.full((5, 3), np.nan)}, "input", "finite"),
        (
            {"weight_ih": np.zeros((8, 3))},
            "weights.weight_ih",
            "expected (12, 3) for cell gru with hidden_size 4 and input_size 3, got (8, 3)",
        ),
        ({"weight_hh": np.zeros((12, 3))}, "weights.weight_hh", "expected (12, 4)"),
        ({"bias_ih": np.zeros(4)}, "weights.bias_ih", "expected (12,)"),
        ({"bias_hh": np.zeros((12, 1))}, "weights.bias_hh", "got (12, 1)"),
        ({"bias_hh": np.full(12, np.inf)}, "weights.bias_hh", "finite"),
        ({"a0": np.zeros(3)}, "a0", "expected (4,) for hidden_size 4, got (3,)"),
        ({"c0": np.zeros(4)}, "c0", "lstm cells only"),
        ({"w_ya": np.zeros((2, 5))}, "weights.w_ya", "expected (2, 4) for output_size 2"),
        ({"w_ya": np.zeros(4)}, "weights.w_ya", "2-D"),
        ({"w_ya": np.zeros((2, 4)), "b_y": np.zeros(3)}, "weights.b_y", "expected (2,)"),
        ({"b_y": np.zeros(3)}, "weights.b_y", "needs output weights"),
        ({"hidden_size": 9000}, "hidden_size", "the limit"),
    ],
)
def test_engine_errors(change: dict[str, object], field: str, words: str) -> None:
    kw = args()
    kw.update(change)  # sizes are checked before any weight is read
    with pytest.raises(SpecError) as info:
        RecurrentStage(**kw)  # type: ignore[arg-type]
    assert info.value.field == field
    assert words in info.value.message


# -- scenario files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenarios(name: str) -> None:
    sim = scenarios.load(scenarios.resolve(name))
    (stage,) = sim.stages
    assert isinstance(stage, RecurrentStage)
    assert sim.topic == "Recurrent networks" and len(sim) == len(stage.x)
    assert stage.hidden_size == 4 and stage.input_size == 3
    assert stage.check_against_torch() < ATOL
    ref, cells = torch_run(stage)
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=ATOL)
    if cells is not None:
        np.testing.assert_allclose(stage.cell_states, cells, rtol=0, atol=ATOL)  # type: ignore[arg-type]


def test_rnn_step_scenario_numbers() -> None:
    (stage,) = scenarios.load(scenarios.resolve("rnn_step")).stages
    assert isinstance(stage, RecurrentStage)
    assert (stage.cell, len(stage), stage.output_size) == ("rnn", 5, 3)
    # One-decimal weights, one-hot inputs: x⟨0⟩ picks column 0 of W_ax.
    assert np.array_equal(stage.weight_ih * 10, np.round(stage.weight_ih * 10))
    s = stage.step(0)
    np.testing.assert_allclose(s.pre["a"], stage.weight_ih[:, 0] + stage.bias_ih, atol=ATOL)
    assert stage.outputs_y is not None
    np.testing.assert_allclose(stage.outputs_y.sum(axis=1), 1, atol=1e-15)
    assert stage.parameter_count == 4 * (3 + 4 + 2) + 3 * (4 + 1)


def test_seeded_scenario_is_reproducible_and_partly_given(load_text: Callable[..., Any]) -> None:
    base = REC + 'cell = "gru"\nhidden_size = 2\nseed = 4\ninput = [[1.0], [0.5], [-1.0]]\n'
    a = load_text(base).stages[0]
    b = load_text(base + "[weights]\nbias_hh = [0, 0, 0, 0, 0, 0]\n").stages[0]
    assert isinstance(a, RecurrentStage) and isinstance(b, RecurrentStage)
    w = seeded_weights("gru", 1, 2, 4)
    np.testing.assert_array_equal(a.weight_ih, w["weight_ih"])
    np.testing.assert_array_equal(b.weight_hh, a.weight_hh)  # the others stay as seeded
    np.testing.assert_array_equal(b.bias_hh, np.zeros(6))
    assert a.name == "gru" and a.c0 is None


def test_scenario_initial_states_and_output(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        REC + 'cell = "lstm"\nhidden_size = 2\ninput = { random = [4, 3], seed = 1 }\n'
        "a0 = [0.5, -0.5]\nc0 = [1, 2]\noutput_size = 5\n",
    )
    (stage,) = sim.stages
    assert isinstance(stage, RecurrentStage)
    np.testing.assert_array_equal(stage.a0, [0.5, -0.5])
    np.testing.assert_array_equal(stage.c0, [1, 2])  # type: ignore[arg-type]
    assert stage.output_size == 5 and stage.check_against_torch() < ATOL


BAD = [
    pytest.param(
        REC + 'cell = "lstn"\nhidden_size = 4\ninput = [[1, 2, 3]]\n',
        "cell",
        "did you mean 'lstm'? valid: rnn, gru, lstm",
        id="unknown-cell",
    ),
    pytest.param(
        REC + "cell = 3\nhidden_size = 4\ninput = [[1, 2, 3]]\n", "cell", "string", id="cell-number"
    ),
    pytest.param(
        REC + "hidden_size = 0\ninput = [[1, 2, 3]]\n",
        "hidden_size",
        "must be ≥ 1, got 0",
        id="hidden-0",
    ),
    pytest.param(
        REC + 'hidden_size = "four"\ninput = [[1, 2, 3]]\n',
        "hidden_size",
        "integer",
        id="hidden-string",
    ),
    pytest.param(REC + "input = [[1, 2, 3]]\n", "hidden_size", "missing", id="hidden-missing"),
    pytest.param(
        REC + "hidden_size = 4\ninput = { random = [10001, 3] }\n",
        "input",
        "sequence of 10,001 steps is longer than the limit of 10,000",
        id="sequence-too-long",
    ),
    pytest.param(
        REC + "hidden_size = 4\ninput = [1, 2, 3]\n", "input", "2-D (T, input_size)", id="input-1d"
    ),
    pytest.param(
        REC + "hidden_size = 4\ninput = [[1, inf, 3]]\n", "input", "finite", id="input-inf"
    ),
    pytest.param(
        REC + 'cell = "gru"\nhidden_size = 4\ninput = { random = [5, 3] }\n'
        "[weights]\nweight_ih = { random = [8, 3] }\n",
        "weights.weight_ih",
        "expected (12, 3) for cell gru with hidden_size 4 and input_size 3, got (8, 3)",
        id="weight-ih-shape",
    ),
    pytest.param(
        REC + 'cell = "lstm"\nhidden_size = 2\ninput = [[1], [2]]\n'
        "[weights]\nweight_hh = [[1, 2], [3, 4]]\n",
        "weights.weight_hh",
        "expected (8, 2) for cell lstm with hidden_size 2 and input_size 1, got (2, 2)",
        id="weight-hh-shape",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\n[weights]\nbias_ih = [1, 2, 3]\n",
        "weights.bias_ih",
        "expected (2,) for cell rnn with hidden_size 2 and input_size 1, got (3,)",
        id="bias-shape",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\n[weights]\nbias_hh = [1, nan]\n",
        "weights.bias_hh",
        "finite",
        id="bias-nan",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\noutput_size = 3\n"
        "[weights]\nw_ya = [[1, 2], [3, 4]]\n",
        "weights.w_ya",
        "expected (3, 2) for output_size 3 and hidden_size 2, got (2, 2)",
        id="w-ya-shape",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\n[weights]\nw_ya = [1, 2]\n",
        "weights.w_ya",
        "2-D (O, H)",
        id="w-ya-1d",
    ),
    pytest.param(
        REC + 'hidden_size = 2\ninput = [[1], [2]]\n[weights]\nweight_hh = "sobel_x"\n',
        "weights.weight_hh",
        "expected a number",
        id="weight-string",
    ),
    pytest.param(
        REC + 'hidden_size = 2\ninput = { data = "digits", index = 0 }\n'
        "[weights]\nweight_ih = [[1, 2], [3, 4]]\n",
        "weights.weight_ih",
        "input_size 8, got (2, 2)",
        id="data-input-sets-input-size",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\n[weights]\nb_y = [1, 2]\n",
        "weights.b_y",
        "output_size",
        id="b-y-without-output",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\n[weights]\nweight_ix = [[1]]\n",
        "weights.weight_ix",
        "did you mean 'weight_ih'",
        id="weights-typo",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\nhiden_size = 2\n",
        "hiden_size",
        "did you mean 'hidden_size'",
        id="key-typo",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\nc0 = [0, 0]\n",
        "c0",
        "lstm cells only",
        id="c0-for-rnn",
    ),
    pytest.param(
        REC + 'cell = "lstm"\nhidden_size = 2\ninput = [[1], [2]]\na0 = [0, 0, 0]\n',
        "a0",
        "expected (2,) for hidden_size 2, got (3,)",
        id="a0-shape",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\noutput_size = 0\n",
        "output_size",
        "≥ 1",
        id="output-size-0",
    ),
    pytest.param(
        REC + "hidden_size = 20000\ninput = { random = [10, 3] }\n",
        "hidden_size",
        "the limit is 1 GiB",
        id="hidden-too-large",
    ),
    pytest.param(
        REC + "hidden_size = 2\ninput = [[1], [2]]\nseed = -1\n", "seed", "0", id="seed-negative"
    ),
]


@pytest.mark.parametrize(("text", "field", "words"), BAD)
def test_scenario_errors(
    tmp_path: Path, text: str, field: str, words: str, load_text: Callable[..., Any]
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    err = info.value
    assert len(err.problems) == 1, err.problems
    ((got_field, message),) = err.problems
    assert got_field == field
    assert words in message
    (line,) = err.lines()
    assert line.startswith(f"{tmp_path / 's.toml'}: {field}: ")


def test_a_torch_state_dict_pastes_in_with_its_own_names(load_text: Callable[..., Any]) -> None:
    """weight_ih_l0 and the rest, as nn.LSTM(…).state_dict() names them, load unchanged and give
    nn.LSTM's own outputs."""
    torch.manual_seed(5)
    module = torch.nn.LSTM(2, 3, dtype=torch.float64)
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    table = "\n".join(
        f"{name} = {np.asarray(p.detach()).tolist()}" for name, p in module.state_dict().items()
    )
    sim = load_text(
        REC + f'cell = "lstm"\nhidden_size = 3\ninput = {x.tolist()}\n[weights]\n{table}\n',
    )
    stage = sim.stages[0]
    assert isinstance(stage, RecurrentStage)
    with torch.no_grad():
        out, _ = module(torch.tensor(x)[:, None])
    np.testing.assert_allclose(stage.step(-1).a, out[-1, 0].numpy(), atol=ATOL)
    with pytest.raises(ScenarioError, match="weight_ih_l0 and weight_ih are the same weights"):
        load_text(
            REC + f'cell = "lstm"\nhidden_size = 3\ninput = {x.tolist()}\n[weights]\n{table}\n'
            f"weight_ih = {np.asarray(module.weight_ih_l0.detach()).tolist()}\n",
        )
