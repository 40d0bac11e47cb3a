"""``kind = "recurrent"``: one RNN, GRU or LSTM layer run over a sequence."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import (
    BuildContext,
    given_arrays,
    given_shapes,
    sequence_shape,
    value,
)
from scenarios.registry import register_kind
from scenarios.schema import FileModel, OneLayerWeights, ScenarioBase


class RecurrentWeights(OneLayerWeights):
    """``[weights]`` of a recurrent scenario: PyTorch's names and layout; each one omitted is
    drawn from the scenario's seed. Shapes are checked by the engine, which knows the sizes."""

    model_config = ConfigDict(extra="forbid")

    weight_ih: Any = None
    """(G·H, input_size): the input weights of every gate, stacked in PyTorch's order."""
    weight_hh: Any = None
    """(G·H, H): the recurrent weights of every gate."""
    bias_ih: Any = None
    """(G·H,)."""
    bias_hh: Any = None
    """(G·H,)."""
    w_ya: Any = None
    """(O, H): the softmax output layer's weights; needs an output layer."""
    b_y: Any = None
    """(O,): the output layer's bias."""


class RecurrentScenario(ScenarioBase):
    """``kind = "recurrent"``: one RNN, GRU or LSTM layer run over a sequence, one step per time
    step."""

    input: Any
    """The sequence, (T, input_size): numbers inline, a random spec or a data spec."""
    cell: str = Field("rnn", strict=True)
    """``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units, ≥ 1."""
    weights: RecurrentWeights | None = None
    """Given weights; every one not given is seeded random."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    output_size: int | None = Field(None, strict=True)
    """O: adds a softmax output layer ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y) with O outputs."""
    a0: Any = None
    """The initial hidden state a⟨−1⟩, (H,); zeros when omitted."""
    c0: Any = None
    """The initial cell state c⟨−1⟩, (H,), LSTM only; zeros when omitted."""
    architecture: str = Field("many_to_many", strict=True)
    """Which steps read an input and which give an output: ``"many_to_many"``, ``"one_to_one"``,
    ``"one_to_many"``, ``"many_to_one"`` or ``"encoder_decoder"``."""
    decoder_steps: int | None = Field(None, strict=True)
    """Ty, the steps with an output, for ``one_to_many`` and ``encoder_decoder`` only."""
    contrast: RecurrentContrast | None = None
    """Run the sequence a second time with one input number changed and show both runs."""


class RecurrentContrast(FileModel):
    """``contrast = { step = 0, channel = 0, value = -1 }``: x⟨step⟩[channel] = value in a
    second run, to show how long the network remembers the change."""

    step: int = Field(strict=True)
    """The time step whose input changes, 0 ≤ step < T, a step with an input."""
    channel: int = Field(0, strict=True)
    """Which entry of x⟨step⟩ changes, 0 ≤ channel < input_size."""
    value: float
    """The entry's value in the second run."""


RecurrentScenario.model_rebuild()


@register_kind("recurrent", RecurrentScenario, nested=(RecurrentWeights, RecurrentContrast))
def build_recurrent(sc: RecurrentScenario, ctx: BuildContext) -> list[Stage]:
    """A RecurrentStage: the cell, the sizes and the shape of every given array are checked
    before anything is generated; weights not given are drawn from ``seed``."""
    from engine.recurrent import (
        RecurrentStage,
        check_cell,
        check_shape,
        check_sizes,
        layout,
        recurrent_peak_bytes,
        seeded_weights,
    )

    problems = ctx.problems
    given = sc.weights.model_dump() if sc.weights is not None else {}
    try:
        cell = check_cell(sc.cell)
        seq = sequence_shape(sc.input, problems)
        shapes = given_shapes(given, problems)
        if seq is None or shapes is None:
            return []
        steps, n_in = seq
        has_input, has_output = layout(sc.architecture, steps, sc.decoder_steps)
        steps = len(has_input)  # T: the decoder's steps come after the given inputs
        out_size = sc.output_size
        if out_size is None and "w_ya" in shapes and len(shapes["w_ya"]) == 2:
            out_size = shapes["w_ya"][0]
        if out_size is None and "w_ya" in shapes:
            raise SpecError(
                "weights.w_ya", f"expected a 2-D (O, H) array, got shape {list(shapes['w_ya'])}"
            )
        if out_size is None and "b_y" in shapes:
            raise SpecError("weights.b_y", "an output bias needs an output layer: give output_size")
        check_sizes(cell, steps, n_in, sc.hidden_size, out_size)
        need = recurrent_peak_bytes(cell, steps, n_in, sc.hidden_size, out_size or 0)
        ctx.budget.charge(need, "input", f"the {cell.upper()} over {steps:,} steps")
        for key, got in shapes.items():
            check_shape(key, got, cell, n_in, sc.hidden_size, out_size)
    except SpecError as e:
        problems.spec_error(e)
        return []
    seeded = seeded_weights(cell, n_in, sc.hidden_size, sc.seed, out_size)
    arrays = given_arrays(dict(seeded), given, shapes, problems)
    a0 = None if sc.a0 is None else value(sc.a0, "a0", problems)
    c0 = None if sc.c0 is None else value(sc.c0, "c0", problems)
    given_x = value(sc.input, "input", problems)
    if problems.items or given_x is None:
        return []
    x = np.zeros((steps, n_in))  # steps without an input read zeros
    x[has_input] = given_x
    try:
        stage = RecurrentStage(
            x,
            cell,
            sc.hidden_size,
            arrays["weight_ih"],  # type: ignore[arg-type]
            arrays["weight_hh"],  # type: ignore[arg-type]
            arrays["bias_ih"],
            arrays["bias_hh"],
            a0=a0,
            c0=c0,
            w_ya=arrays.get("w_ya"),
            b_y=arrays.get("b_y"),
            name=cell,
            has_input=has_input,
            has_output=has_output,
            architecture=sc.architecture,
        )
        if sc.contrast is not None:
            stage.contrast_run(sc.contrast.step, sc.contrast.channel, sc.contrast.value)
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage]
