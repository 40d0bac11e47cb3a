"""The activation ops of a pipeline: ``relu``, ``leaky_relu``, ``sigmoid`` and ``tanh``."""

from __future__ import annotations

from engine.core import Stage
from engine.errors import SpecError
from scenarios.registry import OpInput, register_op
from scenarios.schema import FileModel


class ActivationOp(FileModel):
    """An activation stage of a pipeline: ``op`` is the function's name."""

    op: str
    name: str | None = None
    negative_slope: float = 0.01
    """Slope for negative inputs (``leaky_relu`` only)."""


@register_op("relu", "sigmoid", "tanh", "leaky_relu", model=ActivationOp)
def activation_op(spec: ActivationOp, fed: OpInput) -> Stage | None:
    """The function applied element by element to what ``fed`` holds, whatever its shape."""
    from engine.activation import ActivationStage, activation_peak_bytes

    if not fed.charge(activation_peak_bytes(fed.shape)):
        return None
    x = fed.make()
    if x is None:
        return None
    try:
        return ActivationStage(
            x, function=spec.op, negative_slope=spec.negative_slope, name=fed.name
        )
    except SpecError as e:
        fed.problems.add("op" if e.field == "function" else e.field, e.message)
        return None
