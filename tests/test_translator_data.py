"""The shipped date data and translator weights: the data parses and is right, and a NumPy
encoder–decoder with attention, written here, reproduces the recorded held-out accuracy from
the shipped weights (never trains)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def read_sets() -> dict[str, list[tuple[str, str]]]:
    sets: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in (DATA / "dates.txt").read_text(encoding="utf-8").splitlines():
        if line in ("# train", "# test"):
            current = sets.setdefault(line[2:], [])
        elif not line.startswith("#"):
            assert current is not None, line
            source, target = line.split("\t")
            current.append((source, target))
    return sets


SETS = read_sets()


def month(word: str) -> int:
    word = word.lower()
    matches = [n for name, n in MONTHS.items() if name == word or name[:3] == word]
    assert len(matches) == 1, word
    return matches[0]


def parse(text: str) -> dt.date:
    """An independent reading of the data's formats: day before month in numeric forms,
    two-digit years 50–99 → 19yy and 00–49 → 20yy; a weekday, when given, must be right."""
    weekday = None
    words = text.replace(",", " ").split()
    if words[0].lower()[:3] in {w[:3] for w in WEEKDAYS}:
        weekday = words.pop(0).lower()
    rest = " ".join(words)
    if m := re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})", rest):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            y += 1900 if y >= 50 else 2000
    elif m := re.fullmatch(
        r"(?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: of)?[ -]([A-Za-z]+)[ -](\d{4})", rest
    ):
        d, mo, y = int(m[1]), month(m[2]), int(m[3])
    elif m := re.fullmatch(r"([A-Za-z]+) (\d{1,2}) (\d{4})", rest):
        d, mo, y = int(m[2]), month(m[1]), int(m[3])
    elif m := re.fullmatch(r"(\d{4}) ([A-Za-z]+) (\d{1,2})", rest):
        d, mo, y = int(m[3]), month(m[2]), int(m[1])
    else:
        raise AssertionError(f"unreadable date {text!r}")
    date = dt.date(y, mo, d)
    if weekday is not None:
        assert WEEKDAYS[date.weekday()].startswith(weekday), text
    return date


def test_sizes_and_disjoint_sets() -> None:
    train, test = SETS["train"], SETS["test"]
    assert len(train) == 10_000 and len(test) == 1_000
    inputs = [s for s, _ in train + test]
    assert len(set(inputs)) == len(inputs)
    assert not {t for _, t in train} & {t for _, t in test}  # no held-out date in training


def test_every_output_is_the_iso_form_of_its_input() -> None:
    for source, target in SETS["train"] + SETS["test"]:
        date = parse(source)
        assert dt.date(1950, 1, 1) <= date <= dt.date(2049, 12, 31)
        assert target == date.isoformat(), source
        assert dt.date.fromisoformat(target) == date


def test_the_parser_reads_the_conventions() -> None:
    assert parse("05/03/2003") == dt.date(2003, 3, 5)
    assert parse("5/3/49") == dt.date(2049, 3, 5)
    assert parse("5/3/50") == dt.date(1950, 3, 5)
    with pytest.raises(AssertionError):
        parse("Monday 05/03/2003")  # a Wednesday


@pytest.fixture(scope="module")
def shipped() -> tuple[dict[str, np.ndarray], dict]:
    with np.load(DATA / "translator.npz", allow_pickle=False) as npz:
        weights = {k: npz[k] for k in npz.files}
    record = json.loads((DATA / "translator.json").read_text(encoding="utf-8"))
    return weights, record


def test_npz_keys_shapes_and_vocabularies(shipped: tuple[dict[str, np.ndarray], dict]) -> None:
    w, record = shipped
    assert all(a.dtype != object for a in w.values())
    inp = bytes(w["input_chars"]).decode("utf-8")
    outp = bytes(w["output_chars"]).decode("utf-8")
    assert outp == "0123456789-"
    assert record["input_vocabulary"] == ["<EOS>", "<UNK>", *inp]
    assert set(inp) == {ch for s, _ in SETS["train"] for ch in s}
    vx, vy = len(inp) + 2, len(outp) + 1
    h, a = record["encoder_hidden"], record["attention_units"]
    expected = {
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
    for sfx in ("_l0", "_l0_reverse"):
        expected |= {
            f"encoder.weight_ih{sfx}": (3 * h, vx),
            f"encoder.weight_hh{sfx}": (3 * h, h),
            f"encoder.bias_ih{sfx}": (3 * h,),
            f"encoder.bias_hh{sfx}": (3 * h,),
        }
    assert set(w) == set(expected) | {"input_chars", "output_chars"}
    for key, shape in expected.items():
        assert w[key].shape == shape and w[key].dtype == np.float32, key
    assert record["parameters"] == sum(w[k].size for k in expected)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gru_step(
    w: dict[str, np.ndarray], p: tuple[str, str], x: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """PyTorch's GRU: r, z, n gates stacked in that order."""
    wr, wz, wn = np.split(w[f"{p[0]}weight_ih{p[1]}"], 3)
    ur, uz, un = np.split(w[f"{p[0]}weight_hh{p[1]}"], 3)
    br, bz, bn = np.split(w[f"{p[0]}bias_ih{p[1]}"], 3)
    cr, cz, cn = np.split(w[f"{p[0]}bias_hh{p[1]}"], 3)
    r = sigmoid(wr @ x + br + ur @ h + cr)
    z = sigmoid(wz @ x + bz + uz @ h + cz)
    n = np.tanh(wn @ x + bn + r * (un @ h + cn))
    return (1.0 - z) * n + z * h


def translate(w: dict[str, np.ndarray], text: str) -> tuple[str, list[np.ndarray]]:
    """Greedy decoding in float64; the output and every step's attention row α."""
    inp = bytes(w["input_chars"]).decode("utf-8")
    outp = bytes(w["output_chars"]).decode("utf-8")
    ids = [inp.index(ch) + 2 if ch in inp else 1 for ch in text] + [0]
    xs = np.eye(len(inp) + 2)[ids]
    hid = w["encoder.weight_hh_l0"].shape[1]
    fwd, bwd = [np.zeros(hid)], [np.zeros(hid)]
    for x in xs:
        fwd.append(gru_step(w, ("encoder.", "_l0"), x, fwd[-1]))
    for x in xs[::-1]:
        bwd.append(gru_step(w, ("encoder.", "_l0_reverse"), x, bwd[-1]))
    h = np.hstack([np.array(fwd[1:]), np.array(bwd[1:][::-1])])  # (Tx, 2H)
    s = np.tanh(w["init.weight"] @ np.concatenate([h[-1, :hid], h[0, hid:]]) + w["init.bias"])
    y_prev = np.zeros(len(outp) + 1)
    text_out, alphas = "", []
    for _ in range(11):
        e = np.array(
            [
                w["attention.v.weight"][0]
                @ np.tanh(w["attention.w_s.weight"] @ s + w["attention.w_h.weight"] @ ht)
                for ht in h
            ]
        )
        alpha = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
        alphas.append(alpha)
        c = (alpha[:, None] * h).sum(axis=0)
        s = gru_step(w, ("decoder.", ""), np.concatenate([y_prev, c]), s)
        k = int(np.argmax(w["out.weight"] @ np.concatenate([s, c]) + w["out.bias"]))
        if k == 0:
            break
        text_out += outp[k - 1]
        y_prev = np.eye(len(outp) + 1)[k]
    return text_out, alphas


def test_numpy_translator_reproduces_the_recorded_accuracy(
    shipped: tuple[dict[str, np.ndarray], dict],
) -> None:
    raw, record = shipped
    w = {k: v.astype(np.float64) for k, v in raw.items() if v.dtype == np.float32}
    w["input_chars"], w["output_chars"] = raw["input_chars"], raw["output_chars"]
    correct = 0
    for source, target in SETS["test"]:
        got, alphas = translate(w, source)
        correct += got == target
        for alpha in alphas:
            assert alpha.shape == (len(source) + 1,)
            assert abs(alpha.sum() - 1.0) < 1e-12 and (alpha >= 0).all()
    assert correct == record["test_correct"]
    assert record["test_count"] == len(SETS["test"])
    assert record["test_accuracy"] == round(correct / len(SETS["test"]), 4)
    for example in record["examples"]:
        assert translate(w, example["input"])[0] == example["output"]


def test_unknown_characters_become_unk(shipped: tuple[dict[str, np.ndarray], dict]) -> None:
    raw, _ = shipped
    inp = bytes(raw["input_chars"]).decode("utf-8")
    assert "é" not in inp and "#" not in inp
    w = {k: v.astype(np.float64) for k, v in raw.items() if v.dtype == np.float32}
    w["input_chars"], w["output_chars"] = raw["input_chars"], raw["output_chars"]
    out, alphas = translate(w, "5 mé# 2003")
    assert set(out) <= set("0123456789-") and len(alphas[0]) == len("5 mé# 2003") + 1
