"""Property-based fuzzing: generated scenario files for every registered kind load into a working
simulation or are refused with one clean line each, and the player survives random keys and
resizes. A bounded, reproducible number of examples runs here; scripts/fuzz_scenarios.py runs
the same property over many more files (see docs/testing.md, "Fuzzing")."""

from __future__ import annotations

import asyncio
import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fuzz_scenarios import (
    HypothesisDraw,
    RandomDraw,
    check_file,
    copy_data_folder,
    drive_player,
    generate,
    memory_budget,
    player_actions,
    player_sims,
)
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

import scenarios
from scenarios.registry import kinds
from tui.cli import cli

HANG_SECONDS = 60
"""Far beyond what any example takes: only a run that never ends reaches it."""

FUZZ = settings(
    derandomize=True,  # the same examples on every machine and every run
    deadline=None,  # no timed assertions; a hang is caught by the alarm below
    database=None,
    # No shrinking: a failing example is printed whole (the file's text, the keys), and
    # shrinking a slow one would hold the suite for minutes.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@contextmanager
def hang_alarm(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Turn a run that never ends into a failure (TimeoutError) instead of a stuck suite."""

    def ring(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_bound() -> Iterator[None]:
    """Fail if what runs inside allocates more than twice the simulation's memory budget."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1] - base
        assert peak <= 2 * memory_budget(), f"peak {peak / 2**20:.0f} MiB past the budget"
    finally:
        if not was_tracing:
            tracemalloc.stop()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated files are written, with the bundled data files beside them."""
    path = tmp_path_factory.mktemp("fuzz")
    copy_data_folder(path)
    return path


def write_case(folder: Path, data: bytes) -> Path:
    path = folder / "generated.toml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", sorted(kinds()))
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_generated_files_load_or_are_refused_in_one_line(
    kind: str, data: st.DataObject, folder: Path
) -> None:
    case = generate(HypothesisDraw(data), kind)
    note(f"from {case.source}: {case.notes}\n{case.data.decode('utf-8', 'replace')}")
    path = write_case(folder, case.data)
    with hang_alarm(), memory_bound():
        outcome = check_file(path)
    if not case.notes:
        assert outcome.result == "ok", "a bundled scenario written back must load"


@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_check_command_gives_one_line_per_problem(data: st.DataObject, folder: Path) -> None:
    case = generate(HypothesisDraw(data))
    note(f"from {case.source}: {case.notes}\n{case.data.decode('utf-8', 'replace')}")
    path = write_case(folder, case.data)
    with hang_alarm():
        outcome = check_file(path)
        result = CliRunner().invoke(cli, ["check", str(path)], prog_name="netsim")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if outcome.result == "ok":
        assert result.exit_code == 0
        assert result.stdout == f"{path}: ok\n"
    else:
        assert result.exit_code == 1
        assert result.stderr.splitlines() == outcome.lines


@pytest.mark.parametrize("kind", sorted(kinds()))
@settings(FUZZ, max_examples=1)
@given(seed=st.integers(0, 2**32))
def test_player_survives_random_keys_and_resizes(kind: str, seed: int) -> None:
    # The keys come from a seeded generator, so even the first example is a varied sequence;
    # scripts/fuzz_scenarios.py --player runs many more.
    draw = RandomDraw(seed)
    path = draw.choice([p for k, p in player_sims() if k == kind])
    actions = player_actions(draw, count=10, max_digits=12)
    note(f"{path.name}: {actions}")
    sim = scenarios.load(path)
    with hang_alarm():
        app = asyncio.run(drive_player(sim, actions))
    assert app._exception is None
    assert app.return_code in (None, 0)
