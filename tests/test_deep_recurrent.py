"""Deep and bidirectional recurrent networks against torch.nn's multi-layer modules, the order of
the steps, where each cell's two inputs come from, the bundled scenarios, and the errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import scenarios
from engine.deep_recurrent import (
    DeepRecurrentStage,
    deep_parameter_shapes,
    deep_seeded_weights,
)
from engine.errors import SpecError
from engine.recurrent import GATES
from scenarios import ScenarioError

ATOL = 1e-12
DEEP = 'kind = "deep_recurrent"\ntitle = "t"\n'


def make(
    cell: str,
    layers: int = 3,
    bidirectional: bool = True,
    steps: int = 5,
    n_in: int = 3,
    hidden: int = 4,
    out: int | None = 2,
    seed: int = 0,
) -> DeepRecurrentStage:
    w = deep_seeded_weights(cell, n_in, hidden, layers, bidirectional, seed, out)
    x = np.random.default_rng(seed + 100).normal(size=(steps, n_in))
    return DeepRecurrentStage(x, cell, hidden, layers, bidirectional, w)


def torch_run(stage: DeepRecurrentStage) -> np.ndarray:
    """The top layer's output from a module built here, batch first, fed the same weights."""
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[stage.cell]
    module = cls(
        stage.input_size,
        stage.hidden_size,
        num_layers=stage.num_layers,
        bidirectional=stage.directions == 2,
        batch_first=True,
        dtype=torch.float64,
    )
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(np.array(stage.params[name])))
        return module(torch.tensor(np.array(stage.x))[None])[0][0].numpy()


@pytest.mark.parametrize("cell", list(GATES))
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_matches_torch(cell: str, layers: int, bidirectional: bool) -> None:
    stage = make(cell, layers, bidirectional, steps=6)
    ref = torch_run(stage)
    d = 2 if bidirectional else 1
    assert stage.output.shape == ref.shape == (6, d * 4)
    np.testing.assert_allclose(stage.output, ref, rtol=0, atol=ATOL)
    assert stage.check_against_torch() < ATOL
    _, y = stage.reference_run()
    assert y is not None and stage.outputs_y is not None
    np.testing.assert_allclose(stage.outputs_y, y, rtol=0, atol=ATOL)
    np.testing.assert_allclose(stage.outputs_y.sum(axis=1), 1.0, atol=1e-12)


def test_parameter_names_are_pytorchs() -> None:
    for cell in GATES:
        module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](
            3, 4, num_layers=3, bidirectional=True
        )
        shapes = deep_parameter_shapes(cell, 3, 4, 3, True)
        assert list(shapes) == [n for n, _ in module.named_parameters()]
        assert all(tuple(p.shape) == shapes[n] for n, p in module.named_parameters())


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_step_order(bidirectional: bool) -> None:
    stage = make("gru", 2, bidirectional, steps=4, out=3)
    d = 2 if bidirectional else 1
    assert len(stage) == 2 * d * 4 + 4
    order = [(s.layer, s.direction, s.t) for s in (stage.step(i) for i in range(len(stage)))]
    # Time runs from t = 1 as in the course; a backward sweep runs t = T … 1.
    expected = []
    for layer in range(2):
        expected += [(layer, 0, t) for t in range(1, 5)]
        if bidirectional:
            expected += [(layer, 1, t) for t in range(4, 0, -1)]
    expected += [(2, -1, t) for t in range(1, 5)]
    assert order == expected
    for i, (layer, direction, t) in enumerate(expected[:-4]):
        assert stage.cell_index(layer, direction, t) == i
    assert stage.step(-1).index == len(stage) - 1
    with pytest.raises(IndexError):
        stage.step(len(stage))


@pytest.mark.parametrize("cell", list(GATES))
def test_inputs_from_left_and_below(cell: str) -> None:
    stage = make(cell, 3, True, steps=5, out=None)
    h = stage.hidden_size
    for i in range(len(stage)):
        s = stage.step(i)
        assert s.inner is not None and s.a is not None and s.from_left is not None
        assert s.from_below is not None
        out = stage.layer_outputs[s.layer]
        half = slice(s.direction * h, (s.direction + 1) * h)
        row = s.t - 1  # time step t is row t − 1 of the arrays
        np.testing.assert_array_equal(s.a, out[row, half])
        assert s.value == s.a[0]
        below = stage.x[row] if s.layer == 0 else stage.layer_outputs[s.layer - 1][row]
        np.testing.assert_array_equal(s.from_below, below)
        np.testing.assert_array_equal(s.inner.x, below)
        if s.left_t is None:
            assert s.t == (1 if s.direction == 0 else 5)
            np.testing.assert_array_equal(s.from_left, np.zeros(h))
            start = "⟨0⟩ = 0" if s.direction == 0 else "⟨6⟩ = 0"  # a→⟨0⟩, a←⟨T + 1⟩
            assert f"from {'a→' if s.direction == 0 else 'a←'}[{s.layer + 1}]{start}" in (
                s.explanation
            )
        else:
            assert s.left_t == s.t + (1 if s.direction else -1)
            np.testing.assert_array_equal(s.from_left, out[s.left_t - 1, half])
            # the left input was computed by an earlier step
            assert stage.cell_index(s.layer, s.direction, s.left_t) < i


def test_output_steps() -> None:
    stage = make("lstm", 1, True, steps=3, out=4)
    assert stage.outputs_y is not None
    for t in range(3):
        s = stage.step(6 + t)
        assert s.is_output and s.inner is None and s.y_hat is not None and s.t == t + 1
        np.testing.assert_array_equal(s.y_hat, stage.outputs_y[t])
        np.testing.assert_array_equal(s.from_below, stage.output[t])
        assert s.value == s.y_hat[0]


@pytest.mark.parametrize("name", ["rnn_bidirectional", "rnn_deep"])
def test_bundled(name: str) -> None:
    sim = scenarios.load(scenarios.resolve(name))
    (stage,) = sim.stages
    assert isinstance(stage, DeepRecurrentStage)
    assert stage.check_against_torch() < ATOL
    assert sim.topic == "Recurrent networks"
    desc = stage.describe()
    assert desc["steps"] == len(stage)
    assert desc["hyperparameters"]["num_layers"] == stage.num_layers


def test_scenario_weights_and_seed(load_text: Callable[..., Any]) -> None:
    text = DEEP + (
        'cell = "rnn"\nhidden_size = 2\nnum_layers = 2\nseed = 4\ninput = [[1.0], [0.5], [-1.0]]\n'
        "[weights]\nweight_hh_l1 = [[0.1, 0.2], [0.3, 0.4]]\n"
    )
    (stage,) = load_text(text).stages
    assert isinstance(stage, DeepRecurrentStage)
    seeded = deep_seeded_weights("rnn", 1, 2, 2, False, 4)
    np.testing.assert_array_equal(stage.params["weight_hh_l1"], [[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(stage.params["weight_ih_l0"], seeded["weight_ih_l0"])
    assert stage.check_against_torch() < ATOL


# -- errors ---------------------------------------------------------------------------------


def _weights(cell: str = "gru", layers: int = 2, bi: bool = True) -> dict[str, np.ndarray]:
    return deep_seeded_weights(cell, 3, 4, layers, bi, 0)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"num_layers": 0}, "num_layers", "1 to 8"),
        ({"num_layers": 9}, "num_layers", "1 to 8"),
        ({"num_layers": 2.0}, "num_layers", "whole number"),
        ({"bidirectional": "yes"}, "bidirectional", "true or false"),
        ({"cell": "lstn"}, "cell", "did you mean 'lstm'"),
        ({"hidden_size": 0}, "hidden_size", "≥ 1"),
    ],
)
def test_spec_errors(change: dict[str, object], field: str, words: str) -> None:
    args: dict[str, object] = {
        "x": np.zeros((3, 3)),
        "cell": "gru",
        "hidden_size": 4,
        "num_layers": 2,
        "bidirectional": True,
        "weights": _weights(),
    }
    args.update(change)
    with pytest.raises(SpecError) as e:
        DeepRecurrentStage(**args)  # type: ignore[arg-type]
    assert e.value.field == field
    assert words in e.value.message


def test_weight_errors_name_the_parameter_and_both_shapes() -> None:
    w = _weights()
    w["weight_ih_l1_reverse"] = np.zeros((12, 4))
    with pytest.raises(SpecError) as e:
        DeepRecurrentStage(np.zeros((3, 3)), "gru", 4, 2, True, w)
    assert e.value.field == "weights.weight_ih_l1_reverse"
    assert "(12, 8)" in e.value.message and "(12, 4)" in e.value.message
    w = _weights()
    w["weight_ih_l2"] = np.zeros((12, 8))
    with pytest.raises(SpecError, match="did you mean"):
        DeepRecurrentStage(np.zeros((3, 3)), "gru", 4, 2, True, w)
    w = _weights()
    del w["weight_hh_l0_reverse"]
    with pytest.raises(SpecError) as e:
        DeepRecurrentStage(np.zeros((3, 3)), "gru", 4, 2, True, w)
    assert e.value.field == "weights.weight_hh_l0_reverse" and "missing" in e.value.message
    with pytest.raises(SpecError) as e:
        DeepRecurrentStage(np.zeros((3,)), "gru", 4, 2, True, _weights())
    assert e.value.field == "input"


def test_too_large_is_refused_before_running() -> None:
    with pytest.raises(SpecError, match="limit"):
        DeepRecurrentStage(np.zeros((10_000, 3)), "lstm", 2048, 8, True, {})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("hidden_size = 2\ninput = [[1.0]]\nnum_layers = 0\n", "num_layers"),
        ("hidden_size = 2\ninput = [[1.0]]\n[weights]\nweight_ih_l0 = [[1.0]]\n", "weight_ih_l0"),
        ("hidden_size = 2\ninput = [[1.0]]\n[weights]\nweight_xx_l0 = [[1.0]]\n", "weight_xx_l0"),
        ("hidden_size = 2\ninput = [1.0, 2.0]\n", "input"),
        ('hidden_size = 2\ninput = [[1.0]]\ncell = "lstn"\n', "cell"),
    ],
)
def test_scenario_errors(load_text: Callable[..., Any], body: str, field: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load_text(DEEP + body)
    assert field in str(e.value)
