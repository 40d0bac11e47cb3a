"""The `netsim` command under careless or hostile use: a crashed app, impossible file names,
full disks and special files as output. Each must end in one line and a non-zero exit, with
nothing damaged."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tui.cli import cli


def invoke(*args: str) -> Result:
    """Run `netsim ARGS...` in-process; an uncaught exception fails the test instead of exit 1."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="netsim")


def one_line(text: str) -> str:
    """The text, after checking it is exactly one newline-terminated line."""
    assert text.endswith("\n") and text.count("\n") == 1, f"expected one line, got {text!r}"
    return text[:-1]


class CrashedApp:
    """Stands in for tui.app.NetsimApp: runs, then reports that it died of an exception."""

    def __init__(self, **kwargs: Any) -> None:
        self.return_code = 0
        self.crash: BaseException | None = None

    def run(self) -> None:
        self.return_code = 1
        self.crash = IndexError("step 7 out of range: the simulation has 5 steps")


@pytest.fixture
def crashed_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tui.app", types.SimpleNamespace(NetsimApp=CrashedApp))


# -- the app crashed -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["conv_vertical_edge"], ["run", "conv_vertical_edge"]])
def test_a_crashed_app_exits_non_zero_with_one_line(crashed_app: None, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert "IndexError" in line and "step 7 out of range" in line and "NETSIM_DEBUG" in line
    assert result.stdout == ""
