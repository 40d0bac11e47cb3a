"""Make the data and train the four small recurrent models of the recurrent-network scenarios.

Each model reads words (or letters) as one-hot vectors x⟨t⟩ over its vocabulary, t = 1 … T,
from a⟨0⟩ = 0, and gives a softmax ŷ⟨t⟩ over named labels:

========================  =================================  ==================================
model (files)             task                               scenario
========================  =================================  ==================================
``rnn_sentiment``         GRU, many-to-one: a sentence →     ``rnn_many_to_one.toml``
                          negative / positive
``rnn_tagger``            tanh RNN, many-to-many: each word  ``rnn_many_to_many.toml``
                          → other / name
``rnn_namegen``           GRU, one-to-many: a first letter,  ``rnn_one_to_many.toml``
                          then each letter predicted is fed
                          back as the next input
``rnn_teddy``             bidirectional GRU, many-to-many:   ``rnn_bidirectional.toml``
                          each word → other / name, where
                          the words after "teddy" decide
========================  =================================  ==================================

The sentences are made here from hand-written word lists and templates (every combination,
sorted, then split into training and held-out sets by a seeded permutation); the sentences a
scenario shows are always held out. Each model writes

- ``scenarios/data/NAME.txt``: its data, one example per line, ``split<TAB>labels<TAB>text``
  (``train`` or ``test``; the labels one per word, or one per sentence),
- ``scenarios/data/NAME_vocab.txt``: its vocabulary, one token per line (the one-hot index is
  the line number, from 0),
- ``scenarios/data/NAME.npz``: the weights under the scenario's keys (``weight_ih``,
  ``weight_hh``, ``bias_ih``, ``bias_hh`` or, for the bidirectional one, PyTorch's
  ``weight_ih_l0`` … ``bias_hh_l0_reverse``; then ``w_ya``, ``b_y``), float32 values stored as
  float64,

and all four are recorded in ``scenarios/data/rnn_examples.json`` (sizes, recipe, the held-out
accuracy measured in float64 with the shipped weights).

Run from the repository root (seconds on one core)::

    python scripts/train_rnn_examples.py

Seeded, one thread, deterministic algorithms, fixed zip timestamps: a run with the same PyTorch
build on the same kind of CPU writes the same bytes.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from digits_training import seed_everything  # noqa: E402
from make_data import write_npz  # noqa: E402

DATA = ROOT / "scenarios" / "data"
SEED = 0
TEST_SHARE = 0.25
"""The share of the sentences held out (never trained on)."""
TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']", re.IGNORECASE)
"""Words and single punctuation marks, as ``engine.recurrent.tokenize`` splits a text."""


def tokens(text: str) -> list[str]:
    return [t.lower() for t in TOKEN.findall(text)]


# -- data ---------------------------------------------------------------------------------------

SUBJECTS = [
    "the movie", "this movie", "the film", "this film", "the food", "the service",
    "the book", "this book", "the show", "the music", "the hotel", "this place",
]  # fmt: skip
GOOD = ["good", "great", "fun", "wonderful", "excellent", "lovely"]
BAD = ["bad", "awful", "boring", "terrible", "dull", "poor"]
LIKE_POS = ["liked", "loved", "enjoyed"]
LIKE_NEG = ["hated", "disliked"]
LIKE_BASE = ["like", "love", "enjoy"]
SENTIMENT_SHOWN = "there is nothing to like in this movie"


def sentiment_data() -> list[tuple[str, str]]:
    """(label, sentence): the label 'negative' or 'positive'. "not" flips an adjective, and
    "nothing to like" is negative though "like" is a positive word."""
    out: list[tuple[str, str]] = []
    for s in SUBJECTS:
        for adj in GOOD + BAD:
            pos = adj in GOOD
            for adv, flip in (("", False), ("really ", False), ("very ", False), ("not ", True)):
                label = "positive" if pos != flip else "negative"
                out.append((label, f"{s} was {adv}{adj}"))
        for v in LIKE_POS + LIKE_NEG:
            out.append(("positive" if v in LIKE_POS else "negative", f"i {v} {s}"))
        for v in LIKE_BASE:
            out.append(("negative", f"i did not {v} {s}"))
            out.append(("negative", f"there is nothing to {v} in {s}"))
            out.append(("positive", f"there is so much to {v} in {s}"))
        for what in ("taste", "acting", "music", "ideas"):
            out.append(("negative", f"{s} was completely lacking in good {what}"))
    return sorted(set(out), key=lambda p: p[1])


FIRST = [
    "harry", "hermione", "ron", "ginny", "albus", "severus", "luna", "neville", "draco",
    "minerva", "sirius", "rubeus", "fred", "george", "molly", "arthur", "cedric", "cho",
]  # fmt: skip
LAST = [
    "potter", "granger", "weasley", "dumbledore", "snape", "lovegood", "longbottom", "malfoy",
    "mcgonagall", "black", "hagrid", "diggory", "chang",
]  # fmt: skip
TAGGER_SHOWN = "harry potter and hermione granger invented a new spell"
TAGGER_TEMPLATES = [
    "{A} and {B} invented a new spell",
    "{A} met {B} at the station",
    "yesterday {A} visited the castle",
    "the letter was written by {A}",
    "{A} gave {B} a black cat",
    "the potter made a new bowl for {A}",
    "{A} said the potter was late",
    "a black owl flew to {A}",
    "{A} and the potter found a black wand",
]


def tagger_data() -> list[tuple[str, str]]:
    """(tags, sentence): one tag per word, 1 for a word of a person's name. "potter" and
    "black" are names after a first name and ordinary words after "the" or "a"."""
    people = [f"{f} {last}" for f, last in itertools.product(FIRST, LAST)] + FIRST
    rng = np.random.default_rng([SEED, 1])
    out = {TAGGER_SHOWN}
    for template in TAGGER_TEMPLATES:
        for _ in range(60):
            a, b = (people[int(k)] for k in rng.choice(len(people), size=2, replace=False))
            out.add(template.format(A=a, B=b))
    rows = []
    for sentence in sorted(out):
        tags = []
        words = sentence.split()
        for k, w in enumerate(words):
            prev = words[k - 1] if k else ""
            tags.append(int(w in FIRST or (w in LAST and prev in FIRST)))
        rows.append(("".join(map(str, tags)), sentence))
    return rows


NAMES = [
    "harry", "hermione", "ron", "ginny", "albus", "severus", "luna", "neville", "draco",
    "minerva", "sirius", "fred", "george", "molly", "arthur", "cedric", "percy", "dean",
    "seamus", "lavender", "oliver", "katie", "angelina", "hannah", "ernie", "justin", "susan",
    "terry", "michael", "anthony", "padma", "parvati", "colin", "dennis", "romilda", "cormac",
    "remus", "nymphadora", "kingsley", "alastor", "bill", "charlie", "fleur", "viktor",
    "igor", "olympe", "horace", "pomona", "filius", "rolanda", "argus", "poppy", "sybill",
    "gilderoy", "quirinus", "dolores", "cornelius", "rufus", "bellatrix", "narcissa", "lucius",
    "peter", "james", "lily", "petunia", "vernon", "dudley", "marge", "tom", "gellert",
    "newt", "tina", "queenie", "jacob", "credence", "helga", "rowena", "godric", "salazar",
]  # fmt: skip
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
NAMEGEN_START = "h"
NAMEGEN_HIDDEN = 8


TEDDY_PREFIX = ["he said ,", "she said ,", "i think", "we know", "they say"]
TEDDY_NAME = [
    "teddy roosevelt was a great president", "teddy roosevelt gave a speech",
    "teddy roosevelt led the country", "teddy roosevelt is on the coin",
    "franklin roosevelt was a great president", "franklin roosevelt gave a speech",
    "teddy was a great president", "franklin led the country",
]  # fmt: skip
TEDDY_TOY = [
    "teddy bears are on sale", "teddy bears are soft", "teddy bears are for children",
    "teddy bears are on the shelf", "toy bears are on sale", "toy bears are soft",
    "the teddy bears are on sale", "the bears are soft",
]  # fmt: skip
TEDDY_SHOWN = "he said , teddy roosevelt was a great president"
TEDDY_COMPARE = "he said , teddy bears are on sale"


def teddy_data() -> list[tuple[str, str]]:
    """(tags, sentence): 1 for a word of a person's name. "teddy" is a name before
    "roosevelt" or "was", a toy before "bears": only the words after it tell."""
    rows = []
    for prefix, rest in itertools.product(TEDDY_PREFIX, TEDDY_NAME + TEDDY_TOY):
        sentence = f"{prefix} {rest}"
        words = sentence.split()
        n = len(prefix.split())
        tags = [0] * n
        person = rest in TEDDY_NAME
        for w in rest.split():
            tags.append(int(person and (w in ("teddy", "franklin", "roosevelt"))))
        rows.append(("".join(map(str, tags)), sentence))
        assert len(tags) == len(words)
    return sorted(rows, key=lambda p: p[1])


def split(rows: list[tuple[str, str]], shown: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(split, labels, text): a seeded quarter held out, and every sentence a scenario shows."""
    rng = np.random.default_rng([SEED, len(rows)])
    order = rng.permutation(len(rows))
    test = set(order[: round(TEST_SHARE * len(rows))].tolist())
    return [
        ("test" if (k in test or text in shown) else "train", labels, text)
        for k, (labels, text) in enumerate(rows)
    ]


# -- models -------------------------------------------------------------------------------------


class Tagger(nn.Module):
    """A recurrent layer over one-hot inputs and a linear layer on every a⟨t⟩ (or the last)."""

    def __init__(self, cell: str, n_in: int, hidden: int, n_out: int, bidirectional: bool):
        super().__init__()
        cls = {"rnn": nn.RNN, "gru": nn.GRU}[cell]
        self.rnn = cls(n_in, hidden, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden * (2 if bidirectional else 1), n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0])  # (B, T, O) logits


def one_hot(ids: list[int], size: int) -> torch.Tensor:
    x = torch.zeros(len(ids), size)
    x[torch.arange(len(ids)), torch.tensor(ids)] = 1.0
    return x


def fit(
    model: Tagger,
    examples: list[tuple[torch.Tensor, torch.Tensor]],
    *,
    last_only: bool,
    epochs: int,
    lr: float,
) -> list[float]:
    """Adam on one example at a time (the sequences differ in length), a new order every epoch
    from a seeded generator; the mean loss per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(SEED)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for k in torch.randperm(len(examples), generator=gen).tolist():
            x, y = examples[k]
            logits = model(x[None])[0]
            if last_only:
                logits = logits[-1:]
            loss = nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        losses.append(round(total / len(examples), 5))
    return losses


def weights_of(model: Tagger, bidirectional: bool) -> dict[str, np.ndarray]:
    """The scenario's keys: PyTorch's names without ``_l0`` for one direction, with it for two."""
    out = {}
    for name, p in model.rnn.named_parameters():
        key = name if bidirectional else name.removesuffix("_l0")
        out[key] = p.detach().double().numpy()
    out["w_ya"] = model.out.weight.detach().double().numpy()
    out["b_y"] = model.out.bias.detach().double().numpy()
    return out


def as_float64(model: Tagger) -> Tagger:
    """The same model in float64: the shipped weights run as the engine runs them."""
    return model.double()


def write(name: str, vocab: list[str], rows: list[tuple[str, str, str]], w: dict) -> None:
    (DATA / f"{name}_vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    lines = [f"{s}\t{labels}\t{text}" for s, labels, text in rows]
    (DATA / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_npz(DATA / f"{name}.npz", w)


def sequence_model(
    name: str,
    rows: list[tuple[str, str]],
    shown: tuple[str, ...],
    *,
    cell: str,
    hidden: int,
    labels: list[str],
    per_word: bool,
    bidirectional: bool,
    epochs: int,
    lr: float,
) -> dict[str, Any]:
    """Train a classifier (``per_word`` False: one label per sentence, read at the last step)
    or a tagger (one label per word) and return its record."""
    data = split(rows, shown)
    vocab = sorted({w for _, _, text in data for w in tokens(text)})
    index = {w: k for k, w in enumerate(vocab)}

    def example(lab: str, text: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        x = one_hot([index[w] for w in tokens(text)], len(vocab)).to(dtype)
        y = [int(c) for c in lab] if per_word else [labels.index(lab)]
        return x, torch.tensor(y)

    seed_everything(SEED)
    model = Tagger(cell, len(vocab), hidden, len(labels), bidirectional)
    train = [example(lab, text, torch.float32) for s, lab, text in data if s == "train"]
    losses = fit(model, train, last_only=not per_word, epochs=epochs, lr=lr)
    weights = weights_of(model, bidirectional)
    model = as_float64(model)
    right = total = sentences_right = 0
    wrong = []
    with torch.no_grad():
        for s, lab, text in data:
            if s != "test":
                continue
            x, y = example(lab, text, torch.float64)
            pred = model(x[None])[0].argmax(-1)
            if not per_word:
                pred = pred[-1:]
            ok = pred == y
            right += int(ok.sum())
            total += len(y)
            sentences_right += int(bool(ok.all()))
            if not ok.all():
                wrong.append(text)
    write(name, vocab, data, weights)
    n_test = sum(s == "test" for s, _, _ in data)
    record: dict[str, Any] = {
        "cell": cell,
        "bidirectional": bidirectional,
        "hidden_size": hidden,
        "vocabulary_size": len(vocab),
        "labels": labels,
        "train_sentences": len(data) - n_test,
        "test_sentences": n_test,
        "epochs": epochs,
        "learning_rate": lr,
        "loss_per_epoch": losses,
        "test_correct": right,
        "test_total": total,
        "test_accuracy": round(right / total, 4),
        "test_errors": wrong[:10],
    }
    if per_word:
        record["test_sentences_all_correct"] = sentences_right
    print(f"{name}: held out {right}/{total} right, loss {losses[0]} → {losses[-1]}")
    return record


def namegen() -> dict[str, Any]:
    """A GRU over letters trained to predict each next letter of a name (teacher forcing), the
    last one followed by <EOS>; then run from x⟨1⟩ = NAMEGEN_START, each likeliest letter fed
    back as the next input, until <EOS>."""
    vocab = LETTERS
    labels = [*LETTERS, "<EOS>"]
    seed_everything(SEED)
    model = Tagger("gru", len(vocab), NAMEGEN_HIDDEN, len(labels), False)
    examples = []
    for name in NAMES:
        ids = [vocab.index(c) for c in name]
        examples.append((one_hot(ids, len(vocab)), torch.tensor([*ids[1:], len(labels) - 1])))
    epochs, lr = 200, 0.01
    losses = fit(model, examples, last_only=False, epochs=epochs, lr=lr)
    weights = weights_of(model, False)
    model = as_float64(model)
    generated = {}
    with torch.no_grad():
        for first in LETTERS:
            word, state = first, None
            x = one_hot([vocab.index(first)], len(vocab)).double()
            for _ in range(12):
                out, state = model.rnn(x[None], state)
                k = int(model.out(out[0, -1]).argmax())
                if labels[k] == "<EOS>":
                    break
                word += labels[k]
                x = one_hot([k], len(vocab)).double()
            generated[first] = word
    rows = [("train", "", n) for n in NAMES]
    write("rnn_namegen", vocab, rows, weights)
    print(f"rnn_namegen: loss {losses[0]} → {losses[-1]}; {generated}")
    return {
        "cell": "gru",
        "hidden_size": NAMEGEN_HIDDEN,
        "vocabulary_size": len(vocab),
        "labels": labels,
        "train_names": len(NAMES),
        "epochs": epochs,
        "learning_rate": lr,
        "loss_per_epoch": losses,
        "greedy_from_each_letter": generated,
        "greedy_in_training_list": sorted(w for w in generated.values() if w in NAMES),
    }


def main() -> None:
    records = {
        "rnn_sentiment": sequence_model(
            "rnn_sentiment",
            [(lab, text) for lab, text in sentiment_data()],
            (SENTIMENT_SHOWN,),
            cell="gru",
            hidden=4,
            labels=["negative", "positive"],
            per_word=False,
            bidirectional=False,
            epochs=12,
            lr=0.01,
        ),
        "rnn_tagger": sequence_model(
            "rnn_tagger",
            tagger_data(),
            (TAGGER_SHOWN,),
            cell="rnn",
            hidden=8,
            labels=["other", "name"],
            per_word=True,
            bidirectional=False,
            epochs=8,
            lr=0.01,
        ),
        "rnn_namegen": namegen(),
        "rnn_teddy": sequence_model(
            "rnn_teddy",
            teddy_data(),
            (TEDDY_SHOWN, TEDDY_COMPARE),
            cell="gru",
            hidden=4,
            labels=["other", "name"],
            per_word=True,
            bidirectional=True,
            epochs=30,
            lr=0.01,
        ),
    }
    meta = {
        "script": "scripts/train_rnn_examples.py",
        "seed": SEED,
        "torch": torch.__version__,
        "optimizer": "Adam, one sentence per update, a new order every epoch",
        "determinism": "torch.use_deterministic_algorithms(True), torch.set_num_threads(1)",
        "accuracy": "held-out words (taggers) or sentences (classifier), float64, shipped weights",
    }
    path = DATA / "rnn_examples.json"
    text = json.dumps({**meta, "models": records}, indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
