"""Train the image captioner shipped as ``scenarios/data/captioner.npz`` (+ ``.json``).

A CNN encoder — the course's convolutional classifier with its softmax removed — turns a
3×24×24 picture of coloured shapes (``scenarios/shapes.py``) into a feature vector; a GRU
decoder, a language model whose first state comes from that vector, writes the caption a word
at a time::

    features = encoder(image)              conv1 3→8 3×3 pad 1, ReLU, max pool 2,
                                           conv2 8→16 3×3 pad 1, ReLU, max pool 2,
                                           flatten (16·6·6 = 576), fc 576 → F
    s⟨0⟩ = tanh(init.weight·features + init.bias)
    s⟨t⟩ = GRUCell ``decoder``(y⟨t−1⟩, s⟨t−1⟩)   y⟨0⟩ = 0, then one_hot(previous word)
    ŷ⟨t⟩ = softmax(out.weight·s⟨t⟩ + out.bias)

Training has two phases, as the course builds a captioner from a classifier. Phase 1 trains the
encoder with five softmax heads on top as a classifier of the scene (first colour, first shape,
relation, second colour, second shape); the heads are then thrown away — the classifier's
softmax removed — and ``fc``'s output is the feature vector. Phase 2 keeps the encoder fixed
and trains the decoder on the captions. (Trained end to end from the start, the decoder learns
the captions' word order long before the encoder learns the shapes, and the pair sticks at
about half the captions right.)

Vocabulary: ``<EOS>`` at 0, then ``scenarios.shapes.WORDS``. Training pictures are drawn
from seeds, never stored: example i is the scene ``random_scene(default_rng([1, i]))`` drawn
with seed i; held-out example j is ``random_scene(default_rng([2, j]))`` drawn with seed
1,000,000 + j (the same 300 possible scenes, in pictures the model has never seen). Teacher
forcing in training; greedy decoding in float64 when measured.

The ``.npz`` holds the float32 ``state_dict`` under PyTorch's key names and ``vocabulary``
(uint8, the UTF-8 tokens joined by newlines, ``<EOS>`` first); ``captioner.json`` holds the
recipe, the sizes and the held-out exact-match accuracy.

Run from the repository root (under a minute on one core)::

    python scripts/train_captioner.py

Seeded, one thread, deterministic algorithms: a run with the same PyTorch build on the same
kind of CPU writes the same bytes.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from digits_training import seed_everything  # noqa: E402
from make_data import write_npz  # noqa: E402

from scenarios.shapes import (  # noqa: E402
    COLOURS,
    DEFAULT_SIZE,
    SHAPES,
    WORDS,
    Scene,
    caption_words,
    draw,
    random_scene,
)

DATA = ROOT / "scenarios" / "data"
NAME = "captioner"
SEED = 0
SIZE = DEFAULT_SIZE
FEATURES = 32
"""F: length of the encoder's feature vector."""
HIDDEN = 32
"""H: units of the decoder's state s."""
TRAIN = 6000
TEST = 1000
HELD_OUT_SEED_OFFSET = 1_000_000
EPOCHS = 15
BATCH = 32
LEARNING_RATE = 0.002
MAX_WORDS = 12
"""Greedy decoding stops after this many words if no ``<EOS>`` came."""
CLASSIFIER_EPOCHS = 15
"""Epochs of the first phase: the encoder trained as a classifier of the scene."""
CLASSES = (4, 3, 3, 5, 4)
"""The classifier's five softmax heads: first colour, first shape, relation, second colour,
second shape (the last three with "none")."""
COLOUR_NAMES = list(COLOURS)
EOS = "<EOS>"
VOCABULARY = (EOS, *WORDS)


def labels(scene: Scene) -> list[int]:
    """The classifier's five answers about a scene: first colour, first shape, relation
    (none, above, left of), second colour (none or one), second shape (none or one)."""
    first = scene.things[0]
    out = [COLOUR_NAMES.index(first.colour), SHAPES.index(first.shape)]
    if scene.relation is None:
        return [*out, 0, 0, 0]
    second = scene.things[1]
    return [
        *out,
        1 + ("above", "left of").index(scene.relation),
        1 + COLOUR_NAMES.index(second.colour),
        1 + SHAPES.index(second.shape),
    ]


def example(which: int, i: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Picture, target ids (``<EOS>`` last) and classifier labels of training (which = 1) or
    held-out (which = 2) example ``i``."""
    scene = random_scene(np.random.default_rng([which, i]))
    seed = i if which == 1 else HELD_OUT_SEED_OFFSET + i
    ids = [VOCABULARY.index(w) for w in caption_words(scene)] + [0]
    return draw(scene, SIZE, seed), ids, labels(scene)


def dataset(which: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pictures (n, 3, S, S) float32, targets (n, T) padded with −100 after ``<EOS>``, and
    classifier labels (n, 5)."""
    rows = [example(which, i) for i in range(n)]
    x = torch.from_numpy(np.stack([p for p, _, _ in rows]).astype(np.float32))
    longest = max(len(ids) for _, ids, _ in rows)
    y = torch.full((n, longest), -100, dtype=torch.long)
    for k, (_, ids, _) in enumerate(rows):
        y[k, : len(ids)] = torch.tensor(ids)
    return x, y, torch.tensor([lab for _, _, lab in rows])


class Captioner(nn.Module):
    def __init__(self, vocabulary: int, features: int, hidden: int) -> None:
        super().__init__()
        self.vocabulary = vocabulary
        flat = 16 * (SIZE // 4) ** 2
        self.encoder = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(3, 8, 3, padding=1),
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),
                conv2=nn.Conv2d(8, 16, 3, padding=1),
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(2),
                flatten=nn.Flatten(),
                fc=nn.Linear(flat, features),
            )
        )
        self.init = nn.Linear(features, hidden)
        self.decoder = nn.GRUCell(vocabulary, hidden)
        self.out = nn.Linear(hidden, vocabulary)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) for pictures ``x`` and targets ``y`` (B, T), teacher-forced."""
        s = torch.tanh(self.init(self.encoder(x)))
        prev = torch.zeros(x.shape[0], self.vocabulary, dtype=x.dtype)
        logits = []
        for t in range(y.shape[1]):
            s = self.decoder(prev, s)
            logits.append(self.out(s))
            prev = nn.functional.one_hot(y[:, t].clamp(min=0), self.vocabulary).to(x.dtype)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, x: torch.Tensor) -> list[list[int]]:
        """Greedy decoding of every picture: the ids up to, not including, ``<EOS>``."""
        s = torch.tanh(self.init(self.encoder(x)))
        prev = torch.zeros(x.shape[0], self.vocabulary, dtype=x.dtype)
        out: list[list[int]] = [[] for _ in range(x.shape[0])]
        done = [False] * x.shape[0]
        for _ in range(MAX_WORDS):
            s = self.decoder(prev, s)
            k = self.out(s).argmax(dim=1)
            for row, token in enumerate(k.tolist()):
                if not done[row]:
                    if token == 0:
                        done[row] = True
                    else:
                        out[row].append(token)
            prev = nn.functional.one_hot(k, self.vocabulary).to(x.dtype)
        return out


def pretrain(
    encoder: nn.Module, x: torch.Tensor, labels: torch.Tensor, order: torch.Generator
) -> list[float]:
    """Phase 1: ``encoder`` + five softmax heads trained as a classifier of the scene; the
    heads are then thrown away (the classifier's softmax removed). Loss per epoch."""
    heads = nn.Linear(FEATURES, sum(CLASSES))
    opt = torch.optim.Adam([*encoder.parameters(), *heads.parameters()], lr=LEARNING_RATE)
    losses = []
    for epoch in range(CLASSIFIER_EPOCHS):
        total = 0.0
        for idx in torch.randperm(len(x), generator=order).split(BATCH):
            parts = heads(encoder(x[idx])).split(CLASSES, dim=1)
            loss = sum(
                (nn.functional.cross_entropy(z, labels[idx, k]) for k, z in enumerate(parts)),
                torch.zeros(()),
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(round(total / len(x), 5))
        print(f"classifier epoch {epoch + 1}: loss {total / len(x):.5f}", flush=True)
    return losses


def main() -> None:
    seed_everything(SEED)
    x, y, lab = dataset(1, TRAIN)
    x_test, y_test, _ = dataset(2, TEST)
    v = len(VOCABULARY)
    model = Captioner(v, FEATURES, HIDDEN)
    order = torch.Generator().manual_seed(SEED)
    classifier_losses = pretrain(model.encoder, x, lab, order)
    # Phase 2: the encoder stays as the classifier left it; only the decoder learns.
    model.encoder.requires_grad_(False)
    decoder_params = [*model.init.parameters(), *model.decoder.parameters()]
    opt = torch.optim.Adam([*decoder_params, *model.out.parameters()], lr=LEARNING_RATE)
    losses = []
    for epoch in range(EPOCHS):
        total, words = 0.0, 0
        for idx in torch.randperm(TRAIN, generator=order).split(BATCH):
            logits = model(x[idx], y[idx])
            loss = nn.functional.cross_entropy(logits.reshape(-1, v), y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = int((y[idx] >= 0).sum())
            total += loss.item() * n
            words += n
        losses.append(round(total / words, 5))
        print(f"epoch {epoch + 1}: loss per word {total / words:.5f}", flush=True)

    weights = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    exact = Captioner(v, FEATURES, HIDDEN).double()
    exact.load_state_dict({k: torch.from_numpy(w.astype(np.float64)) for k, w in weights.items()})

    def score(xs: torch.Tensor, ys: torch.Tensor) -> tuple[list[bool], list[str]]:
        got = exact.greedy(xs.double())
        ok, texts = [], []
        for ids, target in zip(got, ys.tolist(), strict=True):
            want = [t for t in target if t > 0]
            ok.append(ids == want)
            texts.append(" ".join(VOCABULARY[k] for k in ids))
        return ok, texts

    test_ok, test_texts = score(x_test, y_test)
    train_ok, _ = score(x[:1000], y[:1000])
    correct = sum(test_ok)
    print(f"held-out {correct}/{TEST}, first 1000 training pictures {sum(train_ok)}/1000")
    wrong = [
        {
            "index": j,
            "expected": " ".join(VOCABULARY[k] for k in y_test[j].tolist() if k > 0),
            "output": test_texts[j],
        }
        for j in range(TEST)
        if not test_ok[j]
    ]
    record: dict[str, Any] = {
        "architecture": "CNN encoder (a classifier without its softmax), GRU decoder",
        "image_size": [3, SIZE, SIZE],
        "encoder": "conv1 3→8 3×3 pad 1, ReLU, max pool 2, conv2 8→16 3×3 pad 1, ReLU, "
        f"max pool 2, flatten, fc {16 * (SIZE // 4) ** 2}→{FEATURES}",
        "features": FEATURES,
        "hidden": HIDDEN,
        "vocabulary": list(VOCABULARY),
        "parameters": sum(p.numel() for p in model.parameters()),
        "initial_state": "s0 = tanh(init.weight · features + init.bias)",
        "decoder_input": "one_hot(previous word), zeros at the first step",
        "output_layer": "softmax(out.weight · s + out.bias)",
        "data": "scenarios/shapes.py: training example i = random_scene(default_rng([1, i])) "
        f"drawn with seed i; held-out example j = random_scene(default_rng([2, j])) drawn with "
        f"seed {HELD_OUT_SEED_OFFSET:,} + j",
        "train_count": TRAIN,
        "test_count": TEST,
        "optimizer": "Adam",
        "loss": "cross-entropy per word (<EOS> included), teacher forcing",
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "classifier_epochs": CLASSIFIER_EPOCHS,
        "classifier_heads": "softmax over first colour (4), first shape (3), relation (none, "
        "above, left of), second colour (none + 4), second shape (none + 3); discarded after "
        "phase 1",
        "classifier_loss_per_epoch": classifier_losses,
        "loss_per_epoch": losses,
        "seed": SEED,
        "torch": torch.__version__,
        "decoding": f"greedy, at most {MAX_WORDS} words, float32 weights in float64",
        "train_first_1000_correct": sum(train_ok),
        "test_correct": correct,
        "test_accuracy": round(correct / TEST, 4),
        "test_first_50_correct": sum(test_ok[:50]),
        "examples": [{"index": j, "output": test_texts[j]} for j in range(8)],
        "test_errors": wrong[:10],
    }
    arrays = dict(weights)
    arrays["vocabulary"] = np.frombuffer("\n".join(VOCABULARY).encode("utf-8"), np.uint8).copy()
    npz, sidecar = DATA / f"{NAME}.npz", DATA / f"{NAME}.json"
    write_npz(npz, arrays)
    sidecar.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (npz, sidecar):
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
