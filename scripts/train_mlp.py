"""Train the two MLPs shipped as ``scenarios/data/mlp_digits.npz`` and
``scenarios/data/mlp_linear_digits.npz`` (each with a ``.json`` beside it).

Both are 64 → 32 → 10 with PyTorch's module names (those of ``engine.architectures``' ``mlp``,
``sizes = [64, 32, 10]``, so the ``state_dict`` loads unchanged)::

    mlp_digits:         flatten (64) → fc1 32 → ReLU → fc2 10     2,410 parameters
    mlp_linear_digits:  flatten (64) → fc1 32 →        fc2 10     (activation = "none")

They are trained the same way — same seed, so the same initial weights and the same order of
minibatches — on the training split of ``scenarios/data/digits.npz`` (images 300–1796), each
8×8 digit read row by row and divided by 16 (``engine.digits.mlp_input``), with Adam on the
cross-entropy, and tested on the test split (images 0–299). The only difference is the ReLU.

The network without an activation is the collapse demonstration: fc2(fc1(x)) is one affine
layer, W = W2·W1 and b = W2·b1 + b2 (``engine.collapse``), so its 32 hidden units add nothing a
single 64 → 10 layer could not do. A network trained without the activation is shipped for it,
rather than the ReLU network's weights with the ReLU taken out: what is collapsed is then a
network that was trained as it is shown and scores what its JSON records, and beside the ReLU
network, trained identically, it is a fair comparison of what the nonlinearity buys. (On these
8×8 digits that is little: a linear classifier already does well; see docs/networks.md.)

Run from the repository root (a few seconds on one core)::

    python scripts/train_mlp.py

Seeded, one thread, deterministic algorithms: a run with the same PyTorch build on the same
kind of CPU writes the same bytes.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_training import train_and_ship

from engine.digits import mlp_input

SEED = 0
SIZES = (64, 32, 10)
EPOCHS = 100
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
NETWORKS = {"mlp_digits": "relu", "mlp_linear_digits": "none"}
"""The file each network is shipped as, and its activation between fc1 and fc2."""


class Mlp(nn.Module):
    """64 → 32 → 10, with a ReLU between the two linear layers or nothing."""

    def __init__(self, activation: str) -> None:
        super().__init__()
        self.activation = activation
        self.fc1 = nn.Linear(SIZES[0], SIZES[1])
        self.fc2 = nn.Linear(SIZES[1], SIZES[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 64)
        a = self.fc1(x)  # (B, 32)
        if self.activation == "relu":
            a = torch.relu(a)
        return self.fc2(a)  # (B, 10)


def main() -> None:
    for name, activation in NETWORKS.items():
        print(f"{name}: activation {activation}")
        train_and_ship(
            name,
            functools.partial(Mlp, activation),
            mlp_input,
            description={
                "architecture": "mlp",
                "options": {"sizes": list(SIZES), "activation": activation},
                "input": "engine.digits.mlp_input: digit / 16, read row by row (64)",
            },
            epochs=EPOCHS,
            batch_size=BATCH_SIZE,
            learning_rate=LEARNING_RATE,
            seed=SEED,
        )


if __name__ == "__main__":
    main()
