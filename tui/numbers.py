"""How numbers are written on screen: short in grids, exact enough to check by hand elsewhere."""

from __future__ import annotations

import math


def fmt_num(v: float, digits: int = 3) -> str:
    """Compact form for grid cells: whole numbers without a point, others to ``digits`` places.

    ``-0`` is written ``0``; the minus sign is U+2212 so columns of signed numbers line up.
    """
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e7:
        text = str(int(v))
    else:
        a = abs(v)
        if a >= 10**digits:
            text = f"{v:.0f}"
        elif a >= 1:
            text = f"{v:.{digits}g}"
        elif a >= 10**-digits:
            text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
        else:
            text = f"{v:.0e}"
    return text.replace("-", "−")


def fmt_exact(v: float, digits: int = 6) -> str:
    """Up to ``digits`` significant digits (six by default), for the inspector's sums."""
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e12:
        return str(int(v)).replace("-", "−")
    return f"{v:.{digits}g}".replace("-", "−")


def fmt_factor(v: float, digits: int = 6) -> str:
    """A factor inside a product: negative numbers in parentheses, ``(−1)``."""
    text = fmt_exact(v, digits)
    return f"({text})" if text.startswith("−") else text
