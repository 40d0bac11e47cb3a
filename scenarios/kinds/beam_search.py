"""``kind = "beam_search"``: beam search over a shipped model, a token position a step, then the
ranking with and without length normalisation."""

from __future__ import annotations

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase


class BeamSearchScenario(ScenarioBase):
    """``kind = "beam_search"``: beam search of width B over a shipped model; a reference y*
    adds the course's error analysis."""

    model: str = Field("char_lm", strict=True)
    """The shipped model: ``"char_lm"`` (names, a character at a time), ``"word_lm"``
    (sentences, a word at a time), ``"translator"`` (a date) or ``"captioner"`` (a scene)."""
    text: str | None = Field(None, strict=True)
    """The input of a model that reads one (the translator's date, the captioner's scene,
    drawn with seed 0); a language model reads none."""
    beam_width: int = Field(3, strict=True)
    """B, the hypotheses kept per step, 1 to 1,000; B = 1 is greedy decoding."""
    alpha: float = 0.7
    """α of the length-normalised score log P(y|x) / Ty^α, 0 to 1."""
    max_length: int = Field(20, strict=True)
    """Most tokens a hypothesis may take, ``<EOS>`` included, 1 to 50."""
    reference: str | None = Field(None, strict=True)
    """y*, the output expected: error analysis says whether the search or the model is at
    fault when the search returns something else."""


@register_kind("beam_search", BeamSearchScenario)
def build_beam_search(sc: BeamSearchScenario, ctx: BuildContext) -> list[Stage]:
    """A BeamSearchStage over the decoder ``scenarios.decoders.decoder_for`` builds, its
    memory charged to the scenario's budget first."""
    from engine.beam import beam_peak_bytes
    from scenarios.decoders import decoder_for
    from scenarios.search import check_reference, search_settings, search_stage

    problems = ctx.problems
    settings = search_settings(sc, problems)
    try:
        decoder, remake = decoder_for(sc.model, sc.text, "text")
    except SpecError as e:
        problems.spec_error(e)
        return []
    said = len(problems.items)
    check_reference(decoder, sc.reference, problems)  # so that every problem is said at once
    if settings is None or len(problems.items) > said:
        return []
    state = sum(a[0].size for a in decoder.start().arrays)
    need = beam_peak_bytes(
        settings["beam_width"], len(decoder.vocabulary), settings["max_length"], state
    )
    what = f"a beam of {settings['beam_width']:,} over {sc.model!r}"
    if not ctx.charge(need, "beam_width", what):
        return []
    beam = search_stage(
        decoder,
        settings,
        problems,
        reference=sc.reference,
        remake=remake,
        text=sc.text,
        field="text",
    )
    return [] if beam is None else [beam]
