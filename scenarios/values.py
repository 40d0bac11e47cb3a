"""How a scenario gives numbers: inline arrays, named presets, seeded random generators and
images from the shipped data sets."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from engine.limits import MAX_BYTES
from scenarios import datasets as data
from scenarios.schema import FileModel
from scenarios.schema import number_literal as _number_literal


class RandomSpec(FileModel):
    """``{ random = [3, 6, 6], seed = 0 }``: seeded values of the given shape.

    Integers from ``low`` to ``high`` inclusive by default, so that a person can check the
    arithmetic by hand; ``integer = false`` draws uniform floats in [low, high) instead.
    """

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
        if len(shape) > MAX_DIMENSIONS:
            raise ValueError(f"at most {MAX_DIMENSIONS} dimensions, got {len(shape)}")
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


class DataSpec(FileModel):
    """``{ data = "digits", index = 7 }`` or ``{ data = "images", name = "circle" }``: one image
    of a data set shipped with netsim (see ``scenarios.datasets``).

    Digits are chosen by ``index``, drawn images by ``name``. Each problem is reported once,
    under the key it concerns: a wrong index under ``index``, a misspelt name under ``name``,
    the wrong one of the two under the one given, and neither under the one that is needed.
    """

    data: str = Field(strict=True)
    """The data set: ``"digits"`` or ``"images"``."""
    index: int | None = Field(None, strict=True)
    """Which digit, from 0 (``digits`` only)."""
    name: str | None = Field(None, strict=True)
    """Which drawn image (``images`` only)."""

    @model_validator(mode="before")
    @classmethod
    def _needed_key(cls, raw: Any) -> Any:
        # TOML has no null, so a None here can only be this placeholder: it makes the field
        # validator of the missing key run and report "missing" under that key. Not when the
        # other key or an unknown one (a typo such as `idx`) is given: that is the problem then.
        if isinstance(raw, dict) and set(raw) == {"data"} and raw["data"] in data.DATASETS:
            return {**raw, data.DATASETS[raw["data"]].chosen_by: None}
        return raw

    @field_validator("data")
    @classmethod
    def _data(cls, value: str) -> str:
        data.dataset(value)
        return value

    @field_validator("index")
    @classmethod
    def _index(cls, value: int | None, info: ValidationInfo) -> int | None:
        chosen_by = cls._chosen_by(info)
        if chosen_by == "name":
            names = ", ".join(data.image_names())
            raise ValueError(
                f"{info.data['data']} are chosen by name, not index; valid names: {names}"
            )
        if chosen_by == "index":
            if value is None:
                n = data.digit_count()
                raise ValueError(f"missing; {info.data['data']} needs index = 0…{n - 1}")
            data.digit_label(value)  # raises for an index out of range
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None, info: ValidationInfo) -> str | None:
        chosen_by = cls._chosen_by(info)
        if chosen_by == "index":
            n = data.digit_count()
            raise ValueError(
                f"{info.data['data']} are chosen by index, not name; give index = 0…{n - 1}"
            )
        if chosen_by == "name":
            if value is None:
                names = ", ".join(data.image_names())
                raise ValueError(f"missing; {info.data['data']} needs name = one of {names}")
            data.image_shape(value)  # raises for an unknown name
        return value

    @staticmethod
    def _chosen_by(info: ValidationInfo) -> str | None:
        """How the data set named in ``data`` is indexed; None when ``data`` was invalid
        (reported there already)."""
        name = info.data.get("data")
        return data.DATASETS[name].chosen_by if name in data.DATASETS else None

    def shape(self) -> tuple[int, ...]:
        """(H, W) of the image, known without copying it."""
        if self.index is not None:
            return data.digit_shape()
        assert self.name is not None
        return data.image_shape(self.name)

    def array(self) -> np.ndarray:
        """The image as float64 (H, W)."""
        if self.index is not None:
            return data.digit(self.index)
        assert self.name is not None
        return data.image(self.name)


MAX_INLINE_NUMBERS = 1_000_000
"""Most numbers one inline array may hold (a 1000×1000 image); larger inputs are given as a
random or data spec."""
MAX_DIMENSIONS = 8
"""Most dimensions an array may have; every kind uses at most four."""


def to_array(value: Any, what: str = "the array") -> np.ndarray:
    """A rectangular array of finite numbers from nested TOML lists, or a ValueError saying why.

    The nesting is checked level by level with C-speed built-ins (every row a list of the same
    length, every leaf an int or a float, never a bool or a string) and the count bounded by
    MAX_INLINE_NUMBERS before NumPy converts it; only a file that fails is walked entry by
    entry, to name the first bad entry.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected numbers, got {str(value).lower()}")
    if isinstance(value, str):
        literal = _number_literal(value)
        how = f" (write {literal} without quotes)" if literal is not None else ""
        raise ValueError(
            f'expected a number or nested lists of numbers, got the string "{_cut(value)}"{how}'
        )
    if not isinstance(value, (int, float, list)):
        raise ValueError(f"expected a number or nested lists of numbers, got {_cut(repr(value))}")
    if isinstance(value, list) and not _is_rectangular(value, what):
        _check_rectangular(value)  # raises, naming the first bad entry
        raise ValueError(f"{what} is not a rectangular array of numbers")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(
            f"{what} has a number too large for float64 (over about 1.8e308)"
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite: inf and nan are not allowed")
    return arr


def _is_rectangular(value: list[Any], what: str) -> bool:
    """Whether nested lists form a rectangular array of ints and floats; a ValueError when they
    hold more than MAX_INLINE_NUMBERS numbers or MAX_DIMENSIONS dimensions."""
    level: list[Any] = value
    shape = [len(value)]
    while True:
        kinds = set(map(type, level))
        if kinds == {list}:
            lengths = set(map(len, level))
            if len(lengths) != 1 or 0 in lengths:
                return False
            shape.append(lengths.pop())
            if len(shape) > MAX_DIMENSIONS:
                raise ValueError(
                    f"{what} has more than {MAX_DIMENSIONS} dimensions; the limit is "
                    f"{MAX_DIMENSIONS}"
                )
            count = math.prod(shape)
            if count > MAX_INLINE_NUMBERS:
                raise ValueError(
                    f"{what} has {count:,} numbers inline; the limit is {MAX_INLINE_NUMBERS:,} "
                    "(give a random spec or a data spec for larger arrays)"
                )
            level = list(itertools.chain.from_iterable(level))
            continue
        if len(level) > MAX_INLINE_NUMBERS:
            raise ValueError(
                f"{what} has {len(level):,} numbers inline; the limit is {MAX_INLINE_NUMBERS:,} "
                "(give a random spec or a data spec for larger arrays)"
            )
        return bool(level) and kinds <= {int, float}


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_rectangular(value: list[Any], path: str = "", depth: int = 0) -> tuple[int, ...]:
    """Shape of nested lists, or a ValueError naming the first ragged or non-numeric entry."""
    if not value:
        raise ValueError(f"empty list at {path or 'top level'}")
    if depth >= MAX_DIMENSIONS:
        raise ValueError(f"more than {MAX_DIMENSIONS} dimensions at {path}")
    shapes = set()
    first: tuple[int, ...] | None = None
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, list):
            shape = _check_rectangular(item, where, depth + 1)
            if first is not None and shape != first:
                # Name the row that differs from the first, and how.
                raise ValueError(
                    f"not rectangular: {where} is {_shape_words(shape)} where {path}[0] is "
                    f"{_shape_words(first)}"
                )
            shapes.add(shape)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            shape = ()
            shapes.add(())
        elif isinstance(item, bool):
            raise ValueError(f"entry {where} is {str(item).lower()}, expected a number")
        elif isinstance(item, str) and _number_literal(item) is not None:
            raise ValueError(
                f'entry {where} is the string "{item}", expected a number '
                f"(write {_number_literal(item)} without quotes)"
            )
        else:
            raise ValueError(f"entry {where} is {_cut(repr(item))}, expected a number")
        if len(shapes) > 1:
            assert first is not None
            raise ValueError(
                f"not rectangular: {where} is {_shape_words(shape)} where {path}[0] is "
                f"{_shape_words(first)}"
            )
        if first is None:
            first = shape
    return (len(value), *shapes.pop())


def _shape_words(shape: tuple[int, ...]) -> str:
    """``a number``, ``a row of 3 numbers`` or ``a 2×3 block``: what an entry is."""
    if not shape:
        return "a number"
    if len(shape) == 1:
        return f"a row of {shape[0]} number{'s' if shape[0] != 1 else ''}"
    return "a " + "×".join(str(n) for n in shape) + " block"
