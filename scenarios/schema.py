"""What the pydantic models of every scenario kind share: the fields every file has, and the
layout of a one-layer recurrent module's weights. Each kind's own model lives in its module in
``scenarios/kinds/``."""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

MAX_CHECKED_LIST = 16
"""Lists up to this long (pairs, shapes) are searched for quoted numbers here; longer ones are
inline arrays, which ``scenarios.values.to_array`` checks with the same rule."""


def leaf_types(annotation: Any) -> set[Any]:
    """Every type an annotation allows, unions and containers opened: ``list[int] | None`` gives
    {list, int, NoneType}."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return {annotation}
    out: set[Any] = set() if origin in (typing.Union, types.UnionType) else {origin}
    for arg in typing.get_args(annotation):
        out |= leaf_types(arg)
    return out


def number_literal(text: str) -> str | None:
    """How a number written as a string is written as a TOML number, or None if the string is
    not a number."""
    literal = text.strip()
    if not literal or literal.lower() in ("inf", "+inf", "-inf", "nan", "+nan", "-nan"):
        return None
    try:
        float(literal)
    except ValueError:
        return None
    return literal


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted_number(name: str, value: Any) -> str | None:
    """The message for a number written as a string (``"1"`` or ``["1", 2]``) in field ``name``,
    or None when ``value`` holds no such string."""
    if isinstance(value, str):
        literal = number_literal(value)
        if literal is None:
            return None
        text, literal = _cut(value), _cut(literal)
        return f'expected a number, got the string "{text}" (write {name} = {literal})'
    if isinstance(value, list) and len(value) <= MAX_CHECKED_LIST:
        found = [
            i for i, v in enumerate(value) if isinstance(v, str) and number_literal(v) is not None
        ]
        if not found:
            return None
        if all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in value):
            written = ", ".join(
                number_literal(v) or repr(v) if isinstance(v, str) else repr(v) for v in value
            )
            how = f" (write {name} = [{written}])"
        else:
            how = ""
        text = _cut(value[found[0]])
        return f'expected numbers, got the string "{text}" at [{found[0]}]{_cut(how, 80)}'
    return None


class FileModel(BaseModel):
    """Base of every table a scenario file holds. Unknown keys are refused, and one rule holds
    for every number: it is written as a TOML number. A string such as ``"1"`` is refused where
    a number goes, saying how to write it; ``true`` is not a number; an integer field refuses
    ``2.0``. Fields typed ``Any`` (value specs, strides, padding) follow the same rule, except
    those listed in ``text_values``, where a string is a name (a kernel preset)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text_values: ClassVar[frozenset[str]] = frozenset()
    """Fields typed ``Any`` whose strings are names, never numbers."""

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        if name is None or not isinstance(value, (str, list)) or not _takes_numbers(cls, name):
            return value
        message = quoted_number(name, value)
        if message is not None:
            raise ValueError(message)
        return value


@functools.cache
def _takes_numbers(cls: type[FileModel], name: str) -> bool:
    """Whether field ``name`` of ``cls`` may hold a number (so a quoted number is a mistake)."""
    if name in cls.text_values:
        return False
    allowed = _value_types(cls.model_fields[name].annotation)
    return Any in allowed or bool(allowed & {int, float})


def _value_types(annotation: Any) -> set[Any]:
    """The types a field's value, or an entry of a list it holds, may have: like ``leaf_types``
    but a table's (dict's) values are not opened, since they are checked where they are used."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        return set().union(*(_value_types(arg) for arg in typing.get_args(annotation)))
    return {origin or annotation}


class ScenarioBase(FileModel):
    """Fields every scenario file has, whatever its kind."""

    kind: str
    """Which computation the file describes; picks the schema."""
    title: str = Field(min_length=1)
    """Shown in the browser and the player's header."""
    topic: str = "Convolution"
    """Curriculum heading the browser lists the scenario under."""
    description: str = ""
    """A few sentences on what the scenario teaches."""
    order: int = 100
    """Position inside its topic in the browser (smaller first)."""


class OneLayerWeights(FileModel):
    """Weights of a one-layer recurrent module: ``weight_ih_l0`` and the other names PyTorch's
    ``named_parameters`` gives a one-layer ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` are read as
    ``weight_ih`` and so on, so a state dict's keys can be pasted as they are."""

    @model_validator(mode="before")
    @classmethod
    def _drop_layer_suffix(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in data:
            base = key.removesuffix("_l0") if isinstance(key, str) else key
            if base != key and base in cls.model_fields:
                if base in data:
                    raise ValueError(f"{key} and {base} are the same weights: give one of them")
                out[base] = out.pop(key)
        return out
