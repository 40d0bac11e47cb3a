"""Learning a kernel by gradient descent: the analytic gradient and the whole run against PyTorch's
autograd, the bundled scenario's convergence, stepping, errors, and the inspector's text."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
import scenarios
from engine.core import Simulation
from engine.errors import SpecError
from engine.kernels import kernel
from engine.learn import (
    MAX_ITERATIONS,
    KernelLearningStage,
    LearnStep,
    correlate,
    loss_and_gradient,
)
from scenarios import ScenarioError
from tui.numbers import fmt_exact, fmt_factor
from tui.panels.learn import explain_learn, fmt_pair, log_losses

ATOL = 1e-12
LEARN = 'kind = "learn_kernel"\ntitle = "t"\n'
GOOD = (
    "images = { random = [2, 6, 6], seed = 1, low = -1, high = 1, integer = false }\n"
    'hidden_kernel = "vertical_edge"\n'
)


def torch_loss_and_gradient(
    images: np.ndarray, targets: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """MSE of conv2d(images, w) against targets and its gradient, by autograd in float64."""
    x = torch.from_numpy(images)[:, None]  # (N, 1, H, W)
    wt = torch.from_numpy(w.copy())[None, None].requires_grad_(True)  # (1, 1, fh, fw)
    loss = F.mse_loss(F.conv2d(x, wt), torch.from_numpy(targets)[:, None])
    loss.backward()
    assert wt.grad is not None
    return loss.item(), wt.grad[0, 0].numpy()


def random_stage(
    shape: tuple[int, int, int] = (3, 7, 6),
    hidden: np.ndarray | None = None,
    learning_rate: float = 0.1,
    iterations: int = 50,
    seed: int = 0,
) -> KernelLearningStage:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=shape)
    w_star = kernel("sobel_x") if hidden is None else hidden
    w0 = rng.uniform(-1, 1, size=w_star.shape)
    return KernelLearningStage(x, w_star, w0, learning_rate, iterations)


# -- the analytic gradient against autograd -------------------------------------------------


@pytest.mark.parametrize(
    ("images_shape", "kernel_shape"),
    [((1, 5, 5), (3, 3)), ((4, 8, 8), (3, 3)), ((2, 6, 9), (2, 4)), ((3, 4, 4), (1, 1))],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_autograd(
    images_shape: tuple[int, int, int], kernel_shape: tuple[int, int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=images_shape)
    y = rng.normal(
        size=(images_shape[0], *(images_shape[i + 1] - kernel_shape[i] + 1 for i in (0, 1)))
    )
    w = rng.normal(size=kernel_shape)
    loss, grad = loss_and_gradient(x, y, w)
    ref_loss, ref_grad = torch_loss_and_gradient(x, y, w)
    assert grad.shape == kernel_shape
    assert loss == pytest.approx(ref_loss, rel=1e-12, abs=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=ATOL)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    fh=st.integers(1, 4),
    fw=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_gradient_matches_autograd_on_random_shapes(
    n: int, h: int, w: int, fh: int, fw: int, seed: int
) -> None:
    fh, fw = min(fh, h), min(fw, w)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, h, w))
    y = rng.uniform(-2, 2, size=(n, h - fh + 1, w - fw + 1))
    k = rng.uniform(-2, 2, size=(fh, fw))
    loss, grad = loss_and_gradient(x, y, k)
    ref_loss, ref_grad = torch_loss_and_gradient(x, y, k)
    assert loss == pytest.approx(ref_loss, rel=1e-12, abs=ATOL)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-11)


def test_gradient_written_out_for_one_weight() -> None:
    """∂L/∂W[u, v] = (2/M)·Σ residual · input shifted by (u, v), summed by hand."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 6))
    w = rng.normal(size=(3, 3))
    y = rng.normal(size=(2, 3, 4))
    _, grad = loss_and_gradient(x, y, w)
    r = correlate(x, w) - y
    for u in range(3):
        for v in range(3):
            by_hand = 2 / r.size * np.sum(r * x[:, u : u + 3, v : v + 4])
            assert grad[u, v] == pytest.approx(by_hand, rel=1e-12, abs=ATOL)


def test_correlate_is_conv2d() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(3, 6, 5)), rng.normal(size=(2, 3))
    ref = F.conv2d(torch.from_numpy(x)[:, None], torch.from_numpy(w)[None, None])[:, 0]
    np.testing.assert_allclose(correlate(x, w), ref.numpy(), rtol=1e-12, atol=ATOL)


# -- the whole run against autograd ---------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "hidden"),
    [
        ((4, 8, 8), kernel("vertical_edge")),
        ((1, 6, 7), kernel("laplacian")),
        ((3, 5, 5), np.array([[0.5, -1.0], [2.0, 0.25]])),
    ],
    ids=["vertical-edge", "one-image", "2x2"],
)
def test_trajectory_matches_torch(shape: tuple[int, int, int], hidden: np.ndarray) -> None:
    stage = random_stage(shape, hidden, learning_rate=0.2, iterations=60)
    kernels, losses = stage.reference_run()
    assert stage.output.shape == kernels.shape == (60, *hidden.shape)
    np.testing.assert_allclose(stage.output, kernels, rtol=1e-10, atol=ATOL)
    np.testing.assert_allclose(stage.losses, losses, rtol=1e-10, atol=ATOL)
    assert stage.check_against_torch() < 1e-12


def test_targets_are_the_images_filtered_by_the_hidden_kernel() -> None:
    stage = random_stage()
    ref = F.conv2d(
        torch.from_numpy(np.array(stage.images))[:, None],
        torch.from_numpy(np.array(stage.hidden))[None, None],
    )[:, 0]
    assert stage.targets.shape == (3, 5, 4) == (3, *stage.out_hw)
    np.testing.assert_allclose(stage.targets, ref.numpy(), rtol=1e-12, atol=ATOL)
    assert stage.pixels == 3 * 5 * 4


# -- the bundled scenario -------------------------------------------------------------------


def test_bundled_scenario_learns_the_vertical_edge_detector() -> None:
    sim = scenarios.load(scenarios.resolve("learn_vertical_edge"))
    (stage,) = sim.stages
    assert isinstance(stage, KernelLearningStage)
    np.testing.assert_array_equal(stage.hidden, kernel("vertical_edge"))
    assert np.abs(stage.final_kernel - stage.hidden).max() < 1e-3
    reached = stage.first_iteration_within(1e-3)
    assert reached is not None and 100 <= reached < len(stage)
    # A visible descent: the start is far off, and the loss falls by orders of magnitude.
    assert stage.distances[0] > 1 and stage.losses[0] > 1e4 * stage.losses[-1]
    assert stage.learning_rate < stage.critical_learning_rate
    assert stage.parameter_count == 9 and len(sim) == stage.iterations
    assert sim.topic == "Convolution"
    assert stage.check_against_torch() < 1e-12


def test_loading_is_reproducible() -> None:
    path = scenarios.resolve("learn_vertical_edge")
    a, b = (scenarios.load(path).stages[0] for _ in range(2))
    assert isinstance(a, KernelLearningStage) and isinstance(b, KernelLearningStage)
    np.testing.assert_array_equal(a.trajectory, b.trajectory)
    np.testing.assert_array_equal(a.losses, b.losses)


# -- stepping -------------------------------------------------------------------------------


def test_steps_are_consistent() -> None:
    stage = random_stage(iterations=30)
    previous: LearnStep | None = None
    for i in range(len(stage)):
        step = stage.step(i)
        assert isinstance(step, LearnStep)
        assert step.kernel is not None and step.gradient is not None
        assert step.next_kernel is not None
        assert (step.index, step.iteration, step.stage) == (i, i, "learn")
        assert step.value == step.loss == stage.losses[i]
        assert step.learning_rate == stage.learning_rate
        np.testing.assert_allclose(
            step.next_kernel, step.kernel - step.learning_rate * step.gradient, rtol=0, atol=0
        )
        np.testing.assert_array_equal(step.next_kernel, stage.output[i])
        assert step.distance == np.abs(step.kernel - stage.hidden).max()
        loss, grad = loss_and_gradient(stage.images, stage.targets, step.kernel)
        assert loss == pytest.approx(step.loss, rel=1e-12)
        np.testing.assert_allclose(grad, step.gradient, rtol=1e-12, atol=ATOL)
        if previous is not None:
            assert previous.next_kernel is not None
            np.testing.assert_array_equal(step.kernel, previous.next_kernel)
        previous = step
    np.testing.assert_array_equal(stage.step(0).kernel, stage.init)  # type: ignore[arg-type]
    np.testing.assert_array_equal(stage.step(-1).next_kernel, stage.final_kernel)  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        stage.step(len(stage))


def test_step_arrays_are_read_only() -> None:
    step = random_stage().step(3)
    assert step.kernel is not None
    with pytest.raises(ValueError):
        step.kernel[0, 0] = 1.0


def test_shapes_of_the_recorded_run() -> None:
    stage = random_stage(iterations=20)
    assert stage.kernels.shape == stage.gradients.shape == (20, 3, 3)
    assert stage.trajectory.shape == (21, 3, 3) and stage.losses.shape == (20,)
    assert stage.distances.shape == (21,)
    np.testing.assert_array_equal(stage.trajectory[1:], stage.output)
    assert stage.final_loss == pytest.approx(
        loss_and_gradient(stage.images, stage.targets, stage.final_kernel)[0], rel=1e-12
    )
    assert stage.row_steps() == 10


def test_first_iteration_within() -> None:
    stage = random_stage(iterations=200)
    k = stage.first_iteration_within(1e-3)
    assert k is not None
    assert stage.distances[k] <= 1e-3 and (k == 0 or stage.distances[k - 1] > 1e-3)
    assert stage.first_iteration_within(1e-300) is None
    assert stage.first_iteration_within(math.inf) == 0
    # Starting at the answer: already there, and the loss stays 0.
    w = kernel("vertical_edge")
    x = np.random.default_rng(0).normal(size=(2, 5, 5))
    at_answer = KernelLearningStage(x, w, w, 0.1, 5)
    assert at_answer.first_iteration_within(0) == 0
    assert np.all(at_answer.losses == 0)


def test_critical_learning_rate_separates_convergence_from_divergence() -> None:
    base = random_stage(iterations=1)
    crit = base.critical_learning_rate
    args = (base.images, base.hidden, base.init)
    below = KernelLearningStage(*args, learning_rate=0.9 * crit, iterations=400)
    assert below.distances[-1] < below.distances[0]
    above = KernelLearningStage(*args, learning_rate=1.1 * crit, iterations=400)
    assert above.distances[-1] > above.distances[0]


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    rng = np.random.default_rng(0)
    KernelLearningStage(
        rng.normal(size=(1, 5, 5)),
        kernel("identity"),
        np.zeros((3, 3)),
        0.1,
        1234,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls and calls[-1] == (1234, 1234)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(total == 1234 for _, total in calls)


def test_loading_reports_training_progress() -> None:
    calls: list[tuple[int, int]] = []
    sim = scenarios.load(
        scenarios.resolve("learn_vertical_edge"), progress=lambda d, t: calls.append((d, t))
    )
    assert calls and calls[-1] == (len(sim), len(sim))


def test_in_a_simulation_and_exported() -> None:
    stage = random_stage(iterations=12)
    sim = Simulation([stage])
    assert len(sim) == 12 and sim.step(5).value == stage.losses[5]
    assert engine.KernelLearningStage is KernelLearningStage and engine.LearnStep is LearnStep


def test_describe() -> None:
    stage = random_stage(iterations=7)
    d = stage.describe()
    assert d["kind"] == "learn_kernel" == KernelLearningStage.kind
    assert d["input"]["shape"] == [3, 7, 6] and d["hidden_kernel"]["shape"] == [3, 3]
    assert d["parameters"]["weight"]["values"] == stage.init.tolist()
    assert d["hyperparameters"]["learning_rate"] == 0.1
    assert d["hyperparameters"]["iterations"] == 7 == d["steps"]
    assert d["output"]["shape"] == [7, 3, 3] and len(d["losses"]) == 7
    assert d["step_order"] == ["iteration"]


# -- errors from the engine -----------------------------------------------------------------


def make(**kw: object) -> KernelLearningStage:
    args: dict[str, object] = {
        "images": np.ones((2, 5, 5)),
        "hidden": kernel("vertical_edge"),
        "init": np.zeros((3, 3)),
        "learning_rate": 0.1,
        "iterations": 10,
    }
    args.update(kw)
    return KernelLearningStage(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "field", "words"),
    [
        pytest.param({"images": np.ones((0, 5, 5))}, "images", "empty", id="no-images"),
        pytest.param({"images": np.ones((2, 2, 5, 5))}, "images", "(N, H, W)", id="4-d"),
        pytest.param(
            {"images": np.array([[[np.nan] * 5] * 5])}, "images", "finite", id="nan-image"
        ),
        pytest.param({"images": np.ones((2, 2, 5))}, "hidden_kernel", "larger", id="too-big"),
        pytest.param({"hidden": np.ones(3)}, "hidden_kernel", "(f_h, f_w)", id="1-d-kernel"),
        pytest.param({"init": np.zeros((2, 2))}, "init", "must match", id="init-shape"),
        pytest.param({"init": np.full((3, 3), np.inf)}, "init", "finite", id="init-inf"),
        pytest.param({"learning_rate": 0}, "learning_rate", "> 0", id="lr-0"),
        pytest.param({"learning_rate": -0.1}, "learning_rate", "> 0", id="lr-negative"),
        pytest.param({"learning_rate": math.nan}, "learning_rate", "finite", id="lr-nan"),
        pytest.param({"learning_rate": math.inf}, "learning_rate", "finite", id="lr-inf"),
        pytest.param({"iterations": 0}, "iterations", "1 to 100,000", id="no-iterations"),
        pytest.param(
            {"iterations": MAX_ITERATIONS + 1}, "iterations", "1 to 100,000", id="too-many"
        ),
        pytest.param({"iterations": 2.5}, "iterations", "whole number", id="fractional"),
        pytest.param(
            {"images": np.ones((1000, 100, 100)), "iterations": 100_000},
            "iterations",
            "multiply-adds",
            id="too-much-work",
        ),
    ],
)
def test_impossible_settings(kw: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        make(**kw)
    assert info.value.field == field
    assert words in info.value.message


def test_divergence_names_the_learning_rate() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError) as info:
        make(images=rng.normal(size=(2, 6, 6)), learning_rate=50.0, iterations=5000)
    assert info.value.field == "learning_rate"
    msg = info.value.message
    assert (
        msg.startswith("training diverges: loss is inf after ") and "smaller learning rate" in msg
    )


# -- scenario files -------------------------------------------------------------------------


def test_scenario_default_start(load_text: Callable[..., Any]) -> None:
    sim = load_text(LEARN + GOOD + "learning_rate = 0.1\niterations = 5\n")
    (stage,) = sim.stages
    assert isinstance(stage, KernelLearningStage)
    # Seeded uniform floats in [−1, 1), the hidden kernel's shape.
    expected = np.random.default_rng(0).uniform(-1, 1, size=(3, 3))
    np.testing.assert_array_equal(stage.init, expected)
    assert stage.learning_rate == 0.1 and len(stage) == 5


def test_scenario_images_as_a_list_of_specs(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        LEARN + 'images = [{ data = "digits", index = 0 }, { data = "digits", index = 1 }, '
        "{ random = [8, 8], seed = 2, low = -1, high = 1, integer = false }]\n"
        "hidden_kernel = [[1, 2], [3, 4]]\ninit = [[0, 0], [0, 0]]\n"
        "learning_rate = 1e-4\niterations = 3\n",
    )
    (stage,) = sim.stages
    assert isinstance(stage, KernelLearningStage)
    assert stage.images.shape == (3, 8, 8) and stage.kernel_hw == (2, 2)
    np.testing.assert_array_equal(stage.images[2], np.random.default_rng(2).uniform(-1, 1, (8, 8)))
    np.testing.assert_array_equal(stage.init, np.zeros((2, 2)))
    assert stage.check_against_torch() < 1e-12


def test_scenario_one_inline_image_and_a_preset_start(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        LEARN + "images = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 8, 7, 6], [5, 4, 3, 2]]\n"
        "hidden_kernel = { random = [2, 2], seed = 3 }\ninit = [[1, 0], [0, 1]]\n"
        "learning_rate = 0.001\niterations = 4\n",
    )
    (stage,) = sim.stages
    assert isinstance(stage, KernelLearningStage)
    assert stage.images.shape == (1, 4, 4) and stage.hidden.shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param(
            LEARN + GOOD + "learning_rate = 0\niterations = 10\n",
            "learning_rate",
            "> 0",
            id="lr-zero",
        ),
        pytest.param(
            LEARN + GOOD + 'learning_rate = "fast"\niterations = 10\n',
            "learning_rate",
            "valid number",
            id="lr-string",
        ),
        pytest.param(
            LEARN + GOOD + "learning_rate = 0.1\niterations = 0\n",
            "iterations",
            "1 to 100,000",
            id="no-iterations",
        ),
        pytest.param(
            LEARN + GOOD + "learning_rate = 0.1\niterations = 2.5\n",
            "iterations",
            "valid integer",
            id="fractional-iterations",
        ),
        pytest.param(
            LEARN + GOOD + "learning_rate = 0.1\n", "iterations", "missing", id="no-iterations-key"
        ),
        pytest.param(
            LEARN + GOOD + "learning_rate = 0.1\niterations = 10\nlearning_rat = 1\n",
            "learning_rat",
            "did you mean 'learning_rate'",
            id="typo",
        ),
        pytest.param(
            LEARN + GOOD + "learning_rate = 20\niterations = 20000\n",
            "learning_rate",
            "training diverges",
            id="diverges",
        ),
        pytest.param(
            LEARN + "images = [[1, 2], [3, 4]]\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 10\n',
            "hidden_kernel",
            "kernel 3×3 is larger than the images 2×2",
            id="kernel-too-big",
        ),
        pytest.param(
            LEARN + "images = { random = [6, 6] }\n"
            'hidden_kernel = "vertical_edg"\nlearning_rate = 0.1\niterations = 10\n',
            "hidden_kernel",
            "did you mean 'vertical_edge'",
            id="unknown-preset",
        ),
        pytest.param(
            LEARN + "images = { random = [6, 6] }\n"
            "hidden_kernel = { random = [2, 3, 3] }\nlearning_rate = 0.1\niterations = 10\n",
            "hidden_kernel",
            "one (f_h, f_w) kernel",
            id="3-d-kernel",
        ),
        pytest.param(
            LEARN + "images = { random = [6, 6] }\n"
            'hidden_kernel = "vertical_edge"\ninit = [[1, 2], [3, 4]]\n'
            "learning_rate = 0.1\niterations = 10\n",
            "init",
            "must match",
            id="init-shape",
        ),
        pytest.param(
            LEARN + "images = { random = [2, 3, 6, 6] }\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 10\n',
            "images",
            "3-D (N, H, W)",
            id="4-d-images",
        ),
        pytest.param(
            LEARN + "images = { random = [6, 6], sed = 1 }\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 10\n',
            "images.sed",
            "did you mean 'seed'",
            id="random-spec-typo",
        ),
        pytest.param(
            LEARN + "images = [{ random = [6, 6] }, { random = [5, 5] }]\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 10\n',
            "images",
            "same shape, got [6, 6], [5, 5]",
            id="images-of-different-sizes",
        ),
        pytest.param(
            LEARN + "images = [{ random = [6, 6] }, { random = [2, 6, 6] }]\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 10\n',
            "images[1]",
            "one (H, W) image",
            id="list-entry-not-an-image",
        ),
        pytest.param(
            LEARN + "images = { random = [1000, 100, 100] }\n"
            'hidden_kernel = "vertical_edge"\nlearning_rate = 0.1\niterations = 100000\n',
            "iterations",
            "multiply-adds",
            id="too-much-work",
        ),
    ],
)
def test_bad_learn_files(load_text: Callable[..., Any], text: str, field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    found = info.value.problems
    assert len(found) == 1, found
    got_field, message = found[0]
    assert got_field == field, found
    assert words in message, found


# -- the inspector --------------------------------------------------------------------------


def test_inspector_writes_out_one_weights_update() -> None:
    stage = random_stage(iterations=200)
    step = stage.step(7)
    assert step.kernel is not None and step.gradient is not None
    assert step.next_kernel is not None
    text = explain_learn(stage, step, (1, 2)).plain
    assert "W[1, 2] ← W[1, 2] − η·∂L/∂W[1, 2] = " in text
    assert "input shifted by (1, 2)" in text
    a, g, b = (float(m[1, 2]) for m in (step.kernel, step.gradient, step.next_kernel))
    before, after = fmt_pair(a, b)
    assert f"= {before} − 0.1·{fmt_factor(g)} = {after}" in text
    loss = fmt_exact(step.loss)
    assert f"= {loss} over M = 60 pixels (3 images, 7×6 → 5×4)" in text
    reached = stage.first_iteration_within(1e-3)
    assert reached is not None and reached > 0 and f"≤ 0.001 after {reached} iterations" in text
    short = random_stage(iterations=20)
    assert "not ≤ 0.001 within 20 iterations" in explain_learn(short, short.step(3), (0, 0)).plain


def test_fmt_pair_shows_the_digits_that_change() -> None:
    assert fmt_pair(0.25, -0.5) == ("0.25", "−0.5")
    assert fmt_pair(0.9999880, 0.9999885) == ("0.999988", "0.9999885")
    assert fmt_pair(1 / 3, 1 / 3) == ("0.333333", "0.333333")


def test_log_losses_survive_a_zero_loss() -> None:
    ys = log_losses(np.array([1.0, 1e-4, 0.0]))
    assert np.all(np.isfinite(ys)) and ys[0] == 0 and ys[-1] == ys[1] == -4
    assert np.all(np.isfinite(log_losses(np.zeros(3))))


# -- the panel in the player ----------------------------------------------------------------


async def test_panel_follows_the_cursor_and_a_clicked_weight() -> None:
    from textual.widgets import Static

    from tui.app import NetsimApp
    from tui.panels.learn import LearnPanel
    from tui.screens.player import PlayerScreen
    from tui.widgets.curve import CurvePlot
    from tui.widgets.matrix import MatrixGrid

    sim = scenarios.load(scenarios.resolve("learn_vertical_edge"))
    stage = sim.stages[0]
    assert isinstance(stage, KernelLearningStage)
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        panel = screen.query_one(LearnPanel)
        await pilot.press("pagedown", "right")
        assert screen.cursor == 11
        kernel_grid = screen.query_one("#learn-kernel", MatrixGrid)
        np.testing.assert_array_equal(kernel_grid._values, stage.kernels[11])
        curve = screen.query_one("#learn-curve", CurvePlot)
        assert curve.point is not None and curve.point[0] == 11
        inspector = screen.query_one("#learn-inspector", Static)
        assert "W[0, 0] ←" in str(inspector.render())

        grid = screen.query_one("#learn-gradient", MatrixGrid)
        x = grid._label_w + 2 * grid.cell_width + 1
        await pilot.click("#learn-gradient", offset=(x, 1 + 1))  # row 1, col 2
        assert screen.cursor == 11  # following a weight does not move the cursor
        assert "W[1, 2] ←" in str(inspector.render())
        assert kernel_grid._mark == (1, 2)

        await pilot.press("h")
        assert all(g.heat for g in panel.query(MatrixGrid))
        await pilot.press("end")
        np.testing.assert_array_equal(kernel_grid._values, stage.kernels[-1])


def test_iterations_count_from_one_as_the_steps_do() -> None:
    """Step 1 of N is iteration 1 (the first update), as the timeline counts steps."""
    stage = random_stage(iterations=20)
    assert stage.step(0).explanation.startswith("iteration 1: ")
    assert stage.step(19).explanation.startswith("iteration 20: ")
