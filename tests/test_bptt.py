"""Backpropagation through time: δ⟨t⟩, its norms and the parameter gradients against torch
autograd, clipping against torch.nn.utils, the bundled scenarios' claims, and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import scenarios
from engine.bptt import BpttStage, clip_gradients
from engine.errors import SpecError
from engine.recurrent import seeded_weights
from scenarios.errors import ScenarioError
from scenarios.loader import load


def make(
    steps: int = 7,
    hidden: int = 3,
    n_in: int = 2,
    *,
    loss: str = "last",
    scale: float = 1.0,
    seed: int = 0,
    clip: tuple[str, float] | None = None,
    a0: bool = False,
) -> BpttStage:
    w = seeded_weights("rnn", n_in, hidden, seed)
    rng = np.random.default_rng(seed + 100)
    x = rng.uniform(-1, 1, (steps, n_in))
    y = rng.uniform(-1, 1, (hidden,) if loss == "last" else (steps, hidden))
    return BpttStage(
        x,
        hidden,
        w["weight_ih"],
        scale * w["weight_hh"],
        w["bias_ih"],
        w["bias_hh"],
        y,
        a0=rng.uniform(-1, 1, hidden) if a0 else None,
        loss=loss,
        clip=clip,
    )


CASES = [
    {"steps": 1},
    {"steps": 7},
    {"steps": 30, "hidden": 6},
    {"steps": 12, "scale": 3.0},
    {"steps": 9, "loss": "all", "a0": True},
    {"steps": 5, "hidden": 1, "n_in": 1, "loss": "all", "seed": 4},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_deltas_and_gradients_match_torch_autograd(case: dict) -> None:
    st = make(**case)
    deltas, grads = st.reference_run()
    np.testing.assert_allclose(st.deltas, deltas, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(st.output, st.reference(), rtol=1e-10, atol=1e-13)
    assert st.check_against_torch() < 1e-10
    for name, g in grads.items():
        np.testing.assert_allclose(st.gradients[name], g, rtol=1e-10, atol=1e-13)


def test_parameter_gradients_match_the_whole_sequence_module() -> None:
    """Running nn.RNN over the whole sequence at once gives the same parameter gradients."""
    st = make(steps=10, hidden=4, loss="all", a0=True)
    module = st.forward.torch_module()
    x = torch.from_numpy(np.array(st.forward.x))[:, None]
    h0 = torch.from_numpy(np.array(st.forward.a0))[None, None]
    out, _ = module(x, h0)
    loss = 0.5 * ((out[:, 0] - torch.from_numpy(st.target)) ** 2).sum()
    loss.backward()
    assert float(loss.detach()) == pytest.approx(st.loss_value, rel=1e-12)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        grad = getattr(module, f"{name}_l0").grad.numpy()
        np.testing.assert_allclose(st.gradients[name], grad, rtol=1e-10, atol=1e-13)


def test_steps_go_backward_and_follow_the_recursion() -> None:
    st = make(steps=6, hidden=3, loss="all")
    assert len(st) == 6
    # Time runs from t = 1 as in the course: the first step back is t = T, the last t = 1.
    assert [st.step(i).t for i in range(6)] == [6, 5, 4, 3, 2, 1]
    assert st.step(-1).t == 1
    assert st.step(0).explanation.startswith("t = 6: ‖δ⟨6⟩‖ = ")
    assert "δ⟨0⟩ = W_aaᵀ·(δ⟨1⟩ ⊙ (1 − a⟨1⟩²))" in st.step(-1).explanation
    for i in range(6):
        s = st.step(i)
        assert s.delta is not None and s.dtanh is not None and s.a is not None
        assert s.carry is not None
        assert s.value == s.norm == pytest.approx(np.linalg.norm(s.delta))
        np.testing.assert_allclose(s.dtanh, 1 - s.a**2)
        np.testing.assert_allclose(s.carry, st.weight_hh.T @ (s.delta * s.dtanh))
        if i + 1 < 6:
            nxt = st.step(i + 1)
            assert nxt.delta is not None and nxt.local is not None
            np.testing.assert_allclose(nxt.delta, s.carry + nxt.local)
    last = st.step(0)
    assert last.delta is not None and last.local is not None
    np.testing.assert_allclose(last.delta, last.local)
    # The running norms grow to the totals by the last step.
    final = st.step(-1).grad_norms
    assert final["weight_hh"] == pytest.approx(np.linalg.norm(st.gradients["weight_hh"]))
    assert final["bias"] == pytest.approx(np.linalg.norm(st.gradients["bias_ih"]))


@pytest.mark.parametrize("threshold", [0.01, 0.5, 1e6])
def test_clip_by_norm_matches_torch(threshold: float) -> None:
    st = make(steps=12, hidden=4, scale=3.0, clip=("norm", threshold))
    module = st.forward.torch_module()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(module, f"{name}_l0").grad = torch.from_numpy(st.gradients[name].copy())
    total = torch.nn.utils.clip_grad_norm_(module.parameters(), threshold)
    assert st.clip_summary is not None and st.clipped is not None
    assert st.clip_summary["norm_before"] == pytest.approx(float(total), rel=1e-12)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        grad = getattr(module, f"{name}_l0").grad.numpy()
        np.testing.assert_allclose(st.clipped[name], grad, rtol=1e-12, atol=1e-15)
    assert st.clip_summary["norm_after"] <= threshold * (1 + 1e-9) or threshold > float(total)
    assert st.step(-1).clip == st.clip_summary and st.step(0).clip is None


@pytest.mark.parametrize("threshold", [0.01, 0.3, 100.0])
def test_clip_by_value_matches_torch(threshold: float) -> None:
    st = make(steps=12, hidden=4, scale=3.0, clip=("value", threshold))
    module = st.forward.torch_module()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(module, f"{name}_l0").grad = torch.from_numpy(st.gradients[name].copy())
    torch.nn.utils.clip_grad_value_(module.parameters(), threshold)
    assert st.clipped is not None and st.clip_summary is not None
    changed = 0
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        grad = getattr(module, f"{name}_l0").grad.numpy()
        np.testing.assert_array_equal(st.clipped[name], grad)
        changed += int(np.count_nonzero(np.abs(st.gradients[name]) > threshold))
    assert st.clip_summary["clipped_entries"] == changed


def test_bundled_vanishing_decays_by_orders_of_magnitude() -> None:
    st = load(scenarios.resolve("bptt_vanishing")).stages[0]
    assert isinstance(st, BpttStage) and len(st) == 30
    assert st.decay() < 1e-3
    assert np.all(np.diff(st.norms) > 0)  # shrinks at every step back
    assert st.check_against_torch() < 1e-12


def test_bundled_exploding_grows_and_is_clipped_by_norm() -> None:
    st = load(scenarios.resolve("bptt_exploding")).stages[0]
    assert isinstance(st, BpttStage) and len(st) == 30
    assert st.decay() > 1e3
    assert st.clip_summary is not None and st.clip_summary["mode"] == "norm"
    assert st.clip_summary["norm_before"] > 100
    assert st.clip_summary["norm_after"] == pytest.approx(1.0, rel=1e-6)
    # Rounding in the forward states is amplified going back like the gradient itself, so the
    # relative difference from PyTorch grows towards t = 0, yet stays far below the badge's 1e-9.
    assert np.max(np.abs(st.output - st.reference()) / st.output) < 1e-10


def test_the_clipped_norm_counts_both_biases_and_the_panel_says_so() -> None:
    """‖g‖ covers PyTorch's four tensors, so ∂L/∂b_a counts twice: ‖g‖² = W_aa² + W_ax² + 2b²."""
    from tui.panels.bptt import clip_line

    st = load(scenarios.resolve("bptt_exploding")).stages[0]
    assert isinstance(st, BpttStage) and st.clip_summary is not None
    g = st.step(-1).grad_norms
    whole = np.sqrt(g["weight_hh"] ** 2 + g["weight_ih"] ** 2 + 2 * g["bias"] ** 2)
    assert st.clip_summary["norm_before"] == pytest.approx(whole, rel=1e-12)
    assert "bias_ih and bias_hh together" in clip_line(st.clip_summary).plain


def test_bundled_clip_value_cuts_some_entries() -> None:
    st = load(scenarios.resolve("bptt_clip_value")).stages[0]
    assert isinstance(st, BpttStage) and st.loss_mode == "all"
    assert st.clip_summary is not None and st.clip_summary["mode"] == "value"
    assert 0 < st.clip_summary["clipped_entries"] < st.clip_summary["entries"]
    assert st.check_against_torch() < 1e-12


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"loss": "mean"}, "loss"),
        ({"clip": ("both", 1.0)}, "clip.mode"),
        ({"clip": ("norm", 0.0)}, "clip.threshold"),
        ({"clip": ("value", float("nan"))}, "clip.threshold"),
    ],
)
def test_spec_errors(kwargs: dict, field: str) -> None:
    with pytest.raises(SpecError) as e:
        make(**kwargs)
    assert e.value.field == field


def test_target_shape_is_checked() -> None:
    w = seeded_weights("rnn", 2, 3, 0)
    x = np.zeros((4, 2))
    args = (x, 3, w["weight_ih"], w["weight_hh"], None, None)
    with pytest.raises(SpecError, match=r"expected shape \(3,\).*got \(4, 3\)") as e:
        BpttStage(*args, np.zeros((4, 3)), loss="last")
    assert e.value.field == "target"
    with pytest.raises(SpecError, match=r"\(4, 3\) for loss 'all'"):
        BpttStage(*args, np.zeros(3), loss="all")
    with pytest.raises(SpecError) as e:
        BpttStage(*args, np.array([0.0, np.inf, 0.0]))
    assert e.value.field == "target"


def test_overflow_is_an_error() -> None:
    w = seeded_weights("rnn", 1, 2, 0)
    hh = np.array([[1e200, 0.0], [0.0, 1e200]])
    with pytest.raises(SpecError) as e:
        BpttStage(np.zeros((5, 1)), 2, w["weight_ih"], hh, None, None, np.ones(2))
    assert e.value.field == "weights.weight_hh"


def test_clip_gradients_direction_kept_by_norm() -> None:
    grads = {"a": np.array([3.0, 4.0]), "b": np.array([0.0])}
    out, summary = clip_gradients(grads, "norm", 1.0)
    np.testing.assert_allclose(out["a"], [0.6, 0.8], rtol=1e-5)
    assert summary["norm_before"] == 5.0 and summary["clipped_entries"] == 2


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text('kind = "bptt"\ntitle = "t"\n' + body)
    return p


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ("hidden_size = 2\ninput = [[1.0], [2.0]]\ntarget = [1.0]\n", "target", "(2,)"),
        ("hidden_size = 2\ninput = [[1.0]]\ntarget = [1.0, 1.0]\nloss = 'avg'\n", "loss", "avg"),
        (
            "hidden_size = 2\ninput = [[1.0]]\ntarget = [1.0, 1.0]\n"
            "clip = { mode = 'norm', threshold = -1 }\n",
            "clip.threshold",
            "> 0",
        ),
        (
            "hidden_size = 2\ninput = [[1.0]]\ntarget = [1.0, 1.0]\n"
            "clip = { mode = 'nrom', threshold = 1 }\n",
            "clip.mode",
            "nrom",
        ),
        (
            "hidden_size = 2\ninput = [[1.0]]\ntarget = [1.0, 1.0]\nrecurrent_scale = 0\n",
            "recurrent_scale",
            "> 0",
        ),
        (
            "hidden_size = 2\ninput = [[1.0]]\ntarget = [1.0, 1.0]\n[weights]\n"
            "weight_hh = [[1.0, 2.0]]\n",
            "weights.weight_hh",
            "(2, 2)",
        ),
        ("hidden_size = 2\ninput = [1.0, 2.0]\ntarget = [1.0, 1.0]\n", "input", "2-D"),
        ("hidden_size = 2\ninput = [[1.0]]\n", "target", "missing"),
    ],
)
def test_scenario_errors_name_the_field(tmp_path: Path, body: str, field: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as e:
        load(write(tmp_path, body))
    problems = dict(e.value.problems)
    assert field in problems, problems
    assert needle in problems[field]


def test_recurrent_scale_multiplies_the_seeded_weights(tmp_path: Path) -> None:
    body = "hidden_size = 3\nseed = 5\ninput = [[1.0], [0.5]]\ntarget = [0.0, 0.0, 0.0]\n"
    plain = load(write(tmp_path, body)).stages[0]
    scaled = load(write(tmp_path, body + "recurrent_scale = 2.5\n")).stages[0]
    assert isinstance(plain, BpttStage) and isinstance(scaled, BpttStage)
    np.testing.assert_allclose(scaled.weight_hh, 2.5 * plain.weight_hh)
