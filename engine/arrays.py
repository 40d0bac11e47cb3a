"""Small array helpers the stage kinds share: read-only views, whole-number checks and
overflow-safe norms."""

from __future__ import annotations

from typing import Any

import numpy as np


def frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view: steps hand out slices, and they must not write through."""
    v = a.view()
    v.flags.writeable = False
    return v


def is_whole(value: Any) -> bool:
    """True for a Python or NumPy integer (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def l2norm(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """‖a‖₂ over ``axis`` (all of ``a`` if None) without overflow in the squares: each slice is
    divided by its largest |entry| before squaring, so the norm is finite whenever it is
    representable (‖[1e200, 1e200]‖ = 1.41e200, where ``np.linalg.norm`` gives inf)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return np.zeros(() if axis is None else np.delete(a.shape, axis))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        m = np.max(np.abs(a), axis=axis, keepdims=True)
        safe = np.where(m > 0, m, 1.0)
        s = np.sqrt(np.sum((a / safe) ** 2, axis=axis, keepdims=True)) * safe
    return s.reshape(()) if axis is None else np.squeeze(s, axis=axis)
