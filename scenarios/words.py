"""Recurrent scenarios that read words: a vocabulary (inline or a text file), a text turned into
one-hot vectors over it, and weights read from a file of the bundled data or beside the
scenario."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, field_validator

from engine.errors import SpecError
from engine.limits import MAX_SEQUENCE, MAX_VOCABULARY
from scenarios.build import BuildContext
from scenarios.schema import ScenarioBase

VOCABULARY_BYTES = 4 << 20
"""The largest vocabulary file read, 4 MiB."""


def vocabulary_spec(value: Any) -> Any:
    """``value`` unchanged if it is a list of strings or a file name, else ValueError saying
    what a vocabulary is (one message, where a union of types would give one per type)."""
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return value
    if isinstance(value, list):
        k = next(k for k, v in enumerate(value) if not isinstance(v, str))
        got = f"entry {k} is {value[k]!r}"
    else:
        got = f"got {value!r}"
    raise ValueError(
        f"expected a list of tokens (strings) or the name of a text file, one token per line; {got}"
    )


def vocabulary(spec: Any, ctx: BuildContext) -> tuple[str, ...] | None:
    """The tokens of ``vocabulary``, in one-hot order: an inline list of strings, or the name of
    a UTF-8 text file (one token per line, blank lines skipped) inside the scenario's folder or
    the bundled data; None after filing a problem under ``vocabulary``."""
    from scenarios.files import FileProblem, data_file, read_text

    if isinstance(spec, str):
        try:
            lines = read_text(data_file(spec, ctx.base), VOCABULARY_BYTES, "vocabulary file")
        except FileProblem as e:
            said = str(e)
            ctx.problems.add(
                "vocabulary", said if said.startswith(repr(spec)) else f"{spec!r} {said}"
            )
            return None
        tokens = [line.strip() for line in lines.splitlines() if line.strip()]
    else:
        tokens = [str(t).strip() for t in spec]
    if not tokens:
        ctx.problems.add("vocabulary", "is empty; list the tokens, one per one-hot position")
        return None
    if len(tokens) > MAX_VOCABULARY:
        ctx.problems.add("vocabulary", f"{len(tokens):,} tokens; the limit is {MAX_VOCABULARY:,}")
        return None
    seen: dict[str, int] = {}
    for k, tok in enumerate(tokens):
        low = tok.lower()
        if not tok:
            ctx.problems.add(f"vocabulary[{k}]", "is empty; every token needs a name")
            return None
        if low in seen:
            ctx.problems.add(
                "vocabulary",
                f"{tok!r} is listed twice (positions {seen[low]} and {k}, ignoring case); "
                "each token has one one-hot position",
            )
            return None
        seen[low] = k
    return tuple(tokens)


def text_input(
    text: str, vocab: tuple[str, ...], field: str = "text"
) -> tuple[np.ndarray, list[str]] | None:
    """(x, words): each word or punctuation mark of ``text`` as a one-hot row over ``vocab``,
    (T, V), and the words as written; SpecError naming ``field`` for an empty text, one too
    long or a word the vocabulary lacks."""
    from engine.recurrent import one_hot_words, tokenize

    words = tokenize(text)
    if not words:
        raise SpecError(field, "has no words; write the sentence the network reads")
    if len(words) > MAX_SEQUENCE:
        raise SpecError(
            field, f"{len(words):,} words; a sequence has at most {MAX_SEQUENCE:,} time steps"
        )
    return one_hot_words(words, vocab, field), words


def weights_file(given: str, ctx: BuildContext, keys: list[str]) -> dict[str, list[Any]] | None:
    """The arrays of the weight file ``given`` (``.npz``, ``.safetensors``, ``.pt``), by the
    scenario's keys (``keys``); a key ending in ``_l0`` where the scenario has none is read
    under its short name. None after filing a problem under ``weights.file``."""
    from scenarios.files import FileProblem, data_file
    from scenarios.weights import MAX_WEIGHTS_BYTES, WeightsError, read_weights

    try:
        path = data_file(given, ctx.base)
    except FileProblem as e:
        ctx.problems.add("weights.file", str(e))
        return None
    refused = False

    def reserve(nbytes: int) -> None:
        nonlocal refused
        if not ctx.charge(nbytes, "weights.file", f"reading {given!r}"):
            refused = True
            raise WeightsError("too large")

    try:
        sd = read_weights(path, MAX_WEIGHTS_BYTES, reserve=reserve)
    except WeightsError as e:
        if not refused:
            ctx.problems.add("weights.file", f"{given!r} {e}")
        return None
    out: dict[str, list[Any]] = {}
    for name, arr in sd.items():
        key = name if name in keys else name.removesuffix("_l0")
        if key not in keys:
            ctx.problems.add(
                "weights.file",
                f"{given!r} holds {name!r}, which is not a weight of this network; "
                f"valid: {', '.join(keys)}",
            )
            return None
        out[key] = np.asarray(arr, dtype=np.float64).tolist()
    return out


def text_of(
    sc: Any, ctx: BuildContext
) -> tuple[np.ndarray | None, list[str] | None, tuple[str, ...] | None]:
    """(x, words, vocabulary) from a scenario's ``text``, or Nones for an ``input`` of numbers;
    problems filed under ``text``, ``vocabulary``, ``input``, ``feedback``; SpecError from the
    words."""
    problems = ctx.problems
    if sc.text is not None and sc.input is not None:
        problems.add("text", "give the sequence as input (numbers) or as text (words), not both")
        return None, None, None
    if sc.text is None and sc.input is None:
        problems.add("input", "missing; give the sequence as input (numbers) or text (words)")
        return None, None, None
    if sc.text is None:
        if sc.vocabulary is not None:
            problems.add("vocabulary", "a vocabulary is for text: give text, or leave it out")
        if getattr(sc, "feedback", False):
            problems.add("feedback", "feeding labels back needs text, vocabulary and labels")
        return None, None, None
    if sc.vocabulary is None:
        problems.add("vocabulary", "missing; text is read as one-hot vectors over a vocabulary")
        return None, None, None
    vocab = vocabulary(sc.vocabulary, ctx)
    if vocab is None:
        return None, None, None
    made = text_input(sc.text, vocab)
    assert made is not None
    return made[0], made[1], vocab


class WordSequenceScenario(ScenarioBase):
    """The fields a recurrent kind shares for reading its sequence as numbers or as words."""

    input: Any = None
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec. Or give
    ``text`` instead."""
    text: str | None = Field(None, strict=True)
    """The input as words: each word or punctuation mark becomes x⟨t⟩, its one-hot vector over
    ``vocabulary``; instead of ``input``."""
    vocabulary: list[str] | str | None = None
    """The tokens ``text`` is written in, in one-hot order: a list, or a text file (one token
    per line) inside the scenario's folder or the bundled data."""
    labels: list[str] | None = None
    """A name for each output of ŷ⟨t⟩, shown beside its probability; sets ``output_size``."""

    @field_validator("vocabulary", mode="before")
    @classmethod
    def _vocabulary(cls, value: Any) -> Any:
        return vocabulary_spec(value)


def labelled_output_size(
    output_size: int | None, labels: list[str] | None, shapes: dict[str, tuple[int, ...]]
) -> int | None:
    """The output size a file gives, else one per label; labels must name every row of the
    given ``weights.w_ya``."""
    if output_size is None and labels is not None:
        output_size = len(labels)
    rows = shapes.get("w_ya", (None,))[0]
    if labels is not None and rows is not None and rows != len(labels):
        raise SpecError(
            "labels",
            f"{len(labels)} names for the {rows} outputs of weights.w_ya; give one per output",
        )
    return output_size
