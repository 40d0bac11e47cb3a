"""The scenario-kind and pipeline-op registries.

Each module in ``scenarios/kinds/`` declares the schema and the builder of one scenario kind
(and of the pipeline ops it provides) and registers them here when it is imported; the loader
only reads, validates and dispatches. A new kind is a new module in that folder: nothing else
lists the kinds.
Loading a file imports only the module of its kind (``kind()``); ``kinds()``, ``ops()`` and
``all_field_names()`` import them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    import numpy as np

    from engine.core import Stage
    from scenarios.build import BuildContext, Problems
    from scenarios.schema import ScenarioBase


Build = Callable[[Any, "BuildContext"], "list[Stage]"]
"""``build(model, context) -> stages``: an empty list after filing problems."""


@dataclass(frozen=True)
class Kind:
    """One scenario kind: ``kind = "NAME"`` in a file."""

    name: str
    model: type[ScenarioBase]
    """The pydantic model the file is validated against."""
    build: Build
    """Turns the validated model into stages."""
    nested: tuple[type[BaseModel], ...] = ()
    """Models of nested tables (weights, clip …), whose keys "did you mean" may suggest."""


@dataclass
class OpInput:
    """What a pipeline op is fed: the previous stage's output (or the scenario's input)."""

    shape: tuple[int, ...]
    """Its shape, known before any number is computed."""
    make: Callable[[], np.ndarray | None]
    """The array itself; made on first call (a random input is generated only once every size
    is known to fit), None after filing a problem."""
    source: str
    """Where it comes from, for messages: "the input", "stage 1 (relu2)'s output"."""
    name: str
    """The new stage's name."""
    problems: Problems
    """Problems are filed here, under ``stages[i]``."""
    ctx: BuildContext
    """The scenario's build context: its memory budget above all."""
    label: str = ""
    """The new stage as messages name it: "stage 2 (pool3)", "the pooling layer"."""

    @classmethod
    def of_scenario(cls, spec: Any, ctx: BuildContext, name: str, label: str) -> OpInput | None:
        """What a one-stage scenario feeds its stage: its ``input`` (shape known without
        generating it, the array made on first use); None after filing a problem."""
        from scenarios.build import input_shape, value

        shape = input_shape(spec, ctx.problems)
        if shape is None:
            return None
        return cls(
            shape,
            lambda: value(spec, "input", ctx.problems),
            "the input",
            name,
            ctx.problems,
            ctx,
            label,
        )

    def charge(self, nbytes: int) -> bool:
        """Charge the new stage's peak bytes to the scenario's budget (False if refused)."""
        return self.ctx.charge(nbytes, "input", self.label or self.name, self.problems)

    @property
    def where(self) -> str:
        """A suffix for messages about a fed stage: the shape it was given and from where."""
        return (
            "" if self.source == "the input" else f" ({self.source} has shape {list(self.shape)})"
        )


OpBuild = Callable[[Any, OpInput], "Stage | None"]
"""``build(op_model, fed) -> stage``: None after filing problems."""


@dataclass(frozen=True)
class Op:
    """One pipeline stage kind: ``op = "NAME"`` in a ``[[stages]]`` table."""

    name: str
    model: type[BaseModel]
    build: OpBuild


KINDS: dict[str, Kind] = {}
"""Scenario kind name → Kind, filled by the modules of ``scenarios.kinds``."""
OPS: dict[str, Op] = {}
"""Pipeline op name → Op, filled by the same modules."""

_F = TypeVar("_F", bound=Callable[..., Any])


def register_kind(
    name: str, model: type[ScenarioBase], *, nested: tuple[type[BaseModel], ...] = ()
) -> Callable[[_F], _F]:
    """Decorator for a builder: registers scenario kind ``name`` with its schema."""

    def decorate(build: _F) -> _F:
        if name in KINDS:
            raise RuntimeError(f"scenario kind {name!r} is registered twice")
        KINDS[name] = Kind(name, model, build, nested)
        return build

    return decorate


def register_op(*names: str, model: type[BaseModel]) -> Callable[[_F], _F]:
    """Decorator for an op builder: registers pipeline ops ``names`` with their schema."""

    def decorate(build: _F) -> _F:
        for name in names:
            if name in OPS:
                raise RuntimeError(f"pipeline op {name!r} is registered twice")
            OPS[name] = Op(name, model, build)
        return build

    return decorate


_loaded = False


def _module_names() -> list[str]:
    """The modules of ``scenarios.kinds``, found from its files without importing them."""
    from scenarios.kinds import module_names

    return module_names()


def load_kinds() -> None:
    """Import every module of ``scenarios.kinds`` once, which registers them."""
    global _loaded
    if _loaded:
        return
    for name in _module_names():
        importlib.import_module(f"scenarios.kinds.{name}")
    _loaded = True


def kind(name: str) -> Kind | None:
    """Scenario kind ``name``, or None if no module registers it.

    A kind's module is named after it (``kind = "conv"`` is ``scenarios/kinds/conv.py``), so
    loading a file imports only its own kind's module (and what that module imports: a pipeline
    imports every op). A name no module is named after, or whose module does not register it,
    imports every module before giving up, so that the answer never depends on what was
    imported before.
    """
    if name not in KINDS and not _loaded and name in _module_names():
        importlib.import_module(f"scenarios.kinds.{name}")
    if name not in KINDS:
        load_kinds()
    return KINDS.get(name)


def kinds() -> dict[str, Kind]:
    """Every registered scenario kind."""
    load_kinds()
    return KINDS


def ops() -> dict[str, Op]:
    """Every registered pipeline op."""
    load_kinds()
    return OPS


def all_field_names() -> set[str]:
    """Every key any scenario model accepts (for "did you mean" suggestions)."""
    from scenarios.values import DataSpec, RandomSpec

    names: set[str] = set(RandomSpec.model_fields) | set(DataSpec.model_fields)
    models: list[type[BaseModel]] = [op.model for op in ops().values()]
    for kind in kinds().values():
        models += [kind.model, *kind.nested]
    for model in models:
        names |= set(model.model_fields)
    return names
