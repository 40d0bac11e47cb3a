"""How numbers are written on screen: short in grids, exact enough to check by hand elsewhere.

Every function here takes any float, including ``inf``, ``-inf`` and ``nan`` (written ``inf``,
``−inf`` and ``nan``), and never raises: the screen shows honestly what the engine computed.
"""

from __future__ import annotations

import math

BIG = 1e7
"""From this magnitude on, numbers that are not whole are written with an exponent in grids."""


def fmt_special(v: float) -> str | None:
    """``inf``, ``−inf`` or ``nan`` for a number that is not finite, None for one that is."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "−inf"
    return None


def fmt_num(v: float, digits: int = 3) -> str:
    """Compact form for grid cells: whole numbers without a point, others to ``digits`` places.

    ``-0`` is written ``0``; the minus sign is U+2212 so columns of signed numbers line up.
    """
    special = fmt_special(v)
    if special is not None:
        return special
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < BIG:
        text = str(int(v))
    else:
        a = abs(v)
        if a >= BIG:
            text = f"{v:.{max(digits - 1, 0)}e}"  # 1.00e+308, not a 309-digit cell
        elif a >= 10**digits:
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
    special = fmt_special(v)
    if special is not None:
        return special
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e12:
        return str(int(v)).replace("-", "−")
    return f"{v:.{digits}g}".replace("-", "−")


def fmt_factor(v: float, digits: int = 6) -> str:
    """A factor inside a product: negative numbers in parentheses, ``(−1)``."""
    text = fmt_exact(v, digits)
    return f"({text})" if text.startswith("−") else text


def clamp(x: float, lo: float, hi: float, nan: float) -> float:
    """``x`` limited to [lo, hi] (infinities go to the ends), or ``nan`` when x is nan: what
    drawing code rounds to a cell count must be finite."""
    if math.isnan(x):
        return nan
    return min(max(x, lo), hi)


def fraction(part: float, whole: float) -> float:
    """``part / whole`` clamped to [0, 1]; 0 for an empty whole or a nan (inf / inf, for a
    range such as −1e308 … 1e308 whose width overflows)."""
    if whole == 0:
        return 0.0
    return clamp(part / whole, 0.0, 1.0, nan=0.0)
