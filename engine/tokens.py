"""Tokenization: a vocabulary built from a corpus, and a sentence mapped to indices and one-hots."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from engine.core import Stage, Step
from engine.errors import SpecError
from engine.limits import (
    DEFAULT_MAX_TOKENS,
    MAX_CORPUS_TOKENS,
    MAX_TOKENS,
    MAX_VOCABULARY,
    REFERENCE_BLOCK_BYTES,
    check_bytes,
)

UNK = "<UNK>"
"""Stands for every token that is not in the vocabulary; always index 0."""
EOS = "<EOS>"
"""Ends every sentence; always index 1."""
SPECIALS = (UNK, EOS)
"""The special tokens, in index order, ahead of every corpus token."""

LEVELS = ("word", "char")
"""How text is cut into tokens."""

MIN_VOCABULARY = len(SPECIALS) + 1
"""The smallest useful vocabulary: the specials and one real token."""


# A word is a run of letters and digits (any script), with apostrophes allowed inside it
# ("don't", "o'clock"); everything else (whitespace, punctuation, symbols, "_") separates
# words and is dropped. Lower-casing happens first, so "Cats" and "cats" are one token.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def check_level(level: Any) -> str:
    """``level`` if it is one of ``LEVELS``; SpecError with a did-you-mean otherwise."""
    if isinstance(level, str) and level in LEVELS:
        return level
    close = difflib.get_close_matches(str(level), LEVELS, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise SpecError("level", f"unknown level {level!r}; {hint}valid: {', '.join(LEVELS)}")


def token_spans(text: str, level: str = "word") -> list[tuple[int, int, str]]:
    """(start, end, token) for every token of ``text``: ``text[start:end]`` is the token as
    written, ``token`` the form looked up in the vocabulary.

    word level: lower-cased runs of letters and digits, apostrophes allowed inside a word;
    whitespace and punctuation separate words and are dropped ("Day." → "day").
    char level: every character, spaces and punctuation included, case kept.
    """
    return list(_iter_spans(text, check_level(level)))


def _iter_spans(text: str, level: str) -> Iterator[tuple[int, int, str]]:
    if level == "char":
        return ((i, i + 1, ch) for i, ch in enumerate(text))
    return ((m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text))


def tokenize(text: str, level: str = "word") -> list[str]:
    """The tokens of ``text`` as the vocabulary sees them (see ``token_spans`` for the rule).

    Made without the spans: one pointer per token (a 15 MiB text at character level is a
    120 MB list, not 2 GB of span tuples)."""
    if check_level(level) == "char":
        return list(text)
    return [m.group().lower() for m in _WORD.finditer(text)]


def tokens_peak_bytes(corpus_bytes: int, tokens: int, vocabulary: int) -> int:
    """Peak bytes of a tokens stage from sizes alone: the corpus of ``corpus_bytes`` bytes of
    UTF-8 cut into tokens (at most 32 bytes per byte of text: a pointer per character, or a
    pointer and a new string object per 3-byte character or per short word), the
    vocabulary's tables (about 200 bytes an entry), the sentence's ``tokens`` spans and
    indices, and the PyTorch check's one-hot block (REFERENCE_BLOCK_BYTES at most)."""
    return (
        corpus_bytes * 32
        + 200 * vocabulary
        + 120 * tokens
        + min(8 * tokens * vocabulary, REFERENCE_BLOCK_BYTES) * 2
        + 16 * tokens
    )


@dataclass(frozen=True)
class Vocabulary:
    """The tokens a model knows, each with its index: ``<UNK>`` = 0, ``<EOS>`` = 1, then the
    corpus tokens from most to least frequent."""

    tokens: tuple[str, ...]
    """Token at each index."""
    index: dict[str, int] = field(init=False, compare=False, repr=False)
    """Index of each token (derived from ``tokens``)."""
    counts: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """How often each kept token occurs in the corpus (specials: 0)."""

    def __post_init__(self) -> None:
        if self.tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {self.tokens[:2]}")
        object.__setattr__(self, "index", {tok: i for i, tok in enumerate(self.tokens)})
        if len(self.index) != len(self.tokens):
            raise ValueError("a vocabulary lists each token once")

    @classmethod
    def build(cls, corpus_tokens: Iterable[str], size: int = 10_000) -> Vocabulary:
        """The ``size − 2`` most frequent corpus tokens after ``<UNK>`` and ``<EOS>``.

        Ties in frequency are broken alphabetically (by code point), so the same corpus always
        gives the same indices. ``size`` is a maximum: a corpus with fewer distinct tokens gives
        a smaller vocabulary (``len(vocabulary)`` is the real size).
        """
        if (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not MIN_VOCABULARY <= size <= MAX_VOCABULARY
        ):
            raise SpecError(
                "vocabulary_size",
                f"expected a whole number ≥ {MIN_VOCABULARY} (room for {UNK}, {EOS} and one "
                f"token) and ≤ {MAX_VOCABULARY:,}, got {size!r}",
            )
        counts: Counter[str] = Counter()
        for n, t in enumerate(corpus_tokens, 1):
            if n > MAX_CORPUS_TOKENS:
                raise SpecError(
                    "corpus", f"more than {MAX_CORPUS_TOKENS:,} tokens; use a shorter corpus"
                )
            if t not in SPECIALS:
                counts[t] += 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - len(SPECIALS)]
        return cls(SPECIALS + tuple(t for t, _ in ranked), counts=dict(ranked))

    def __len__(self) -> int:
        return len(self.tokens)

    def lookup(self, token: str) -> int:
        """Index of ``token``, or of ``<UNK>`` when the vocabulary does not have it."""
        return self.index.get(token, self.index[UNK])


@dataclass(frozen=True, eq=False, kw_only=True)
class TokenStep(Step):
    """One token of the sentence and the index and one-hot vector that stand for it.

    ``value`` is ``token_id`` (``index`` is the step's place in the stage, as for every Step).
    The one-hot vector is not stored: it is all zeros but a 1 at ``token_id``, of length
    ``vocab_size`` (see ``one_hot()``).
    """

    position: int
    """Place of the token in the sentence, from 0; ``<EOS>`` comes last."""
    token: str
    """The token as written in the sentence ("Cats"); ``<EOS>`` for the end of sentence."""
    lookup: str
    """The form looked up in the vocabulary ("cats")."""
    start: int
    """Offset of the token in the sentence; its length for ``<EOS>``."""
    end: int
    """Offset just past the token (``start`` for ``<EOS>``)."""
    known: bool
    """Whether the vocabulary has the token; unknown ones become ``<UNK>``."""
    eos: bool
    """True for the end-of-sentence step that closes every sentence."""
    token_id: int
    """The token's index in the vocabulary: the one position of its one-hot vector that is 1."""
    vocab_size: int
    """Length of the one-hot vector."""

    @property
    def mapped(self) -> str:
        """The vocabulary entry the token maps to (itself, ``<UNK>`` or ``<EOS>``)."""
        if self.eos:
            return EOS
        return self.lookup if self.known else UNK

    def one_hot(self) -> np.ndarray:
        """The (vocab_size,) float64 vector: zeros and a single 1 at ``token_id``."""
        v = np.zeros(self.vocab_size)
        v[self.token_id] = 1.0
        return v


class TokenStage(Stage):
    """A sentence as vocabulary indices: x⟨t⟩ = one_hot(index(token⟨t⟩)), t = 0 … T.

    Args:
        text: the sentence.
        vocabulary: the tokens known, with ``<UNK>`` and ``<EOS>`` (``Vocabulary.build``).
        level: ``"word"`` or ``"char"`` (see ``token_spans`` for the rule).
        max_tokens: refuse a sentence of more tokens than this, ``<EOS>`` included; 1 to
            ``engine.limits.MAX_TOKENS`` (100,000).

    Shape:
        output: (T + 1,) — the index of each of the T tokens, then ``<EOS>``'s. The indices are
        stored as float64 like every other stage's output; each is a whole number.

    There is no computation for PyTorch to check, so ``reference()`` builds the one-hot vectors
    with ``torch.nn.functional.one_hot`` and reads each one's index back with ``argmax``: it
    checks that index and vector agree and that every index fits the vocabulary.

    One step per token, in sentence order, then one for ``<EOS>``.
    """

    kind = "tokens"

    def __init__(
        self,
        text: str,
        vocabulary: Vocabulary,
        level: str = "word",
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        name: str = "tokens",
    ) -> None:
        super().__init__(name)
        self.level = check_level(level)
        if (
            isinstance(max_tokens, bool)
            or not isinstance(max_tokens, int)
            or not 1 <= max_tokens <= MAX_TOKENS
        ):
            raise SpecError(
                "max_tokens",
                f"expected a whole number from 1 to {MAX_TOKENS:,}, got {max_tokens!r}",
            )
        if not isinstance(text, str):
            raise SpecError("text", f"expected a string, got {text!r}")
        # Stop reading at the limit: a long text is refused without being cut up whole.
        spans = list(islice(_iter_spans(text, self.level), max_tokens))
        if not spans:
            raise SpecError("text", f"no tokens at {self.level} level in {text!r}")
        if len(spans) + 1 > max_tokens:
            raise SpecError(
                "text",
                f"more than {max_tokens - 1:,} tokens at {self.level} level, so more than "
                f"max_tokens = {max_tokens:,} with {EOS}; shorten the text or raise max_tokens",
            )
        self.text = text
        self.vocabulary = vocabulary
        self.max_tokens = max_tokens
        self.spans = spans
        ids = [vocabulary.lookup(tok) for _, _, tok in spans] + [vocabulary.index[EOS]]
        self._ids = np.array(ids, dtype=np.float64)
        self._ids.flags.writeable = False

    @property
    def output(self) -> np.ndarray:
        return self._ids

    @property
    def vocab_size(self) -> int:
        """V: the length of every one-hot vector."""
        return len(self.vocabulary)

    @property
    def unknown_count(self) -> int:
        """How many tokens of the sentence became ``<UNK>``."""
        unk = self.vocabulary.index[UNK]
        return sum(1 for _, _, tok in self.spans if self.vocabulary.lookup(tok) == unk)

    def one_hots(self) -> np.ndarray:
        """The (T + 1, V) one-hot matrix, dense: for small vocabularies and tests only
        (SpecError under ``vocabulary_size`` above REFERENCE_BLOCK_BYTES)."""
        t, v = len(self), self.vocab_size
        check_bytes(
            8 * t * v,
            "vocabulary_size",
            f"a dense ({t:,}, {v:,}) one-hot matrix",
            REFERENCE_BLOCK_BYTES,
        )
        out = np.zeros((t, v))
        out[np.arange(t), self._ids.astype(np.intp)] = 1.0
        return out

    def __len__(self) -> int:
        return len(self.spans) + 1

    def step(self, i: int) -> TokenStep:
        i = self._normalise_index(i)
        token_id = int(self._ids[i])
        if i == len(self.spans):
            end = len(self.text)
            surface, lookup, start, known = EOS, EOS, end, True
            why = f"end of sentence → {EOS} = index {token_id}"
        else:
            start, end, lookup = self.spans[i]
            surface = self.text[start:end]
            known = lookup in self.vocabulary.index
            if known:
                why = f"{lookup!r} → index {token_id} (known)"
            else:
                why = (
                    f"{lookup!r} is not in the {self.vocab_size:,}-token vocabulary → {UNK} = "
                    f"index {token_id}"
                )
        return TokenStep(
            stage=self.name,
            index=i,
            value=float(token_id),
            explanation=f"{why}; one-hot: 1 at {token_id} of {self.vocab_size:,}",
            position=i,
            token=surface,
            lookup=lookup,
            start=start,
            end=end,
            known=known,
            eos=i == len(self.spans),
            token_id=token_id,
            vocab_size=self.vocab_size,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "input": {"text": self.text, "tokens": [tok for _, _, tok in self.spans]},
            "vocabulary": {"size": self.vocab_size, "tokens": list(self.vocabulary.tokens)},
            "parameters": {},
            "hyperparameters": {"level": self.level, "max_tokens": self.max_tokens},
            "output": {"shape": list(self._ids.shape), "values": self._ids.tolist()},
            "steps": len(self),
            "step_order": ["token"],
        }

    def reference(self) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        ids = torch.from_numpy(self._ids.astype(np.int64))
        # In chunks, so that the dense (T, V) one-hots of a large vocabulary stay small.
        rows = max(1, REFERENCE_BLOCK_BYTES // (8 * self.vocab_size))
        parts = [F.one_hot(c, self.vocab_size).argmax(-1) for c in torch.split(ids, rows)]
        return torch.cat(parts).to(torch.float64).numpy()
