"""The shipped 8×8 digits as network inputs: 1×32×32 for LeNet-5, 64 numbers for the MLP.

The training scripts (``scripts/train_lenet5.py``, ``scripts/train_mlp.py``) and netsim at run
time call these same two functions, so a digit on screen is exactly what the weights were
trained on.

Each pixel of an 8×8 digit counts the inked pixels of one 4×4 block of the 32×32 bitmap the
digit was scanned to, so it is a whole number from 0 to 16. Both inputs divide by 16, giving
the fraction of ink in [0, 1]. LeNet-5 wants 32×32: ``lenet5_input`` repeats every pixel over
a 4×4 block (nearest-neighbour ×4), which puts each ink fraction back over the block of the
original bitmap it was counted from, and invents nothing between blocks. The MLP reads the 64
pixels row by row.
"""

from __future__ import annotations

import numpy as np

from engine.errors import SpecError

DIGIT_SIDE = 8
"""Side of a shipped digit."""
DIGIT_MAX = 16
"""The largest pixel value: a 4×4 block of the scanned bitmap fully inked."""
SCALE = 4
"""LeNet-5's side (32) over the digit's (8): each pixel becomes a SCALE × SCALE block."""
LENET5_SIDE = DIGIT_SIDE * SCALE
"""Side of LeNet-5's input."""


def _check(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.shape != (DIGIT_SIDE, DIGIT_SIDE):
        raise SpecError(
            "input", f"a digit is {DIGIT_SIDE}×{DIGIT_SIDE}, got an array of shape {image.shape}"
        )
    return image


def lenet5_input(image: np.ndarray) -> np.ndarray:
    """An 8×8 digit (values 0–16) as LeNet-5's float64 (1, 32, 32) input in [0, 1]: divided
    by 16, then every pixel repeated over a 4×4 block (nearest-neighbour upscaling ×4)."""
    x = _check(image) / DIGIT_MAX  # (8, 8)
    x = np.repeat(np.repeat(x, SCALE, axis=0), SCALE, axis=1)  # (32, 32)
    return x[None]  # (1, 32, 32)


def mlp_input(image: np.ndarray) -> np.ndarray:
    """An 8×8 digit (values 0–16) as the MLP's float64 (64,) input in [0, 1]: divided by 16 and
    read row by row."""
    return (_check(image) / DIGIT_MAX).reshape(DIGIT_SIDE * DIGIT_SIDE)
