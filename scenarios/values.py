"""How a scenario gives numbers: inline arrays, named presets and seeded random generators."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.conv import MAX_BYTES


class RandomSpec(BaseModel):
    """``{ random = [3, 6, 6], seed = 0 }``: seeded values of the given shape.

    Integers from ``low`` to ``high`` inclusive by default, so that a person can check the
    arithmetic by hand; ``integer = false`` draws uniform floats in [low, high) instead.
    """

    model_config = ConfigDict(extra="forbid")

    random: list[int]
    """Shape of the array to generate."""
    seed: int = Field(0, ge=0)
    """Seed of NumPy's default generator: the same seed always gives the same numbers."""
    low: float = 0
    """Smallest value."""
    high: float = 9
    """Largest value (inclusive for integers)."""
    integer: bool = True
    """Whole numbers (default) or floats."""

    @field_validator("random")
    @classmethod
    def _shape(cls, shape: list[int]) -> list[int]:
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"every dimension must be ≥ 1, got {shape}")
        cells = math.prod(shape)
        if cells * 8 > MAX_BYTES:
            raise ValueError(f"shape {shape} needs {cells * 8 / 2**30:.1f} GiB; the limit is 1 GiB")
        return shape

    @model_validator(mode="after")
    def _range(self) -> RandomSpec:
        low, high = self.low, self.high
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise ValueError(f"need finite low ≤ high, got low={low}, high={high}")
        if not math.isfinite(high - low) or (self.integer and max(-low, high) > 2**53):
            raise ValueError(f"the range low={low} … high={high} is too wide")
        return self

    def generate(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.integer:
            lo, hi = math.ceil(self.low), math.floor(self.high)
            if hi < lo:
                raise ValueError(f"no whole number between low={self.low} and high={self.high}")
            return rng.integers(lo, hi, size=self.random, endpoint=True).astype(np.float64)
        return rng.uniform(self.low, self.high, size=self.random)


def to_array(value: Any, what: str = "value") -> np.ndarray:
    """A rectangular array of finite numbers from nested TOML lists, or a ValueError saying why."""
    if isinstance(value, bool):
        raise ValueError(f"expected numbers, got {value!r}")
    if isinstance(value, (int, float)):
        arr = np.array(value, dtype=np.float64)
    else:
        if not isinstance(value, list):
            raise ValueError(f"expected a number or nested lists of numbers, got {value!r}")
        _check_rectangular(value)
        arr = np.array(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite: inf and nan are not allowed")
    return arr


def _check_rectangular(value: list[Any], path: str = "") -> tuple[int, ...]:
    """Shape of nested lists, or a ValueError naming the first ragged or non-numeric entry."""
    if not value:
        raise ValueError(f"empty list at {path or 'top level'}")
    shapes = set()
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, list):
            shapes.add(_check_rectangular(item, where))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            shapes.add(())
        else:
            raise ValueError(f"entry {where} is {item!r}, expected a number")
    if len(shapes) > 1:
        raise ValueError(f"rows of different lengths under {path or 'top level'}: not rectangular")
    return (len(value), *shapes.pop())
