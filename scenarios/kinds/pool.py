"""``kind = "pool"``: one pooling layer; also the pipeline ops ``maxpool`` and ``avgpool``."""

from __future__ import annotations

from typing import Any

from engine.conv import as_pair
from engine.core import Stage
from engine.errors import SpecError
from engine.limits import MAX_BYTES
from scenarios.build import BuildContext
from scenarios.registry import OpInput, register_kind, register_op
from scenarios.schema import FileModel, ScenarioBase


class PoolScenario(ScenarioBase):
    """``kind = "pool"``: one pooling layer, applied to each channel on its own."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or a random spec."""
    mode: str = "max"
    """``"max"`` or ``"avg"``."""
    size: Any = 2
    """Window ``f`` or ``[f_h, f_w]``."""
    stride: Any = None
    """``s`` or ``[s_h, s_w]``; the window size when omitted."""


class PoolOp(FileModel):
    """A pooling stage of a pipeline: ``op = "maxpool"`` or ``"avgpool"``."""

    op: str
    name: str | None = None
    size: Any = 2
    stride: Any = None


def fits(shape: tuple[int, int, int], size: Any, stride: Any, fed: OpInput) -> bool:
    """Whether pooling an input of ``shape`` stays within the memory limit and the scenario's
    budget, from shapes alone (before a random input is generated); malformed sizes are left to
    the stage to report."""
    from engine.pool import pool_bytes, pool_peak_bytes

    try:
        window = as_pair(size, "size")
        step = window if stride is None else as_pair(stride, "stride")
    except SpecError:
        return True
    if min(*window, *step) < 1:
        return True
    need = pool_bytes(shape, window, step)
    if need > MAX_BYTES:
        fed.problems.add("input", f"needs {need / 2**30:.1f} GiB of memory; the limit is 1 GiB")
        return False
    return fed.charge(pool_peak_bytes(shape, window, step))


def pool_stage(fed: OpInput, mode: str, size: Any, stride: Any) -> Stage | None:
    """A PoolStage on what ``fed`` holds, checked from shapes before the input is made."""
    from engine.pool import PoolStage

    shape = fed.shape if len(fed.shape) == 3 else (1, *fed.shape)
    if len(shape) == 3 and not fits(shape, size, stride, fed):  # type: ignore[arg-type]
        return None
    x = fed.make()
    if x is None:
        return None
    try:
        return PoolStage(x, mode=mode, size=size, stride=stride, name=fed.name)
    except SpecError as e:
        fed.problems.spec_error(e, fed.where)
        return None


@register_kind("pool", PoolScenario)
def build_pool(sc: PoolScenario, ctx: BuildContext) -> list[Stage]:
    """A PoolStage from a validated pool scenario."""
    fed = OpInput.of_scenario(sc.input, ctx, "pool", "the pooling layer")
    stage = None if fed is None else pool_stage(fed, sc.mode, sc.size, sc.stride)
    return [stage] if stage is not None else []


@register_op("maxpool", "avgpool", model=PoolOp)
def pool_op(spec: PoolOp, fed: OpInput) -> Stage | None:
    """A pooling stage of a pipeline."""
    return pool_stage(fed, "max" if spec.op == "maxpool" else "avg", spec.size, spec.stride)
