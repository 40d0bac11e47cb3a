"""``kind = "translation"``: the shipped date translator reads a date and writes its ISO form,
stepped encoder then decoder with attention, then a beam search over the same decoder."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase

if TYPE_CHECKING:
    from engine.seq2seq import Translator


class TranslationScenario(ScenarioBase):
    """``kind = "translation"``: the date translator (a bidirectional GRU encoder and a GRU
    decoder with additive attention) translates ``text`` greedily, then a beam search over the
    same decoder ranks its likeliest outputs."""

    text: str = Field(strict=True)
    """The date to translate, 1 to 200 characters ("5 march 2003"); characters the translator
    does not know are read as ``<UNK>``."""
    max_length: int = Field(12, strict=True)
    """Most output symbols, ``<EOS>`` included, 1 to 50 (an ISO date takes 11), for the greedy
    translation and every hypothesis of the beam search."""
    beam_width: int = Field(3, strict=True)
    """B, the hypotheses the beam search keeps per step, 1 to 1,000 (1 is greedy decoding)."""
    alpha: float = 0.7
    """α of the length normalisation 1/Ty^α, 0 to 1 (0: raw log-probabilities)."""
    reference: str | None = Field(None, strict=True)
    """A translation y* to compare with the search's best (error analysis): output symbols
    ``0123456789-`` only."""
    weights: str | None = Field(None, strict=True)
    """A translator's weight file (``.npz`` as ``scripts/train_translator.py`` writes it, in the
    scenario file's folder; a ``.json`` record beside it is read for its accuracy); the
    shipped translator when left out."""


def search_peak_bytes(
    beam_width: int, vocabulary: int, max_length: int, hidden: int, attention: int, tx: int
) -> int:
    """Peak bytes of the beam search over the translator: ``engine.beam.beam_peak_bytes`` with
    the decoder's state s⟨t⟩ (2H a row), and the attention's temporaries for B rows at once,
    (B, Tx, A) and a few (B, Tx) arrays, a few copies while a step is computed."""
    from engine.beam import beam_peak_bytes

    search = beam_peak_bytes(beam_width, vocabulary, max_length, 2 * hidden)
    attend = 8 * 3 * beam_width * (tx * (attention + 4) + 12 * hidden + 2 * vocabulary)
    return search + attend


class _Refused(Exception):
    """The memory budget refused the weight file (the problem is already said)."""


def _read_weights(given: str, ctx: BuildContext) -> Translator:
    """The translator in the weight file ``given`` (inside the scenario's folder), its size
    charged to the budget before it is read; ValueError with a one-line reason (a SpecError
    from the arrays keeps its message, said under ``weights``)."""
    from scenarios.files import FileProblem, data_file, read_bytes, read_text
    from scenarios.translator import accuracy_text, read_translator
    from scenarios.weights import MAX_WEIGHTS_BYTES

    def reserve(nbytes: int) -> None:
        if not ctx.charge(nbytes, "weights", f"reading {given!r}"):
            raise _Refused

    try:
        path = data_file(given, ctx.base)
        if path.suffix.lower() != ".npz":
            raise FileProblem(
                f"{given!r} has the ending {path.suffix or '(none)'!r}; a translator is an .npz "
                "file as scripts/train_translator.py writes it"
            )
        content = read_bytes(path, MAX_WEIGHTS_BYTES, "translator weight file", reserve)
        sidecar = path.with_suffix(".json")
        record_text = read_text(sidecar, 1 << 20, "JSON record") if sidecar.is_file() else None
    except FileProblem as e:
        said = str(e)
        raise ValueError(said if said.startswith(repr(given)) else f"{given!r} {said}") from None
    try:
        model = read_translator(path, content=content)
    except SpecError as e:
        raise ValueError(e.message) from None
    if record_text is not None:
        try:
            record = json.loads(record_text)
        except ValueError as e:
            raise ValueError(f"{sidecar.name} is not JSON: {e}") from None
        if isinstance(record, dict):
            model.accuracy = accuracy_text(record)
    return model


@register_kind("translation", TranslationScenario)
def build_translation(sc: TranslationScenario, ctx: BuildContext) -> list[Stage]:
    """A TranslationStage on ``text`` with the shipped translator, then a BeamSearchStage over
    its decoder (``remake`` builds the decoder for a typed text); both charged to the
    scenario's budget before they are built."""
    from engine.limits import MAX_INPUT_TEXT
    from engine.seq2seq import TranslationStage
    from scenarios.search import check_reference, search_settings, search_stage
    from scenarios.translator import translator

    problems = ctx.problems
    settings = search_settings(sc, problems)
    try:
        model = translator() if sc.weights is None else _read_weights(sc.weights, ctx)
    except _Refused:
        return []
    except ValueError as e:
        field = "model" if sc.weights is None else "weights"
        problems.add(field, str(e))
        return []
    # The text and the reference are read before anything is built, so that every problem of
    # the file is said at once. The reference needs only the output vocabulary and <EOS>,
    # which the translator has as its decoders do.
    said = len(problems.items)
    try:
        model.encode_text(sc.text, "text")
    except SpecError as e:
        problems.spec_error(e)
    check_reference(model, sc.reference, problems)
    if settings is None or len(problems.items) > said:
        return []
    length, width = settings["max_length"], settings["beam_width"]
    tx = max(1, min(len(sc.text), MAX_INPUT_TEXT)) + 1
    need = model.peak_bytes(tx - 1, length) + search_peak_bytes(
        width, len(model.vocabulary), length, model.hidden_size, model.attention_size, tx
    )
    if not ctx.charge(need, "beam_width", f"the translation and a beam of {width:,}"):
        return []
    try:
        stage = TranslationStage(model, sc.text, max_length=length)
    except SpecError as e:
        problems.spec_error(e)
        return []
    beam = search_stage(
        stage.decoder,
        settings,
        problems,
        reference=sc.reference,
        remake=lambda text: model.decoder(text, "text"),
        text=sc.text,
        field="text",
    )
    return [] if beam is None else [stage, beam]
