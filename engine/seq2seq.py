"""The date translator: a bidirectional GRU encoder and a GRU decoder with additive (Bahdanau)
attention, stepped encoder first, then decoder, one output character at a time.

With x⟨1⟩ … x⟨Tx⟩ the one-hot input characters (x⟨Tx⟩ = ``<EOS>``) and y⟨0⟩ = 0::

    →h⟨t⟩ = GRU→(x⟨t⟩, →h⟨t−1⟩), t = 1 … Tx;   ←h⟨t⟩ = GRU←(x⟨t⟩, ←h⟨t+1⟩), t = Tx … 1
    h⟨t′⟩ = [→h⟨t′⟩; ←h⟨t′⟩]                                                    (2H,)
    s⟨0⟩ = tanh(W_init·[→h⟨Tx⟩; ←h⟨1⟩] + b_init)                                 (2H,)
    e⟨t,t′⟩ = vᵀ·tanh(W_s·s⟨t−1⟩ + W_h·h⟨t′⟩),  α⟨t,·⟩ = softmax(e⟨t,·⟩)
    c⟨t⟩ = Σ_t′ α⟨t,t′⟩·h⟨t′⟩                                                    (2H,)
    s⟨t⟩ = GRU([one_hot(y⟨t−1⟩); c⟨t⟩], s⟨t−1⟩)
    ŷ⟨t⟩ = softmax(W_out·[s⟨t⟩; c⟨t⟩] + b_out)                                   (V,)

The decoder is a language model over the output characters whose first state s⟨0⟩ comes from
the encoder instead of a zero vector: a conditional language model, P(y⟨1⟩ … y⟨Ty⟩ | x). The
weights are the shipped ``scenarios/data/translator.npz`` under PyTorch's ``state_dict`` names
(``scripts/train_translator.py``), run in float64. Every GRU step goes through
``engine.cells``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from engine.arrays import frozen
from engine.cells import cell_forward, input_terms, row_products, run_cell
from engine.core import Stage, Step
from engine.decoding import DecoderState
from engine.errors import SpecError
from engine.language import log_softmax
from engine.limits import MAX_INPUT_TEXT, MAX_LENGTH, MAX_OUTPUT_SIZE, check_bytes
from engine.tokens import EOS, UNK

TOP_K = 5
"""How many of the likeliest output symbols a decoder step lists."""
MAX_HIDDEN = 4096
"""Largest encoder state H a weight file may have (the decoder has 2H)."""
PHASES = ("forward", "backward", "bridge", "decoder")
"""The four phases of a translation's steps, in the order they come."""
ARRAY_KEYS = ("input_chars", "output_chars")
"""The two vocabulary arrays a weight file holds beside the weights."""


def weight_shapes(vx: int, vy: int, h: int, a: int) -> dict[str, tuple[int, ...]]:
    """Every weight's shape, by PyTorch's names, for input and output vocabularies of ``vx`` and
    ``vy`` symbols, ``h`` encoder units per direction and ``a`` attention units."""
    shapes: dict[str, tuple[int, ...]] = {}
    for sfx in ("_l0", "_l0_reverse"):
        shapes |= {
            f"encoder.weight_ih{sfx}": (3 * h, vx),
            f"encoder.weight_hh{sfx}": (3 * h, h),
            f"encoder.bias_ih{sfx}": (3 * h,),
            f"encoder.bias_hh{sfx}": (3 * h,),
        }
    return shapes | {
        "init.weight": (2 * h, 2 * h),
        "init.bias": (2 * h,),
        "attention.w_s.weight": (a, 2 * h),
        "attention.w_h.weight": (a, 2 * h),
        "attention.v.weight": (1, a),
        "decoder.weight_ih": (6 * h, vy + 2 * h),
        "decoder.weight_hh": (6 * h, 2 * h),
        "decoder.bias_ih": (6 * h,),
        "decoder.bias_hh": (6 * h,),
        "out.weight": (vy, 4 * h),
        "out.bias": (vy,),
    }


WEIGHT_KEYS = tuple(weight_shapes(1, 1, 1, 1))
"""The weights a translator file must hold, by PyTorch's ``state_dict`` names."""


def _shape(shape: tuple[int, ...]) -> str:
    """A shape as Python writes it: ``(96, 58)``, ``(96,)``."""
    return str(tuple(int(n) for n in shape))


def _quoted(text: Any, limit: int = 40) -> str:
    """``repr(text)``, cut to ``limit`` characters with an ellipsis, for one-line errors."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 2] + "…" + r[-1]


def _num(x: float, fmt: str = ".3g") -> str:
    """``x`` formatted, with a true minus sign as the course writes it."""
    return format(x, fmt).replace("-", "−")


def _prob(p: float) -> str:
    """A probability as an explanation writes it: three decimals, more near 1 so that 0.99998
    does not read as certainty, and significant digits below 0.001."""
    if 0.9995 <= p < 1.0:
        return f"{p:.6f}"
    if p >= 0.001:
        return f"{p:.3f}"
    return _num(p)


def check_translation_length(value: Any, field: str = "max_length") -> int:
    """``value`` if it is a whole number 1 to MAX_LENGTH (50), else SpecError under ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SpecError(field, f"expected a whole number 1 to {MAX_LENGTH}, got {_quoted(value)}")
    if not 1 <= value <= MAX_LENGTH:
        raise SpecError(
            field,
            f"expected 1 ≤ max_length ≤ {MAX_LENGTH} output symbols (<EOS> included), got "
            f"{int(value)}",
        )
    return int(value)


def translation_peak_bytes(
    vx: int, vy: int, hidden: int, attention: int, tx: int, max_length: int
) -> int:
    """Peak bytes of a translation stage from sizes alone: the weights (held in float64 and
    copied by the PyTorch check, modules and tensors), the encoder's arrays (one-hot inputs,
    gate terms and states of both directions, (Tx, ·)), and per output step the attention
    temporaries (Tx, A), α and e, the context, state, distributions and the α matrix a step
    hands out (Ty, Tx)."""
    weights = sum(math.prod(s) for s in weight_shapes(vx, vy, hidden, attention).values())
    encoder = tx * (vx + 2 * (3 * 3 * hidden + 2 * hidden) + 2 * hidden + attention)
    per_step = tx * (attention + 3) + max_length * tx + 12 * hidden + 6 * vy
    return 8 * (4 * weights + 3 * encoder + 2 * max_length * per_step)


# -- the model -------------------------------------------------------------------------------


class Encoding(NamedTuple):
    """What the encoder makes of one input of Tx symbols."""

    forward: np.ndarray
    """(Tx, H): →h⟨1⟩ … →h⟨Tx⟩, the left-to-right GRU's states."""
    backward: np.ndarray
    """(Tx, H): ←h⟨1⟩ … ←h⟨Tx⟩ by input position (computed from ←h⟨Tx⟩ down to ←h⟨1⟩)."""
    h: np.ndarray
    """(Tx, 2H): h⟨t′⟩ = [→h⟨t′⟩; ←h⟨t′⟩], what attention reads."""
    keys: np.ndarray
    """(Tx, A): W_h·h⟨t′⟩, the half of every energy that does not depend on the decoder."""
    s0: np.ndarray
    """(2H,): s⟨0⟩ = tanh(W_init·[→h⟨Tx⟩; ←h⟨1⟩] + b_init), the decoder's first state."""


class Translator:
    """The shipped date translator, in float64: weights by PyTorch's names and both vocabularies.

    Build it with ``from_arrays``, which checks every key and shape against the vocabularies.
    """

    def __init__(
        self,
        weights: Mapping[str, np.ndarray],
        input_vocabulary: tuple[str, ...],
        vocabulary: tuple[str, ...],
        *,
        source: str = "",
        accuracy: str | None = None,
    ) -> None:
        self.weights = dict(weights)
        """Every weight by its PyTorch name, float64, read-only."""
        self.input_vocabulary = input_vocabulary
        """``<EOS>`` = 0, ``<UNK>`` = 1, then the characters the translator reads."""
        self.vocabulary = vocabulary
        """The output symbols: ``<EOS>`` = 0, then ``0123456789-``."""
        self.source = source
        """Where the weights came from, for messages."""
        self.accuracy = accuracy
        """The held-out exact match its training recorded, e.g. "held-out exact match
        1,000/1,000", or None when unknown."""
        self.hidden_size = int(self.weights["encoder.weight_hh_l0"].shape[1])
        """H, units per encoder direction; the decoder's state has 2H."""
        self.attention_size = int(self.weights["attention.v.weight"].shape[1])
        """A, units of the attention layer."""
        self.eos = 0
        self.unk = 1
        self._index = {ch: k for k, ch in enumerate(input_vocabulary) if k >= 2}

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        input_vocab: Sequence[str],
        output_vocab: Sequence[str],
        *,
        source: str,
        accuracy: str | None = None,
    ) -> Translator:
        """A translator from a weight file's arrays (extra keys, such as the vocabulary arrays,
        are ignored) and its vocabularies; SpecError("model", "<source>: …") on a missing key,
        a weight that is not a finite numeric array, or a shape that does not match the
        vocabularies (naming the key, its shape and the shape expected)."""
        vx_vocab, vy_vocab = tuple(input_vocab), tuple(output_vocab)

        def fail(message: str) -> SpecError:
            return SpecError("model", f"{source}: {message}")

        if vx_vocab[:2] != (EOS, UNK) or len(vx_vocab) < 3:
            raise fail(f"the input vocabulary must start with {EOS}, {UNK} and a character")
        if vy_vocab[:1] != (EOS,) or len(vy_vocab) < 2:
            raise fail(f"the output vocabulary must start with {EOS} and a symbol")
        for name, vocab in (("input", vx_vocab[2:]), ("output", vy_vocab[1:])):
            bad = [ch for ch in vocab if not isinstance(ch, str) or len(ch) != 1]
            if bad:
                raise fail(f"the {name} vocabulary holds {_quoted(bad[0])}, not one character")
            if len(set(vocab)) != len(vocab):
                twice = next(ch for ch in vocab if vocab.count(ch) > 1)
                raise fail(f"the {name} vocabulary lists {twice!r} twice")
            if len(vocab) > MAX_OUTPUT_SIZE:
                raise fail(
                    f"the {name} vocabulary has {len(vocab):,} symbols; at most {MAX_OUTPUT_SIZE:,}"
                )
        missing = [k for k in WEIGHT_KEYS if k not in arrays]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise fail(f"the weight {missing[0]!r}{more} is missing")
        for key in WEIGHT_KEYS:
            a = np.asarray(arrays[key])
            if a.dtype.kind not in "fiu":
                raise fail(f"{key} holds {a.dtype} values, not numbers")
        hh = np.asarray(arrays["encoder.weight_hh_l0"]).shape
        if len(hh) != 2 or hh[0] != 3 * hh[1] or not 1 <= hh[1] <= MAX_HIDDEN:
            raise fail(
                f"encoder.weight_hh_l0 has shape {_shape(hh)}, expected (3H, H) with "
                f"1 ≤ H ≤ {MAX_HIDDEN}"
            )
        v = np.asarray(arrays["attention.v.weight"]).shape
        if len(v) != 2 or v[0] != 1 or not 1 <= v[1] <= MAX_HIDDEN:
            raise fail(
                f"attention.v.weight has shape {_shape(v)}, expected (1, A) with "
                f"1 ≤ A ≤ {MAX_HIDDEN}"
            )
        vx, vy = len(vx_vocab), len(vy_vocab)
        expected = weight_shapes(vx, vy, hh[1], v[1])
        for key, want in expected.items():
            got = np.asarray(arrays[key]).shape
            if got != want:
                raise fail(
                    f"{key} has shape {_shape(got)}, expected {_shape(want)} for a "
                    f"{vx}-symbol input and {vy}-symbol output vocabulary with H = {hh[1]}, "
                    f"A = {v[1]}"
                )
        weights = {}
        for key in WEIGHT_KEYS:
            w = np.array(arrays[key], dtype=np.float64)
            if not np.isfinite(w).all():
                raise fail(f"{key} holds values that are not finite (inf or nan)")
            weights[key] = frozen(w)
        return cls(weights, vx_vocab, vy_vocab, source=source, accuracy=accuracy)

    # -- reading a text ----------------------------------------------------------------------

    def encode_text(self, text: Any, field: str = "text") -> tuple[list[int], tuple[str, ...]]:
        """The input ids of ``text``'s characters then ``<EOS>``, and the symbols as read (a
        character outside the input vocabulary is read as ``<UNK>``). SpecError under ``field``
        for something that is not a text, an empty or blank text, or one longer than
        MAX_INPUT_TEXT characters."""
        if not isinstance(text, str):
            raise SpecError(field, f"expected a text to translate, got {_quoted(text)}")
        if not text.strip():
            what = "an empty text" if not text else f"a blank text {_quoted(text)}"
            raise SpecError(field, f"expected a date to translate, got {what}")
        if len(text) > MAX_INPUT_TEXT:
            raise SpecError(
                field,
                f"the text has {len(text):,} characters; at most {MAX_INPUT_TEXT} are read "
                f"(got {_quoted(text)})",
            )
        ids = [self._index.get(ch, self.unk) for ch in text]
        read = tuple(self.input_vocabulary[k] for k in ids)
        return [*ids, self.eos], (*read, EOS)

    def encode(self, ids: Sequence[int]) -> Encoding:
        """Run the bidirectional encoder over the input ids (ending in ``<EOS>``) and make s⟨0⟩."""
        w, hid = self.weights, self.hidden_size
        x = np.eye(len(self.input_vocabulary))[list(ids)]  # (Tx, Vx)
        h0 = np.zeros(hid)
        _, fw = run_cell(
            "gru", x, h0, None, w["encoder.weight_ih_l0"], w["encoder.weight_hh_l0"],
            w["encoder.bias_ih_l0"], w["encoder.bias_hh_l0"],
        )  # fmt: skip
        _, bw = run_cell(
            "gru", x[::-1], h0, None, w["encoder.weight_ih_l0_reverse"],
            w["encoder.weight_hh_l0_reverse"], w["encoder.bias_ih_l0_reverse"],
            w["encoder.bias_hh_l0_reverse"],
        )  # fmt: skip
        forward = fw.h[1:]  # (Tx, H)
        backward = bw.h[1:][::-1]  # (Tx, H), by input position
        h = np.concatenate([forward, backward], axis=1)  # (Tx, 2H)
        bridge = np.concatenate([forward[-1], backward[0]])  # [→h⟨Tx⟩; ←h⟨1⟩]
        # Huge weights may overflow: the stage checks what it shows with np.isfinite.
        with np.errstate(over="ignore", invalid="ignore"):
            keys = h @ w["attention.w_h.weight"].T  # (Tx, A)
            s0 = np.tanh(w["init.weight"] @ bridge + w["init.bias"])
        return Encoding(
            *(frozen(np.ascontiguousarray(a)) for a in (forward, backward, h, keys, s0))
        )

    def decoder(self, text: str, field: str = "text") -> TranslatorDecoder:
        """The attention decoder for ``text``, ready to be fed its own output (greedy, beam)."""
        ids, read = self.encode_text(text, field)
        return TranslatorDecoder(self, ids, read, self.encode(ids))

    def peak_bytes(self, text_length: int, max_length: int) -> int:
        """``translation_peak_bytes`` for this model, a text of ``text_length`` characters and
        ``max_length`` output symbols."""
        return translation_peak_bytes(
            len(self.input_vocabulary), len(self.vocabulary), self.hidden_size,
            self.attention_size, text_length + 1, max_length,
        )  # fmt: skip


class DecoderStep(NamedTuple):
    """One decoder time step for B rows at once."""

    energies: np.ndarray  # (B, Tx) e⟨t,·⟩
    alpha: np.ndarray  # (B, Tx) α⟨t,·⟩
    context: np.ndarray  # (B, 2H) c⟨t⟩
    s: np.ndarray  # (B, 2H) s⟨t⟩
    log_p: np.ndarray  # (B, V) log ŷ⟨t⟩


class TranslatorDecoder:
    """The translator's attention decoder for one input, as an ``engine.decoding.Decoder``:
    ``arrays = (s,)``, s⟨t⟩ (B, 2H) of each row; ``log_p`` from W_out·[s⟨t⟩; c⟨t⟩] + b_out."""

    def __init__(
        self, translator: Translator, ids: list[int], read: tuple[str, ...], encoding: Encoding
    ) -> None:
        self.translator = translator
        self.ids = ids
        """The input ids, ``<EOS>`` last."""
        self.read = read
        """The input symbols as read (``<UNK>``, ``<EOS>`` as such)."""
        self.encoding = encoding
        self.vocabulary = translator.vocabulary
        self.eos = translator.eos

    def attention(self, s_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Energies e⟨t,·⟩ (B, Tx), weights α⟨t,·⟩ (B, Tx) and contexts c⟨t⟩ (B, 2H) for the
        previous decoder states ``s_prev`` (B, 2H)."""
        # Every product is taken row by row (engine.cells.row_products), so that a hypothesis
        # gets the same bits in a beam of many as alone.
        w = self.translator.weights
        query = row_products(s_prev, w["attention.w_s.weight"])  # (B, A)
        hidden = np.tanh(query[:, None, :] + self.encoding.keys[None])  # (B, Tx, A)
        energies = row_products(hidden, w["attention.v.weight"])[..., 0]  # (B, Tx)
        with np.errstate(over="ignore", invalid="ignore"):  # huge weights: see _check_finite
            shifted = np.exp(energies - energies.max(axis=1, keepdims=True))
            alpha = shifted / shifted.sum(axis=1, keepdims=True)
        context = row_products(alpha, self.encoding.h.T)  # (B, 2H)
        return energies, alpha, context

    def compute(self, s_prev: np.ndarray, y_prev: np.ndarray | None) -> DecoderStep:
        """One time step for every row: attention from s⟨t−1⟩, then s⟨t⟩ from
        [one_hot(y⟨t−1⟩); c⟨t⟩] and s⟨t−1⟩, then log ŷ⟨t⟩. ``y_prev`` (B,) holds the tokens fed,
        or None for y⟨0⟩ = 0."""
        with np.errstate(over="ignore", invalid="ignore"):  # huge weights: see _check_finite
            return self._compute(s_prev, y_prev)

    def _compute(self, s_prev: np.ndarray, y_prev: np.ndarray | None) -> DecoderStep:
        w = self.translator.weights
        b, v = s_prev.shape[0], len(self.vocabulary)
        energies, alpha, context = self.attention(s_prev)
        y = np.zeros((b, v))
        if y_prev is not None:
            y[np.arange(b), np.asarray(y_prev, dtype=np.intp)] = 1.0
        x = np.concatenate([y, context], axis=1)[:, None, :]  # (B, 1, V + 2H): a row each
        xi = input_terms(x, w["decoder.weight_ih"], w["decoder.bias_ih"])[:, 0]  # (B, 3·2H)
        s = cell_forward("gru", xi, s_prev, None, w["decoder.weight_hh"], w["decoder.bias_hh"]).h
        sc = np.concatenate([s, context], axis=1)  # [s⟨t⟩; c⟨t⟩]
        logits = row_products(sc, w["out.weight"]) + w["out.bias"]  # (B, V)
        return DecoderStep(energies, alpha, context, s, log_softmax(logits))

    def start(self) -> DecoderState:
        """The empty hypothesis: s⟨1⟩ from s⟨0⟩ and y⟨0⟩ = 0; ``log_p`` is ŷ⟨1⟩'s."""
        r = self.compute(self.encoding.s0[None], None)
        return DecoderState(r.log_p, (r.s,))

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        """Feed y⟨t⟩ = ``tokens`` (B,) to each row and run one step: ŷ⟨t+1⟩ and s⟨t+1⟩."""
        r = self.compute(state.arrays[0], np.asarray(tokens))
        return DecoderState(r.log_p, (r.s,))

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        """log P(y⟨t⟩ | x, y⟨<t⟩) of each of ``ids`` fed teacher-forced, (len(ids),), by
        PyTorch's own modules (``nn.GRU`` bidirectional, ``nn.GRUCell``, ``nn.Linear``)."""
        if not ids:
            return np.zeros(0)
        rows = torch_log_probs(self.translator, self.ids, list(ids))
        return rows[np.arange(len(ids)), list(ids)]


def torch_log_probs(translator: Translator, in_ids: list[int], out_ids: list[int]) -> np.ndarray:
    """log ŷ⟨1⟩ … log ŷ⟨Ty⟩ (Ty, V) for the input ``in_ids`` with ``out_ids`` fed back
    teacher-forced, computed by PyTorch's modules in float64 with the translator's weights."""
    import torch
    from torch import nn

    w = {k: torch.from_numpy(np.array(v)) for k, v in translator.weights.items()}
    vx, vy = len(translator.input_vocabulary), len(translator.vocabulary)
    hid, att = translator.hidden_size, translator.attention_size
    f64 = torch.float64
    encoder = nn.GRU(vx, hid, bidirectional=True, dtype=f64)
    init = nn.Linear(2 * hid, 2 * hid, dtype=f64)
    w_s = nn.Linear(2 * hid, att, bias=False, dtype=f64)
    w_h = nn.Linear(2 * hid, att, bias=False, dtype=f64)
    v = nn.Linear(att, 1, bias=False, dtype=f64)
    decoder = nn.GRUCell(vy + 2 * hid, 2 * hid, dtype=f64)
    out = nn.Linear(4 * hid, vy, dtype=f64)
    modules = {
        "encoder": encoder, "init": init, "attention.w_s": w_s, "attention.w_h": w_h,
        "attention.v": v, "decoder": decoder, "out": out,
    }  # fmt: skip
    rows = []
    with torch.no_grad():
        for prefix, module in modules.items():
            for name, p in module.named_parameters():
                p.copy_(w[f"{prefix}.{name}"])
        x = nn.functional.one_hot(torch.tensor(in_ids), vx).to(f64)[:, None]  # (Tx, 1, Vx)
        h = encoder(x)[0][:, 0]  # (Tx, 2H)
        s = torch.tanh(init(torch.cat([h[-1, :hid], h[0, hid:]])))[None]  # (1, 2H)
        keys = w_h(h)  # (Tx, A)
        prev = torch.zeros(1, vy, dtype=f64)
        for y in out_ids:
            e = v(torch.tanh(w_s(s)[:, None, :] + keys[None]))[..., 0]  # (1, Tx)
            c = torch.softmax(e, dim=1) @ h  # (1, 2H)
            s = decoder(torch.cat([prev, c], dim=1), s)
            rows.append(torch.log_softmax(out(torch.cat([s, c], dim=1)), dim=-1)[0])
            prev = nn.functional.one_hot(torch.tensor([y]), vy).to(f64)
    return torch.stack(rows).numpy() if rows else np.zeros((0, vy))


# -- the stage -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class TranslationStep(Step):
    """One step of a translation: an encoder direction reading one character, the bridge to
    the decoder, or the decoder writing one output symbol.

    ``value``: the new state's first unit (→h⟨t⟩[0], ←h⟨t⟩[0], s⟨0⟩[0]) for the encoder and the
    bridge; P(ŷ⟨t⟩ = the chosen symbol | x, ŷ⟨<t⟩) for a decoder step.
    """

    phase: str
    """``"forward"`` (→ encoder, t = 1 … Tx), ``"backward"`` (← encoder, t = Tx … 1),
    ``"bridge"`` (s⟨0⟩ from the encoder) or ``"decoder"`` (t = 1 … Ty)."""
    t: int
    """The course's time index: the input position x⟨t⟩ for the encoder, 0 for the bridge, the
    output position ŷ⟨t⟩ for the decoder."""
    input_tokens: tuple[str, ...]
    """x⟨1⟩ … x⟨Tx⟩ as read (``<UNK>``, ``<EOS>`` shown as such)."""
    output_tokens: tuple[str, ...]
    """ŷ⟨1⟩ … ŷ⟨t⟩ written so far (decoder); () before."""
    state: np.ndarray
    """The new →h⟨t⟩ or ←h⟨t⟩ (H,); s⟨0⟩ or s⟨t⟩ (2H,)."""
    state_prev: np.ndarray
    """The state it came from: →h⟨t−1⟩, ←h⟨t+1⟩ (zeros at the start), [→h⟨Tx⟩; ←h⟨1⟩] for the
    bridge, s⟨t−1⟩ for the decoder."""
    energies: np.ndarray | None = None
    """Decoder: e⟨t,·⟩ (Tx,)."""
    alpha: np.ndarray | None = None
    """Decoder: α⟨t,·⟩ (Tx,), summing to 1."""
    alpha_matrix: np.ndarray | None = None
    """Decoder: (Ty, Tx), rows 1 … t filled, the rows after NaN (not yet computed)."""
    context: np.ndarray | None = None
    """Decoder: c⟨t⟩ = Σ_t′ α⟨t,t′⟩·h⟨t′⟩ (2H,)."""
    distribution: np.ndarray | None = None
    """Decoder: ŷ⟨t⟩ (V,)."""
    chosen: int | None = None
    """Decoder: the index of ŷ⟨t⟩ chosen (the argmax)."""
    token: str | None = None
    """Decoder: the symbol chosen (``<EOS>`` as such)."""
    log_p: float | None = None
    """Decoder: log ŷ⟨t⟩[chosen]."""
    log_prob_total: float | None = None
    """Decoder: log P(ŷ⟨1⟩ … ŷ⟨t⟩ | x), the running sum of ``log_p``."""
    top: tuple[tuple[str, float], ...] = ()
    """Decoder: the TOP_K likeliest symbols and their probabilities, most likely first."""


class TranslationStage(Stage):
    """The date translator reading ``text`` and writing its ISO date by greedy decoding.

    Steps, ``2·Tx + 1 + Ty`` of them: the forward encoder t = 1 … Tx, the backward encoder
    t = Tx … 1, the bridge s⟨0⟩, then the decoder t = 1 … Ty (the argmax each step, fed back,
    until ``<EOS>`` or ``max_length`` symbols).

    Args:
        translator: the model (``scenarios.translator.translator()`` for the shipped one).
        text: what to translate, 1 to MAX_INPUT_TEXT characters; characters the translator
            does not know are read as ``<UNK>``.
        max_length: most output symbols, ``<EOS>`` included, 1 to 50.
        field: the scenario field ``text`` came from, named in errors.

    Shape:
        output (Ty, V): ŷ⟨1⟩ … ŷ⟨Ty⟩.
    """

    kind = "translation"

    def __init__(
        self,
        translator: Translator,
        text: str,
        *,
        max_length: int = 12,
        name: str = "translator",
        field: str = "text",
    ) -> None:
        super().__init__(name)
        self.translator = translator
        self.text_field = field
        self.max_length = check_translation_length(max_length)
        self.ids, self.read = translator.encode_text(text, field)
        self.text: str = text
        self.accuracy: str | None = translator.accuracy
        """The held-out exact match from the model's record, e.g. "held-out exact match
        1,000/1,000"."""
        check_bytes(translator.peak_bytes(len(text), self.max_length), "model", "the translator")
        self.encoding = translator.encode(self.ids)
        self.decoder = TranslatorDecoder(translator, self.ids, self.read, self.encoding)
        s_prev, y_prev = self.encoding.s0[None], None
        states: list[np.ndarray] = [self.encoding.s0]
        steps: list[DecoderStep] = []
        chosen: list[int] = []
        while len(chosen) < self.max_length:
            r = self.decoder.compute(s_prev, y_prev)
            k = int(np.argmax(r.log_p[0]))
            steps.append(r)
            states.append(r.s[0])
            chosen.append(k)
            if k == translator.eos:
                break
            s_prev, y_prev = r.s, np.array([k])
        self.chosen = chosen
        """ŷ⟨1⟩ … ŷ⟨Ty⟩ as indices, ``<EOS>`` last when the translation ended."""
        self.states = frozen(np.array(states))  # (Ty + 1, 2H): s⟨0⟩ … s⟨Ty⟩
        self.energies = frozen(np.concatenate([r.energies for r in steps]))  # (Ty, Tx)
        self.alpha = frozen(np.concatenate([r.alpha for r in steps]))  # (Ty, Tx)
        self.contexts = frozen(np.concatenate([r.context for r in steps]))  # (Ty, 2H)
        log_p = np.concatenate([r.log_p for r in steps])  # (Ty, V)
        self.log_probs = frozen(log_p)
        self.distributions = frozen(np.exp(log_p))  # (Ty, V)
        picked = log_p[np.arange(len(chosen)), chosen]
        self.cumulative = frozen(np.cumsum(picked))  # (Ty,)
        self.tokens = tuple(translator.vocabulary[k] for k in chosen)
        """ŷ⟨1⟩ … ŷ⟨Ty⟩ as symbols."""
        self._check_finite()

    def _check_finite(self) -> None:
        """SpecError under ``model`` if weights that are finite but huge overflowed float64
        anywhere a person would read the result (the shipped weights never do)."""
        arrays = {
            "the encoder's states": self.encoding.h,
            "s⟨0⟩": self.encoding.s0,
            "the attention energies": self.energies,
            "the attention weights": self.alpha,
            "the decoder's states": self.states,
            "the output distributions": self.distributions,
            "log P": self.cumulative,
        }
        for what, a in arrays.items():
            if not np.isfinite(a).all():
                raise SpecError(
                    "model",
                    f"{self.translator.source or 'the weights'}: {what} overflow float64 on "
                    f"{_quoted(self.text)}; weights this large cannot be read",
                )

    # -- what the translation came to --------------------------------------------------------

    @property
    def input_text(self) -> str:
        return self.text

    @property
    def output_text(self) -> str:
        """The translation: the symbols written, without ``<EOS>``."""
        return "".join(t for k, t in zip(self.chosen, self.tokens, strict=True) if k != 0)

    @property
    def ended(self) -> bool:
        """Whether the decoder wrote ``<EOS>`` before ``max_length`` symbols."""
        return self.chosen[-1] == self.translator.eos

    @property
    def log_prob(self) -> float:
        """log P(ŷ⟨1⟩ … ŷ⟨Ty⟩ | x), ``<EOS>`` included when written."""
        return float(self.cumulative[-1])

    @property
    def unknown(self) -> tuple[int, ...]:
        """The input positions t (from 1) read as ``<UNK>``."""
        return tuple(t + 1 for t, k in enumerate(self.ids) if k == self.translator.unk)

    def with_text(self, text: str) -> TranslationStage:
        """The same translator and max_length on ``text``; SpecError under ``text_field``."""
        return TranslationStage(
            self.translator, text, max_length=self.max_length, name=self.name,
            field=self.text_field,
        )  # fmt: skip

    # -- stepping ----------------------------------------------------------------------------

    @property
    def tx(self) -> int:
        """Tx, the input symbols with ``<EOS>``."""
        return len(self.ids)

    def __len__(self) -> int:
        return 2 * self.tx + 1 + len(self.chosen)

    def phase_of(self, i: int) -> tuple[str, int]:
        """(phase, t) of local step ``i``."""
        i = self._normalise_index(i)
        tx = self.tx
        if i < tx:
            return "forward", i + 1
        if i < 2 * tx:
            return "backward", 2 * tx - i
        if i == 2 * tx:
            return "bridge", 0
        return "decoder", i - 2 * tx

    def _x(self, t: int) -> str:
        """x⟨t⟩ as the explanation writes it: its symbol, and what an ``<UNK>`` stood for."""
        tok = self.read[t - 1]
        if tok == UNK:
            return f"{UNK} (the translator does not know {self.text[t - 1]!r})"
        return tok if tok == EOS else repr(tok)

    @staticmethod
    def _span(first: int, last: int) -> str:
        return f"x⟨{first}⟩" if first == last else f"x⟨{first}⟩ … x⟨{last}⟩"

    def step(self, i: int) -> TranslationStep:
        phase, t = self.phase_of(i)
        i = self._normalise_index(i)
        enc, hid = self.encoding, self.translator.hidden_size
        common: dict[str, Any] = {
            "stage": self.name, "index": i, "phase": phase, "t": t, "input_tokens": self.read,
        }  # fmt: skip
        if phase == "forward":
            prev = enc.forward[t - 2] if t > 1 else np.zeros(hid)
            return TranslationStep(
                **common,
                value=float(enc.forward[t - 1, 0]),
                explanation=(
                    f"→ encoder, t = {t}: →h⟨{t}⟩ = GRU(x⟨{t}⟩ = {self._x(t)}, →h⟨{t - 1}⟩); "
                    f"→h⟨{t}⟩ has read {self._span(1, t)}, left to right"
                ),
                output_tokens=(),
                state=enc.forward[t - 1],
                state_prev=frozen(prev),
            )
        if phase == "backward":
            tx = self.tx
            prev = enc.backward[t] if t < tx else np.zeros(hid)
            return TranslationStep(
                **common,
                value=float(enc.backward[t - 1, 0]),
                explanation=(
                    f"← encoder, t = {t}: ←h⟨{t}⟩ = GRU(x⟨{t}⟩ = {self._x(t)}, ←h⟨{t + 1}⟩); "
                    f"←h⟨{t}⟩ has read {self._span(t, tx)}, right to left, and "
                    f"h⟨{t}⟩ = [→h⟨{t}⟩; ←h⟨{t}⟩] is what attention reads of x⟨{t}⟩"
                ),
                output_tokens=(),
                state=enc.backward[t - 1],
                state_prev=frozen(prev),
            )
        if phase == "bridge":
            return TranslationStep(
                **common,
                value=float(enc.s0[0]),
                explanation=(
                    f"s⟨0⟩ = tanh(W·[→h⟨{self.tx}⟩; ←h⟨1⟩] + b): the decoder is a language "
                    "model whose first state comes from the encoder instead of a zero vector — "
                    "a conditional language model, P(y⟨1⟩ … y⟨Ty⟩ | x)"
                ),
                output_tokens=(),
                state=enc.s0,
                state_prev=frozen(np.concatenate([enc.forward[-1], enc.backward[0]])),
            )
        return self._decoder_step(common, t)

    def _decoder_step(self, common: dict[str, Any], t: int) -> TranslationStep:
        k = self.chosen[t - 1]
        alpha = self.alpha[t - 1]
        matrix = np.full(self.alpha.shape, np.nan)
        matrix[:t] = self.alpha[:t]
        p = self.distributions[t - 1]
        order = np.argsort(-p, kind="stable")[:TOP_K]
        top = tuple((self.translator.vocabulary[j], float(p[j])) for j in order)
        where = int(np.argmax(alpha))
        token = self.tokens[t - 1]
        total = float(self.cumulative[t - 1])
        shown = token if k == self.translator.eos else repr(token)
        return TranslationStep(
            **common,
            value=float(p[k]),
            explanation=(
                f"t = {t}: e⟨{t},t′⟩ = vᵀ·tanh(W_s·s⟨{t - 1}⟩ + W_h·h⟨t′⟩); "
                f"α⟨{t},·⟩ = softmax(e⟨{t},·⟩) puts {alpha[where]:.2f} on x⟨{where + 1}⟩ = "
                f"{self._x(where + 1)}; c⟨{t}⟩ = Σ α⟨{t},t′⟩·h⟨t′⟩; "
                f"ŷ⟨{t}⟩ = {shown} with P = {_prob(float(p[k]))}; "
                f"log P(ŷ⟨1…{t}⟩|x) = {_num(total)}" + self._stopped(t)
            ),
            output_tokens=self.tokens[:t],
            state=self.states[t],
            state_prev=self.states[t - 1],
            energies=self.energies[t - 1],
            alpha=alpha,
            alpha_matrix=frozen(matrix),
            context=self.contexts[t - 1],
            distribution=p,
            chosen=k,
            token=token,
            log_p=float(self.log_probs[t - 1, k]),
            log_prob_total=total,
            top=top,
        )

    @property
    def real_date(self) -> bool:
        """Whether the translation is a real calendar date in ISO form. Nothing makes it one:
        the translator never refuses a text and writes something date-shaped for any input
        ("xyz" → "2095-00-02"), so a screen says when it is not."""
        import datetime

        if not self.ended or len(self.output_text) != 10:
            return False
        try:
            datetime.date.fromisoformat(self.output_text)
        except ValueError:
            return False
        return True

    def _stopped(self, t: int) -> str:
        """What the last decoder step adds when greedy decoding reached max_length without
        <EOS>: the translation shown is cut, not finished."""
        if t < len(self.chosen) or self.ended:
            return ""
        return (
            f"; no <EOS> within max_length = {self.max_length}: the translation stops here "
            "unfinished"
        )

    # -- results -----------------------------------------------------------------------------

    @property
    def output(self) -> np.ndarray:
        """ŷ⟨1⟩ … ŷ⟨Ty⟩, (Ty, V)."""
        return self.distributions

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": a.tolist()}

        tr = self.translator
        x = np.eye(len(tr.input_vocabulary))[self.ids]
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {
                **arr(x),
                "text": self.text,
                "tokens": list(self.read),
                "ids": list(self.ids),
            },
            "parameters": {k: arr(v) for k, v in tr.weights.items()},
            "hyperparameters": {
                "hidden_size": tr.hidden_size,
                "attention_size": tr.attention_size,
                "input_vocabulary": list(tr.input_vocabulary),
                "vocabulary": list(tr.vocabulary),
                "max_length": self.max_length,
                "decoding": "greedy",
            },
            "encoder": {
                "forward": arr(self.encoding.forward),
                "backward": arr(self.encoding.backward),
                "s0": arr(self.encoding.s0),
            },
            "energies": arr(self.energies),
            "alpha": arr(self.alpha),
            "contexts": arr(self.contexts),
            "output_ids": list(self.chosen),
            "output_text": self.output_text,
            "ended": self.ended,
            "log_prob": self.log_prob,
            "accuracy": self.accuracy,
            "output": arr(self.distributions),
            "steps": len(self),
            "step_order": ["forward t = 1…Tx", "backward t = Tx…1", "bridge", "decoder t = 1…Ty"],
        }

    def reference(self) -> np.ndarray:
        """ŷ⟨1⟩ … ŷ⟨Ty⟩ (Ty, V) from PyTorch's ``nn.GRU`` (bidirectional), ``nn.Linear`` and
        ``nn.GRUCell`` in float64 with the same weights, fed this stage's ŷ teacher-forced."""
        return np.exp(torch_log_probs(self.translator, self.ids, self.chosen))
