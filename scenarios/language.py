"""Build a language_model scenario: read the shipped model and make the stage."""

from __future__ import annotations

import functools
from typing import NamedTuple, Protocol

import numpy as np

from engine.core import Stage
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR
from scenarios.schema import LanguageModelScenario

LANGUAGE_MODELS = {
    "char_lm": "a character-level tanh RNN (H = 48) trained on 3,000 generated names "
    "(scripts/train_char_lm.py)",
    "word_lm": "a word-level tanh RNN (H = 32, V = 48 with <UNK> and <EOS>) trained on 2,500 "
    "generated sentences (scripts/train_word_lm.py)",
}
"""The shipped models, by the name a scenario gives in ``model = "..."``."""
LEVEL_NAMES = {"char": "character", "word": "word"}
"""How an error message names each level."""


class Problems(Protocol):
    """Where problems are filed: the loader's collector."""

    def add(self, field: str, message: str) -> None: ...


class ShippedModel(NamedTuple):
    """A model file's contents."""

    weights: dict[str, np.ndarray]
    """By PyTorch's names, float64, read-only."""
    vocabulary: tuple[str, ...]
    """The V tokens in index order, ``<EOS>`` (and for words ``<UNK>``) among them."""
    level: str
    """``"char"`` or ``"word"``: what one token is."""


@functools.cache
def language_model(name: str) -> ShippedModel:
    """The weights, vocabulary and level of ``data/NAME.npz``, read once
    (``allow_pickle=False``); ValueError if it is not shipped or cannot be read.

    A character model stores its ``alphabet`` (the characters after ``<EOS>`` = 0, as uint8
    code points); a word model stores its whole ``vocabulary`` (UTF-8, newline-separated) and
    ``level = b"word"``. Both are plain bytes because a pickled string array could run code.
    """
    from engine.language import char_vocabulary

    if name not in LANGUAGE_MODELS:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(LANGUAGE_MODELS)}")
    path = DATA_DIR / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        level = bytes(arrays.pop("level", np.frombuffer(b"char", np.uint8))).decode("ascii")
        if "vocabulary" in arrays:
            vocabulary = tuple(bytes(arrays.pop("vocabulary")).decode("utf-8").split("\n"))
        else:
            vocabulary = char_vocabulary(bytes(arrays.pop("alphabet")).decode("ascii"))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"cannot read the model file {path}: {e}") from None
    weights = {k: v.astype(np.float64) for k, v in arrays.items()}
    for w in weights.values():
        w.setflags(write=False)
    return ShippedModel(weights, vocabulary, level)


def build_language_model(sc: LanguageModelScenario, problems: Problems) -> list[Stage]:
    """A LanguageModelStage scoring ``word`` (character model) or ``sentence`` (word model), or
    sampling, with the shipped weights."""
    from engine.language import TEXT_FIELDS, LanguageModelStage

    try:
        model = language_model(sc.model)
    except ValueError as e:
        problems.add("model", str(e))
        return []
    field = TEXT_FIELDS[model.level]
    given = {"word": sc.word, "sentence": sc.sentence}
    wrong = [other for other, value in given.items() if other != field and value is not None]
    for other in wrong:
        problems.add(
            other,
            f"{sc.model!r} is a {LEVEL_NAMES[model.level]}-level model, which scores a {field}: "
            f'give {field} = "…" instead of {other}',
        )
    if wrong:
        return []
    try:
        return [
            LanguageModelStage(
                model.weights,
                model.vocabulary,
                sc.mode,
                given[field],
                level=model.level,
                seed=sc.seed,
                temperature=sc.temperature,
                max_length=sc.max_length,
                name=sc.model,
            )
        ]
    except SpecError as e:
        problems.add(e.field, e.message)
        return []
