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
    """‖a‖₂ over ``axis`` (all of ``a`` if None), finite whenever the norm is representable.

    The plain sqrt(Σ a²) is kept where it is finite and not lost to underflow, so results are
    the same numbers ``np.linalg.norm`` gives; elsewhere each slice is divided by its largest
    |entry| before squaring (‖[1e200, 1e200]‖ = 1.41e200, where the plain form gives inf).
    """
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        plain = np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
        m = np.max(np.abs(a), axis=axis, keepdims=True, initial=0.0)
        bad = ~np.isfinite(plain) | ((plain == 0) & (m > 0))
        if bad.any():
            safe = np.where(m > 0, m, 1.0)
            scaled = np.sqrt(np.sum((a / safe) ** 2, axis=axis, keepdims=True)) * safe
            plain = np.where(bad, scaled, plain)
    return plain.reshape(()) if axis is None else np.squeeze(plain, axis=axis)
