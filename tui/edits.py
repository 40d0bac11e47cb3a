"""What the player's value box reads: ``input[2, 3] = 7`` or a bare number, checked and turned
into (array name, index, value). No textual import: the rules are tested on their own."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from engine.errors import SpecError

MAX_TYPED = 1e9
"""Largest magnitude a typed number may have: every output stays readable on screen."""

_ASSIGNMENT = re.compile(r"^\s*(?:([A-Za-z_]+)\s*(?:\[([^\]]*)\])?\s*=)?\s*(.*?)\s*$")


@dataclass(frozen=True)
class Cell:
    """One number of one of a stage's arrays: ``array[index]``."""

    name: str
    """The array's name, as the stage gives it (``input``, ``kernel``, ``bias``)."""
    index: tuple[int, ...]
    """A full index into the array."""


def written(cell: Cell, shape: tuple[int, ...]) -> str:
    """``input[2, 3]``: the index from the first axis longer than 1 (a one-channel input is
    written by row and column), or the full index of a one-number array."""
    first = next((d for d, n in enumerate(shape) if n > 1), len(shape) - 1)
    shown = cell.index[max(first, 0) :]
    return f"{cell.name}[{', '.join(map(str, shown))}]" if shown else cell.name


def number(value: float) -> str:
    """A number as the box prefills it: short, and read back exactly as shown."""
    return f"{value:.10g}".replace("-", "−")


def parse(
    text: str,
    default: Cell,
    arrays: dict[str, np.ndarray],
    near: dict[str, Cell] | None = None,
) -> tuple[Cell, float]:
    """The cell and the number ``text`` asks for: ``name[i, j] = v``, ``name = v`` (the
    default cell's index, for the default array) or a bare ``v`` (the default cell). Fewer
    indices than the array has axes fill the leading axes from ``near[name]`` (the cell of that
    array nearest the step on screen: its channel or filter), or the default cell, or zeros.
    SpecError under ``value`` for something that is not a finite number within ±MAX_TYPED,
    under the array's name for an unknown array or an index outside it."""
    example = f"{written(default, arrays[default.name].shape)} = 1.5"
    match = _ASSIGNMENT.match(text.replace("−", "-"))
    assert match is not None  # the pattern matches every string
    name, given, value_text = match.groups()
    cell = default
    if name is not None:
        if name not in arrays:
            raise SpecError(
                "value", f"no array {name!r} here; valid: {', '.join(arrays)} (e.g. {example})"
            )
        shape = arrays[name].shape
        if given is None:
            if name != default.name:
                raise SpecError(name, f"say which number of {name}: e.g. {name}[{_zeros(shape)}]")
            cell = default
        else:
            lead = (near or {}).get(name, default)
            cell = Cell(name, _index(name, given, shape, lead))
    if not value_text:
        raise SpecError("value", f"type a number after '=', e.g. {example}")
    try:
        value = float(value_text)
    except ValueError:
        raise SpecError("value", f"{value_text!r} is not a number; e.g. {example}") from None
    if not math.isfinite(value):
        raise SpecError("value", f"{value_text!r} is not a finite number; e.g. {example}")
    if abs(value) > MAX_TYPED:
        raise SpecError(
            "value", f"{value_text} is out of range: a typed number lies within ±{MAX_TYPED:.0e}"
        )
    return cell, value


def _zeros(shape: tuple[int, ...]) -> str:
    return ", ".join("0" for _ in shape)


def _index(name: str, given: str, shape: tuple[int, ...], default: Cell) -> tuple[int, ...]:
    """The full index ``given`` ("2, 3") names in an array of ``shape``."""
    parts = [p.strip() for p in given.split(",")] if given.strip() else []
    axes = "×".join(map(str, shape))
    if len(parts) > len(shape):
        raise SpecError(name, f"{name} is {axes}: at most {len(shape)} indices, got {given!r}")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise SpecError(name, f"indices are whole numbers, got [{given}]") from None
    lead = default.index[: len(shape) - len(numbers)] if default.name == name else ()
    if len(lead) + len(numbers) < len(shape):
        lead = (0,) * (len(shape) - len(numbers))
    index = (*lead, *numbers)
    for axis, (i, n) in enumerate(zip(index, shape, strict=True)):
        if not 0 <= i < n:
            raise SpecError(
                name,
                f"index {i} on axis {axis} is out of range: {name} is {axes}, "
                f"so it lies in 0…{n - 1}",
            )
    return index
