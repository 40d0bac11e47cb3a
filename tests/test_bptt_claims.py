"""The bundled BPTT scenarios say what their screens show: every number in a description is
computed again from the stage, written the way the inspector writes it, and found both in the
description and on the screen (the inspector's text at the step that shows it)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import scenarios
from engine.bptt import BpttStage
from engine.recurrent import seeded_weights
from scenarios.loader import load
from tui.numbers import fmt_exact
from tui.panels.bptt import explain_bptt


def plain(text: str) -> str:
    """Whitespace collapsed and the minus sign written as '-', so that numbers the description
    breaks across lines or writes with '−' compare with the screen's."""
    return re.sub(r"\s+", " ", text).replace("−", "-")


def scenario(name: str) -> tuple[BpttStage, str]:
    sim = load(scenarios.resolve(name))
    stage = sim.stages[0]
    assert isinstance(stage, BpttStage)
    return stage, plain(sim.description)


def screen(stage: BpttStage, t: int) -> str:
    """The inspector's text at the step that reaches time step t (from 1, as on screen)."""
    step = stage.step(len(stage) - t)
    assert step.t == t
    return plain(explain_bptt(stage, step).plain)


def step_ratios(stage: BpttStage) -> np.ndarray:
    """‖δ⟨t−1⟩‖ / ‖δ⟨t⟩‖ for t = T … 2, the ratio the inspector shows at each step back."""
    return stage.norms[:-1] / stage.norms[1:]


def said(number: str, *texts: str) -> None:
    for text in texts:
        assert plain(number) in text, f"{number!r} not in {text!r}"


def test_exploding_inputs_and_weights_are_as_described() -> None:
    st, desc = scenario("bptt_exploding")
    assert "H = 6, 30 steps" in desc
    assert st.hidden_size == 6 and len(st) == 30
    assert "W_aa × 5.5 (recurrent_scale)" in desc
    seeded = seeded_weights("rnn", 2, 6, 1)["weight_hh"]
    np.testing.assert_allclose(st.weight_hh, 5.5 * seeded, rtol=1e-15)
    assert "zero biases" in desc
    assert not np.any(st.forward.bias_ih) and not np.any(st.forward.bias_hh)
    assert "inputs in [-0.1, 0.1]" in desc
    assert np.all(np.abs(st.forward.x) <= 0.1) and np.abs(st.forward.x).max() > 0.09
    assert f"L = ½‖a⟨{len(st)}⟩ - 0‖²" in desc  # the last of t = 1 … T
    assert st.loss_mode == "last" and not np.any(st.target)


def test_exploding_delta_grows_going_back_through_time() -> None:
    st, desc = scenario("bptt_exploding")
    ratios = step_ratios(st)
    grows = int(np.sum(ratios > 1))
    said(f"above 1 at {grows} of the {len(ratios)} steps back", desc)
    # Each of those steps says so on screen, and the others say the gradient shrinks.
    big_t = len(st)
    words = [
        "grows" if "grows going back" in screen(st, t) else "shrinks" for t in range(big_t, 1, -1)
    ]
    assert words.count("grows") == grows
    assert grows > len(ratios) // 2  # most steps, as the description says
    last, first = float(st.norms[-1]), float(st.norms[0])
    said(f"from {fmt_exact(last)} at t = {big_t}", desc)
    said(f"‖δ⟨{big_t}⟩‖ = {fmt_exact(last)}", screen(st, big_t))
    said(f"to {fmt_exact(first)} at t = 1", desc)
    said(f"‖δ⟨1⟩‖ = {fmt_exact(first)}", screen(st, 1))
    said(f"{st.decay():.3g} times larger", desc)
    said(f"whole sequence ‖δ⟨1⟩‖ / ‖δ⟨{big_t}⟩‖ = {st.decay():.3g}", screen(st, 1))
    assert st.decay() > 1e4  # over ten-thousandfold


def test_exploding_weight_gradients_explode_too() -> None:
    """Not only ∂L/∂b_a: the recurrent and the input weights' gradients are large as well."""
    st, desc = scenario("bptt_exploding")
    g = st.step(-1).grad_norms
    last = screen(st, 1)
    for name, key in (("W_aa", "weight_hh"), ("W_ax", "weight_ih"), ("b_a", "bias")):
        said(f"‖∂L/∂{name}‖ = {fmt_exact(g[key])}", desc, last)
        assert g[key] > 1e4, name
        assert g[key] > 1e3 * st.norms[-1], name  # far above what the loss sends back at t = T
    assert g["weight_hh"] == pytest.approx(np.linalg.norm(st.gradients["weight_hh"]))
    assert g["weight_ih"] == pytest.approx(np.linalg.norm(st.gradients["weight_ih"]))


def test_exploding_clip_by_norm_brings_the_whole_gradient_to_the_threshold() -> None:
    st, desc = scenario("bptt_exploding")
    clip, clipped = st.clip_summary, st.clipped
    assert clip is not None and clipped is not None and clip["mode"] == "norm"
    assert clip["threshold"] == 1.0 and "c = 1" in desc
    last = screen(st, 1)
    said(f"‖g‖ = {fmt_exact(clip['norm_before'])} is above c = 1", desc)
    said(f"‖g‖ = {fmt_exact(clip['norm_before'])} > c", last)
    said(f"(×{clip['scale']:.3g})", desc, last)
    assert clip["norm_after"] == pytest.approx(clip["threshold"], rel=1e-9)
    said(f"‖g‖ comes back to {fmt_exact(clip['norm_after'])}.", desc)
    said(f"→ {fmt_exact(clip['norm_after'])}", last)
    # The whole gradient, every parameter, is scaled by the same factor: its direction is kept.
    joined = np.concatenate([st.gradients[k].ravel() for k in sorted(st.gradients)])
    after = np.concatenate([clipped[k].ravel() for k in sorted(clipped)])
    np.testing.assert_allclose(after, clip["scale"] * joined, rtol=1e-12)
    assert np.linalg.norm(after) == pytest.approx(1.0, rel=1e-9)
    # Every part of it was large before: clipping shrinks the weights' gradients, not only b_a's.
    for key in ("weight_hh", "weight_ih", "bias_ih"):
        assert np.linalg.norm(st.gradients[key]) > 1e3 > np.linalg.norm(clipped[key]) * 1e3


def test_vanishing_delta_shrinks_at_every_step_by_the_ratios_described() -> None:
    st, desc = scenario("bptt_vanishing")
    assert len(st) == 30 and st.loss_mode == "last"
    assert "PyTorch's default U(-1/√H, 1/√H)" in desc
    assert np.abs(st.weight_hh).max() <= 1 / np.sqrt(st.hidden_size)
    ratios = step_ratios(st)
    assert np.all(ratios < 1)
    said(f"shrinks at every one of the {len(ratios)} steps back", desc)
    big_t = len(st)
    assert all("shrinks going back" in screen(st, t) for t in range(big_t, 1, -1))
    said(f"by a ratio between {ratios.min():.2g} and {ratios.max():.2g}", desc)
    last, first = float(st.norms[-1]), float(st.norms[0])
    said(f"L = ½‖a⟨{big_t}⟩ - y‖² is taken at the last step only", desc)
    said(f"δ⟨{big_t}⟩ = a⟨{big_t}⟩ - y", desc)
    said(f"from {fmt_exact(last)} at t = {big_t}", desc)
    said(f"‖δ⟨{big_t}⟩‖ = {fmt_exact(last)}", screen(st, big_t))
    said(f"to {fmt_exact(first)} at t = 1", desc)
    said(f"‖δ⟨1⟩‖ = {fmt_exact(first)}", screen(st, 1))
    said(f"‖δ⟨1⟩‖ / ‖δ⟨{big_t}⟩‖ = {st.decay():.3g}", desc, screen(st, 1))
    millions = round(1 / st.decay() / 1e7) * 10
    said(f"about {millions} million times smaller", desc)
    assert 1 / st.decay() == pytest.approx(millions * 1e6, rel=0.05)
