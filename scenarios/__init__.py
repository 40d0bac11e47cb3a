"""Scenario files: the TOML format, its validation, and the scenarios bundled with netsim.

Public API: ``load(path)`` returns a Simulation; ``bundled()`` lists the shipped scenarios;
``resolve(name_or_path)`` finds a file from a path or a bundled scenario's name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scenarios.errors import ScenarioError
from scenarios.topics import TOPICS

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.core import Simulation


def load(path: str | Path, *, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Load a scenario file into a Simulation, or raise ScenarioError naming every problem.

    The loader (pydantic, NumPy, the engine) is imported on first use, so that listing the
    bundled scenarios stays cheap: the browser's first frame does not wait for it. Scenarios
    that train call ``progress(done, total)`` while they do (from the calling thread).
    """
    from scenarios.loader import load as _load

    return _load(path, progress=progress)


BUNDLED_DIR = Path(__file__).parent
"""Where the bundled scenario files live (package data)."""


@dataclass(frozen=True)
class BundledScenario:
    """A scenario shipped with netsim, as the browser lists it."""

    name: str
    path: Path
    title: str
    topic: str
    description: str
    order: int


def bundled() -> list[BundledScenario]:
    """Every bundled scenario, in curriculum order (topic, then order, then name)."""
    out = []
    for path in BUNDLED_DIR.glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out.append(
            BundledScenario(
                name=path.stem,
                path=path,
                title=str(data.get("title", path.stem)),
                topic=str(data.get("topic", "Convolution")),
                description=str(data.get("description", "")).strip(),
                order=int(data.get("order", 100)),
            )
        )
    rank = {t: i for i, t in enumerate(TOPICS)}
    return sorted(out, key=lambda s: (rank.get(s.topic, len(TOPICS)), s.topic, s.order, s.name))


def resolve(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else the bundled scenario of that name, else the path as given.

    ``conv_vertical_edge`` and ``conv_vertical_edge.toml`` both name a bundled scenario.
    """
    p = Path(name_or_path)
    if p.exists():
        return p
    stem = p.name.removesuffix(".toml")
    candidate = BUNDLED_DIR / f"{stem}.toml"
    if p.parent == Path(".") and candidate.exists():
        return candidate
    return p


__all__ = ["TOPICS", "BundledScenario", "ScenarioError", "bundled", "load", "resolve"]
