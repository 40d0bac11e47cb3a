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


def near_cells(step: object, arrays: dict[str, np.ndarray]) -> dict[str, Cell]:
    """For each array ``v`` may change, the cell nearest the step on screen, the one offered
    first: the input cell a window reads first (its winner, for max pooling), inside the
    input; the element an activation step reads; the largest number of x⟨t⟩ a recurrent step
    reads (a one-hot vector's 1); the first weight of a conv step's filter and its bias; else
    the array's first number. A shorter index typed for an array takes its leading axes
    (channel, filter) from here."""
    channel = int(getattr(step, "channel", 0))
    f = int(getattr(step, "filter", 0))
    position = getattr(step, "position", None)
    t = getattr(step, "t", None)
    near: dict[str, Cell] = {}
    for name, array in arrays.items():
        shape = array.shape
        index: tuple[int, ...]
        if name == "input" and isinstance(position, tuple) and len(position) == len(shape):
            index = tuple(int(p) for p in position)
        elif name == "input" and isinstance(t, int) and len(shape) == 2 and 1 <= t <= shape[0]:
            row = np.abs(array[t - 1])
            index = (t - 1, int(np.argmax(row)))
        elif name == "input" and len(shape) == 3:
            c, h, w = shape
            top, left = int(getattr(step, "top", 0)), int(getattr(step, "left", 0))
            win = getattr(step, "argmax", None)
            if win is not None:
                top, left = top + win[0], left + win[1]
            index = (min(channel, c - 1), min(max(top, 0), h - 1), min(max(left, 0), w - 1))
        elif name in ("kernel", "bias"):
            index = (min(f, shape[0] - 1), *(0 for _ in shape[1:]))
        else:
            index = tuple(0 for _ in shape)
        near[name] = Cell(name, index)
    return near


def as_saved(title: str, description: str, changes: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The scenario's title and description as the player shows them once something was
    changed here: ``changes`` maps what was changed (``stride``, ``conv1 padding``,
    ``input[2, 3]``) to (what it is now, what the file says), e.g. ("stride 3", "stride 2").
    The file's words describe the file, so the description opens with a line saying what it
    was written for and what differs ("Written for the file as saved: stride 2. Changed here:
    stride 3."), and a title, which may state sizes that a stride or padding changes, is
    marked "(as saved)" after such a change. Nothing changed: both as the file has them."""
    if not changes:
        return title, description
    saved = ", ".join(file for _, file in changes.values())
    now = ", ".join(now for now, _ in changes.values())
    note = f"Written for the file as saved: {saved}. Changed here: {now}."
    resized = any(key.split()[-1] in ("stride", "padding") for key in changes)
    if resized and title:
        title = f"{title} (as saved)"
    return title, f"{note}\n\n{description}" if description.strip() else note
