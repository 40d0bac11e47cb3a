"""engine.collapse: linear layers without activations equal one affine layer, checked with torch."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from engine.collapse import collapse, compare, stack_forward
from engine.digits import mlp_input
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR


def torch_stack(
    sizes: list[int], seed: int, bias: bool = True
) -> tuple[torch.nn.Sequential, list[tuple[np.ndarray, np.ndarray | None]]]:
    """A float64 nn.Sequential of Linear layers with torch's default init, and its layers as
    (W, b) arrays."""
    torch.manual_seed(seed)
    seq = torch.nn.Sequential(
        *[torch.nn.Linear(n, m, bias=bias) for n, m in itertools.pairwise(sizes)]
    ).double()
    layers: list[tuple[np.ndarray, np.ndarray | None]] = [
        (lin.weight.detach().numpy(), None if lin.bias is None else lin.bias.detach().numpy())
        for lin in seq
        if isinstance(lin, torch.nn.Linear)
    ]
    return seq, layers


@pytest.mark.parametrize(
    ("sizes", "bias"),
    [
        pytest.param([64, 32, 10], True, id="mlp-64-32-10"),
        pytest.param([5, 3], True, id="one-layer"),
        pytest.param([7, 20, 20, 20, 4], True, id="four-layers-wider-inside"),
        pytest.param([6, 2, 9], True, id="bottleneck"),
        pytest.param([8, 5, 3], False, id="no-bias"),
    ],
)
def test_collapse_matches_torch(sizes: list[int], bias: bool) -> None:
    seq, layers = torch_stack(sizes, seed=len(sizes) + sum(sizes))
    x = np.random.default_rng(sum(sizes)).standard_normal(sizes[0])
    with torch.no_grad():
        expected = seq(torch.from_numpy(x)).numpy()
    W, b = collapse(layers)
    assert W.shape == (sizes[-1], sizes[0]) and b.shape == (sizes[-1],)
    assert W.dtype == b.dtype == np.float64
    assert np.max(np.abs(W @ x + b - expected)) <= 1e-12
    check = compare(layers, x)
    assert np.max(np.abs(check.stacked - expected)) <= 1e-12
    assert np.max(np.abs(check.collapsed - expected)) <= 1e-12
    assert check.max_abs_diff == np.max(np.abs(check.stacked - check.collapsed)) <= 1e-12
    np.testing.assert_array_equal(check.weight, W)
    np.testing.assert_array_equal(check.bias, b)


def test_two_layers_are_the_textbook_formula() -> None:
    _, [(W1, b1), (W2, b2)] = torch_stack([4, 3, 2], seed=1)
    W, b = collapse([(W1, b1), (W2, b2)])
    np.testing.assert_array_equal(W, W2 @ W1)
    np.testing.assert_array_equal(b, W2 @ b1 + b2)


def test_the_collapsed_layer_is_the_network_on_every_input() -> None:
    # Not only on one input: the affine map is the same, so W·e_i + b reproduces every column.
    seq, layers = torch_stack([6, 4, 3], seed=3)
    W, b = collapse(layers)
    with torch.no_grad():
        zero = seq(torch.zeros(6, dtype=torch.float64)).numpy()
        cols = seq(torch.eye(6, dtype=torch.float64)).numpy() - zero  # (6, 3): W's columns
    assert np.max(np.abs(b - zero)) <= 1e-12
    assert np.max(np.abs(W - cols.T)) <= 1e-12


def test_shipped_linear_mlp_collapses_with_its_accuracy() -> None:
    """The shipped linear MLP and its collapsed 64 → 10 layer classify the test digits alike,
    and score what the JSON beside the weights records."""
    with np.load(DATA_DIR / "mlp_linear_digits.npz", allow_pickle=False) as npz:
        layers = [(npz["fc1.weight"], npz["fc1.bias"]), (npz["fc2.weight"], npz["fc2.bias"])]
    with np.load(DATA_DIR / "digits.npz", allow_pickle=False) as npz:
        images, labels, test = npz["images"], npz["labels"], npz["test_index"]
    record = json.loads((DATA_DIR / "mlp_linear_digits.json").read_text(encoding="utf-8"))
    assert record["options"]["activation"] == "none"
    W, b = collapse(layers)
    assert W.shape == (10, 64)
    right = 0
    for i in test:
        x = mlp_input(images[i])
        check = compare(layers, x)
        assert check.max_abs_diff <= 1e-12
        assert np.argmax(check.stacked) == np.argmax(W @ x + b)
        right += int(np.argmax(W @ x + b) == labels[i])
    assert right == record["test_correct"]


@pytest.mark.parametrize(
    ("layers", "field", "words"),
    [
        pytest.param([], "layers", "at least one", id="empty"),
        pytest.param(
            [(np.ones((3, 4)), np.ones(3)), (np.ones((2, 5)), np.ones(2))],
            "layers[1].weight",
            "takes 5 inputs (shape (2, 5)) but layers[0] gives 3 (shape (3, 4))",
            id="shapes-do-not-chain",
        ),
        pytest.param([(np.ones((3, 4)), np.ones(4))], "layers[0].bias", "(3,)", id="bias-shape"),
        pytest.param([(np.ones(4), None)], "layers[0].weight", "(out, in)", id="weight-1d"),
        pytest.param([(np.array([[np.nan, 1.0]]), None)], "layers[0]", "finite", id="nan-weight"),
        pytest.param(
            [(np.full((2, 2), 1e200), None), (np.full((2, 2), 1e200), None)],
            "layers",
            "overflows",
            id="product-overflows",
        ),
    ],
)
def test_bad_layers(
    layers: list[tuple[np.ndarray, np.ndarray | None]], field: str, words: str
) -> None:
    with pytest.raises(SpecError) as err:
        collapse(layers)
    assert err.value.field == field
    assert words in err.value.message


def test_bad_input() -> None:
    layers: list[tuple[np.ndarray, np.ndarray | None]] = [(np.ones((3, 4)), None)]
    with pytest.raises(SpecError, match="vector of 4, got shape \\(5,\\)"):
        compare(layers, np.ones(5))
    with pytest.raises(SpecError, match="finite"):
        stack_forward(layers, np.array([1.0, np.inf, 0.0, 0.0]))
