"""Build a language_model scenario: read the shipped model and make the stage."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from engine.core import Stage
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR
from scenarios.schema import LanguageModelScenario

LANGUAGE_MODELS = {
    "char_lm": "a tanh RNN (H = 48) trained on 3,000 generated names (scripts/train_char_lm.py)",
}
"""The shipped models, by the name a scenario gives in ``model = "..."``."""


class Problems(Protocol):
    """Where problems are filed: the loader's collector."""

    def add(self, field: str, message: str) -> None: ...


@functools.cache
def language_model(name: str) -> tuple[dict[str, np.ndarray], str]:
    """The weights (float64) and alphabet of ``data/NAME.npz``, read once
    (``allow_pickle=False``); ValueError if it is not shipped or cannot be read."""
    if name not in LANGUAGE_MODELS:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(LANGUAGE_MODELS)}")
    path = DATA_DIR / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the model file {path}: {e}") from None
    alphabet = bytes(arrays.pop("alphabet")).decode("ascii")
    weights = {k: v.astype(np.float64) for k, v in arrays.items()}
    for w in weights.values():
        w.setflags(write=False)
    return weights, alphabet


def build_language_model(sc: LanguageModelScenario, problems: Problems) -> list[Stage]:
    """A LanguageModelStage scoring ``word`` or sampling, with the shipped weights."""
    from engine.language import LanguageModelStage

    try:
        weights, alphabet = language_model(sc.model)
    except ValueError as e:
        problems.add("model", str(e))
        return []
    try:
        return [
            LanguageModelStage(
                weights,
                alphabet,
                sc.mode,
                sc.word,
                seed=sc.seed,
                temperature=sc.temperature,
                max_length=sc.max_length,
                name=sc.model,
            )
        ]
    except SpecError as e:
        problems.add(e.field, e.message)
        return []
