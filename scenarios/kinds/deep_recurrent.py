"""``kind = "deep_recurrent"``: stacked and/or bidirectional RNN, GRU or LSTM layers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext, given_arrays, given_shapes, sequence_shape, value
from scenarios.registry import register_kind
from scenarios.words import WordSequenceScenario, labelled_output_size


class DeepRecurrentScenario(WordSequenceScenario):
    """``kind = "deep_recurrent"``: stacked and/or bidirectional RNN, GRU or LSTM layers, one
    step per cell a[l]⟨t⟩ in the order they are computed."""

    compare: str | None = Field(None, strict=True)
    """A second text over the same vocabulary, run through the same network and shown beside
    the first: its ŷ⟨t⟩ and how far its states a→⟨t⟩, a←⟨t⟩ are from the first text's."""
    cell: str = Field("rnn", strict=True)
    """``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``."""
    hidden_size: int = Field(strict=True)
    """H, the number of hidden units of every layer and direction, ≥ 1."""
    num_layers: int = Field(1, strict=True)
    """L, stacked layers, 1 to 8."""
    bidirectional: bool = Field(False, strict=True)
    """Add a backward sweep (right to left) to every layer."""
    weights: dict[str, Any] | None = None
    """Given weights by PyTorch's names (``weight_ih_l0``, ``bias_hh_l1_reverse`` …) and
    ``w_ya`` / ``b_y``; every one not given is seeded random. Or ``file``: a weight file
    (``.npz``, ``.safetensors``, ``.pt``) holding them under those names."""
    seed: int = Field(0, ge=0, strict=True)
    """Seed of the weights not given, drawn like PyTorch's default U(−1/√H, 1/√H)."""
    output_size: int | None = Field(None, strict=True)
    """O: adds ŷ⟨t⟩ = softmax(W_ya·[a→⟨t⟩, a←⟨t⟩] + b_y) over the top layer."""


@register_kind("deep_recurrent", DeepRecurrentScenario)
def build_deep_recurrent(sc: DeepRecurrentScenario, ctx: BuildContext) -> list[Stage]:
    """A DeepRecurrentStage: layout, sizes and every given array's name and shape are checked
    before anything is generated; weights not given are drawn from ``seed``."""
    from engine.deep_recurrent import (
        DeepRecurrentStage,
        check_deep_shape,
        check_deep_sizes,
        check_layout,
        deep_parameter_shapes,
        deep_peak_bytes,
        deep_seeded_weights,
    )
    from engine.recurrent import check_cell
    from scenarios.words import text_input, text_of

    problems = ctx.problems
    given = {k: v for k, v in (sc.weights or {}).items() if v is not None}
    labels = sc.labels
    try:
        cell = check_cell(sc.cell)
        layers, dirs = check_layout(sc.num_layers, sc.bidirectional)
        text_x, words, vocab = text_of(sc, ctx)
        if sc.compare is not None and vocab is None and not problems.items:
            problems.add("compare", "a second text needs text and vocabulary for the first")
        if problems.items:
            return []
        if "file" in given and not _file_weights(given, ctx, cell, layers, dirs == 2):
            return []
        seq = text_x.shape if text_x is not None else sequence_shape(sc.input, problems)
        shapes = given_shapes(given, problems)
        if seq is None or shapes is None:
            return []
        steps, n_in = seq
        out_size = labelled_output_size(sc.output_size, labels, shapes)
        if out_size is None and "w_ya" in shapes and len(shapes["w_ya"]) == 2:
            out_size = shapes["w_ya"][0]
        if out_size is None and ("w_ya" in shapes or "b_y" in shapes):
            raise SpecError("weights.w_ya", "an output layer needs output_size or a 2-D w_ya")
        check_deep_sizes(cell, steps, n_in, sc.hidden_size, layers, dirs == 2, out_size)
        need = deep_peak_bytes(cell, steps, n_in, sc.hidden_size, layers, dirs == 2, out_size or 0)
        ctx.budget.charge(need, "input", f"{layers} layer(s) × {dirs} direction(s)")
        expected = deep_parameter_shapes(cell, n_in, sc.hidden_size, layers, dirs == 2, out_size)
        for key, got in shapes.items():
            check_deep_shape(key, got, expected)
    except SpecError as e:
        problems.spec_error(e)
        return []
    seeded = deep_seeded_weights(cell, n_in, sc.hidden_size, layers, dirs == 2, sc.seed, out_size)
    arrays = given_arrays(seeded, given, shapes, problems)
    x = text_x if text_x is not None else value(sc.input, "input", problems)
    if problems.items or x is None:
        return []
    try:
        stage = DeepRecurrentStage(
            x,
            cell,
            sc.hidden_size,
            layers,
            dirs == 2,
            arrays,
            name=f"{cell}x{layers}",
            words=words,
            labels=labels,
        )
        if sc.compare is not None and vocab is not None:
            made = text_input(sc.compare, vocab, "compare")
            assert made is not None
            stage.compare_run(*made)
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage]


def _file_weights(
    given: dict[str, Any], ctx: BuildContext, cell: str, layers: int, bidirectional: bool
) -> bool:
    """``weights.file``'s arrays put into ``given`` (in place); False after a problem."""
    from engine.deep_recurrent import deep_parameter_shapes
    from scenarios.words import weights_file

    name = given.pop("file")
    if not isinstance(name, str):
        ctx.problems.add("weights.file", f"expected the name of a weight file, got {name!r}")
        return False
    inline = list(given)
    if inline:
        ctx.problems.add(
            "weights.file",
            f"give the weights in the file or inline, not both (also given: {', '.join(inline)})",
        )
        return False
    keys = list(deep_parameter_shapes(cell, 1, 1, layers, bidirectional, 1))
    arrays = weights_file(name, ctx, keys)
    if arrays is None:
        return False
    given.update(arrays)
    return True
