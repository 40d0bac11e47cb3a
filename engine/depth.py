"""The depth experiment: plain and residual networks of the same depths, trained on the digits.

He et al. (2016) found that a deeper plain network ends with a *higher* training error than a
shallower one, while residual networks of the same depths keep improving. This module repeats
the comparison at a size one core trains in about a minute: fully connected blocks of a small
width on the 8×8 digits (64 inputs, 10 classes), mini-batch SGD with the backward passes of
``engine.gradients``, every run seeded.

Each network is

    x (64) → stem: linear 64→width, act → depth × block → head: linear width→10 → logits

    plain block:     h ← act(W₂·act(W₁·h + b₁) + b₂)
    residual block:  h ← act(h + W₂·act(W₁·h + b₁) + b₂)

so a plain and a residual network of the same depth have the same layers and the same
parameter count; they differ only in the skip path and its addition. Weights start from He's
normal initialisation (std √(2/fan_in)), biases at 0. The last linear layer of each residual
branch starts at zero (torchvision's ``zero_init_residual``, which zeroes the last batch
normalisation of each block: without batch normalisation, 32 blocks that each double the
variance would overflow before the first step), so a residual network starts as its stem and
head with identity blocks between them.

``run_depth_experiment(data, config, progress)`` returns one ``DepthRun`` per network: the
training error and loss against iterations, the gradient norm at the first layer, and the test
error when a test set is given. ``scripts/depth_experiment.py`` runs it and prints the table
that ``docs/gradients.md`` records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from engine.arrays import l2norm
from engine.errors import SpecError
from engine.gradients import cross_entropy, relu_backward, sigmoid_backward, tanh_backward

Kind = Literal["plain", "residual"]
KINDS: tuple[Kind, ...] = ("plain", "residual")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
"""Activations a depth experiment accepts."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: iterations trained so far over all networks, and their total
(called at every measurement, not every iteration)."""


@dataclass(frozen=True, kw_only=True)
class DepthConfig:
    """What the experiment trains; the defaults are the run recorded in docs/gradients.md."""

    depths: tuple[int, ...] = (2, 4, 8, 16, 32)
    """Blocks per network (each block holds two linear layers)."""
    width: int = 32
    """Units of every hidden layer."""
    activation: str = "relu"
    """One of ``ACTIVATIONS``."""
    iterations: int = 2000
    """SGD steps per network."""
    batch_size: int = 32
    learning_rate: float = 0.003
    momentum: float = 0.9
    eval_every: int = 50
    """Iterations between two measurements of the training error (the curves' resolution)."""
    seed: int = 0
    """Seeds the weights and the order of the mini-batches; the same seed for every network."""

    def __post_init__(self) -> None:
        if not self.depths or any(d < 1 or d > 1000 for d in self.depths):
            raise SpecError("depths", f"{self.depths!r}: give depths between 1 and 1000 blocks")
        if self.activation not in ACTIVATIONS:
            raise SpecError(
                "activation", f"{self.activation!r} is not one of {', '.join(ACTIVATIONS)}"
            )
        for name in ("width", "iterations", "batch_size", "eval_every"):
            if getattr(self, name) < 1:
                raise SpecError(name, f"{getattr(self, name)} must be at least 1")
        if not self.learning_rate > 0 or not 0 <= self.momentum < 1:
            raise SpecError(
                "learning_rate",
                f"learning rate {self.learning_rate} must be > 0 and momentum "
                f"{self.momentum} in [0, 1)",
            )


@dataclass(frozen=True, kw_only=True)
class DigitData:
    """Flattened images scaled to [0, 1] (B, 64) with their labels (B,); test set optional."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> DigitData:
        """The arrays of a digits file as rows: ``images`` and ``labels`` with the file's
        ``train_index`` / ``test_index`` split when it has one (the shipped file does), or
        ``train_images`` … ``test_labels``, or all of them to train on. Pixels are divided by
        the file's largest one when that is above 1 (16 for the UCI digits)."""
        every = [a.reshape(-1) for k, a in arrays.items() if k.endswith("images")]
        top = float(np.concatenate(every).max(initial=0.0)) if every else 1.0
        scale = top if top > 1 else 1.0

        def rows(images: np.ndarray) -> np.ndarray:
            return images.reshape(len(images), -1).astype(np.float64) / scale

        if {"images", "labels", "train_index", "test_index"} <= arrays.keys():
            images, labels = arrays["images"], arrays["labels"].astype(np.int64)
            train = arrays["train_index"].astype(np.int64)
            test = arrays["test_index"].astype(np.int64)
            return cls(
                x_train=rows(images[train]),
                y_train=labels[train],
                x_test=rows(images[test]),
                y_test=labels[test],
            )
        if {"train_images", "train_labels", "test_images", "test_labels"} <= arrays.keys():
            return cls(
                x_train=rows(arrays["train_images"]),
                y_train=arrays["train_labels"].astype(np.int64),
                x_test=rows(arrays["test_images"]),
                y_test=arrays["test_labels"].astype(np.int64),
            )
        return cls(x_train=rows(arrays["images"]), y_train=arrays["labels"].astype(np.int64))


@dataclass(frozen=True, kw_only=True)
class DepthRun:
    """One trained network and what was measured along the way."""

    kind: Kind
    depth: int
    """Blocks."""
    layers: int
    """Linear layers in all: 2·depth + 2 (stem and head)."""
    params: int
    iterations: np.ndarray
    """(E,) the iterations at which the measurements below were taken, 0 first."""
    train_error: np.ndarray
    """(E,) fraction of the whole training set misclassified."""
    train_loss: np.ndarray
    """(E,) mean cross-entropy over the whole training set."""
    first_grad: np.ndarray
    """(E,) ‖∂L/∂W‖ of the stem's weight on the whole training set: how much signal reaches
    the first layer."""
    last_grad: np.ndarray
    """(E,) the same for the head's weight."""
    test_error: float | None = None
    """Fraction of the test set misclassified at the end, when a test set was given."""

    @property
    def final_error(self) -> float:
        return float(self.train_error[-1])


@dataclass
class _Net:
    """The weights of one network: stem, 2·depth block layers, head; W (out, in), b (out,)."""

    kind: Kind
    act: str
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    velocity: list[np.ndarray] = field(default_factory=list)


def _he(rng: np.random.Generator, fan_out: int, fan_in: int) -> np.ndarray:
    return rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)


def make_network(
    kind: Kind, depth: int, width: int, activation: str, seed: int, n_in: int = 64
) -> _Net:
    """A network of ``depth`` blocks; plain and residual networks of one seed draw the same
    numbers, the residual one then zeroes the last layer of each branch."""
    rng = np.random.default_rng(seed)
    shapes = [(width, n_in)] + [(width, width)] * (2 * depth) + [(10, width)]
    weights = [_he(rng, o, i) for o, i in shapes]
    if kind == "residual":
        for k in range(depth):
            weights[2 + 2 * k][:] = 0.0
    biases = [np.zeros(o) for o, _ in shapes]
    return _Net(kind, activation, weights, biases)


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow


def _act_backward(name: str, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    if name == "relu":
        return relu_backward(z, da)
    if name == "tanh":
        return tanh_backward(a, da)
    return sigmoid_backward(a, da)


def forward(net: _Net, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Logits (B, 10) and the tape the backward pass needs: the input of every linear layer
    followed, per activation, by its pre-activation z and output a."""
    w, b, act = net.weights, net.biases, net.act
    tape: list[np.ndarray] = [x]
    z = x @ w[0].T + b[0]
    h = _act(act, z)
    tape += [z, h]
    depth = (len(w) - 2) // 2
    for k in range(depth):
        w1, b1, w2, b2 = w[1 + 2 * k], b[1 + 2 * k], w[2 + 2 * k], b[2 + 2 * k]
        z1 = h @ w1.T + b1
        a1 = _act(act, z1)
        z2 = a1 @ w2.T + b2
        if net.kind == "residual":
            z2 = z2 + h
        h = _act(act, z2)
        tape += [z1, a1, z2, h]
    return h @ w[-1].T + b[-1], tape


def backward(
    net: _Net, tape: list[np.ndarray], dlogits: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """∂L/∂W and ∂L/∂b of every linear layer, from the logits' gradient back to the stem."""
    w, act = net.weights, net.act
    n = len(w)
    dws: list[np.ndarray] = [np.empty(0)] * n
    dbs: list[np.ndarray] = [np.empty(0)] * n
    depth = (n - 2) // 2
    h = tape[-1]
    dws[-1], dbs[-1] = dlogits.T @ h, dlogits.sum(axis=0)
    dh = dlogits @ w[-1]
    for k in reversed(range(depth)):
        z1, a1, z2, h_out = tape[3 + 4 * k : 7 + 4 * k]
        h_in = tape[2 + 4 * k]
        dz2 = _act_backward(act, z2, h_out, dh)
        dws[2 + 2 * k], dbs[2 + 2 * k] = dz2.T @ a1, dz2.sum(axis=0)
        dz1 = _act_backward(act, z1, a1, dz2 @ w[2 + 2 * k])
        dws[1 + 2 * k], dbs[1 + 2 * k] = dz1.T @ h_in, dz1.sum(axis=0)
        dh = dz1 @ w[1 + 2 * k]
        if net.kind == "residual":
            dh = dh + dz2  # the skip path: the addition passes dz2 on unchanged
    dz0 = _act_backward(act, tape[1], tape[2], dh)
    dws[0], dbs[0] = dz0.T @ tape[0], dz0.sum(axis=0)
    return dws, dbs


def layer_gradient_norms(net: _Net, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(2·depth + 2,) ‖∂L/∂W‖ of every linear layer, stem first, on the data set (x, y): the
    gradient-flow view of one of the experiment's networks."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        logits, tape = forward(net, x)
        _, dlogits = cross_entropy(logits, y)
        dws, _ = backward(net, tape, dlogits)
    return np.array([float(l2norm(d)) for d in dws])


def _measure(net: _Net, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(error, loss, ‖∂L/∂W_stem‖, ‖∂L/∂W_head‖) on a whole data set."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        logits, tape = forward(net, x)
        if not np.all(np.isfinite(logits)):
            return 1.0, float("inf"), float("nan"), float("nan")
        loss, dlogits = cross_entropy(logits, y)
        dws, _ = backward(net, tape, dlogits)
    error = float(np.mean(np.argmax(logits, axis=1) != y))
    return error, loss, float(l2norm(dws[0])), float(l2norm(dws[-1]))


def train(
    net: _Net,
    data: DigitData,
    config: DepthConfig,
    on_iteration: Callable[[int], None] | None = None,
) -> DepthRun:
    """SGD with momentum on mini-batches drawn by the config's seed; measured every
    ``eval_every`` iterations on the whole training set, after which ``on_iteration(n)`` is
    told the n iterations done since the last measurement. A network whose loss stops being
    finite stops there, and its remaining iterations are reported at once."""
    x, y = data.x_train, data.y_train
    rng = np.random.default_rng(config.seed + 1)
    vw = [np.zeros_like(a) for a in net.weights]
    vb = [np.zeros_like(a) for a in net.biases]
    its: list[int] = []
    rows: list[tuple[float, float, float, float]] = []
    order = rng.permutation(len(y))
    pos = 0
    diverged = False
    for it in range(config.iterations + 1):
        if it % config.eval_every == 0 or it == config.iterations:
            its.append(it)
            rows.append(_measure(net, x, y))
            diverged = not np.isfinite(rows[-1][1])
            if on_iteration is not None and it > 0:
                on_iteration(its[-1] - its[-2])
        if it == config.iterations or diverged:
            break
        if pos + config.batch_size > len(y):
            order, pos = rng.permutation(len(y)), 0
        idx = order[pos : pos + config.batch_size]
        pos += config.batch_size
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits, tape = forward(net, x[idx])
            _, dlogits = cross_entropy(logits, y[idx])
            dws, dbs = backward(net, tape, dlogits)
            for k in range(len(net.weights)):
                vw[k] = config.momentum * vw[k] - config.learning_rate * dws[k]
                vb[k] = config.momentum * vb[k] - config.learning_rate * dbs[k]
                net.weights[k] += vw[k]
                net.biases[k] += vb[k]
    if diverged and on_iteration is not None:
        on_iteration(config.iterations - its[-1])  # the bar still reaches its end
    test_error = None
    if data.x_test is not None and data.y_test is not None and len(data.y_test):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits, _ = forward(net, data.x_test)
        test_error = float(np.mean(np.argmax(logits, axis=1) != data.y_test))
    table = np.array(rows)
    depth = (len(net.weights) - 2) // 2
    return DepthRun(
        kind=net.kind,
        depth=depth,
        layers=len(net.weights),
        params=sum(w.size + b.size for w, b in zip(net.weights, net.biases, strict=True)),
        iterations=np.array(its),
        train_error=table[:, 0],
        train_loss=table[:, 1],
        first_grad=table[:, 2],
        last_grad=table[:, 3],
        test_error=test_error,
    )


def run_depth_experiment(
    data: DigitData,
    config: DepthConfig | None = None,
    progress: Progress | None = None,
    on_run: Callable[[DepthRun], None] | None = None,
) -> list[DepthRun]:
    """Train a plain and a residual network at each depth of the config, in that order.

    ``progress(done, total)`` is called at every measurement (each ``eval_every``
    iterations), ``total`` being ``2 · len(depths) · iterations``: a worker thread can hand it
    to a progress bar without flooding the screen. ``on_run(run)`` receives each network's
    ``DepthRun`` as soon as it is trained, so its curve can be drawn while the next trains.
    """
    config = config or DepthConfig()
    if data.x_train.ndim != 2 or len(data.x_train) != len(data.y_train):
        raise SpecError(
            "data",
            f"images {data.x_train.shape} and labels {data.y_train.shape}: give (B, N) and (B,)",
        )
    total = 2 * len(config.depths) * config.iterations
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    runs = []
    for depth in config.depths:
        for kind in KINDS:
            net = make_network(
                kind,
                depth,
                config.width,
                config.activation,
                config.seed,
                n_in=data.x_train.shape[1],
            )
            runs.append(train(net, data, config, tick))
            if on_run is not None:
                on_run(runs[-1])
    return runs
