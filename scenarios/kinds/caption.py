"""``kind = "caption"``: the shipped captioner describes a picture of coloured shapes, greedily
a word at a time, then beam search looks for the likeliest caption."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase


class CaptionScenario(ScenarioBase):
    """``kind = "caption"``: a scene is drawn, the CNN encoder reads the picture and the GRU
    decoder writes its caption; a beam search over the same decoder follows."""

    scene: str = Field(strict=True)
    """What the picture shows: one or two shapes, e.g. "red circle above blue square"
    (colours red, green, blue, yellow; shapes circle, square, triangle; relations above, below,
    left of, right of; articles optional)."""
    seed: int = Field(0, strict=True)
    """Seed of the picture's small random changes of position, size and colour (≥ 0)."""
    max_length: int = Field(12, strict=True)
    """Most words of a caption, ``<EOS>`` included, 1 to 50."""
    beam_width: int = Field(3, strict=True)
    """B of the beam search that follows, 1 to 1,000; B = 1 is greedy decoding."""
    alpha: float = 0.7
    """α of the length-normalised score log P(y|x) / Ty^α, 0 to 1."""
    reference: str | None = Field(None, strict=True)
    """y*, a caption to compare with the search's best: error analysis says whether the
    search or the model is at fault."""


@register_kind("caption", CaptionScenario)
def build_caption(sc: CaptionScenario, ctx: BuildContext) -> list[Stage]:
    """[CaptionStage, BeamSearchStage] over the shipped captioner, the beam's memory charged
    to the scenario's budget first."""
    from engine.beam import beam_peak_bytes
    from engine.caption import CaptionStage, check_seed
    from scenarios.captioner import captioner, scene_decoder
    from scenarios.search import check_reference, search_settings, search_stage
    from scenarios.shapes import parse_scene

    problems = ctx.problems
    settings = search_settings(sc, problems, ((check_seed, "seed", sc.seed),))
    try:
        model = captioner()
    except SpecError as e:  # the arrays do not fit together
        problems.spec_error(e)
        return []
    except ValueError as e:  # the files cannot be read
        problems.add("model", str(e))
        return []
    # The scene and the reference are read before anything is built, so that every problem
    # of the file is said at once.
    said = len(problems.items)
    try:
        parse_scene(sc.scene)
    except SpecError as e:
        problems.add("scene", e.message)
    check_reference(model, sc.reference, problems)
    if settings is None or len(problems.items) > said:
        return []
    seed, length = settings["seed"], settings["max_length"]
    state = model.hidden_size
    need = beam_peak_bytes(settings["beam_width"], len(model.vocabulary), length, state)
    if not ctx.charge(need, "beam_width", f"a beam of {settings['beam_width']:,} captions"):
        return []

    def remake(text: str) -> Any:
        return scene_decoder(text, seed, "scene")

    try:
        stage = CaptionStage(model, sc.scene, seed=seed, max_length=length, name="captioner")
    except SpecError as e:
        problems.spec_error(e)
        return []
    beam = search_stage(
        stage.decoder,
        settings,
        problems,
        reference=sc.reference,
        remake=remake,
        text=sc.scene,
        field="scene",
    )
    return [] if beam is None else [stage, beam]
