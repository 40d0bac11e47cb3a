"""``kind = "translation"``: the shipped date translator reads a date and writes its ISO form,
stepped encoder then decoder with attention."""

from __future__ import annotations

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase


class TranslationScenario(ScenarioBase):
    """``kind = "translation"``: the date translator (a bidirectional GRU encoder and a GRU
    decoder with additive attention) translates ``text`` greedily, then a beam search over the
    same decoder ranks its likeliest outputs."""

    text: str = Field(strict=True)
    """The date to translate, 1 to 200 characters ("5 march 2003"); characters the translator
    does not know are read as ``<UNK>``."""
    max_length: int = Field(12, strict=True)
    """Most output symbols, ``<EOS>`` included, 1 to 50 (an ISO date takes 11)."""
    beam_width: int = Field(3, strict=True)
    """B, the hypotheses the beam search keeps per step, 1 to 1,000 (1 is greedy decoding)."""
    alpha: float = 0.7
    """α of the length normalisation 1/Ty^α, 0 to 1 (0: raw log-probabilities)."""
    reference: str | None = Field(None, strict=True)
    """A translation y* to compare with the search's best (error analysis): output symbols
    ``0123456789-`` only."""


def check_reference(reference: str, vocabulary: tuple[str, ...]) -> str:
    """``reference`` if every character is an output symbol, else SpecError("reference", …)
    naming the first one that is not."""
    known = "".join(vocabulary[1:])
    if not reference:
        raise SpecError("reference", "expected a translation such as '2003-03-05', got ''")
    for pos, ch in enumerate(reference):
        if ch not in known:
            raise SpecError(
                "reference",
                f"{ch!r} at position {pos} of {reference[:40]!r} is not an output symbol; the "
                f"translator writes only {known!r}",
            )
    return reference


@register_kind("translation", TranslationScenario)
def build_translation(sc: TranslationScenario, ctx: BuildContext) -> list[Stage]:
    """A TranslationStage on ``text`` with the shipped translator."""
    from engine.limits import MAX_INPUT_TEXT, MAX_LENGTH
    from engine.seq2seq import TranslationStage
    from scenarios.translator import translator

    problems = ctx.problems
    try:
        model = translator()
    except (ValueError, SpecError) as e:
        problems.add("model", e.message if isinstance(e, SpecError) else str(e))
        return []
    try:
        if sc.reference is not None:
            check_reference(sc.reference, model.vocabulary)
        length = max(1, min(sc.max_length, MAX_LENGTH))  # a bad max_length is the stage's to say
        chars = max(1, min(len(sc.text), MAX_INPUT_TEXT))
        ctx.budget.charge(model.peak_bytes(chars, length), "text", "the translation")
        return [TranslationStage(model, sc.text, max_length=sc.max_length)]
    except SpecError as e:
        problems.add(e.field, e.message)
        return []
