"""What every scenario-kind builder shares: the problem collector, the build context, and the
resolution of value specs (inline numbers, presets, random and data specs) into arrays."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from engine.errors import SpecError
from engine.kernels import KERNELS
from engine.limits import Budget
from scenarios.errors import field_path
from scenarios.values import DataSpec, RandomSpec, to_array


class Problems:
    """Collects (field, message) pairs while a scenario is checked; ``scoped`` files them under a
    prefix such as ``stages[2]``."""

    def __init__(self, prefix: str = "", items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = [] if items is None else items
        self.prefix = prefix

    def add(self, field: str, message: str) -> None:
        self.items.append((f"{self.prefix}.{field}" if self.prefix else field, message))

    def spec_error(self, e: SpecError, where: str = "") -> None:
        """File an engine's SpecError under its field, with ``where`` appended to the message."""
        self.add(e.field, f"{e.message}{where}")

    def scoped(self, prefix: str) -> Problems:
        """A view that files every problem under ``prefix`` (inside this view's own prefix)."""
        return Problems(f"{self.prefix}.{prefix}" if self.prefix else prefix, self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class BuildContext:
    """What a builder may use besides its validated model."""

    path: Path
    """The scenario file; data files it names are looked up beside it."""
    problems: Problems = field(default_factory=Problems)
    """Where every problem is filed."""
    progress: Callable[[int, int], None] | None = None
    """Called as ``progress(done, total)`` by stages that train while they are built."""
    budget: Budget = field(default_factory=Budget)
    """The memory the whole scenario may use; each builder charges its stages' peak, estimated
    from shapes, before it generates or allocates anything."""

    def charge(self, nbytes: int, field: str, what: str, problems: Problems | None = None) -> bool:
        """Charge ``nbytes`` to the budget; False after filing the problem if they do not fit."""
        try:
            self.budget.charge(nbytes, field, what)
        except SpecError as e:
            (problems if problems is not None else self.problems).spec_error(e)
            return False
        return True

    @property
    def base(self) -> Path:
        """The scenario file's folder."""
        return self.path.parent


def pydantic_problems(
    err: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[tuple[str, str]]:
    """One (field, message) pair per error pydantic found, unknown keys with a "did you mean"."""
    from scenarios.registry import all_field_names

    out = []
    names = sorted(all_field_names())
    for e in err.errors():
        loc = (*prefix, *e["loc"])
        if e["type"] == "extra_forbidden":
            key = str(loc[-1])
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.append((field_path(loc), f"unknown key '{key}'{hint}"))
            continue
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "missing (this field is required)"
        elif e["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg} (got {e['input']!r})"
        out.append((field_path(loc), msg))
    return out


def value_shape(spec: Any, field: str, problems: Problems) -> tuple[int, ...] | None:
    """Shape of a value spec without generating it (random specs may be large)."""
    if isinstance(spec, dict):
        try:
            if "data" in spec:
                return DataSpec.model_validate(spec).shape()
            return tuple(RandomSpec.model_validate(spec).random)
        except ValidationError as e:
            for f, m in pydantic_problems(e, (field,)):
                problems.add(f, m)
            return None
    try:
        return to_array(spec).shape
    except ValueError as e:
        problems.add(field, str(e))
        return None


def value(spec: Any, field: str, problems: Problems, *, presets: bool = False) -> np.ndarray | None:
    """The array a value spec stands for: preset name, random spec, data spec, or inline
    numbers."""
    if isinstance(spec, str):
        if not presets:
            problems.add(
                field,
                f"expected numbers, a random spec or a data spec, got the string {spec!r}",
            )
            return None
        if spec not in KERNELS:
            close = difflib.get_close_matches(spec, list(KERNELS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.add(field, f"unknown kernel {spec!r}; {hint}valid: {', '.join(KERNELS)}")
            return None
        return KERNELS[spec].array()
    if isinstance(spec, dict):
        try:
            if "data" in spec:
                return DataSpec.model_validate(spec).array()
            return RandomSpec.model_validate(spec).generate()
        except ValidationError as e:
            for f, m in pydantic_problems(e, (field,)):
                problems.add(f, m)
            return None
        except ValueError as e:
            problems.add(field, str(e))
            return None
    try:
        return to_array(spec)
    except ValueError as e:
        problems.add(field, str(e))
        return None


def is_number_array(value: list[Any]) -> bool:
    """True for nested lists of numbers (one inline array), False for a list of value specs."""
    first = value[0]
    while isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, (int, float)) and not isinstance(first, bool)


def input_shape(spec: Any, problems: Problems) -> tuple[int, int, int] | None:
    """(C, H, W) of an image ``input``, known without generating it; (H, W) reads as (1, H, W)."""
    shape = value_shape(spec, "input", problems)
    if shape is not None and len(shape) not in (2, 3):
        problems.add(
            "input", f"expected a 2-D (H, W) or 3-D (C, H, W) array, got shape {list(shape)}"
        )
        return None
    if shape is None:
        return None
    return (1, *shape) if len(shape) == 2 else shape  # type: ignore[return-value]


def sequence_shape(spec: Any, problems: Problems) -> tuple[int, int] | None:
    """(T, input_size) of a sequence ``input``, known without generating it."""
    shape = value_shape(spec, "input", problems)
    if shape is None:
        return None
    if len(shape) != 2:
        problems.add("input", f"expected a 2-D (T, input_size) array, got shape {list(shape)}")
        return None
    return shape[0], shape[1]


def given_shapes(
    given: dict[str, Any], problems: Problems, prefix: str = "weights"
) -> dict[str, tuple[int, ...]] | None:
    """The shape of every array given in a ``[weights]`` table (None values skipped), known
    without generating any; None after filing a problem."""
    shapes = {
        key: value_shape(spec, f"{prefix}.{key}", problems)
        for key, spec in given.items()
        if spec is not None
    }
    if any(s is None for s in shapes.values()):
        return None
    return shapes  # type: ignore[return-value]


def given_arrays(
    seeded: Mapping[str, np.ndarray | None],
    given: dict[str, Any],
    shapes: dict[str, tuple[int, ...]],
    problems: Problems,
    prefix: str = "weights",
) -> dict[str, np.ndarray | None]:
    """The seeded weights with every given one put in its place."""
    arrays = dict(seeded)
    for key in shapes:
        arrays[key] = value(given[key], f"{prefix}.{key}", problems)
    return arrays
