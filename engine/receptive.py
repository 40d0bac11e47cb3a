"""Which inputs an output depends on, which outputs an input reaches, and how often each input
pixel is used: the sparse connections of convolution and pooling, traced through a pipeline.

Masks are spatial, (H, W) booleans. A convolution output reads every input channel at the
positions of its window; a pooling or activation output reads its own channel only, but at the
same positions, so the spatial mask is what changes from stage to stage.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.core import Pair, Simulation, SpatialMap, Stage


def windowed(stage: Stage) -> bool:
    """Whether ``stage`` is an image-to-image map whose outputs read a window of inputs, not
    only their own position."""
    return isinstance(stage, SpatialMap) and stage.window_geometry() is not None


def traceable(stages: list[Stage]) -> bool:
    """Whether receptive fields can be traced through ``stages``: every one an image-to-image
    map (a SpatialMap) whose output is an image, not a vector (a ReLU after a linear layer
    has the methods, but no rows and columns to trace), and one of them at least windowed:
    through element-wise stages alone every field is the output's own cell."""
    return all(isinstance(s, SpatialMap) and s.output.ndim >= 2 for s in stages) and any(
        windowed(s) for s in stages
    )


def _geometry(stage: Stage) -> tuple[Pair, Pair, Pair] | None:
    """(window, stride, padding) of a windowed stage; None for element-wise stages."""
    if not isinstance(stage, SpatialMap):
        raise TypeError(f"stage {stage.name!r} ({stage.kind}) is not an image-to-image map")
    return stage.window_geometry()


def input_hw(stage: Stage) -> tuple[int, int]:
    """Height and width of a stage's input."""
    if not isinstance(stage, SpatialMap):
        raise TypeError(f"stage {stage.name!r} ({stage.kind}) is not an image-to-image map")
    return stage.input_hw()


def output_hw(stage: Stage) -> tuple[int, int]:
    """Height and width of a stage's output."""
    return int(stage.output.shape[-2]), int(stage.output.shape[-1])


def back(stage: Stage, out_mask: np.ndarray) -> np.ndarray:
    """The input positions the marked outputs read: (H_out, W_out) → (H, W)."""
    geometry = _geometry(stage)
    if geometry is None:
        return out_mask.copy()
    (fh, fw), (sh, sw), (ph, pw) = geometry
    h, w = input_hw(stage)
    oh, ow = out_mask.shape
    padded = np.zeros((h + 2 * ph, w + 2 * pw), dtype=bool)
    for u in range(fh):  # one strided OR per kernel offset, not per output cell
        for v in range(fw):
            padded[u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw] |= out_mask
    return padded[ph : ph + h, pw : pw + w]


def forward(stage: Stage, in_mask: np.ndarray) -> np.ndarray:
    """The outputs whose window contains a marked input position: (H, W) → (H_out, W_out)."""
    geometry = _geometry(stage)
    if geometry is None:
        return in_mask.copy()
    (fh, fw), (sh, sw), (ph, pw) = geometry
    padded = np.pad(in_mask, ((ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, (fh, fw))[::sh, ::sw]
    oh, ow = output_hw(stage)
    return np.asarray(windows[:oh, :ow].any(axis=(-1, -2)))


def receptive_field(sim: Simulation, stage_no: int, row: int, col: int) -> list[np.ndarray]:
    """For output (row, col) of stage ``stage_no``: the mask of positions it depends on in the
    input of every stage up to it, first stage first (element 0 is the scenario's input)."""
    mask = np.zeros(output_hw(sim.stages[stage_no]), dtype=bool)
    mask[row, col] = True
    masks = []
    for s in range(stage_no, -1, -1):
        mask = back(sim.stages[s], mask)
        masks.append(mask)
    return masks[::-1]


def influence(sim: Simulation, row: int, col: int) -> list[np.ndarray]:
    """For input position (row, col) of the scenario's input: the mask of outputs it reaches in
    every stage, first stage first."""
    mask = np.zeros(input_hw(sim.stages[0]), dtype=bool)
    mask[row, col] = True
    masks = []
    for stage in sim.stages:
        mask = forward(stage, mask)
        masks.append(mask)
    return masks


def usage_counts(
    hw: tuple[int, int], window: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> np.ndarray:
    """How many windows read each input pixel, shape (H, W): corners are read once without
    padding and more often with it."""
    (h, w), (fh, fw), (sh, sw), (ph, pw) = hw, window, stride, padding
    oh = (h + 2 * ph - fh) // sh + 1
    ow = (w + 2 * pw - fw) // sw + 1
    counts = np.zeros((h + 2 * ph, w + 2 * pw), dtype=np.int64)
    for u in range(fh):
        for v in range(fw):
            counts[u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw] += 1
    return counts[ph : ph + h, pw : pw + w]
