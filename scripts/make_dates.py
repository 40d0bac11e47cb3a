"""Generate ``scenarios/data/dates.txt``: human-readable dates and their ISO form, for the
date translator (``scripts/train_translator.py``).

Every date is drawn uniformly from 1950-01-01 … 2049-12-31 and written in one of the formats
of ``FORMATS``, also drawn uniformly. The conventions, so that every input has one reading:

- numeric forms put the **day first, then the month** (``05/03/2003`` is 5 March 2003);
- a two-digit year ``yy`` is 19yy for 50–99 and 20yy for 00–49 (the whole 1950–2049 range);
- names are English; weekdays are the date's true weekday.

The file has comment lines (``#``), a line ``# train`` followed by ``TRAIN`` training lines and
a line ``# test`` followed by ``TEST`` held-out lines, each ``input<TAB>output``. No date of the
held-out set occurs in the training set, in any format, and no input repeats.

Run from the repository root (under a second)::

    python scripts/make_dates.py

Seeded (``numpy.random.default_rng(SEED)``): every run writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "data" / "dates.txt"
SEED = 0
TRAIN = 10_000
TEST = 1_000
FIRST = dt.date(1950, 1, 1)
LAST = dt.date(2049, 12, 31)

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st, 22nd, 23rd … 31st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _month(d: dt.date) -> str:
    return MONTHS[d.month - 1]


def _weekday(d: dt.date) -> str:
    return WEEKDAYS[d.weekday()]


FORMATS: list[tuple[str, Callable[[dt.date], str]]] = [
    ("3 May 1979", lambda d: f"{d.day} {_month(d)} {d.year}"),
    ("5 march 2003", lambda d: f"{d.day} {_month(d).lower()} {d.year}"),
    ("March 5, 2003", lambda d: f"{_month(d)} {d.day}, {d.year}"),
    ("Mar 5, 2003", lambda d: f"{_month(d)[:3]} {d.day}, {d.year}"),
    ("05.03.2003", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}"),
    ("05/03/2003", lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}"),
    ("5/3/03", lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}"),
    ("5-Mar-2003", lambda d: f"{d.day}-{_month(d)[:3]}-{d.year}"),
    ("Tuesday 09/10/2021", lambda d: f"{_weekday(d)} {d.day:02d}/{d.month:02d}/{d.year}"),
    ("Sat 5 Mar 2003", lambda d: f"{_weekday(d)[:3]} {d.day} {_month(d)[:3]} {d.year}"),
    ("Saturday, March 5, 2003", lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}"),
    ("2003 March 5", lambda d: f"{d.year} {_month(d)} {d.day}"),
    ("5 MAR 2003", lambda d: f"{d.day} {_month(d)[:3].upper()} {d.year}"),
    ("5th March 2003", lambda d: f"{ordinal(d.day)} {_month(d)} {d.year}"),
    ("the 5th of March 2003", lambda d: f"the {ordinal(d.day)} of {_month(d)} {d.year}"),
]
"""(an example, how a date is written) for each format."""


def draw(rng: np.random.Generator) -> tuple[dt.date, str]:
    """One date and one of its written forms."""
    days = (LAST - FIRST).days + 1
    date = FIRST + dt.timedelta(days=int(rng.integers(days)))
    _, write = FORMATS[int(rng.integers(len(FORMATS)))]
    return date, write(date)


def make(seed: int = SEED) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The training and held-out pairs (input, ISO date)."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    train: list[tuple[str, str]] = []
    train_dates: set[dt.date] = set()
    while len(train) < TRAIN:
        date, text = draw(rng)
        if text not in seen:
            seen.add(text)
            train_dates.add(date)
            train.append((text, date.isoformat()))
    test: list[tuple[str, str]] = []
    while len(test) < TEST:
        date, text = draw(rng)
        if text not in seen and date not in train_dates:
            seen.add(text)
            test.append((text, date.isoformat()))
    return train, test


def main() -> None:
    train, test = make()
    header = [
        "# Human-readable dates and their ISO 8601 form, input<TAB>output, one pair a line.",
        f"# Made by scripts/make_dates.py (numpy.random.default_rng({SEED})): dates uniform in",
        f"# {FIRST.isoformat()} … {LAST.isoformat()}, each written in one of {len(FORMATS)} "
        "formats drawn uniformly.",
        "# Numeric forms are day first, then month; a two-digit year yy is 19yy for 50-99,",
        "# 20yy for 00-49. The held-out set shares no date with the training set.",
        f"# train: the {TRAIN} lines after '# train'; test: the {TEST} lines after '# test'.",
    ]
    lines = [*header, "# train", *(f"{a}\t{b}" for a, b in train)]
    lines += ["# test", *(f"{a}\t{b}" for a, b in test)]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size} bytes, {len(train)} training and {len(test)} test lines")


if __name__ == "__main__":
    main()
