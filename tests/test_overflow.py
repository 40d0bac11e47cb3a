"""The overflow policy (docs/architecture.md, "Overflow"): finite inputs whose results would not
be finite are refused when the stage is built, naming the field and a range that works; where
the right answer is finite it is computed; no RuntimeWarning ever escapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.activation import ActivationStage
from engine.arrays import l2norm
from engine.bptt import BpttStage, clip_gradients
from engine.deep_recurrent import DeepRecurrentStage, deep_seeded_weights
from engine.errors import SpecError
from engine.language import log_softmax
from engine.learn import KernelLearningStage
from engine.limits import MAX_OUTPUT_SIZE, MAX_SEQUENCE, MAX_TOKENS
from engine.pool import PoolStage
from engine.recurrent import RecurrentStage, check_sizes, layout, seeded_weights, softmax
from engine.tokens import TokenStage, Vocabulary, tokenize

# Any RuntimeWarning (overflow, invalid value) raised inside the engine fails the test.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# -- refused, naming the field and a range that works -------------------------------------------


@pytest.mark.parametrize("y", [1e200, -1e300, 1e160])
def test_bptt_targets_whose_loss_overflows_are_refused(y: float) -> None:
    w = seeded_weights("rnn", 1, 2, 0)
    with pytest.raises(SpecError) as err:
        BpttStage(np.ones((5, 1)), 2, w["weight_ih"], w["weight_hh"], None, None, np.full(2, y))
    assert err.value.field == "target"
    assert "overflows" in err.value.message
    bound = float(err.value.message.split("±")[1].split()[0])
    assert 1e150 < bound < abs(y)
    # Targets just inside the bound give a finite loss, finite norms and finite gradients.
    stage = BpttStage(
        np.ones((5, 1)), 2, w["weight_ih"], w["weight_hh"], None, None, np.full(2, bound * 0.99)
    )
    assert math.isfinite(stage.loss_value)
    assert np.all(np.isfinite(stage.norms))
    assert all(np.all(np.isfinite(g)) for g in stage.gradients.values())


def test_bptt_large_targets_clip_by_norm_without_overflow() -> None:
    w = seeded_weights("rnn", 1, 2, 0)
    stage = BpttStage(
        np.ones((4, 1)), 2, w["weight_ih"], w["weight_hh"], None, None, np.full(2, 1e150),
        clip=("norm", 1.0),
    )  # fmt: skip
    assert stage.clip_summary is not None
    assert math.isfinite(stage.clip_summary["norm_before"])
    assert stage.clip_summary["norm_after"] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("slope", [1e308, 1e7, 2e6])
def test_leaky_relu_slope_beyond_the_limit_is_refused(slope: float) -> None:
    with pytest.raises(SpecError) as err:
        ActivationStage(np.array([-2.0, 1.0]), "leaky_relu", negative_slope=slope)
    assert err.value.field == "negative_slope"
    assert "≥ 0 and ≤ 1e+06" in err.value.message


def test_leaky_relu_slope_that_overflows_this_input_gives_the_range() -> None:
    with pytest.raises(SpecError) as err:
        ActivationStage(np.array([-1e303, 1.0]), "leaky_relu", negative_slope=1e6)
    assert err.value.field == "negative_slope"
    limit = float(err.value.message.rsplit(" ", 1)[1])
    stage = ActivationStage(np.array([-1e303, 1.0]), "leaky_relu", negative_slope=limit * 0.99)
    assert np.all(np.isfinite(stage.output))
    _, ys = stage.curve(-10, 10)
    assert np.all(np.isfinite(ys))


def _big_output_weights(h: int, o: int) -> np.ndarray:
    w = np.full((o, h), 1e308)
    w[1::2] = -1e308  # + and − rows: the overflow that used to give NaN probabilities
    return w


def test_recurrent_and_deep_recurrent_refuse_the_same_output_weights() -> None:
    x = np.full((3, 2), 5.0)  # saturates tanh, so |a| ≈ 1 and W_ya·a overflows
    h, o = 3, 4
    w = seeded_weights("rnn", 2, h, 0, o)
    w["weight_ih"] = np.ones((h, 2))
    w["w_ya"] = _big_output_weights(h, o)
    with pytest.raises(SpecError) as flat:
        RecurrentStage(
            x, "rnn", h, w["weight_ih"], w["weight_hh"], None, None, w_ya=w["w_ya"], b_y=w["b_y"]
        )
    dw = deep_seeded_weights("rnn", 2, h, 1, False, 0, o)
    dw["weight_ih_l0"] = np.ones((h, 2))
    dw["w_ya"] = _big_output_weights(h, o)
    with pytest.raises(SpecError) as deep:
        DeepRecurrentStage(x, "rnn", h, 1, False, dw)
    assert flat.value.field == deep.value.field == "weights.w_ya"
    for e in (flat.value, deep.value):
        assert "overflow" in e.message and "|W_ya| ≤" in e.message


def test_deep_recurrent_output_weights_that_fit_give_finite_probabilities() -> None:
    h, o = 3, 4
    dw = deep_seeded_weights("gru", 2, h, 2, True, 0, o)
    dw["w_ya"] = np.full((o, 2 * h), 1e300)
    dw["w_ya"][0] = -1e300
    stage = DeepRecurrentStage(np.ones((3, 2)), "gru", h, 2, True, dw)
    assert stage.outputs_y is not None
    assert np.all(np.isfinite(stage.outputs_y))
    np.testing.assert_allclose(stage.outputs_y.sum(axis=1), 1.0)


@pytest.mark.parametrize("scale", [1e300, 1e200])
def test_learn_kernel_images_too_large_are_refused(scale: float) -> None:
    images = np.random.default_rng(0).normal(size=(2, 8, 8)) * scale
    with pytest.raises(SpecError) as err:
        KernelLearningStage(images, np.ones((3, 3)), np.zeros((3, 3)), 0.01, 5)
    assert err.value.field == "images"
    bound = float(err.value.message.split("±")[1].split()[0])
    ok = images / np.abs(images).max() * bound * 0.5
    stage = KernelLearningStage(ok, np.ones((3, 3)), np.zeros((3, 3)), 1e-310, 3)
    assert math.isfinite(stage.critical_learning_rate)
    assert np.all(np.isfinite(stage.losses))


# -- finite answers computed without overflow ---------------------------------------------------


def test_average_pooling_of_huge_values_is_their_finite_mean() -> None:
    x = np.ones((2, 4, 6))
    x[0, :2, :2] = 1e308  # four 1e308: mean 1e308, sum inf
    x[1, 2:, 2:4] = [[1.7e308, 1.7e308], [1.7e308, -1e308]]
    x[1, :2, 4:] = [[1e308, 1e308], [-1e308, 3.0]]
    stage = PoolStage(x, "avg", 2)
    out = stage.output
    assert np.all(np.isfinite(out))
    windows = x.reshape(2, 2, 2, 3, 2).transpose(0, 1, 3, 2, 4).reshape(2, 2, 3, 4)
    expected = np.array([[[math.fsum(w / 4) for w in row] for row in ch] for ch in windows])
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    assert out[0, 0, 0] == 1e308
    # PyTorch's avg_pool2d sums first and overflows where we do not; where it is finite it
    # agrees with us, and the reference fills the rest from torch on the pre-divided cells.
    import torch
    import torch.nn.functional as F

    plain = F.avg_pool2d(torch.from_numpy(x)[None], 2)[0].numpy()
    finite = np.isfinite(plain)
    assert not finite.all()
    np.testing.assert_allclose(out[finite], plain[finite], rtol=1e-15)
    np.testing.assert_allclose(stage.reference(), out, rtol=1e-15)
    assert stage.check_against_torch() < 1e-15 * 1e308


def test_softmaxes_of_logits_far_apart_are_finite() -> None:
    z = np.array([[1e308, -1e308, 0.0], [-1.7e308, 1.7e308, 1.0]])
    p = softmax(z)
    np.testing.assert_array_equal(p, [[1, 0, 0], [0, 1, 0]])
    lp = log_softmax(z)
    assert lp[0, 0] == 0 and lp[1, 1] == 0


def test_norms_of_huge_vectors_are_finite() -> None:
    v = np.array([[3e200, 4e200], [0.0, 0.0]])
    np.testing.assert_allclose(l2norm(v, axis=1), [5e200, 0.0])
    assert float(l2norm(v)) == pytest.approx(5e200)
    _, summary = clip_gradients({"a": v}, "value", 1.0)
    assert summary["norm_before"] == pytest.approx(5e200)


# -- counts checked before anything is allocated ------------------------------------------------


@pytest.mark.parametrize("ty", [10**9, 10**10, 10**30, 2**63 - 1, MAX_SEQUENCE + 1])
@pytest.mark.parametrize("arch", ["one_to_many", "encoder_decoder"])
def test_decoder_steps_beyond_the_sequence_limit_are_refused_at_once(arch: str, ty: int) -> None:
    tx = 1 if arch == "one_to_many" else 3
    with pytest.raises(SpecError) as err:
        layout(arch, tx, ty)
    assert err.value.field == "decoder_steps"
    assert "limit of 10,000" in err.value.message and "empty" not in err.value.message


def test_the_longest_decoder_is_allowed() -> None:
    has_input, has_output = layout("encoder_decoder", 3, MAX_SEQUENCE - 3)
    assert len(has_input) == MAX_SEQUENCE and has_output.sum() == MAX_SEQUENCE - 3


@pytest.mark.parametrize("max_tokens", [2**63, 10**30, MAX_TOKENS + 1])
def test_max_tokens_beyond_the_limit_is_refused(max_tokens: int) -> None:
    vocab = Vocabulary.build(tokenize("cats sleep"), 10)
    with pytest.raises(SpecError) as err:
        TokenStage("cats sleep", vocab, max_tokens=max_tokens)
    assert err.value.field == "max_tokens" and "100,000" in err.value.message


@pytest.mark.parametrize("output_size", [1_000_000, MAX_OUTPUT_SIZE + 1, 2**63])
def test_output_size_beyond_the_limit_is_refused(output_size: int) -> None:
    with pytest.raises(SpecError) as err:
        check_sizes("rnn", 5, 3, 4, output_size)
    assert err.value.field == "output_size" and "10,000" in err.value.message


def test_vocabulary_size_beyond_the_limit_is_refused() -> None:
    with pytest.raises(SpecError) as err:
        Vocabulary.build(["a"], 10**12)
    assert err.value.field == "vocabulary_size"
