"""The `netsim` command under careless or hostile use: a crashed app, impossible file names,
full disks and special files as output. Each must end in one line and a non-zero exit, with
nothing damaged."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
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


# -- file names the system refuses -----------------------------------------------------------

LONG = "x" * 300 + ".toml"


def test_check_reports_a_name_too_long_and_goes_on_to_the_next_file() -> None:
    result = invoke("check", LONG, "conv_vertical_edge")
    assert result.exit_code == 1
    assert one_line(result.stderr) == f"{LONG}: (file): File name too long"
    assert result.stdout.endswith("conv_vertical_edge.toml: ok\n")


@pytest.fixture
def fake_render(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace tui.snapshot.render_svg with one that records the step it drew."""
    calls: list[int] = []

    def render_svg(sim: Any, step: int, size: tuple[int, int], reproducible: bool = False) -> str:
        calls.append(step)
        return f'<svg xmlns="http://www.w3.org/2000/svg"><!-- step {step} --></svg>'

    monkeypatch.setitem(sys.modules, "tui.snapshot", types.SimpleNamespace(render_svg=render_svg))
    return calls


def test_snapshot_to_a_name_too_long_is_one_line(
    fake_render: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("snapshot", "conv_vertical_edge", "-o", "y" * 300 + ".svg")
    assert result.exit_code == 1
    assert one_line(result.stderr).endswith(".svg: File name too long")
    assert list(tmp_path.iterdir()) == [] and fake_render == []


def test_snapshot_to_an_empty_name_asks_for_a_file_name(fake_render: list[int]) -> None:
    result = invoke("snapshot", "conv_vertical_edge", "-o", "")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "'-o'" in line and "file" in line and "directory" not in line


# -- standard output on a full disk ----------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args", [["list"], ["trace", "conv_vertical_edge"], ["trace", "--format", "json", "rnn_step"]]
)
def test_a_full_disk_on_standard_output_is_one_line(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "tui", *args], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        "Error: cannot write to standard output: No space left on device"
    )


# -- snapshot output only ever creates or replaces a regular file ----------------------------


def special_files(tmp_path: Path) -> dict[str, Path]:
    """A FIFO, a socket, a symbolic link to a regular file and one that dangles."""
    target = tmp_path / "target.svg"
    target.write_text("the target", encoding="utf-8")
    made = {"fifo": tmp_path / "fifo.svg", "link": tmp_path / "link.svg"}
    os.mkfifo(made["fifo"])
    made["link"].symlink_to(target)
    made["dangling"] = tmp_path / "dangling.svg"
    made["dangling"].symlink_to(tmp_path / "nowhere.svg")
    sock = socket.socket(socket.AF_UNIX)
    made["socket"] = tmp_path / "s.svg"
    sock.bind(str(made["socket"]))
    sock.close()
    return made


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and sockets")
@pytest.mark.parametrize("kind", ["fifo", "socket", "link", "dangling"])
def test_snapshot_refuses_to_replace_what_is_not_a_regular_file(
    kind: str, fake_render: list[int], tmp_path: Path
) -> None:
    made = special_files(tmp_path)
    before = {p.name: os.lstat(p) for p in tmp_path.iterdir()}
    result = invoke("snapshot", "conv_vertical_edge", "-o", str(made[kind]))
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith(f"Error: cannot write {made[kind]}: it is a ")
    assert ("symbolic link" if kind in ("link", "dangling") else "not a regular file") in line
    after = {p.name: os.lstat(p) for p in tmp_path.iterdir()}
    assert {n: (s.st_mode, s.st_ino) for n, s in after.items()} == {
        n: (s.st_mode, s.st_ino) for n, s in before.items()
    }
    assert (tmp_path / "target.svg").read_text(encoding="utf-8") == "the target"
    assert not (tmp_path / "nowhere.svg").exists()


def test_snapshot_refuses_a_device(fake_render: list[int], tmp_path: Path) -> None:
    """A device node of our own (never the system's /dev/null: a regression run as root
    would replace it)."""
    device = tmp_path / "null.svg"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")
    result = invoke("snapshot", "conv_vertical_edge", "-o", str(device))
    assert result.exit_code == 1
    assert "it is a device, not a regular file" in one_line(result.stderr)
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_failed_snapshot_leaves_the_old_file_and_no_temporary_file(
    fake_render: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "step.svg"
    out.write_text("the old picture", encoding="utf-8")
    out.chmod(0o640)

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", full_disk)
        result = invoke("snapshot", "conv_vertical_edge", "-o", str(out))
    assert result.exit_code == 1
    assert one_line(result.stderr) == f"Error: cannot write {out}: No space left on device"
    assert out.read_text(encoding="utf-8") == "the old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["step.svg"]

    result = invoke("snapshot", "conv_vertical_edge", "-o", str(out))
    assert result.exit_code == 0
    assert "step 0" in out.read_text(encoding="utf-8")
    assert out.stat().st_mode & 0o777 == 0o640  # the replaced file keeps its permissions
    assert [p.name for p in tmp_path.iterdir()] == ["step.svg"]


def test_check_reports_an_unexpected_error_in_one_line_and_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug while loading one file is that file's one line; the next file is still checked."""
    import scenarios

    load = scenarios.load

    def broken(path: Any, **kw: Any) -> Any:
        if "conv_vertical_edge" in str(path):
            raise ZeroDivisionError("integer division or modulo by zero")
        return load(path, **kw)

    monkeypatch.delenv("NETSIM_DEBUG", raising=False)
    monkeypatch.setattr(scenarios, "load", broken)
    result = invoke("check", "conv_vertical_edge", "pool_max_4x4")
    assert result.exit_code == 1
    assert one_line(result.stderr) == (
        "conv_vertical_edge: (file): netsim stopped on an unexpected error (ZeroDivisionError: "
        "integer division or modulo by zero); run again with NETSIM_DEBUG=1 to see where"
    )
    assert result.stdout.endswith("pool_max_4x4.toml: ok\n")


def test_main_turns_any_unexpected_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui import cli as cli_module

    def broken(**kw: Any) -> None:
        raise RuntimeError("drawing failed")

    monkeypatch.delenv("NETSIM_DEBUG", raising=False)
    monkeypatch.setattr(cli_module.cli, "main", broken)
    with pytest.raises(SystemExit) as info:
        cli_module.main(["list"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == (
        "Error: netsim stopped on an unexpected error (RuntimeError: drawing failed); run again "
        "with NETSIM_DEBUG=1 to see where\n"
    )
