"""``kind = "translation"``: the shipped date translator reads a date and writes its ISO form,
stepped encoder then decoder with attention, then a beam search over the same decoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase

if TYPE_CHECKING:
    from engine.decoding import Decoder


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


@register_kind("translation", TranslationScenario)
def build_translation(sc: TranslationScenario, ctx: BuildContext) -> list[Stage]:
    """A TranslationStage on ``text`` with the shipped translator, then a BeamSearchStage over
    its decoder (``remake`` builds the decoder for a typed text); both charged to the
    scenario's budget before they are built."""
    from engine.beam import BeamSearchStage, reference_ids
    from engine.limits import MAX_INPUT_TEXT
    from engine.seq2seq import TranslationStage
    from scenarios.search import search_settings
    from scenarios.translator import translator

    problems = ctx.problems
    settings = search_settings(sc, problems)
    try:
        model = translator()
    except ValueError as e:
        problems.add("model", str(e))
        return []
    except SpecError as e:
        problems.spec_error(e)
        return []
    # The text and the reference are read before anything is built, so that every problem of
    # the file is said at once. The reference needs only the output vocabulary and <EOS>,
    # which the translator has as its decoders do.
    said = len(problems.items)
    try:
        model.encode_text(sc.text, "text")
    except SpecError as e:
        problems.spec_error(e)
    if sc.reference is not None:
        try:
            reference_ids(cast("Decoder", model), sc.reference)
        except SpecError as e:
            problems.spec_error(e)
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
        beam = BeamSearchStage(
            stage.decoder,
            width,
            length,
            settings["alpha"],
            reference_text=sc.reference,
            name="beam",
            remake=lambda text: model.decoder(text, "text"),
            text=sc.text,
            text_field="text",
        )
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage, beam]
