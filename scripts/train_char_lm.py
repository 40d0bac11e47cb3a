"""Train the character-level language model shipped as ``scenarios/data/char_lm.npz``.

A one-layer tanh RNN (``torch.nn.RNN``, hidden size ``HIDDEN``) with a softmax output layer,
trained on ``scenarios/data/names.txt`` (made by ``scripts/make_names.py``) to predict each
next character of a name, then ``<EOS>``:

    x⟨1⟩ = 0,  x⟨t⟩ = one_hot(y⟨t−1⟩),  a⟨t⟩ = tanh(W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh),
    ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y),  loss = −Σ_t log ŷ⟨t⟩[y⟨t⟩]  (mean over characters)

The vocabulary is ``<EOS>`` at index 0, then a–z at 1–26 (V = 27); inputs are one-hot over the
same V. Arrays in the file (``allow_pickle=False``):

    weight_ih_l0 (H, V), weight_hh_l0 (H, H), bias_ih_l0 (H,), bias_hh_l0 (H,)  float32
    w_ya (V, H), b_y (V,)                                                           float32
    alphabet uint8 (26,): the code points of the characters at indices 1–26

Run from the repository root (about ten seconds on a CPU)::

    python scripts/train_char_lm.py

Seeded (``torch.manual_seed(SEED)``, one thread), so a run on the same PyTorch build gives the
same weights; the zip timestamps are fixed, so the bytes repeat too.
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_data import write_npz
from rnn_lm import encode, train, weight_arrays

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"
SEED = 0
HIDDEN = 48
"""H: hidden units; small enough to ship, large enough to learn the syllables."""
EPOCHS = 60
BATCH = 100
LEARNING_RATE = 0.01
ALPHABET = string.ascii_lowercase
"""The characters at indices 1–26; index 0 is <EOS>."""


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    words = (DATA / "names.txt").read_text(encoding="utf-8").split()
    x, y, mask = encode([[ALPHABET.index(ch) + 1 for ch in w] for w in words], len(ALPHABET) + 1, 0)
    rnn, head = train(
        x,
        y,
        mask,
        hidden=HIDDEN,
        epochs=EPOCHS,
        batch=BATCH,
        learning_rate=LEARNING_RATE,
        unit="character",
    )
    arrays = weight_arrays(rnn, head)
    arrays["alphabet"] = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8).copy()
    path = DATA / "char_lm.npz"
    write_npz(path, arrays)
    print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
