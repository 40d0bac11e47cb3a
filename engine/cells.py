"""The recurrent cells' arithmetic (RNN, GRU, LSTM), written once: one time step for any number
of rows at once, and a whole sequence of one row.

Every recurrent stage computes its steps here: ``RecurrentStage`` (and through it the deep,
bidirectional and BPTT stages) and the language model's decoder. Weights are in PyTorch's
layout and gate order, ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H)::

    rnn   h = tanh(xi + hh)
    gru   r = σ(xi_r + hh_r),  z = σ(xi_z + hh_z),  n = tanh(xi_n + r ⊙ hh_n)
          h = (1 − z) ⊙ n + z ⊙ h_prev
    lstm  i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of xi + hh, in that order
          c = f ⊙ c_prev + i ⊙ g,  h = o ⊙ tanh(c)

with xi = W_ih·x + b_ih and hh = W_hh·h_prev + b_hh (the GRU's reset gate scales the hidden
term *with* its bias, as PyTorch does).

Each row is computed by its own matrix-vector product (``row_products``), never as part of a
matrix-matrix product: BLAS sums a matrix product's rows in an order that depends on how many
rows there are, so a hypothesis decoded beside others would get other bits than alone. Here a
row's numbers are the same whatever rows share the call.

Nothing here warns on overflow: the products run under ``np.errstate(over="ignore",
invalid="ignore")``, and callers check the results with ``np.isfinite``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

GATES: dict[str, tuple[str, ...]] = {
    "rnn": ("a",),
    "gru": ("r", "z", "n"),
    "lstm": ("i", "f", "g", "o"),
}
"""Each cell's blocks of rows in ``weight_ih`` / ``weight_hh``, in PyTorch's order.

For ``rnn`` the one block is the tanh's input (a pre-activation, not a gate)."""


class CellOut(NamedTuple):
    """One time step of a cell for every row (leading dimensions ``...``)."""

    hh: np.ndarray
    """(..., G·H) W_hh·h_prev + b_hh."""
    pre: np.ndarray
    """(..., G·H) pre-activations in PyTorch's gate order (GRU n: xi_n + r ⊙ hh_n)."""
    act: np.ndarray
    """(..., G·H) gate values after σ / tanh (rnn: tanh(pre), the same as ``h``)."""
    h: np.ndarray
    """(..., H) the new hidden state."""
    c: np.ndarray | None
    """(..., H) the new cell state (lstm), else None."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^(−z)), without overflow warnings for large |z|."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def row_products(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """W·x for every row x of ``x`` (..., K) with ``w`` (N, K): (..., N), one matrix-vector
    product per row, so that each row's bits are those of ``w @ row`` alone.

    May overflow: call it under ``np.errstate(over="ignore", invalid="ignore")`` and check."""
    if x.ndim == 1:
        return w @ x
    # A stack of (1, K) @ (K, N) products: NumPy runs one matrix-vector product for each.
    return np.matmul(x[..., None, :], w.T)[..., 0, :]


def input_terms(x: np.ndarray, weight_ih: np.ndarray, bias_ih: np.ndarray) -> np.ndarray:
    """W_ih·x + b_ih over the last axis of ``x`` (..., I): (..., G·H)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return x @ weight_ih.T + bias_ih


def cell_forward(
    cell: str,
    xi: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray | None,
    weight_hh: np.ndarray,
    bias_hh: np.ndarray,
) -> CellOut:
    """One time step for any number of rows at once: ``xi`` = W_ih·x + b_ih (..., G·H),
    ``h_prev`` (..., H), ``c_prev`` (..., H) for lstm (None for the others).

    Raises ValueError for an unknown cell or an lstm step without ``c_prev``.
    """
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; valid: {', '.join(GATES)}")
    h = weight_hh.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        hh = row_products(h_prev, weight_hh) + bias_hh
        if cell == "rnn":
            pre = xi + hh
            act = np.tanh(pre)
            return CellOut(hh, pre, act, act, None)
        if cell == "gru":
            pre_rz = xi[..., : 2 * h] + hh[..., : 2 * h]
            rz = 1.0 / (1.0 + np.exp(-pre_rz))  # σ, as ``sigmoid`` (already under errstate)
            r, z = rz[..., :h], rz[..., h:]
            pre_n = xi[..., 2 * h :] + r * hh[..., 2 * h :]
            n = np.tanh(pre_n)
            h_new = (1.0 - z) * n + z * h_prev
            pre = np.concatenate([pre_rz, pre_n], axis=-1)
            act = np.concatenate([rz, n], axis=-1)
            return CellOut(hh, pre, act, h_new, None)
        if c_prev is None:
            raise ValueError("an lstm step needs the previous cell state c_prev")
        pre = xi + hh
        act = 1.0 / (1.0 + np.exp(-pre))  # σ, as ``sigmoid``
        act[..., 2 * h : 3 * h] = np.tanh(pre[..., 2 * h : 3 * h])
        i, f, g, o = (act[..., k * h : (k + 1) * h] for k in range(4))
        c = f * c_prev + i * g
        return CellOut(hh, pre, act, o * np.tanh(c), c)


def run_cell(
    cell: str,
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray | None,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray,
    bias_hh: np.ndarray,
) -> tuple[np.ndarray, CellOut]:
    """A whole sequence, one row; what ``RecurrentStage`` keeps.

    ``x`` (T, I), ``h0`` (H,), ``c0`` (H,) for lstm. Returns ``xi`` (T, G·H), the input terms
    of every step (one matrix product), and a ``CellOut`` of stacked arrays: ``hh``, ``pre``,
    ``act`` (T, G·H), ``h`` (T + 1, H) with ``h0`` first, ``c`` (T + 1, H) with ``c0`` first
    (lstm) or None.
    """
    steps, gh, h = x.shape[0], weight_hh.shape[0], weight_hh.shape[1]
    xi = input_terms(x, weight_ih, bias_ih)  # (T, G·H)
    hh = np.empty((steps, gh))
    pre = np.empty((steps, gh))
    act = np.empty((steps, gh))
    hs = np.empty((steps + 1, h))
    hs[0] = h0
    cs = None
    if cell == "lstm":
        if c0 is None:
            raise ValueError("an lstm sequence needs the initial cell state c0")
        cs = np.empty((steps + 1, h))
        cs[0] = c0
    for t in range(steps):
        out = cell_forward(cell, xi[t], hs[t], None if cs is None else cs[t], weight_hh, bias_hh)
        hh[t], pre[t], act[t], hs[t + 1] = out.hh, out.pre, out.act, out.h
        if cs is not None:
            assert out.c is not None
            cs[t + 1] = out.c
    return xi, CellOut(hh, pre, act, hs, cs)
