"""Shift the input by a few pixels and run the same stages again: convolution moves its output
with the input (equivariance), and max pooling absorbs small shifts (approximate invariance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.core import Refeedable, Simulation, Stage
from engine.errors import SpecError
from engine.receptive import windowed


def shiftable(stages: list[Stage]) -> bool:
    """Whether the input can be shifted and every stage run again: each stage accepts a new
    input (Refeedable) and works on images, which have rows and columns to shift along, and
    one of them at least reads a window of neighbours. Element by element (an activation
    alone) the output moves with the input by definition: there is nothing to see."""
    return all(isinstance(s, Refeedable) and s.output.ndim >= 2 for s in stages) and any(
        windowed(s) for s in stages
    )


class ShiftError(ValueError):
    """A stage cannot be run again on the moved input (its output would overflow float64)."""


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``x`` moved down by ``dy`` and right by ``dx`` pixels on its last two axes, zero-filled."""
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(-dy, 0), h - max(dy, 0))
    dst_r = slice(max(dy, 0), h - max(-dy, 0))
    src_c = slice(max(-dx, 0), w - max(dx, 0))
    dst_c = slice(max(dx, 0), w - max(-dx, 0))
    out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out


@dataclass(frozen=True)
class StageComparison:
    """One stage's output for the original and the shifted input."""

    name: str
    original: np.ndarray
    shifted: np.ndarray
    scale: int
    """How many input pixels one output cell of this stage spans (product of strides)."""
    affected: np.ndarray
    """(H_out, W_out): outputs of the shifted run whose inputs include zero-filled pixels, or
    whose counterparts in the original run read pixels the shift pushed out."""

    @property
    def unchanged(self) -> int:
        """Output cells equal in both runs."""
        return int(np.sum(np.isclose(self.original, self.shifted)))

    def equivariant_cells(self, dy: int, dx: int) -> tuple[int, int]:
        """(cells where the shifted output equals the original output moved by the same amount,
        cells compared). Only outputs untouched by the borders are compared, and only when the
        shift is a whole number of this stage's output cells."""
        if dy % self.scale or dx % self.scale:
            return 0, 0
        oy, ox = dy // self.scale, dx // self.scale
        moved = shift(self.original, oy, ox)
        inside = shift(np.ones(self.affected.shape, dtype=bool), oy, ox)
        comparable = inside & ~self.affected
        same = np.isclose(moved, self.shifted) & comparable
        channels = self.original.size // comparable.size
        return int(same.sum()), int(comparable.sum()) * channels


def compare_shift(
    sim: Simulation, dy: int, dx: int, progress: Callable[[int], None] | None = None
) -> list[StageComparison]:
    """Every stage of ``sim`` run on the original input and on it shifted by (dy, dx).

    Raises ShiftError, naming the stage, when a stage refuses the moved input: moving it can
    bring large values into one window that the original never put together. ``progress`` is
    called with the number of stages run so far after each one (it may raise to stop).
    """
    from engine.receptive import forward

    first = sim.stages[0]
    x0 = first.x  # type: ignore[attr-defined]
    hw = x0.shape[-2:]
    ones = np.ones(hw, dtype=bool)
    filled = ~shift(ones, dy, dx)  # zero-filled pixels, in shifted coordinates
    dropped = ~shift(ones, -dy, -dx)  # pixels pushed out, in original coordinates
    x = shift(x0, dy, dx)
    out = []
    scale = 1
    for stage in sim.stages:
        if not isinstance(stage, Refeedable):
            raise TypeError(f"stage {stage.name!r} ({stage.kind}) cannot be re-run on a new input")
        try:
            rerun = stage.with_input(x)
        except (SpecError, ArithmeticError) as e:
            reason = e.message if isinstance(e, SpecError) else str(e)
            raise ShiftError(
                f"{stage.name} cannot run on the input moved by ({dy}, {dx}): {reason}"
            ) from e
        scale *= int(getattr(stage, "stride", (1, 1))[0])
        filled, dropped = forward(stage, filled), forward(stage, dropped)
        affected = filled.copy()
        if dy % scale == 0 and dx % scale == 0:
            affected |= shift(dropped, dy // scale, dx // scale)
        out.append(StageComparison(stage.name, stage.output, rerun.output, scale, affected))
        x = rerun.output
        if progress is not None:
            progress(len(out))
    return out
