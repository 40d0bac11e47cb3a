"""Backpropagation in NumPy: the backward pass of every network op, float64.

Each ``*_backward`` function takes what the op read (its input, and its output where that is
cheaper), its hyper-parameters and the gradient of the loss with respect to its output, and
returns the gradients with respect to its input(s) and parameters — the same numbers PyTorch's
autograd gives (``tests/test_gradients.py`` checks every op to 1e-10 on random inputs).

Shapes follow the network: images are (C, H, W) and vectors (N,), without a batch axis. The
element-wise ops, ``linear`` and ``cross_entropy`` also accept leading batch axes, which the
depth experiment (``engine/depth.py``) uses to train by mini-batches.

``backward(op, args, inputs, output, params, dy)`` dispatches on the op name of
``engine.network.NETWORK_OPS``; ``gradient_flow`` (below) runs it over a whole network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.errors import SpecError

Pair = tuple[int, int]

VANISHING = 1e-6
"""Below this gradient norm the alarm says "vanishing"."""

EXPLODING = 1e6
"""Above this gradient norm (or when it is not finite) the alarm says "exploding"."""


def _pair(v: Any) -> Pair:
    """An int or a pair (PyTorch accepts both for sizes, strides and paddings)."""
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------- convolution


def _pad(x: np.ndarray, p: Pair, value: float = 0.0) -> np.ndarray:
    """(C, H, W) padded by p rows above and below and p columns left and right."""
    if p == (0, 0):
        return x
    return np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


def _windows(xp: np.ndarray, k: Pair, s: Pair) -> np.ndarray:
    """(C, Ho, Wo, kh, kw): every window of the padded input, a view."""
    return sliding_window_view(xp, k, axis=(1, 2))[:, :: s[0], :: s[1]]


def _scatter_windows(dwin: np.ndarray, padded_hw: Pair, s: Pair) -> np.ndarray:
    """col2im: add each window's gradient (C, Ho, Wo, kh, kw) back onto the padded input.

    One strided addition per kernel offset (kh·kw of them), so overlapping windows add up.
    """
    c, ho, wo, kh, kw = dwin.shape
    dxp = np.zeros((c, *padded_hw))
    for i in range(kh):
        for j in range(kw):
            dxp[:, i : i + s[0] * (ho - 1) + 1 : s[0], j : j + s[1] * (wo - 1) + 1 : s[1]] += dwin[
                :, :, :, i, j
            ]
    return dxp


def _crop(dxp: np.ndarray, p: Pair) -> np.ndarray:
    h, w = dxp.shape[1] - 2 * p[0], dxp.shape[2] - 2 * p[1]
    return dxp[:, p[0] : p[0] + h, p[1] : p[1] + w]


def conv2d_backward(
    x: np.ndarray,  # (C, H, W)
    weight: np.ndarray,  # (O, C/groups, kh, kw)
    dy: np.ndarray,  # (O, Ho, Wo)
    *,
    stride: Any = 1,
    padding: Any = 0,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """∂L/∂x (C, H, W), ∂L/∂W (O, C/g, kh, kw) and ∂L/∂b (O,) of a 2-D convolution.

    y[o] = b[o] + Σ_{c,i,j} W[o, c, i, j] · xp[g·C/g + c, h·s + i, w·s + j] (cross-correlation,
    as PyTorch). With the input's windows laid out as columns (im2col), ∂L/∂W is one matrix
    product per group, dy · colsᵀ; ∂L/∂cols = Wᵀ · dy is scattered back onto the input (col2im).
    """
    x, weight, dy = _f64(x), _f64(weight), _f64(dy)
    s, p = _pair(stride), _pair(padding)
    o, cg, kh, kw = weight.shape
    c = x.shape[0]
    og = o // groups
    xp = _pad(x, p)
    win = _windows(xp, (kh, kw), s)  # (C, Ho, Wo, kh, kw)
    ho, wo = dy.shape[1:]
    win = win[:, :ho, :wo]
    dw = np.empty_like(weight)
    dwin = np.empty((c, ho, wo, kh, kw))
    for g in range(groups):
        cols = win[g * cg : (g + 1) * cg].transpose(1, 2, 0, 3, 4).reshape(ho * wo, cg * kh * kw)
        dy_g = dy[g * og : (g + 1) * og].reshape(og, ho * wo)  # (O/g, Ho·Wo)
        w_g = weight[g * og : (g + 1) * og].reshape(og, cg * kh * kw)
        dw[g * og : (g + 1) * og] = (dy_g @ cols).reshape(og, cg, kh, kw)
        dcols = (w_g.T @ dy_g).reshape(cg, kh, kw, ho, wo)
        dwin[g * cg : (g + 1) * cg] = dcols.transpose(0, 3, 4, 1, 2)
    dx = _crop(_scatter_windows(dwin, xp.shape[1:], s), p)
    return dx, dw, dy.sum(axis=(1, 2))


# ---------------------------------------------------------------- pooling


def maxpool2d_backward(
    x: np.ndarray,  # (C, H, W)
    dy: np.ndarray,  # (C, Ho, Wo)
    *,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
) -> np.ndarray:
    """∂L/∂x of max pooling: each output's gradient goes to its window's arg-max.

    Padding reads as −∞ (it never wins), ties go to the first maximum in row-major order and a
    NaN wins its window, as in PyTorch; where windows overlap, an input that is the maximum of
    several windows collects all their gradients.
    """
    x, dy = _f64(x), _f64(dy)
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    c, ho, wo = dy.shape
    xp = _pad(x, p, -np.inf)
    win = _windows(xp, k, s)[:, :ho, :wo].reshape(c, ho, wo, k[0] * k[1])
    arg = np.argmax(win, axis=-1)  # first maximum; NaN counts as the maximum
    di, dj = np.divmod(arg, k[1])
    rows = np.arange(ho)[None, :, None] * s[0] + di
    cols = np.arange(wo)[None, None, :] * s[1] + dj
    chans = np.broadcast_to(np.arange(c)[:, None, None], arg.shape)
    dxp = np.zeros(xp.shape)
    np.add.at(dxp, (chans, rows, cols), dy)
    return _crop(dxp, p)


def avgpool2d_backward(
    x_shape: Sequence[int],  # (C, H, W)
    dy: np.ndarray,  # (C, Ho, Wo)
    *,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
) -> np.ndarray:
    """∂L/∂x of average pooling: each output's gradient shared equally over its window.

    The divisor is the whole window, padding included (PyTorch's ``count_include_pad=True``).
    """
    dy = _f64(dy)
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    p = _pair(padding)
    _, h, w = x_shape
    share = dy / (k[0] * k[1])
    dwin = np.broadcast_to(share[..., None, None], (*dy.shape, *k))
    return _crop(_scatter_windows(dwin, (h + 2 * p[0], w + 2 * p[1]), s), p)


def adaptive_pool_matrix(n: int, m: int) -> np.ndarray:
    """(m, n): row i averages input positions ⌊i·n/m⌋ … ⌈(i+1)·n/m⌉ − 1 (PyTorch's rule)."""
    a = np.zeros((m, n))
    for i in range(m):
        lo, hi = (i * n) // m, -((-(i + 1) * n) // m)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def adaptive_avgpool2d_backward(
    x_shape: Sequence[int],  # (C, H, W)
    dy: np.ndarray,  # (C, h, w)
) -> np.ndarray:
    """∂L/∂x of adaptive average pooling: y = A_h · x · A_wᵀ per channel, so ∂L/∂x = A_hᵀ·dy·A_w."""
    dy = _f64(dy)
    _, h, w = x_shape
    a_h = adaptive_pool_matrix(h, dy.shape[1])
    a_w = adaptive_pool_matrix(w, dy.shape[2])
    return np.einsum("ih,cij,jw->chw", a_h, dy, a_w)


# ---------------------------------------------------------------- element-wise


def relu_backward(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """ReLU′(x) = 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""
    return np.where(_f64(x) > 0, _f64(dy), 0.0)


def leaky_relu_backward(x: np.ndarray, dy: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU′(x) = 1 where x > 0, else the slope (the slope at x = 0, as PyTorch)."""
    dy = _f64(dy)
    return np.where(_f64(x) > 0, dy, dy * negative_slope)


def sigmoid_prime(x: np.ndarray) -> np.ndarray:
    """σ′(x) = σ(x)·(1 − σ(x)) ≤ 1/4, computed without overflow for large |x|."""
    x = _f64(x)
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def sigmoid_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """From the sigmoid's output y = σ(x): ∂L/∂x = dy · y · (1 − y) (as PyTorch computes it)."""
    y = _f64(y)
    return _f64(dy) * y * (1.0 - y)


def tanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """From the output y = tanh(x): ∂L/∂x = dy · (1 − y²)."""
    y = _f64(y)
    return _f64(dy) * (1.0 - y * y)


def flatten_backward(x_shape: Sequence[int], dy: np.ndarray) -> np.ndarray:
    """Flatten moves no number: its gradient is dy reshaped to the input's shape."""
    return _f64(dy).reshape(tuple(x_shape))


def dropout_backward(dy: np.ndarray) -> np.ndarray:
    """Dropout is the identity at inference, and so is its gradient."""
    return _f64(dy)


def add_backward(dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y = a + b passes dy unchanged to both inputs (the skip path's gradient highway)."""
    dy = _f64(dy)
    return dy, dy


def softmax_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """From the output p = softmax(z) along the last axis: ∂L/∂z = p ⊙ (dy − ⟨dy, p⟩)."""
    y, dy = _f64(y), _f64(dy)
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


# ---------------------------------------------------------------- layers with parameters


def linear_backward(
    x: np.ndarray,  # (N,) or (B, N)
    weight: np.ndarray,  # (M, N)
    dy: np.ndarray,  # (M,) or (B, M)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = W·x + b: ∂L/∂x = Wᵀ·dy, ∂L/∂W = dy ⊗ x (summed over a batch), ∂L/∂b = dy."""
    x, weight, dy = _f64(x), _f64(weight), _f64(dy)
    dx = dy @ weight
    x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    return dx, dy2.T @ x2, dy2.sum(axis=0)


def batchnorm2d_backward(
    x: np.ndarray,  # (C, H, W)
    weight: np.ndarray,  # γ (C,)
    running_mean: np.ndarray,  # μ (C,)
    running_var: np.ndarray,  # σ² (C,)
    dy: np.ndarray,  # (C, H, W)
    *,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalisation at inference, y = (x − μ)/√(σ² + ε)·γ + β with the running μ, σ²:
    an affine map per channel, so ∂L/∂x = dy·γ/√(σ² + ε), ∂L/∂γ = Σ dy·x̂, ∂L/∂β = Σ dy."""
    x, dy = _f64(x), _f64(dy)
    inv = 1.0 / np.sqrt(_f64(running_var) + eps)  # (C,)
    x_hat = (x - _f64(running_mean)[:, None, None]) * inv[:, None, None]
    dx = dy * (_f64(weight) * inv)[:, None, None]
    return dx, np.sum(dy * x_hat, axis=(1, 2)), dy.sum(axis=(1, 2))


# ---------------------------------------------------------------- the loss


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax along the last axis, stable for any finite logits."""
    z = _f64(z)
    m = np.max(z, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = z - m
    shifted = np.where(np.isfinite(shifted), shifted, -np.inf)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, target: Any) -> tuple[float, np.ndarray]:
    """Cross-entropy L = −log softmax(z)[target] and ∂L/∂z = softmax(z) − onehot(target).

    ``logits`` (K,) with an int target, or (B, K) with B targets: then L is the mean over the
    batch (PyTorch's ``reduction="mean"``) and the gradient is divided by B.
    """
    logp = log_softmax(logits)
    t = np.asarray(target)
    if logp.ndim == 1:
        loss = -float(logp[int(t)])
        grad = np.exp(logp)
        grad[int(t)] -= 1.0
        return loss, grad
    b = logp.shape[0]
    rows = np.arange(b)
    loss = -float(np.mean(logp[rows, t]))
    grad = np.exp(logp)
    grad[rows, t] -= 1.0
    return loss, grad / b


# ---------------------------------------------------------------- one op, by name


def backward(
    op: str,
    args: Mapping[str, Any],
    inputs: Sequence[np.ndarray],
    output: np.ndarray,
    params: Mapping[str, np.ndarray],
    dy: np.ndarray,
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """The backward pass of one layer by its op name (``engine.network.NETWORK_OPS``).

    Args:
        op, args: the layer's op and hyper-parameters (PyTorch's argument names and defaults).
        inputs: the arrays the layer read (two for ``add``, else one).
        output: what the layer computed (sigmoid, tanh and softmax differentiate from it).
        params: the layer's parameters by short name (``weight``, ``bias``, ``running_mean``,
            ``running_var``); empty for ops without.
        dy: ∂L/∂output, the output's shape.

    Returns:
        ([∂L/∂input for each input], {parameter name: ∂L/∂parameter}) — no entry for a bias
        the layer does not have, nor for batch normalisation's running statistics.
    """
    x = inputs[0]
    if op == "conv2d":
        dx, dw, db = conv2d_backward(
            x,
            params["weight"],
            dy,
            stride=args.get("stride", 1),
            padding=args.get("padding", 0),
            groups=int(args.get("groups", 1)),
        )
        grads = {"weight": dw}
        if params.get("bias") is not None:
            grads["bias"] = db
        return [dx], grads
    if op == "linear":
        dx, dw, db = linear_backward(x, params["weight"], dy)
        grads = {"weight": dw}
        if params.get("bias") is not None:
            grads["bias"] = db
        return [dx], grads
    if op == "batchnorm2d":
        dx, dg, db = batchnorm2d_backward(
            x,
            params["weight"],
            params["running_mean"],
            params["running_var"],
            dy,
            eps=float(args.get("eps", 1e-5)),
        )
        return [dx], {"weight": dg, "bias": db}
    if op == "maxpool2d":
        return [
            maxpool2d_backward(
                x,
                dy,
                kernel_size=args["kernel_size"],
                stride=args.get("stride"),
                padding=args.get("padding", 0),
            )
        ], {}
    if op == "avgpool2d":
        return [
            avgpool2d_backward(
                x.shape,
                dy,
                kernel_size=args["kernel_size"],
                stride=args.get("stride"),
                padding=args.get("padding", 0),
            )
        ], {}
    if op == "adaptive_avgpool2d":
        return [adaptive_avgpool2d_backward(x.shape, dy)], {}
    if op == "relu":
        return [relu_backward(x, dy)], {}
    if op == "leaky_relu":
        return [leaky_relu_backward(x, dy, float(args.get("negative_slope", 0.01)))], {}
    if op == "sigmoid":
        return [sigmoid_backward(output, dy)], {}
    if op == "tanh":
        return [tanh_backward(output, dy)], {}
    if op == "flatten":
        return [flatten_backward(x.shape, dy)], {}
    if op == "dropout":
        return [dropout_backward(dy)], {}
    if op == "add":
        da, db_ = add_backward(dy)
        return [da, db_], {}
    if op == "softmax":
        return [softmax_backward(output, dy)], {}
    raise SpecError("op", f"no backward pass for op {op!r}")


def alarm(norm: float) -> str:
    """ "vanishing" below 1e-6, "exploding" above 1e6 or when not finite, else "ok"."""
    if not math.isfinite(norm) or norm > EXPLODING:
        return "exploding"
    if norm < VANISHING:
        return "vanishing"
    return "ok"
