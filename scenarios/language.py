"""The shipped language models: weights, vocabulary and level, read once from ``data/``."""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from scenarios.datasets import DATA_DIR

LANGUAGE_MODELS = {
    "char_lm": "a character-level tanh RNN (H = 48) trained on 3,000 generated names "
    "(scripts/train_char_lm.py)",
    "word_lm": "a word-level tanh RNN (H = 32, V = 48 with <UNK> and <EOS>) trained on 2,500 "
    "generated sentences (scripts/train_word_lm.py)",
}
"""The shipped models, by the name a scenario gives in ``model = "..."``."""
LEVEL_NAMES = {"char": "character", "word": "word"}
"""How an error message names each level."""


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
