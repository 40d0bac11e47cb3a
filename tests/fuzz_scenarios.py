"""Scenario files for fuzzing: valid and mutated TOML for every registered scenario kind.

Each case starts from a bundled scenario of a kind taken from the registry (so a new kind is
covered as soon as it is registered and bundled), applies a few mutations to the parsed data —
dropped and unknown keys, values of another type, extreme numbers, small and huge shapes,
swapped values, pipeline stages duplicated, removed or changed — writes it back as TOML, and
sometimes damages the text itself (truncated, bytes inserted, a byte-order mark, invalid UTF-8).

Generation goes through a ``Draw`` (a source of choices): ``HypothesisDraw`` for the property
tests, so that failures shrink, and ``RandomDraw`` for ``scripts/fuzz_scenarios.py``, so that
file N of a seeded run is the same file every time. ``check_file`` is the property every
generated file must satisfy.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import re
import shutil
import tomllib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import scenarios
from scenarios.errors import ScenarioError
from scenarios.registry import all_field_names, kinds, ops

T = TypeVar("T")

MAX_LINE = 400
"""A refusal's line is at most this long."""

SMALL_DIMS = (0, 1, 2, 3, 4, 5, 6, 8)
"""Sizes that keep a valid scenario quick to load."""
HUGE_DIMS = (-1, 10**4, 10**5, 10**9, 2**31, 2**63 - 1, 2**63, 10**30)
"""Sizes that must be refused from the shape alone, before anything is allocated."""


# -- sources of choices --------------------------------------------------------------------------


class Draw(Protocol):
    """Where the generator's choices come from."""

    def integer(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` (not empty)."""
        ...

    def chance(self, p: float) -> bool:
        """True with probability about ``p``."""
        ...


class RandomDraw:
    """Choices from a seeded ``random.Random``: the same seed gives the same file."""

    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


class HypothesisDraw:
    """Choices drawn from hypothesis's ``data()``, so that a failing case shrinks."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data = data
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return int(self.data.draw(self.st.integers(lo, hi)))

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, p: float) -> bool:
        # Shrinks towards False (no mutation).
        return self.integer(0, 999) >= 1000 - p * 1000


# -- what the registry and the bundled files offer ---------------------------------------------


@dataclass(frozen=True)
class Seed:
    """A bundled scenario parsed: the starting point of mutations."""

    name: str
    kind: str
    data: dict[str, Any]


@functools.cache
def seeds() -> dict[str, list[Seed]]:
    """Every registered kind → its bundled scenarios, parsed. A kind with none bundled starts
    from ``{"kind": name}`` alone."""
    out: dict[str, list[Seed]] = {name: [] for name in sorted(kinds())}
    for entry in scenarios.bundled():
        data = tomllib.loads(entry.path.read_text(encoding="utf-8"))
        kind = data.get("kind")
        if isinstance(kind, str) and kind in out:
            out[kind].append(Seed(entry.name, kind, data))
    for name, found in out.items():
        if not found:
            found.append(Seed(f"(bare {name})", name, {"kind": name}))
    return out


@functools.cache
def op_examples() -> dict[str, list[dict[str, Any]]]:
    """Every registered pipeline op → the stage tables bundled scenarios give it (or just
    ``{"op": name}``)."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in sorted(ops())}
    for found in seeds().values():
        for seed in found:
            for stage in seed.data.get("stages", []) or []:
                if isinstance(stage, dict) and stage.get("op") in out:
                    out[stage["op"]].append(stage)
    for name, tables in out.items():
        if not tables:
            tables.append({"op": name})
    return out


@functools.cache
def field_names() -> list[str]:
    return sorted(all_field_names())


# -- values --------------------------------------------------------------------------------------

HOSTILE_STRINGS = (
    "",
    " ",
    "1",
    "-1",
    "0.5",
    "1e308",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "true",
    "[/]",
    "[bold]",
    "[bold red]x[/]",
    "[/bold]oops",
    "[link=http://x]",
    "\\",
    "\t",
    "ä",
    "日本語のテキスト",
    "👍🏽",
    "\u200b",
    "e\u0301",
    "\u202eevil",
    "x" * 300,
    "y" * 5000,
    "a b c",
    "valid",
    "same",
    "vertical_edge",
    "lstm",
    "gru",
    "rnn",
    "char",
    "word",
    "sample",
    "score",
    "max",
    "average",
    "norm",
    "value",
    "last",
    "all",
    "digits",
    "images",
    "relu",
    "conv",
    "\x7f",
)

PATH_STRINGS = (
    "",
    ".",
    "..",
    "data",
    "data/",
    "data/missing.txt",
    "data/names.txt",
    "data/sentences.txt",
    "data/corpus_cats.txt",
    "data/digits.npz",
    "../../../../etc/passwd",
    "/etc/passwd",
    "/etc/hostname",
    "/proc/self/environ",
    "/proc/self/status",
    "~/x.txt",
    "~nosuchuser/x.txt",
    "n" * 300 + ".txt",
    "data/" + "d/" * 100 + "x.txt",
    "nul\x00byte.txt",
)

HOSTILE_NUMBERS: tuple[Any, ...] = (
    0,
    1,
    -1,
    2,
    -2,
    3,
    7,
    255,
    -(2**31),
    2**31,
    2**63 - 1,
    2**63,
    -(2**63),
    10**30,
    0.0,
    -0.0,
    0.5,
    -0.5,
    1e-308,
    5e-324,
    1e200,
    -1e200,
    1e300,
    1e308,
    -1e308,
    1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
)


def hostile_value(d: Draw, depth_limit: int = 600) -> Any:
    """A value of some type a field may not expect."""
    pick = d.integer(0, 12)
    if pick <= 3:
        return d.choice(HOSTILE_NUMBERS)
    if pick <= 5:
        return d.choice(HOSTILE_STRINGS)
    if pick == 6:
        return d.choice((True, False))
    if pick == 7:
        return d.choice(([], [[]], [[], []], [1, "a"], [True], [1.5, 2.5], [[1, 2], [3]]))
    if pick == 8:
        # Deep enough to break a recursive parser only now and then: it would hide the rest.
        depth = d.choice((2, 3, 5, 10, 20, 50, 100, 2, 3, 5, 10, 20, 50, 100, 500, depth_limit))
        return nested_list(depth, d.choice((1, "x", 0.5)))
    if pick == 9:
        return d.choice(({}, {"random": [2, 2]}, {"x": 1}, {"data": "digits"}, {"seed": 0}))
    if pick == 10:
        return {"random": random_shape(d), "seed": d.integer(-1, 3)}
    if pick == 11:
        rows, cols = d.integer(0, 5), d.integer(0, 5)
        fill = d.choice((*HOSTILE_NUMBERS[:18], 1e308, math.nan, "1"))
        return [[fill for _ in range(cols)] for _ in range(rows)]
    return d.choice(HOSTILE_NUMBERS)


@dataclass(frozen=True)
class Nested:
    """``leaf`` inside ``depth`` one-element lists, written out only as TOML text: kept as one
    object so that copying and mutating a document never recurses that deep."""

    depth: int
    leaf: Any

    def __deepcopy__(self, memo: dict[int, Any]) -> Nested:
        return self


def nested_list(depth: int, leaf: Any) -> Nested:
    return Nested(depth, leaf)


def random_shape(d: Draw) -> list[Any]:
    """A shape for ``random = [...]``: usually small, sometimes of another rank or huge."""
    rank = d.choice((1, 2, 2, 3, 3, 4, 0, 5))
    shape: list[Any] = [d.choice(SMALL_DIMS[1:]) for _ in range(rank)]
    if shape and d.chance(0.3):
        shape[d.integer(0, len(shape) - 1)] = d.choice(HUGE_DIMS + SMALL_DIMS[:1])
    if shape and d.chance(0.05):
        shape[d.integer(0, len(shape) - 1)] = d.choice((1.5, "3", True, None))
    return [s for s in shape if s is not None]


def similar_value(d: Draw, old: Any, depth: int = 0) -> Any:
    """A value of the same type as ``old``, usually still valid: for scenarios that load."""
    if depth > 4:
        return old
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return d.choice((0, 1, 2, 3, 4, 5, old, old + 1, max(old - 1, 0), old * 2))
    if isinstance(old, float):
        return d.choice((0.0, 0.1, 0.5, 1.0, 2.0, -1.0, old, old * 2, old / 2, -old))
    if isinstance(old, list) and old and all(_is_number(x) for x in old):
        n = max(1, min(8, len(old) + d.integer(-2, 2)))
        return [similar_value(d, old[i % len(old)], depth + 1) for i in range(n)]
    if isinstance(old, list) and old and all(isinstance(x, list) for x in old):
        rows = max(1, min(8, len(old) + d.integer(-1, 1)))
        return [similar_value(d, old[i % len(old)], depth + 1) for i in range(rows)]
    if isinstance(old, dict) and "random" in old:
        new = dict(old)
        new["random"] = (
            [d.choice(SMALL_DIMS[1:]) for _ in old["random"]]
            if isinstance(old["random"], list)
            else old["random"]
        )
        if d.chance(0.5):
            new["seed"] = d.integer(0, 99)
        return new
    if isinstance(old, str):
        return d.choice(HOSTILE_STRINGS[20:48]) if d.chance(0.5) else old
    return old


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# -- mutations of the parsed data ----------------------------------------------------------------

Path_ = tuple[str | int, ...]


def _paths(node: Any, prefix: Path_ = (), limit: int = 400) -> Iterator[Path_]:
    """Every key and index path inside ``node`` (lists of numbers are not entered, nor
    anything nested more than a few levels deep)."""
    if len(prefix) > 8:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k), limit)
    elif isinstance(node, list) and not all(_is_number(x) for x in node):
        for i, v in enumerate(node[:limit]):
            if isinstance(v, dict | list):
                yield (*prefix, i)
                yield from _paths(v, (*prefix, i), limit)


def _get(root: Any, path: Path_) -> Any:
    for part in path:
        root = root[part]
    return root


def _parent(root: Any, path: Path_) -> tuple[Any, str | int]:
    return _get(root, path[:-1]), path[-1]


def _typo(d: Draw, key: str) -> str:
    if not key:
        return "x"
    i = d.integer(0, len(key) - 1)
    how = d.integer(0, 3)
    if how == 0:
        return key[:i] + key[i + 1 :] or "x"
    if how == 1:
        return key[:i] + d.choice("abcdefxyz_") + key[i:]
    if how == 2:
        return key.upper()
    return key + "s"


def _mutate(d: Draw, doc: dict[str, Any], notes: list[str]) -> None:
    """One mutation of ``doc``, in place, described in ``notes``."""
    paths = list(_paths(doc))
    how = d.integer(0, 15)
    if how == 0 and paths:  # drop a key or an element
        path = d.choice(paths)
        parent, key = _parent(doc, path)
        del parent[key]
        notes.append(f"drop {_show(path)}")
    elif how == 1:  # add an unknown key, a typo of a known one, or a key of another kind
        tables = [p for p in [(), *paths] if isinstance(_get(doc, p), dict)]
        where = d.choice(tables)
        table = _get(doc, where)
        known = [k for k in table if isinstance(k, str)]
        name = d.choice(
            (
                "unknown_key",
                _typo(d, d.choice(known)) if known else "x",
                d.choice(field_names()),
                "ä",
                "with space",
                "",
            )
        )
        table[name] = hostile_value(d) if d.chance(0.5) else 1
        notes.append(f"add {_show((*where, name))}")
    elif how in (2, 3, 4) and paths:  # a value of another type, or an extreme one
        path = d.choice(paths)
        parent, key = _parent(doc, path)
        parent[key] = hostile_value(d)
        notes.append(f"replace {_show(path)} (hostile)")
    elif how in (5, 6) and paths:  # a value of the same type, mostly still valid
        path = d.choice(paths)
        parent, key = _parent(doc, path)
        parent[key] = similar_value(d, parent[key])
        notes.append(f"vary {_show(path)}")
    elif how == 7:  # shapes: small, of another rank, or huge
        shapes = [p for p in paths if p[-1] == "random"]
        if shapes:
            path = d.choice(shapes)
            parent, key = _parent(doc, path)
            parent[key] = random_shape(d)
            notes.append(f"shape {_show(path)}")
        else:
            _size_field(d, doc, paths, notes)
    elif how == 8:
        _size_field(d, doc, paths, notes)
    elif how == 9 and len(paths) >= 2:  # swap two values
        a, b = d.choice(paths), d.choice(paths)
        if a[: len(b)] != b and b[: len(a)] != a:  # neither inside the other
            pa, ka = _parent(doc, a)
            pb, kb = _parent(doc, b)
            pa[ka], pb[kb] = pb[kb], pa[ka]
            notes.append(f"swap {_show(a)} {_show(b)}")
    elif how == 10:  # the kind
        doc["kind"] = d.choice([*sorted(kinds()), "Conv", "", "nope", 1])
        notes.append(f"kind {doc['kind']!r}")
    elif how in (11, 12):  # pipeline stages
        _mutate_stages(d, doc, notes)
    elif how == 13:  # paths to data files
        strings = [p for p in paths if isinstance(_get(doc, p), str)]
        files = [p for p in strings if str(p[-1]).endswith("_file")] or strings
        if files:
            path = d.choice(files)
            parent, key = _parent(doc, path)
            parent[key] = d.choice(PATH_STRINGS)
            notes.append(f"path {_show(path)}")
        else:
            doc[d.choice(("corpus_file", "file", "data"))] = d.choice(PATH_STRINGS)
            notes.append("path (new)")
    elif how == 14:  # markup and long text where the screen shows text
        key = d.choice(("title", "description", "topic", "name", "text", "corpus", "prefix"))
        target = doc
        stages = doc.get("stages")
        if key == "name" and isinstance(stages, list) and stages and isinstance(stages[0], dict):
            target = d.choice(stages)
        if isinstance(target, dict):
            target[key] = d.choice(HOSTILE_STRINGS)
            notes.append(f"text {key}")
    elif how == 15:  # a data spec
        inputs = [p for p in paths if p[-1] in ("input", "images", "kernel", "init", "target")]
        path = d.choice(inputs) if inputs else ("input",)
        parent, key = _parent(doc, path)
        parent[key] = {
            "data": d.choice(("digits", "images", "nope", "", "../x")),
            "index": d.choice((0, 1, 173, -1, 10**9, 2**63, 1.5, "0")),
        }
        notes.append(f"data {_show(path)}")


SIZE_WORDS = ("size", "steps", "length", "length", "iterations", "tokens", "units", "layers")


def _size_field(d: Draw, doc: dict[str, Any], paths: list[Path_], notes: list[str]) -> None:
    """A count or size field (``hidden_size``, ``max_length``, ``iterations``…): small or huge."""
    sized = [p for p in paths if any(w in str(p[-1]) for w in SIZE_WORDS)]
    if not sized:
        return
    path = d.choice(sized)
    parent, key = _parent(doc, path)
    parent[key] = d.choice(SMALL_DIMS) if d.chance(0.5) else d.choice((*HUGE_DIMS, 1e9, 1e10, 1e30))
    notes.append(f"size {_show(path)}={parent[key]!r}")


def _mutate_stages(d: Draw, doc: dict[str, Any], notes: list[str]) -> None:
    stages = doc.get("stages")
    if not isinstance(stages, list) or not stages:
        stages = doc["stages"] = [copy.deepcopy(d.choice(d.choice(list(op_examples().values()))))]
        notes.append("stages (new)")
        return
    how = d.integer(0, 5)
    i = d.integer(0, len(stages) - 1)
    if how == 0:
        stages.insert(i, copy.deepcopy(stages[i]))
        notes.append(f"duplicate stages[{i}]")
    elif how == 1:
        del stages[i]
        notes.append(f"remove stages[{i}]")
    elif how == 2:
        example = d.choice(op_examples()[d.choice(sorted(op_examples()))])
        stages.insert(i, copy.deepcopy(example))
        notes.append(f"insert {example.get('op')} at stages[{i}]")
    elif how == 3 and isinstance(stages[i], dict):
        stages[i]["op"] = d.choice([*sorted(ops()), "Relu", "", "softmax", 3])
        notes.append(f"op of stages[{i}] = {stages[i]['op']!r}")
    elif how == 4:
        j = d.integer(0, len(stages) - 1)
        stages[i], stages[j] = stages[j], stages[i]
        notes.append(f"swap stages[{i}] stages[{j}]")
    else:
        count = d.choice((10, 20, 60))
        stages[:] = [copy.deepcopy(stages[k % len(stages)]) for k in range(count)]
        notes.append(f"repeat stages x{count}")


def _show(path: Path_) -> str:
    return ".".join(str(p) for p in path)


# -- TOML ----------------------------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: Any) -> str:
    key = str(key)
    return key if _BARE.match(key) else toml_string(key)


def toml_string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_value(v: Any) -> str:
    """``v`` as an inline TOML value (iteratively, so deep nesting does not exhaust the stack)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, Nested):
        return "[" * v.depth + toml_value(v.leaf) + "]" * v.depth
    if isinstance(v, list):
        depth = 0
        while isinstance(v, list) and len(v) == 1 and isinstance(v[0], list):
            depth += 1
            v = v[0]
        inner = "[" + ", ".join(toml_value(x) for x in v) + "]"
        return "[" * depth + inner + "]" * depth
    if isinstance(v, dict):
        items = [f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def to_toml(doc: dict[str, Any]) -> str:
    """``doc`` as TOML: plain keys first, then ``[table]`` and ``[[array of tables]]``."""
    head, tables = [], []
    for k, v in doc.items():
        if v is None:
            continue
        if isinstance(v, dict) and v:
            body = "".join(
                f"{toml_key(k2)} = {toml_value(x)}\n" for k2, x in v.items() if x is not None
            )
            tables.append(f"\n[{toml_key(k)}]\n{body}")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                body = "".join(
                    f"{toml_key(k2)} = {toml_value(y)}\n" for k2, y in x.items() if y is not None
                )
                tables.append(f"\n[[{toml_key(k)}]]\n{body}")
        else:
            head.append(f"{toml_key(k)} = {toml_value(v)}\n")
    return "".join(head) + "".join(tables)


# -- raw text --------------------------------------------------------------------------------------


def _damage(d: Draw, data: bytes, notes: list[str]) -> bytes:
    """The file's bytes with one defect the TOML parser or the UTF-8 decoder must report."""
    how = d.integer(0, 7)
    at = d.integer(0, len(data)) if data else 0
    if how == 0:
        notes.append(f"truncate at {at}")
        return data[:at]
    if how == 1:
        junk = d.choice((b"=", b"[", b"]", b'"', b"{", b"\n[[stages]]\n", b"\x00", b"\\u", b"#"))
        notes.append(f"insert {junk!r} at {at}")
        return data[:at] + junk + data[at:]
    if how == 2:
        notes.append("byte-order mark")
        return b"\xef\xbb\xbf" + data
    if how == 3:
        bad = d.choice((b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc"))
        notes.append(f"invalid UTF-8 {bad!r} at {at}")
        return data[:at] + bad + data[at:]
    if how == 4:
        lines = data.split(b"\n")
        i = d.integer(0, len(lines) - 1)
        notes.append(f"duplicate line {i + 1}")
        return b"\n".join([*lines[: i + 1], *lines[i:]])
    if how == 5:
        notes.append("CRLF line ends")
        return data.replace(b"\n", b"\r\n")
    if how == 6:
        depth = d.choice((10, 100, 200, 330, 500, 1000))
        notes.append(f"inline tables nested {depth} deep")
        return data + b"\ndeep = " + b"{ a = " * depth + b"1" + b" }" * depth + b"\n"
    notes.append("empty file")
    return b""


# -- one case --------------------------------------------------------------------------------------


@dataclass
class Case:
    """A generated scenario file: which kind and bundled file it came from, what was done."""

    kind: str
    source: str
    notes: list[str] = field(default_factory=list)
    data: bytes = b""

    @property
    def valid_intent(self) -> bool:
        """Whether no mutation was applied (the file is a bundled one, written back)."""
        return not self.notes


def generate(d: Draw, kind: str | None = None) -> Case:
    """One scenario file for ``kind`` (or a kind drawn from the registry)."""
    all_seeds = seeds()
    kind = kind if kind is not None else d.choice(sorted(all_seeds))
    seed = d.choice(all_seeds[kind])
    doc = copy.deepcopy(seed.data)
    case = Case(kind, seed.name)
    count = d.choice((0, 1, 1, 1, 2, 2, 3, 5))
    for _ in range(count):
        _mutate(d, doc, case.notes)
    data = to_toml(doc).encode("utf-8")
    if d.chance(0.1):
        data = _damage(d, data, case.notes)
    case.data = data
    return case


def copy_data_folder(folder: Path) -> None:
    """Put the bundled data files beside generated scenarios, where relative paths find them."""
    target = folder / "data"
    if not target.exists():
        shutil.copytree(scenarios.BUNDLED_DIR / "data", target)


# -- the property --------------------------------------------------------------------------------


class Violation(Exception):
    """A generated file broke the property (other than by raising an unexpected exception)."""


@dataclass
class Outcome:
    """What loading one file gave: ``"ok"`` with its step count, or ``"refused"`` with lines."""

    result: str
    steps: int = 0
    lines: list[str] = field(default_factory=list)


def _no_constant(name: str) -> Any:
    raise Violation(f"trace JSON holds {name}, which is not JSON")


def check_file(path: Path, *, load: Callable[[Path], Any] = scenarios.load) -> Outcome:
    """Load ``path``: a Simulation whose first, middle and last steps trace to text and finite
    JSON, or a ScenarioError whose every line is one short ``PATH: …`` line. Anything else —
    another exception, a warning — is raised (a ``Violation`` or the exception itself)."""
    from tui.trace import TraceTooLarge, json_lines, text_lines

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would leak to the user's stderr
        try:
            sim = load(path)
        except ScenarioError as e:
            lines = e.lines()
            if not lines:
                raise Violation("ScenarioError without a line") from None
            for line in lines:
                if not line.startswith(f"{path}: "):
                    raise Violation(f"line does not start with the file: {line[:200]!r}") from None
                if "\n" in line or "\r" in line:
                    raise Violation(f"line holds a newline: {line[:200]!r}") from None
                if len(line) > MAX_LINE:
                    raise Violation(f"line of {len(line)} characters: {line[:200]!r}") from None
            return Outcome("refused", lines=lines)
        total = len(sim)
        if total <= 0:
            raise Violation(f"a simulation of {total} steps")
        for g in sorted({0, total // 2, total - 1}):
            sim.step(g)
            for line in text_lines(sim, range(g, g + 1)):
                if "\n" in line:
                    raise Violation(f"trace line holds a newline at step {g}")
            try:
                for line in json_lines(sim, range(g, g + 1)):
                    json.loads(line, parse_constant=_no_constant)
            except TraceTooLarge as e:  # refused before writing: `netsim trace` says it in one line
                if "\n" in str(e):
                    raise Violation(f"trace refusal holds a newline: {str(e)[:200]!r}") from None
        return Outcome("ok", steps=total)


def memory_budget() -> int:
    """The most memory one simulation may take, as the engine states it (bytes)."""
    import engine.conv

    return int(getattr(engine.conv, "MAX_BYTES", 1 << 30))


def failure_key(error: BaseException) -> str:
    """Where an exception comes from, to tell distinct failures apart: its type, the deepest
    frame in netsim's own packages and the frame that raised it."""
    import traceback

    frames = list(traceback.extract_tb(error.__traceback__))
    if isinstance(error, TimeoutError):  # where it was running, not the alarm that stopped it
        frames = [f for f in frames if f.name not in ("_alarm", "ring")]
    ours = [f for f in frames if re.search(r"[/\\](engine|scenarios|tui)[/\\]", f.filename)]

    def where(f: traceback.FrameSummary) -> str:
        parts = Path(f.filename).parts
        return f"{'/'.join(parts[-2:])}:{f.lineno} {f.name}"

    located = [where(ours[-1])] if ours else []
    if frames and (not ours or frames[-1] is not ours[-1]):
        located.append(where(frames[-1]))
    if isinstance(error, Violation):
        message = re.sub(r"'.*|\".*|\d+", "…", str(error))[:80]
        return f"Violation: {message}"
    return " @ ".join([type(error).__name__, *located])


# -- the player under random keys ----------------------------------------------------------------

RESIZES = ((20, 8), (300, 80), (80, 24), (40, 12), (120, 40), (60, 20), (1, 1))
PRINTABLE = tuple(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !@#$%^&*()_+-=[]{};:'\",./?`~|"
)
OTHER_KEYS = ("enter", "up", "down", "backspace", "delete", "ctrl+c", "f1", "escape")


@functools.cache
def player_keys() -> tuple[str, ...]:
    """Every key the player binds (from ``PlayerScreen.BINDINGS``), except quitting."""
    from textual.binding import Binding

    from tui.screens.player import PlayerScreen

    keys: list[str] = []
    for b in PlayerScreen.BINDINGS:
        spec = b.key if isinstance(b, Binding) else b[0]
        action = b.action if isinstance(b, Binding) else b[1]
        if "quit" not in action:
            keys += [k.strip() for k in spec.split(",")]
    return tuple(keys)


Action = tuple[Any, ...]


def player_actions(d: Draw, *, count: int = 30, max_digits: int = 12) -> list[Action]:
    """Key presses, resizes, the go-to dialog and trips to the browser, for ``drive_player``."""
    out: list[Action] = []
    for _ in range(d.integer(1, count)):
        how = d.integer(0, 9)
        if how <= 4:
            out.append(("press", d.choice(player_keys())))
        elif how == 5:
            out.append(("press", d.choice(PRINTABLE + OTHER_KEYS)))
        elif how == 6:
            out.append(("resize", *d.choice(RESIZES)))
        elif how == 7:
            digits = "".join(d.choice("0123456789") for _ in range(d.integer(0, max_digits)))
            tail = d.choice(("", "x", "-", " ", "1e3", "٣"))
            out.append(("goto", digits + tail, d.choice(("enter", "escape", "backspace"))))
        elif how == 8:
            out.append(("browser", d.choice(("enter", "escape", "down", "o"))))
        else:
            out.append(("repeat", d.choice(player_keys()), d.integer(2, 8)))
    return out


async def drive_player(
    sim: Any, actions: Sequence[Action], size: tuple[int, int] = (100, 30)
) -> Any:
    """Open the player on ``sim`` and perform ``actions``; leaving the ``run_test`` block
    re-raises any exception the app died of. Returns the app."""
    from tui.app import NetsimApp

    app = NetsimApp(sim, check=False)
    async with app.run_test(size=size) as pilot:
        for action in actions:
            if app._exception is not None or not app.is_running:
                break
            kind = action[0]
            if kind == "press":
                await pilot.press(action[1])
            elif kind == "repeat":
                await pilot.press(*[action[1]] * action[2])
            elif kind == "resize":
                await pilot.resize_terminal(action[1], action[2])
            elif kind == "goto":
                await pilot.press("g", *action[1], action[2])
            elif kind == "browser":
                await pilot.press("escape", action[1])
                if action[1] == "enter":
                    await app.workers.wait_for_complete()
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
    return app


def player_sims() -> list[tuple[str, Path]]:
    """A few bundled scenarios per kind (the first and the last of each), for the player."""
    out: list[tuple[str, Path]] = []
    for kind, found in seeds().items():
        for seed in {found[0].name: found[0], found[-1].name: found[-1]}.values():
            if not seed.name.startswith("(bare"):
                out.append((kind, scenarios.BUNDLED_DIR / f"{seed.name}.toml"))
    return out
