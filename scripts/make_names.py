"""Generate ``scenarios/data/names.txt``: a few thousand invented, pronounceable names.

The names are made up here from syllables with a seeded NumPy generator; they are not real
people's names and nothing is downloaded. Each name is 2 to 4 syllables (onset + vowel +
optional coda), lower-case a–z only, one per line, no repeats, sorted as generated.

Run from the repository root::

    python scripts/make_names.py

The output is the same on every run (seed ``SEED``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "data" / "names.txt"
SEED = 2024
"""Seed of the generator: the same names every run."""
COUNT = 3000
"""How many distinct names to write."""

ONSETS = ["", "b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
          "br", "ch", "dr", "gr", "kr", "sh", "st", "th", "tr", "j", "w", "y"]  # fmt: skip
ONSET_WEIGHTS = [6, 3, 4, 1, 2, 2, 3, 6, 6, 5, 1, 5, 4, 4, 3, 1,
                 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 1]  # fmt: skip
VOWELS = ["a", "e", "i", "o", "u", "ia", "ea", "ai", "y"]
VOWEL_WEIGHTS = [10, 8, 6, 5, 2, 2, 1, 1, 1]
CODAS = ["", "", "", "", "n", "l", "r", "s", "m", "th", "x"]
ENDINGS = ["", "", "", "a", "a", "ia", "on", "en", "el", "ius", "ine", "ette"]
"""Optional suffix after the last syllable: common name endings."""


def _pick(rng: np.random.Generator, items: list[str], weights: list[int] | None = None) -> str:
    p = None if weights is None else np.array(weights, dtype=np.float64) / sum(weights)
    return items[int(rng.choice(len(items), p=p))]


def name(rng: np.random.Generator) -> str:
    """One name: 2–4 syllables, a coda only on the last, then an optional ending."""
    syllables = int(rng.choice([2, 2, 2, 3, 3, 4]))
    parts = []
    for k in range(syllables):
        onset = _pick(rng, ONSETS, ONSET_WEIGHTS)
        if k and not onset:
            onset = _pick(rng, ONSETS[1:], ONSET_WEIGHTS[1:])  # no vowel clashes inside a name
        parts.append(onset + _pick(rng, VOWELS, VOWEL_WEIGHTS))
    parts.append(_pick(rng, CODAS))
    text = "".join(parts)
    ending = _pick(rng, ENDINGS)
    if ending and text[-1] in "aeiouy" and ending[0] in "aeiouy":
        text = text[:-1]
    return text + ending


def names(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` distinct names of 3 to 12 letters, in the order they were drawn."""
    rng = np.random.default_rng(seed)
    seen: dict[str, None] = {}
    while len(seen) < count:
        n = name(rng)
        if 3 <= len(n) <= 12:
            seen.setdefault(n)
    return list(seen)


def main() -> None:
    out = names()
    assert all(n.isascii() and n.isalpha() and n.islower() for n in out)
    OUT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out)} names, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
