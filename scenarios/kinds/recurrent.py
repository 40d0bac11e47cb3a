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
from scenarios.schema import FileModel, OneLayerWeights
from scenarios.words import WordSequenceScenario, labelled_output_size


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
    # The course's names, instead of PyTorch's (see ``COURSE_NAMES``).
    W_aa: Any = None
    """rnn: (H, H), W_aa·a⟨t−1⟩ (PyTorch's ``weight_hh``)."""
    W_ax: Any = None
    """rnn: (H, input_size), W_ax·x⟨t⟩ (PyTorch's ``weight_ih``)."""
    b_a: Any = None
    """rnn: (H,), b_a (PyTorch's ``bias_ih``, with ``bias_hh`` = 0)."""
    W_u: Any = None
    """lstm: (H, H + input_size), the update gate's W_u·[a⟨t−1⟩, x⟨t⟩] (PyTorch's i rows)."""
    W_f: Any = None
    """lstm: (H, H + input_size), the forget gate's weights (PyTorch's f rows)."""
    W_c: Any = None
    """lstm: (H, H + input_size), the candidate c̃⟨t⟩'s weights (PyTorch's g rows)."""
    W_o: Any = None
    """lstm: (H, H + input_size), the output gate's weights (PyTorch's o rows)."""
    b_u: Any = None
    """lstm: (H,)."""
    b_f: Any = None
    """lstm: (H,)."""
    b_c: Any = None
    """lstm: (H,)."""
    b_o: Any = None
    """lstm: (H,)."""
    file: str | None = Field(None, strict=True)
    """A weight file (``.npz``, ``.safetensors``, ``.pt``) inside the scenario's folder or the
    bundled data, holding the weights under the keys above (PyTorch's ``weight_ih_l0`` … are
    read as ``weight_ih`` …); then no weight is given inline."""
    W_r: Any = None
    """gru: refused with the reason (PyTorch's GRU resets after the product, the course's
    before it, so the course's W_r, W_u, W_c have no exact PyTorch form)."""


COURSE_NAMES: dict[str, tuple[str, ...]] = {
    "rnn": ("W_aa", "W_ax", "b_a"),
    "lstm": ("W_u", "W_f", "W_c", "W_o", "b_u", "b_f", "b_c", "b_o"),
}
"""The weights each cell may be given under the course's names. An LSTM's W_· multiplies the
stacked [a⟨t−1⟩, x⟨t⟩]: its first H columns are PyTorch's ``weight_hh`` rows, the rest its
``weight_ih`` rows; the gates stack in PyTorch's order i (Γu), f (Γf), g (c̃), o (Γo). The
course's single bias is PyTorch's ``bias_ih``, with ``bias_hh`` = 0."""

_ALL_COURSE = {name for names in COURSE_NAMES.values() for name in names} | {"W_r"}


def course_to_pytorch(
    given: dict[str, Any], cell: str, n_in: int, hidden: int, problems: Any
) -> dict[str, Any] | None:
    """``given`` with the course's names (W_u, b_u … or W_aa, W_ax, b_a) turned into PyTorch's
    (as inline numbers), or None after a problem is said; unchanged if it uses none."""
    used = [k for k in given if k in _ALL_COURSE and given[k] is not None]
    if not used:
        return given
    names = COURSE_NAMES.get(cell)
    if names is None or any(k not in names for k in used):
        wrong = next(k for k in used if names is None or k not in names)
        if cell == "gru":
            problems.add(
                f"weights.{wrong}",
                "a GRU's weights are given under PyTorch's names (weight_ih, weight_hh, bias_ih, "
                "bias_hh): PyTorch applies the reset gate after the product, Γr ⊙ (W_hn·a + b_hn), "
                "where the course writes W_c·[Γr ⊙ a, x], so the course's W_c has no exact "
                "PyTorch form",
            )
        else:
            valid = ", ".join(names or ())
            problems.add(
                f"weights.{wrong}", f"not a weight of a {cell} cell; its course names: {valid}"
            )
        return None
    pytorch = [
        k for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if given.get(k) is not None
    ]
    if pytorch:
        problems.add(
            f"weights.{used[0]}",
            f"give the weights under the course's names or PyTorch's, not both (also given: "
            f"{', '.join(pytorch)})",
        )
        return None
    missing = [k for k in names if k.startswith("W") and given.get(k) is None]
    if missing:
        problems.add(
            f"weights.{missing[0]}",
            f"missing: under the course's names every matrix is given ({', '.join(names)}; "
            "biases may be left out and are then 0)",
        )
        return None
    width = hidden + n_in
    expected = {
        "W_aa": (hidden, hidden),
        "W_ax": (hidden, n_in),
        **{k: (hidden, width) for k in ("W_u", "W_f", "W_c", "W_o")},
        **{k: (hidden,) for k in ("b_a", "b_u", "b_f", "b_c", "b_o")},
    }
    arrays: dict[str, np.ndarray] = {}
    for k in names:
        if given.get(k) is None:
            arrays[k] = np.zeros(expected[k])
            continue
        arr = value(given[k], f"weights.{k}", problems)
        if arr is None:
            return None
        if arr.shape != expected[k]:
            what = "(H, H + input_size)" if k.startswith("W_") and cell == "lstm" else ""
            problems.add(
                f"weights.{k}",
                f"expected shape {expected[k]} {what}for hidden_size {hidden} and input_size "
                f"{n_in}, got {arr.shape}".replace("  ", " "),
            )
            return None
        arrays[k] = arr
    out = {k: v for k, v in given.items() if k not in _ALL_COURSE}
    if cell == "rnn":
        out["weight_hh"], out["weight_ih"] = arrays["W_aa"].tolist(), arrays["W_ax"].tolist()
        out["bias_ih"], out["bias_hh"] = arrays["b_a"].tolist(), [0.0] * hidden
    else:
        gates = ("W_u", "W_f", "W_c", "W_o")
        out["weight_hh"] = np.vstack([arrays[g][:, :hidden] for g in gates]).tolist()
        out["weight_ih"] = np.vstack([arrays[g][:, hidden:] for g in gates]).tolist()
        biases = ("b_u", "b_f", "b_c", "b_o")
        out["bias_ih"] = np.concatenate([arrays[b] for b in biases]).tolist()
        out["bias_hh"] = [0.0] * (4 * hidden)
    return out


class RecurrentScenario(WordSequenceScenario):
    """``kind = "recurrent"``: one RNN, GRU or LSTM layer run over a sequence, one step per time
    step."""

    feedback: bool = Field(False, strict=True)
    """one_to_many only: x⟨t⟩ for t ≥ 2 is the likeliest label of ŷ⟨t−1⟩ fed back as its
    one-hot vector (every label but ``<EOS>`` must be in ``vocabulary``); ``<EOS>`` ends the
    run before ``decoder_steps``."""
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
    """``contrast = { step = 1, channel = 0, value = -1 }``: x⟨step⟩[channel] = value in a
    second run, to show how long the network remembers the change."""

    step: int = Field(strict=True)
    """The time step t whose input changes, 1 ≤ t ≤ T (x⟨1⟩ is the first input), a step with an
    input."""
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
    from scenarios.words import text_of

    problems = ctx.problems
    given = sc.weights.model_dump() if sc.weights is not None else {}
    labels = sc.labels
    try:
        cell = check_cell(sc.cell)
        text_x, words, vocab = text_of(sc, ctx)
        if problems.items:
            return []
        if not _file_weights(sc, given, ctx):
            return []
        seq = text_x.shape if text_x is not None else sequence_shape(sc.input, problems)
        if seq is None:
            return []
        if isinstance(sc.hidden_size, int) and 1 <= sc.hidden_size <= 4096:
            named = course_to_pytorch(given, cell, seq[1], sc.hidden_size, problems)
            if named is None:
                return []
            given = named
        given = {k: v for k, v in given.items() if k not in _ALL_COURSE}
        shapes = given_shapes(given, problems)
        if shapes is None:
            return []
        steps, n_in = seq
        try:
            has_input, has_output = layout(sc.architecture, steps, sc.decoder_steps)
        except SpecError as e:  # a text's words are its time steps
            if e.field != "input" or words is None:
                raise
            raise SpecError("text", e.message.replace("time step", "word")) from None
        steps = len(has_input)  # T: the decoder's steps come after the given inputs
        out_size = labelled_output_size(sc.output_size, labels, shapes)
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
    given_x = text_x if text_x is not None else value(sc.input, "input", problems)
    if problems.items or given_x is None:
        return []
    x = np.zeros((steps, n_in))  # steps without an input read zeros
    x[has_input] = given_x
    try:
        if sc.feedback:
            x, words = _fed_back(sc, x[0], vocab, cell, arrays, steps)
            has_input = has_output = np.ones(len(x), dtype=bool)
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
            words=words,
            labels=labels,
            feedback=sc.feedback,
        )
        if sc.contrast is not None:
            stage.contrast_run(sc.contrast.step, sc.contrast.channel, sc.contrast.value)
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage]


def _file_weights(sc: RecurrentScenario, given: dict[str, Any], ctx: BuildContext) -> bool:
    """``weights.file``'s arrays put into ``given`` (in place); False after a problem."""
    from scenarios.words import weights_file

    name = given.pop("file", None)
    if name is None:
        return True
    inline = [k for k, v in given.items() if v is not None]
    if inline:
        ctx.problems.add(
            "weights.file",
            f"give the weights in the file or inline, not both (also given: {', '.join(inline)})",
        )
        return False
    keys = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "w_ya", "b_y"]
    arrays = weights_file(name, ctx, keys)
    if arrays is None:
        return False
    given.update(arrays)
    return True


def _fed_back(
    sc: RecurrentScenario,
    x1: np.ndarray,
    vocab: tuple[str, ...] | None,
    cell: str,
    arrays: dict[str, Any],
    steps: int,
) -> tuple[np.ndarray, list[str]]:
    """The inputs and words of a run that feeds each likeliest label back; SpecError naming
    ``feedback`` or ``labels`` when it cannot."""
    from engine.recurrent import STOP, feedback_inputs

    if sc.architecture != "one_to_many":
        raise SpecError(
            "feedback",
            f"only a one_to_many network feeds its output back; this is {sc.architecture}",
        )
    if vocab is None or sc.labels is None or arrays.get("w_ya") is None:
        raise SpecError("feedback", "feeding labels back needs text, vocabulary and labels")
    index = {w.lower(): k for k, w in enumerate(vocab)}
    feed: list[int | None] = []
    for k, label in enumerate(sc.labels):
        if label == STOP:
            feed.append(None)
        elif label.lower() in index:
            feed.append(index[label.lower()])
        else:
            raise SpecError(
                f"labels[{k}]",
                f"{label!r} is not in the vocabulary, so it cannot be fed back as an input; "
                f"every label but {STOP} must be a token of the vocabulary",
            )
    x = feedback_inputs(
        x1,
        cell,
        arrays["weight_ih"],
        arrays["weight_hh"],
        arrays["bias_ih"],
        arrays["bias_hh"],
        arrays["w_ya"],
        arrays["b_y"],
        feed,
        steps,
    )
    return x, [vocab[int(np.argmax(row))] for row in x]
