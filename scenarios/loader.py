"""Read a scenario file, validate it, and build its Simulation — or say exactly what is wrong."""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from engine.conv import MAX_BYTES as CONV_MAX_BYTES
from engine.conv import MAX_STRIDE, ConvStage, as_pair, conv_bytes, resolve_padding
from engine.core import Simulation, Stage
from engine.errors import SpecError
from engine.kernels import KERNELS
from scenarios.errors import ScenarioError, field_path
from scenarios.schema import (
    MODELS,
    OPS,
    ActivationOp,
    BpttScenario,
    ConvFields,
    ConvOp,
    ConvScenario,
    DeepRecurrentScenario,
    LearnKernelScenario,
    PipelineScenario,
    PoolOp,
    PoolScenario,
    RecurrentScenario,
    ScenarioBase,
    TokensScenario,
    all_field_names,
)
from scenarios.values import DataSpec, RandomSpec, to_array

MAX_FILE_BYTES = 16 << 20
"""Scenario files are small text; anything larger is refused before reading."""


class _Problems:
    """Collects (field, message) pairs while a scenario is checked."""

    def __init__(self, prefix: str = "", items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = [] if items is None else items
        self.prefix = prefix

    def add(self, field: str, message: str) -> None:
        self.items.append((f"{self.prefix}.{field}" if self.prefix else field, message))

    def scoped(self, prefix: str) -> _Problems:
        """A view that files every problem under ``prefix`` (e.g. ``stages[2]``)."""
        return _Problems(prefix, self.items)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the file as TOML; missing files, directories and syntax errors become ScenarioError."""
    name = str(path)
    if path.is_dir():
        raise ScenarioError(name, [("(file)", "is a directory; expected a .toml scenario file")])
    if not path.exists():
        raise ScenarioError(name, [("(file)", "no such file")])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                name, [("(file)", f"{size / 2**20:.0f} MiB is too large for a scenario file")]
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(name, [("(file)", f"not UTF-8 text ({e.reason})")]) from None
    except OSError as e:
        raise ScenarioError(name, [("(file)", e.strerror or str(e))]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        if "end of document" in message:
            message += f" (the file ends at line {text.count(chr(10)) + 1})"
        raise ScenarioError(name, [("toml", f"syntax error: {message}")]) from None


def _pydantic_problems(
    err: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[tuple[str, str]]:
    out = []
    names = sorted(all_field_names())
    for e in err.errors():
        loc = (*prefix, *e["loc"])
        if e["type"] == "extra_forbidden":
            key = str(loc[-1])
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.append((field_path(loc), f"unknown key '{key}'{hint}"))
            continue
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "missing (this field is required)"
        elif e["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg} (got {e['input']!r})"
        out.append((field_path(loc), msg))
    return out


def validate(data: dict[str, Any], path: str) -> ScenarioBase:
    """The scenario's pydantic model, or ScenarioError listing every problem found."""
    kinds = ", ".join(sorted(MODELS))
    kind = data.get("kind")
    if kind is None:
        raise ScenarioError(path, [("kind", f"missing; valid kinds: {kinds}")])
    if not isinstance(kind, str) or kind not in MODELS:
        close = difflib.get_close_matches(str(kind), list(MODELS), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ScenarioError(path, [("kind", f"unknown kind {kind!r}; {hint}valid kinds: {kinds}")])
    try:
        model = MODELS[kind].model_validate(data)
    except ValidationError as e:
        raise ScenarioError(path, _pydantic_problems(e)) from None
    return model


def _value_shape(spec: Any, field: str, problems: _Problems) -> tuple[int, ...] | None:
    """Shape of a value spec without generating it (random specs may be large)."""
    if isinstance(spec, dict):
        try:
            if "data" in spec:
                return DataSpec.model_validate(spec).shape()
            return tuple(RandomSpec.model_validate(spec).random)
        except ValidationError as e:
            for f, m in _pydantic_problems(e, (field,)):
                problems.add(f, m)
            return None
    try:
        return to_array(spec).shape
    except ValueError as e:
        problems.add(field, str(e))
        return None


def _value(
    spec: Any, field: str, problems: _Problems, *, presets: bool = False
) -> np.ndarray | None:
    """The array a value spec stands for: preset name, random spec, data spec, or inline
    numbers."""
    if isinstance(spec, str):
        if not presets:
            problems.add(
                field,
                f"expected numbers, a random spec or a data spec, got the string {spec!r}",
            )
            return None
        if spec not in KERNELS:
            close = difflib.get_close_matches(spec, list(KERNELS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.add(field, f"unknown kernel {spec!r}; {hint}valid: {', '.join(KERNELS)}")
            return None
        return KERNELS[spec].array()
    if isinstance(spec, dict):
        try:
            if "data" in spec:
                return DataSpec.model_validate(spec).array()
            return RandomSpec.model_validate(spec).generate()
        except ValidationError as e:
            for f, m in _pydantic_problems(e, (field,)):
                problems.add(f, m)
            return None
        except ValueError as e:
            problems.add(field, str(e))
            return None
    try:
        return to_array(spec)
    except ValueError as e:
        problems.add(field, str(e))
        return None


def _filters(sc: ConvFields, channels: int, problems: _Problems) -> np.ndarray | None:
    """The (F, C, f_h, f_w) weight array from ``kernel`` or ``kernels``."""
    if sc.kernel is not None and sc.kernels is not None:
        problems.add("kernels", "give either kernel (one filter) or kernels (a list), not both")
        return None
    if sc.kernel is None and sc.kernels is None:
        problems.add("kernels", 'missing; give kernel = "vertical_edge" or kernels = [...]')
        return None
    if sc.kernel is not None:
        specs: list[tuple[str, Any]] = [("kernel", sc.kernel)]
    elif isinstance(sc.kernels, list) and sc.kernels and not _is_number_array(sc.kernels):
        specs = [(f"kernels[{i}]", k) for i, k in enumerate(sc.kernels)]
    else:
        arr = _value(sc.kernels, "kernels", problems)
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
        arr = _value(spec, field, problems, presets=True)
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


def _random_kernels_fit(
    sc: ConvFields, in_shape: tuple[int, int, int], problems: _Problems
) -> bool:
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
        shape = _value_shape(spec, field, problems)
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
    if need > CONV_MAX_BYTES:
        field = "kernel" if sc.kernel is not None else "kernels"
        problems.add(field, f"random kernels would need {need / 2**30:.1f} GiB; the limit is 1 GiB")
        return False
    return True


def _is_number_array(value: list[Any]) -> bool:
    """True for nested lists of numbers (one inline array), False for a list of kernel specs."""
    first = value[0]
    while isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, (int, float)) and not isinstance(first, bool)


def input_shape(spec: Any, problems: _Problems) -> tuple[int, int, int] | None:
    """(C, H, W) of the scenario's ``input``, known without generating it."""
    shape = _value_shape(spec, "input", problems)
    if shape is not None and len(shape) not in (2, 3):
        problems.add(
            "input", f"expected a 2-D (H, W) or 3-D (C, H, W) array, got shape {list(shape)}"
        )
        return None
    if shape is None:
        return None
    return (1, *shape) if len(shape) == 2 else shape  # type: ignore[return-value]


def conv_stage(
    sc: ConvFields,
    in_shape: tuple[int, int, int],
    make_input: Callable[[], np.ndarray | None],
    problems: _Problems,
    *,
    name: str = "conv",
    source: str = "the input",
) -> ConvStage | None:
    """A ConvStage for an input of ``in_shape``; ``make_input`` is called only once every size
    is known to fit. ``source`` says where the input comes from, for error messages."""
    c, h, w = in_shape
    if not _random_kernels_fit(sc, (c, h, w), problems):
        return None
    weight = _filters(sc, c, problems)
    bias = _value(sc.bias, "bias", problems)
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
    if need > CONV_MAX_BYTES and unpadded <= CONV_MAX_BYTES:
        problems.add(
            "padding",
            f"padding {list(padding)} on a {h}×{w} input would need {need / 2**30:.1f} GiB; "
            "the limit is 1 GiB",
        )
        return None
    if need > CONV_MAX_BYTES:
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
    x = make_input()
    if x is None:
        return None
    if bias.ndim == 0:
        bias = np.full(weight.shape[0], float(bias))
    try:
        return ConvStage(x, weight, bias, stride=stride, padding=padding, name=name)
    except SpecError as e:
        problems.add(
            "kernel" if e.field == "kernels" and sc.kernel is not None else e.field, e.message
        )
        return None


def build_conv(sc: ConvScenario, problems: _Problems) -> ConvStage | None:
    """A ConvStage from a validated conv scenario; problems collected on the way."""
    shape = input_shape(sc.input, problems)
    if shape is None:
        return None
    return conv_stage(sc, shape, lambda: _value(sc.input, "input", problems), problems)


def _spec_error(problems: _Problems, e: SpecError, where: str = "") -> None:
    problems.add(e.field, f"{e.message}{where}")


def pool_stage(
    x: np.ndarray, mode: str, size: Any, stride: Any, problems: _Problems, *, name: str, where: str
) -> Stage | None:
    """A PoolStage on ``x``; ``where`` names the input's origin in error messages."""
    from engine.pool import PoolStage

    try:
        return PoolStage(x, mode=mode, size=size, stride=stride, name=name)
    except SpecError as e:
        _spec_error(problems, e, where)
        return None


def activation_stage(
    x: np.ndarray, function: str, negative_slope: float, problems: _Problems, *, name: str
) -> Stage | None:
    from engine.activation import ActivationStage

    try:
        return ActivationStage(x, function=function, negative_slope=negative_slope, name=name)
    except SpecError as e:
        problems.add("op" if e.field == "function" else e.field, e.message)
        return None


def build_pool(sc: PoolScenario, problems: _Problems) -> list[Stage]:
    x = _value(sc.input, "input", problems) if input_shape(sc.input, problems) else None
    if x is None:
        return []
    stage = pool_stage(x, sc.mode, sc.size, sc.stride, problems, name="pool", where="")
    return [stage] if stage is not None else []


def build_pipeline(sc: PipelineScenario, problems: _Problems) -> list[Stage]:
    """Stages in order, each fed the previous one's output. A stage that does not fit its input
    is reported with both stages and both shapes."""
    shape = input_shape(sc.input, problems)
    if shape is None:
        return []
    x: np.ndarray | None = None
    source, source_shape = "the input", shape
    stages: list[Stage] = []
    ops = ", ".join(OPS)
    for i, raw in enumerate(sc.stages):
        where = problems.scoped(f"stages[{i}]")
        op = raw.get("op")
        if not isinstance(op, str) or op not in OPS:
            close = difflib.get_close_matches(str(op), list(OPS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            what = "missing" if op is None else f"unknown op {op!r}"
            where.add("op", f"{what}; {hint}valid: {ops}")
            return stages
        try:
            spec = OPS[op].model_validate(raw)
        except ValidationError as e:
            for f, m in _pydantic_problems(e, ("stages", i)):
                problems.add(f, m)
            return stages
        name = getattr(spec, "name", None) or f"{op}{i + 1}"
        fed = f" ({source} has shape {list(source_shape)})" if i else ""
        stage: Stage | None
        if isinstance(spec, ConvOp):
            fed_x = x

            def make(fed_x: np.ndarray | None = fed_x) -> np.ndarray | None:
                return _value(sc.input, "input", problems) if fed_x is None else fed_x

            stage = conv_stage(
                spec,
                source_shape,
                make,
                where,
                name=name,
                source=source,  # type: ignore[arg-type]
            )
        else:
            if x is None:
                x = _value(sc.input, "input", problems)
                if x is None:
                    return stages
            if isinstance(spec, PoolOp):
                mode = "max" if op == "maxpool" else "avg"
                stage = pool_stage(x, mode, spec.size, spec.stride, where, name=name, where=fed)
            else:
                assert isinstance(spec, ActivationOp)
                stage = activation_stage(x, op, spec.negative_slope, where, name=name)
        if stage is None:
            return stages
        stages.append(stage)
        x = stage.output
        source = f"stage {i} ({name})'s output"
        source_shape = tuple(x.shape)  # type: ignore[assignment]
    return stages


def _images_spec(
    spec: Any, problems: _Problems
) -> tuple[tuple[int, int, int] | None, Callable[[], np.ndarray | None]]:
    """The (N, H, W) shape of ``images``, known without generating them, and a function that
    makes them. ``images`` is one value spec of shape (N, H, W) or (H, W), or a list of specs
    (random, data or inline) of one (H, W) image each."""
    if isinstance(spec, list) and spec and not _is_number_array(spec):
        shapes = [_value_shape(s, f"images[{i}]", problems) for i, s in enumerate(spec)]
        for i, shape in enumerate(shapes):
            if shape is not None and len(shape) != 2:
                problems.add(f"images[{i}]", f"expected one (H, W) image, got shape {list(shape)}")
                return None, lambda: None
        if any(shape is None for shape in shapes):
            return None, lambda: None
        if len(set(shapes)) > 1:
            listed = ", ".join(f"{list(s)}" for s in shapes)  # type: ignore[arg-type]
            problems.add("images", f"all images must have the same shape, got {listed}")
            return None, lambda: None
        h, w = shapes[0]  # type: ignore[misc]

        def make_list() -> np.ndarray | None:
            arrays = [_value(s, f"images[{i}]", problems) for i, s in enumerate(spec)]
            return None if any(a is None for a in arrays) else np.stack(arrays)  # type: ignore[arg-type]

        return (len(spec), h, w), make_list
    shape = _value_shape(spec, "images", problems)
    if shape is None:
        return None, lambda: None
    if len(shape) not in (2, 3):
        problems.add(
            "images", f"expected a 2-D (H, W) or 3-D (N, H, W) array, got shape {list(shape)}"
        )
        return None, lambda: None
    full = (1, *shape) if len(shape) == 2 else shape
    return full, lambda: _value(spec, "images", problems)  # type: ignore[return-value]


def build_learn(
    sc: LearnKernelScenario,
    problems: _Problems,
    progress: Callable[[int, int], None] | None = None,
) -> list[Stage]:
    """A KernelLearningStage: sizes are checked from shapes alone before anything is generated,
    then the whole training run is computed, reporting ``progress(done, total)`` iterations."""
    from engine.learn import KernelLearningStage, check_sizes

    shape, make_images = _images_spec(sc.images, problems)
    if isinstance(sc.hidden_kernel, dict):
        hidden_shape = _value_shape(sc.hidden_kernel, "hidden_kernel", problems)
        hidden = None
    else:
        hidden = _value(sc.hidden_kernel, "hidden_kernel", problems, presets=True)
        hidden_shape = None if hidden is None else hidden.shape
    if shape is None or hidden_shape is None:
        return []
    if len(hidden_shape) != 2:
        problems.add(
            "hidden_kernel", f"expected one (f_h, f_w) kernel, got shape {list(hidden_shape)}"
        )
        return []
    try:
        check_sizes(shape, (hidden_shape[0], hidden_shape[1]), sc.iterations)
    except SpecError as e:
        _spec_error(problems, e)
        return []
    if hidden is None:
        hidden = _value(sc.hidden_kernel, "hidden_kernel", problems)
    if sc.init is None:
        seeded = RandomSpec(random=list(hidden_shape), seed=0, low=-1, high=1, integer=False)
        init: np.ndarray | None = seeded.generate()
    else:
        init = _value(sc.init, "init", problems, presets=True)
    images = make_images()
    if images is None or hidden is None or init is None:
        return []
    try:
        stage = KernelLearningStage(
            images, hidden, init, sc.learning_rate, sc.iterations, progress=progress
        )
    except SpecError as e:
        _spec_error(problems, e)
        return []
    return [stage]


def build_recurrent(sc: RecurrentScenario, problems: _Problems) -> list[Stage]:
    """A RecurrentStage: the cell, the sizes and the shape of every given array are checked
    before anything is generated; weights not given are drawn from ``seed``."""
    from engine.recurrent import (
        RecurrentStage,
        check_cell,
        check_shape,
        check_sizes,
        layout,
        seeded_weights,
    )

    given = sc.weights.model_dump() if sc.weights is not None else {}
    try:
        cell = check_cell(sc.cell)
        shape = _value_shape(sc.input, "input", problems)
        if shape is None:
            return []
        if len(shape) != 2:
            raise SpecError(
                "input", f"expected a 2-D (T, input_size) array, got shape {list(shape)}"
            )
        steps, n_in = shape
        has_input, has_output = layout(sc.architecture, steps, sc.decoder_steps)
        steps = len(has_input)  # T: the decoder's steps come after the given inputs
        out_size = sc.output_size
        shapes = {
            key: _value_shape(spec, f"weights.{key}", problems)
            for key, spec in given.items()
            if spec is not None
        }
        if problems.items:
            return []
        if out_size is None and "w_ya" in shapes and len(shapes["w_ya"] or ()) == 2:
            out_size = shapes["w_ya"][0]  # type: ignore[index]
        if out_size is None and "w_ya" in shapes:
            raise SpecError(
                "weights.w_ya", f"expected a 2-D (O, H) array, got shape {shapes['w_ya']}"
            )
        if out_size is None and "b_y" in shapes:
            raise SpecError("weights.b_y", "an output bias needs an output layer: give output_size")
        check_sizes(cell, steps, n_in, sc.hidden_size, out_size)
        for key, got in shapes.items():
            assert got is not None
            check_shape(key, got, cell, n_in, sc.hidden_size, out_size)
    except SpecError as e:
        _spec_error(problems, e)
        return []
    arrays: dict[str, np.ndarray | None] = dict(
        seeded_weights(cell, n_in, sc.hidden_size, sc.seed, out_size)
    )
    for key in shapes:
        arrays[key] = _value(given[key], f"weights.{key}", problems)
    a0 = None if sc.a0 is None else _value(sc.a0, "a0", problems)
    c0 = None if sc.c0 is None else _value(sc.c0, "c0", problems)
    given_x = _value(sc.input, "input", problems)
    if problems.items or given_x is None:
        return []
    x = np.zeros((steps, n_in))  # steps without an input read zeros
    x[has_input] = given_x
    try:
        stage = RecurrentStage(
            x,
            cell,
            sc.hidden_size,
            arrays["weight_ih"],  # type: ignore[arg-type]
            arrays["weight_hh"],  # type: ignore[arg-type]
            arrays["bias_ih"],
            arrays["bias_hh"],
            a0=a0,
            c0=c0,
            w_ya=arrays.get("w_ya"),
            b_y=arrays.get("b_y"),
            name=cell,
            has_input=has_input,
            has_output=has_output,
            architecture=sc.architecture,
        )
        if sc.contrast is not None:
            stage.contrast_run(sc.contrast.step, sc.contrast.channel, sc.contrast.value)
    except SpecError as e:
        _spec_error(problems, e)
        return []
    return [stage]


def build_deep_recurrent(sc: DeepRecurrentScenario, problems: _Problems) -> list[Stage]:
    """A DeepRecurrentStage: layout, sizes and every given array's name and shape are checked
    before anything is generated; weights not given are drawn from ``seed``."""
    from engine.deep_recurrent import (
        DeepRecurrentStage,
        check_deep_shape,
        check_deep_sizes,
        check_layout,
        deep_parameter_shapes,
        deep_seeded_weights,
    )
    from engine.recurrent import check_cell

    given = {k: v for k, v in (sc.weights or {}).items() if v is not None}
    try:
        cell = check_cell(sc.cell)
        layers, dirs = check_layout(sc.num_layers, sc.bidirectional)
        shape = _value_shape(sc.input, "input", problems)
        if shape is None:
            return []
        if len(shape) != 2:
            raise SpecError(
                "input", f"expected a 2-D (T, input_size) array, got shape {list(shape)}"
            )
        steps, n_in = shape
        shapes = {
            key: _value_shape(spec, f"weights.{key}", problems) for key, spec in given.items()
        }
        if problems.items:
            return []
        out_size = sc.output_size
        if out_size is None and "w_ya" in shapes and len(shapes["w_ya"] or ()) == 2:
            out_size = shapes["w_ya"][0]  # type: ignore[index]
        if out_size is None and ("w_ya" in shapes or "b_y" in shapes):
            raise SpecError("weights.w_ya", "an output layer needs output_size or a 2-D w_ya")
        check_deep_sizes(cell, steps, n_in, sc.hidden_size, layers, dirs == 2, out_size)
        expected = deep_parameter_shapes(cell, n_in, sc.hidden_size, layers, dirs == 2, out_size)
        for key, got in shapes.items():
            assert got is not None
            check_deep_shape(key, got, expected)
    except SpecError as e:
        _spec_error(problems, e)
        return []
    arrays: dict[str, Any] = deep_seeded_weights(
        cell, n_in, sc.hidden_size, layers, dirs == 2, sc.seed, out_size
    )
    for key in shapes:
        arrays[key] = _value(given[key], f"weights.{key}", problems)
    x = _value(sc.input, "input", problems)
    if problems.items or x is None:
        return []
    try:
        stage = DeepRecurrentStage(
            x, cell, sc.hidden_size, layers, dirs == 2, arrays, name=f"{cell}x{layers}"
        )
    except SpecError as e:
        _spec_error(problems, e)
        return []
    return [stage]


def build_bptt(sc: BpttScenario, problems: _Problems) -> list[Stage]:
    """A BpttStage: sizes and given shapes are checked before anything is generated; weights not
    given are drawn from ``seed`` and W_aa is multiplied by ``recurrent_scale``."""
    from engine.bptt import BpttStage
    from engine.recurrent import check_shape, check_sizes, seeded_weights

    given = sc.weights.model_dump() if sc.weights is not None else {}
    try:
        if not (math.isfinite(sc.recurrent_scale) and sc.recurrent_scale > 0):
            raise SpecError(
                "recurrent_scale", f"must be a finite number > 0, got {sc.recurrent_scale!r}"
            )
        shape = _value_shape(sc.input, "input", problems)
        if shape is None:
            return []
        if len(shape) != 2:
            raise SpecError(
                "input", f"expected a 2-D (T, input_size) array, got shape {list(shape)}"
            )
        steps, n_in = shape
        shapes = {
            key: _value_shape(spec, f"weights.{key}", problems)
            for key, spec in given.items()
            if spec is not None
        }
        if problems.items:
            return []
        check_sizes("rnn", steps, n_in, sc.hidden_size)
        for key, got in shapes.items():
            assert got is not None
            check_shape(key, got, "rnn", n_in, sc.hidden_size)
    except SpecError as e:
        _spec_error(problems, e)
        return []
    arrays: dict[str, np.ndarray | None] = dict(
        seeded_weights("rnn", n_in, sc.hidden_size, sc.seed)
    )
    for key in shapes:
        arrays[key] = _value(given[key], f"weights.{key}", problems)
    a0 = None if sc.a0 is None else _value(sc.a0, "a0", problems)
    target = _value(sc.target, "target", problems)
    x = _value(sc.input, "input", problems)
    if problems.items or x is None or target is None or arrays["weight_hh"] is None:
        return []
    clip = None if sc.clip is None else (sc.clip.mode, sc.clip.threshold)
    try:
        stage = BpttStage(
            x,
            sc.hidden_size,
            arrays["weight_ih"],  # type: ignore[arg-type]
            sc.recurrent_scale * arrays["weight_hh"],
            arrays["bias_ih"],
            arrays["bias_hh"],
            target,
            a0=a0,
            loss=sc.loss,
            clip=clip,
        )
    except SpecError as e:
        _spec_error(problems, e)
        return []
    return [stage]


def load(path: str | Path, *, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Load a scenario file into a Simulation, or raise ScenarioError naming every problem.

    Stages that train (``learn_kernel``) call ``progress(done, total)`` now and then while they
    do, from the calling thread, so that a worker can drive a progress bar.
    """
    p = Path(path)
    data = read_toml(p)
    sc = validate(data, str(p))
    problems = _Problems()
    stages: list[Stage]
    if isinstance(sc, ConvScenario):
        conv = build_conv(sc, problems)
        stages = [conv] if conv is not None else []
    elif isinstance(sc, PoolScenario):
        stages = build_pool(sc, problems)
    elif isinstance(sc, LearnKernelScenario):
        stages = build_learn(sc, problems, progress)
    elif isinstance(sc, RecurrentScenario):
        stages = build_recurrent(sc, problems)
    elif isinstance(sc, BpttScenario):
        stages = build_bptt(sc, problems)
    elif isinstance(sc, DeepRecurrentScenario):
        stages = build_deep_recurrent(sc, problems)
    elif isinstance(sc, TokensScenario):
        from scenarios.tokens import build_tokens

        stages = build_tokens(sc, problems, p.parent)
    elif sc.kind == "language_model":
        from scenarios.language import LanguageModelScenario, build_language_model

        assert isinstance(sc, LanguageModelScenario)
        stages = build_language_model(sc, problems)
    else:
        assert isinstance(sc, PipelineScenario)
        stages = build_pipeline(sc, problems)
    if problems.items or not stages:
        raise ScenarioError(str(p), problems.items or [("(file)", "could not be built")])
    return Simulation(
        stages, title=sc.title, description=sc.description, topic=sc.topic, source=str(p)
    )
