"""What every scenario-kind builder shares: the problem collector, the build context, and the
resolution of value specs (inline numbers, presets, random and data specs) into arrays."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from engine.errors import SpecError
from engine.kernels import KERNELS
from engine.limits import Budget
from scenarios.errors import field_path
from scenarios.schema import leaf_types
from scenarios.values import DataSpec, RandomSpec, to_array

MAX_MESSAGE = 400
"""Longest message filed; longer ones (quoting a huge value) are cut."""


class Problems:
    """Collects (field, message) pairs while a scenario is checked; ``scoped`` files them under a
    prefix such as ``stages[2]``."""

    def __init__(self, prefix: str = "", items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = [] if items is None else items
        self.prefix = prefix

    def add(self, field: str, message: str) -> None:
        if len(message) > MAX_MESSAGE:  # a message quoting megabytes of a file
            message = message[: MAX_MESSAGE - 1] + "…"
        self.items.append((f"{self.prefix}.{field}" if self.prefix else field, message))

    def spec_error(self, e: SpecError, where: str = "") -> None:
        """File an engine's SpecError under its field, with ``where`` appended to the message."""
        self.add(e.field, f"{e.message}{where}")

    def scoped(self, prefix: str) -> Problems:
        """A view that files every problem under ``prefix`` (inside this view's own prefix)."""
        return Problems(f"{self.prefix}.{prefix}" if self.prefix else prefix, self.items)


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
            (problems or self.problems).spec_error(e)
            return False
        return True

    @property
    def base(self) -> Path:
        """The scenario file's folder."""
        return self.path.parent


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: TOML's ``true``/``false``, and cut to ``limit``
    characters, since a file may hold megabytes where a word was expected."""
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pydantic_problems(
    err: ValidationError,
    prefix: tuple[str | int, ...] = (),
    model: type[BaseModel] | None = None,
) -> list[tuple[str, str]]:
    """One (field, message) pair per error pydantic found. An unknown key gets a "did you mean"
    from the keys valid at its place in ``model`` (the model ``err`` came from; found by name
    when not given), or else is said to belong to another kind, op or table.
    """
    model = model or _model_named(err.title)
    out = []
    for e in err.errors():
        loc = (*prefix, *e["loc"])
        if e["type"] == "extra_forbidden":
            out.append((field_path(loc), unknown_key(str(e["loc"][-1]), model, e["loc"][:-1])))
            continue
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        if e["type"] == "missing":
            msg = "missing (this field is required)"
        elif e["type"] in ("int_type", "int_from_float") and isinstance(got, float):
            whole = got.is_integer() and abs(got) < 2**53  # beyond, digits are not what was meant
            how = f"; write {loc[-1]} = {int(got)}" if whole else ""
            msg = f"{msg} (got {got!r}{how})"
        elif e["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg} (got {shown(got)})"
        out.append((field_path(loc), msg[:MAX_MESSAGE]))
    return out


def unknown_key(key: str, model: type[BaseModel] | None, loc: tuple[Any, ...] = ()) -> str:
    """The message for ``key``, unknown at ``loc`` inside ``model``: a close key valid there,
    or the kinds, ops and tables the key (or a close one) belongs to, and the keys valid here."""
    from scenarios.registry import all_field_names

    place = None if model is None else model_at(model, loc)
    if place is None:  # where the key was is not known: suggest from every model
        close = difflib.get_close_matches(key, sorted(all_field_names() - {key}), n=1)
        return f"unknown key '{key}'" + (f"; did you mean '{close[0]}'?" if close else "")
    valid = list(place.model_fields)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    suggestion = f"did you mean '{close[0]}'?" if close else f"valid keys here: {', '.join(valid)}"
    owners = _key_owners()
    here = describe(place)
    if key in owners:
        places = _listed(list(dict.fromkeys(owners[key])))
        return f"unknown key '{key}': {key} is a field of {places}, not of {here}; {suggestion}"
    if close:
        return f"unknown key '{key}'; {suggestion}"
    near = difflib.get_close_matches(key, sorted(owners), n=1, cutoff=0.75)
    if near:
        where = f"a field of {_listed(list(dict.fromkeys(owners[near[0]])))}, not of {here}"
        return f"unknown key '{key}'; did you mean '{near[0]}'? ({where}); {suggestion}"
    return f"unknown key '{key}' for {here}; {suggestion}"


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the table at ``loc`` inside ``model`` (list indices skipped), or None when
    ``loc`` leads to a value that is not a table of known keys."""
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        nested = [
            t
            for t in leaf_types(info.annotation)
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if not nested:
            return None
        model = nested[0]
    return model


def describe(model: type[BaseModel]) -> str:
    """What a model is, for messages: "kind 'bptt'", "weights of kind 'recurrent'", "op 'conv'"."""
    places = _model_places().get(model)
    return _listed(places) if places else model.__name__


def _listed(places: list[str], most: int = 4) -> str:
    if len(places) > most:
        return ", ".join(places[:most]) + f" and {len(places) - most} more"
    if len(places) <= 1:
        return "".join(places)
    return ", ".join(places[:-1]) + " and " + places[-1]


def _model_places() -> dict[type[BaseModel], list[str]]:
    """Every model a scenario file's tables are validated against, with where it is used:
    "kind 'pool'", "weights of kind 'bptt'", "op 'maxpool'", "a random spec"."""
    from scenarios.registry import kinds, ops

    places: dict[type[BaseModel], list[str]] = {
        RandomSpec: ["a random spec { random = [...] }"],
        DataSpec: ["a data spec { data = ... }"],
    }
    for name, kind in kinds().items():
        places.setdefault(kind.model, []).append(f"kind '{name}'")
        for nested in kind.nested:
            fields = [
                key
                for key, info in kind.model.model_fields.items()
                if nested in leaf_types(info.annotation)
            ]
            for table in fields or ["a table"]:
                places.setdefault(nested, []).append(f"{table} of kind '{name}'")
    names: dict[type[BaseModel], list[str]] = {}
    for name, op in ops().items():
        names.setdefault(op.model, []).append(f"'{name}'")
    for model, same in names.items():  # ops sharing one model: op 'maxpool' / 'avgpool'
        places.setdefault(model, []).append(f"op {' / '.join(same)}")
    return places


def _key_owners() -> dict[str, list[str]]:
    """Every key of every model, with the places (as ``_model_places`` names them) it is valid."""
    owners: dict[str, list[str]] = {}
    for model, places in _model_places().items():
        for key in model.model_fields:
            owners.setdefault(key, []).extend(places)
    return owners


def _model_named(title: str) -> type[BaseModel] | None:
    """The model whose class is called ``title`` (a ValidationError's title), if known."""
    return next((m for m in _model_places() if m.__name__ == title), None)


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
                f"expected numbers, a random spec or a data spec, got the string {shown(spec)}",
            )
            return None
        if spec not in KERNELS:
            close = difflib.get_close_matches(spec, list(KERNELS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.add(field, f"unknown kernel {shown(spec)}; {hint}valid: {', '.join(KERNELS)}")
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
