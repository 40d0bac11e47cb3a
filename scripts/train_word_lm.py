"""Train the word-level language model shipped as ``scenarios/data/word_lm.npz``.

The same network as ``scripts/train_char_lm.py`` — one tanh ``torch.nn.RNN`` layer (hidden size
``HIDDEN``) and a softmax output layer — reading words instead of characters, trained on
``scenarios/data/sentences.txt`` (made by ``scripts/make_sentences.py``) to predict each next
word of a sentence, then ``<EOS>``:

    x⟨1⟩ = 0,  x⟨t⟩ = one_hot(y⟨t−1⟩),  a⟨t⟩ = tanh(W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh),
    ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y),  loss = −Σ_t log ŷ⟨t⟩[y⟨t⟩]  (mean over tokens)

The sentences are cut into words by ``engine.tokens.tokenize(line, "word")`` (lower-cased,
punctuation dropped) and the vocabulary is ``engine.tokens.Vocabulary.build(words, VOCABULARY)``:
``<UNK>`` = 0, ``<EOS>`` = 1, then the 46 most frequent words. Every other word — the rare
animals, names and foods of the corpus, each seen at most five times — is read and predicted as
``<UNK>``, so the model learns *where* unknown words turn up, not which. Arrays in the file
(``allow_pickle=False``):

    weight_ih_l0 (H, V), weight_hh_l0 (H, H), bias_ih_l0 (H,), bias_hh_l0 (H,)  float32
    w_ya (V, H), b_y (V,)                                                           float32
    vocabulary uint8: the V tokens, in index order, joined by newlines, UTF-8
    level uint8: b"word" (a model without it, such as char_lm.npz, is character-level)

Run from the repository root (a few seconds on a CPU)::

    python scripts/train_word_lm.py

Seeded (``torch.manual_seed(SEED)``, one thread), so a run on the same PyTorch build gives the
same weights; the zip timestamps are fixed, so the bytes repeat too. After training it checks
the facts ``scenarios/lm_words_score.toml`` describes, and stops with an error (before writing
the file) if one no longer holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from make_data import write_npz  # noqa: E402
from rnn_lm import encode, train, weight_arrays  # noqa: E402

from engine.tokens import EOS, UNK, Vocabulary, tokenize  # noqa: E402

DATA = ROOT / "scenarios" / "data"
SEED = 0
HIDDEN = 32
"""H: hidden units; the grammar is small, and a small model keeps the panels readable."""
VOCABULARY = 48
"""V: <UNK>, <EOS> and the 46 common words of the grammar; every rare word falls outside."""
EPOCHS = 40
BATCH = 100
LEARNING_RATE = 0.01


def next_word(
    rnn: torch.nn.RNN, head: torch.nn.Linear, vocabulary: Vocabulary, words: list[str]
) -> torch.Tensor:
    """P(next token | words), (V,): x⟨1⟩ = 0, then the one-hot of each word."""
    x = torch.zeros(1, len(words) + 1, len(vocabulary))
    for t, w in enumerate(words):
        x[0, t + 1, vocabulary.lookup(w)] = 1.0
    with torch.no_grad():
        return torch.softmax(head(rnn(x)[0][0, -1]), dim=-1)


def check_facts(rnn: torch.nn.RNN, head: torch.nn.Linear, vocabulary: Vocabulary) -> None:
    """Print, and assert, what the ``lm_words_score`` description says about the trained model
    (tests/test_word_lm.py checks its exact numbers through the engine)."""
    unk, eos = vocabulary.index[UNK], vocabulary.index[EOS]

    def rank(p: torch.Tensor, k: int) -> int:
        return int((p > p[k]).sum()) + 1

    p = next_word(rnn, head, vocabulary, ["the"])
    top = [vocabulary.tokens[int(k)] for k in torch.argsort(p, descending=True)[:5]]
    print(f'P(<UNK> | "the") = {p[unk]:.3f}, rank {rank(p, unk)}; top 5 after "the": {top}')
    assert rank(p, unk) == 1, "all unknown animals together are not likelier than any one"
    p = next_word(rnn, head, vocabulary, [])
    print(f"P(<UNK> | start) = {p[unk]:.3f}, rank {rank(p, unk)} (a rare name)")
    sentence = tokenize("The zebra sleeps under the tree all day.", "word")
    p = next_word(rnn, head, vocabulary, sentence[:6])
    print(f"P(<EOS> | {' '.join(sentence[:6])!r}) = {p[eos]:.3f}, rank {rank(p, eos)}")
    assert rank(p, eos) == 1, "the sentence could end after 'tree', and the model should know"
    p = next_word(rnn, head, vocabulary, sentence)
    print(f"P(<EOS> | {' '.join(sentence)!r}) = {p[eos]:.3f}")
    assert p[eos] > 0.99, "a sentence ending in a time phrase is not sure to end"
    p = next_word(rnn, head, vocabulary, sentence[:5])
    print(f"P(<EOS> | {' '.join(sentence[:5])!r}) = {p[eos]:.4f}")
    assert p[eos] < 0.01, "the model would end a sentence after 'the'"


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    lines = (DATA / "sentences.txt").read_text(encoding="utf-8").splitlines()
    sentences = [tokenize(line, "word") for line in lines]
    vocabulary = Vocabulary.build((w for s in sentences for w in s), VOCABULARY)
    assert len(vocabulary) == VOCABULARY, f"only {len(vocabulary)} distinct tokens"
    assert "zebra" not in vocabulary.index
    ids = [[vocabulary.lookup(w) for w in s] for s in sentences]  # unknown words → <UNK>
    x, y, mask = encode(ids, len(vocabulary), vocabulary.index[EOS])
    rnn, head = train(
        x,
        y,
        mask,
        hidden=HIDDEN,
        epochs=EPOCHS,
        batch=BATCH,
        learning_rate=LEARNING_RATE,
        unit="token",
    )
    check_facts(rnn, head, vocabulary)
    arrays = weight_arrays(rnn, head)
    joined = "\n".join(vocabulary.tokens).encode("utf-8")
    arrays["vocabulary"] = np.frombuffer(joined, dtype=np.uint8).copy()
    arrays["level"] = np.frombuffer(b"word", dtype=np.uint8).copy()
    path = DATA / "word_lm.npz"
    write_npz(path, arrays)
    print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
