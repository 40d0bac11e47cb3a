"""The small data sets shipped beside the scenarios: real handwritten digits and drawn images.

Each data set is one ``.npz`` file in ``scenarios/data/``, made by ``scripts/make_data.py``,
read on first use with ``allow_pickle=False`` and kept in memory (they are a few kilobytes).
A scenario names one image with ``{ data = "digits", index = 7 }`` or
``{ data = "images", name = "circle" }``; the arrays handed out are float64 copies.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

DATA_DIR = Path(__file__).parent / "data"
"""Where the ``.npz`` files live (package data)."""


class DataError(ValueError):
    """A data set, index or image name that does not exist; the message says what would."""


@dataclass(frozen=True)
class DataSet:
    """One shipped data set: its images are chosen either by ``index`` or by ``name``."""

    name: str
    chosen_by: Literal["index", "name"]
    """``"index"`` (a numbered collection) or ``"name"`` (one array per name)."""
    description: str


DATASETS: dict[str, DataSet] = {
    "digits": DataSet(
        "digits",
        "index",
        "1797 handwritten digits, 8×8, whole numbers 0–16, from the UCI optical digits "
        "(Alpaydin & Kaynak 1998) as distributed by scikit-learn; 0–299 are the test split "
        "of the shipped networks, 300–1796 the training split",
    ),
    "images": DataSet(
        "images",
        "name",
        "drawn 24×24 grayscale images, 0 (dark) and 1 (bright), for edge detectors",
    ),
}
"""Every shipped data set, by the name a scenario gives in ``data = "..."``."""


def dataset(name: str) -> DataSet:
    """The data set called ``name``, or a DataError suggesting the closest one."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; {_hint(name, DATASETS)}")
    return DATASETS[name]


@functools.cache
def _arrays(name: str) -> dict[str, np.ndarray]:
    """Every array of ``data/NAME.npz``, read once; read-only, since they are shared."""
    path = DATA_DIR / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the data file {path}: {e}") from None
    for arr in arrays.values():
        arr.setflags(write=False)
    return arrays


def digit_count() -> int:
    """How many digits ``digits`` holds."""
    return len(_arrays("digits")["labels"])


def _check_index(index: int) -> None:
    n = digit_count()
    if index < 0:
        raise DataError(f"index must be ≥ 0, got {index}")
    if index >= n:
        raise DataError(f"index {index} is out of range: digits has {n} images, 0–{n - 1}")


def digit(index: int) -> np.ndarray:
    """Digit number ``index`` as float64 (8, 8), whole numbers 0 (blank) to 16 (ink)."""
    _check_index(index)
    return _arrays("digits")["images"][index].astype(np.float64)


def digit_label(index: int) -> int:
    """Which digit, 0–9, image ``index`` of ``digits`` shows."""
    _check_index(index)
    return int(_arrays("digits")["labels"][index])


def digit_shape() -> tuple[int, int]:
    """(H, W) of every digit."""
    _, h, w = _arrays("digits")["images"].shape
    return (h, w)


def image_names() -> list[str]:
    """The names in ``images``, in the order they were drawn."""
    return list(_arrays("images"))


def _check_name(name: str) -> None:
    if name not in _arrays("images"):
        raise DataError(f"unknown image {name!r}; {_hint(name, image_names())}")


def image(name: str) -> np.ndarray:
    """The drawn image ``name`` as float64 (H, W), 0 (dark) to 1 (bright)."""
    _check_name(name)
    return _arrays("images")[name].astype(np.float64)


def image_shape(name: str) -> tuple[int, ...]:
    """(H, W) of the drawn image ``name``."""
    _check_name(name)
    return tuple(_arrays("images")[name].shape)


def _hint(given: str, valid: Iterable[str]) -> str:
    names = list(valid)
    close = difflib.get_close_matches(given, names, n=1)
    did = f"did you mean {close[0]!r}? " if close else ""
    return f"{did}valid: {', '.join(names)}"
