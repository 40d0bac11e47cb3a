"""``kind = "pipeline"``: stages applied one after another, each to the last one's output."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field, ValidationError

from engine.core import Stage
from scenarios.build import (
    BuildContext,
    Problems,
    input_shape,
    pydantic_problems,
    shown,
    value,
    value_shape,
)
from scenarios.registry import OpInput, ops, register_kind
from scenarios.schema import ScenarioBase


class PipelineScenario(ScenarioBase):
    """``kind = "pipeline"``: stages applied one after another, each to the last one's output."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or a random spec."""
    stages: list[dict[str, Any]] = Field(min_length=1)
    """``[[stages]]`` tables, each with an ``op`` and that op's fields."""


@register_kind("pipeline", PipelineScenario)
def build_pipeline(sc: PipelineScenario, ctx: BuildContext) -> list[Stage]:
    """Stages in order, each fed the previous one's output. A stage that does not fit its input
    is reported with both stages and both shapes."""
    problems = ctx.problems
    shape = input_shape(sc.input, problems)
    if shape is None:
        return []
    # The scenario's input keeps the shape it was given ((H, W) stays 2-D for element-wise
    # stages); ops that need channels read (H, W) as (1, H, W).
    given = value_shape(sc.input, "input", Problems())
    made: list[np.ndarray | None] = []

    def make_input() -> np.ndarray | None:
        if not made:
            made.append(value(sc.input, "input", problems))
        return made[0]

    fed = OpInput(given or shape, make_input, "the input", "", problems, ctx)
    stages: list[Stage] = []
    registered = ops()
    valid = ", ".join(registered)
    for i, raw in enumerate(sc.stages):
        where = problems.scoped(f"stages[{i}]")
        op = raw.get("op")
        if not isinstance(op, str) or op not in registered:
            close = difflib.get_close_matches(str(op), list(registered), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            what = "missing" if op is None else f"unknown op {shown(op)}"
            where.add("op", f"{what}; {hint}valid: {valid}")
            return stages
        try:
            spec = registered[op].model.model_validate(raw)
        except ValidationError as e:
            for f, m in pydantic_problems(e, ("stages", i)):
                problems.add(f, m)
            return stages
        fed.name = getattr(spec, "name", None) or f"{op}{i + 1}"
        fed.problems = where
        fed.label = f"stage {i} ({fed.name})"
        stage = registered[op].build(spec, fed)
        if stage is None:
            return stages
        stages.append(stage)
        fed = OpInput(
            tuple(stage.output.shape),
            _made(stage.output),
            f"stage {i} ({fed.name})'s output",
            "",
            where,
            ctx,
        )
    return stages


def _made(x: np.ndarray) -> Callable[[], np.ndarray | None]:
    """A maker for an array that already exists (the previous stage's output)."""
    return lambda: x
