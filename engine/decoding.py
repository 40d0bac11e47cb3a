"""Decoders: models that give a distribution over the next token and can be fed the token
chosen, one step at a time, for many hypotheses at once.

A language model, the translator's attention decoder and the captioner's decoder are all
conditional language models, P(y⟨t⟩ | x, y⟨1⟩ … y⟨t−1⟩); for a plain language model x is
empty. Greedy decoding, beam search, exhaustive search and teacher-forced scoring
(``engine.beam``) are written once against this protocol.

Decoding is incremental: ``advance`` feeds one token per row and runs one time step of the
model for every row, never the prefix again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, eq=False)
class DecoderState:
    """The states of B hypotheses of one decoder after the same number of tokens, row b the
    b-th hypothesis."""

    log_p: np.ndarray
    """(B, V): log P(next token = v | x, the row's prefix), each row a log-softmax."""
    arrays: tuple[np.ndarray, ...]
    """The model's own per-row state (hidden states, cell states …), each with B rows first."""

    def __len__(self) -> int:
        return int(self.log_p.shape[0])

    def take(self, rows: np.ndarray | list[int]) -> DecoderState:
        """The state of the hypotheses ``rows`` (indices into this state, repeats allowed)."""
        idx = np.asarray(rows, dtype=np.intp)
        return DecoderState(self.log_p[idx], tuple(a[idx] for a in self.arrays))


@runtime_checkable
class Decoder(Protocol):
    """A conditional language model, fed its own output one token at a time."""

    vocabulary: tuple[str, ...]
    """The V output tokens in index order, ``<EOS>`` among them."""
    eos: int
    """Index of ``<EOS>`` in ``vocabulary``."""

    def start(self) -> DecoderState:
        """The state of the one empty hypothesis: its ``log_p`` is the first token's."""
        ...

    def advance(self, state: DecoderState, tokens: np.ndarray) -> DecoderState:
        """Feed ``tokens`` (B,) ints, one per row of ``state``, and run one time step: the
        new state's ``log_p`` is the distribution of the token after them."""
        ...

    def reference_log_probs(self, ids: list[int]) -> np.ndarray:
        """log P(y⟨t⟩ | x, y⟨<t⟩) of each token of ``ids`` fed teacher-forced, (len(ids),),
        computed with PyTorch's own modules: the check of every score shown."""
        ...
