"""Backpropagation in NumPy: the backward pass of every network op, float64.

Each ``*_backward`` function takes what the op read (its input, and its output where that is
cheaper), its hyper-parameters and the gradient of the loss with respect to its output, and
returns the gradients with respect to its input(s) and parameters — the same numbers PyTorch's
autograd gives (``tests/test_gradients.py`` checks every op to 1e-10 on random inputs).

Shapes follow the network: images are (C, H, W) and vectors (N,), without a batch axis. The
element-wise ops, ``linear`` and ``cross_entropy`` also accept leading batch axes, which the
depth experiment (``engine/depth.py``) uses to train by mini-batches.

``backward(op, args, inputs, output, params, dy)`` dispatches on the op name of
``engine.network.NETWORK_OPS``. ``gradient_flow(network, target)`` runs it over a whole
network and returns a ``GradientFlow``: the gradient norm per layer with its alarm
("vanishing" < 1e-6, "exploding" > 1e6 or not finite). ``plain_factors`` sets the course's
per-layer factor s′·w beside the measured one, and ``gradient_peak_bytes`` bounds the memory
of a pass from shapes alone. docs/gradients.md explains the view and its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.arrays import l2norm
from engine.errors import SpecError
from engine.network import INPUT, Network, NetworkError

Pair = tuple[int, int]

VANISHING = 1e-6
"""Below this gradient norm the alarm says "vanishing"."""

EXPLODING = 1e6
"""Above this gradient norm (or when it is not finite) the alarm says "exploding"."""

BLOCK_BYTES = 8 << 20
"""Largest float64 temporary one block of a backward pass makes (8 MiB): convolutions work in
blocks of output rows, large linear layers in blocks of weight rows."""


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
    ho, wo = dy.shape[1:]
    xp = _pad(x, p)
    dxp = np.zeros(xp.shape)
    dw = np.zeros_like(weight)
    # Blocks of output rows keep the im2col copy near BLOCK_BYTES (VGG-16's second layer
    # would otherwise copy 231 MB of windows). Columns are laid out (C, kh, kw, rows, Wo), so
    # each kernel offset is one contiguous slab to fill and, on the way back, to add onto
    # the input rows it read.
    rows = max(1, min(ho, BLOCK_BYTES // max(1, 8 * c * wo * kh * kw)))
    for r0 in range(0, ho, rows):
        r = min(ho, r0 + rows) - r0
        n = r * wo
        cols = np.empty((c, kh, kw, r, wo))
        for i in range(kh):
            for j in range(kw):
                top = r0 * s[0] + i
                cols[:, i, j] = xp[
                    :, top : top + s[0] * (r - 1) + 1 : s[0], j : j + s[1] * (wo - 1) + 1 : s[1]
                ]
        for g in range(groups):
            cols_g = cols[g * cg : (g + 1) * cg].reshape(cg * kh * kw, n)
            dy_g = dy[g * og : (g + 1) * og, r0 : r0 + r].reshape(og, n)  # (O/g, rows·Wo)
            w_g = weight[g * og : (g + 1) * og].reshape(og, cg * kh * kw)
            dw[g * og : (g + 1) * og] += (dy_g @ cols_g.T).reshape(og, cg, kh, kw)
            dcols = (w_g.T @ dy_g).reshape(cg, kh, kw, r, wo)
            for i in range(kh):
                for j in range(kw):
                    top = r0 * s[0] + i
                    dxp[
                        g * cg : (g + 1) * cg,
                        top : top + s[0] * (r - 1) + 1 : s[0],
                        j : j + s[1] * (wo - 1) + 1 : s[1],
                    ] += dcols[:, i, j]
    dx = _crop(dxp, p)
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


# ---------------------------------------------------------------- a whole network


@dataclass(frozen=True, kw_only=True)
class LayerGradient:
    """How large the loss's gradient is at one layer.

    ``output_norm`` is ‖∂L/∂y‖₂ for the layer's output y: what the layer passes back to the
    layers before it. A layer read by several others (a residual block's input) collects the
    sum of their gradients. ``weight_norm`` / ``bias_norm`` are ‖∂L/∂W‖ and ‖∂L/∂b‖ for
    conv2d, linear and batchnorm2d (γ and β), None for a layer without them.
    """

    name: str
    op: str
    output_norm: float
    weight_norm: float | None
    bias_norm: float | None

    @property
    def alarm(self) -> str:
        """``alarm(output_norm)``: "vanishing", "exploding" or "ok"."""
        return alarm(self.output_norm)

    @property
    def weight_alarm(self) -> str | None:
        """``alarm(weight_norm)``, None for a layer without weights."""
        return None if self.weight_norm is None else alarm(self.weight_norm)


@dataclass(frozen=True, kw_only=True)
class GradientFlow:
    """The backward pass of a whole network from the cross-entropy loss, as norms per layer.

    The screen draws ``layers`` as bars on a log scale (``output_norm`` per layer, and
    ``weight_norm`` where the layer has weights), lighting the bars whose ``alarm`` is not
    "ok". ``plain_factors(network, flow)`` gives the per-layer predicted factor s′·w beside
    the measured one for a plain stack.
    """

    target: int
    """The class the loss is taken against."""
    loss: float
    """L = −log p(target): the cross-entropy of the last layer's output read as logits, or of
    the probabilities when the network ends in softmax."""
    probability: float
    """p(target), the network's probability for the target class."""
    input_norm: float
    """‖∂L/∂x‖ for the network's input x."""
    layers: tuple[LayerGradient, ...]
    """One entry per layer, in the network's order."""

    def layer(self, name: str) -> LayerGradient:
        """The entry of the layer called ``name`` (KeyError if there is none)."""
        for lg in self.layers:
            if lg.name == name:
                return lg
        raise KeyError(name)

    def output_norms(self) -> np.ndarray:
        """(L,) ‖∂L/∂y‖ per layer, in order."""
        return np.array([lg.output_norm for lg in self.layers])

    def alarms(self) -> list[tuple[str, str]]:
        """(layer name, "vanishing" | "exploding") for every layer whose output gradient or
        weight gradient is out of range, in order."""
        out = []
        for lg in self.layers:
            worst = lg.alarm if lg.alarm != "ok" else lg.weight_alarm
            if worst not in (None, "ok"):
                out.append((lg.name, worst))
        return out


def _norm(a: np.ndarray) -> float:
    """‖a‖₂; inf when any entry left float64's range (inf, or the nan of inf − inf)."""
    n = float(l2norm(a))
    return n if math.isfinite(n) else math.inf


def _linear_in_blocks(
    x: np.ndarray, weight: np.ndarray, dy: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """∂L/∂x = Wᵀ·dy of one vector, and ‖∂L/∂W‖, ‖∂L/∂b‖ without forming ∂L/∂W = dy ⊗ x:
    its norm is ‖dy‖·‖x‖ (a rank-one matrix). W is read in float64 blocks of rows, so
    VGG-16's 102 M-weight layer never needs a float64 copy."""
    m, n = weight.shape
    dx = np.zeros(n)
    rows = max(1, BLOCK_BYTES // (8 * n))
    for r0 in range(0, m, rows):
        dx += dy[r0 : r0 + rows] @ np.asarray(weight[r0 : r0 + rows], dtype=np.float64)
    dy_norm = _norm(dy)
    with np.errstate(over="ignore"):
        w_norm = dy_norm * _norm(x)
    return dx, w_norm, dy_norm


def _class_scores(network: Network, target: Any) -> tuple[int, np.ndarray, bool]:
    """(target, the last layer's output as float64, whether it is a softmax)."""
    last = network.layers[-1]
    shape = network.shape(last.name)
    if len(shape) != 1:
        raise NetworkError(
            "target",
            f"the gradient flow starts from class scores, but the last layer {last.name} "
            f"({last.op}) gives shape {'×'.join(map(str, shape))}; end the network with a "
            "linear layer",
        )
    k = shape[0]
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or not 0 <= target < k:
        raise NetworkError(
            "target", f"expected a class from 0 to {k - 1} (the last layer has {k}), got {target!r}"
        )
    return int(target), _f64(network.output(last.name)), last.op == "softmax"


def backpropagate(
    network: Network, target: int, *, keep: bool = False
) -> tuple[GradientFlow, dict[str, np.ndarray]]:
    """The backward pass of ``network`` on its current input, from the cross-entropy against
    class ``target``, layer by layer from the last to the first.

    Forward values are the network's own (``network.output``, computed if need be); every
    gradient is float64. Each layer's output gradient is complete when its turn comes, since
    a layer reads only earlier layers: the gradients of the layers reading it have all been
    added in. With ``keep`` the second result holds ∂L/∂y per layer name, "input" and every
    parameter's gradient by state_dict key (for tests: memory grows with the network);
    without it, each gradient is dropped as soon as its norm is taken.
    """
    target, scores, ends_in_softmax = _class_scores(network, target)
    last = network.layers[-1].name
    logits = _f64(network.inputs_of(last)[0]) if ends_in_softmax else scores
    loss, dlogits = cross_entropy(logits, target)
    probability = math.exp(-loss)
    kept: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}
    if ends_in_softmax:
        # ∂L/∂p = −e_t/p_t; its norm may be inf when p_t underflows, while ∂L/∂z = p − e_t
        # stays exact: the softmax layer hands that straight to its input.
        with np.errstate(divide="ignore"):
            dp = np.zeros_like(scores)
            dp[target] = -1.0 / scores[target] if scores[target] > 0 else -np.inf
        grads[last] = dp
    else:
        grads[last] = dlogits
    entries: list[LayerGradient] = []
    # Gradients may leave float64's range (an exploding stack): they become inf, and the
    # alarm says so; no RuntimeWarning.
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        for i in range(len(network.layers) - 1, -1, -1):
            layer = network.layers[i]
            name = layer.name
            dy = grads.pop(name, None)
            if dy is None:  # the loss does not read this layer
                dy = np.zeros(network.shape(name))
            out_norm = _norm(dy)
            if keep:
                kept[name] = dy
            in_names = network.input_names(name)
            weight_norm = bias_norm = None
            if name == last and ends_in_softmax:
                dxs = [dlogits]
            elif not np.any(dy):
                dxs = [np.zeros(network.shape(n)) for n in in_names]
                if f"{name}.weight" in network.params:
                    weight_norm = 0.0
                    bias_norm = 0.0 if f"{name}.bias" in network.params else None
            elif layer.op == "linear" and not keep:
                x = _f64(network.output(in_names[0]))
                dx, weight_norm, bias_norm = _linear_in_blocks(
                    x, network.params[f"{name}.weight"], dy
                )
                if f"{name}.bias" not in network.params:
                    bias_norm = None
                dxs = [dx]
            else:
                params = {
                    key[len(name) + 1 :]: value
                    for key in network.param_shapes()
                    if key.startswith(name + ".") and (value := network.params.get(key)) is not None
                }
                dxs, pgrads = backward(
                    layer.op,
                    network.hyper(name),
                    network.inputs_of(name),
                    network.output(name),
                    params,
                    dy,
                )
                if "weight" in pgrads:
                    weight_norm = _norm(pgrads["weight"])
                if "bias" in pgrads:
                    bias_norm = _norm(pgrads["bias"])
                if keep:
                    kept.update({f"{name}.{k}": v for k, v in pgrads.items()})
            for n, dx in zip(in_names, dxs, strict=True):
                grads[n] = grads[n] + dx if n in grads else dx
            entries.append(
                LayerGradient(
                    name=name,
                    op=layer.op,
                    output_norm=out_norm,
                    weight_norm=weight_norm,
                    bias_norm=bias_norm,
                )
            )
    d_input = grads.pop(INPUT, np.zeros(network.input_shape))
    if keep:
        kept[INPUT] = d_input
    flow = GradientFlow(
        target=target,
        loss=loss,
        probability=probability,
        input_norm=_norm(d_input),
        layers=tuple(reversed(entries)),
    )
    return flow, kept


def gradient_peak_bytes(network: Network) -> int:
    """An upper bound, from shapes alone, on the memory ``gradient_flow`` adds to a network
    whose outputs are already computed: float64 gradients of every layer output at once (in
    truth only those not yet passed back are alive), per layer the float64 copies of its
    inputs, output and parameters with their gradients (a linear layer's weight is read in
    blocks and never copied whole), twice its padded input (the scatter target and the
    result) and the blocks of im2col work. A screen charges it to the
    simulation's budget before running the pass."""
    shapes = network.param_shapes()
    outputs = math.prod(network.input_shape) + sum(
        network.activation_size(layer.name) for layer in network.layers
    )
    worst = 0
    for layer in network.layers:
        name = layer.name
        params = sum(math.prod(s) for k, s in shapes.items() if k.startswith(name + "."))
        if layer.op == "linear":  # read in blocks of rows, its gradient reduced to a norm
            params = network.activation_size(name)
        ins = [math.prod(network.shape(n)) for n in network.input_names(name)]
        pad = 0
        if layer.op in ("conv2d", "maxpool2d", "avgpool2d"):
            c, h, w = network.shape(network.input_names(name)[0])
            ph, pw = network.hyper(name)["padding"]
            pad = c * (h + 2 * ph) * (w + 2 * pw)
        one = 2 * sum(ins) + 2 * network.activation_size(name) + 2 * params + 2 * pad
        worst = max(worst, 8 * one)
    return 8 * outputs + worst + 4 * BLOCK_BYTES


def gradient_flow(network: Network, target: int) -> GradientFlow:
    """The gradient norm at every layer of ``network`` for its current input, backpropagated
    from the cross-entropy loss against class ``target``.

    Needs weights and an input (``NetworkError`` from the network otherwise), and a last layer
    that gives class scores (a vector: linear, or softmax) — ``NetworkError("target", …)``
    otherwise, or for a class out of range. Memory: the network's forward outputs (kept by the
    network) plus the gradients of the layers not yet passed; weight gradients are reduced to
    their norms at once. A plain stack of depth 100, width 32 takes a few milliseconds; VGG-16
    on 224×224 takes seconds (run it in a worker).
    """
    return backpropagate(network, target)[0]


@dataclass(frozen=True, kw_only=True)
class LayerFactor:
    """One linear + activation pair of a plain stack: how much the gradient shrinks or grows
    crossing it, predicted and measured.

    Backward through y = s(W·x + b): ∂L/∂x = Wᵀ·(s′(z) ⊙ ∂L/∂y). The course's arithmetic takes
    each factor at a typical size: |s′| (at most 1/4 for the sigmoid) times the weights' gain
    w, the factor by which W stretches a vector (about ``weight_scale`` for the plain stack's
    weights, std weight_scale/√fan_in). So ‖∂L/∂x‖ ≈ s′·w·‖∂L/∂y‖, and over d layers the
    gradient scales by about (s′·w)^d.
    """

    linear: str
    activation: str
    s_prime_mean: float
    """mean |s′(z)| over the layer's units at the actual pre-activations z."""
    s_prime_rms: float
    """√(mean s′(z)²): the size of s′ that a random gradient vector sees."""
    weight_gain: float
    """w = ‖W‖_F/√(out_features): the root-mean-square factor by which Wᵀ stretches a vector."""
    predicted: float
    """s′·w with s′ = ``s_prime_rms``: the prediction to show beside ``measured``."""
    predicted_mean: float
    """s′·w with s′ = ``s_prime_mean``, the course's form. It agrees with ``predicted`` while
    the units are not saturated (sigmoid at w = 1: 0.234 against 0.235), and falls far below
    the measured factor once they are (w = 30: 0.44 against about 1.2), because the few
    unsaturated units that carry the gradient weigh more in the root mean square than in the
    mean (docs/gradients.md)."""
    measured: float
    """‖∂L/∂x‖ / ‖∂L/∂y‖ from the backward pass (x: the linear layer's input, y: the
    activation's output); nan where ‖∂L/∂y‖ underflowed to 0, or both overflowed to inf (the
    screen shows no ratio there)."""


def activation_prime(op: str, z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """s′(z) of an activation op at pre-activations z."""
    z = _f64(z)
    if op == "sigmoid":
        return sigmoid_prime(z)
    if op == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if op == "relu":
        return (z > 0).astype(np.float64)
    if op == "leaky_relu":
        return np.where(z > 0, 1.0, negative_slope)
    raise SpecError("op", f"{op!r} is not an activation")


def plain_factors(network: Network, flow: GradientFlow) -> list[LayerFactor]:
    """Predicted and measured gradient factors of every (linear, activation) pair, in order:
    the layers of a ``plain`` or ``mlp`` architecture, or any activation that reads a linear
    layer that reads a vector. Cheap: one pass over the weights."""
    factors = []
    for layer in network.layers:
        if layer.op not in ("sigmoid", "tanh", "relu", "leaky_relu"):
            continue
        (lin_name,) = network.input_names(layer.name)
        if lin_name == INPUT or network.layers[network.index(lin_name)].op != "linear":
            continue
        (x_name,) = network.input_names(lin_name)
        slope = float(network.hyper(layer.name).get("negative_slope", 0.01))
        sp = activation_prime(layer.op, network.output(lin_name), slope)
        w = _f64(network.params[f"{lin_name}.weight"])
        gain = _norm(w) / math.sqrt(w.shape[0])
        rms = math.sqrt(float(np.mean(sp * sp)))
        g_x = flow.input_norm if x_name == INPUT else flow.layer(x_name).output_norm
        g_y = flow.layer(layer.name).output_norm
        with np.errstate(divide="ignore", invalid="ignore"):
            measured = float(np.float64(g_x) / np.float64(g_y)) if g_y else float("nan")
        factors.append(
            LayerFactor(
                linear=lin_name,
                activation=layer.name,
                s_prime_mean=float(np.mean(np.abs(sp))),
                s_prime_rms=rms,
                weight_gain=gain,
                predicted=rms * gain,
                predicted_mean=float(np.mean(np.abs(sp))) * gain,
                measured=measured,
            )
        )
    return factors
