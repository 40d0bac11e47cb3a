"""``kind = "bptt"``: backpropagation through time in a tanh RNN, with gradient clipping."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ConfigDict, Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext, given_arrays, given_shapes, sequence_shape, value
from scenarios.registry import register_kind
from scenarios.schema import FileModel, OneLayerWeights, ScenarioBase


class BpttWeights(OneLayerWeights):
    """``[weights]`` of a bptt scenario: the tanh RNN's four parameters, PyTorch's names."""

    model_config = ConfigDict(extra="forbid")

    weight_ih: Any = None
    """(H, input_size): W_ax."""
    weight_hh: Any = None
    """(H, H): W_aa, before ``recurrent_scale``."""
    bias_ih: Any = None
    """(H,)."""
    bias_hh: Any = None
    """(H,)."""


class BpttClip(FileModel):
    """``clip = { mode = "norm", threshold = 1.0 }``: gradient clipping after the backward pass."""

    mode: str = Field(strict=True)
    """``"value"`` (each entry into [−c, c]) or ``"norm"`` (scale all so that ‖g‖ ≤ c)."""
    threshold: float
    """c, > 0."""


class BpttScenario(ScenarioBase):
    """``kind = "bptt"``: backpropagation through time in a tanh RNN, one step per time step,
    from the last to the first."""

    input: Any
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units, ≥ 1."""
    weights: BpttWeights | None = None
    """Given weights; every one not given is seeded random."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    recurrent_scale: float = 1.0
    """W_aa is ``recurrent_scale`` × weight_hh (given or seeded): > 1 for exploding gradients."""
    a0: Any = None
    """The initial hidden state a⟨−1⟩, (H,); zeros when omitted."""
    target: Any
    """y: (H,) for ``loss = "last"``, (T, H) for ``"all"``."""
    loss: str = Field("last", strict=True)
    """``"last"``: L = ½‖a⟨T−1⟩ − y‖²; ``"all"``: L = ½ Σ_t ‖a⟨t⟩ − y⟨t⟩‖²."""
    clip: BpttClip | None = None
    """Gradient clipping applied to the summed parameter gradients, shown before and after."""


@register_kind("bptt", BpttScenario, nested=(BpttWeights, BpttClip))
def build_bptt(sc: BpttScenario, ctx: BuildContext) -> list[Stage]:
    """A BpttStage: sizes and given shapes are checked before anything is generated; weights not
    given are drawn from ``seed`` and W_aa is multiplied by ``recurrent_scale``."""
    from engine.bptt import BpttStage, bptt_peak_bytes
    from engine.recurrent import check_shape, check_sizes, seeded_weights

    problems = ctx.problems
    given = sc.weights.model_dump() if sc.weights is not None else {}
    try:
        if not (math.isfinite(sc.recurrent_scale) and sc.recurrent_scale > 0):
            raise SpecError(
                "recurrent_scale", f"must be a finite number > 0, got {sc.recurrent_scale!r}"
            )
        seq = sequence_shape(sc.input, problems)
        shapes = given_shapes(given, problems)
        if seq is None or shapes is None:
            return []
        steps, n_in = seq
        check_sizes("rnn", steps, n_in, sc.hidden_size)
        need = bptt_peak_bytes(steps, n_in, sc.hidden_size)
        ctx.budget.charge(need, "input", f"backpropagation through {steps:,} steps")
        for key, got in shapes.items():
            check_shape(key, got, "rnn", n_in, sc.hidden_size)
    except SpecError as e:
        problems.spec_error(e)
        return []
    seeded = seeded_weights("rnn", n_in, sc.hidden_size, sc.seed)
    arrays = given_arrays(dict(seeded), given, shapes, problems)
    a0 = None if sc.a0 is None else value(sc.a0, "a0", problems)
    target = value(sc.target, "target", problems)
    x = value(sc.input, "input", problems)
    if problems.items or x is None or target is None or arrays["weight_hh"] is None:
        return []
    clip = None if sc.clip is None else (sc.clip.mode, sc.clip.threshold)
    try:
        stage = BpttStage(
            x,
            sc.hidden_size,
            arrays["weight_ih"],  # type: ignore[arg-type]
            sc.recurrent_scale * arrays["weight_hh"],
            arrays["bias_ih"],
            arrays["bias_hh"],
            target,
            a0=a0,
            loss=sc.loss,
            clip=clip,
        )
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage]
