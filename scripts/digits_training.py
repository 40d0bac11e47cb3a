"""What ``train_lenet5.py`` and ``train_mlp.py`` share: the digits split, the training loop,
the float64 test, the two files each trained network is shipped as, and ``train_and_ship``, the
whole recipe from the seed to those files.

A network is shipped as ``NAME.npz`` (its ``state_dict``: float32 arrays under PyTorch's own
key names, nothing else, so it loads unchanged) and ``NAME.json`` beside it (how it was made
and what it scored). Both are written byte for byte the same on every run: the zip timestamps
are fixed and the JSON keys keep their order.

The recorded accuracies are those of the shipped float32 weights run in float64, so a NumPy
forward pass in float64 (``tests/test_trained.py``) counts exactly the same digits right.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import write_npz

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"


def load_split(
    to_input: Callable[[np.ndarray], np.ndarray],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``digits.npz``'s training and test splits as float32 tensors ``x_train, y_train,
    x_test, y_test``, every image made into a network input by ``to_input``."""
    with np.load(DATA / "digits.npz", allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
        train, test = npz["train_index"], npz["test_index"]

    def tensors(index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = np.stack([to_input(images[i]) for i in index]).astype(np.float32)
        y = labels[index].astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)

    return (*tensors(train), *tensors(test))


def seed_everything(seed: int) -> None:
    """One thread, deterministic kernels, torch's generator seeded: the same weights on every
    run with the same PyTorch build."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def train(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    """Adam on the mean cross-entropy, minibatches in an order drawn from a generator seeded
    with ``seed``, a new order every epoch."""
    order = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(n, generator=order).split(batch_size):
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"epoch {epoch + 1}: training loss {total / n:.4f}")


def state_dict(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The model's ``state_dict`` as float32 NumPy arrays, in PyTorch's order."""
    return {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def correct(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """How many of ``x`` a float64 copy of ``model`` classifies as ``y`` (highest score)."""
    double = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        return int((double(x.double()).argmax(dim=1) == y).sum())


def ship(name: str, model: torch.nn.Module, record: dict[str, Any]) -> None:
    """Write ``NAME.npz`` (the state_dict) and ``NAME.json`` (``record``) into
    ``scenarios/data/`` and print their sizes."""
    npz, sidecar = DATA / f"{name}.npz", DATA / f"{name}.json"
    write_npz(npz, state_dict(model))
    sidecar.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (npz, sidecar):
        print(f"{path}: {path.stat().st_size} bytes")


def split_record(y_train: torch.Tensor, y_test: torch.Tensor) -> dict[str, Any]:
    """The split as the JSON records it."""
    return {
        "data": "digits.npz",
        "train": f"train_index: {len(y_train)} digits, 300–1796",
        "test": f"test_index: {len(y_test)} digits, 0–299",
        "train_count": len(y_train),
        "test_count": len(y_test),
    }


def accuracy_record(
    model: torch.nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
) -> dict[str, Any]:
    """Correct counts and accuracies on both splits, of the float32 weights (exactly what
    ``state_dict`` ships) run in float64."""
    train_ok = correct(model, x_train, y_train)
    test_ok = correct(model, x_test, y_test)
    print(f"train {train_ok}/{len(y_train)}, test {test_ok}/{len(y_test)}")
    return {
        "train_correct": train_ok,
        "train_accuracy": round(train_ok / len(y_train), 4),
        "test_correct": test_ok,
        "test_accuracy": round(test_ok / len(y_test), 4),
    }


def train_and_ship(
    name: str,
    model: Callable[[], torch.nn.Module],
    to_input: Callable[[np.ndarray], np.ndarray],
    *,
    description: dict[str, Any],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    """The whole recipe of a shipped network: seed everything, read the split through
    ``to_input``, build the network (``model()``, after seeding, so its initial weights are
    drawn from ``seed``), train it and ship it as ``NAME.npz`` and ``NAME.json``.

    ``description`` opens the JSON record (``architecture``, ``options``, ``input``); the split,
    the recipe and the accuracies follow it, in that order."""
    seed_everything(seed)
    x_train, y_train, x_test, y_test = load_split(to_input)
    network = model()
    train(
        network,
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
    )
    record = {
        **description,
        **split_record(y_train, y_test),
        "optimizer": "Adam",
        "loss": "cross-entropy",
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "torch": torch.__version__,
        **accuracy_record(network, x_train, y_train, x_test, y_test),
    }
    ship(name, network, record)
