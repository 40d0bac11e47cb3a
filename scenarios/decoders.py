"""The shipped models a beam search can run over, by the name a scenario gives in
``model = "..."``: each builds an ``engine.decoding.Decoder`` for the scenario's input text.

A builder takes the text (None when the file gives none) and the field it came from, and
returns the decoder and, for a model that reads an input, how to build the decoder for another
typed text (the stage's ``remake``). Models with an input add themselves to ``BUILDERS``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.errors import SpecError

if TYPE_CHECKING:
    from engine.decoding import Decoder

Remake = Callable[[str], "Decoder"]
"""Builds the decoder for another typed text; SpecError under the text's field."""
Builder = Callable[[str | None, str], "tuple[Decoder, Remake | None]"]
"""``build(text, field) -> (decoder, remake)``."""


def _language_model(name: str) -> Builder:
    """A shipped language model: it reads no input, so a text is refused."""

    def build(text: str | None, field: str) -> tuple[Decoder, Remake | None]:
        from engine.language import LmDecoder
        from scenarios.language import language_model

        if text is not None:
            raise SpecError(
                field,
                f"a language model reads no input; {name!r} generates from the empty sequence, "
                f"so leave {field} out (a translator or captioner reads one)",
            )
        try:
            model = language_model(name)
        except ValueError as e:
            raise SpecError("model", str(e)) from None
        return LmDecoder(model.weights, model.vocabulary, model.level, name), None

    return build


def _captioner(text: str | None, field: str) -> tuple[Decoder, Remake | None]:
    """The image captioner: ``text`` is a scene ("red circle above blue square"), drawn with
    seed 0 and captioned."""
    from scenarios.captioner import scene_decoder

    if text is None:
        raise SpecError(
            field,
            "the captioner reads a scene to draw and caption; give e.g. "
            f'{field} = "red circle above blue square"',
        )

    def remake(typed: str) -> Decoder:
        try:
            return scene_decoder(typed, 0, field)
        except ValueError as e:
            if isinstance(e, SpecError):
                raise
            raise SpecError("model", str(e)) from None

    return remake(text), remake


def _translator(text: str | None, field: str) -> tuple[Decoder, Remake | None]:
    """The shipped date translator: it reads a date, so a text is required."""
    from scenarios.translator import translator

    if text is None:
        raise SpecError(field, 'the translator reads a date: give text = "5 march 2003" or similar')
    try:
        model = translator()
    except ValueError as e:
        raise SpecError("model", str(e)) from None
    return model.decoder(text, field), lambda typed: model.decoder(typed, field)


BUILDERS: dict[str, Builder] = {
    "char_lm": _language_model("char_lm"),
    "word_lm": _language_model("word_lm"),
    "captioner": _captioner,
    "translator": _translator,
}
"""Model name → builder."""


def decoder_for(model: str, text: str | None, field: str) -> tuple[Decoder, Remake | None]:
    """The decoder of shipped model ``model`` for ``text`` (the input of a translator or
    captioner, None for a language model), and how to remake it for another text.

    SpecError under ``model`` for an unknown model (with the valid names), or under ``field``
    for a text the model cannot read."""
    build = BUILDERS.get(model) if isinstance(model, str) else None
    if build is None:
        names = list(BUILDERS)
        close = difflib.get_close_matches(str(model), names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise SpecError("model", f"unknown model {model!r}; {hint}valid: {', '.join(names)}")
    return build(text, field)
