"""The shipped image captioner, read once from ``data/captioner.npz`` and ``captioner.json``."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

import numpy as np

from scenarios.datasets import DATA_DIR

if TYPE_CHECKING:
    from engine.caption import CaptionDecoder, Captioner

NAME = "captioner"


@functools.cache
def captioner() -> Captioner:
    """The captioner of ``data/captioner.npz`` (``allow_pickle=False``; the vocabulary is the
    UTF-8 tokens joined by newlines) with its held-out accuracy from ``captioner.json`` and
    ``scenarios.shapes.picture`` to draw typed scenes. ValueError if the files cannot be read;
    SpecError("model") if the arrays do not fit together."""
    from engine.caption import Captioner
    from scenarios.shapes import picture

    path = DATA_DIR / f"{NAME}.npz"
    sidecar = DATA_DIR / f"{NAME}.json"
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        vocabulary = tuple(bytes(arrays.pop("vocabulary")).decode("utf-8").split("\n"))
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        accuracy = (
            f"held-out exact match {int(record['test_correct']):,}/{int(record['test_count']):,}"
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot read the model file {path}: {e}") from None
    return Captioner.from_arrays(
        arrays, vocabulary, source=path.name, accuracy=accuracy, painter=picture
    )


def scene_decoder(text: str, seed: int = 0, field: str = "scene") -> CaptionDecoder:
    """The shipped captioner's decoder for the picture of the typed scene ``text`` drawn with
    ``seed``; SpecError under ``field`` if the text describes no scene."""
    from engine.errors import SpecError
    from scenarios.shapes import picture

    model = captioner()
    try:
        image, _ = picture(text, model.image_shape[1], seed)
    except SpecError as e:
        raise SpecError(field, e.message) from None
    return model.decoder(image)
