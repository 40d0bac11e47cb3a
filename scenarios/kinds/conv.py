"""``kind = "conv"``: one convolution layer; also the pipeline op ``conv``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.conv import (
    ConvStage,
    as_pair,
    conv_bytes,
    conv_peak_bytes,
    resolve_padding,
)
from engine.core import Stage
from engine.errors import SpecError
from engine.limits import MAX_BYTES, MAX_STRIDE
from scenarios.build import (
    BuildContext,
    Problems,
    is_number_array,
    value,
    value_shape,
)
from scenarios.registry import OpInput, register_kind, register_op
from scenarios.schema import FileModel, ScenarioBase


class ConvFields(FileModel):
    """The settings of one convolution layer, in a conv scenario or a pipeline stage.

    The value fields are checked by the loader, which knows the shapes involved; here they
    are only required to be present where needed.
    """

    text_values = frozenset({"kernel", "kernels"})

    kernel: Any = None
    """One filter: a named kernel, an inline (f, f) or (C, f, f) array, or a random spec."""
    kernels: Any = None
    """Several filters: a list of what ``kernel`` takes, or one random (F, C, f, f) spec."""
    bias: Any = 0
    """One number for every filter, or a list with one number per filter."""
    stride: Any = 1
    """``s`` or ``[s_h, s_w]``, each ≥ 1."""
    padding: Any = "valid"
    """``"valid"``, ``"same"`` (odd kernels, stride 1), ``p`` or ``[p_h, p_w]``."""


class ConvScenario(ScenarioBase, ConvFields):
    """``kind = "conv"``: one convolution layer."""

    input: Any
    """(H, W) or (C, H, W) numbers inline, or ``{ random = [C, H, W], seed = 0 }``."""


class ConvOp(ConvFields):
    """A convolution stage of a pipeline: ``op = "conv"`` and the fields of a conv scenario."""

    op: str
    name: str | None = None
    """Shown in the timeline; ``conv1``, ``relu2``, … when omitted."""


def _filters(sc: ConvFields, channels: int, problems: Problems) -> np.ndarray | None:
    """The (F, C, f_h, f_w) weight array from ``kernel`` or ``kernels``."""
    if sc.kernel is not None and sc.kernels is not None:
        problems.add("kernels", "give either kernel (one filter) or kernels (a list), not both")
        return None
    if sc.kernel is None and sc.kernels is None:
        problems.add("kernels", 'missing; give kernel = "vertical_edge" or kernels = [...]')
        return None
    if sc.kernel is not None:
        specs: list[tuple[str, Any]] = [("kernel", sc.kernel)]
    elif isinstance(sc.kernels, list) and sc.kernels and not is_number_array(sc.kernels):
        specs = [(f"kernels[{i}]", k) for i, k in enumerate(sc.kernels)]
    else:
        arr = value(sc.kernels, "kernels", problems)
        if arr is None:
            return None
        if arr.ndim == 3 and not isinstance(sc.kernels, dict):
            # A list of flat (f_h, f_w) kernels: each applies to every input channel.
            arr = np.broadcast_to(arr[:, None], (arr.shape[0], channels, *arr.shape[1:])).copy()
        if arr.ndim != 4:
            problems.add(
                "kernels",
                f"a single array for all filters must be 4-D (F, C, f_h, f_w), got shape "
                f"{list(arr.shape)}; or give a list with one kernel per filter",
            )
            return None
        return arr
    out: list[np.ndarray] = []
    for field, spec in specs:
        arr = value(spec, field, problems, presets=True)
        if arr is None:
            continue
        if arr.ndim == 2:
            # A flat kernel applies the same weights to every input channel.
            arr = np.broadcast_to(arr, (channels, *arr.shape)).copy()
        if arr.ndim != 3:
            problems.add(
                field, f"expected a (f_h, f_w) or (C, f_h, f_w) kernel, got shape {list(arr.shape)}"
            )
            continue
        out.append(arr)
    if problems.items:
        return None
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        problems.add("kernels", f"all filters must have the same shape, got {sorted(shapes)}")
        return None
    return np.stack(out)


def _random_kernels_fit(sc: ConvFields, in_shape: tuple[int, int, int], problems: Problems) -> bool:
    """Check random kernels from their shapes alone, before any is generated: their total size,
    and that each fits inside the padded input."""
    channels, h, w = in_shape
    if sc.kernel is not None:
        specs: list[tuple[str, Any]] = [("kernel", sc.kernel)]
    elif isinstance(sc.kernels, list):
        specs = [(f"kernels[{i}]", k) for i, k in enumerate(sc.kernels)]
    else:
        specs = [("kernels", sc.kernels)]
    cells = 0
    for field, spec in specs:
        if not isinstance(spec, dict):
            continue
        shape = value_shape(spec, field, problems)
        if shape is None:
            return False
        cells += math.prod(shape) * (channels if len(shape) == 2 else 1)
        fh, fw = shape[-2:] if len(shape) >= 2 else (shape[0], 1)
        try:
            stride = as_pair(sc.stride, "stride")
            ph, pw = resolve_padding(sc.padding, (fh, fw), stride)
        except SpecError:
            continue  # reported with the other settings once the kernels are known
        if fh > h + 2 * ph or fw > w + 2 * pw:
            problems.add(
                field, f"kernel {fh}×{fw} is larger than the padded input {h + 2 * ph}×{w + 2 * pw}"
            )
            return False
    # Twice: the kernels as generated, and stacked into one (F, C, f_h, f_w) array.
    need = 2 * 8 * cells
    if need > MAX_BYTES:
        field = "kernel" if sc.kernel is not None else "kernels"
        problems.add(field, f"random kernels would need {need / 2**30:.1f} GiB; the limit is 1 GiB")
        return False
    return True


def conv_stage(sc: ConvFields, fed: OpInput) -> ConvStage | None:
    """A ConvStage for what ``fed`` holds, a (C, H, W) input; the input is made only once every
    size is known to fit and the scenario's budget has accepted the stage."""
    problems, source = fed.problems, fed.source
    in_shape = fed.shape if len(fed.shape) == 3 else (1, *fed.shape)
    if len(in_shape) != 3:
        problems.add(
            "op",
            f"a convolution needs a (C, H, W) input, but {source} has shape {list(fed.shape)}",
        )
        return None
    c, h, w = in_shape
    if not _random_kernels_fit(sc, (c, h, w), problems):
        return None
    weight = _filters(sc, c, problems)
    bias = value(sc.bias, "bias", problems)
    if weight is None or bias is None:
        return None
    try:
        stride = as_pair(sc.stride, "stride")
        if min(stride) < 1:
            raise SpecError("stride", f"stride must be ≥ 1, got {list(stride)}")
        if max(stride) > MAX_STRIDE:
            raise SpecError("stride", f"stride must be ≤ {MAX_STRIDE:,}, got {list(stride)}")
        padding = resolve_padding(sc.padding, (weight.shape[2], weight.shape[3]), stride)
    except SpecError as e:
        problems.add(e.field, e.message)
        return None
    if weight.shape[1] != c:
        field = "kernel" if sc.kernel is not None else "kernels"
        problems.add(
            field,
            f"each kernel has {weight.shape[1]} channel(s) but {source} has {c} "
            f"(shape {[c, h, w]}, kernels {list(weight.shape)}); a kernel's channels must "
            "equal its input's",
        )
        return None
    need = conv_bytes((c, h, w), weight.shape, stride, padding)  # type: ignore[arg-type]
    unpadded = conv_bytes((c, h, w), weight.shape, stride, (0, 0))  # type: ignore[arg-type]
    if need > MAX_BYTES and unpadded <= MAX_BYTES:
        problems.add(
            "padding",
            f"padding {list(padding)} on a {h}×{w} input would need {need / 2**30:.1f} GiB; "
            "the limit is 1 GiB",
        )
        return None
    if need > MAX_BYTES:
        oh = (h + 2 * padding[0] - weight.shape[2]) // stride[0] + 1
        ow = (w + 2 * padding[1] - weight.shape[3]) // stride[1] + 1
        if 2 * 8 * weight.shape[0] * oh * ow > need // 2:
            field = "kernel" if sc.kernel is not None else "kernels"
            problems.add(
                field,
                f"{weight.shape[0]} filter(s) over a {h}×{w} input would need "
                f"{need / 2**30:.1f} GiB for the output; the limit is 1 GiB",
            )
            return None
        problems.add(
            "input", f"shape {[c, h, w]} would need {need / 2**30:.1f} GiB; the limit is 1 GiB"
        )
        return None
    if not fed.charge(conv_peak_bytes((c, h, w), weight.shape, stride, padding)):  # type: ignore[arg-type]
        return None
    x = fed.make()
    if x is None:
        return None
    x = x.reshape(in_shape)  # an (H, W) input is one channel
    if bias.ndim == 0:
        bias = np.full(weight.shape[0], float(bias))
    try:
        return ConvStage(x, weight, bias, stride=stride, padding=padding, name=fed.name)
    except SpecError as e:
        problems.add(
            "kernel" if e.field == "kernels" and sc.kernel is not None else e.field, e.message
        )
        return None


@register_kind("conv", ConvScenario)
def build_conv(sc: ConvScenario, ctx: BuildContext) -> list[Stage]:
    """A ConvStage from a validated conv scenario; problems collected on the way."""
    fed = OpInput.of_scenario(sc.input, ctx, "conv", "the convolution")
    stage = None if fed is None else conv_stage(sc, fed)
    return [stage] if stage is not None else []


@register_op("conv", model=ConvOp)
def conv_op(spec: ConvOp, fed: OpInput) -> Stage | None:
    """A convolution stage of a pipeline; a 2-D input (H, W) is one channel."""
    return conv_stage(spec, fed)
