"""Shared test set-up: deterministic screens for Pilot and snapshot tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import scenarios
from engine.core import Simulation
from scenarios.errors import ScenarioError


@pytest.fixture(autouse=True)
def _deterministic_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No colour overrides from the environment, no animations."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


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
def load_text(write_scenario: Callable[..., Path]) -> Callable[[str], Simulation]:
    """``load_text(text)``: the Simulation a scenario file with this text loads into."""

    def load(text: str) -> Simulation:
        return scenarios.load(write_scenario(text))

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
