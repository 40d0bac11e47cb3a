"""An RNN language model over characters or words: score a text, or sample a new one, a token a
step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import cells
from engine.arrays import frozen
from engine.core import Stage, Step
from engine.decoding import DecoderState
from engine.errors import SpecError
from engine.limits import MAX_INPUT_TEXT, MAX_LENGTH, MAX_OUTPUT_SIZE, check_bytes
from engine.recurrent import FLOAT_MAX, RecurrentStage, check_shape
from engine.tokens import EOS, UNK, check_level, tokenize

MODES = ("score", "sample")
"""``score``: the probability of a given text; ``sample``: draw a new one."""
TEXT_FIELDS = {"char": "word", "word": "sentence"}
"""What a model of each level scores, and the name errors about it are filed under: a
character model reads a word, a word model a sentence."""
MIN_TEMPERATURE = 0.05
"""Below this the distribution is one-hot to float64 precision; nothing more is shown."""
MAX_TEMPERATURE = 10.0
"""Above this the distribution is uniform to three decimals."""
WEIGHT_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "w_ya", "b_y")
"""The model's parameters, by PyTorch's names (``w_ya``, ``b_y``: the softmax layer)."""
TRACE_NAMES = {"w_ya": "output.weight", "b_y": "output.bias"}
"""The trace header's names for the softmax layer, as for ``recurrent`` stages."""


def _quoted(text: Any, limit: int = 40) -> str:
    """``repr(text)``, cut to ``limit`` characters with an ellipsis, for one-line errors."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 2] + "…" + r[-1]


@dataclass(frozen=True, eq=False, kw_only=True)
class LmStep(Step):
    """One token of the sequence: the distribution it was scored by or drawn from.

    ``value`` is ``p_chosen``, P(y⟨t⟩ | y⟨1⟩ … y⟨t−1⟩).
    """

    t: int
    """The time step, from 1 as in P(y⟨1⟩ … y⟨T⟩); ``index`` is t − 1."""
    prefix: str
    """y⟨1⟩ … y⟨t−1⟩ as the model read them (``<UNK>`` for an unknown word), joined by nothing
    (characters) or spaces (words): the condition of the probability."""
    distribution: np.ndarray  # (V,) ŷ⟨t⟩ = softmax(z⟨t⟩ / temperature)
    chosen: int
    """Index of y⟨t⟩ in the vocabulary."""
    token: str
    """y⟨t⟩ as the vocabulary has it: a letter or word, ``<UNK>`` or ``<EOS>``."""
    given: str
    """y⟨t⟩ as the scored text gave it ("zebra"), before the vocabulary lookup turned it into
    ``<UNK>``; the same as ``token`` otherwise, and always when sampling."""
    p_chosen: float
    """ŷ⟨t⟩[y⟨t⟩]."""
    log_p: float
    """log ŷ⟨t⟩[y⟨t⟩], from the log-softmax (finite even when ``p_chosen`` underflows)."""
    log_prob_total: float
    """Σ_{s ≤ t} log P(y⟨s⟩ | y⟨<s⟩) = log P(y⟨1⟩ … y⟨t⟩)."""
    temperature: float
    """τ in softmax(z / τ): < 1 sharpens the distribution, > 1 flattens it."""
    mode: str
    """``"score"`` or ``"sample"``."""

    @property
    def prob_total(self) -> float:
        """P(y⟨1⟩ … y⟨t⟩) = exp(log_prob_total) (0.0 once it underflows)."""
        return math.exp(self.log_prob_total)

    @property
    def unknown(self) -> bool:
        """Whether the text gave a token the vocabulary lacks, read as ``<UNK>``."""
        return self.token == UNK and self.given != UNK


def check_mode(mode: Any) -> str:
    """``mode`` if it is ``score`` or ``sample``, else SpecError listing both."""
    if isinstance(mode, str) and mode in MODES:
        return mode
    raise SpecError("mode", f"unknown mode {mode!r}; valid: {', '.join(MODES)}")


def check_temperature(temperature: Any) -> float:
    """``temperature`` as a float if it is a finite number in [0.05, 10], else SpecError."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise SpecError("temperature", f"expected a number > 0, got {temperature!r}")
    tau = float(temperature)
    if not math.isfinite(tau) or tau <= 0:
        raise SpecError("temperature", f"must be > 0, got {temperature!r}")
    if not MIN_TEMPERATURE <= tau <= MAX_TEMPERATURE:
        raise SpecError(
            "temperature",
            f"expected {MIN_TEMPERATURE} ≤ temperature ≤ {MAX_TEMPERATURE}, got {tau}",
        )
    return tau


def check_max_length(max_length: Any) -> int:
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        raise SpecError("max_length", f"expected a whole number, got {max_length!r}")
    if not 1 <= max_length <= MAX_LENGTH:
        raise SpecError("max_length", f"expected 1 ≤ max_length ≤ {MAX_LENGTH}, got {max_length}")
    return max_length


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, z − logsumexp(z), shifted so that exp never overflows.

    Logits more than ~1.8e308 below the largest get −inf (probability 0, exact in float64)."""
    m = z.max(axis=-1, keepdims=True)
    with np.errstate(over="ignore", under="ignore"):
        return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def language_peak_bytes(hidden: int, vocabulary: int, max_length: int) -> int:
    """Peak bytes of a language-model stage from sizes alone: the weights (held, and copied
    once by the PyTorch check), and per step the one-hot inputs, the recurrent stage's arrays,
    the logits, log-probabilities and probabilities (each (T, V), a few copies while built)."""
    weights = hidden * (2 * vocabulary + hidden + 3) + vocabulary
    per_step = 8 * vocabulary + 6 * hidden
    return 8 * (3 * weights + max_length * per_step)


def char_vocabulary(alphabet: str) -> tuple[str, ...]:
    """A character model's vocabulary: ``<EOS>`` at index 0, then the alphabet's characters."""
    return (EOS, *alphabet)


def teacher_inputs(ids: Sequence[int], vocabulary_size: int) -> np.ndarray:
    """x⟨1⟩ … x⟨T⟩ for the tokens y⟨1⟩ … y⟨T⟩ fed teacher-forced: zeros, then one-hot of each
    but the last. Shape (T, V)."""
    x = np.zeros((len(ids), vocabulary_size))
    x[np.arange(1, len(ids)), list(ids)[:-1]] = 1.0
    return x


class LmDecoder:
    """A language model fed its own output a token at a time: ``engine.decoding.Decoder`` for
    the character and word models ``LanguageModelStage`` runs::

        a⟨0⟩ = 0,   x⟨1⟩ = 0,   x⟨t⟩ = one_hot(y⟨t−1⟩)                  (V,)
        a⟨t⟩ = tanh(W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh)               (engine.cells)
        log P(y⟨t⟩ = v | y⟨<t⟩) = log_softmax(W_ya·a⟨t⟩ + b_y)[v]

    A state's ``arrays`` is ``(a,)``, a⟨t⟩ of every row, (B, H). ``advance`` runs one time step
    of the cell for all rows at once; each row's numbers are the same as if it were alone.

    Args:
        weights: as ``LanguageModelStage`` takes them (``WEIGHT_KEYS``).
        vocabulary: the V tokens in index order, ``<EOS>`` among them.
        level: ``"char"`` or ``"word"``: a sequence's tokens are joined by nothing or spaces.
        name: the model's name (``"char_lm"``, ``"word_lm"``).

    SpecError under ``model`` for a missing weight, a shape that does not fit the vocabulary
    and hidden size, or values that are not finite.
    """

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        vocabulary: Sequence[str],
        level: str = "char",
        name: str = "char_lm",
    ) -> None:
        self.vocabulary: tuple[str, ...] = tuple(vocabulary)
        self.level = check_level(level)
        self.name = name
        if EOS not in self.vocabulary:
            raise SpecError("model", f"the vocabulary has no {EOS}, so no sequence could end")
        self.eos = self.vocabulary.index(EOS)
        missing = [k for k in WEIGHT_KEYS if k not in weights]
        if missing:
            raise SpecError("model", f"missing weights {', '.join(missing)}")
        w = {k: np.asarray(weights[k], dtype=np.float64) for k in WEIGHT_KEYS}
        w_aa = w["weight_hh_l0"]
        if w_aa.ndim != 2 or w_aa.shape[0] < 1:
            raise SpecError("model", f"weight_hh_l0 must be (H, H) with H ≥ 1, got {w_aa.shape}")
        self.hidden_size = h = int(w_aa.shape[0])
        v = len(self.vocabulary)
        for key in WEIGHT_KEYS:
            try:
                check_shape(key.removesuffix("_l0"), w[key].shape, "rnn", v, h, v)
            except SpecError as e:
                raise SpecError("model", f"{e.field}: {e.message}") from None
            if not np.all(np.isfinite(w[key])):
                raise SpecError("model", f"{key} must be finite (no inf or nan)")
        self.weights = {k: frozen(a) for k, a in w.items()}
        self._w_ax = frozen(np.ascontiguousarray(w["weight_ih_l0"].T))  # (V, H): row k = W_ax·e_k

    @property
    def joiner(self) -> str:
        """What goes between two tokens of a sequence's text: nothing for characters."""
        return "" if self.level == "char" else " "

    def _cell(self, xi: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
        """a⟨t⟩ (B, H) from the input terms and a⟨t−1⟩ of every row: one cell step."""
        w = self.weights
        a = cells.cell_forward("rnn", xi, a_prev, None, w["weight_hh_l0"], w["bias_hh_l0"]).h
        if not np.all(np.isfinite(a)):
            raise SpecError(
                "model",
                "weights.weight_hh: the recurrence overflows float64: W_hh·a⟨t−1⟩ + b_hh exceeds "
                f"{FLOAT_MAX:.3g}",
            )
        return a

    def logits(self, a: np.ndarray) -> np.ndarray:
        """z = W_ya·a + b_y for every row of ``a`` (B, H): (B, V), softmax's input."""
        w = self.weights
        with np.errstate(over="ignore", invalid="ignore"):
            z = cells.row_products(a, w["w_ya"]) + w["b_y"]
        if not np.all(np.isfinite(z)):
            raise SpecError(
                "model",
                "weights.w_ya: the output layer's logits W_ya·a⟨t⟩ + b_y overflow float64 "
                f"(|W_ya| up to {float(np.abs(w['w_ya']).max()):.3g})",
            )
        return z

    def _state(self, a: np.ndarray) -> DecoderState:
        return DecoderState(log_softmax(self.logits(a)), (a,))

    def start(self) -> DecoderState:
        """One row: a⟨1⟩ from x⟨1⟩ = 0 and a⟨0⟩ = 0, and the distribution of y⟨1⟩."""
        w = self.weights
        v, h = len(self.vocabulary), self.hidden_size
        xi = cells.input_terms(np.zeros((1, v)), w["weight_ih_l0"], w["bias_ih_l0"])  # (1, H)
        return self._state(self._cell(xi, np.zeros((1, h))))

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        """Feed one-hot(``tokens[b]``) to row b and run one time step for every row.

        W_ax·one_hot(k) is column k of W_ax, exactly, so the column is read instead of
        multiplying by a vector of zeros and one 1."""
        ids = np.asarray(tokens)
        if ids.shape != (len(state),) or (ids.size and ids.dtype.kind not in "iu"):
            raise ValueError(f"expected {len(state)} token indices, one per row, got {ids!r}")
        if ids.size and not (ids.min() >= 0 and ids.max() < len(self.vocabulary)):
            raise ValueError(f"token indices must be 0 to {len(self.vocabulary) - 1}, got {ids}")
        xi = self._w_ax[ids.astype(np.intp)] + self.weights["bias_ih_l0"]  # (B, H)
        return self._state(self._cell(xi, state.arrays[0]))

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        """log P(y⟨t⟩ | y⟨<t⟩) of each of ``ids`` fed teacher-forced, (T,), from
        ``torch.nn.RNN``, ``nn.functional.linear`` and ``log_softmax`` in float64."""
        import torch

        if not ids:
            return np.zeros(0)
        w = self.weights
        module = torch.nn.RNN(len(self.vocabulary), self.hidden_size, dtype=torch.float64)
        with torch.no_grad():
            for key in WEIGHT_KEYS[:4]:
                getattr(module, key).copy_(torch.from_numpy(np.array(w[key])))
            x = torch.from_numpy(teacher_inputs(ids, len(self.vocabulary)))[:, None]  # (T, 1, V)
            a = module(x)[0][:, 0]  # (T, H)
            z = torch.nn.functional.linear(
                a, torch.from_numpy(np.array(w["w_ya"])), torch.from_numpy(np.array(w["b_y"]))
            )
            log_p = torch.log_softmax(z, dim=-1)  # (T, V)
            chosen = log_p[torch.arange(len(ids)), torch.tensor(ids, dtype=torch.long)]
            return chosen.numpy()


class LanguageModelStage(Stage):
    """A trained RNN language model over characters or words, scoring or sampling a token a step.

    With ``<EOS>`` (and, for words, ``<UNK>``) somewhere in the vocabulary::

        x⟨1⟩ = 0,   x⟨t⟩ = one_hot(y⟨t−1⟩)                      (V,)
        a⟨t⟩ = tanh(W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh),  a⟨0⟩ = 0
        ŷ⟨t⟩ = softmax((W_ya·a⟨t⟩ + b_y) / τ)                    (V,)
        log P(y⟨1⟩ … y⟨T⟩) = Σ_t log ŷ⟨t⟩[y⟨t⟩]

    ``score`` reads ``text`` then ``<EOS>``: y⟨t⟩ is given and P(y⟨t⟩ | y⟨<t⟩) is read off.
    At ``level = "char"`` the tokens are the text's characters; at ``"word"`` they are
    ``engine.tokens.tokenize(text, "word")`` (lower-cased words, punctuation dropped). A token
    the vocabulary lacks is read as ``<UNK>`` if the vocabulary has one — that is what it is for
    — and refused otherwise (a character model has no ``<UNK>``).
    ``sample`` draws y⟨t⟩ ~ ŷ⟨t⟩ with ``numpy.random.default_rng(seed)`` and feeds it back,
    until ``<EOS>`` or ``max_length`` tokens; a drawn ``<UNK>`` is fed back as itself. Given a
    ``text``, sampling starts from it: its tokens are read as when scoring (y⟨t⟩ given, its
    probability read off), and the draws continue after the last of them.

    Args:
        weights: ``weight_ih_l0`` (H, V), ``weight_hh_l0`` (H, H), ``bias_ih_l0`` (H,),
            ``bias_hh_l0`` (H,), ``w_ya`` (V, H), ``b_y`` (V,).
        vocabulary: the V tokens in index order, ``<EOS>`` among them (``char_vocabulary``
            for a character model; ``Vocabulary.tokens`` for a word model).
        mode: ``"score"`` or ``"sample"``.
        text: what to score, a word for a character model, a sentence for a word model (errors
            about it are filed under that name, ``TEXT_FIELDS``); in sample mode, the start
            the draws continue (None or empty: from nothing); ``with_text`` reads at most
            MAX_INPUT_TEXT characters.
        level: ``"char"`` or ``"word"``: how ``text`` is cut and sequences are joined.
        seed, temperature, max_length: as above; τ in [0.05, 10], 1 ≤ max_length ≤ 50.

    Shape:
        output (T, V): ŷ⟨1⟩ … ŷ⟨T⟩, T = tokens + 1 when scoring, ≤ max_length when sampling.

    Scoring runs the whole sequence once as a ``RecurrentStage`` (one tanh layer with a softmax
    output); sampling feeds each token drawn to ``decoder`` (an ``LmDecoder``), which runs one
    time step per token. Both compute the cell in ``engine.cells``. One step per token,
    ``<EOS>`` included.
    """

    kind = "language_model"

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        vocabulary: Sequence[str],
        mode: str = "score",
        text: str | None = None,
        *,
        level: str = "char",
        seed: int = 0,
        temperature: float = 1.0,
        max_length: int = 20,
        name: str = "char_lm",
    ) -> None:
        super().__init__(name)
        self.level = check_level(level)
        self.text_field = TEXT_FIELDS[self.level]
        self.mode = check_mode(mode)
        self.temperature = check_temperature(temperature)
        self.max_length = check_max_length(max_length)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SpecError("seed", f"expected a whole number ≥ 0, got {seed!r}")
        self.seed = seed
        missing = [k for k in WEIGHT_KEYS if k not in weights]
        if missing:
            raise SpecError("model", f"missing weights {', '.join(missing)}")
        self.weights = {k: np.asarray(weights[k], dtype=np.float64) for k in WEIGHT_KEYS}
        self.vocabulary: tuple[str, ...] = tuple(vocabulary)
        self._index = {tok: k for k, tok in enumerate(self.vocabulary)}
        self._check_vocabulary()
        self.eos = self._index[EOS]
        """Index of ``<EOS>``: 0 in a character model, 1 in a word model."""
        self.unk = self._index.get(UNK)
        """Index of ``<UNK>``, or None for a vocabulary without one (unknown tokens refused)."""
        self.hidden_size = int(self.weights["weight_hh_l0"].shape[0])
        if text is not None and not isinstance(text, str):
            raise SpecError(self.text_field, f"expected a text, got {_quoted(text)}")
        self.input_text = text if self.mode == "score" else (text or "")
        """The text scored, or the start a sample continues ("" for none), as given: kept to
        re-run at another τ or to be typed again."""
        self.prompt_length = 0
        """How many tokens at the start were given rather than drawn (all when scoring)."""
        if self.mode == "score":
            ids, self.read = self._encode(text)
            self._forward(ids[:-1])  # checks every weight's shape
            self._decoder = self._make_decoder()
            z = self._logits()
            self.prompt_length = len(ids)
        else:
            prompt_ids, prompt_read = self._encode_prompt(text or "")
            self.prompt_length = len(prompt_ids)
            self._decoder = self._make_decoder()
            ids, z = self._sample(prompt_ids)
            drawn = tuple(self.vocabulary[k] for k in ids[len(prompt_ids) :])
            self.read = (*prompt_read, *drawn)
        self.ids = ids
        log_p = log_softmax(self._scaled(z))  # (T, V)
        self._log_p = frozen(log_p)
        self._y = frozen(np.exp(log_p))  # (T, V)
        chosen = log_p[np.arange(len(ids)), ids]
        self._cumulative = frozen(np.cumsum(chosen))  # (T,)

    def _check_vocabulary(self) -> None:
        vocab, v = self.vocabulary, len(self.vocabulary)
        if len(self._index) != v:
            twice = next(tok for tok in vocab if vocab.count(tok) > 1)
            raise SpecError("model", f"the vocabulary lists {twice!r} twice")
        if EOS not in self._index:
            raise SpecError("model", f"the vocabulary has no {EOS}, so no sequence could end")
        if self.level == "char":
            long = [tok for tok in vocab if tok not in (EOS, UNK) and len(tok) != 1]
            if long:
                raise SpecError(
                    "model", f"a character model's tokens are single characters, got {long[0]!r}"
                )
        if v > MAX_OUTPUT_SIZE:
            raise SpecError(
                "model", f"the vocabulary has {v:,} tokens; the limit is {MAX_OUTPUT_SIZE:,}"
            )
        h = int(self.weights["weight_hh_l0"].shape[0]) if self.weights["weight_hh_l0"].ndim else 0
        check_bytes(language_peak_bytes(h, v, self.max_length), "model", f"a {v:,}-token model")
        if self.weights["w_ya"].shape[:1] != (v,):
            raise SpecError(
                "model",
                f"w_ya has shape {self.weights['w_ya'].shape}, expected ({v}, H): one row per "
                f"token of the {v}-token vocabulary",
            )

    # -- the forward pass ---------------------------------------------------------------

    @property
    def _unit(self) -> str:
        return "character" if self.level == "char" else "word"

    @property
    def _joiner(self) -> str:
        """What goes between two tokens of a sequence's text: nothing for characters."""
        return "" if self.level == "char" else " "

    def _encode(self, text: Any, room: int | None = None) -> tuple[list[int], tuple[str, ...]]:
        """The vocabulary indices of ``text``'s tokens then ``<EOS>``, and the tokens as read.
        ``room``: how many tokens (``<EOS>`` included) may be given, max_length by default; a
        sample's start leaves one step to draw."""
        field = self.text_field
        tokens = tokenize(text, self.level) if isinstance(text, str) else []
        if not tokens:
            unit = "letter" if self.level == "char" else "word"
            raise SpecError(
                field, f"score mode needs a {field} of at least one {unit}, got {_quoted(text)}"
            )
        ids = []
        for pos, tok in enumerate(tokens):
            k = self._index.get(tok, self.unk)
            if k is None:
                known = self._joiner.join(t for t in self.vocabulary if t not in (EOS, UNK))
                what = "alphabet" if self.level == "char" else "vocabulary"
                raise SpecError(
                    field,
                    f"{self._unit} {tok!r} at position {pos} of {_quoted(text)} is not in the"
                    f" model's {what} {known!r}",
                )
            ids.append(k)
        if room is not None and len(tokens) > room:
            raise SpecError(
                field,
                f"{_quoted(text)} is {len(tokens)} {self._unit}s long, and a sample of at most "
                f"max_length = {self.max_length} steps must draw at least one more: give at "
                f"most {room}",
            )
        if len(tokens) + 1 > self.max_length:
            raise SpecError(
                field,
                f"{_quoted(text)} with {EOS} takes {len(tokens) + 1} steps, more than max_length"
                f" = {self.max_length}: shorten it, or raise max_length (at most {MAX_LENGTH})",
            )
        return [*ids, self.eos], (*tokens, EOS)

    def _encode_prompt(self, text: str) -> tuple[list[int], tuple[str, ...]]:
        """The vocabulary indices of the tokens a sample starts from (no ``<EOS>``) and the
        tokens as read; an unknown token is ``<UNK>`` or refused, as when scoring."""
        if not tokenize(text, self.level):
            return [], ()
        ids, read = self._encode(text, room=self.max_length - 1)
        return ids[:-1], read[:-1]

    def inputs(self, ids: list[int]) -> np.ndarray:
        """x⟨1⟩ … x⟨T⟩ for the tokens y⟨1⟩ … y⟨T⟩: zeros, then one-hot of each but the last.
        Shape (T, V)."""
        return teacher_inputs(ids, len(self.vocabulary))

    def _forward(self, fed: list[int]) -> None:
        """Run the RNN over x⟨1⟩ (zeros) and one-hots of ``fed``; keeps the stage. The token
        appended only fills the last row of ``inputs``, which never reads it."""
        w = self.weights
        try:
            self.rnn = RecurrentStage(
                self.inputs([*fed, self.eos]),
                "rnn",
                self.hidden_size,
                w["weight_ih_l0"],
                w["weight_hh_l0"],
                w["bias_ih_l0"],
                w["bias_hh_l0"],
                w_ya=w["w_ya"],
                b_y=w["b_y"],
                name=self.name,
            )
        except SpecError as e:
            raise SpecError("model", f"{e.field}: {e.message}") from None

    def _logits(self) -> np.ndarray:
        logits = self.rnn.logits
        assert logits is not None
        return np.array(logits)  # (T, V)

    def _make_decoder(self) -> LmDecoder:
        return LmDecoder(self.weights, self.vocabulary, self.level, self.name)

    @property
    def decoder(self) -> LmDecoder:
        """The same model as an ``engine.decoding.Decoder``, fed one token at a time."""
        return self._decoder

    def _sample(self, prompt: list[int]) -> tuple[list[int], np.ndarray]:
        """Read the ``prompt`` tokens, then draw the next one at a time, each from the
        distribution after the last: the token read or drawn is fed to the decoder, which runs
        one time step (never the prefix again). Returns the tokens and the logits z⟨t⟩ they
        were read or drawn by, (T, V). The generator draws only after the prompt, so a seed
        gives the same draws from the same distributions."""
        rng = np.random.default_rng(self.seed)
        decoder = self._decoder
        state = decoder.start()
        ids: list[int] = []
        rows = []
        while True:
            z = decoder.logits(state.arrays[0])[0]  # (V,)
            rows.append(z)
            if len(ids) < len(prompt):
                ids.append(prompt[len(ids)])
            else:
                p = np.exp(log_softmax(self._scaled(z)))
                ids.append(int(rng.choice(len(p), p=p / p.sum())))
            if ids[-1] == self.eos or len(ids) == self.max_length:
                break
            state = decoder.advance(state, np.array(ids[-1:]))
        return ids, np.array(rows)

    def _scaled(self, z: np.ndarray) -> np.ndarray:
        """z / τ, or SpecError under ``temperature`` if that overflows float64."""
        with np.errstate(over="ignore"):
            out = z / self.temperature
        if not np.all(np.isfinite(out)):
            biggest = float(np.abs(z).max())
            raise SpecError(
                "temperature",
                f"logits up to {biggest:.3g} divided by τ = {self.temperature:g} overflow "
                f"float64; τ ≥ {biggest / np.finfo(np.float64).max:.3g} keeps them finite",
            )
        return out

    @property
    def text_prompt(self) -> str:
        """What the typed text is for, as the player's input box says it."""
        if self.mode == "score":
            return f"the {self.text_field} the model scores"
        return "the start the sample goes on from (empty: none)"

    def with_text(self, text: str) -> LanguageModelStage:
        """The same model, mode, seed, τ and max_length on ``text``: a score of it, or a sample
        that starts from it ("" draws from nothing). SpecError under ``text_field`` for a text
        the model cannot read (empty when scoring, too long, a character not in a character
        model's alphabet; an unknown word of a word model is read as ``<UNK>``)."""
        if not isinstance(text, str):
            raise SpecError(self.text_field, f"expected a text, got {_quoted(text)}")
        if len(text) > MAX_INPUT_TEXT:  # as a beam search's typed text: refused before reading
            raise SpecError(
                self.text_field,
                f"the text has {len(text):,} characters; at most {MAX_INPUT_TEXT} are read "
                f"(got {_quoted(text)})",
            )
        return self._again(text=text)

    def _again(self, **change: Any) -> LanguageModelStage:
        settings: dict[str, Any] = {
            "text": self.input_text,
            "level": self.level,
            "seed": self.seed,
            "temperature": self.temperature,
            "max_length": self.max_length,
            "name": self.name,
        }
        settings.update(change)
        text = settings.pop("text")
        return LanguageModelStage(self.weights, self.vocabulary, self.mode, text, **settings)

    def with_temperature(self, temperature: float) -> LanguageModelStage:
        """The same model, mode, text, seed and max_length at τ = ``temperature``: a score is
        re-read, a sample re-drawn with the same seed (so the draws differ only where the
        distributions do). SpecError under ``temperature`` outside [0.05, 10]."""
        return self._again(temperature=check_temperature(temperature))

    # -- results ------------------------------------------------------------------------

    @property
    def output(self) -> np.ndarray:
        """ŷ⟨1⟩ … ŷ⟨T⟩, shape (T, V)."""
        return self._y

    def _join(self, ids: list[int]) -> str:
        return self._joiner.join(self.vocabulary[k] for k in ids)

    @property
    def text(self) -> str:
        """The sequence as the model read or drew it, without ``<EOS>``: letters run together,
        words joined by spaces (an unknown word as ``<UNK>``)."""
        return self._join([k for k in self.ids if k != self.eos])

    @property
    def ended(self) -> bool:
        """Whether the sequence ends with ``<EOS>`` (a sample may stop at ``max_length``)."""
        return self.ids[-1] == self.eos

    @property
    def unknown_count(self) -> int:
        """How many tokens of the sequence are ``<UNK>`` (read for an unknown word, or drawn)."""
        return sum(1 for k in self.ids if k == self.unk)

    @property
    def log_prob(self) -> float:
        """log P of the whole sequence."""
        return float(self._cumulative[-1])

    def __len__(self) -> int:
        return len(self.ids)

    def step(self, i: int) -> LmStep:
        i = self._normalise_index(i)
        k = self.ids[i]
        prefix = self._join(self.ids[:i])
        p = float(self._y[i, k])
        total = float(self._cumulative[i])
        token, given = self.vocabulary[k], self.read[i]
        given_here = i < self.prompt_length
        verb = "scored" if given_here else "drawn"
        read_as = f"{given!r} is not in the vocabulary: " if given != token else ""
        return LmStep(
            stage=self.name,
            index=i,
            value=p,
            explanation=(
                f"t = {i + 1}: {read_as}{token!r} {verb}, P({token!r} | {prefix!r}) = {p:.4g}; "
                f"log P(sequence so far) = {total:.4g}"
            ),
            t=i + 1,
            prefix=prefix,
            distribution=self._y[i],
            chosen=k,
            token=token,
            given=given,
            p_chosen=p,
            log_p=float(self._log_p[i, k]),
            log_prob_total=total,
            temperature=self.temperature,
            mode="score" if given_here else "sample",
        )

    def describe(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> dict[str, Any]:
            return {"shape": list(a.shape), "values": a.tolist()}

        x = self.inputs(self.ids)
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {
                **arr(x),
                "text": self.text,
                "tokens": list(self.read),
                "ids": list(self.ids),
                "eos": self.ended,
            },
            # The softmax layer under the names the recurrent stages give it (nn.Linear "output").
            "parameters": {TRACE_NAMES.get(k, k): arr(v) for k, v in self.weights.items()},
            "hyperparameters": {
                "cell": "rnn",
                "hidden_size": self.hidden_size,
                "level": self.level,
                "vocabulary": list(self.vocabulary),
                "mode": self.mode,
                "temperature": self.temperature,
                "seed": self.seed,
                "max_length": self.max_length,
                # A sample that starts from a typed text: its first tokens were given.
                **(
                    {"prompt": self.input_text}
                    if self.mode == "sample" and self.prompt_length
                    else {}
                ),
            },
            "log_prob": self.log_prob,
            "output": arr(self._y),
            "steps": len(self),
            "step_order": ["t"],
        }

    def reference(self) -> np.ndarray:
        """ŷ⟨1⟩ … ŷ⟨T⟩ from ``torch.nn.RNN`` fed the same tokens, (T, V)."""
        import torch

        w = self.weights
        v = len(self.vocabulary)
        module = torch.nn.RNN(v, self.hidden_size, dtype=torch.float64)
        with torch.no_grad():
            for key in WEIGHT_KEYS[:4]:
                getattr(module, key).copy_(torch.from_numpy(np.array(w[key])))
            x = torch.from_numpy(self.inputs(self.ids))[:, None]  # (T, 1, V)
            a = module(x)[0][:, 0]  # (T, H)
            z = torch.nn.functional.linear(
                a, torch.from_numpy(np.array(w["w_ya"])), torch.from_numpy(np.array(w["b_y"]))
            )
            return torch.softmax(z / self.temperature, dim=-1).numpy()
