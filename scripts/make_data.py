"""Regenerate the data files shipped beside the scenarios: ``scenarios/data/*.npz``.

``digits.npz`` holds real handwritten digits: all 1797 images of

    Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits [Dataset].
    UCI Machine Learning Repository. https://doi.org/10.24432/C50P49 (licence CC BY 4.0)

as distributed by scikit-learn's ``sklearn.datasets.load_digits`` (the 8×8 test set of the UCI
data: 32×32 bitmaps of digits written by 43 people, counted in non-overlapping 4×4 blocks, so
every pixel is a whole number from 0 to 16), in scikit-learn's order. scikit-learn ships these
images inside its package, so nothing is downloaded. Arrays:

    images       uint8 (1797, 8, 8), values 0–16
    labels       uint8 (1797,), the digit each image shows, 0–9
    train_index  uint16 (1497,), the images the shipped networks were trained on: 300 … 1796
    test_index   uint16 (300,), the images they were tested on: 0 … 299

The first 300 images are the ones netsim shipped before it shipped all of them, in the same
order, so a scenario's ``index`` still names the same digit. They are the test split: every
digit a scenario showed before trained networks existed is one those networks never saw.

``images.npz`` holds grayscale images drawn here with NumPy, one array per name, each float64
(24, 24) with values 0 (dark) and 1 (bright), for edge detectors to find something in: a square,
a circle, vertical and horizontal stripes, a checkerboard and a diagonal edge.

Run from the repository root::

    python scripts/make_data.py

scikit-learn is needed only to run this script; netsim and its tests read the ``.npz`` files.
The output is byte-for-byte the same on every run (fixed zip timestamps), so regenerating
leaves the files unchanged unless the data changes.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "data"
N_DIGITS = 1797
"""How many of scikit-learn's 1797 digits to ship: all of them (48 kB compressed)."""
N_TEST = 300
"""The first ``N_TEST`` digits are the test split, the rest the training split."""
SIZE = 24
"""Side of the procedural images."""


def digits() -> dict[str, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit(
            "make_data.py: regenerating digits.npz needs scikit-learn: pip install scikit-learn"
        )
    bunch = load_digits()
    images = bunch.images[:N_DIGITS]  # (1797, 8, 8) float64 holding whole numbers 0–16
    labels = bunch.target[:N_DIGITS]  # (1797,)
    assert len(labels) == N_DIGITS, f"scikit-learn has {len(labels)} digits, not {N_DIGITS}"
    assert np.array_equal(images, np.round(images)) and images.min() >= 0 and images.max() <= 16
    return {
        "images": images.astype(np.uint8),
        "labels": labels.astype(np.uint8),
        "train_index": np.arange(N_TEST, N_DIGITS, dtype=np.uint16),
        "test_index": np.arange(N_TEST, dtype=np.uint16),
    }


def images(n: int = SIZE) -> dict[str, np.ndarray]:
    """Procedural (n, n) images, 0 = dark and 1 = bright; deterministic, no randomness."""
    y, x = np.mgrid[0:n, 0:n]  # (n, n) row and column of every pixel
    centre = (n - 1) / 2
    quarter = n // 4
    shapes = {
        # a bright square of side n/2 in the middle
        "square": (abs(y - centre) < n / 4) & (abs(x - centre) < n / 4),
        # a disc of radius n/3 around the centre, with hard (staircase) edges
        "circle": (y - centre) ** 2 + (x - centre) ** 2 <= (n / 3) ** 2,
        # bands n/8 wide: vertical stripes vary along a row, horizontal ones down a column
        "stripes_vertical": (x // (n // 8)) % 2 == 1,
        "stripes_horizontal": (y // (n // 8)) % 2 == 1,
        # 4×4 squares of n/4 pixels, dark in the top-left corner
        "checkerboard": ((y // quarter) + (x // quarter)) % 2 == 1,
        # bright below the main diagonal: an edge from the top-left to the bottom-right corner
        "diagonal": y > x,
    }
    return {name: mask.astype(np.float64) for name, mask in shapes.items()}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """What ``numpy.savez_compressed`` writes, with fixed timestamps so the bytes are
    reproducible; every array is plain numbers, readable with ``allow_pickle=False``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, arrays in [("images", images()), ("digits", digits())]:
        path = OUT / f"{name}.npz"
        write_npz(path, arrays)
        shapes = ", ".join(f"{k} {v.dtype} {list(v.shape)}" for k, v in arrays.items())
        print(f"{path}: {path.stat().st_size} bytes: {shapes}")


if __name__ == "__main__":
    main()
