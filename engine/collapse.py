"""Linear layers without activations between them collapse into one affine layer.

For layers x ↦ W_k·x + b_k applied one after the other (k = 1 … n),

    W_n·(… W_2·(W_1·x + b_1) + b_2 …) + b_n  =  W·x + b,
    W = W_n·…·W_2·W_1,   b = W_n·(…(W_2·b_1 + b_2)…) + b_n,

so a stack of them, however deep and wide, computes nothing a single layer could not: for two
layers W = W2·W1 and b = W2·b1 + b2. ``collapse`` computes W and b; ``compare`` runs the stack
and the single layer on one input and measures how far apart they are (rounding only).

Weights are in PyTorch's layout: W_k has shape (out_k, in_k), and in_(k+1) = out_k. All
arithmetic is float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import SpecError

Linear = tuple[np.ndarray, np.ndarray | None]
"""One linear layer: its weight (out, in) and its bias (out,), or None for no bias."""


def _checked(layers: Sequence[Linear]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The layers as float64 (W, b) pairs, a missing bias as zeros; SpecError naming the
    layer whose shapes do not chain."""
    if len(layers) == 0:
        raise SpecError("layers", "no linear layers to collapse; give at least one (W, b)")
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for k, (weight, bias) in enumerate(layers):
        W = np.asarray(weight, dtype=np.float64)
        if W.ndim != 2:
            raise SpecError(f"layers[{k}].weight", f"must be (out, in), got shape {W.shape}")
        b = np.zeros(W.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
        if b.shape != (W.shape[0],):
            raise SpecError(
                f"layers[{k}].bias",
                f"must have shape {(W.shape[0],)} for weight {W.shape}, got {b.shape}",
            )
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise SpecError(f"layers[{k}]", "weights and bias must be finite")
        if out and W.shape[1] != out[-1][0].shape[0]:
            raise SpecError(
                f"layers[{k}].weight",
                f"takes {W.shape[1]} inputs (shape {W.shape}) but layers[{k - 1}] gives "
                f"{out[-1][0].shape[0]} (shape {out[-1][0].shape})",
            )
        out.append((W, b))
    return out


def _finite(a: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(a).all():
        raise SpecError("layers", f"{what} overflows float64; smaller weights keep it finite")
    return a


def collapse(layers: Sequence[Linear]) -> tuple[np.ndarray, np.ndarray]:
    """The one affine layer (W (out_n, in_1), b (out_n,)) equal to ``layers`` applied in order:
    W = W_n·…·W_1, b = W_n·(…(W_2·b_1 + b_2)…) + b_n."""
    (W, b), *rest = _checked(layers)
    with np.errstate(over="ignore", invalid="ignore"):
        for W_k, b_k in rest:
            W = W_k @ W  # (out_k, in_1)
            b = W_k @ b + b_k  # (out_k,)
    return _finite(W, "the product of the weights"), _finite(b, "the combined bias")


def stack_forward(layers: Sequence[Linear], x: np.ndarray) -> np.ndarray:
    """``x`` (in_1,) through every layer in turn, no activation between: (out_n,)."""
    checked = _checked(layers)
    a = _input(checked, x)
    with np.errstate(over="ignore", invalid="ignore"):
        for W_k, b_k in checked:
            a = W_k @ a + b_k
    return _finite(a, "the output of the stack")


def _input(checked: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    n = checked[0][0].shape[1]
    if a.shape != (n,):
        raise SpecError("input", f"the first layer takes a vector of {n}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise SpecError("input", "must be finite")
    return a


@dataclass(frozen=True, kw_only=True)
class CollapseCheck:
    """The stack and its collapsed layer on one input."""

    weight: np.ndarray
    """W = W_n·…·W_1, (out_n, in_1)."""
    bias: np.ndarray
    """b = W_n·(…(W_2·b_1 + b_2)…) + b_n, (out_n,)."""
    stacked: np.ndarray
    """The input through the layers one by one, (out_n,)."""
    collapsed: np.ndarray
    """W·x + b, (out_n,)."""
    max_abs_diff: float
    """max |stacked − collapsed|: rounding only, since the two are equal in exact arithmetic."""


def compare(layers: Sequence[Linear], x: np.ndarray) -> CollapseCheck:
    """Collapse ``layers`` and run both the stack and the single layer on ``x`` (in_1,)."""
    weight, bias = collapse(layers)
    a = _input(_checked(layers), x)
    stacked = stack_forward(layers, a)
    with np.errstate(over="ignore", invalid="ignore"):
        collapsed = _finite(weight @ a + bias, "the collapsed layer's output")
    return CollapseCheck(
        weight=weight,
        bias=bias,
        stacked=stacked,
        collapsed=collapsed,
        max_abs_diff=float(np.max(np.abs(stacked - collapsed))),
    )
