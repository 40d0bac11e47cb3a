"""2-D max and average pooling, channel by channel, stepped per output element."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.activation import PerElementStage, stage_description
from engine.conv import Pair, as_pair, output_size, size_formula
from engine.core import Step, replaced
from engine.errors import SpecError
from engine.limits import ALLOCATOR_SLACK, MAX_STRIDE, REFERENCE_BLOCK_BYTES, check_bytes

POOL_MODES = ("max", "avg")
"""Pooling modes a stage accepts."""


def pool_bytes(
    in_shape: tuple[int, int, int], size: Pair, stride: Pair, padding: Pair = (0, 0)
) -> int:
    """Bytes a pooling stage will hold, computed from shapes alone.

    Counts the float64 input and output, the arg-max index per output (at most 8 bytes) and
    the boolean scratch mask used while comparing window cells; with padding, also the padded
    copy of the input the windows are read from.
    """
    c, h, w = in_shape
    (ph, pw), (oh, ow) = padding, _out_hw(in_shape, size, stride, padding)
    padded = 8 * c * (h + 2 * ph) * (w + 2 * pw) if ph or pw else 0
    return 8 * c * h * w + padded + (8 + 8 + 1) * c * oh * ow


def _out_hw(in_shape: tuple[int, int, int], size: Pair, stride: Pair, padding: Pair) -> Pair:
    """Output height and width from shapes alone, 0 where the window does not fit."""
    _, h, w = in_shape
    return (
        max(output_size(h, size[0], stride[0], padding[0]), 0),
        max(output_size(w, size[1], stride[1], padding[1]), 0),
    )


def _lead_rows(stride: Pair, padding: Pair) -> int:
    """Output rows torch computes above a block of the PyTorch check and that are thrown away:
    a block starting inside the input hands torch ⌈p_h/s_h⌉ more rows' worth of input, so
    that the rows torch pads above it are never read by a window that is kept."""
    return -(-padding[0] // stride[0])


def _reference_tile(
    in_shape: tuple[int, int, int], size: Pair, stride: Pair, padding: Pair = (0, 0)
) -> tuple[int, int]:
    """(channels, output rows) of one block of the PyTorch check: the input slice torch is
    handed stays within REFERENCE_BLOCK_BYTES, or one output row of one channel if larger."""
    c, _, w = in_shape
    oh = max(_out_hw(in_shape, size, stride, padding)[0], 1)
    lead = _lead_rows(stride, padding)
    row_bytes = 8 * w * max(stride[0], 1)  # input bytes one more output row reads
    first = 8 * w * (size[0] + lead * stride[0])  # input bytes of a block's first row
    rows = min(oh, max(1, (REFERENCE_BLOCK_BYTES - first) // row_bytes))
    plane = 8 * w * ((rows - 1 + lead) * stride[0] + size[0])
    return min(c, max(1, REFERENCE_BLOCK_BYTES // plane)), rows


def pool_peak_bytes(
    in_shape: tuple[int, int, int], size: Pair, stride: Pair, padding: Pair = (0, 0)
) -> int:
    """Peak bytes of a pooling stage from shapes alone: what it holds (``pool_bytes``), plus
    the larger of its build temporaries (average pooling's sums, twice where they overflow)
    and its PyTorch check (torch's output, the difference and its absolute value, and per block
    the input slice, the block's output and its arg-max indices)."""
    c, _, w = in_shape
    (ph, pw), (oh, ow) = padding, _out_hw(in_shape, size, stride, padding)
    out = 8 * c * oh * ow
    channels, rows = _reference_tile(in_shape, size, stride, padding)
    lead = _lead_rows(stride, padding)
    tile_rows = (rows - 1 + lead) * stride[0] + size[0]
    # torch's own output for a block: the rows kept, the lead rows and one more it may add
    # below, each as wide as the padded input allows.
    block_out = 2 * (rows + lead + (1 if ph else 0)) * (ow + (1 if pw else 0))
    block = 8 * channels * (tile_rows * w + block_out)
    return pool_bytes(in_shape, size, stride, padding) + 3 * out + block + ALLOCATOR_SLACK


@dataclass(frozen=True, eq=False, kw_only=True)
class ChannelStep(Step):
    """One output element out[channel, row, col] of an image-to-image stage."""

    channel: int
    row: int
    col: int


class ChannelGridStage(PerElementStage):
    """A stage from a (C, H, W) input ``x`` to C output planes of ``out_hw`` = (h, w), each
    channel computed from its own: one step per output element, channel by channel, row by
    row, so step i is (c, row, col) with i = (c·h + row)·w + col (``position``, ``index_of``).
    Subclasses hold their result in ``_out``."""

    x: np.ndarray
    out_hw: Pair

    @property
    def in_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x.shape
        return int(c), int(h), int(w)

    @property
    def channels(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True, eq=False, kw_only=True)
class PoolStep(ChannelStep):
    """One output element out[channel, row, col] of a pooling stage."""

    top: int
    """Input row of the window's top edge; negative where the window starts in the padding."""
    left: int
    """Input column of the window's left edge; negative where it starts in the padding."""
    window: np.ndarray
    """(f_h, f_w) values the window reads from this channel: padding cells are −inf for max
    pooling (they never win) and 0 for average pooling (they count in the divisor)."""
    padding_mask: np.ndarray  # (f_h, f_w) True where the cell is padding, not input
    argmax: tuple[int, int] | None
    """(row, col) of the winning cell inside the window (max pooling); None for average."""
    mode: str


PAD_FILL = {"max": -np.inf, "avg": 0.0}
"""What a padding cell holds, by mode: PyTorch's max pooling pads with −inf, so padding never
wins; its average pooling (count_include_pad=True) pads with zeros that count in the mean."""


class PoolStage(ChannelGridStage):
    """Max: out[c, i, j] = max_{u,v} x_pad[c, i·s_h + u, j·s_w + v]; average: the mean instead.

    Each channel is pooled on its own, so the output has as many channels as the input and
    the stage has no learnable parameters.

    Args:
        x: input volume, shape (C, H, W); an (H, W) array is one channel.
        mode: ``"max"`` or ``"avg"``.
        size: window ``f`` or ``(f_h, f_w)``, each ≥ 1 and no larger than the padded input.
        stride: ``s`` or ``(s_h, s_w)``, each ≥ 1; defaults to the window size.
        padding: ``p`` or ``(p_h, p_w)``, each from 0 to half the window (⌊f/2⌋, PyTorch's
            rule); ``x_pad`` is x with p_h rows above and below and p_w columns on each side.
            For max pooling a padding cell is −inf, so it never wins (``max_pool2d``); for
            average pooling it is 0 and counts in the divisor f_h·f_w (``avg_pool2d`` with
            ``count_include_pad=True``, its default).

    Shape:
        output (C, H_out, W_out) with H_out = ⌊(H + 2p_h − f_h)/s_h⌋ + 1 (likewise W_out).

    Ties: when several cells of a window hold the maximum, the winner is the first of them in
    row-major order (top row first, then leftmost). This is the cell
    ``torch.nn.functional.max_pool2d(..., return_indices=True)`` reports, and the output value
    is read from that cell, so even the sign of a zero agrees with PyTorch. With padding at
    most half the window, every window holds at least one input cell, so the winner is always
    an input cell.

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
        padding: int | tuple[int, int] | list[int] = 0,
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
        ph, pw = as_pair(padding, "padding")
        if ph < 0 or pw < 0 or ph > fh // 2 or pw > fw // 2:
            raise SpecError(
                "padding",
                f"padding must be from 0 to half the window (PyTorch's rule): rows "
                f"0…{fh // 2} and cols 0…{fw // 2} for the {fh}×{fw} window, got {[ph, pw]}",
            )
        if fh > h + 2 * ph or fw > w + 2 * pw:
            if ph or pw:
                raise SpecError(
                    "size",
                    f"pool window {fh}×{fw} is larger than the padded input "
                    f"{h + 2 * ph}×{w + 2 * pw} (input {h}×{w}, padding {[ph, pw]})",
                )
            raise SpecError("size", f"pool window {fh}×{fw} is larger than the input {h}×{w}")
        need = pool_peak_bytes((c, h, w), (fh, fw), (sh, sw), (ph, pw))
        check_bytes(need, "input", f"{mode} pooling a {c}×{h}×{w} input")
        if not np.all(np.isfinite(x)):
            raise SpecError("input", "values must be finite (no inf or nan)")

        # A read-only view: steps hand out windows of it, and they must not write through.
        self.x = x.view()  # (C, H, W)
        self.x.flags.writeable = False
        self.mode = mode
        self.size: Pair = (fh, fw)
        self.stride: Pair = (sh, sw)
        self.padding: Pair = (ph, pw)
        self.x_padded = self.x  # (C, H + 2p_h, W + 2p_w): what the windows read
        if ph or pw:
            self.x_padded = np.pad(
                self.x, ((0, 0), (ph, ph), (pw, pw)), constant_values=PAD_FILL[mode]
            )
            self.x_padded.flags.writeable = False
        self.out_hw: Pair = (output_size(h, fh, sh, ph), output_size(w, fw, sw, pw))
        self._argmax: np.ndarray | None = None  # (C, H_out, W_out) flat index in the window
        if mode == "max":
            self._out, self._argmax = self._compute_max()
        else:
            self._out = self._compute_avg()

    def _windows(self) -> np.ndarray:
        """Every pooling window as a view, shape (C, H_out, W_out, f_h, f_w)."""
        sh, sw = self.stride
        return sliding_window_view(self.x_padded, self.size, axis=(1, 2))[:, ::sh, ::sw]

    def _compute_max(self) -> tuple[np.ndarray, np.ndarray]:
        """Maxima and their window positions, one pass per window cell.

        Walking the f_h·f_w cells in row-major order and replacing the running best only on a
        strict ``>`` keeps the first maximal cell, which is torch's tie rule. A −inf padding
        cell can start the walk but loses to the first input cell. Each pass compares whole
        (C, H_out, W_out) planes, so no copy of all windows is ever made.
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
        """Window means: cells summed in row-major order, then divided by f_h·f_w, as torch
        (padding cells add 0 and still count in the divisor).

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

    def size_formulas(self) -> tuple[str, str]:
        """The output-size formula for height and width, with the actual numbers."""
        _, h, w = self.in_shape
        return (
            size_formula(h, self.size[0], self.stride[0], self.padding[0]),
            size_formula(w, self.size[1], self.stride[1], self.padding[1]),
        )

    # -- stepping ------------------------------------------------------------------------

    def with_input(self, x: np.ndarray) -> PoolStage:
        """The same pooling (mode, window, stride, padding) applied to another input."""
        return PoolStage(x, self.mode, self.size, self.stride, self.name, self.padding)

    def input_hw(self) -> Pair:
        return int(self.x.shape[-2]), int(self.x.shape[-1])

    def window_geometry(self) -> tuple[Pair, Pair, Pair]:
        return self.size, self.stride, self.padding

    def with_window(self, stride: Pair, padding: Pair) -> PoolStage:
        """The same input, mode and window with another stride and padding; SpecError when the
        padding is more than half the window or the window no longer fits."""
        return PoolStage(self.x, self.mode, self.size, stride, self.name, padding)

    def value_arrays(self) -> dict[str, np.ndarray]:
        """The numbers a person may change: the input (C, H, W); pooling has no parameters."""
        return {"input": self.x}

    def with_values(self, name: str, array: np.ndarray) -> PoolStage:
        """The same pooling on another ``input`` of the same shape."""
        why = "pooling has no parameters; only the input can change"
        return self.with_input(replaced(self.value_arrays(), name, array, why)["input"])

    def window_origin(self, row: int, col: int) -> Pair:
        """Input (row, col) of the top-left cell of output (row, col)'s window; negative
        inside the padding."""
        return row * self.stride[0] - self.padding[0], col * self.stride[1] - self.padding[1]

    def padding_mask(self, row: int, col: int) -> np.ndarray:
        """(f_h, f_w) booleans: True where output (row, col)'s window reads padding."""
        (top, left), (fh, fw) = self.window_origin(row, col), self.size
        _, h, w = self.in_shape
        rows = np.arange(top, top + fh)
        cols = np.arange(left, left + fw)
        return ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]

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
        top, left = self.window_origin(r, col)
        return (top + u) * self.x.shape[2] + left + v

    def argmax_input_indices(self) -> np.ndarray:
        """``argmax_input_index`` for every output at once, shape (C, H_out, W_out)."""
        if self._argmax is None:
            raise ValueError(f"stage {self.name!r} is {self.mode} pooling; only max has a winner")
        (oh, ow), (sh, sw), fw = self.out_hw, self.stride, self.size[1]
        (ph, pw), w = self.padding, self.x.shape[2]
        u, v = np.divmod(self._argmax.astype(np.int64), fw)  # (C, H_out, W_out) each
        rows = np.arange(oh)[:, None] * sh - ph + u
        cols = np.arange(ow)[None, :] * sw - pw + v
        return rows * w + cols

    def step(self, i: int) -> PoolStep:
        i = self._normalise_index(i)
        c, r, col = self.position(i)
        fh, fw = self.size
        top, left = self.window_origin(r, col)
        ph, pw = self.padding
        window = self.x_padded[c, top + ph : top + ph + fh, left + pw : left + pw + fw]
        mask = self.padding_mask(r, col)
        pads = int(mask.sum())
        value = float(self._out[c, r, col])
        argmax: tuple[int, int] | None = None
        if self._argmax is not None:
            argmax = self._winner(c, r, col)
            explanation = (
                f"out[{c},{r},{col}] = max of window = {value:g} "
                f"(input row {top + argmax[0]}, col {left + argmax[1]})"
            )
            if pads:
                explanation += f"; {pads} padding cell(s) count as −inf"
        else:
            explanation = f"out[{c},{r},{col}] = mean of {fh * fw} values = {value:g}"
            if pads:
                explanation += f"; {pads} of them padding, counted as 0"
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
            padding_mask=mask,
            argmax=argmax,
            mode=self.mode,
        )

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        hyper = {
            "mode": self.mode,
            "kernel_size": list(self.size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }
        return stage_description(self, self.x, hyper, ["channel", "row", "col"])

    def reference(self) -> np.ndarray:
        """``max_pool2d`` / ``avg_pool2d`` with the stage's padding, on blocks of channels and
        output rows, so that the copies torch is handed stay within REFERENCE_BLOCK_BYTES
        (``pool_peak_bytes``).

        torch pads every block it is handed, so a block that starts below the input's top
        row also hands torch the ⌈p_h/s_h⌉ output rows above it, whose windows read that
        made-up padding, and drops them; a block ends where its last window ends (or at the
        input's last row), so no kept window reaches torch's padding below it unless it is
        the input's own.

        Where torch's average overflows (its sum of finite cells is inf), that output is
        torch's sum of the cells divided first (``divisor_override=1`` on x / (f_h·f_w)):
        the finite mean the stage shows, computed by torch the same way."""
        import torch
        import torch.nn.functional as F

        pool = F.max_pool2d if self.mode == "max" else F.avg_pool2d
        (oh, ow), (fh, _), (sh, _) = self.out_hw, self.size, self.stride
        ph, h = self.padding[0], self.in_shape[1]
        channels, rows = _reference_tile(self.in_shape, self.size, self.stride, self.padding)
        lead = _lead_rows(self.stride, self.padding)
        out = np.empty((self.channels, oh, ow))
        with torch.no_grad():
            for c0 in range(0, self.channels, channels):
                for r0 in range(0, oh, rows):
                    r1 = min(oh, r0 + rows)
                    first = max(0, r0 - lead)  # the output row torch's first window gives
                    end = min(h, (r1 - 1) * sh - ph + fh)  # one past the last input row read
                    tile = self.x[c0 : c0 + channels, first * sh : end]
                    x = torch.from_numpy(np.array(tile))[None]  # a writable copy
                    got = pool(x, self.size, self.stride, self.padding)[0]
                    if self.mode == "avg" and not bool(torch.isfinite(got).all()):
                        # torch sums before dividing, and the sum overflowed: take the sum of
                        # the cells each divided by f_h·f_w instead, as the stage does there.
                        n = self.size[0] * self.size[1]
                        scaled = F.avg_pool2d(
                            x / n, self.size, self.stride, self.padding, divisor_override=1
                        )
                        got = torch.where(torch.isfinite(got), got, scaled[0])
                    kept = got[:, r0 - first : r1 - first]
                    out[c0 : c0 + channels, r0:r1] = kept.numpy()
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
        _, indices = F.max_pool2d(x, self.size, self.stride, self.padding, return_indices=True)
        return indices[0].numpy()
