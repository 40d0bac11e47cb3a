"""Backward passes against PyTorch's autograd: every op, the loss, the alarm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import gradients as G
from engine.errors import SpecError

TOL = 1e-10


def close(a: np.ndarray, b: Any) -> None:
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b), initial=0.0) <= TOL * max(1.0, float(np.max(np.abs(b), initial=0)))


def autograd(
    fn: Callable[..., torch.Tensor], arrays: list[np.ndarray], dy: np.ndarray
) -> list[torch.Tensor]:
    """Gradients of ⟨fn(*arrays), dy⟩ with respect to every array, by PyTorch in float64."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    assert out.shape == dy.shape
    (out * torch.from_numpy(dy)).sum().backward()
    return [t.grad for t in ts]  # type: ignore[misc]


def upstream(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


CONV_CASES = [
    # (C, H, W, O, k, stride, padding, groups, bias)
    (1, 8, 8, 3, 3, 1, 0, 1, True),
    (3, 9, 7, 4, (3, 2), 2, 1, 1, True),
    (4, 10, 10, 6, 3, (2, 1), (1, 2), 2, False),
    (6, 11, 11, 6, 5, 3, 2, 3, True),
    (2, 5, 5, 2, 1, 1, 0, 2, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv2d(case: tuple[Any, ...]) -> None:
    c, h, w, o, k, s, p, g, bias = case
    rng = np.random.default_rng(len(str(case)))
    kh, kw = G._pair(k)
    x = rng.standard_normal((c, h, w))
    weight = rng.standard_normal((o, c // g, kh, kw))
    b = rng.standard_normal(o)
    args = {"out_channels": o, "kernel_size": k, "stride": s, "padding": p, "groups": g}
    ref_out = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(weight), None, s, p, 1, g)[0]
    dy = upstream(rng, tuple(ref_out.shape))
    dx_t, dw_t, db_t = autograd(
        lambda x_, w_, b_: F.conv2d(x_[None], w_, b_ if bias else None, s, p, 1, g)[0],
        [x, weight, b],
        dy,
    )
    params = {"weight": weight, "bias": b if bias else None}
    (dx,), grads = G.backward("conv2d", args, [x], ref_out.numpy(), params, dy)  # type: ignore[arg-type]
    close(dx, dx_t)
    close(grads["weight"], dw_t)
    if bias:
        close(grads["bias"], db_t)
    else:
        assert "bias" not in grads


POOL_CASES = [
    # (C, H, W, k, stride, padding)
    (2, 8, 8, 2, None, 0),
    (3, 7, 9, 3, 2, 1),  # overlapping windows, padding
    (1, 6, 6, (3, 2), (1, 2), (1, 1)),
    (2, 13, 13, 3, 2, 0),  # AlexNet's overlapping pool
]


@pytest.mark.parametrize("case", POOL_CASES, ids=[str(i) for i in range(len(POOL_CASES))])
def test_maxpool2d(case: tuple[Any, ...]) -> None:
    c, h, w, k, s, p = case
    rng = np.random.default_rng(7 + len(str(case)))
    x = rng.standard_normal((c, h, w))
    args = {"kernel_size": k, "stride": s, "padding": p}
    f = lambda x_: F.max_pool2d(x_[None], k, s, p)[0]  # noqa: E731
    out = f(torch.from_numpy(x))
    dy = upstream(rng, tuple(out.shape))
    (dx_t,) = autograd(f, [x], dy)
    (dx,), grads = G.backward("maxpool2d", args, [x], out.numpy(), {}, dy)
    close(dx, dx_t)
    assert grads == {}


def test_maxpool2d_ties_go_where_torch_sends_them() -> None:
    """Whole numbers from a small range: many windows hold their maximum twice."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 9, 9)).astype(np.float64)
    f = lambda x_: F.max_pool2d(x_[None], 3, 2, 1)[0]  # noqa: E731
    dy = upstream(rng, tuple(f(torch.from_numpy(x)).shape))
    (dx_t,) = autograd(f, [x], dy)
    close(G.maxpool2d_backward(x, dy, kernel_size=3, stride=2, padding=1), dx_t)


@pytest.mark.parametrize("case", POOL_CASES, ids=[str(i) for i in range(len(POOL_CASES))])
def test_avgpool2d_counts_the_padding(case: tuple[Any, ...]) -> None:
    c, h, w, k, s, p = case
    rng = np.random.default_rng(11 + len(str(case)))
    x = rng.standard_normal((c, h, w))
    f = lambda x_: F.avg_pool2d(x_[None], k, s, p)[0]  # noqa: E731
    out = f(torch.from_numpy(x))
    dy = upstream(rng, tuple(out.shape))
    (dx_t,) = autograd(f, [x], dy)
    args = {"kernel_size": k, "stride": s, "padding": p}
    (dx,), _ = G.backward("avgpool2d", args, [x], out.numpy(), {}, dy)
    close(dx, dx_t)


@pytest.mark.parametrize(
    ("hw", "size"), [((7, 7), 1), ((7, 9), (3, 4)), ((13, 13), (6, 6)), ((5, 3), (7, 2))]
)
def test_adaptive_avgpool2d(hw: tuple[int, int], size: Any) -> None:
    rng = np.random.default_rng(hw[0] * 31 + hw[1])
    x = rng.standard_normal((3, *hw))
    f = lambda x_: F.adaptive_avg_pool2d(x_[None], size)[0]  # noqa: E731
    out = f(torch.from_numpy(x))
    dy = upstream(rng, tuple(out.shape))
    (dx_t,) = autograd(f, [x], dy)
    (dx,), _ = G.backward("adaptive_avgpool2d", {"output_size": size}, [x], out.numpy(), {}, dy)
    close(dx, dx_t)


ELEMENTWISE: dict[str, tuple[dict[str, Any], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": ({}, torch.relu),
    "sigmoid": ({}, torch.sigmoid),
    "tanh": ({}, torch.tanh),
    "leaky_relu": ({"negative_slope": 0.2}, lambda t: F.leaky_relu(t, 0.2)),
    "dropout": ({"p": 0.5}, lambda t: F.dropout(t, 0.5, training=False)),
    "softmax": ({}, lambda t: torch.softmax(t, dim=-1)),
    "flatten": ({}, lambda t: t.flatten()),
}


@pytest.mark.parametrize("op", list(ELEMENTWISE))
@pytest.mark.parametrize("shape", [(10,), (3, 4, 5)])
def test_parameter_free_ops(op: str, shape: tuple[int, ...]) -> None:
    args, f = ELEMENTWISE[op]
    rng = np.random.default_rng(len(op) * 10 + len(shape))
    x = rng.standard_normal(shape) * 3
    x.flat[0] = 0.0  # the kink of relu and leaky relu: the derivative PyTorch takes there
    out = f(torch.from_numpy(x))
    dy = upstream(rng, tuple(out.shape))
    (dx_t,) = autograd(f, [x], dy)
    (dx,), grads = G.backward(op, args, [x], out.numpy(), {}, dy)
    close(dx, dx_t)
    assert grads == {}


def test_add_sends_the_gradient_to_both_inputs() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 4, 3, 3))
    dy = upstream(rng, a.shape)
    da_t, db_t = autograd(torch.add, [a, b], dy)
    (da, db), _ = G.backward("add", {}, [a, b], a + b, {}, dy)
    close(da, da_t)
    close(db, db_t)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(), (5,)])
def test_linear(bias: bool, batch: tuple[int, ...]) -> None:
    rng = np.random.default_rng(17 + len(batch))
    x = rng.standard_normal((*batch, 7))
    weight, b = rng.standard_normal((4, 7)), rng.standard_normal(4)
    dy = upstream(rng, (*batch, 4))
    dx_t, dw_t, db_t = autograd(
        lambda x_, w_, b_: F.linear(x_, w_, b_ if bias else None), [x, weight, b], dy
    )
    params = {"weight": weight, "bias": b if bias else None}
    (dx,), grads = G.backward("linear", {"out_features": 4}, [x], x @ weight.T, params, dy)  # type: ignore[arg-type]
    close(dx, dx_t)
    close(grads["weight"], dw_t)
    assert ("bias" in grads) == bias
    if bias:
        close(grads["bias"], db_t)


def test_batchnorm2d_in_inference_mode() -> None:
    rng = np.random.default_rng(23)
    x = rng.standard_normal((4, 5, 6))
    gamma, beta, mean = rng.standard_normal((3, 4))
    var = rng.uniform(0.1, 2.0, 4)
    f = lambda x_, g_, b_: F.batch_norm(  # noqa: E731
        x_[None], torch.from_numpy(mean), torch.from_numpy(var), g_, b_, False, 0.1, 1e-3
    )[0]
    out = f(*(torch.from_numpy(a) for a in (x, gamma, beta)))
    dy = upstream(rng, x.shape)
    dx_t, dg_t, db_t = autograd(f, [x, gamma, beta], dy)
    params = {"weight": gamma, "bias": beta, "running_mean": mean, "running_var": var}
    (dx,), grads = G.backward("batchnorm2d", {"eps": 1e-3}, [x], out.numpy(), params, dy)
    close(dx, dx_t)
    close(grads["weight"], dg_t)
    close(grads["bias"], db_t)
    assert set(grads) == {"weight", "bias"}


@pytest.mark.parametrize("scale", [1.0, 50.0, 1000.0])
def test_cross_entropy_from_logits(scale: float) -> None:
    rng = np.random.default_rng(int(scale))
    z = rng.standard_normal(10) * scale
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(zt[None], torch.tensor([3]))
    ref.backward()
    loss, dz = G.cross_entropy(z, 3)
    assert loss == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)
    close(dz, zt.grad)


def test_cross_entropy_of_a_batch_is_the_mean() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((6, 10))
    t = rng.integers(0, 10, 6)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(zt, torch.from_numpy(t))
    ref.backward()
    loss, dz = G.cross_entropy(z, t)
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    close(dz, zt.grad)


def test_sigmoid_prime_is_at_most_a_quarter_and_never_overflows() -> None:
    x = np.array([-1e308, -800.0, -3.0, 0.0, 2.0, 800.0, 1e308])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        sp = G.sigmoid_prime(x)
    s = torch.sigmoid(torch.from_numpy(x))
    close(sp, s * (1 - s))
    assert sp.max() == 0.25


def test_unknown_op_is_refused() -> None:
    with pytest.raises(SpecError, match="conv3d"):
        G.backward("conv3d", {}, [np.zeros(3)], np.zeros(3), {}, np.zeros(3))


@pytest.mark.parametrize(
    ("norm", "verdict"),
    [
        (0.0, "vanishing"),
        (9.9e-7, "vanishing"),
        (1e-6, "ok"),
        (1.0, "ok"),
        (1e6, "ok"),
        (1.01e6, "exploding"),
        (float("inf"), "exploding"),
        (float("nan"), "exploding"),
    ],
)
def test_alarm(norm: float, verdict: str) -> None:
    assert G.alarm(norm) == verdict
