"""Shared test set-up: deterministic screens for Pilot and snapshot tests, and the test order.

``--order`` runs the collected tests in another order, to show that no test depends on what ran
before it: ``--order reverse``, ``--order shuffle`` (a new seed each run) or
``--order shuffle:SEED`` (repeats a run). The order used is printed at the end of the run.
See docs/testing.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import textual.constants

import scenarios
from engine.core import Simulation
from scenarios.errors import ScenarioError

ORDERS = ("file", "reverse", "shuffle", "shuffle:SEED")
"""What ``--order`` accepts; ``file`` (the default) is the order pytest collects in."""

_ORDER = pytest.StashKey[str]()
"""The order of this run, written so that ``--order`` repeats it (a shuffle with its seed)."""


def parse_order(text: str) -> str:
    """The order ``text`` asks for, with a seed drawn for a bare ``shuffle``."""
    kind, colon, seed = text.strip().partition(":")
    if kind in ("file", "reverse") and not colon:
        return kind
    if kind == "shuffle" and not colon:
        return f"shuffle:{random.SystemRandom().randrange(10**6)}"
    if kind == "shuffle" and seed.isdigit():
        return f"shuffle:{int(seed)}"
    raise pytest.UsageError(
        f"--order: {text!r} is not an order; give one of {', '.join(ORDERS)}, "
        "SEED being a whole number ≥ 0"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--order",
        default="file",
        metavar="ORDER",
        help="Run the tests in this order: file (the default), reverse, shuffle (a new seed "
        "each run) or shuffle:SEED (repeats a shuffled run). The order is printed at the end.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_ORDER] = parse_order(config.getoption("order"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = config.stash[_ORDER]
    if order == "reverse":
        items.reverse()
    elif order.startswith("shuffle:"):
        random.Random(int(order.removeprefix("shuffle:"))).shuffle(items)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    order = config.stash[_ORDER]
    if order != "file":
        terminalreporter.write_line(f"test order: --order {order}")


@pytest.fixture(autouse=True)
def _deterministic_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour overrides from the environment, no animations.

    Textual reads ``TEXTUAL_ANIMATIONS`` into ``textual.constants`` when it is first imported,
    which is before this file runs (pytest-textual-snapshot imports it), so the constant is set
    as well as the variable. ``TEXTUAL_THEME`` becomes the default of ``App.theme`` at import in
    the same way: the snapshot tests pin the theme on their apps (``tests/test_snapshots.py``).
    """
    monkeypatch.delenv("NO_COLOR", raising=False)  # read (and removed) by each App()
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")


# -- scenario files written by a test ------------------------------------------------------------


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """``write_scenario(text, name="s.toml")``: the TOML text saved as a file in the test's
    temporary folder, its path returned."""

    def write(text: str, name: str = "s.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_text(write_scenario: Callable[..., Path]) -> Callable[..., Simulation]:
    """``load_text(text, name="s.toml")``: the Simulation a scenario file with this text, saved
    under that name, loads into."""

    def load(text: str, name: str = "s.toml") -> Simulation:
        return scenarios.load(write_scenario(text, name))

    return load


@pytest.fixture
def scenario_problems(
    write_scenario: Callable[..., Path],
) -> Callable[[str], list[tuple[str, str]]]:
    """``scenario_problems(text)``: the (field, message) pairs loading this text is refused
    with; fails the test if it loads."""

    def problems(text: str) -> list[tuple[str, str]]:
        with pytest.raises(ScenarioError) as info:
            scenarios.load(write_scenario(text))
        return info.value.problems

    return problems
