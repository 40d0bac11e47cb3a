"""Headless traces of a simulation: step ranges, one text line per step, and JSON Lines records.

Pure functions over an ``engine.Simulation``; nothing here imports textual or torch, so the
command line, the tests and outside programs can all use them. The JSON Lines format is
documented in ``docs/trace-format.md``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import click
import numpy as np

from engine import ConvStep, Simulation, Stage, Step
from engine.core import Layered, SizeFormulas
from engine.limits import format_bytes
from tui import __version__

TRACE_FORMAT = 3
"""Version of the JSON Lines layout; raised when a field changes meaning or disappears.
2: network stages, whose arrays are inline, in a sidecar ``.npz`` file, or omitted.
3: the time step ``t`` of recurrent, deep_recurrent and bptt steps (and a recurrent
``contrast.step``) counts from 1, as in the course and the language models: x⟨1⟩ is the first
input and a⟨0⟩ the initial state."""

MAX_TERMS = 27
"""Most products a text line writes out one by one (a 3×3 kernel over 3 channels)."""

MAX_CHANNEL_SUMS = 16
"""Most per-channel sums a text line writes out when the products themselves are too many."""

MAX_LINE_BYTES = 64 << 20
"""Largest JSON line (the header, or one step's record) a trace writes: about 2.5 million
numbers. Larger ones are refused before anything is written (see ``check_json_size``)."""

BYTES_PER_NUMBER = 26
"""Most bytes one float64 takes in a JSON line: its shortest repr (up to 24 characters), ", "."""

INLINE_NUMBERS = 1 << 20
"""Most numbers (input, parameters, buffers and every layer's output) a network may have for
its trace to hold them inline; a larger network's arrays go to a sidecar file (``--arrays``)
or are left out, so that VGG-16's ~150 million numbers never become one JSON line."""

_SLICE = re.compile(r"^\s*(?P<start>[+-]?\d+)?\s*:\s*(?P<stop>[+-]?\d+)?\s*$")
_SINGLE = re.compile(r"^\s*(?P<index>[+-]?\d+)\s*$")


# -- choosing steps --------------------------------------------------------------------------


def parse_steps(spec: str | None, total: int) -> range:
    """The global step indices (from 0) a ``--steps`` value selects, as a ``range``.

    ``spec`` numbers steps from 1, as the player and the text trace do, and a range includes
    both ends: ``3:7`` is steps 3 to 7, ``:10`` the first ten, ``5:`` step 5 to the last,
    ``-3:`` the last three (−1 is the last step); a single number ``7`` selects step 7;
    ``None`` selects every step. A step beyond the scenario, step 0, or a range that selects
    nothing is an error, because a trace that silently prints less than was asked for is worse
    than a clear message.

    Raises:
        ValueError: the spec is malformed, out of range, or selects no steps.
    """
    if spec is None:
        return range(total)
    single = _SINGLE.match(spec)
    if single:
        i = step_index(int(single["index"]), total, spec)
        return range(i, i + 1)
    m = _SLICE.match(spec)
    if not m:
        raise ValueError(f"{spec!r} is not a step range; write FIRST:LAST, e.g. 3:7, :10 or 5:")
    first = step_index(int(m["start"]), total, spec) if m["start"] else 0
    last = step_index(int(m["stop"]), total, spec) if m["stop"] else total - 1
    if first > last:
        raise ValueError(
            f"{spec!r} selects no steps (step {first + 1} comes after step {last + 1}); "
            f"the scenario has {total} steps, numbered 1 to {total}"
        )
    return range(first, last + 1)


def step_index(number: int, total: int, spec: object = None, what: str = "step") -> int:
    """The 0-based index of step ``number`` as people count it: 1 is the first step, ``total``
    the last, −1 the last and −``total`` the first. ValueError naming the valid range (and
    ``spec``, what was written, if given) for anything else, step 0 included. ``what`` names
    the things counted (``"layer"`` for a whole network, whose steps are its layers)."""
    j = number + total if number < 0 else number - 1
    if number == 0 or not 0 <= j < total:
        given = repr(spec) if spec is not None else str(number)
        first = f"{what}s count from 1; " if number == 0 else ""
        whole = "network" if what == "layer" else "scenario"
        raise ValueError(
            f"{given} is out of range: {first}the {whole} has {total} {what}s, numbered 1 to "
            f"{total} (or -{total} to -1 from the end)"
        )
    return j


def locate_range(sim: Simulation, steps: range) -> Iterator[tuple[int, int, int]]:
    """``(global index, stage number, local index)`` for each selected step, in order.

    Walks stage by stage instead of searching the offsets once per step.
    """
    for number, (stage, offset) in enumerate(zip(sim.stages, sim.offsets, strict=True)):
        lo = max(steps.start, offset)
        hi = min(steps.stop, offset + len(stage))
        for g in range(lo, hi):
            yield g, number, g - offset


# -- numbers ---------------------------------------------------------------------------------


def format_number(x: float) -> str:
    """``x`` written exactly: whole numbers without a point, others in Python's shortest form.

    Python's ``repr`` of a float is the shortest text that reads back as the same float, so
    nothing is rounded away: ``1/9`` is ``0.1111111111111111``.
    """
    x = float(x)
    if x == 0:
        return "0"  # also for -0.0, which would only confuse
    if math.isfinite(x) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _term(x: float) -> str:
    """A number as an operand: negative numbers in parentheses, so ``0·(-1)`` reads clearly."""
    s = format_number(x)
    return f"({s})" if s.startswith("-") else s


# -- text ------------------------------------------------------------------------------------


def conv_sum(step: ConvStep) -> str:
    """The right-hand side of a convolution step: its products, or channel sums, plus bias."""
    channels = step.window.shape[0]
    if step.products.size <= MAX_TERMS:
        groups = [
            " + ".join(
                f"{_term(x)}·{_term(w)}"
                for x, w in zip(step.window[c].ravel(), step.kernel[c].ravel(), strict=True)
            )
            for c in range(channels)
        ]
        body = " + ".join(f"({g})" for g in groups) if channels > 1 else groups[0]
    elif 1 < channels <= MAX_CHANNEL_SUMS:
        body = " + ".join(
            f"[channel {c}: {format_number(s)}]" for c, s in enumerate(step.partial_sums)
        )
    else:
        body = f"[sum of {step.products.size} products: {format_number(step.partial_sums.sum())}]"
    return f"{body} + bias {_term(step.bias)}"


def conv_window(step: ConvStep) -> str:
    """Where the window sits in the input, and how many of its cells are padding."""
    fh, fw = step.window.shape[1:]
    where = f"window rows {step.top}..{step.top + fh - 1}, cols {step.left}..{step.left + fw - 1}"
    pad = int(step.padding_mask.sum())
    if pad:
        where += f"; {pad} of {fh * fw} cells are padding"
    return where


def text_line(step: Step, global_index: int, total: int) -> str:
    """One readable, exact line for a step: which output, how it is computed, its value.
    ``global_index`` is from 0; the line numbers steps from 1, as the player does."""
    width = len(str(total))
    head = f"step {global_index + 1:>{width}} of {total}  {step.stage}"
    if isinstance(step, ConvStep):
        return (
            f"{head}  out[{step.filter},{step.row},{step.col}] = {conv_sum(step)}"
            f" = {format_number(step.value)}   ({conv_window(step)})"
        )
    return f"{head}  #{step.index + 1} = {format_number(step.value)}   ({step.explanation})"


def text_lines(sim: Simulation, steps: range) -> Iterator[str]:
    """One line per selected step, in order, without newlines."""
    total = len(sim)
    for g, number, local in locate_range(sim, steps):
        yield text_line(sim.stages[number].step(local), g, total)


# -- JSON Lines ------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON data from what steps and descriptions hold (arrays become nested lists)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            # Entries not computed yet (a translation's α rows to come) are NaN: JSON has no
            # NaN, so they are written as null.
            out = value.astype(object)
            out[np.isnan(value)] = None
            return out.tolist()
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a step inside a step (a deep RNN's one-layer step), a beam's hypotheses and records
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def stage_header(
    sim: Simulation, number: int, arrays: NetworkArrays | None = None
) -> dict[str, Any]:
    """A stage as the trace header describes it: its place in the run and its full description
    (for a network, where its arrays are: see ``NetworkArrays``)."""
    stage: Stage = sim.stages[number]
    out: dict[str, Any] = {"number": number, "offset": sim.offsets[number]}
    out.update(jsonable(stage.describe()))
    if isinstance(stage, SizeFormulas):
        height, width = stage.size_formulas()
        out["output_size_formulas"] = {"height": height, "width": width}
    if isinstance(stage, Layered):
        out["arrays"] = (arrays or NetworkArrays.choose(stage)).header()
    return out


# -- the arrays of a network -----------------------------------------------------------------


def network_numbers(stage: Layered) -> int:
    """How many numbers a network's trace would hold: its input, every entry of its state_dict
    (parameters and buffers) and every layer's output, from shapes alone."""
    net = stage.network
    total = int(np.prod(net.input_shape))
    total += sum(int(np.prod(shape)) for shape in net.param_shapes().values())
    total += sum(net.activation_size(layer.name) for layer in net.layers)
    return total


class NetworkArrays:
    """Where a network stage's arrays are in a trace.

    ``inline``: the header holds the input and the state_dict, and each layer's step record
    its output, so the trace alone recomputes every layer (networks of at most INLINE_NUMBERS
    numbers). ``file``: the same arrays in a sidecar ``.npz`` (``netsim trace --arrays``), under
    the keys ``input``, ``param/<state_dict key>`` and ``output/<layer>``, which the header and
    the records name. ``omitted``: neither; the header says how many numbers there would be and
    how to get them.
    """

    def __init__(self, stage: Layered, where: str, file: str = "", prefix: str = "") -> None:
        self.stage = stage
        self.where = where
        self.file = file
        self.prefix = prefix
        """Put before every sidecar key (``stage<N>/`` when a trace has several networks)."""

    @classmethod
    def choose(cls, stage: Layered, file: str = "", prefix: str = "") -> NetworkArrays:
        """A sidecar file if one is named, else inline if the network is small, else omitted."""
        if file:
            return cls(stage, "file", file, prefix)
        return cls(stage, "inline" if network_numbers(stage) <= INLINE_NUMBERS else "omitted")

    def header(self) -> dict[str, Any]:
        net = self.stage.network
        out: dict[str, Any] = {"where": self.where, "numbers": network_numbers(self.stage)}
        if self.where == "inline":
            out["input"] = jsonable(net.input)
            out["params"] = {k: jsonable(v) for k, v in net.params.items()}
        elif self.where == "file":
            out["file"] = self.file
            out["input"] = f"{self.prefix}input"
            out["params"] = {k: f"{self.prefix}param/{k}" for k in net.params}
        else:
            out["why"] = (
                f"the network has {network_numbers(self.stage):,} numbers, more than the "
                f"{INLINE_NUMBERS:,} a trace holds inline; `netsim trace FILE --format json "
                "--arrays FILE.npz` writes them to a file beside the trace"
            )
        return out

    def record(self, step: Step) -> dict[str, Any]:
        """What a layer's step record adds: its output, or the sidecar key that holds it."""
        layer = getattr(step, "layer", None)
        if layer is None or self.where == "omitted":
            return {}
        if self.where == "file":
            return {"output": f"{self.prefix}output/{layer}"}
        return {"output": jsonable(self.stage.network.output(layer))}

    def arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every array under its sidecar key, computing the layers' outputs as it goes."""
        net = self.stage.network
        yield f"{self.prefix}input", net.input
        for k, v in net.params.items():
            yield f"{self.prefix}param/{k}", v
        for layer in net.layers:
            yield f"{self.prefix}output/{layer.name}", net.output(layer.name)

    def header_bytes(self) -> int:
        """An upper bound on the JSON the arrays add to the header."""
        if self.where != "inline":
            return 64 * (len(self.stage.network.params) + 4)
        net = self.stage.network
        numbers = int(np.prod(net.input_shape))
        numbers += sum(int(np.prod(s)) for s in net.param_shapes().values())
        return BYTES_PER_NUMBER * numbers + 64 * len(net.params)

    def record_bytes(self, step: Step) -> int:
        layer = getattr(step, "layer", None)
        if layer is None or self.where != "inline":
            return 256
        return BYTES_PER_NUMBER * self.stage.network.activation_size(layer)


def network_arrays(sim: Simulation, file: str = "") -> dict[int, NetworkArrays]:
    """Stage number → where that network stage's arrays go, for every network stage."""
    found = [n for n, stage in enumerate(sim.stages) if isinstance(stage, Layered)]
    several = len(found) > 1
    out = {}
    for n in found:
        stage = sim.stages[n]
        assert isinstance(stage, Layered)
        out[n] = NetworkArrays.choose(stage, file, f"stage{n}/" if several else "")
    return out


def header_record(
    sim: Simulation, steps: range, arrays: dict[int, NetworkArrays] | None = None
) -> dict[str, Any]:
    """The first JSON Lines record: the scenario, every stage, and which steps follow.
    ``arrays`` says where each network stage's arrays go (by default: ``network_arrays``)."""
    arrays = network_arrays(sim) if arrays is None else arrays
    return {
        "type": "header",
        "trace_format": TRACE_FORMAT,
        "netsim_version": __version__,
        "source": sim.source,
        "title": sim.title,
        "topic": sim.topic,
        "description": sim.description,
        "steps": len(sim),
        "selected": {"start": steps.start, "stop": steps.stop, "count": len(steps)},
        "stages": [stage_header(sim, n, arrays.get(n)) for n in range(len(sim.stages))],
    }


def step_record(step: Step, global_index: int, stage_number: int, kind: str) -> dict[str, Any]:
    """One step as a JSON Lines record: where it is, then every field of the step."""
    out: dict[str, Any] = {
        "type": "step",
        "step": global_index,
        "stage_number": stage_number,
        "kind": kind,
    }
    for f in dataclasses.fields(step):
        out[f.name] = jsonable(getattr(step, f.name))
    return out


class TraceTooLarge(click.ClickException):
    """A JSON trace line would exceed MAX_LINE_BYTES; shown as one ``Error:`` line, exit 1."""


def _count(value: Any, depth: int = 0) -> int:
    """An upper bound on the bytes ``value`` takes in JSON, from the sizes of the arrays and
    strings it holds (a stage's attributes, a step's fields), without converting anything."""
    if isinstance(value, np.ndarray):
        return BYTES_PER_NUMBER * value.size
    if isinstance(value, str):
        return 2 * len(value) + 4  # escapes at most double a character, plus quotes
    if isinstance(value, (int, float, bool, np.generic)) or value is None or depth > 4:
        return BYTES_PER_NUMBER
    if isinstance(value, dict):
        return sum(_count(k, depth + 1) + _count(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(_count(v, depth + 1) for v in value)
    if isinstance(value, Step):
        return sum(_count(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    if hasattr(value, "__dict__"):  # a stage, or an object a stage holds (a vocabulary)
        return sum(_count(v, depth + 1) for v in vars(value).values())
    return BYTES_PER_NUMBER


def header_bytes(sim: Simulation, arrays: dict[int, NetworkArrays] | None = None) -> int:
    """An upper bound on the JSON header's size: every array every stage holds, written out
    (a network stage: its layer table, and its arrays only where they go inline)."""
    arrays = network_arrays(sim) if arrays is None else arrays
    total = 4096
    for n, stage in enumerate(sim.stages):
        if n in arrays:
            total += 512 * len(stage) + arrays[n].header_bytes()
        else:
            total += _count(stage)
    return total


def check_json_size(
    sim: Simulation, steps: range, arrays: dict[int, NetworkArrays] | None = None
) -> None:
    """TraceTooLarge unless the header and one record of each stage in ``steps`` are each at
    most MAX_LINE_BYTES, estimated from array sizes before anything is converted."""
    arrays = network_arrays(sim) if arrays is None else arrays
    need = header_bytes(sim, arrays)
    if need > MAX_LINE_BYTES:
        raise TraceTooLarge(
            f"the JSON trace's header line, which holds every array of the scenario, would take "
            f"about {format_bytes(need)}; the limit is {format_bytes(MAX_LINE_BYTES)}. Use "
            "--format text, or a smaller scenario"
        )
    for number, (stage, offset) in enumerate(zip(sim.stages, sim.offsets, strict=True)):
        lo, hi = max(steps.start, offset), min(steps.stop, offset + len(stage))
        if lo >= hi:
            continue
        if number in arrays:  # a network: the largest layer output among the selected steps
            need = 1024 + max(
                arrays[number].record_bytes(stage.step(i - offset)) for i in range(lo, hi)
            )
        else:
            need = 1024 + _count(stage.step(lo - offset))
        if need > MAX_LINE_BYTES:
            raise TraceTooLarge(
                f"one JSON record of stage {number} ({stage.name}) would take about "
                f"{format_bytes(need)}; the limit is {format_bytes(MAX_LINE_BYTES)}. Use "
                "--format text, or a smaller kernel"
            )


def json_lines(sim: Simulation, steps: range, *, arrays_file: str = "") -> Iterator[str]:
    """The header line, then one line per selected step; each a JSON object without newline.

    A network stage's arrays go inline when it is small, else they are left out, or, with
    ``arrays_file``, named by their key in that sidecar file (which ``write_arrays`` writes).

    The sizes are checked when this is called, before the first line is made: TraceTooLarge
    (a click exception, so ``netsim trace`` prints one line) if one would exceed
    MAX_LINE_BYTES."""
    arrays = network_arrays(sim, arrays_file)
    check_json_size(sim, steps, arrays)
    return _json_lines(sim, steps, arrays)


def _json_lines(sim: Simulation, steps: range, arrays: dict[int, NetworkArrays]) -> Iterator[str]:
    yield json.dumps(header_record(sim, steps, arrays))
    for g, number, local in locate_range(sim, steps):
        stage = sim.stages[number]
        step = stage.step(local)
        record = step_record(step, g, number, stage.kind)
        if number in arrays:
            record.update(arrays[number].record(step))
        yield json.dumps(record)


def write_arrays(sim: Simulation, path: str) -> None:
    """Write every network stage's arrays to the ``.npz`` file ``path`` (the keys of
    ``NetworkArrays``; with several network stages, prefixed ``stage<N>/``), through a temporary
    file renamed over it: a failure leaves nothing behind."""
    import os
    import tempfile
    import zipfile

    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for where in network_arrays(sim, target).values():
                for key, value in where.arrays():
                    with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                        np.lib.format.write_array(
                            f, np.ascontiguousarray(value), allow_pickle=False
                        )
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; give it a normal mode
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
