"""Train the LeNet-5 shipped as ``scenarios/data/lenet5_digits.npz`` (+ ``.json``).

The common modern form of LeNet-5 on a 1×32×32 input, with PyTorch's module names (those of
``engine.architectures``' ``lenet5``, so the ``state_dict`` loads unchanged)::

    conv1 6@5×5 → ReLU → max pool 2 → conv2 16@5×5 → ReLU → max pool 2 → flatten (400)
    → fc1 120 → ReLU → fc2 84 → ReLU → fc3 10                          61,706 parameters

It is trained on the training split of ``scenarios/data/digits.npz`` (images 300–1796), each
8×8 digit made 32×32 by ``engine.digits.lenet5_input`` (divided by 16, every pixel repeated
over a 4×4 block), with Adam on the cross-entropy, and tested on the test split (images
0–299). ``lenet5_digits.npz`` holds the float32 ``state_dict`` (``conv1.weight`` …
``fc3.bias``), ``lenet5_digits.json`` the recipe, the split and the accuracies.

Run from the repository root (under a minute on one core)::

    python scripts/train_lenet5.py

Seeded, one thread, deterministic algorithms: a run with the same PyTorch build on the same
kind of CPU writes the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_training import train_and_ship

from engine.digits import lenet5_input

NAME = "lenet5_digits"
SEED = 0
EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 1e-3


class LeNet5(nn.Module):
    """LeNet-5, modern form: ReLU and max pooling, full connections between S2 and C3."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, 32, 32)
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)  # (B, 6, 14, 14)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)  # (B, 16, 5, 5)
        x = torch.flatten(x, 1)  # (B, 400)
        x = torch.relu(self.fc1(x))  # (B, 120)
        x = torch.relu(self.fc2(x))  # (B, 84)
        return self.fc3(x)  # (B, 10)


def main() -> None:
    train_and_ship(
        NAME,
        LeNet5,
        lenet5_input,
        description={
            "architecture": "lenet5",
            "options": {},
            "input": "engine.digits.lenet5_input: digit / 16, each pixel repeated over 4×4 "
            "(1×32×32)",
        },
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        seed=SEED,
    )


if __name__ == "__main__":
    main()
