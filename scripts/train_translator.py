"""Train the date translator shipped as ``scenarios/data/translator.npz`` (+ ``.json``).

A character-level encoder–decoder with additive (Bahdanau) attention, trained on the training
lines of ``scenarios/data/dates.txt`` (made by ``scripts/make_dates.py``) to write the ISO form
of a human-readable date. With x⟨1⟩ … x⟨Tx⟩ the one-hot input characters (the last is
``<EOS>``) and y⟨0⟩ = 0::

    h⟨t′⟩ = [→h⟨t′⟩; ←h⟨t′⟩]                 bidirectional GRU ``encoder`` (H per direction)
    s⟨0⟩ = tanh(init.weight·[→h⟨Tx⟩; ←h⟨1⟩] + init.bias)
    e⟨t,t′⟩ = attention.v.weight·tanh(attention.w_s.weight·s⟨t−1⟩ + attention.w_h.weight·h⟨t′⟩)
    α⟨t,·⟩ = softmax over t′ of e⟨t,·⟩,  c⟨t⟩ = Σ_t′ α⟨t,t′⟩·h⟨t′⟩
    s⟨t⟩ = GRUCell ``decoder``([one_hot(y⟨t−1⟩); c⟨t⟩], s⟨t−1⟩)
    ŷ⟨t⟩ = softmax(out.weight·[s⟨t⟩; c⟨t⟩] + out.bias)

Teacher forcing in training (y⟨t−1⟩ is the true previous character); greedy decoding when
measured. Output vocabulary: ``<EOS>`` at 0, then ``OUTPUT_CHARS`` at 1–11. Input vocabulary:
``<EOS>`` at 0, ``<UNK>`` at 1, then the characters of the training inputs, sorted, from 2.

The ``.npz`` holds the float32 ``state_dict`` under PyTorch's key names and the two
vocabularies as uint8 arrays of UTF-8 bytes (``input_chars``: the characters at indices 2…,
``output_chars``: those at 1…); ``translator.json`` holds the recipe, the sizes and the
held-out exact-match accuracy (float32 weights run in float64, as ``tests/`` re-checks).

Run from the repository root (a few minutes on one core)::

    python scripts/train_translator.py

Seeded, one thread, deterministic algorithms: a run with the same PyTorch build on the same
kind of CPU writes the same bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_training import seed_everything
from make_data import write_npz

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"
NAME = "translator"
SEED = 0
HIDDEN = 32
"""H: encoder units per direction; the decoder has 2H."""
ATTENTION = 32
"""A: units of the attention layer."""
EPOCHS = 20
BATCH = 64
LEARNING_RATE = 0.005
CLIP = 5.0
OUTPUT_CHARS = "0123456789-"
EOS, UNK = "<EOS>", "<UNK>"
MAX_OUTPUT = 11
"""Greedy decoding stops after this many characters if no ``<EOS>`` came."""


def read_dates(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The ``train`` and ``test`` pairs of ``dates.txt``."""
    sets: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
    current: list[tuple[str, str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line in ("# train", "# test"):
            current = sets[line[2:]]
        elif not line.startswith("#"):
            assert current is not None
            source, target = line.split("\t")
            current.append((source, target))
    return sets


class Attention(nn.Module):
    """The additive attention's three matrices, no biases: e = v·tanh(w_s·s + w_h·h)."""

    def __init__(self, size: int, units: int) -> None:
        super().__init__()
        self.w_s = nn.Linear(size, units, bias=False)
        self.w_h = nn.Linear(size, units, bias=False)
        self.v = nn.Linear(units, 1, bias=False)


class Translator(nn.Module):
    def __init__(self, vx: int, vy: int, hidden: int, attention: int) -> None:
        super().__init__()
        self.vx, self.vy = vx, vy
        self.encoder = nn.GRU(vx, hidden, batch_first=True, bidirectional=True)
        self.init = nn.Linear(2 * hidden, 2 * hidden)
        self.attention = Attention(2 * hidden, attention)
        self.decoder = nn.GRUCell(vy + 2 * hidden, 2 * hidden)
        self.out = nn.Linear(4 * hidden, vy)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits (B, Ty, Vy) for input ids ``x`` (B, Tx) of ``lengths`` and targets ``y``
        (B, Ty), teacher-forced."""
        b, tx = x.shape
        onehot = nn.functional.one_hot(x, self.vx).float()
        packed = nn.utils.rnn.pack_padded_sequence(
            onehot, lengths, batch_first=True, enforce_sorted=False
        )
        h, _ = nn.utils.rnn.pad_packed_sequence(
            self.encoder(packed)[0], batch_first=True, total_length=tx
        )  # (B, Tx, 2H), zeros after each input's end
        half = h.shape[2] // 2
        last = h[torch.arange(b), lengths - 1, :half]
        s = torch.tanh(self.init(torch.cat([last, h[:, 0, half:]], dim=1)))
        valid = torch.arange(tx)[None, :] < lengths[:, None]
        keys = self.attention.w_h(h)  # (B, Tx, A)
        prev = torch.zeros(b, self.vy)
        logits = []
        for t in range(y.shape[1]):
            e = self.attention.v(torch.tanh(self.attention.w_s(s)[:, None, :] + keys))[..., 0]
            alpha = torch.softmax(e.masked_fill(~valid, float("-inf")), dim=1)
            c = torch.bmm(alpha[:, None, :], h)[:, 0]
            s = self.decoder(torch.cat([prev, c], dim=1), s)
            logits.append(self.out(torch.cat([s, c], dim=1)))
            prev = nn.functional.one_hot(y[:, t], self.vy).float()
        return torch.stack(logits, dim=1)


def greedy(w: dict[str, np.ndarray], ids: list[int]) -> list[int]:
    """Greedy decoding of one input (ids, ending in ``<EOS>``) with the weights ``w`` in
    float64: the output ids up to, not including, ``<EOS>``."""
    f = {k: v.astype(np.float64) for k, v in w.items() if v.dtype == np.float32}
    x = np.eye(f["encoder.weight_ih_l0"].shape[1])[ids]

    def gru(xt: np.ndarray, h: np.ndarray, sfx: str, pre: str) -> np.ndarray:
        gi = f[f"{pre}weight_ih{sfx}"] @ xt + f[f"{pre}bias_ih{sfx}"]
        gh = f[f"{pre}weight_hh{sfx}"] @ h + f[f"{pre}bias_hh{sfx}"]
        n = len(h)
        r = 1 / (1 + np.exp(-(gi[:n] + gh[:n])))
        z = 1 / (1 + np.exp(-(gi[n : 2 * n] + gh[n : 2 * n])))
        cand = np.tanh(gi[2 * n :] + r * gh[2 * n :])
        return (1 - z) * cand + z * h

    hid = f["encoder.weight_hh_l0"].shape[1]
    fw, bw = np.zeros((len(ids), hid)), np.zeros((len(ids), hid))
    a = np.zeros(hid)
    for t in range(len(ids)):
        a = fw[t] = gru(x[t], a, "_l0", "encoder.")
    a = np.zeros(hid)
    for t in reversed(range(len(ids))):
        a = bw[t] = gru(x[t], a, "_l0_reverse", "encoder.")
    h = np.concatenate([fw, bw], axis=1)
    s = np.tanh(f["init.weight"] @ np.concatenate([fw[-1], bw[0]]) + f["init.bias"])
    keys = h @ f["attention.w_h.weight"].T
    vy = f["out.weight"].shape[0]
    prev = np.zeros(vy)
    out: list[int] = []
    for _ in range(MAX_OUTPUT):
        e = np.tanh(f["attention.w_s.weight"] @ s + keys) @ f["attention.v.weight"][0]
        alpha = np.exp(e - e.max())
        alpha /= alpha.sum()
        c = alpha @ h
        s = gru(np.concatenate([prev, c]), s, "", "decoder.")
        k = int(np.argmax(f["out.weight"] @ np.concatenate([s, c]) + f["out.bias"]))
        if k == 0:
            break
        out.append(k)
        prev = np.eye(vy)[k]
    return out


def main() -> None:
    seed_everything(SEED)
    sets = read_dates(DATA / "dates.txt")
    chars = sorted({ch for source, _ in sets["train"] for ch in source})
    index = {ch: i + 2 for i, ch in enumerate(chars)}

    def encode(text: str) -> list[int]:
        return [index.get(ch, 1) for ch in text] + [0]

    def tensors(pairs: list[tuple[str, str]]) -> tuple[torch.Tensor, ...]:
        ids = [encode(source) for source, _ in pairs]
        x = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long)
        for n, seq in enumerate(ids):
            x[n, : len(seq)] = torch.tensor(seq)
        y = torch.tensor([[OUTPUT_CHARS.index(ch) + 1 for ch in t] + [0] for _, t in pairs])
        return x, torch.tensor(list(map(len, ids))), y

    x, lengths, y = tensors(sets["train"])
    vx, vy = len(chars) + 2, len(OUTPUT_CHARS) + 1
    model = Translator(vx, vy, HIDDEN, ATTENTION)
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    order = torch.Generator().manual_seed(SEED)
    n = len(y)
    for epoch in range(EPOCHS):
        total = 0.0
        for idx in torch.randperm(n, generator=order).split(BATCH):
            logits = model(x[idx], lengths[idx], y[idx])
            loss = nn.functional.cross_entropy(logits.reshape(-1, vy), y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            opt.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: loss per character {total / n:.4f}", flush=True)

    weights = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}

    def decode(text: str) -> str:
        return "".join(OUTPUT_CHARS[k - 1] for k in greedy(weights, encode(text)))

    def score(pairs: list[tuple[str, str]]) -> tuple[int, list[dict[str, str]]]:
        wrong = []
        for source, target in pairs:
            got = decode(source)
            if got != target:
                wrong.append({"input": source, "expected": target, "output": got})
        return len(pairs) - len(wrong), wrong

    test_ok, test_wrong = score(sets["test"])
    train_ok, _ = score(sets["train"][:1000])
    print(f"test {test_ok}/{len(sets['test'])}, first 1000 training lines {train_ok}/1000")
    record: dict[str, Any] = {
        "architecture": "bidirectional GRU encoder, GRU decoder with additive attention",
        "data": "dates.txt",
        "train_count": len(sets["train"]),
        "test_count": len(sets["test"]),
        "input_vocabulary": [EOS, UNK, *chars],
        "output_vocabulary": [EOS, *OUTPUT_CHARS],
        "encoder_hidden": HIDDEN,
        "decoder_hidden": 2 * HIDDEN,
        "attention_units": ATTENTION,
        "parameters": sum(p.numel() for p in model.parameters()),
        "initial_state": "s0 = tanh(init.weight · [forward h at the last input; backward h at "
        "the first] + init.bias)",
        "decoder_input": "[one_hot(previous output) (zeros at the first step); context]",
        "output_layer": "softmax(out.weight · [s; context] + out.bias)",
        "optimizer": "Adam",
        "loss": "cross-entropy per output character, teacher forcing",
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "learning_rate": LEARNING_RATE,
        "gradient_clip_norm": CLIP,
        "seed": SEED,
        "torch": torch.__version__,
        "decoding": f"greedy, at most {MAX_OUTPUT} characters, float32 weights in float64",
        "train_first_1000_correct": train_ok,
        "test_correct": test_ok,
        "test_accuracy": round(test_ok / len(sets["test"]), 4),
        "examples": [{"input": source, "output": decode(source)} for source, _ in sets["test"][:8]],
        "test_errors": test_wrong[:10],
    }
    arrays = dict(weights)
    arrays["input_chars"] = np.frombuffer("".join(chars).encode("utf-8"), dtype=np.uint8).copy()
    arrays["output_chars"] = np.frombuffer(OUTPUT_CHARS.encode("utf-8"), dtype=np.uint8).copy()
    npz, sidecar = DATA / f"{NAME}.npz", DATA / f"{NAME}.json"
    write_npz(npz, arrays)
    sidecar.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (npz, sidecar):
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
