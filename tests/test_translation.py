"""Shifting the input: convolution is equivariant, max pooling absorbs small shifts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from engine.conv import ConvStage
from engine.core import Simulation
from engine.translation import compare_shift, shift


def test_shift_moves_and_zero_fills() -> None:
    x = np.arange(1, 10, dtype=float).reshape(1, 3, 3)
    np.testing.assert_array_equal(shift(x, 0, 1)[0], [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    np.testing.assert_array_equal(shift(x, -1, 0)[0], [[4, 5, 6], [7, 8, 9], [0, 0, 0]])
    assert not shift(x, 3, 0).any()


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(6, 12),
    w=st.integers(6, 12),
    f=st.sampled_from([1, 3, 5]),
    dy=st.integers(-2, 2),
    dx=st.integers(-2, 2),
    seed=st.integers(0, 100),
)
def test_convolution_is_equivariant_away_from_the_border(
    h: int, w: int, f: int, dy: int, dx: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    stage = ConvStage(rng.normal(size=(2, h, w)), rng.normal(size=(3, 2, f, f)), padding="same")
    (cmp,) = compare_shift(Simulation([stage]), dy, dx)
    same, compared = cmp.equivariant_cells(dy, dx)
    assert same == compared
    if compared:
        # And the comparison is not vacuous: it would notice a wrong shift.
        moved = shift(cmp.original, dy, dx + 1)
        assert not np.allclose(moved[..., 2:-2, 2:-2], cmp.shifted[..., 2:-2, 2:-2])


@pytest.mark.parametrize(("dx", "pooled_unchanged"), [(1, 16), (2, 16), (3, 6)])
def test_bundled_scenario_pooling_absorbs_small_shifts(dx: int, pooled_unchanged: int) -> None:
    sim = scenarios.load(scenarios.resolve("translation_equivariance"))
    conv, pool = compare_shift(sim, 0, dx)
    assert conv.equivariant_cells(0, dx)[0] == conv.equivariant_cells(0, dx)[1] > 0
    assert pool.unchanged == pooled_unchanged
    if dx == 3:  # a whole pooling window: the pooled output moves by one cell
        np.testing.assert_array_equal(
            shift(pool.original, 0, 1)[..., :, 1:], pool.shifted[..., :, 1:]
        )
