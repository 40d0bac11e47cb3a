"""``kind = "language_model"``: a shipped RNN language model scores a text or samples one."""

from __future__ import annotations

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.language import LEVEL_NAMES, language_model
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase


class LanguageModelScenario(ScenarioBase):
    """``kind = "language_model"``: a trained RNN language model over characters or words scores
    a text or samples a new one, one step per token with ``<EOS>``."""

    model: str = Field("char_lm", strict=True)
    """The shipped model: ``"char_lm"`` (characters) or ``"word_lm"`` (words)."""
    mode: str = Field("score", strict=True)
    """``"score"`` (the probability of ``word`` or ``sentence``) or ``"sample"`` (draw one)."""
    word: str | None = Field(None, strict=True)
    """The word a character model scores: lower-case letters a–z; ``<EOS>`` is added."""
    sentence: str | None = Field(None, strict=True)
    """The sentence a word model scores: words it lacks become ``<UNK>``; ``<EOS>`` is added."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of ``numpy.random.default_rng`` for sampling."""
    temperature: float = 1.0
    """τ in softmax(z / τ), 0.05 to 10: < 1 sharpens, > 1 flattens."""
    max_length: int = Field(20, strict=True)
    """Most steps, ``<EOS>`` included, 1 to 50."""


@register_kind("language_model", LanguageModelScenario)
def build_language_model(sc: LanguageModelScenario, ctx: BuildContext) -> list[Stage]:
    """A LanguageModelStage scoring ``word`` (character model) or ``sentence`` (word model), or
    sampling, with the shipped weights."""
    from engine.language import TEXT_FIELDS, LanguageModelStage, language_peak_bytes
    from engine.limits import MAX_LENGTH

    problems = ctx.problems

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
    if sc.mode == "sample" and given[field] is not None:
        # The engine can start a sample from a typed text (the player's e); a file samples
        # from nothing, so a text there is a score's.
        problems.add(field, f"a {field} is scored in score mode; sample mode draws one")
        return []
    try:
        hidden = int(model.weights["weight_hh_l0"].shape[0])
        length = max(1, min(sc.max_length, MAX_LENGTH))  # a bad max_length is the stage's to say
        need = language_peak_bytes(hidden, len(model.vocabulary), length)
        ctx.budget.charge(need, "model", f"the model {sc.model!r}")
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
