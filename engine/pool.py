"""2-D max and average pooling, channel by channel, stepped per output element."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.conv import Pair, as_pair, output_size, size_formula
from engine.core import Stage, Step
from engine.errors import SpecError
from engine.limits import ALLOCATOR_SLACK, MAX_STRIDE, REFERENCE_BLOCK_BYTES, check_bytes

POOL_MODES = ("max", "avg")
"""Pooling modes a stage accepts."""


def pool_bytes(in_shape: tuple[int, int, int], size: Pair, stride: Pair) -> int:
    """Bytes a pooling stage will hold, computed from shapes alone.

    Counts the float64 input and output, the arg-max index per output (at most 8 bytes) and
    the boolean scratch mask used while comparing window cells.
    """
    c, h, w = in_shape
    oh = max(output_size(h, size[0], stride[0], 0), 0)
    ow = max(output_size(w, size[1], stride[1], 0), 0)
    return 8 * c * h * w + (8 + 8 + 1) * c * oh * ow


def _reference_tile(in_shape: tuple[int, int, int], size: Pair, stride: Pair) -> tuple[int, int]:
    """(channels, output rows) of one block of the PyTorch check: the input slice torch is
    handed stays within REFERENCE_BLOCK_BYTES, or one output row of one channel if larger."""
    c, h, w = in_shape
    oh = max(output_size(h, size[0], stride[0], 0), 1)
    row_bytes = 8 * w * max(stride[0], 1)  # input bytes one more output row reads
    rows = min(oh, max(1, (REFERENCE_BLOCK_BYTES - 8 * w * size[0]) // row_bytes))
    plane = 8 * w * ((rows - 1) * stride[0] + size[0])
    return min(c, max(1, REFERENCE_BLOCK_BYTES // plane)), rows


def pool_peak_bytes(in_shape: tuple[int, int, int], size: Pair, stride: Pair) -> int:
    """Peak bytes of a pooling stage from shapes alone: what it holds (``pool_bytes``), plus
    the larger of its build temporaries (average pooling's sums, twice where they overflow)
    and its PyTorch check (torch's output, the difference and its absolute value, and per block
    the input slice, the block's output and its arg-max indices)."""
    c, h, w = in_shape
    oh = max(output_size(h, size[0], stride[0], 0), 0)
    ow = max(output_size(w, size[1], stride[1], 0), 0)
    out = 8 * c * oh * ow
    channels, rows = _reference_tile(in_shape, size, stride)
    block = 8 * channels * (((rows - 1) * stride[0] + size[0]) * w + 2 * rows * ow)
    return pool_bytes(in_shape, size, stride) + 3 * out + block + ALLOCATOR_SLACK


@dataclass(frozen=True, eq=False, kw_only=True)
class PoolStep(Step):
    """One output element out[channel, row, col] of a pooling stage."""

    channel: int
    row: int
    col: int
    top: int
    """Input row of the window's top edge."""
    left: int
    """Input column of the window's left edge."""
    window: np.ndarray  # (f_h, f_w) input values of this channel
    argmax: tuple[int, int] | None
    """(row, col) of the winning cell inside the window (max pooling); None for average."""
    mode: str


class PoolStage(Stage):
    """Max: out[c, i, j] = max_{u,v} x[c, i·s_h + u, j·s_w + v]; average: the mean instead.

    Each channel is pooled on its own, so the output has as many channels as the input and
    the stage has no learnable parameters. There is no padding.

    Args:
        x: input volume, shape (C, H, W); an (H, W) array is one channel.
        mode: ``"max"`` or ``"avg"``.
        size: window ``f`` or ``(f_h, f_w)``, each ≥ 1 and no larger than the input.
        stride: ``s`` or ``(s_h, s_w)``, each ≥ 1; defaults to the window size.

    Shape:
        output (C, H_out, W_out) with H_out = ⌊(H − f_h)/s_h⌋ + 1 (likewise W_out).

    Ties: when several cells of a window hold the maximum, the winner is the first of them in
    row-major order (top row first, then leftmost). This is the cell
    ``torch.nn.functional.max_pool2d(..., return_indices=True)`` reports, and the output value
    is read from that cell, so even the sign of a zero agrees with PyTorch.

    Steps run channel by channel, and inside a channel row by row: step i is output element
    ``np.unravel_index(i, (C, H_out, W_out))``.
    """

    kind = "pool"

    def __init__(
        self,
        x: np.ndarray,
        mode: str = "max",
        size: int | tuple[int, int] | list[int] = 2,
        stride: int | tuple[int, int] | list[int] | None = None,
        name: str = "pool",
    ) -> None:
        super().__init__(name)
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise SpecError("input", f"expected shape (C, H, W) or (H, W), got {x.shape}")
        c, h, w = x.shape
        if min(c, h, w) < 1:
            raise SpecError("input", f"empty shape: input {x.shape}")
        if not isinstance(mode, str) or mode not in POOL_MODES:
            raise SpecError(
                "mode", f"unknown pooling mode {mode!r}; valid: {', '.join(POOL_MODES)}"
            )
        fh, fw = as_pair(size, "size")
        if fh < 1 or fw < 1:
            raise SpecError("size", f"size must be ≥ 1, got {[fh, fw]}")
        sh, sw = (fh, fw) if stride is None else as_pair(stride, "stride")
        if sh < 1 or sw < 1:
            raise SpecError("stride", f"stride must be ≥ 1, got {[sh, sw]}")
        if max(sh, sw) > MAX_STRIDE:
            raise SpecError("stride", f"stride must be ≤ {MAX_STRIDE:,}, got {[sh, sw]}")
        if fh > h or fw > w:
            raise SpecError("size", f"pool window {fh}×{fw} is larger than the input {h}×{w}")
        need = pool_peak_bytes((c, h, w), (fh, fw), (sh, sw))
        check_bytes(need, "input", f"{mode} pooling a {c}×{h}×{w} input")
        if not np.all(np.isfinite(x)):
            raise SpecError("input", "values must be finite (no inf or nan)")

        # A read-only view: steps hand out windows of it, and they must not write through.
        self.x = x.view()  # (C, H, W)
        self.x.flags.writeable = False
        self.mode = mode
        self.size: Pair = (fh, fw)
        self.stride: Pair = (sh, sw)
        self.out_hw: Pair = (output_size(h, fh, sh, 0), output_size(w, fw, sw, 0))
        self._argmax: np.ndarray | None = None  # (C, H_out, W_out) flat index in the window
        if mode == "max":
            self._out, self._argmax = self._compute_max()
        else:
            self._out = self._compute_avg()
        self._plane = self.out_hw[0] * self.out_hw[1]

    def _windows(self) -> np.ndarray:
        """Every pooling window as a view, shape (C, H_out, W_out, f_h, f_w)."""
        sh, sw = self.stride
        return sliding_window_view(self.x, self.size, axis=(1, 2))[:, ::sh, ::sw]

    def _compute_max(self) -> tuple[np.ndarray, np.ndarray]:
        """Maxima and their window positions, one pass per window cell.

        Walking the f_h·f_w cells in row-major order and replacing the running best only on a
        strict ``>`` keeps the first maximal cell, which is torch's tie rule. Each pass compares
        whole (C, H_out, W_out) planes, so no copy of all windows is ever made.
        """
        windows = self._windows()
        fh, fw = self.size
        best = windows[..., 0, 0].copy()  # (C, H_out, W_out)
        argmax = np.zeros(best.shape, dtype=np.min_scalar_type(fh * fw - 1))
        better = np.empty(best.shape, dtype=bool)
        for k in range(1, fh * fw):
            cell = windows[..., k // fw, k % fw]
            np.greater(cell, best, out=better)
            np.copyto(best, cell, where=better)
            np.copyto(argmax, k, where=better)
        return best, argmax

    def _compute_avg(self) -> np.ndarray:
        """Window means: cells summed in row-major order, then divided by f_h·f_w, as torch.

        A mean of finite numbers is finite, but their sum may not be (four 1e308s). Where the
        sum overflows, the mean is taken again from the cells each divided by f_h·f_w first:
        no partial sum can then exceed the largest |cell|, so the result is the finite mean
        (PyTorch reports inf there).
        """
        windows = self._windows()
        fh, fw = self.size
        n = fh * fw
        total = np.zeros(windows.shape[:3])  # (C, H_out, W_out)
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(n):
                total += windows[..., k // fw, k % fw]
            total /= n
        bad = ~np.isfinite(total)
        if bad.any():
            where = np.nonzero(bad)
            scaled = np.zeros(len(where[0]))
            for k in range(n):
                scaled += windows[..., k // fw, k % fw][where] / n
            total[where] = scaled
        return total

    # -- shape facts ---------------------------------------------------------------------

    @property
    def in_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x.shape
        return int(c), int(h), int(w)

    @property
    def channels(self) -> int:
        return int(self.x.shape[0])

    @property
    def output(self) -> np.ndarray:
        return self._out

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: none, pooling only selects or averages."""
        return 0

    def size_formulas(self) -> tuple[str, str]:
        """The output-size formula for height and width, with the actual numbers."""
        _, h, w = self.in_shape
        return (
            size_formula(h, self.size[0], self.stride[0], 0),
            size_formula(w, self.size[1], self.stride[1], 0),
        )

    # -- stepping ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._out.size)

    def with_input(self, x: np.ndarray) -> PoolStage:
        """The same pooling (mode, window, stride) applied to another input."""
        return PoolStage(x, self.mode, self.size, self.stride, self.name)

    def row_steps(self) -> int:
        return self.out_hw[1]

    def input_hw(self) -> Pair:
        return int(self.x.shape[-2]), int(self.x.shape[-1])

    def window_geometry(self) -> tuple[Pair, Pair, Pair]:
        return self.size, self.stride, (0, 0)

    def index_of(self, channel: int, row: int, col: int) -> int:
        """Local step index of output element (channel, row, col)."""
        return (channel * self.out_hw[0] + row) * self.out_hw[1] + col

    def position(self, i: int) -> tuple[int, int, int]:
        """(channel, row, col) of local step ``i``."""
        i = self._normalise_index(i)
        c, rest = divmod(i, self._plane)
        r, col = divmod(rest, self.out_hw[1])
        return c, r, col

    def _winner(self, c: int, r: int, col: int) -> tuple[int, int]:
        if self._argmax is None:
            raise ValueError(f"stage {self.name!r} is {self.mode} pooling; only max has a winner")
        return divmod(int(self._argmax[c, r, col]), self.size[1])

    def argmax_input_index(self, i: int) -> int:
        """Flat index into the input plane (row·W + col) of step ``i``'s winning cell.

        This is the number ``max_pool2d(..., return_indices=True)`` reports for that output.
        """
        c, r, col = self.position(i)
        u, v = self._winner(c, r, col)
        return (r * self.stride[0] + u) * self.x.shape[2] + col * self.stride[1] + v

    def argmax_input_indices(self) -> np.ndarray:
        """``argmax_input_index`` for every output at once, shape (C, H_out, W_out)."""
        if self._argmax is None:
            raise ValueError(f"stage {self.name!r} is {self.mode} pooling; only max has a winner")
        (oh, ow), (sh, sw), fw = self.out_hw, self.stride, self.size[1]
        w = self.x.shape[2]
        u, v = np.divmod(self._argmax.astype(np.int64), fw)  # (C, H_out, W_out) each
        rows = np.arange(oh)[:, None] * sh + u
        cols = np.arange(ow)[None, :] * sw + v
        return rows * w + cols

    def step(self, i: int) -> PoolStep:
        i = self._normalise_index(i)
        c, r, col = self.position(i)
        fh, fw = self.size
        top, left = r * self.stride[0], col * self.stride[1]
        window = self.x[c, top : top + fh, left : left + fw]
        value = float(self._out[c, r, col])
        argmax: tuple[int, int] | None = None
        if self._argmax is not None:
            argmax = self._winner(c, r, col)
            explanation = (
                f"out[{c},{r},{col}] = max of window = {value:g} "
                f"(input row {top + argmax[0]}, col {left + argmax[1]})"
            )
        else:
            explanation = f"out[{c},{r},{col}] = mean of {fh * fw} values = {value:g}"
        return PoolStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=explanation,
            channel=c,
            row=r,
            col=col,
            top=top,
            left=left,
            window=window,
            argmax=argmax,
            mode=self.mode,
        )

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {"shape": list(self.x.shape), "values": self.x.tolist()},
            "parameters": {},
            "hyperparameters": {
                "mode": self.mode,
                "kernel_size": list(self.size),
                "stride": list(self.stride),
            },
            "output": {"shape": list(self._out.shape), "values": self._out.tolist()},
            "steps": len(self),
            "step_order": ["channel", "row", "col"],
        }

    def reference(self) -> np.ndarray:
        """``max_pool2d`` / ``avg_pool2d`` on blocks of channels and output rows, so that the
        copies torch is handed stay within REFERENCE_BLOCK_BYTES (``pool_peak_bytes``).

        Where torch's average overflows (its sum of finite cells is inf), that output is
        torch's sum of the cells divided first (``divisor_override=1`` on x / (f_h·f_w)):
        the finite mean the stage shows, computed by torch the same way."""
        import torch
        import torch.nn.functional as F

        pool = F.max_pool2d if self.mode == "max" else F.avg_pool2d
        (oh, ow), (fh, _), (sh, _) = self.out_hw, self.size, self.stride
        channels, rows = _reference_tile(self.in_shape, self.size, self.stride)
        out = np.empty((self.channels, oh, ow))
        with torch.no_grad():
            for c0 in range(0, self.channels, channels):
                for r0 in range(0, oh, rows):
                    r1 = min(oh, r0 + rows)
                    tile = self.x[c0 : c0 + channels, r0 * sh : (r1 - 1) * sh + fh]
                    x = torch.from_numpy(np.array(tile))[None]  # a writable copy
                    got = pool(x, self.size, self.stride)[0]
                    if self.mode == "avg" and not bool(torch.isfinite(got).all()):
                        # torch sums before dividing, and the sum overflowed: take the sum of
                        # the cells each divided by f_h·f_w instead, as the stage does there.
                        n = self.size[0] * self.size[1]
                        scaled = F.avg_pool2d(x / n, self.size, self.stride, divisor_override=1)
                        got = torch.where(torch.isfinite(got), got, scaled[0])
                    out[c0 : c0 + channels, r0:r1] = got.numpy()
        return out

    def reference_indices(self) -> np.ndarray:
        """PyTorch's arg-max for every output, as flat indices into the input plane (row·W + col).

        Shape (C, H_out, W_out); max pooling only.
        """
        import torch
        import torch.nn.functional as F

        if self.mode != "max":
            raise ValueError(f"stage {self.name!r} is {self.mode} pooling; only max has indices")
        x = torch.from_numpy(np.array(self.x))[None]  # (1, C, H, W), a writable copy
        _, indices = F.max_pool2d(x, self.size, self.stride, return_indices=True)
        return indices[0].numpy()
