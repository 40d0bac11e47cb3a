"""Read a scenario file, validate it against its kind's schema, and hand it to that kind's
builder — or say exactly what is wrong. The kinds themselves live in ``scenarios/kinds/``."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.core import Simulation
from scenarios.build import BuildContext, pydantic_problems, shown
from scenarios.errors import ScenarioError, field_path
from scenarios.files import FileProblem, read_text
from scenarios.registry import Kind, kind, kinds, ops
from scenarios.schema import ScenarioBase

MAX_FILE_BYTES = 16 << 20
"""Scenario files are small text; anything larger is refused before reading."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and tables accepted in a scenario file (counting the top-level
table's keys as level 1)."""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the file as TOML; missing files, special files, directories, files too large or
    nested too deep and syntax errors become ScenarioError. One leading UTF-8 byte-order mark is
    accepted."""
    name = str(path)
    try:
        text = read_text(path, MAX_FILE_BYTES, ".toml scenario file")
    except FileProblem as e:
        raise ScenarioError(name, [("(file)", str(e))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        if "end of document" in message:
            message += f" (the file ends at line {text.count(chr(10)) + 1})"
        raise ScenarioError(name, [("toml", f"syntax error: {message}")]) from None
    except RecursionError:
        raise ScenarioError(name, [("toml", _too_deep())]) from None
    where = too_deep(data)
    if where is not None:
        raise ScenarioError(name, [(where, _too_deep())])
    return data


def _too_deep() -> str:
    return (
        f"arrays and tables are nested more than {MAX_DEPTH} levels deep; a scenario needs "
        "a few (an inline (C, H, W) array is 3)"
    )


def too_deep(data: Any) -> str | None:
    """The field path of the first value nested more than MAX_DEPTH levels, or None; walked
    without recursion, so that any depth is safe."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        item, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            return field_path(loc[: MAX_DEPTH + 1])
        if isinstance(item, dict):
            stack.extend((v, (*loc, str(k))) for k, v in item.items())
        elif isinstance(item, list) and not set(map(type, item)).isdisjoint((list, dict)):
            stack.extend((v, (*loc, i)) for i, v in enumerate(item) if isinstance(v, (list, dict)))
    return None


def validate(data: dict[str, Any], path: str) -> ScenarioBase:
    """The scenario's pydantic model, or ScenarioError listing every problem found."""
    name = data.get("kind")
    found = kind(name) if isinstance(name, str) else None
    if found is None:
        raise ScenarioError(path, [("kind", _unknown_kind(name, data))])
    try:
        return found.model.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(path, pydantic_problems(e)) from None


KIND_WORDS: dict[str, tuple[str, str]] = {
    **{w: ("recurrent", f'cell = "{w}"') for w in ("rnn", "lstm", "gru")},
    **{w: ("recurrent", "") for w in ("recurrent_cell", "many_to_one", "many_to_many")},
    **{
        w: ("deep_recurrent", "")
        for w in ("deep_rnn", "stacked_rnn", "bidirectional", "birnn", "brnn", "bi_rnn")
    },
    **{w: ("conv", "") for w in ("convolution", "conv2d", "cross_correlation", "filter")},
    **{w: ("pool", "") for w in ("pooling", "max_pool", "avg_pool", "max_pool2d")},
    **{
        w: ("network", f'architecture = "{w}"' if w in ("lenet5", "alexnet", "vgg16") else "")
        for w in ("cnn", "mlp", "net", "lenet", "lenet5", "alexnet", "vgg", "vgg16", "resnet")
    },
    **{w: ("translation", "") for w in ("attention", "seq2seq", "encoder_decoder", "translate")},
    **{w: ("beam_search", "") for w in ("beam", "greedy", "decoder", "search")},
    **{w: ("language_model", "") for w in ("lm", "char_lm", "word_lm", "sampling", "sample")},
    **{w: ("tokens", "") for w in ("tokenizer", "tokenize", "one_hot", "onehot", "vocabulary")},
    **{w: ("caption", "") for w in ("captioning", "image_captioning", "captioner")},
    **{w: ("learn_kernel", "") for w in ("learn", "training", "gradient_descent", "train")},
    **{w: ("bptt", "") for w in ("backprop", "backpropagation", "gradient", "gradients")},
}
"""Words a person may write for a kind (the course's, PyTorch's), with the kind that does it and,
where one says which, the field that picks it; checked after spelling (lower case, ``-`` and
spaces as ``_``)."""

BASE_KEYS = frozenset(ScenarioBase.model_fields)
"""Keys every kind has: they say nothing about which kind a file is."""


def nearest_kinds(name: Any, data: dict[str, Any]) -> tuple[list[str], str]:
    """The kinds ``name`` most likely meant, and why in a few words (or ""): a kind spelled
    close to it, or written another way (``Deep-Recurrent``, ``convolution``, ``lstm``); else
    the kinds that accept every other key of the file."""
    registered = sorted(kinds())
    word = str(name).strip().lower().replace("-", "_").replace(" ", "_")[:100] if name else ""
    if word in KIND_WORDS:
        found, field = KIND_WORDS[word]
        return [found], f'write kind = "{found}" with {field}' if field else ""
    if word in registered:
        return [word], "kinds are written in lower case, words joined by _"
    close = difflib.get_close_matches(word, registered, n=1)
    if close:
        return close, ""
    if len(word) >= 3:
        starts = [k for k in registered if k.startswith(word) or word.startswith(k)]
        if 0 < len(starts) <= 2:
            return starts, ""
    keys = sorted(k for k in data if isinstance(k, str) and k not in BASE_KEYS)
    if not keys:
        return [], ""
    fitting = [k for k in registered if set(keys) <= set(kinds()[k].model.model_fields)]
    if 0 < len(fitting) <= 3:
        listed = ", ".join(keys[:4]) + (" …" if len(keys) > 4 else "")
        who = "it takes" if len(fitting) == 1 else "each takes"
        return fitting, f"{who} the file's keys {listed}"
    return [], ""


def _unknown_kind(name: Any, data: dict[str, Any] | None = None) -> str:
    """What is wrong with the ``kind`` given (missing or unknown): the kind meant, where it can
    be told from the name or the file's other keys, and every valid kind."""
    registered = kinds()
    valid = ", ".join(sorted(registered))
    near, why = nearest_kinds(name, data or {})
    listed = " or ".join(repr(k) for k in near)
    if name is None:
        said = " or ".join(f'kind = "{k}"' for k in near)
        hint = f"did you mean {said} ({why})? " if near else ""
        return f"missing; {hint}valid kinds: {valid}"
    ops_ = ops()
    if isinstance(name, str) and (name in ops_ or name == "activation"):
        # An op, or the word for ops like it: they run inside a pipeline, not on their own.
        listed_ops = ", ".join(sorted(ops_))
        hint = f'{shown(name)} runs as a stage of kind = "pipeline" (its ops: {listed_ops}); '
        return f"unknown kind {shown(name)}; {hint}valid kinds: {valid}"
    hint = f"did you mean {listed}" + (f" ({why})" if why else "") + "? " if near else ""
    return f"unknown kind {shown(name)}; {hint}valid kinds: {valid}"


def load(path: str | Path, *, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Load a scenario file into a Simulation, or raise ScenarioError naming every problem.

    Stages that train (``learn_kernel``) call ``progress(done, total)`` now and then while they
    do, from the calling thread, so that a worker can drive a progress bar.
    """
    p = Path(path)
    data = read_toml(p)
    ctx = BuildContext(p, progress=progress)
    try:
        sc = validate(data, str(p))
        stages = _kind(sc.kind).build(sc, ctx)
    except RecursionError:
        raise ScenarioError(str(p), [("(file)", _too_deep())]) from None
    if ctx.problems.items or not stages:
        raise ScenarioError(str(p), ctx.problems.items or [("(file)", "could not be built")])
    return Simulation(
        stages, title=sc.title, description=sc.description, topic=sc.topic, source=str(p)
    )


def _kind(name: str) -> Kind:
    """The registered kind of a validated scenario (its name was checked by ``validate``)."""
    found = kind(name)
    assert found is not None
    return found
