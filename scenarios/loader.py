"""Read a scenario file, validate it against its kind's schema, and hand it to that kind's
builder — or say exactly what is wrong. The kinds themselves live in ``scenarios/kinds/``."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.core import Simulation
from scenarios.build import BuildContext, pydantic_problems
from scenarios.errors import ScenarioError
from scenarios.registry import kinds
from scenarios.schema import ScenarioBase

MAX_FILE_BYTES = 16 << 20
"""Scenario files are small text; anything larger is refused before reading."""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the file as TOML; missing files, directories and syntax errors become ScenarioError."""
    name = str(path)
    if path.is_dir():
        raise ScenarioError(name, [("(file)", "is a directory; expected a .toml scenario file")])
    if not path.exists():
        raise ScenarioError(name, [("(file)", "no such file")])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                name, [("(file)", f"{size / 2**20:.0f} MiB is too large for a scenario file")]
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(name, [("(file)", f"not UTF-8 text ({e.reason})")]) from None
    except OSError as e:
        raise ScenarioError(name, [("(file)", e.strerror or str(e))]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        if "end of document" in message:
            message += f" (the file ends at line {text.count(chr(10)) + 1})"
        raise ScenarioError(name, [("toml", f"syntax error: {message}")]) from None


def validate(data: dict[str, Any], path: str) -> ScenarioBase:
    """The scenario's pydantic model, or ScenarioError listing every problem found."""
    registered = kinds()
    valid = ", ".join(sorted(registered))
    kind = data.get("kind")
    if kind is None:
        raise ScenarioError(path, [("kind", f"missing; valid kinds: {valid}")])
    if not isinstance(kind, str) or kind not in registered:
        close = difflib.get_close_matches(str(kind), list(registered), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ScenarioError(path, [("kind", f"unknown kind {kind!r}; {hint}valid kinds: {valid}")])
    try:
        return registered[kind].model.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(path, pydantic_problems(e)) from None


def load(path: str | Path, *, progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Load a scenario file into a Simulation, or raise ScenarioError naming every problem.

    Stages that train (``learn_kernel``) call ``progress(done, total)`` now and then while they
    do, from the calling thread, so that a worker can drive a progress bar.
    """
    p = Path(path)
    sc = validate(read_toml(p), str(p))
    ctx = BuildContext(p, progress=progress)
    stages = kinds()[sc.kind].build(sc, ctx)
    if ctx.problems or not stages:
        raise ScenarioError(str(p), ctx.problems.items or [("(file)", "could not be built")])
    return Simulation(
        stages, title=sc.title, description=sc.description, topic=sc.topic, source=str(p)
    )
