"""Learning a kernel: gradient descent on a filter's weights, stepped per optimisation iteration."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.arrays import frozen
from engine.conv import Pair
from engine.core import Stage, Step
from engine.errors import SpecError
from engine.limits import MAX_ITERATIONS, MAX_WORK, check_bytes

FLOAT_MAX = float(np.finfo(np.float64).max)

ROW_ITERATIONS = 10
"""Iterations one "row" step (PgUp / PgDn in the player) moves."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called now and then while a stage trains."""


def as_images(images: np.ndarray) -> np.ndarray:
    """``images`` as float64 (N, H, W); one (H, W) image is a batch of one."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise SpecError("images", f"expected shape (N, H, W) or (H, W), got {x.shape}")
    return x


def windows_matrix(images: np.ndarray, kernel_hw: Pair) -> np.ndarray:
    """Every f_h×f_w window of every image, one per row: shape (N·H_out·W_out, f_h·f_w).

    Row ``(n·H_out + i)·W_out + j`` holds ``images[n, i:i + f_h, j:j + f_w]`` in row-major order,
    so ``windows_matrix(x, k.shape) @ k.ravel()`` is the valid cross-correlation of every image
    with ``k``, flattened. This is the im2col matrix: the training loop multiplies by it twice
    per iteration, forward (predictions) and transposed (the gradient).
    """
    fh, fw = kernel_hw
    win = sliding_window_view(images, (fh, fw), axis=(1, 2))  # (N, H_out, W_out, fh, fw)
    return win.reshape(-1, fh * fw)


def correlate(images: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid, stride-1 cross-correlation of each image with ``kernel``: (N, H_out, W_out)."""
    x = as_images(images)
    k = np.asarray(kernel, dtype=np.float64)
    n, h, w = x.shape
    fh, fw = k.shape
    return (windows_matrix(x, (fh, fw)) @ k.ravel()).reshape(n, h - fh + 1, w - fw + 1)


def loss_and_gradient(
    images: np.ndarray, targets: np.ndarray, kernel: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean squared error of ``correlate(images, kernel)`` against ``targets``, and dL/dW.

    The same formula the stage trains with (see ``KernelLearningStage``), for one kernel.
    Returns the loss and the gradient, shape of ``kernel``.
    """
    x = as_images(images)
    k = np.asarray(kernel, dtype=np.float64)
    a = windows_matrix(x, k.shape)  # (M, f_h·f_w)
    r = a @ k.ravel() - np.asarray(targets, dtype=np.float64).ravel()  # (M,) residuals
    m = r.size
    return float(r @ r) / m, (2.0 / m * (r @ a)).reshape(k.shape)


def learn_bytes(images_shape: tuple[int, int, int], kernel_hw: Pair, iterations: int) -> int:
    """Bytes of float64 a learning stage will hold, from shapes alone.

    Counts the images, the targets, the windows matrix (held once more by the loop's
    temporaries), and the kernels, gradients and losses of every iteration.
    """
    n, h, w = images_shape
    fh, fw = kernel_hw
    k = fh * fw
    m = n * max(h - fh + 1, 0) * max(w - fw + 1, 0)
    cells = n * h * w + 3 * m + m * k + (2 * iterations + 1) * k + iterations + 1
    return 8 * cells


def learn_peak_bytes(images_shape: tuple[int, int, int], kernel_hw: Pair, iterations: int) -> int:
    """Peak bytes of a learning stage from shapes alone: what it holds (``learn_bytes``), plus
    the larger of the training loop's temporaries (two residual vectors) and the PyTorch check
    (a copy of the images, the targets, and per iteration autograd's prediction, residual and
    gradient maps and conv2d's im2col buffer of the windows, with the kernels it returns)."""
    n, h, w = images_shape
    fh, fw = kernel_hw
    k = fh * fw
    m = n * max(h - fh + 1, 0) * max(w - fw + 1, 0)
    train = 8 * 2 * m
    check = 8 * (n * h * w + k * m + 6 * m + 2 * iterations * (k + 1))
    return learn_bytes(images_shape, kernel_hw, iterations) + max(train, check)


def learn_work(images_shape: tuple[int, int, int], kernel_hw: Pair, iterations: int) -> int:
    """Multiply-adds of a whole training run: two products with the windows matrix each."""
    n, h, w = images_shape
    fh, fw = kernel_hw
    m = n * max(h - fh + 1, 0) * max(w - fw + 1, 0)
    return 2 * m * fh * fw * iterations


def check_scale(images: np.ndarray, hidden: np.ndarray, init: np.ndarray) -> None:
    """SpecError under ``images`` unless every number training shows stays finite.

    The loss at the start is (1/M)·Σ r² with |r| ≤ f_h·f_w·max|x|·(max|W*| + max|W_0|), and
    AᵀA (whose largest eigenvalue gives the critical learning rate) sums M products of two
    pixels; both stay below float64's maximum when max|x| is within the bound below.
    """
    k = hidden.size
    m = (
        images.shape[0]
        * (images.shape[1] - hidden.shape[0] + 1)
        * (images.shape[2] - hidden.shape[1] + 1)
    )
    weights = max(1.0, float(np.abs(hidden).max()) + float(np.abs(init).max()))
    bound = math.sqrt(FLOAT_MAX / (4 * m)) / (k * weights)
    biggest = float(np.abs(images).max())
    if biggest > bound:
        raise SpecError(
            "images",
            f"pixels up to {biggest:.3g} make the loss and AᵀA overflow float64; with this "
            f"kernel and starting point, pixels within ±{bound:.3g} keep them finite",
        )


def check_sizes(images_shape: tuple[int, ...], kernel_hw: Pair, iterations: int) -> None:
    """SpecError unless a run on these shapes fits in memory and time; needs no arrays."""
    if len(images_shape) == 2:
        images_shape = (1, *images_shape)
    if len(images_shape) != 3:
        raise SpecError("images", f"expected shape (N, H, W) or (H, W), got {tuple(images_shape)}")
    n, h, w = images_shape
    fh, fw = kernel_hw
    if min(n, h, w) < 1:
        raise SpecError("images", f"empty shape: images {tuple(images_shape)}")
    if min(fh, fw) < 1:
        raise SpecError("hidden_kernel", f"empty shape: kernel {fh}×{fw}")
    if fh > h or fw > w:
        raise SpecError("hidden_kernel", f"kernel {fh}×{fw} is larger than the images {h}×{w}")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)):
        raise SpecError("iterations", f"expected a whole number, got {iterations!r}")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise SpecError(
            "iterations", f"expected 1 to {MAX_ITERATIONS:,} iterations, got {iterations:,}"
        )
    shape3 = (n, h, w)
    work = learn_work(shape3, (fh, fw), int(iterations))
    if work > MAX_WORK:
        raise SpecError(
            "iterations",
            f"{iterations:,} iterations over {n} image(s) of {h}×{w} take {work:.2g} "
            f"multiply-adds; the limit is {MAX_WORK:.0e}: use fewer iterations or smaller images",
        )
    need = learn_peak_bytes(shape3, (fh, fw), int(iterations))
    check_bytes(need, "images", f"{iterations:,} iterations over {n} image(s) of {h}×{w}")


@dataclass(frozen=True, eq=False, kw_only=True)
class LearnStep(Step):
    """One iteration of gradient descent: the weights, the gradient there, and the update."""

    iteration: int
    kernel: np.ndarray  # (f_h, f_w) weights W_k before this iteration's update
    gradient: np.ndarray  # (f_h, f_w) dL/dW at W_k
    loss: float
    """L(W_k): the mean squared error before the update (also the step's value)."""
    next_kernel: np.ndarray  # (f_h, f_w) W_{k+1} = W_k − η·dL/dW
    learning_rate: float
    distance: float
    """max |W_k − W*|: how far the weights still are from the hidden kernel."""


class KernelLearningStage(Stage):
    """Learn a kernel W by gradient descent so that the images filtered by it match targets.

    The targets are the images filtered by a hidden kernel W* (valid cross-correlation, stride
    1, as in ``engine/conv.py``): Y_n = X_n ⋆ W*. Starting from W_0 = ``init``, each iteration
    predicts P_n = X_n ⋆ W_k, measures the mean squared error over all M = N·H_out·W_out target
    pixels, and takes one plain gradient-descent step::

        R_n[i, j]  = P_n[i, j] − Y_n[i, j]                   residual
        L(W)       = (1/M) · Σ_n Σ_i Σ_j R_n[i, j]²
        ∂L/∂W[u, v] = (2/M) · Σ_n Σ_i Σ_j R_n[i, j] · X_n[i + u, j + v]
        W_{k+1}    = W_k − η · ∂L/∂W(W_k)

    The gradient follows from the chain rule: ∂L/∂R_n[i, j] = 2R_n[i, j]/M, and because
    P_n[i, j] = Σ_u Σ_v X_n[i + u, j + v]·W[u, v], ∂P_n[i, j]/∂W[u, v] = X_n[i + u, j + v] — the
    input pixel that weight multiplies at that output. So each weight's gradient is the residual
    map cross-correlated with the input, shifted by (u, v): the same sliding-window sum as the
    forward pass. With the windows as the rows of an (M, f_h·f_w) matrix A (im2col), this is
    P = A·w, ∇w = (2/M)·Aᵀ(A·w − y), two matrix-vector products per iteration.

    Because the loss is quadratic in W with Hessian 2AᵀA/M, gradient descent converges for any
    start exactly when η < ``critical_learning_rate`` = M/λ_max(AᵀA), and to W* when AᵀA is
    invertible (the images are varied enough to tell the nine weights apart).

    Args:
        images: training inputs, shape (N, H, W); an (H, W) array is one image.
        hidden: the kernel W* that makes the targets, shape (f_h, f_w), no larger than the images.
        init: the starting weights W_0, shape of ``hidden``.
        learning_rate: η, finite and > 0.
        iterations: how many updates to run, 1 to 100,000.
        progress: called as ``progress(done, iterations)`` every few hundred iterations and at
            the end, for a progress bar when training runs in a worker thread.

    Shape:
        output (iterations, f_h, f_w): the kernel after each iteration, W_1 … W_n.

    Step k is iteration k: the weights W_k before the update, the loss and gradient there, and
    W_{k+1}. The whole run is computed when the stage is built, so ``step(k)`` only slices.
    """

    kind = "learn_kernel"

    def __init__(
        self,
        images: np.ndarray,
        hidden: np.ndarray,
        init: np.ndarray,
        learning_rate: float,
        iterations: int,
        name: str = "learn",
        *,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(name)
        x = as_images(images)
        w_star = np.asarray(hidden, dtype=np.float64)
        w0 = np.asarray(init, dtype=np.float64)
        if w_star.ndim != 2:
            raise SpecError("hidden_kernel", f"expected shape (f_h, f_w), got {w_star.shape}")
        check_sizes(x.shape, (int(w_star.shape[0]), int(w_star.shape[1])), iterations)
        if w0.shape != w_star.shape:
            raise SpecError(
                "init",
                f"the starting kernel has shape {list(w0.shape)} but the hidden kernel has "
                f"{list(w_star.shape)}; they must match",
            )
        if (
            isinstance(learning_rate, bool)
            or not isinstance(learning_rate, (int, float, np.integer, np.floating))
            or not math.isfinite(learning_rate)
            or learning_rate <= 0
        ):
            raise SpecError("learning_rate", f"expected a finite number > 0, got {learning_rate!r}")
        for field_name, arr in (("images", x), ("hidden_kernel", w_star), ("init", w0)):
            if not np.all(np.isfinite(arr)):
                raise SpecError(field_name, "values must be finite (no inf or nan)")
        check_scale(x, w_star, w0)

        self.images = frozen(x)  # (N, H, W)
        self._hidden = frozen(w_star)  # (f_h, f_w)
        self.init = frozen(w0)  # (f_h, f_w)
        self.learning_rate = float(learning_rate)
        self.iterations = int(iterations)
        self.kernel_hw: Pair = (int(w_star.shape[0]), int(w_star.shape[1]))
        n, h, w = x.shape
        self.out_hw: Pair = (h - self.kernel_hw[0] + 1, w - self.kernel_hw[1] + 1)
        self._a = windows_matrix(self.images, self.kernel_hw)  # (M, f_h·f_w)
        self._critical: float | None = None
        with np.errstate(over="ignore", invalid="ignore"):
            targets = (self._a @ w_star.ravel()).reshape(n, *self.out_hw)
        if not np.all(np.isfinite(targets)):
            raise SpecError("images", "the targets overflow float64 (values too large)")
        self.targets = frozen(targets)  # (N, H_out, W_out)
        self._train(progress)

    def _train(self, progress: Progress | None) -> None:
        """Run every iteration; each is two matrix-vector products with the windows matrix."""
        a = self._a  # (M, K) with K = f_h·f_w
        y = self.targets.ravel()  # (M,)
        m, k = a.shape
        n = self.iterations
        kernels = np.empty((n + 1, k))  # W_0 … W_n, flattened
        gradients = np.empty((n, k))
        losses = np.empty(n + 1)  # L(W_0) … L(W_n)
        kernels[0] = self.init.ravel()
        eta, scale = self.learning_rate, 2.0 / m
        every = max(1, min(1000, n // 100))
        with np.errstate(over="ignore", invalid="ignore"):
            for it in range(n + 1):
                r = a @ kernels[it] - y  # (M,) residuals
                loss = float(r @ r) / m
                losses[it] = loss
                if not math.isfinite(loss):
                    raise SpecError(
                        "learning_rate",
                        f"training diverges: loss is {loss} after {it} iterations; try a "
                        f"smaller learning rate (below {self.critical_learning_rate:.3g} "
                        "converges for these images)",
                    )
                if it == n:
                    break
                g = scale * (r @ a)  # (K,) dL/dW
                gradients[it] = g
                kernels[it + 1] = kernels[it] - eta * g
                if progress is not None and (it + 1) % every == 0:
                    progress(it + 1, n)
        if progress is not None and n % every:
            progress(n, n)
        shape = (-1, *self.kernel_hw)
        self._kernels = frozen(kernels.reshape(shape))  # (n + 1, f_h, f_w)
        self._gradients = frozen(gradients.reshape(shape))  # (n, f_h, f_w)
        self._losses = frozen(losses)  # (n + 1,)
        self._distances = frozen(np.abs(self._kernels - self._hidden).max(axis=(1, 2)))

    # -- facts about the run --------------------------------------------------------------

    @property
    def hidden(self) -> np.ndarray:
        """W*, the kernel the targets were made with, shape (f_h, f_w)."""
        return self._hidden

    @property
    def kernels(self) -> np.ndarray:
        """W_0 … W_{n−1}: the weights each iteration starts from, shape (n, f_h, f_w)."""
        return self._kernels[:-1]

    @property
    def trajectory(self) -> np.ndarray:
        """W_0 … W_n: the starting kernel and the kernel after each iteration, (n + 1, f_h, f_w)."""
        return self._kernels

    @property
    def final_kernel(self) -> np.ndarray:
        """W_n, the learned kernel after the last iteration, shape (f_h, f_w)."""
        return self._kernels[-1]

    @property
    def gradients(self) -> np.ndarray:
        """dL/dW at W_0 … W_{n−1}, shape (n, f_h, f_w)."""
        return self._gradients

    @property
    def losses(self) -> np.ndarray:
        """L(W_0) … L(W_{n−1}): the loss each iteration starts at, shape (n,)."""
        return self._losses[:-1]

    @property
    def final_loss(self) -> float:
        """L(W_n), the loss of the learned kernel."""
        return float(self._losses[-1])

    @property
    def distances(self) -> np.ndarray:
        """max |W_k − W*| for k = 0 … n, shape (n + 1,)."""
        return self._distances

    @property
    def pixels(self) -> int:
        """M, the number of target pixels the loss averages over: N·H_out·W_out."""
        return int(self.targets.size)

    @property
    def critical_learning_rate(self) -> float:
        """The learning rate at and above which gradient descent no longer converges.

        The loss's Hessian is H = 2AᵀA/M; gradient descent on a quadratic converges iff
        η < 2/λ_max(H) = M/λ_max(AᵀA). ``inf`` if every image is zero (nothing to learn from).
        """
        if self._critical is None:
            a = self._a
            lam = float(np.linalg.eigvalsh(a.T @ a).max()) / a.shape[0]
            self._critical = math.inf if lam <= 0 else 1.0 / lam
        return self._critical

    def first_iteration_within(self, tol: float) -> int | None:
        """The fewest iterations k after which max |W_k − W*| ≤ ``tol`` (0 if the start already
        is), or None if the run never gets that close."""
        hits = np.flatnonzero(self._distances <= tol)
        return int(hits[0]) if hits.size else None

    @property
    def output(self) -> np.ndarray:
        return self._kernels[1:]

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: the f_h·f_w weights of the kernel (no bias)."""
        return int(self._hidden.size)

    # -- stepping ------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.iterations

    def row_steps(self) -> int:
        return ROW_ITERATIONS

    def step(self, i: int) -> LearnStep:
        i = self._normalise_index(i)
        loss = float(self._losses[i])
        distance = float(self._distances[i])
        return LearnStep(
            stage=self.name,
            index=i,
            value=loss,
            explanation=(
                f"iteration {i + 1}: loss L(W) = {loss:.6g}, max |W − W*| = {distance:.3g}; "
                f"W ← W − {self.learning_rate:g}·∂L/∂W"
            ),
            iteration=i,
            kernel=self._kernels[i],
            gradient=self._gradients[i],
            loss=loss,
            next_kernel=self._kernels[i + 1],
            learning_rate=self.learning_rate,
            distance=distance,
        )

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": a.tolist()}

        return {
            "name": self.name,
            "kind": self.kind,
            "input": arr(self.images),
            "targets": arr(self.targets),
            "hidden_kernel": arr(self._hidden),
            "parameters": {"weight": arr(self.init)},
            "hyperparameters": {
                "kernel_size": list(self.kernel_hw),
                "stride": [1, 1],
                "padding": [0, 0],
                "loss": "mse",
                "optimizer": "gradient descent",
                "learning_rate": self.learning_rate,
                "iterations": self.iterations,
            },
            "output": arr(self.output),
            "losses": self.losses.tolist(),
            "final_loss": self.final_loss,
            "steps": len(self),
            "step_order": ["iteration"],
        }

    def reference(self) -> np.ndarray:
        """The same run with PyTorch's autograd: W_1 … W_n, shape (n, f_h, f_w)."""
        return self.reference_run()[0]

    def reference_run(self) -> tuple[np.ndarray, np.ndarray]:
        """PyTorch's kernels W_1 … W_n and losses L(W_0) … L(W_{n−1}), float64 throughout.

        Targets come from ``conv2d`` with the hidden kernel, the loss from ``mse_loss``, the
        gradient from ``loss.backward()``; nothing of the analytic formula is reused.
        """
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.array(self.images))[:, None]  # (N, 1, H, W)
        with torch.no_grad():
            y = F.conv2d(x, torch.from_numpy(np.array(self._hidden))[None, None])
        w = torch.from_numpy(np.array(self.init))[None, None].requires_grad_(True)
        kernels = np.empty((self.iterations, *self.kernel_hw))
        losses = np.empty(self.iterations)
        for it in range(self.iterations):
            loss = F.mse_loss(F.conv2d(x, w), y)
            loss.backward()
            with torch.no_grad():
                assert w.grad is not None
                w -= self.learning_rate * w.grad
                w.grad.zero_()
            kernels[it] = w.detach()[0, 0].numpy()
            losses[it] = loss.item()
        return kernels, losses
