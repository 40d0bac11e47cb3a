"""What the two language-model training scripts share: one-hot encoding of token-id sequences,
the training loop of a one-layer tanh RNN with a softmax output layer, and the arrays written
to the ``.npz`` (``train_char_lm.py`` and ``train_word_lm.py`` add their own vocabulary)."""

from __future__ import annotations

import numpy as np
import torch


def encode(
    sequences: list[list[int]], v: int, eos: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (N, L, V), targets (N, L) and mask (N, L) for token ids padded to L = longest + 1.

    Each sequence is followed by ``eos``; x⟨1⟩ = 0 and x⟨t+1⟩ = one_hot(y⟨t⟩)."""
    length = max(map(len, sequences)) + 1
    x = torch.zeros(len(sequences), length, v)
    y = torch.zeros(len(sequences), length, dtype=torch.long)
    mask = torch.zeros(len(sequences), length)
    for n, seq in enumerate(sequences):
        for t, k in enumerate([*seq, eos]):
            y[n, t] = k
            mask[n, t] = 1.0
            if t + 1 < length:
                x[n, t + 1, k] = 1.0  # the next step reads this token
    return x, y, mask


def train(
    x: torch.Tensor,
    y: torch.Tensor,
    mask: torch.Tensor,
    *,
    hidden: int,
    epochs: int,
    batch: int,
    learning_rate: float,
    unit: str,
) -> tuple[torch.nn.RNN, torch.nn.Linear]:
    """Adam on the mean cross-entropy over the unmasked tokens, gradients clipped to norm 5.

    Call ``torch.manual_seed`` first: the initial weights and the batch order come from it."""
    n, _, v = x.shape
    rnn = torch.nn.RNN(v, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, v)
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=learning_rate)
    for epoch in range(epochs):
        order = torch.randperm(n)
        total = 0.0
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            logits = head(rnn(x[idx])[0])  # (B, L, V)
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, v), y[idx].reshape(-1), reduction="none"
            )
            m = mask[idx].reshape(-1)
            loss = (nll * m).sum() / m.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1}: loss per {unit} {total / n:.3f}")
    return rnn, head


def weight_arrays(rnn: torch.nn.RNN, head: torch.nn.Linear) -> dict[str, np.ndarray]:
    """The RNN's weights by PyTorch's names, and the output layer as ``w_ya`` and ``b_y``,
    all float32."""
    arrays = {name: p.detach().numpy().astype(np.float32) for name, p in rnn.named_parameters()}
    arrays["w_ya"] = head.weight.detach().numpy().astype(np.float32)
    arrays["b_y"] = head.bias.detach().numpy().astype(np.float32)
    return arrays
