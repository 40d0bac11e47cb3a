"""2-D convolution (cross-correlation, as deep learning defines it), stepped per output element."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.core import Stage, Step, replaced
from engine.errors import SpecError
from engine.limits import (  # re-exported; limits live in engine.limits
    ALLOCATOR_SLACK,
    MAX_STRIDE,
    REFERENCE_BLOCK_BYTES,
    check_bytes,
)
from engine.limits import MAX_BYTES as MAX_BYTES

Pair = tuple[int, int]
PaddingSpec = Literal["valid", "same"] | int | tuple[int, int] | list[int]

_BLOCK_BYTES = 1 << 21
"""Size of one im2col block in ``ConvStage._compute`` (2 MiB)."""


def output_size(n: int, f: int, s: int, p: int) -> int:
    """Output length along one axis: ⌊(n + 2p − f)/s⌋ + 1."""
    return (n + 2 * p - f) // s + 1


def size_formula(n: int, f: int, s: int, p: int) -> str:
    """The output-size formula written out with the actual numbers."""
    return f"⌊({n} + 2·{p} − {f})/{s}⌋ + 1 = {output_size(n, f, s, p)}"


def as_pair(value: int | tuple[int, int] | list[int], field: str) -> Pair:
    """Accept ``k`` or ``(kh, kw)`` and return ``(kh, kw)``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        a, b = value
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b)):
            return int(a), int(b)
    raise SpecError(field, f"expected an integer or a pair [rows, cols], got {value!r}")


def resolve_padding(padding: PaddingSpec, kernel_hw: Pair, stride: Pair) -> Pair:
    """Turn ``"valid"``, ``"same"``, ``p`` or ``(ph, pw)`` into explicit ``(ph, pw)``."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        fh, fw = kernel_hw
        if fh % 2 == 0 or fw % 2 == 0:
            raise SpecError(
                "padding",
                f'"same" needs an odd kernel so that padding is symmetric; kernel is {fh}×{fw}',
            )
        if stride != (1, 1):
            raise SpecError(
                "padding",
                f'"same" keeps the size only with stride 1; stride is {list(stride)} '
                "(give explicit padding instead)",
            )
        return (fh - 1) // 2, (fw - 1) // 2
    if isinstance(padding, str):
        raise SpecError(
            "padding", f'expected "valid", "same", an integer or a pair, got {padding!r}'
        )
    ph, pw = as_pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise SpecError("padding", f"padding must be ≥ 0, got {[ph, pw]}")
    return ph, pw


def conv_bytes(
    in_shape: tuple[int, int, int], w_shape: tuple[int, int, int, int], stride: Pair, padding: Pair
) -> int:
    """Bytes of float64 a convolution stage will hold, computed from shapes alone."""
    c, h, w = in_shape
    f, _, fh, fw = w_shape
    ph, pw = padding
    oh = max(output_size(h, fh, stride[0], ph), 0)
    ow = max(output_size(w, fw, stride[1], pw), 0)
    cells = c * h * w + c * (h + 2 * ph) * (w + 2 * pw) + 2 * f * oh * ow + f * c * fh * fw + f
    return 8 * cells


def _reference_tile(k: int, f: int, oh: int, ow: int) -> tuple[int, int]:
    """(rows, cols) of output in one block of the PyTorch check, for windows of ``k`` numbers
    and ``f`` filters: torch's im2col buffer (k per output) and the block's output (f per
    output) each stay within REFERENCE_BLOCK_BYTES, or one output element if that is larger."""
    per_output = 8 * max(k, f)
    cols = min(ow, max(1, REFERENCE_BLOCK_BYTES // per_output))
    rows = min(oh, max(1, REFERENCE_BLOCK_BYTES // (per_output * cols)))
    return rows, cols


def conv_peak_bytes(
    in_shape: tuple[int, int, int], w_shape: tuple[int, int, int, int], stride: Pair, padding: Pair
) -> int:
    """Peak bytes of a convolution stage from shapes alone: what it holds (``conv_bytes``),
    plus the larger of its build temporaries and its PyTorch check.

    The check (``reference`` then ``check_against_torch``) holds torch's output, the
    difference and its absolute value (three outputs), and per block the input slice torch
    copies, its im2col buffer and the block's output.
    """
    c, h, w = in_shape
    f, _, fh, fw = w_shape
    ph, pw = padding
    oh = max(output_size(h, fh, stride[0], ph), 0)
    ow = max(output_size(w, fw, stride[1], pw), 0)
    k = c * fh * fw
    held = conv_bytes(in_shape, w_shape, stride, padding)
    if oh == 0 or ow == 0:
        return held  # an impossible window: the stage refuses it before computing anything
    build = 2 * 8 * f * max(k, 1) + 3 * _BLOCK_BYTES  # the filter matrix, one im2col block
    rows, cols = _reference_tile(k, f, oh, ow)
    rows_in = (rows - 1) * stride[0] + fh
    cols_in = (cols - 1) * stride[1] + fw
    block = 8 * (c * rows_in * cols_in + (k + 2 * f) * rows * cols + 2 * f * k)
    check = 3 * 8 * f * oh * ow + block + ALLOCATOR_SLACK
    return held + max(build, check)


@dataclass(frozen=True, eq=False, kw_only=True)
class ConvStep(Step):
    """One output element out[filter, row, col] of a convolution."""

    filter: int
    row: int
    col: int
    top: int
    """Input row of the window's top edge (negative inside top padding)."""
    left: int
    """Input column of the window's left edge (negative inside left padding)."""
    window: np.ndarray  # (C, fh, fw) input values, zeros where padding
    padding_mask: np.ndarray  # (fh, fw) True where the cell is padding
    kernel: np.ndarray  # (C, fh, fw) the filter's weights
    products: np.ndarray  # (C, fh, fw) window ⊙ kernel
    partial_sums: np.ndarray  # (C,) one sum of products per channel
    bias: float
    size_formulas: tuple[str, str]
    """Why the output is as large as it is: ⌊(n + 2p − f)/s⌋ + 1 for height and width."""


class ConvStage(Stage):
    """out[f, i, j] = Σ_c Σ_u Σ_v x_pad[c, i·s_h + u, j·s_w + v] · W[f, c, u, v] + b[f].

    Args:
        x: input volume, shape (C, H, W).
        weight: filters, shape (F, C, f_h, f_w) — PyTorch's layout.
        bias: one value per filter, shape (F,); zeros if omitted.
        stride: ``s`` or ``(s_h, s_w)``, each ≥ 1.
        padding: ``"valid"``, ``"same"`` (odd kernel, stride 1), ``p`` or ``(p_h, p_w)``; zero fill.

    Shape:
        output (F, H_out, W_out) with H_out = ⌊(H + 2p_h − f_h)/s_h⌋ + 1 (likewise W_out).

    Steps run filter by filter, and inside a filter row by row: step i is output element
    ``np.unravel_index(i, (F, H_out, W_out))``.
    """

    kind = "conv"

    def __init__(
        self,
        x: np.ndarray,
        weight: np.ndarray,
        bias: np.ndarray | None = None,
        stride: int | tuple[int, int] | list[int] = 1,
        padding: PaddingSpec = 0,
        name: str = "conv",
    ) -> None:
        super().__init__(name)
        x = np.asarray(x, dtype=np.float64)
        weight = np.asarray(weight, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if weight.ndim == 2:
            weight = weight[None, None]
        if x.ndim != 3:
            raise SpecError("input", f"expected shape (C, H, W) or (H, W), got {x.shape}")
        if weight.ndim != 4:
            raise SpecError("kernels", f"expected shape (F, C, f_h, f_w), got {weight.shape}")
        c, h, w = x.shape
        f, kc, fh, fw = weight.shape
        if kc != c:
            raise SpecError(
                "kernels",
                f"each kernel has {kc} channel(s) but the input has {c}; "
                "a kernel's channels must equal the input's",
            )
        if min(c, h, w) < 1 or min(f, fh, fw) < 1:
            raise SpecError("input", f"empty shape: input {x.shape}, kernels {weight.shape}")
        sh, sw = as_pair(stride, "stride")
        if sh < 1 or sw < 1:
            raise SpecError("stride", f"stride must be ≥ 1, got {[sh, sw]}")
        if max(sh, sw) > MAX_STRIDE:
            raise SpecError("stride", f"stride must be ≤ {MAX_STRIDE:,}, got {[sh, sw]}")
        ph, pw = resolve_padding(padding, (fh, fw), (sh, sw))
        if fh > h + 2 * ph or fw > w + 2 * pw:
            raise SpecError(
                "kernels",
                f"kernel {fh}×{fw} is larger than the padded input {h + 2 * ph}×{w + 2 * pw}",
            )
        need = conv_peak_bytes((c, h, w), (f, c, fh, fw), (sh, sw), (ph, pw))
        check_bytes(need, "input", f"a {c}×{h}×{w} input through {f} filter(s) of {fh}×{fw}")
        if bias is None:
            bias = np.zeros(f)
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.shape != (f,):
            raise SpecError("bias", f"expected {f} value(s), one per filter, got {bias.shape[0]}")
        for field_name, arr in (("input", x), ("kernels", weight), ("bias", bias)):
            if not np.all(np.isfinite(arr)):
                raise SpecError(field_name, "values must be finite (no inf or nan)")

        self.x = x  # (C, H, W)
        self.weight = weight  # (F, C, fh, fw)
        self.bias = bias  # (F,)
        self.stride: Pair = (sh, sw)
        self.padding: Pair = (ph, pw)
        self.x_padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))  # (C, H + 2ph, W + 2pw)
        self.out_hw: Pair = (output_size(h, fh, sh, ph), output_size(w, fw, sw, pw))
        with np.errstate(over="ignore", invalid="ignore"):  # reported below as a SpecError
            self._out = self._compute()  # (F, H_out, W_out)
        if not np.all(np.isfinite(self._out)):
            raise SpecError("input", "the output overflows float64 (values too large)")
        self._plane = self.out_hw[0] * self.out_hw[1]
        self._formulas = self.size_formulas()

    def _compute(self) -> np.ndarray:
        """All outputs at once: im2col over blocks of output rows, one matrix product per block.

        A block gathers the windows of a few output rows into a (C·f_h·f_w, rows·W_out) matrix
        and multiplies the (F, C·f_h·f_w) filter matrix by it. Blocks of about 2 MiB keep the
        temporary in cache and bounded whatever the input size.
        """
        f, c, fh, fw = self.weight.shape
        oh, ow = self.out_hw
        sh, sw = self.stride
        k = c * fh * fw
        w_mat = self.weight.reshape(f, k)  # (F, C·fh·fw)
        windows = sliding_window_view(self.x_padded, (fh, fw), axis=(1, 2))[:, ::sh, ::sw]
        windows = windows.transpose(0, 3, 4, 1, 2)  # (C, fh, fw, oh, ow), a view
        out = np.empty((f, oh, ow))
        cols = min(ow, max(1, _BLOCK_BYTES // (8 * k)))
        rows = min(oh, max(1, _BLOCK_BYTES // (8 * k * cols)))
        for r0 in range(0, oh, rows):
            for c0 in range(0, ow, cols):
                block = windows[:, :, :, r0 : r0 + rows, c0 : c0 + cols]
                n_r, n_c = block.shape[3:]
                prod = w_mat @ block.reshape(k, n_r * n_c)  # (F, n_r·n_c)
                out[:, r0 : r0 + n_r, c0 : c0 + n_c] = prod.reshape(f, n_r, n_c)
        out += self.bias[:, None, None]
        return out

    # -- shape facts ---------------------------------------------------------------------

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[0])

    @property
    def filters(self) -> int:
        return int(self.weight.shape[0])

    @property
    def kernel_hw(self) -> Pair:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def output(self) -> np.ndarray:
        return self._out

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: F·(C·f_h·f_w + 1), whatever the input size."""
        return int(self.weight.size + self.bias.size)

    def size_formulas(self) -> tuple[str, str]:
        """The output-size formula for height and width, with the actual numbers."""
        (_, h, w), (fh, fw) = self.x.shape, self.kernel_hw
        return (
            size_formula(h, fh, self.stride[0], self.padding[0]),
            size_formula(w, fw, self.stride[1], self.padding[1]),
        )

    # -- stepping ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._out.size)

    def row_steps(self) -> int:
        return self.out_hw[1]

    def input_hw(self) -> Pair:
        return int(self.x.shape[-2]), int(self.x.shape[-1])

    def window_geometry(self) -> tuple[Pair, Pair, Pair]:
        return self.kernel_hw, self.stride, self.padding

    def usage_geometry(self) -> tuple[Pair, Pair, Pair]:
        return self.kernel_hw, self.stride, self.padding

    def flipped(self) -> ConvStage:
        """The same layer computing true convolution: every kernel rotated by 180°."""
        return ConvStage(
            self.x,
            self.weight[:, :, ::-1, ::-1].copy(),
            self.bias,
            stride=self.stride,
            padding=self.padding,
            name=self.name,
        )

    def with_input(self, x: np.ndarray) -> ConvStage:
        """The same layer (weights, bias, stride, padding) applied to another input."""
        return ConvStage(x, self.weight, self.bias, self.stride, self.padding, self.name)

    def with_window(self, stride: Pair, padding: Pair) -> ConvStage:
        """The same input, weights and bias with another stride and padding; SpecError when
        the kernel no longer fits the padded input."""
        return ConvStage(self.x, self.weight, self.bias, stride, padding, self.name)

    def value_arrays(self) -> dict[str, np.ndarray]:
        """The numbers a person may change: input (C, H, W), kernel (F, C, f_h, f_w), bias (F,)."""
        return {"input": self.x, "kernel": self.weight, "bias": self.bias}

    def with_values(self, name: str, array: np.ndarray) -> ConvStage:
        """The same layer with its ``input``, ``kernel`` or ``bias`` replaced (same shape)."""
        arrays = replaced(self.value_arrays(), name, array)
        return ConvStage(
            arrays["input"], arrays["kernel"], arrays["bias"], self.stride, self.padding, self.name
        )

    def index_of(self, filter: int, row: int, col: int) -> int:
        """Local step index of output element (filter, row, col)."""
        return (filter * self.out_hw[0] + row) * self.out_hw[1] + col

    def position(self, i: int) -> tuple[int, int, int]:
        """(filter, row, col) of local step ``i``."""
        i = self._normalise_index(i)
        f, rest = divmod(i, self._plane)
        r, c = divmod(rest, self.out_hw[1])
        return f, r, c

    def step(self, i: int) -> ConvStep:
        i = self._normalise_index(i)
        f, r, c = self.position(i)
        fh, fw = self.kernel_hw
        ph, pw = self.padding
        top, left = r * self.stride[0], c * self.stride[1]  # in padded coordinates
        window = self.x_padded[:, top : top + fh, left : left + fw]
        kernel = self.weight[f]
        products = window * kernel
        partial = products.sum(axis=(1, 2))
        h, w = self.x.shape[1:]
        rows = np.arange(top, top + fh) - ph
        cols = np.arange(left, left + fw) - pw
        mask = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None, :]
        value = float(self._out[f, r, c])
        bias = float(self.bias[f])
        return ConvStep(
            stage=self.name,
            index=i,
            value=value,
            explanation=(
                f"out[{f},{r},{c}] = Σ window ⊙ kernel {f} over {self.in_channels} channel(s) "
                f"+ bias {bias:g} = {value:g}"
            ),
            filter=f,
            row=r,
            col=c,
            top=top - ph,
            left=left - pw,
            window=window,
            padding_mask=mask,
            kernel=kernel,
            products=products,
            partial_sums=partial,
            bias=bias,
            size_formulas=self._formulas,
        )

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {"shape": list(self.x.shape), "values": self.x.tolist()},
            "parameters": {
                "weight": {"shape": list(self.weight.shape), "values": self.weight.tolist()},
                "bias": {"shape": list(self.bias.shape), "values": self.bias.tolist()},
            },
            "hyperparameters": {
                "kernel_size": list(self.kernel_hw),
                "stride": list(self.stride),
                "padding": list(self.padding),
                "padding_mode": "zeros",
            },
            "output": {"shape": list(self._out.shape), "values": self._out.tolist()},
            "steps": len(self),
            "step_order": ["filter", "row", "col"],
        }

    def reference(self) -> np.ndarray:
        """``torch.nn.functional.conv2d`` on blocks of output rows and columns.

        Each block hands torch the slice of the padded input its windows read, with no
        padding of its own, so torch's im2col buffer stays within REFERENCE_BLOCK_BYTES
        however large the input (``conv_peak_bytes`` counts it).
        """
        import torch
        import torch.nn.functional as F

        f, c, fh, fw = self.weight.shape
        oh, ow = self.out_hw
        sh, sw = self.stride
        weight = torch.from_numpy(np.ascontiguousarray(self.weight))
        bias = torch.from_numpy(np.ascontiguousarray(self.bias))
        rows, cols = _reference_tile(c * fh * fw, f, oh, ow)
        out = np.empty((f, oh, ow))
        with torch.no_grad():
            for r0 in range(0, oh, rows):
                r1 = min(oh, r0 + rows)
                for c0 in range(0, ow, cols):
                    c1 = min(ow, c0 + cols)
                    tile = self.x_padded[
                        :, r0 * sh : (r1 - 1) * sh + fh, c0 * sw : (c1 - 1) * sw + fw
                    ]
                    x = torch.from_numpy(np.ascontiguousarray(tile))[None]
                    out[:, r0:r1, c0:c1] = F.conv2d(x, weight, bias, stride=self.stride)[0]
        return out
