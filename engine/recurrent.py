"""Recurrent cells (RNN, GRU, LSTM) run over a sequence, stepped one time step at a time."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.arrays import frozen, is_whole
from engine.cells import GATES, cell_forward, input_terms, run_cell
from engine.cells import sigmoid as sigmoid  # still importable from here
from engine.core import Stage, Step, replaced
from engine.errors import SpecError
from engine.limits import MAX_OUTPUT_SIZE, MAX_SEQUENCE, MAX_WORK, check_bytes
from engine.threads import one_blas_thread

FLOAT_MAX = float(np.finfo(np.float64).max)
"""The largest finite float64, about 1.8e308."""

CELLS = tuple(GATES)
"""Valid cell types."""

ARCHITECTURES = ("many_to_many", "one_to_one", "one_to_many", "many_to_one", "encoder_decoder")
"""Which time steps read an input and which produce an output (see ``layout``)."""


def check_cell(cell: Any) -> str:
    """``cell`` if it names a cell type, else SpecError listing the valid ones."""
    if isinstance(cell, str) and cell in GATES:
        return cell
    close = difflib.get_close_matches(str(cell), CELLS, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError("cell", f"unknown cell {cell!r}; {hint}valid: {', '.join(CELLS)}")


def check_architecture(architecture: Any) -> str:
    """``architecture`` if it names one, else SpecError listing the valid ones."""
    if isinstance(architecture, str) and architecture in ARCHITECTURES:
        return architecture
    close = difflib.get_close_matches(str(architecture), ARCHITECTURES, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError(
        "architecture",
        f"unknown architecture {architecture!r}; {hint}valid: {', '.join(ARCHITECTURES)}",
    )


def layout(
    architecture: str, input_steps: int, decoder_steps: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(has_input, has_output)``, each (T,) bool: which steps read x⟨t⟩ and which give ŷ⟨t⟩.

    ``input_steps`` is Tx, the rows of the given sequence; ``decoder_steps`` is Ty for
    ``one_to_many`` (T = Ty, x only at t = 1) and ``encoder_decoder`` (T = Tx + Ty, x only
    in the first Tx steps, ŷ only in the last Ty). Steps without an input read zeros. The
    masks are indexed from 0: entry k is time step t = k + 1.
    """
    arch = check_architecture(architecture)
    tx = int(input_steps)
    if arch in ("one_to_many", "encoder_decoder"):
        if decoder_steps is None:
            raise SpecError("decoder_steps", f"missing; {arch} needs Ty, a whole number ≥ 1")
        if not is_whole(decoder_steps) or decoder_steps < 1:
            raise SpecError("decoder_steps", f"must be a whole number ≥ 1, got {decoder_steps!r}")
        room = MAX_SEQUENCE - (tx if arch == "encoder_decoder" else 0)
        if decoder_steps > room:
            what = f"with {tx:,} input step(s) " if arch == "encoder_decoder" else ""
            raise SpecError(
                "decoder_steps",
                f"{int(decoder_steps):,} decoder steps {what}make a sequence longer than the "
                f"limit of {MAX_SEQUENCE:,} time steps; expected 1 to {max(room, 1):,}",
            )
    elif decoder_steps is not None:
        raise SpecError(
            "decoder_steps", f"only one_to_many and encoder_decoder have one; this is {arch}"
        )
    if arch == "one_to_one" and tx != 1:
        raise SpecError("input", f"one_to_one has T = 1: expected 1 time step, got {tx}")
    if arch == "one_to_many" and tx != 1:
        raise SpecError("input", f"one_to_many reads x⟨1⟩ only: expected 1 time step, got {tx}")
    if arch == "one_to_many":
        assert decoder_steps is not None
        ty = int(decoder_steps)
        has_input = np.arange(ty) == 0
        return has_input, np.ones(ty, dtype=bool)
    if arch == "encoder_decoder":
        assert decoder_steps is not None
        steps = tx + int(decoder_steps)
        has_input = np.arange(steps) < tx
        return has_input, ~has_input
    has_output = np.ones(tx, dtype=bool)
    if arch == "many_to_one":
        has_output = np.arange(tx) == tx - 1
    return np.ones(tx, dtype=bool), has_output


def check_sizes(
    cell: str, steps: int, input_size: int, hidden_size: Any, output_size: int | None = None
) -> None:
    """SpecError unless a run with these sizes is valid and fits in memory and time.

    Needs no arrays, so a scenario can be refused before anything large is generated.
    """
    g = len(GATES[check_cell(cell)])
    if not is_whole(hidden_size):
        raise SpecError("hidden_size", f"expected a whole number, got {hidden_size!r}")
    h = int(hidden_size)
    if h < 1:
        raise SpecError("hidden_size", f"must be ≥ 1, got {h}")
    if steps < 1 or input_size < 1:
        raise SpecError("input", f"empty sequence: shape ({steps}, {input_size})")
    if steps > MAX_SEQUENCE:
        raise SpecError(
            "input", f"sequence of {steps:,} steps is longer than the limit of {MAX_SEQUENCE:,}"
        )
    o = output_size or 0
    check_output_size(output_size)
    need = recurrent_peak_bytes(cell, steps, input_size, h, o)
    check_bytes(need, "hidden_size", f"hidden_size {h:,} over {steps:,} steps")
    work = steps * (g * h * (input_size + h) + o * h)
    if work > MAX_WORK:
        raise SpecError(
            "hidden_size",
            f"hidden_size {h:,} over {steps:,} steps takes {work:.2g} multiply-adds; the limit "
            f"is {MAX_WORK:.0e}: use a smaller hidden size or a shorter sequence",
        )


def parameter_shapes(
    cell: str, input_size: int, hidden_size: int, output_size: int | None = None
) -> dict[str, tuple[int, ...]]:
    """The shape each parameter must have, by its ``weights.`` key (PyTorch's layout)."""
    gh = len(GATES[check_cell(cell)]) * hidden_size
    shapes: dict[str, tuple[int, ...]] = {
        "weight_ih": (gh, input_size),
        "weight_hh": (gh, hidden_size),
        "bias_ih": (gh,),
        "bias_hh": (gh,),
    }
    if output_size is not None:
        shapes["w_ya"] = (output_size, hidden_size)
        shapes["b_y"] = (output_size,)
    return shapes


def check_shape(
    key: str,
    got: tuple[int, ...],
    cell: str,
    input_size: int,
    hidden_size: int,
    output_size: int | None = None,
) -> None:
    """SpecError naming ``weights.KEY`` and both shapes unless ``got`` is the shape it must be."""
    expected = parameter_shapes(cell, input_size, hidden_size, output_size)[key]
    if tuple(got) != expected:
        if key in ("w_ya", "b_y"):
            where = f"for output_size {output_size} and hidden_size {hidden_size}"
        else:
            where = f"for cell {cell} with hidden_size {hidden_size} and input_size {input_size}"
        raise SpecError(f"weights.{key}", f"expected {expected} {where}, got {tuple(got)}")


def check_output_size(output_size: Any) -> None:
    """SpecError unless ``output_size`` is None or a whole number from 1 to MAX_OUTPUT_SIZE."""
    if output_size is None:
        return
    if not is_whole(output_size) or not 1 <= output_size <= MAX_OUTPUT_SIZE:
        raise SpecError(
            "output_size",
            f"must be a whole number ≥ 1 and ≤ {MAX_OUTPUT_SIZE:,}, got {output_size!r}",
        )


def recurrent_bytes(cell: str, steps: int, input_size: int, hidden: int, output: int = 0) -> int:
    """Bytes of float64 a recurrent stage holds, from sizes alone: the input, the weights, and
    per time step the input terms, pre-activations, gates, states and outputs."""
    gh = len(GATES[cell]) * hidden
    weights = gh * (input_size + hidden + 2) + output * (hidden + 1)
    per_step = input_size + 3 * gh + 2 * hidden + 2 * output
    return 8 * (weights + steps * per_step + 2 * hidden)


def recurrent_peak_bytes(
    cell: str, steps: int, input_size: int, hidden: int, output: int = 0
) -> int:
    """Peak bytes of a recurrent stage from sizes alone: what it holds (``recurrent_bytes``)
    plus the larger of the build temporaries (the logits and softmax's exponentials, the
    masks and zero-filled input) and the PyTorch check (torch's copies of the input and
    weights, its gate workspace per step, its outputs, and the difference with ours)."""
    gh = len(GATES[cell]) * hidden
    held = recurrent_bytes(cell, steps, input_size, hidden, output)
    build = 8 * (3 * steps * output + 2 * steps * input_size)
    weights = gh * (input_size + hidden + 2) + output * (hidden + 1)
    check = 8 * (weights + steps * (input_size + 2 * gh + 5 * hidden + 3 * output))
    return held + max(build, check)


def check_words(words: list[str] | None, steps: int) -> tuple[str, ...] | None:
    """``words`` as a tuple, one per time step, or SpecError naming ``text``."""
    if words is None:
        return None
    if len(words) != steps:
        raise SpecError("text", f"expected {steps} words, one per time step, got {len(words)}")
    return tuple(str(w) for w in words)


def check_labels(labels: list[str] | None, output_size: int | None) -> tuple[str, ...] | None:
    """``labels`` as a tuple, one distinct name per output, or SpecError naming ``labels``."""
    if labels is None:
        return None
    if output_size is None:
        raise SpecError("labels", "labels name the outputs: give an output layer (output_size)")
    if len(labels) != output_size:
        raise SpecError(
            "labels", f"expected {output_size} names, one per output, got {len(labels)}"
        )
    if len(set(labels)) != len(labels) or any(not str(w).strip() for w in labels):
        raise SpecError("labels", "every output needs its own non-empty name")
    return tuple(str(w) for w in labels)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so that exp never overflows.

    Logits more than ~1.8e308 apart would overflow the shift; those entries get probability 0,
    which is the exact answer rounded to float64."""
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def output_layer(
    a: np.ndarray, w_ya: np.ndarray, b_y: np.ndarray, field: str = "weights.w_ya"
) -> tuple[np.ndarray, np.ndarray]:
    """(logits, ŷ) = (a·W_yaᵀ + b_y, softmax of it) for states ``a`` (T, K), ``w_ya`` (O, K).

    SpecError naming ``field`` when a logit overflows float64, with the weights' range that
    would keep every logit finite for these states."""
    with np.errstate(over="ignore", invalid="ignore"):
        logits = a @ w_ya.T + b_y  # (T, O)
    if not np.all(np.isfinite(logits)):
        k = a.shape[-1]
        biggest = max(float(np.abs(a).max(initial=0.0)), 1e-300)
        room = max(FLOAT_MAX / 2 - float(np.abs(b_y).max(initial=0.0)), 0.0)
        raise SpecError(
            field,
            f"the output layer's logits W_ya·a⟨t⟩ + b_y overflow float64 (|W_ya| up to "
            f"{float(np.abs(w_ya).max()):.3g}); with these states, |W_ya| ≤ "
            f"{room / (k * biggest):.3g} keeps them finite",
        )
    return logits, softmax(logits)


TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']", re.IGNORECASE)
"""A word (letters, digits, apostrophes) or a single punctuation mark: how a ``text`` is split."""

STOP = "<EOS>"
"""The label that ends a run whose outputs are fed back (``feedback_inputs``)."""


def tokenize(text: str) -> list[str]:
    """The words and punctuation marks of ``text`` as written: ``"He said, Teddy"`` →
    ``["He", "said", ",", "Teddy"]``."""
    return TOKEN.findall(text)


def one_hot_words(words: list[str], vocabulary: tuple[str, ...], field: str = "text") -> np.ndarray:
    """x⟨t⟩ = the one-hot vector of each word over ``vocabulary`` (matched ignoring case),
    (T, V); SpecError naming ``field``, the word and the nearest words it knows otherwise."""
    index = {w.lower(): k for k, w in enumerate(vocabulary)}
    x = np.zeros((len(words), len(vocabulary)))
    for t, word in enumerate(words):
        k = index.get(word.lower())
        if k is None:
            close = difflib.get_close_matches(word.lower(), list(index), n=3)
            hint = f"; nearest: {', '.join(close)}" if close else ""
            raise SpecError(
                field,
                f"word {t + 1} {word!r} is not in the vocabulary of {len(vocabulary)} words{hint}",
            )
        x[t, k] = 1.0
    return x


def feedback_inputs(
    x1: np.ndarray,
    cell: str,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray,
    bias_hh: np.ndarray,
    w_ya: np.ndarray,
    b_y: np.ndarray,
    feed: list[int | None],
    steps: int,
) -> np.ndarray:
    """The inputs of a generator that feeds its output back, (T, I) with T ≤ ``steps``:
    x⟨1⟩ = ``x1``, then x⟨t⟩ = the one-hot vector of the likeliest label of ŷ⟨t−1⟩, whose input
    index is ``feed[label]``. A label whose ``feed`` is None (``<EOS>``) ends the run at that
    step. a⟨0⟩ (and c⟨0⟩) = 0; one ``cell_forward`` per step, as ``run_cell`` computes it."""
    h = weight_hh.shape[1]
    xs = [np.asarray(x1, dtype=np.float64)]
    a = np.zeros(h)
    c = np.zeros(h) if cell == "lstm" else None
    for _ in range(steps):
        xi = input_terms(xs[-1], weight_ih, bias_ih)
        out = cell_forward(cell, xi, a, c, weight_hh, bias_hh)
        a, c = out.h, out.c
        _, y = output_layer(a[None], w_ya, b_y)
        nxt = feed[int(np.argmax(y[0]))]
        if nxt is None or len(xs) == steps:
            break
        x = np.zeros_like(xs[0])
        x[nxt] = 1.0
        xs.append(x)
    return np.array(xs)


@dataclass(frozen=True, eq=False, kw_only=True)
class RecurrentStep(Step):
    """One time step t of a recurrent cell: its inputs, every gate, and the new state.

    ``value`` is a⟨t⟩[0], the first hidden unit's new activation.
    """

    t: int
    """The time step as the course counts it, from 1: the first input is x⟨1⟩ and a⟨0⟩ is
    the initial state (zero unless ``a0`` is given). ``index`` is t − 1."""
    cell: str
    """``"rnn"``, ``"gru"`` or ``"lstm"``."""
    x: np.ndarray  # (input_size,) x⟨t⟩
    a_prev: np.ndarray  # (H,) a⟨t−1⟩, the initial state a⟨0⟩ at t = 1
    c_prev: np.ndarray | None  # (H,) c⟨t−1⟩ (LSTM only, else None)
    pre: dict[str, np.ndarray]
    """Pre-activations (H,) per gate name, in PyTorch's order.

    rnn: ``a`` = W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh
    gru: ``r``, ``z`` = the sum of their rows' two terms;
    ``n`` = W_in·x⟨t⟩ + b_in + r ⊙ (W_hn·a⟨t−1⟩ + b_hn) (the reset gate scales the hidden term
    *with* its bias, as in PyTorch).
    lstm: ``i``, ``f``, ``g``, ``o`` = the sum of their rows' two terms.
    """
    gates: dict[str, np.ndarray]
    """Post-activation values (H,) per gate name; empty for rnn (a⟨t⟩ is the only result).

    gru: ``r`` = σ (Γr), ``z`` = σ (the course's Γu is 1 − z), ``n`` = tanh(pre n) (c̃⟨t⟩).
    lstm: ``i`` = σ (Γu), ``f`` = σ (Γf), ``g`` = tanh (c̃⟨t⟩), ``o`` = σ (Γo).
    """
    a: np.ndarray  # (H,) a⟨t⟩
    c: np.ndarray | None  # (H,) c⟨t⟩ (LSTM only, else None)
    y_hat: np.ndarray | None  # (O,) ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y), None without output
    has_input: bool
    """False where the architecture gives no input at t (x⟨t⟩ is then zeros)."""
    has_output: bool
    """False where the architecture gives no output at t (``y_hat`` is then None)."""
    word: str | None = None
    """The word or letter x⟨t⟩ is the one-hot vector of, when the input is a text."""
    label: str | None = None
    """The name of ŷ⟨t⟩'s likeliest class, when the outputs are named (``labels``)."""


@dataclass(frozen=True, eq=False)
class Contrast:
    """The same cell, weights and sequence run once more with one input number changed, to see
    how long the change is remembered: x⟨step⟩[channel] = value instead of what was given."""

    step: int
    """The time step t changed, from 1 as the course counts (row t − 1 of the input)."""
    channel: int
    value: float
    a: np.ndarray
    """(T, H): a′⟨1⟩ … a′⟨T⟩ of the changed run."""
    c: np.ndarray | None
    """(T, H): c′⟨t⟩ of the changed run (LSTM), else None."""
    y_hat: np.ndarray | None
    """(T, O): ŷ′⟨t⟩ of the changed run, or None without an output layer."""

    @property
    def label(self) -> str:
        """``x⟨1⟩[0] = −1``: the change, as the panel names it."""
        value = f"{self.value:g}".replace("-", "−")
        return f"x⟨{self.step}⟩[{self.channel}] = {value}"


class RecurrentStage(Stage):
    """One recurrent layer (PyTorch's ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``, one layer) over a
    sequence, with an optional softmax output layer.

    With W_i· / W_h· the blocks of ``weight_ih`` / ``weight_hh`` in PyTorch's gate order::

        rnn:   a⟨t⟩ = tanh(W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh)
        gru:   r = σ(W_ir·x + b_ir + W_hr·a⟨t−1⟩ + b_hr)                  Γr
               z = σ(W_iz·x + b_iz + W_hz·a⟨t−1⟩ + b_hz)                  Γu = 1 − z
               n = tanh(W_in·x + b_in + r ⊙ (W_hn·a⟨t−1⟩ + b_hn))          c̃⟨t⟩
               a⟨t⟩ = (1 − z) ⊙ n + z ⊙ a⟨t−1⟩  =  Γu ⊙ c̃⟨t⟩ + (1 − Γu) ⊙ a⟨t−1⟩
        lstm:  i, f, o = σ(W_i·x + b_i· + W_h·a⟨t−1⟩ + b_h·)             Γu, Γf, Γo
               g = tanh(W_ig·x + b_ig + W_hg·a⟨t−1⟩ + b_hg)              c̃⟨t⟩
               c⟨t⟩ = f ⊙ c⟨t−1⟩ + i ⊙ g,   a⟨t⟩ = o ⊙ tanh(c⟨t⟩)
        output: ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y)

    (In the GRU, c⟨t⟩ = a⟨t⟩.) PyTorch's z keeps the old state where Andrew Ng's Γu takes the
    new one, so Γu = 1 − z; the weights are PyTorch's unchanged.

    Args:
        x: the sequence, shape (T, input_size), 1 ≤ T ≤ 10,000.
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        hidden_size: H ≥ 1.
        weight_ih: (G·H, input_size), gate blocks stacked in PyTorch's order (G = 1, 3, 4).
        weight_hh: (G·H, H).
        bias_ih, bias_hh: (G·H,); zeros if None.
        a0: initial hidden state a⟨0⟩ (H,); zeros if None.
        c0: initial cell state c⟨0⟩ (H,), LSTM only; zeros if None.
        w_ya: output weights (O, H); no output layer if None.
        b_y: output bias (O,); zeros if None and ``w_ya`` is given.
        has_input: (T,) bool, the steps that read an input; the others must have zero rows
            in ``x``. Every step if None.
        has_output: (T,) bool, the steps whose ŷ⟨t⟩ is shown; every step if None.
        architecture: the name of that pattern (see ``layout``), for labels only.

    Shape:
        output (T, H): a⟨1⟩ … a⟨T⟩. ``cell_states`` (T, H) for LSTM, ``outputs_y`` (T, O).

    Time runs from t = 1, as in the course: a⟨0⟩ (and c⟨0⟩) is the initial state and x⟨1⟩ the
    first input. Step ``i`` (from 0, as every stage's steps) is time step t = i + 1, and row
    ``i`` of every (T, …) array holds time step i + 1. The whole sequence is run once when the
    stage is built (a loop over t, since each step needs the last); ``step(i)`` only slices
    the stored arrays.
    """

    kind = "recurrent"

    def __init__(
        self,
        x: np.ndarray,
        cell: str,
        hidden_size: int,
        weight_ih: np.ndarray,
        weight_hh: np.ndarray,
        bias_ih: np.ndarray | None,
        bias_hh: np.ndarray | None,
        a0: np.ndarray | None = None,
        c0: np.ndarray | None = None,
        w_ya: np.ndarray | None = None,
        b_y: np.ndarray | None = None,
        name: str = "rnn",
        has_input: np.ndarray | None = None,
        has_output: np.ndarray | None = None,
        architecture: str = "many_to_many",
        words: list[str] | None = None,
        labels: list[str] | None = None,
        feedback: bool = False,
    ) -> None:
        super().__init__(name)
        cell = check_cell(cell)
        if not is_whole(hidden_size):
            raise SpecError("hidden_size", f"expected a whole number, got {hidden_size!r}")
        if hidden_size < 1:
            raise SpecError("hidden_size", f"must be ≥ 1, got {hidden_size}")
        h = int(hidden_size)
        xs = np.asarray(x, dtype=np.float64)
        if xs.ndim != 2:
            raise SpecError("input", f"expected a 2-D (T, input_size) array, got shape {xs.shape}")
        steps, n_in = xs.shape
        w_ya_arr = None if w_ya is None else np.asarray(w_ya, dtype=np.float64)
        o = int(w_ya_arr.shape[0]) if w_ya_arr is not None and w_ya_arr.ndim == 2 else None
        check_sizes(cell, steps, n_in, h, o)
        shapes = parameter_shapes(cell, n_in, h, o)

        def param(name: str, value: Any, default: float | None) -> Any:
            key = name.removeprefix("weights.")
            shape = shapes.get(key, (h,))  # a0 and c0 are (H,)
            if value is None:
                if default is None:
                    raise SpecError(name, f"missing; expected shape {shape}")
                return frozen(np.full(shape, default))
            arr = np.asarray(value, dtype=np.float64)
            if key in shapes:
                check_shape(key, arr.shape, cell, n_in, h, o)
            elif arr.shape != shape:
                raise SpecError(name, f"expected ({h},) for hidden_size {h}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise SpecError(name, "values must be finite (no inf or nan)")
            return frozen(arr)

        if not np.all(np.isfinite(xs)):
            raise SpecError("input", "values must be finite (no inf or nan)")
        self.cell = cell
        self.hidden_size = h
        self.input_size = int(n_in)
        self.x = frozen(xs)  # (T, input_size)
        self.weight_ih = param("weights.weight_ih", weight_ih, None)  # (G·H, I)
        self.weight_hh = param("weights.weight_hh", weight_hh, None)  # (G·H, H)
        self.bias_ih = param("weights.bias_ih", bias_ih, 0.0)  # (G·H,)
        self.bias_hh = param("weights.bias_hh", bias_hh, 0.0)  # (G·H,)
        self.a0 = param("a0", a0, 0.0)  # (H,)
        if c0 is not None and cell != "lstm":
            raise SpecError("c0", f"a cell state belongs to lstm cells only; this cell is {cell}")
        self.c0 = param("c0", c0, 0.0) if cell == "lstm" else None  # (H,)
        self.w_ya: np.ndarray | None = None  # (O, H)
        self.b_y: np.ndarray | None = None  # (O,)
        if w_ya_arr is not None:
            if o is None:
                raise SpecError(
                    "weights.w_ya", f"expected a 2-D (O, {h}) array, got shape {w_ya_arr.shape}"
                )
            self.w_ya = param("weights.w_ya", w_ya_arr, None)
            self.b_y = param("weights.b_y", b_y, 0.0)
        elif b_y is not None:
            raise SpecError("weights.b_y", "an output bias needs output weights w_ya")
        self.architecture = check_architecture(architecture)
        self.has_input = frozen(self._mask("has_input", has_input, steps))  # (T,) bool
        self.has_output = frozen(self._mask("has_output", has_output, steps))  # (T,) bool
        if np.any(xs[~self.has_input]):
            raise SpecError("input", "steps without an input must have x⟨t⟩ = 0")
        self.contrast: Contrast | None = None
        """A second run with one input changed (``contrast_run``), or None."""
        self.words = check_words(words, steps)
        """The word or letter each x⟨t⟩ is the one-hot vector of, or None."""
        self.labels = check_labels(labels, o)
        """The name of each of the O outputs, or None."""
        self.feedback = bool(feedback)
        """True where each x⟨t⟩ after the first is ŷ⟨t−1⟩'s likeliest label fed back."""
        self._run()
        if self.feedback:
            self._check_feedback()

    @staticmethod
    def _mask(name: str, value: np.ndarray | None, steps: int) -> np.ndarray:
        if value is None:
            return np.ones(steps, dtype=bool)
        arr = np.asarray(value, dtype=bool)
        if arr.shape != (steps,):
            raise SpecError(name, f"expected ({steps},) for {steps} time steps, got {arr.shape}")
        return arr

    def _run(self) -> None:
        """Every time step, in order (``engine.cells.run_cell``); the input terms of all steps
        are one matrix product."""
        steps, h = self.x.shape[0], self.hidden_size
        g = len(GATES[self.cell])
        with one_blas_thread():
            xi, out = run_cell(
                self.cell,
                self.x,
                self.a0,
                self.c0,
                self.weight_ih,
                self.weight_hh,
                self.bias_ih,
                self.bias_hh,
            )
        hh, pre, act, a, c = out  # a⟨0⟩ = a0, a⟨1⟩ … a⟨T⟩ in a (T + 1, H)
        if not np.all(np.isfinite(xi)):
            big_x = float(np.abs(self.x).max(initial=0.0)) > 1
            raise SpecError(
                "input" if big_x else "weights.weight_ih",
                "W_ih·x⟨t⟩ + b_ih overflows float64: the input times weights.weight_ih exceeds "
                f"{FLOAT_MAX:.3g}; scale the input or the weights down",
            )
        for arr in (hh, pre, a, c):
            if arr is not None and not np.all(np.isfinite(arr)):
                big_a0 = float(np.abs(self.a0).max(initial=0.0)) > 1
                raise SpecError(
                    "a0" if big_a0 else "weights.weight_hh",
                    "the recurrence overflows float64: W_hh·a⟨t−1⟩ + b_hh and the gates exceed "
                    f"{FLOAT_MAX:.3g}; scale weights.weight_hh, the biases or a0 down",
                )
        logits = y = None
        if self.w_ya is not None and self.b_y is not None:
            with one_blas_thread():  # as the states were: the same bits whatever the machine
                logits, y = output_layer(a[1:], self.w_ya, self.b_y)
        self._xi = frozen(xi)
        self._hh = frozen(hh)
        self._pre = frozen(pre.reshape(steps, g, h))  # (T, G, H)
        self._gates = frozen(act.reshape(steps, g, h))  # (T, G, H); rnn: a⟨t⟩ again, unused
        self._a = frozen(a)  # (T + 1, H)
        self._c = None if c is None else frozen(c)  # (T + 1, H)
        self._logits = None if logits is None else frozen(logits)
        self._y = None if y is None else frozen(y)  # (T, O)

    def _check_feedback(self) -> None:
        """SpecError unless every x⟨t+1⟩ is the one-hot vector of ŷ⟨t⟩'s likeliest label, as
        ``feedback_inputs`` makes them."""
        if self._y is None or self.labels is None or self.words is None:
            raise SpecError("feedback", "feeding the output back needs labels and a vocabulary")
        for t in range(len(self) - 1):
            fed = self.labels[int(np.argmax(self._y[t]))]
            if fed.lower() != self.words[t + 1].lower():
                raise SpecError(
                    "feedback",
                    f"x at step {t + 2} is {self.words[t + 1]!r}, not the {fed!r} fed back",
                )

    def contrast_run(self, step: int, channel: int, value: float) -> Contrast:
        """Run the sequence again with x⟨step⟩[channel] = value, everything else the same, and
        keep the result as ``self.contrast``. ``step`` is the time step t, from 1; ``channel``
        indexes x⟨t⟩ from 0. A SpecError names ``contrast`` when the step or channel is out of
        range or the step has no input."""
        steps = len(self)
        if not (is_whole(step) and 1 <= step <= steps):
            raise SpecError(
                "contrast.step",
                f"expected a time step t from 1 to T = {steps} (the first input is x⟨1⟩), "
                f"got {step!r}",
            )
        if not (is_whole(channel) and 0 <= channel < self.input_size):
            raise SpecError(
                "contrast.channel",
                f"expected 0 ≤ channel < input_size = {self.input_size}, got {channel!r}",
            )
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise SpecError("contrast.value", f"expected a finite number, got {value!r}")
        if not self.has_input[int(step) - 1]:
            raise SpecError(
                "contrast.step", f"t = {step} has no input in a {self.architecture} network"
            )
        other = object.__new__(RecurrentStage)
        other.__dict__.update(self.__dict__)
        x = np.array(self.x)
        x[int(step) - 1, int(channel)] = float(value)
        other.x = frozen(x)
        other._run()
        self.contrast = Contrast(
            int(step), int(channel), float(value), other.output, other.cell_states, other._y
        )
        return self.contrast

    def value_arrays(self) -> dict[str, np.ndarray]:
        """The numbers a person may change, under the scenario file's names: the input
        (T, input_size), row t − 1 being x⟨t⟩; weight_ih, weight_hh, bias_ih, bias_hh in
        PyTorch's layout; w_ya and b_y where there is an output layer."""
        arrays = {
            "input": self.x,
            "weight_ih": self.weight_ih,
            "weight_hh": self.weight_hh,
            "bias_ih": self.bias_ih,
            "bias_hh": self.bias_hh,
        }
        if self.w_ya is not None and self.b_y is not None:
            arrays |= {"w_ya": self.w_ya, "b_y": self.b_y}
        return arrays

    def with_values(self, name: str, array: np.ndarray) -> RecurrentStage:
        """The same layer with one array of ``value_arrays`` replaced (same shape), every time
        step run again, and the second run (``contrast``) made again on the new numbers. A
        changed input is no longer the one-hot vector of its word, nor a sample fed back: the
        words and the feedback claim are dropped with it."""
        arrays = replaced(self.value_arrays(), name, array)
        changed_input = name == "input"
        stage = RecurrentStage(
            arrays.pop("input"),
            self.cell,
            self.hidden_size,
            **arrays,
            a0=self.a0,
            c0=self.c0,
            name=self.name,
            has_input=self.has_input,
            has_output=self.has_output,
            architecture=self.architecture,
            words=None if changed_input or self.words is None else list(self.words),
            labels=None if self.labels is None else list(self.labels),
            feedback=self.feedback and not changed_input,
        )
        if self.contrast is not None:
            stage.contrast_run(self.contrast.step, self.contrast.channel, self.contrast.value)
        return stage

    # -- results -------------------------------------------------------------------------

    @property
    def gate_names(self) -> tuple[str, ...]:
        """Names of the blocks of rows in the weights, in PyTorch's order."""
        return GATES[self.cell]

    @property
    def output(self) -> np.ndarray:
        """a⟨1⟩ … a⟨T⟩, shape (T, H)."""
        return self._a[1:]

    @property
    def cell_states(self) -> np.ndarray | None:
        """c⟨1⟩ … c⟨T⟩, shape (T, H), for LSTM; None for the other cells."""
        return None if self._c is None else self._c[1:]

    @property
    def outputs_y(self) -> np.ndarray | None:
        """ŷ⟨1⟩ … ŷ⟨T⟩, shape (T, O), or None without an output layer."""
        return self._y

    @property
    def logits(self) -> np.ndarray | None:
        """W_ya·a⟨t⟩ + b_y for every t, shape (T, O): softmax's input; None without output."""
        return self._logits

    @property
    def output_size(self) -> int | None:
        """O, the number of softmax outputs, or None without an output layer."""
        return None if self.w_ya is None else int(self.w_ya.shape[0])

    @property
    def parameter_count(self) -> int:
        """Learnable numbers: G·H·(input_size + H + 2), plus O·(H + 1) for an output layer."""
        n = self.weight_ih.size + self.weight_hh.size + self.bias_ih.size + self.bias_hh.size
        if self.w_ya is not None and self.b_y is not None:
            n += self.w_ya.size + self.b_y.size
        return int(n)

    def terms(self, t: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The two halves of each gate's pre-activation at step index t (time step t + 1):
        (W_i·x⟨t⟩ + b_i·, W_h·a⟨t−1⟩ + b_h·), each (H,). For every gate but the GRU's ``n``,
        ``pre`` is their sum; for ``n`` it is first + r ⊙ second."""
        t = self._normalise_index(t)
        h = self.hidden_size
        return {
            name: (self._xi[t, k * h : (k + 1) * h], self._hh[t, k * h : (k + 1) * h])
            for k, name in enumerate(self.gate_names)
        }

    def compact_terms(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The RNN's compact form at step index t − 1, that is time step t:
        (W_a, [a⟨t−1⟩; x⟨t⟩], W_a·[a⟨t−1⟩; x⟨t⟩]).

        W_a = [W_aa | W_ax] has shape (H, H + input_size) and the stacked vector
        (H + input_size,), so W_a·[a⟨t−1⟩; x⟨t⟩] = W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ (without biases).
        """
        if self.cell != "rnn":
            raise ValueError(f"the compact form W_a·[a, x] is shown for rnn cells, not {self.cell}")
        t = self._normalise_index(t)
        w_a = np.hstack([self.weight_hh, self.weight_ih])  # (H, H + I)
        stacked = np.concatenate([self._a[t], self.x[t]])  # (H + I,)
        return w_a, stacked, w_a @ stacked

    # -- stepping ------------------------------------------------------------------------

    def unit_count(self) -> int:
        return self.hidden_size

    def has_compact_form(self) -> bool:
        return self.cell == "rnn"

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def step(self, i: int) -> RecurrentStep:
        t = self._normalise_index(i)
        names = self.gate_names
        pre = {name: self._pre[t, k] for k, name in enumerate(names)}
        gates = {} if self.cell == "rnn" else {n: self._gates[t, k] for k, n in enumerate(names)}
        a = self._a[t + 1]
        value = float(a[0])
        has_input, has_output = bool(self.has_input[t]), bool(self.has_output[t])
        y = None if self._y is None or not has_output else self._y[t]
        return RecurrentStep(
            stage=self.name,
            index=t,
            value=value,
            explanation=self._explain(t, value, y),
            t=t + 1,
            cell=self.cell,
            x=self.x[t],
            a_prev=self._a[t],
            c_prev=None if self._c is None else self._c[t],
            pre=pre,
            gates=gates,
            a=a,
            c=None if self._c is None else self._c[t + 1],
            y_hat=y,
            has_input=has_input,
            has_output=has_output,
            word=None if self.words is None else self.words[t],
            label=None if y is None or self.labels is None else self.labels[int(np.argmax(y))],
        )

    def _explain(self, i: int, value: float, y: np.ndarray | None) -> str:
        """The explanation of step ``i``, which is time step t = i + 1."""
        t = i + 1
        prev = f"a⟨{t - 1}⟩"
        if self.cell == "rnn":
            rule = f"a⟨{t}⟩ = tanh(W_aa·{prev} + W_ax·x⟨{t}⟩ + b_a)"
        elif self.cell == "gru":
            rule = f"a⟨{t}⟩ = Γu·c̃⟨{t}⟩ + (1 − Γu)·{prev} with Γu = 1 − z"
        else:
            rule = f"c⟨{t}⟩ = Γf·c⟨{t - 1}⟩ + Γu·c̃⟨{t}⟩, a⟨{t}⟩ = Γo·tanh(c⟨{t}⟩)"
        text = f"t = {t}: {rule}; a⟨{t}⟩[0] = {value:.6g}"
        if t == 1:
            text += "; a⟨0⟩ = 0" if not np.any(self.a0) else "; a⟨0⟩ is the given a0"
            if self.c0 is not None:
                text += ", c⟨0⟩ = 0" if not np.any(self.c0) else ", c⟨0⟩ is the given c0"
        if not self.has_input[i]:
            text += f"; no input at this step, x⟨{t}⟩ = 0"
        if self._y is not None and not self.has_output[i]:
            text += "; no output at this step"
        if y is not None:
            k = int(np.argmax(y))
            text += f"; ŷ⟨{t}⟩ = softmax(W_ya·a⟨{t}⟩ + b_y), largest p = {y[k]:.4g} at {k}"
            if self.labels is not None:
                text += f" ({self.labels[k]})"
        return text

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": a.tolist()}

        params = {
            "weight_ih_l0": arr(self.weight_ih),
            "weight_hh_l0": arr(self.weight_hh),
            "bias_ih_l0": arr(self.bias_ih),
            "bias_hh_l0": arr(self.bias_hh),
        }
        if self.w_ya is not None and self.b_y is not None:
            params["output.weight"] = arr(self.w_ya)
            params["output.bias"] = arr(self.b_y)
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "input": arr(self.x),
            "initial_state": {"a0": arr(self.a0)},
            "parameters": params,
            "hyperparameters": {
                "cell": self.cell,
                "hidden_size": self.hidden_size,
                "input_size": self.input_size,
                "output_size": self.output_size,
                "num_layers": 1,
                "gate_order": list(self.gate_names),
            },
            "output": arr(self.output),
        }
        if self.c0 is not None and self._c is not None:
            out["initial_state"]["c0"] = arr(self.c0)
            out["cell_states"] = arr(self._c[1:])
        if self._y is not None:
            out["outputs_y"] = arr(self._y)
        if self.architecture != "many_to_many":
            out["architecture"] = self.architecture
            out["has_input"] = self.has_input.tolist()
            out["has_output"] = self.has_output.tolist()
        if self.words is not None:
            out["words"] = list(self.words)
        if self.labels is not None:
            out["labels"] = list(self.labels)
        if self.feedback:
            out["feedback"] = True
        if self.contrast is not None:
            k = self.contrast
            out["contrast"] = {"step": k.step, "channel": k.channel, "value": k.value}
            out["contrast"]["output"] = arr(k.a)
            if k.c is not None:
                out["contrast"]["cell_states"] = arr(k.c)
            if k.y_hat is not None:
                out["contrast"]["outputs_y"] = arr(k.y_hat)
        out["steps"] = len(self)
        out["step_order"] = ["t"]
        return out

    def reference(self) -> np.ndarray:
        """a⟨1⟩ … a⟨T⟩ from ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` with these weights, (T, H)."""
        return self.reference_run()[0]

    def reference_run(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """PyTorch's hidden states (T, H), LSTM cell states (T, H) or None, and softmax
        outputs (T, O) or None, all float64.

        The cell states come from running the module one time step at a time and feeding its
        (h, c) back, since ``nn.LSTM`` returns only the last c.
        """
        import torch

        module = self.torch_module()
        x = torch.from_numpy(np.array(self.x))[:, None]  # (T, 1, I)
        h0 = torch.from_numpy(np.array(self.a0))[None, None]  # (1, 1, H)
        cells = None
        with torch.no_grad():
            if self.cell == "lstm":
                assert self.c0 is not None
                state = (h0, torch.from_numpy(np.array(self.c0))[None, None])
                out, _ = module(x, state)
                cs = []
                for t in range(len(self)):
                    _, state = module(x[t : t + 1], state)
                    cs.append(state[1][0, 0].numpy())
                cells = np.array(cs)
            else:
                out, _ = module(x, h0)
            hidden = out[:, 0]  # (T, H)
            y = None
            if self.w_ya is not None and self.b_y is not None:
                logits = torch.nn.functional.linear(
                    hidden,
                    torch.from_numpy(np.array(self.w_ya)),
                    torch.from_numpy(np.array(self.b_y)),
                )
                y = torch.softmax(logits, dim=-1).numpy()
        return hidden.numpy(), cells, y

    def torch_module(self) -> Any:
        """The ``torch.nn`` module of this cell (one layer, float64) with these weights."""
        import torch

        cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[self.cell]
        module = cls(self.input_size, self.hidden_size, num_layers=1, dtype=torch.float64)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(module, f"{name}_l0").copy_(torch.from_numpy(np.array(getattr(self, name))))
        return module


def seeded_weights(
    cell: str, input_size: int, hidden_size: int, seed: int, output_size: int | None = None
) -> dict[str, np.ndarray]:
    """Weights drawn as PyTorch initialises them, U(−1/√H, 1/√H), from NumPy's seeded generator.

    Drawn in the order weight_ih, weight_hh, bias_ih, bias_hh, then w_ya, b_y (nn.Linear's
    default on a fan-in of H has the same bound), so that each array is the same whichever of
    the others a scenario gives itself.
    """
    gh = len(GATES[check_cell(cell)]) * hidden_size
    k = 1.0 / math.sqrt(hidden_size)
    rng = np.random.default_rng(seed)
    out = {
        "weight_ih": rng.uniform(-k, k, size=(gh, input_size)),
        "weight_hh": rng.uniform(-k, k, size=(gh, hidden_size)),
        "bias_ih": rng.uniform(-k, k, size=gh),
        "bias_hh": rng.uniform(-k, k, size=gh),
    }
    if output_size is not None:
        out["w_ya"] = rng.uniform(-k, k, size=(output_size, hidden_size))
        out["b_y"] = rng.uniform(-k, k, size=output_size)
    return out
