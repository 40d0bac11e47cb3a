"""The shipped date translator (``data/translator.npz`` + ``.json``), read once."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scenarios.datasets import DATA_DIR

if TYPE_CHECKING:
    from engine.seq2seq import Translator

NAME = "translator"
DESCRIPTION = (
    "a bidirectional GRU encoder (H = 32) and a GRU decoder with additive attention, trained "
    "on 10,000 generated dates (scripts/train_translator.py)"
)
"""What the shipped translator is, for messages and docs."""


def accuracy_text(record: dict[str, Any]) -> str | None:
    """The accuracy line ("held-out exact match 1,000/1,000") of a training record, or None if
    it has none."""
    correct, count = record.get("test_correct"), record.get("test_count")
    if not isinstance(correct, int) or not isinstance(count, int) or count <= 0:
        return None
    return f"held-out exact match {correct:,}/{count:,}"


def read_translator(
    npz: Path, sidecar: Path | None = None, *, content: bytes | None = None
) -> Translator:
    """A translator from a weight file and its record (``allow_pickle=False``): the
    vocabularies come from the uint8 arrays ``input_chars`` (UTF-8 of the characters at
    indices 2…) and ``output_chars`` (those at 1…), as ``scripts/train_translator.py`` writes
    them. ``content``: the file's bytes, already read (``scenarios.files.read_bytes``), else
    the file is opened. ValueError when a file cannot be read; SpecError("model", …) when the
    weights do not fit the vocabularies."""
    from engine.seq2seq import Translator
    from engine.tokens import EOS, UNK

    try:
        if content is None:
            content = npz.read_bytes()
        if not content.startswith(b"PK"):
            # np.load would try it as a pickle and say so: it is not an .npz at all.
            raise ValueError("it is not an .npz file (a zip archive of .npy arrays)")
        source = io.BytesIO(content)
        with np.load(source, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        chars = {}
        for key in ("input_chars", "output_chars"):
            if key not in arrays:
                raise ValueError(f"it has no {key!r} array")
            if arrays[key].dtype != np.uint8 or arrays[key].ndim != 1:
                raise ValueError(f"{key!r} is not a flat uint8 array")
            chars[key] = bytes(arrays[key]).decode("utf-8")
        record = {}
        if sidecar is not None:
            record = json.loads(sidecar.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError(f"{sidecar.name} does not hold a JSON object")
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as e:
        raise ValueError(f"cannot read the translator {npz.name}: {e}") from None
    return Translator.from_arrays(
        arrays,
        (EOS, UNK, *chars["input_chars"]),
        (EOS, *chars["output_chars"]),
        source=npz.name,
        accuracy=accuracy_text(record),
    )


@functools.cache
def translator() -> Translator:
    """The shipped translator, read once from ``data/translator.npz`` and ``.json``."""
    return read_translator(DATA_DIR / f"{NAME}.npz", DATA_DIR / f"{NAME}.json")


@functools.cache
def record() -> dict[str, Any]:
    """The shipped translator's training record (``data/translator.json``)."""
    data: dict[str, Any] = json.loads((DATA_DIR / f"{NAME}.json").read_text(encoding="utf-8"))
    return data
