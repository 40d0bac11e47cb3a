"""Train the two models of ``scenarios/long_memory_lstm.toml`` and ``long_memory_rnn.toml``.

The task is recall over a gap: sequences of T = ``STEPS`` steps with two input channels.

    x⟨1⟩[0]   = v, the value to remember, +1 or −1 (random per sequence)
    x⟨t⟩[0]   = small noise, uniform in [−NOISE, NOISE], for t ≥ 2
    x⟨t⟩[1]   = the "recall now" flag: 1 at t = T, else 0

(Time steps count from 1, as in the course and the player: row t − 1 of an array is x⟨t⟩.)
    target    = the sign of v at the last step, as two classes (0: −1, 1: +1)

An ``nn.LSTM`` and a tanh ``nn.RNN``, both with ``HIDDEN`` units and a linear output layer read
only at the last step (ŷ⟨T⟩ = softmax(W_ya·a⟨T⟩ + b_y)), are trained with the same
optimiser, data and number of updates. The weights, rounded to 4 decimals, are written inline
into the two scenario files together with one example sequence, and the numbers the scenario
descriptions rely on are printed and checked again on the rounded weights in float64.

Run from the repository root (about 10 s on one CPU thread, most of it importing torch)::

    OMP_NUM_THREADS=1 python scripts/train_long_memory.py
    sha256sum scenarios/long_memory_*.toml

``--search-seeds N`` writes nothing: it trains from each of the seeds 0 … N − 1 in turn and
prints, per seed, the gaps, the accuracies and the first check that fails (or "ok"), which is
how SEED was chosen (a few seconds a seed; the LSTM is trained only where the RNN passes).

Seeded (``torch.manual_seed(SEED)``, one thread), so a run on the same PyTorch build and kind of
CPU gives the same bytes (the sums are in docs/recurrent-examples.md); the thread count does not
change them. Another build may round differently and train other weights, and then the checks
below may refuse them: the plain RNN, trained just as long, learns this 15-step recall from some
seeds and not from others, and from some it never reads x⟨1⟩ at all (its state hardly differs
for +1 and −1 even at t = 1), which would show an RNN that did not look rather than one that
forgets; the checks refuse both.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SEED = 193
"""Seeds the initial weights, the training batches and the shipped example. With PyTorch
2.13.0+cpu and UPDATES updates for both cells, 193 is the only seed of 0–199 from which every
check in ``problems`` holds (``--search-seeds 200`` lists them all). From 103 of them the plain
RNN learns the recall anyway (more than 60 % right; seed 0 among them, which gave the weights first
shipped on a build that no longer gives them); from 80 its state hardly responds to x⟨1⟩ (a gap
below RESPONDS at t = 1; 0.06 from seed 31, shipped before); of the 17 where it takes the value
in and forgets it, the gap falls below 0.001 only after SETTLE from 7, grows again at some step
from 5, the example is not wrong and near 50/50 from 2, and the LSTM misses from 2."""
STEPS = 16
"""T: the value is at t = 1 and must be recalled at t = T."""
HIDDEN = 4
NOISE = 1.0
"""Half-width of the uniform noise on the first channel after t = 1: distractors as large as the
value itself, so that only its position (t = 1) marks what to keep."""
FORGET_BIAS = 1.0
"""Added to the LSTM's forget-gate bias before training (the usual initialisation, so that
Γf starts near σ(1) ≈ 0.73 and gradients reach the first step)."""
UPDATES = 600
BATCH = 64
LEARNING_RATE = 0.02
DECIMALS = 4
EXAMPLE_VALUE = 1.0
"""The value the shipped example sequence remembers."""
CELLS = ("lstm", "rnn")
RESPONDS = 0.5
"""The least gap max_j |a⟨1⟩[j] − a′⟨1⟩[j]| between the states at t = 1 for x⟨1⟩ = +1 and −1,
for both cells: the plain RNN must take the value in before it can be seen to forget it, and the
LSTM's gap must stay at least this large at every step."""
WASHED_OUT = 0.1
"""The plain RNN's gap at t = T must be below this share of its gap at t = 1."""
SETTLE = 8
"""The plain RNN's gap must be below 0.001 from this step on at the latest (t = 8 of T = 16), and
not before t = 4: the description gives it at t = 1, 2 and 3."""


def batch(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (n, T, 2) and targets (n,) of the recall task."""
    x = torch.zeros(n, STEPS, 2)
    x[:, 1:, 0] = (torch.rand(n, STEPS - 1, generator=gen) * 2 - 1) * NOISE
    sign = torch.randint(0, 2, (n,), generator=gen)
    x[:, 0, 0] = sign.float() * 2 - 1
    x[:, -1, 1] = 1.0
    return x, sign


def train(cell: str, seed: int, log: bool = True) -> tuple[torch.nn.Module, torch.nn.Linear]:
    """A recurrent layer and its output layer trained on the recall task; the same data stream
    (seeded by ``seed``) and number of updates for either cell."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cls = torch.nn.LSTM if cell == "lstm" else torch.nn.RNN
    rnn = cls(2, HIDDEN, batch_first=True)
    head = torch.nn.Linear(HIDDEN, 2)
    if cell == "lstm":
        bias = rnn.get_parameter("bias_ih_l0")
        with torch.no_grad():
            bias[HIDDEN : 2 * HIDDEN] += FORGET_BIAS  # the f block of i, f, g, o
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=LEARNING_RATE)
    for update in range(UPDATES):
        x, y = batch(BATCH, gen)
        logits = head(rnn(x)[0][:, -1])
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        if log and update % 100 == 99:
            print(f"{cell} update {update + 1}: loss {loss.item():.4f}")
    return rnn, head


def rounded(rnn: torch.nn.Module, head: torch.nn.Linear) -> dict[str, np.ndarray]:
    """The weights under their scenario keys, rounded to DECIMALS, as float64."""
    w = {
        name.removesuffix("_l0"): p.detach().double().numpy() for name, p in rnn.named_parameters()
    }
    w["w_ya"] = head.weight.detach().double().numpy()
    w["b_y"] = head.bias.detach().double().numpy()
    return {k: np.round(v, DECIMALS) for k, v in w.items()}


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def run(cell: str, w: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """a⟨t⟩ (T, H), for the LSTM c⟨t⟩ and Γf (T, H), and the final ŷ (2,), in float64."""
    h = np.zeros(HIDDEN)
    c = np.zeros(HIDDEN)
    hs, cs, fs = [], [], []
    for xt in x:
        z = w["weight_ih"] @ xt + w["bias_ih"] + w["weight_hh"] @ h + w["bias_hh"]
        if cell == "lstm":
            i, f, g, o = np.split(z, 4)
            f = sigmoid(f)
            c = f * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            cs.append(c)
            fs.append(f)
        else:
            h = np.tanh(z)
        hs.append(h)
    logits = w["w_ya"] @ h + w["b_y"]
    e = np.exp(logits - logits.max())
    out = {"a": np.array(hs), "y": e / e.sum()}
    if cell == "lstm":
        out["c"], out["f"] = np.array(cs), np.array(fs)
    return out


def accuracy(cell: str, w: dict[str, np.ndarray], seed: int, n: int = 1000) -> float:
    """Share of n fresh sequences (seed + 1) recalled correctly with the rounded weights."""
    x, y = batch(n, torch.Generator().manual_seed(seed + 1))
    hits = [
        int(np.argmax(run(cell, w, xi.double().numpy())["y"]) == yi)
        for xi, yi in zip(x, y, strict=True)
    ]
    return sum(hits) / n


def example(seed: int) -> np.ndarray:
    """The shipped sequence: EXAMPLE_VALUE at t = 1 (row 0), seeded noise rounded to 2 decimals, the
    recall flag at the last step."""
    rng = np.random.default_rng(seed)
    x = np.zeros((STEPS, 2))
    x[1:, 0] = np.round(rng.uniform(-NOISE, NOISE, STEPS - 1), 2)
    x[0, 0] = EXAMPLE_VALUE
    x[-1, 1] = 1.0
    return x


def fmt(v: float, decimals: int = DECIMALS) -> str:
    s = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def toml_array(a: np.ndarray, indent: str = "  ", decimals: int = DECIMALS) -> str:
    if a.ndim == 1:
        return "[" + ", ".join(fmt(v, decimals) for v in a) + "]"
    rows = [indent + toml_array(r, decimals=decimals) + "," for r in a]
    return "[\n" + "\n".join(rows) + "\n]"


def write(
    path: Path, title: str, order: int, description: str, cell: str, x: np.ndarray, w: dict
) -> None:
    gh = len(w["bias_ih"])
    lines = [
        'kind = "recurrent"',
        f'title = "{title}"',
        'topic = "Recurrent networks"',
        f"order = {order}",
        'description = """',
        textwrap.fill(" ".join(description.split()), width=96),
        '"""',
        "",
        'architecture = "many_to_one"',
        "contrast = { step = 1, channel = 0, value = -1 }",  # t = 1, the first input
        f'cell = "{cell}"',
        f"hidden_size = {HIDDEN}",
        "input = "
        + toml_array(x, decimals=2)
        + f"  # (T, 2) = ({STEPS}, 2): the value, then the recall flag",
        "",
        "# Trained by scripts/train_long_memory.py"
        + (
            f"; {gh} rows = the blocks i, f, g, o of {HIDDEN} rows each." if cell == "lstm" else "."
        ),
        "[weights]",
    ]
    for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "w_ya", "b_y"):
        lines.append(f"{key} = {toml_array(w[key])}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


@dataclass
class Measured:
    """What the checks and the descriptions read, on the rounded weights in float64: for each
    cell the run of the example (x⟨1⟩ = +1) and of the same sequence with x⟨1⟩ = −1, the gap
    max_j |a⟨t⟩[j] − a′⟨t⟩[j]| between them at every step, and the accuracy on fresh sequences."""

    x: np.ndarray
    shown: dict[str, dict[str, np.ndarray]]
    flipped: dict[str, dict[str, np.ndarray]]
    gap: dict[str, np.ndarray]
    accuracy: dict[str, float]

    @property
    def unit(self) -> int:
        """The LSTM unit that carries the value: the one whose forget gate stays highest."""
        return int(np.argmax(self.shown["lstm"]["f"].min(axis=0)))

    @property
    def settle(self) -> int:
        """The first time step t from which the RNN's gap stays below 0.001 (T + 1 if none)."""
        gap = self.gap["rnn"]
        return next((t + 1 for t in range(STEPS) if np.all(gap[t:] < 1e-3)), STEPS + 1)


def measure(weights: dict[str, dict[str, np.ndarray]], seed: int) -> Measured:
    """The example and its flipped twin through each cell of ``weights``, and the accuracies."""
    x = example(seed)
    flipped = x.copy()
    flipped[0, 0] = -EXAMPLE_VALUE
    shown = {cell: run(cell, w, x) for cell, w in weights.items()}
    other = {cell: run(cell, w, flipped) for cell, w in weights.items()}
    gap = {cell: np.abs(shown[cell]["a"] - other[cell]["a"]).max(axis=1) for cell in weights}
    acc = {cell: accuracy(cell, w, seed) for cell, w in weights.items()}
    return Measured(x, shown, other, gap, acc)


def lstm_problems(m: Measured) -> list[str]:
    """The claims about the LSTM that ``m`` does not bear out (none: every one holds)."""
    target = int(EXAMPLE_VALUE > 0)
    lstm, flip, u = m.shown["lstm"], m.flipped["lstm"], m.unit
    checks = [
        (m.accuracy["lstm"] == 1.0, "the LSTM is not right every time on fresh sequences"),
        (
            np.argmax(lstm["y"]) == target and lstm["y"][target] > 0.99,
            "the LSTM does not recall the example",
        ),
        (
            np.argmax(flip["y"]) == 1 - target and flip["y"][1 - target] > 0.99,
            "the LSTM does not recall the example with −1",
        ),
        (lstm["f"][:, u].min() > 0.9, "no LSTM unit keeps Γf above 0.9"),
        (
            np.all(lstm["c"][:, u] > 0) and np.all(flip["c"][:, u] < 0),
            "the LSTM's c⟨t⟩ loses the sign",
        ),
        (
            np.all(np.diff(np.abs(lstm["c"][:, u] - flip["c"][:, u])) > 0),
            "the LSTM's two cell states do not drift apart",
        ),
        (m.gap["lstm"].min() >= RESPONDS, f"the LSTM's gap falls below {RESPONDS}"),
    ]
    return [message for ok, message in checks if not ok]


def rnn_problems(m: Measured) -> list[str]:
    """The claims about the plain RNN that ``m`` does not bear out (none: every one holds)."""
    target = int(EXAMPLE_VALUE > 0)
    rnn, flip, gap = m.shown["rnn"], m.flipped["rnn"], m.gap["rnn"]
    checks = [
        (0.4 < m.accuracy["rnn"] < 0.6, "the RNN is not right about half the time"),
        (gap[0] >= RESPONDS, f"the RNN's gap at t = 1 is below {RESPONDS}: it hardly reads x⟨1⟩"),
        (np.all(np.diff(gap) <= 1e-12), "the RNN's gap does not shrink step by step"),
        (gap[-1] < WASHED_OUT * gap[0], "the RNN's gap at t = T is not a small share of t = 1's"),
        (3 < m.settle <= SETTLE, f"the RNN's gap is not below 0.001 from t = 4 … {SETTLE} on"),
        (
            rnn["y"][target] < 0.5 and abs(rnn["y"][0] - 0.5) < 0.05,
            "the RNN is not near 50/50 and wrong on the example",
        ),
        (np.allclose(rnn["y"], flip["y"], atol=1e-3), "the RNN's ŷ depends on x⟨1⟩"),
    ]
    return [message for ok, message in checks if not ok]


def problems(m: Measured) -> list[str]:
    """The claims of the two descriptions that ``m`` does not bear out (none: every one holds)."""
    return lstm_problems(m) + rnn_problems(m)


def show(m: Measured) -> None:
    """The numbers behind the descriptions."""
    lstm, rnn, u = m.shown["lstm"], m.shown["rnn"], m.unit
    print(f"accuracy on 1000 fresh sequences: {m.accuracy}")
    print(f"lstm Γf min over t per unit: {np.round(lstm['f'].min(axis=0), 4)}")
    print(f"lstm unit {u}: c⟨t⟩ = {np.round(lstm['c'][:, u], 3)}")
    print(f"lstm unit {u}: c⟨t⟩ with −1 = {np.round(m.flipped['lstm']['c'][:, u], 3)}")
    print(
        f"lstm final ŷ = {np.round(lstm['y'], 4)}, with −1: {np.round(m.flipped['lstm']['y'], 4)}"
    )
    print(f"rnn ‖a⟨t⟩‖ = {np.round(np.linalg.norm(rnn['a'], axis=1), 3)}")
    print(f"rnn a⟨t⟩ = {np.round(rnn['a'], 3).tolist()}")
    print(f"rnn final ŷ = {np.round(rnn['y'], 4)}, with −1: {np.round(m.flipped['rnn']['y'], 4)}")
    for cell in CELLS:
        print(f"{cell} max_j |a⟨t⟩[j](+1) − a⟨t⟩[j](−1)| = {np.round(m.gap[cell], 4)}")


def search(count: int, start: int = 0) -> None:
    """Train from each seed start … count − 1 and say which checks hold; write nothing. The
    plain RNN is trained first, and the LSTM only where every check of the RNN holds."""
    for seed in range(start, count):
        rnn = {"rnn": rounded(*train("rnn", seed, log=False))}
        m = measure(rnn, seed)
        found = rnn_problems(m)
        lstm = "not trained"
        if not found:
            m = measure({"lstm": rounded(*train("lstm", seed, log=False)), **rnn}, seed)
            found = problems(m)
            lstm = (
                f"{m.gap['lstm'][0]:.3f} / {m.gap['lstm'][-1]:.3f}, right {m.accuracy['lstm']:.3f}"
            )
        print(
            f"seed {seed}: gap at t = 1 / t = {STEPS}: rnn {m.gap['rnn'][0]:.3f} / "
            f"{m.gap['rnn'][-1]:.4f}, right {m.accuracy['rnn']:.3f}; lstm {lstm}; "
            + (found[0] if found else "ok"),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--search-seeds",
        type=int,
        metavar="N",
        help="train from the seeds 0 … N − 1 and print which pass the checks; write nothing",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.search_seeds is not None:
        search(args.search_seeds)
        return
    weights = {cell: rounded(*train(cell, SEED)) for cell in CELLS}
    m = measure(weights, SEED)
    show(m)
    found = problems(m)
    if found:
        raise SystemExit(f"train_long_memory.py: seed {SEED}: " + "; ".join(found))

    x, u, gap, settle = m.x, m.unit, m.gap["rnn"], m.settle
    lstm, lstm_flip, rnn = m.shown["lstm"], m.flipped["lstm"], m.shown["rnn"]
    target = int(EXAMPLE_VALUE > 0)
    f_unit, c_unit = lstm["f"][:, u], lstm["c"][:, u]
    lstm_gap = m.gap["lstm"]
    lstm_text = f"""
An LSTM trained to remember. x⟨1⟩ carries the value to keep, +1 in the first channel; the next
{STEPS - 2} inputs are distractors in that channel, random numbers between −1 and 1; at the last
step the second channel, the "recall now" flag, is 1, and the one output ŷ⟨{STEPS}⟩ must say the
sign of the value from {STEPS - 1} steps earlier. Watch unit {u}: its forget gate Γf stays between
{math.floor(f_unit.min() * 100) / 100:.2f} and {math.ceil(f_unit.max() * 100) / 100:.2f} at every
step, so c⟨t⟩ = Γf·c⟨t−1⟩ + Γu·c̃⟨t⟩ keeps what it holds, and c⟨t⟩[{u}] stays positive from
{c_unit[0]:.2f} at t = 1 to {c_unit[-1]:.2f} at the end, whatever the distractors do. At
t = {STEPS}, ŷ gives class 1 (+1) with p = {lstm["y"][target]:.4f}. Had x⟨1⟩ been −1, c⟨t⟩[{u}]
would be negative at every step (down to −{-lstm_flip["c"][-1, u]:.2f}) and ŷ would give class 0:
the inspector runs that sequence too and shows the two cell states drifting further apart, and
a⟨t⟩ differs between the two runs by {lstm_gap[0]:.2f} at t = 1 and still by {lstm_gap[-1]:.2f}
at t = {STEPS}. Weights trained by scripts/train_long_memory.py; compare long_memory_rnn.
"""
    rnn_text = f"""
The same recall task for a plain tanh RNN with four units, trained with the same data and the
same number of updates as long_memory_lstm: x⟨1⟩ = +1 in the first channel, {STEPS - 2} random
distractors between −1 and 1, the recall flag at the last step. With no gates, every step
overwrites a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a) with the new input, and the value washes
out: run the same sequence with −1 at t = 1 and a⟨t⟩ differs by {gap[0]:.2f} at t = 1 (the RNN
has read the value), {gap[1]:.2f} at t = 2, {gap[2]:.3f} at t = 3 and by less than 0.001 from
t = {settle} on; the inspector runs both and marks the gap at every step. So ŷ⟨{STEPS}⟩ is the
same either way: class 0 {rnn["y"][0]:.2f}, class 1 {rnn["y"][1]:.2f}, near 50/50 and here
wrong. On fresh sequences the RNN is right about half the time, the LSTM every time.
"""

    write(
        SCENARIOS / "long_memory_lstm.toml",
        f"Long memory: an LSTM keeps a value for {STEPS - 1} steps",
        51,
        lstm_text,
        "lstm",
        x,
        weights["lstm"],
    )
    write(
        SCENARIOS / "long_memory_rnn.toml",
        "Long memory: a plain RNN forgets the value",
        52,
        rnn_text,
        "rnn",
        x,
        weights["rnn"],
    )


if __name__ == "__main__":
    main()
