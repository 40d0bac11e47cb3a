"""Receptive fields, influence and border usage, checked by brute force and by torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.activation import ActivationStage
from engine.conv import ConvStage
from engine.core import Simulation
from engine.pool import PoolStage
from engine.receptive import back, forward, influence, receptive_field, usage_counts


def conv_case(h: int, w: int, f: int, s: int, p: int, seed: int = 0) -> ConvStage:
    rng = np.random.default_rng(seed)
    return ConvStage(rng.normal(size=(2, h, w)), rng.normal(size=(3, 2, f, f)), stride=s, padding=p)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(3, 9),
    w=st.integers(3, 9),
    f=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    data=st.data(),
)
def test_back_and_forward_match_the_windows(
    h: int, w: int, f: int, s: int, p: int, data: st.DataObject
) -> None:
    stage = conv_case(h, w, f, s, p)
    oh, ow = stage.out_hw
    r, c = data.draw(st.integers(0, oh - 1)), data.draw(st.integers(0, ow - 1))
    out = np.zeros((oh, ow), dtype=bool)
    out[r, c] = True
    step = stage.step(stage.index_of(0, r, c))
    expected = np.zeros((h, w), dtype=bool)
    for u in range(f):
        for v in range(f):
            i, j = step.top + u, step.left + v
            if 0 <= i < h and 0 <= j < w:
                expected[i, j] = True
    np.testing.assert_array_equal(back(stage, out), expected)

    i, j = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    cell = np.zeros((h, w), dtype=bool)
    cell[i, j] = True
    reached = np.zeros((oh, ow), dtype=bool)
    for rr in range(oh):
        for cc in range(ow):
            reached[rr, cc] = back(stage, _one(oh, ow, rr, cc))[i, j]
    np.testing.assert_array_equal(forward(stage, cell), reached)


def _one(h: int, w: int, r: int, c: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[r, c] = True
    return m


def test_two_3x3_convs_see_5x5_and_pooling_widens_it() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 12, 12))
    c1 = ConvStage(x, rng.normal(size=(2, 1, 3, 3)), name="c1")
    c2 = ConvStage(c1.output, rng.normal(size=(1, 2, 3, 3)), name="c2")
    sim = Simulation([c1, c2])
    first, second = receptive_field(sim, 1, 3, 4)
    assert first.sum() == 25 and first[3:8, 4:9].all()
    assert second.sum() == 9
    pool = PoolStage(c2.output, size=2)
    act = ActivationStage(pool.output, "relu")
    sim = Simulation([c1, c2, pool, act])
    masks = receptive_field(sim, 3, 1, 1)
    assert [m.sum() for m in masks] == [36, 16, 4, 1]


def test_receptive_field_equals_the_support_of_the_torch_gradient() -> None:
    """For a linear pipeline with non-zero weights, an output depends on exactly the inputs
    whose gradient is non-zero."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 11, 13))
    w1 = rng.uniform(0.5, 1.5, size=(2, 1, 3, 3))
    w2 = rng.uniform(0.5, 1.5, size=(1, 2, 3, 3))
    c1 = ConvStage(x, w1, stride=2, padding=1)
    c2 = ConvStage(c1.output, w2, padding=1)
    sim = Simulation([c1, c2])
    xt = torch.tensor(x, requires_grad=True)
    y = F.conv2d(
        F.conv2d(xt[None], torch.tensor(w1), stride=2, padding=1), torch.tensor(w2), padding=1
    )
    for r, c in [(0, 0), (2, 3), (5, 6)]:
        xt.grad = None
        y[0, 0, r, c].backward(retain_graph=True)
        support = (xt.grad[0] != 0).numpy()
        np.testing.assert_array_equal(receptive_field(sim, 1, r, c)[0], support)


def test_influence_is_the_inverse_relation() -> None:
    rng = np.random.default_rng(3)
    c1 = ConvStage(rng.normal(size=(1, 8, 8)), rng.normal(size=(1, 1, 3, 3)), padding=1)
    pool = PoolStage(c1.output, size=2)
    sim = Simulation([c1, pool])
    reach = influence(sim, 2, 5)
    for r in range(pool.out_hw[0]):
        for c in range(pool.out_hw[1]):
            assert reach[1][r, c] == receptive_field(sim, 1, r, c)[0][2, 5]


@pytest.mark.parametrize(("padding", "corner", "centre"), [(0, 1, 9), (1, 4, 9)])
def test_border_usage(padding: int, corner: int, centre: int) -> None:
    counts = usage_counts((6, 6), (3, 3), (1, 1), (padding, padding))
    assert counts[0, 0] == corner and counts[3, 3] == centre
    windows = (6 + 2 * padding - 2) ** 2
    assert counts.sum() <= windows * 9
    if padding == 0:
        assert counts.sum() == windows * 9
