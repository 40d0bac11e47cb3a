"""The `netsim` command line: every command, the trace formats, and every way a file can be bad."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

import scenarios
from engine import ConvStep
from tui import __version__
from tui import trace as tr
from tui.cli import cli

BUNDLED = [s.name for s in scenarios.bundled()]
BASE = 'kind = "conv"\ntitle = "A test scenario"\n'
INPUT_3x3 = "input = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\n"


def invoke(*args: str) -> Result:
    """Run `netsim ARGS...` in-process; an uncaught exception fails the test instead of exit 1."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="netsim")


def one_line(text: str) -> str:
    """The text, after checking it is exactly one newline-terminated line."""
    assert text.endswith("\n") and text.count("\n") == 1, f"expected one line, got {text!r}"
    return text[:-1]


def load(name: str) -> Any:
    return scenarios.load(scenarios.resolve(name))


def conv_step(sim: Any, i: int) -> ConvStep:
    step = sim.step(i)
    assert isinstance(step, ConvStep)
    return step


class FakeApp:
    """Stands in for tui.app.NetsimApp: records how it was made and whether it ran."""

    made: list[dict[str, Any]] = []
    ran = 0
    return_code = 0  # a clean exit, as after q

    def __init__(self, **kwargs: Any) -> None:
        FakeApp.made.append(kwargs)

    def run(self) -> None:
        FakeApp.ran += 1


@pytest.fixture
def fake_app(monkeypatch: pytest.MonkeyPatch) -> type[FakeApp]:
    """Replace the Textual app so that commands which open it can be tested headless."""
    FakeApp.made, FakeApp.ran = [], 0
    monkeypatch.setitem(sys.modules, "tui.app", types.SimpleNamespace(NetsimApp=FakeApp))
    return FakeApp


@pytest.fixture
def fake_render(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[Any, int, tuple[int, int], bool]]:
    """Replace tui.snapshot.render_svg with one that records its arguments."""
    calls: list[tuple[Any, int, tuple[int, int], bool]] = []

    def render_svg(sim: Any, step: int, size: tuple[int, int], *, reproducible: bool) -> str:
        calls.append((sim, step, size, reproducible))
        return f'<svg xmlns="http://www.w3.org/2000/svg"><!-- step {step} --></svg>'

    monkeypatch.setitem(sys.modules, "tui.snapshot", types.SimpleNamespace(render_svg=render_svg))
    return calls


# -- version, help, list ---------------------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"netsim {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


@pytest.mark.parametrize("command", [[], ["run"], ["list"], ["check"], ["trace"], ["snapshot"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: netsim")
    # Each help text says what the command is for in a full sentence, not just its options.
    description = result.stdout.split("\n\n")[1].strip()
    assert len(description) > 25 and description.endswith(".")
    assert invoke(*command, "-h").stdout == result.stdout


def test_list_groups_bundled_scenarios_by_topic() -> None:
    result = invoke("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    shipped = scenarios.bundled()
    for s in shipped:
        (line,) = [ln for ln in lines if ln.split()[:1] == [s.name]]
        assert line.startswith("  ") and line.rstrip().endswith(s.title)
        # Listed under its topic: the nearest unindented line above it.
        heading = next(ln for ln in reversed(lines[: lines.index(line)]) if ln and ln[0] != " ")
        assert heading == s.topic
    listed = [ln.split()[0] for ln in lines if ln.startswith("  ")]
    assert listed == [s.name for s in shipped]
    assert f"netsim {shipped[0].name}" in lines[-1]


# -- opening the app -------------------------------------------------------------------------


def test_no_argument_opens_the_browser(fake_app: type[FakeApp]) -> None:
    result = invoke()
    assert result.exit_code == 0
    assert fake_app.made == [{}] and fake_app.ran == 1


@pytest.mark.parametrize("prefix", [[], ["run"]], ids=["bare", "run"])
def test_file_opens_the_player(fake_app: type[FakeApp], prefix: list[str]) -> None:
    result = invoke(*prefix, "conv_vertical_edge")
    assert result.exit_code == 0, result.output
    (kwargs,) = fake_app.made
    sim = kwargs["simulation"]
    assert len(sim) == 16 and sim.title == "Vertical edge detection"
    assert fake_app.ran == 1


def test_bare_path_to_a_file_opens_the_player(
    fake_app: type[FakeApp], write_scenario: Callable[..., Any]
) -> None:
    path = write_scenario(BASE + INPUT_3x3 + 'kernel = "identity"\n')
    assert invoke(str(path)).exit_code == 0
    assert len(fake_app.made[0]["simulation"]) == 1


def test_file_named_like_a_command_typo_still_opens(
    fake_app: type[FakeApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    write_scenario: Callable[..., Any],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_scenario(BASE + INPUT_3x3 + 'kernel = "identity"\n', name="lst")
    assert invoke("lst").exit_code == 0
    assert fake_app.ran == 1


def test_command_typo_suggests_the_command(fake_app: type[FakeApp]) -> None:
    result = invoke("lst")
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "Did you mean 'list'?" in line
    assert fake_app.made == []


def test_unknown_name_is_a_missing_file(fake_app: type[FakeApp]) -> None:
    result = invoke("no_such_scenario")
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith("no_such_scenario: (file): no such file")
    assert "netsim list" in line
    assert fake_app.made == []


# -- check -----------------------------------------------------------------------------------


def test_check_every_bundled_scenario() -> None:
    result = invoke("check", *BUNDLED)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    expected = [f"{scenarios.resolve(name)}: ok" for name in BUNDLED]
    assert result.stdout.splitlines() == expected


def test_check_reports_good_and_bad_files(write_scenario: Callable[..., Any]) -> None:
    bad = write_scenario(BASE + INPUT_3x3 + 'kernel = "identity"\nstride = 0\n', "bad.toml")
    result = invoke("check", "conv_vertical_edge", str(bad), "conv_stride_2")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{scenarios.resolve('conv_vertical_edge')}: ok",
        f"{scenarios.resolve('conv_stride_2')}: ok",
    ]
    assert one_line(result.stderr).startswith(f"{bad}: stride: ")


def test_check_lists_every_problem_of_a_file(write_scenario: Callable[..., Any]) -> None:
    bad = write_scenario(
        'kind = "conv"\ntitle = 3\norder = "first"\nstrid = 2\n' + INPUT_3x3, "bad.toml"
    )
    result = invoke("check", str(bad))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["title", "order", "strid"]
    assert all(ln.startswith(f"{bad}: ") for ln in lines)


def test_check_without_files_is_a_usage_error() -> None:
    result = invoke("check")
    assert result.exit_code == 2
    assert "Missing argument" in one_line(result.stderr)


# -- every bad input, through every command --------------------------------------------------

# (file text, field the error names, words the message contains). None = no file at all.
BAD_FILES = [
    pytest.param(
        BASE + "input = [[1, 2], [3, 4]]\nkernel = = 1\n", "toml", "line 4", id="toml-syntax"
    ),
    pytest.param(
        'kind = "teleport"\ntitle = "t"\n', "kind", "unknown kind 'teleport'", id="unknown-kind"
    ),
    pytest.param('kind = "cnov"\ntitle = "t"\n', "kind", "did you mean 'conv'", id="kind-typo"),
    pytest.param('title = "t"\n' + INPUT_3x3, "kind", "missing", id="missing-kind"),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstrid = 2\n',
        "strid",
        "unknown key 'strid'; did you mean 'stride'?",
        id="unknown-key-close",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\ncolour = "red"\n',
        "colour",
        "unknown key 'colour'",
        id="unknown-key-far",
    ),
    pytest.param(
        'kind = "conv"\ntitle = 3\n' + INPUT_3x3 + 'kernel = "identity"\n',
        "title",
        "valid string (got 3)",
        id="title-not-a-string",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstride = "two"\n',
        "stride",
        "'two'",
        id="stride-not-a-number",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstride = 1.5\n',
        "stride",
        "integer",
        id="stride-fraction",
    ),
    pytest.param(
        BASE + 'input = [[1, 2], [3, 4]]\nkernel = "identity"\n',
        "kernel",
        "kernel 3×3 is larger than the padded input 2×2",
        id="kernel-larger-than-input",
    ),
    pytest.param(
        BASE + "input = [[1, 2], [3, 4]]\nkernel = { random = [5, 5] }\npadding = 1\n",
        "kernel",
        "larger than the padded input 4×4",
        id="kernel-larger-than-padded-input",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstride = 0\n', "stride", "≥ 1", id="stride-zero"
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstride = -2\n',
        "stride",
        "≥ 1",
        id="stride-negative",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nstride = [1, 0]\n',
        "stride",
        "[1, 0]",
        id="stride-pair-zero",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\npadding = -1\n',
        "padding",
        "≥ 0",
        id="padding-negative",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\npadding = "full"\n',
        "padding",
        "'full'",
        id="padding-unknown-word",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = [[1, 0], [0, -1]]\npadding = "same"\n',
        "padding",
        "odd kernel",
        id="same-with-even-kernel",
    ),
    pytest.param(
        BASE + 'input = { random = [7, 7] }\nkernel = "identity"\npadding = "same"\nstride = 2\n',
        "padding",
        "stride",
        id="same-with-stride-2",
    ),
    pytest.param(
        BASE + "input = { random = [3, 6, 6] }\nkernels = [{ random = [2, 3, 3] }]\n",
        "kernels",
        "2 channel(s) but the input has 3",
        id="channel-mismatch",
    ),
    pytest.param(
        BASE + "input = { random = [2, 6, 6] }\nkernels = { random = [4, 3, 3, 3] }\n",
        "kernels",
        "3 channel(s) but the input has 2",
        id="channel-mismatch-4d",
    ),
    pytest.param(
        BASE + 'input = [[1, 2, 3], [4, inf, 6], [7, 8, 9]]\nkernel = "identity"\n',
        "input",
        "finite",
        id="input-inf",
    ),
    pytest.param(
        BASE + INPUT_3x3 + "kernel = [[1, nan], [0, 1]]\n", "kernel", "finite", id="kernel-nan"
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nbias = -inf\n', "bias", "finite", id="bias-inf"
    ),
    pytest.param(
        BASE + 'input = { random = [3, 20000, 20000] }\nkernel = "identity"\n',
        "input.random",
        "GiB",
        id="input-over-1GiB",
    ),
    pytest.param(
        BASE + 'input = { random = [1, 12000, 12000] }\nkernel = "identity"\n',
        "input.random",
        "1.1 GiB",
        id="input-just-over-1GiB",
    ),
    pytest.param(
        BASE + 'input = { random = [1, 8000, 8000] }\nkernel = "identity"\n',
        "input",
        "GiB; the limit is 1 GiB",
        id="total-over-1GiB",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 6] }\nkernel = "identity"\npadding = 100000\n',
        "padding",
        "GiB",
        id="padding-over-1GiB",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 6] }\nkernel = "sobelx"\n',
        "kernel",
        "did you mean 'sobel_x'",
        id="unknown-preset",
    ),
    pytest.param(
        BASE + 'input = [[1, 2, 3], [4, 5]]\nkernel = "identity"\n',
        "input",
        "not rectangular",
        id="ragged-input",
    ),
    pytest.param(
        BASE + 'input = [[1, 2, 3], [4, "5", 6]]\nkernel = "identity"\n',
        "input",
        "expected a number",
        id="string-in-input",
    ),
    pytest.param(
        BASE + 'input = { random = [1, 1, 6, 6] }\nkernel = "identity"\n',
        "input",
        "2-D (H, W) or 3-D (C, H, W)",
        id="input-4d",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 6], sed = 1 }\nkernel = "identity"\n',
        "input.sed",
        "did you mean 'seed'",
        id="random-spec-typo",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 0] }\nkernel = "identity"\n',
        "input.random",
        "≥ 1",
        id="random-zero-dimension",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 6], low = 5, high = 1 }\nkernel = "identity"\n',
        "input",
        "low ≤ high",
        id="random-low-above-high",
    ),
    pytest.param(BASE + INPUT_3x3, "kernels", "missing", id="no-kernel"),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nkernels = ["identity"]\n',
        "kernels",
        "not both",
        id="kernel-and-kernels",
    ),
    pytest.param(
        BASE + INPUT_3x3 + 'kernel = "identity"\nbias = [1, 2]\n',
        "bias",
        "one per filter",
        id="bias-count",
    ),
    pytest.param(
        'kind = "conv"\n' + INPUT_3x3 + 'kernel = "identity"\n', "title", "missing", id="no-title"
    ),
    pytest.param(None, "(file)", "no such file", id="missing-file"),
    pytest.param("", "(file)", "is a directory", id="directory"),
    pytest.param(b"\xff\xfe not text", "(file)", "not UTF-8", id="not-utf8"),
    pytest.param(
        'kind = [1]\ntitle = "t"\n',
        "kind",
        "unknown kind",
        id="kind-not-a-string",
    ),
    pytest.param(
        BASE + 'input = { random = [6, 6], low = -inf }\nkernel = "identity"\n',
        "input",
        "finite",
        id="random-low-inf",
    ),
]

COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "check": lambda f, out: ["check", str(f)],
    "trace-text": lambda f, out: ["trace", str(f)],
    "trace-json": lambda f, out: ["trace", str(f), "--format", "json"],
    "snapshot": lambda f, out: ["snapshot", str(f), "-o", str(out / "shot.svg")],
    "run": lambda f, out: ["run", str(f)],
    "bare": lambda f, out: [str(f)],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("text", "field", "words"), BAD_FILES)
def test_bad_file(
    tmp_path: Path,
    fake_app: type[FakeApp],
    fake_render: list[Any],
    text: str | bytes | None,
    field: str,
    words: str,
    command: str,
) -> None:
    path = tmp_path / "bad.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text == "":
        path.mkdir()
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()

    started = time.perf_counter()
    result = invoke(*COMMANDS[command](path, out))
    elapsed = time.perf_counter() - started

    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith(f"{path}: {field}: "), line
    assert words in line
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert list(out.iterdir()) == [] and fake_render == []
    assert fake_app.made == []
    assert elapsed < 5, "refused too slowly: was something large allocated first?"


def test_bad_file_in_a_real_process_has_no_traceback(write_scenario: Callable[..., Any]) -> None:
    bad = write_scenario(BASE + 'input = { random = [3, 20000, 20000] }\nkernel = "identity"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "trace", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert one_line(proc.stderr).startswith(f"{bad}: input.random: ")


# -- trace: text -----------------------------------------------------------------------------

TEXT_LINE = re.compile(
    r"^step +(?P<step>\d+) of (?P<total>\d+)  (?P<stage>\w+)  "
    r"out\[(?P<f>\d+),(?P<r>\d+),(?P<c>\d+)\] = (?P<sum>.+) = (?P<value>\S+)   \((?P<where>.+)\)$"
)


def parse_text(stdout: str) -> list[re.Match[str]]:
    matches = [TEXT_LINE.match(line) for line in stdout.splitlines()]
    assert all(matches), stdout
    return [m for m in matches if m]


def test_trace_text_vertical_edge() -> None:
    result = invoke("trace", "conv_vertical_edge")
    assert result.exit_code == 0 and result.stderr == ""
    lines = parse_text(result.stdout)
    assert len(lines) == 16
    out = load("conv_vertical_edge").stages[0].output
    for i, m in enumerate(lines):
        f, r, c = int(m["f"]), int(m["r"]), int(m["c"])
        assert (int(m["step"]), int(m["total"])) == (i + 1, 16)  # steps count from 1
        assert (f, r, c) == (0, i // 4, i % 4)
        assert float(m["value"]) == out[f, r, c]
    assert lines[1]["sum"] == (
        "10·1 + 10·0 + 0·(-1) + 10·1 + 10·0 + 0·(-1) + 10·1 + 10·0 + 0·(-1) + bias 0"
    )
    assert lines[1]["value"] == "30"
    assert lines[1]["where"] == "window rows 0..2, cols 1..3"


def test_trace_text_shows_padding() -> None:
    (first,) = parse_text(invoke("trace", "conv_same_padding", "--steps", ":1").stdout)
    assert first["where"] == "window rows -1..1, cols -1..1; 5 of 9 cells are padding"
    assert first["value"] == "-20"


def test_trace_text_groups_channels() -> None:
    (m,) = parse_text(invoke("trace", "conv_rgb_volume", "--steps", "18").stdout)
    assert (m["f"], m["r"], m["c"]) == ("1", "0", "1")
    groups = re.findall(r"\((?:[^()]|\(-?[\d.]+\))*\)", m["sum"])
    assert len(groups) == 3 and all(g.count("·") == 9 for g in groups)
    assert m["sum"].endswith("+ bias 1") and m["value"] == "1"


def test_trace_text_is_exact(write_scenario: Callable[..., Any]) -> None:
    """Every operand and the value read back as the very floats the engine holds."""
    path = write_scenario(
        BASE + "input = { random = [5, 5], seed = 3, low = -1, high = 1, integer = false }\n"
        'kernel = "box_blur"\nbias = 0.1\n',
    )
    sim = scenarios.load(path)
    lines = parse_text(invoke("trace", str(path)).stdout)
    assert len(lines) == len(sim) == 9
    for i, m in enumerate(lines):
        step = conv_step(sim, i)
        assert step.window is not None and step.kernel is not None
        pairs = re.findall(r"\(?(-?[\d.e+-]+)\)?·\(?(-?[\d.e+-]+)\)?", m["sum"])
        assert [float(x) for x, _ in pairs] == step.window.ravel().tolist()
        assert [float(w) for _, w in pairs] == step.kernel.ravel().tolist()
        assert "0.1111111111111111" in m["sum"] and m["sum"].endswith(" + bias 0.1")
        assert float(m["value"]) == step.value


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "input = { random = [2, 8, 8] }\nkernel = { random = [2, 5, 5], seed = 1 }\n",
            r"^\[channel 0: -?[\d.]+\] \+ \[channel 1: -?[\d.]+\] \+ bias 0$",
        ),
        (
            "input = { random = [8, 8] }\nkernel = { random = [7, 7], seed = 1 }\n",
            r"^\[sum of 49 products: -?[\d.]+\] \+ bias 0$",
        ),
    ],
    ids=["channel-sums", "one-sum"],
)
def test_trace_text_large_kernels(
    write_scenario: Callable[..., Any], toml: str, expected: str
) -> None:
    path = write_scenario(BASE + toml)
    sim = scenarios.load(path)
    lines = parse_text(invoke("trace", str(path)).stdout)
    assert len(lines) == len(sim)
    for i, m in enumerate(lines):
        assert re.match(expected, m["sum"]), m["sum"]
        step = conv_step(sim, i)
        assert step.partial_sums is not None
        sums = [float(s) for s in re.findall(r": (-?[\d.]+)\]", m["sum"])]
        assert sums == (
            step.partial_sums.tolist() if len(sums) > 1 else [float(step.partial_sums.sum())]
        )


# -- trace: JSON Lines -----------------------------------------------------------------------


def trace_json(*args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = invoke("trace", *args, "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and all(isinstance(r, dict) for r in records)
    return records[0], records[1:]


CONV_BUNDLED = [n for n in BUNDLED if n.startswith("conv_")]


def tokens_run(stage: dict[str, Any]) -> np.ndarray:
    """A tokens stage's indices, re-tokenized in plain Python from the header (no torch op
    exists): each token's vocabulary index, <UNK>'s when it has none, then <EOS>'s; read back
    from dense one-hot rows."""
    text, vocab = stage["input"]["text"], stage["vocabulary"]["tokens"]
    if stage["hyperparameters"]["level"] == "char":
        tokens = list(text)
    else:
        tokens = re.findall(r"[^\W_]+(?:'[^\W_]+)*", text.lower())
    assert tokens == stage["input"]["tokens"]
    index = {tok: i for i, tok in enumerate(vocab)}
    ids = [index.get(tok, index["<UNK>"]) for tok in tokens] + [index["<EOS>"]]
    one_hots = np.eye(len(vocab))[ids]
    return one_hots.argmax(axis=1).astype(np.float64)


def language_model_run(stage: dict[str, Any]) -> np.ndarray:
    """A language_model stage's distributions (T, V): torch.nn.RNN fed zeros, then the one-hot
    of each character but the last, softmax(W_ya·a + b_y) / τ)."""
    import torch

    ids, hp = stage["input"]["ids"], stage["hyperparameters"]
    v = len(hp["vocabulary"])
    x = torch.zeros(len(ids), 1, v, dtype=torch.float64)
    for t in range(1, len(ids)):
        x[t, 0, ids[t - 1]] = 1.0
    assert x[:, 0].tolist() == stage["input"]["values"]
    p = {k: torch.tensor(w["values"], dtype=torch.float64) for k, w in stage["parameters"].items()}
    with torch.no_grad():
        rnn = torch.nn.RNN(v, hp["hidden_size"], dtype=torch.float64)
        for name, param in rnn.named_parameters():
            param.copy_(p[name])
        z = torch.nn.functional.linear(rnn(x)[0][:, 0], p["output.weight"], p["output.bias"])
        return torch.softmax(z / hp["temperature"], dim=-1).numpy()


def translation_run(stage: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """A translation stage from its header alone: the encoder's →h and ←h (Tx, H), s⟨0⟩, and
    the distributions (Ty, V). torch.nn.GRU
    (bidirectional) over the one-hot input, s⟨0⟩ = tanh(init·[→h⟨Tx⟩; ←h⟨1⟩]), then per output
    step additive attention, a GRUCell fed [one-hot of the previous output; c⟨t⟩] and
    softmax(out·[s⟨t⟩; c⟨t⟩]), teacher-forced on the output the trace records."""
    import torch

    hp = stage["hyperparameters"]
    p = {k: torch.tensor(w["values"], dtype=torch.float64) for k, w in stage["parameters"].items()}
    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)  # (Tx, Vx)
    h_size, vy = hp["hidden_size"], len(hp["vocabulary"])
    assert x.shape[1] == len(hp["input_vocabulary"])
    out: list[np.ndarray] = []
    with torch.no_grad():
        gru = torch.nn.GRU(x.shape[1], h_size, bidirectional=True, dtype=torch.float64)
        for name, param in gru.named_parameters():
            param.copy_(p[f"encoder.{name}"])
        h = gru(x[:, None])[0][:, 0]  # (Tx, 2H)
        s = s0 = torch.tanh(
            p["init.weight"] @ torch.cat([h[-1, :h_size], h[0, h_size:]]) + p["init.bias"]
        )
        cell = torch.nn.GRUCell(vy + 2 * h_size, 2 * h_size, dtype=torch.float64)
        for name, param in cell.named_parameters():
            param.copy_(p[f"decoder.{name}"])
        keys = h @ p["attention.w_h.weight"].T
        prev = torch.zeros(vy, dtype=torch.float64)
        for k in stage["output_ids"]:
            e = torch.tanh(p["attention.w_s.weight"] @ s + keys) @ p["attention.v.weight"][0]
            c = torch.softmax(e, 0) @ h
            s = cell(torch.cat([prev, c])[None], s[None])[0]
            z = p["out.weight"] @ torch.cat([s, c]) + p["out.bias"]
            out.append(torch.softmax(z, 0).numpy())
            prev = torch.nn.functional.one_hot(torch.tensor(k), vy).to(torch.float64)
    return h[:, :h_size].numpy(), h[:, h_size:].numpy(), s0.numpy(), np.array(out)


def translation_values(stage: dict[str, Any]) -> np.ndarray:
    """Each step's value: →h⟨t⟩[0] for t = 1 … Tx, ←h⟨t⟩[0] for t = Tx … 1, s⟨0⟩[0], then the
    probability of each output symbol written."""
    forward, backward, s0, dists = translation_run(stage)
    chosen = dists[np.arange(len(dists)), stage["output_ids"]]
    return np.concatenate([forward[:, 0], backward[::-1, 0], s0[:1], chosen])


def conv_run(stage: dict[str, Any]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)
    w = torch.tensor(stage["parameters"]["weight"]["values"], dtype=torch.float64)
    b = torch.tensor(stage["parameters"]["bias"]["values"], dtype=torch.float64)
    hp = stage["hyperparameters"]
    out = F.conv2d(x[None], w, b, stride=tuple(hp["stride"]), padding=tuple(hp["padding"]))
    return out[0].numpy()


def pool_run(stage: dict[str, Any]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x, hp = torch.tensor(stage["input"]["values"], dtype=torch.float64), stage["hyperparameters"]
    pool = F.max_pool2d if hp["mode"] == "max" else F.avg_pool2d
    return pool(x[None], tuple(hp["kernel_size"]), tuple(hp["stride"]))[0].numpy()


def activation_run(stage: dict[str, Any]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x, hp = torch.tensor(stage["input"]["values"], dtype=torch.float64), stage["hyperparameters"]
    fn = {
        "relu": F.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "leaky_relu": lambda t: F.leaky_relu(t, hp.get("negative_slope", 0.01)),
    }[hp["function"]]
    return fn(x).numpy()


RECOMPUTE: dict[str, Callable[[dict[str, Any]], np.ndarray]] = {
    "conv": conv_run,
    "pool": pool_run,
    "activation": activation_run,
    "tokens": lambda stage: tokens_run(stage),
    "language_model": lambda stage: language_model_run(stage),
    "learn_kernel": lambda stage: learn_run(stage)[0],
    "recurrent": lambda stage: recurrent_run(stage),
    "bptt": lambda stage: bptt_run(stage),
    "deep_recurrent": lambda stage: deep_recurrent_run(stage)[0],
    "translation": lambda stage: translation_run(stage)[3],
}
"""A stage's output from its trace description alone, with PyTorch's own ops (or plain Python
where no torch op exists), by stage kind: what an outside program reading the trace would do."""

STEP_VALUES: dict[str, Callable[[dict[str, Any], np.ndarray], np.ndarray]] = {
    # A learn_kernel step is one iteration, valued at its loss.
    "learn_kernel": lambda stage, out: learn_run(stage)[1],
    # A recurrent step is one time step, valued at its first hidden unit a⟨t⟩[0].
    "recurrent": lambda stage, out: out[:, 0],
    "deep_recurrent": lambda stage, out: deep_recurrent_run(stage)[1],
    # A language-model step is P(y⟨t⟩ | y⟨<t⟩) of the chosen token.
    "language_model": lambda stage, out: out[np.arange(len(out)), stage["input"]["ids"]],
    # A translation step is an encoder state's first unit, s⟨0⟩[0], or P of the symbol written.
    "translation": lambda stage, out: translation_values(stage),
}
"""Each step's value from a stage's recomputed output, for kinds whose steps are not simply one
per output number."""


def recompute(stage: dict[str, Any], sim: Any = None) -> np.ndarray:
    """A stage's output from its trace description alone. A kind no outside recomputation is
    written for yet falls back to the loaded stage's own PyTorch reference, so a new kind is
    still checked against torch."""
    run = RECOMPUTE.get(stage["kind"])
    if run is not None:
        return run(stage)
    assert sim is not None, f"no recomputation for kind {stage['kind']!r} and no simulation"
    return sim.stages[stage["number"]].reference()


def network_layer(op: str, args: dict[str, Any], xs: list[Any], p: dict[str, Any]) -> Any:
    """One layer of a network by PyTorch's functional ops, from its row of the trace."""
    import torch
    import torch.nn.functional as F

    x = xs[0]
    image = x[None] if x.dim() == 3 else x
    if op == "conv2d":
        return F.conv2d(
            image, p["weight"], p.get("bias"), args["stride"], args["padding"], 1, args["groups"]
        )[0]
    if op in ("maxpool2d", "avgpool2d"):
        pool = F.max_pool2d if op == "maxpool2d" else F.avg_pool2d
        return pool(image, args["kernel_size"], args["stride"], args["padding"])[0]
    if op == "adaptive_avgpool2d":
        return F.adaptive_avg_pool2d(image, args["output_size"])[0]
    if op == "batchnorm2d":
        return F.batch_norm(
            image,
            p["running_mean"],
            p["running_var"],
            p["weight"],
            p["bias"],
            False,
            eps=args["eps"],
        )[0]
    if op == "linear":
        return F.linear(x, p["weight"], p.get("bias"))
    return {
        "relu": F.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "leaky_relu": lambda t: F.leaky_relu(t, args.get("negative_slope", 0.01)),
        "flatten": torch.flatten,
        "dropout": lambda t: t,
        "softmax": lambda t: torch.softmax(t, 0),
        "add": lambda t: t + xs[1],
    }[op](x)


def network_run(stage: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """A network's trace: its records follow the layer table, and where the arrays are inline
    every layer recomputes, with PyTorch, from the outputs its inputs name."""
    import torch

    table = stage["layers"]
    assert [r["layer"] for r in records] == [row["name"] for row in table]
    assert [r["value"] for r in records] == [row["parameters"] for row in table]
    assert sum(row["parameters"] for row in table) == stage["parameters"]
    arrays = stage["arrays"]
    if arrays["where"] != "inline":
        return

    def tensor(v: Any) -> Any:
        return torch.tensor(v, dtype=torch.float64)

    values = {"input": tensor(arrays["input"])}
    for row, record in zip(table, records, strict=True):
        own = {
            k.rsplit(".", 1)[1]: tensor(v)
            for k, v in arrays["params"].items()
            if k.rsplit(".", 1)[0] == row["name"]
        }
        got = network_layer(row["op"], row["args"], [values[i] for i in row["inputs"]], own)
        want = tensor(record["output"])
        assert list(want.shape) == row["output_shape"]
        scale = 1e-12 if stage["dtype"] == "float64" else 1e-4
        torch.testing.assert_close(got, want, rtol=scale, atol=scale, msg=row["name"])
        values[row["name"]] = want


def learn_run(stage: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A learn_kernel stage's kernels after each iteration and the loss each one starts at,
    retrained from the header alone with PyTorch's autograd."""
    import torch
    import torch.nn.functional as F

    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)[:, None]
    hidden = torch.tensor(stage["hidden_kernel"]["values"], dtype=torch.float64)
    w = torch.tensor(stage["parameters"]["weight"]["values"], dtype=torch.float64)
    w = w[None, None].requires_grad_(True)
    y = F.conv2d(x, hidden[None, None])
    hp = stage["hyperparameters"]
    kernels, losses = [], []
    for _ in range(hp["iterations"]):
        loss = F.mse_loss(F.conv2d(x, w), y)
        loss.backward()
        with torch.no_grad():
            w -= hp["learning_rate"] * w.grad
            w.grad.zero_()  # type: ignore[union-attr]
        kernels.append(w.detach()[0, 0].numpy().copy())
        losses.append(loss.item())
    return np.array(kernels), np.array(losses)


def deep_recurrent_run(stage: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A deep_recurrent stage's top-layer output (T, D·H) from torch.nn's multi-layer module,
    and every step's value in the order of computation: each layer's sweeps, recomputed one
    layer at a time with one-layer modules, at their first unit, then ŷ⟨t⟩[0]."""
    import torch

    hp = stage["hyperparameters"]
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[hp["cell"]]
    size, layers, bi = hp["hidden_size"], hp["num_layers"], hp["bidirectional"]
    params = {
        k: torch.tensor(v["values"], dtype=torch.float64) for k, v in stage["parameters"].items()
    }
    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)[:, None]
    with torch.no_grad():
        whole = cls(
            hp["input_size"], size, num_layers=layers, bidirectional=bi, dtype=torch.float64
        )
        for name, p in whole.named_parameters():
            p.copy_(params[name])
        top = whole(x)[0][:, 0]
        values: list[float] = []
        below = x
        for layer in range(layers):
            one = cls(below.shape[2], size, bidirectional=bi, dtype=torch.float64)
            for name, p in one.named_parameters():
                p.copy_(params[name.replace("_l0", f"_l{layer}")])
            below = one(below)[0]
            values += below[:, 0, 0].tolist()
            if bi:
                values += below[:, 0, size].flip(0).tolist()
        if "output.weight" in params:
            y = torch.softmax(top @ params["output.weight"].T + params["output.bias"], dim=-1)
            values += y[:, 0].tolist()
    return top.numpy(), np.array(values)


def bptt_run(stage: dict[str, Any]) -> np.ndarray:
    """A bptt stage's ‖∂L/∂a⟨t⟩‖ in step order (t = T−1 first), from the header alone with
    torch.nn.RNN run one step at a time and autograd."""
    import torch

    hp = stage["hyperparameters"]
    module = torch.nn.RNN(hp["input_size"], hp["hidden_size"], dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(stage["parameters"][name]["values"], dtype=torch.float64))
    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)[:, None]
    y = torch.tensor(stage["target"]["values"], dtype=torch.float64)
    state = torch.tensor(stage["initial_state"]["a0"]["values"], dtype=torch.float64)[None, None]
    hs = []
    for t in range(x.shape[0]):
        state = module(x[t : t + 1], state)[1]
        state.retain_grad()
        hs.append(state)
    a = torch.stack([h[0, 0] for h in hs])
    err = a[-1] - y if hp["loss"] == "last" else a - y
    (0.5 * (err**2).sum()).backward()
    norms = [float(torch.linalg.vector_norm(h.grad)) for h in hs]  # type: ignore[arg-type]
    return np.array(norms[::-1])


def recurrent_run(stage: dict[str, Any]) -> np.ndarray:
    """A recurrent stage's hidden states (T, H), from the header alone with torch.nn's module."""
    import torch

    hp = stage["hyperparameters"]
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[hp["cell"]]
    module = cls(hp["input_size"], hp["hidden_size"], dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(stage["parameters"][name]["values"], dtype=torch.float64))
        x = torch.tensor(stage["input"]["values"], dtype=torch.float64)[:, None]
        init = stage["initial_state"]
        states = {
            k: torch.tensor(v["values"], dtype=torch.float64)[None, None] for k, v in init.items()
        }
        h0 = (states["a0"], states["c0"]) if hp["cell"] == "lstm" else states["a0"]
        return module(x, h0)[0][:, 0].numpy()


RTOL = {"bptt_exploding": 1e-10}
"""Scenarios whose rounding is amplified as much as what they show: bptt_exploding's forward
rounding grows going back like its gradient (×1e5), still ten times inside the badge's 1e-9."""


@pytest.mark.parametrize("name", BUNDLED)
def test_trace_json_recomputes_every_stage_with_torch(name: str) -> None:
    """Every stage of every bundled scenario, pipelines included, can be recomputed from the
    header, each stage's input is the previous stage's output, and the steps carry the values."""
    header, steps = trace_json(name)
    sim = load(name)
    assert header["steps"] == len(steps) == sum(st["steps"] for st in header["stages"])
    previous = None
    for k, stage in enumerate(header["stages"]):
        if stage["kind"] == "network":
            network_run(stage, [r for r in steps if r["stage_number"] == k])
            continue
        ref = recompute(stage, sim)
        assert list(ref.shape) == stage["output"]["shape"]
        rtol = RTOL.get(name, 1e-12)
        np.testing.assert_allclose(stage["output"]["values"], ref, rtol=rtol, atol=1e-12)
        # A pipeline's stages read one another's output; a search after a translation or a
        # caption reads the model, not an array, and has no input values.
        given = stage.get("input")
        if previous is not None and isinstance(given, dict) and "values" in given:
            assert given["values"] == previous
        previous = stage["output"]["values"]
        if stage["kind"] in STEP_VALUES:
            values = STEP_VALUES[stage["kind"]](stage, ref)
        elif stage["kind"] in RECOMPUTE:
            values = ref.reshape(-1)  # one step per output number
        else:
            stage_obj = sim.stages[k]
            values = np.array([stage_obj.step(i).value for i in range(len(stage_obj))])
        mine = [r for r in steps if r["stage_number"] == k]
        assert len(mine) == values.size == stage["steps"]
        assert [r["step"] for r in mine] == list(
            range(stage["offset"], stage["offset"] + values.size)
        )
        for rec in mine:
            assert rec["kind"] == stage["kind"] and rec["stage"] == stage["name"]
            expected = values[rec["index"]]
            assert rec["value"] == pytest.approx(expected, rel=rtol, abs=1e-12)


@pytest.mark.parametrize("name", CONV_BUNDLED)
def test_trace_json_recomputes_with_torch(name: str) -> None:
    """The header alone is enough to recompute every step's value with PyTorch."""
    import torch
    import torch.nn.functional as F

    header, steps = trace_json(name)
    assert header["type"] == "header"
    assert header["netsim_version"] == __version__
    assert header["source"] == str(scenarios.resolve(name))
    assert header["title"] == load(name).title
    assert header["steps"] == len(steps) == header["selected"]["count"]
    (stage,) = header["stages"]
    assert (stage["number"], stage["offset"], stage["kind"]) == (0, 0, "conv")
    assert stage["step_order"] == ["filter", "row", "col"]

    x = torch.tensor(stage["input"]["values"], dtype=torch.float64)
    w = torch.tensor(stage["parameters"]["weight"]["values"], dtype=torch.float64)
    b = torch.tensor(stage["parameters"]["bias"]["values"], dtype=torch.float64)
    hp = stage["hyperparameters"]
    assert list(x.shape) == stage["input"]["shape"] and list(w.shape[2:]) == hp["kernel_size"]
    stride, padding = tuple(hp["stride"]), tuple(hp["padding"])
    ref = F.conv2d(x[None], w, b, stride=stride, padding=padding)[0].numpy()
    assert list(ref.shape) == stage["output"]["shape"]
    assert ref.tolist() == recompute(stage).tolist()
    np.testing.assert_allclose(stage["output"]["values"], ref, rtol=1e-12, atol=1e-12)
    assert stage["steps"] == ref.size == len(steps)
    for axis, size in zip(("height", "width"), ref.shape[1:], strict=True):
        assert stage["output_size_formulas"][axis].endswith(f"= {size}")

    ph, pw = hp["padding"]
    x_pad = np.pad(np.array(stage["input"]["values"]), ((0, 0), (ph, ph), (pw, pw)))
    fh, fw = hp["kernel_size"]
    for g, rec in enumerate(steps):
        assert rec["type"] == "step" and rec["step"] == g
        assert (rec["stage"], rec["stage_number"], rec["kind"]) == ("conv", 0, "conv")
        assert rec["index"] == g - stage["offset"]
        f, r, c = rec["filter"], rec["row"], rec["col"]
        assert (f, r, c) == tuple(int(i) for i in np.unravel_index(g, ref.shape))
        assert rec["value"] == pytest.approx(ref[f, r, c], rel=1e-12, abs=1e-12)
        # The step's own operands explain its value, and sit where the header says.
        top, left = rec["top"], rec["left"]
        assert (top, left) == (r * hp["stride"][0] - ph, c * hp["stride"][1] - pw)
        window = np.array(rec["window"])
        expected = x_pad[:, top + ph : top + ph + fh, left + pw : left + pw + fw]
        assert window.tolist() == expected.tolist()
        assert rec["kernel"] == stage["parameters"]["weight"]["values"][f]
        np.testing.assert_allclose(rec["products"], window * np.array(rec["kernel"]))
        np.testing.assert_allclose(rec["partial_sums"], np.sum(rec["products"], axis=(1, 2)))
        assert rec["bias"] == stage["parameters"]["bias"]["values"][f]
        assert sum(rec["partial_sums"]) + rec["bias"] == pytest.approx(rec["value"])
        assert np.array(rec["padding_mask"]).shape == (fh, fw)


def test_trace_json_step_fields() -> None:
    _, steps = trace_json("conv_same_padding", "--steps", ":1")
    (rec,) = steps
    assert set(rec) == {
        "type", "step", "stage_number", "kind", "stage", "index", "value", "explanation",
        "filter", "row", "col", "top", "left", "window", "padding_mask", "kernel", "products",
        "partial_sums", "bias", "size_formulas",
    }  # fmt: skip
    assert rec["padding_mask"] == [[True, True, True], [True, False, False], [True, False, False]]
    assert rec["value"] == -20 and isinstance(rec["explanation"], str) and rec["explanation"]


# -- trace: --steps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (":3", [1, 2, 3]),
        ("14:", [14, 15, 16]),
        ("3:7", [3, 4, 5, 6, 7]),
        ("3:3", [3]),
        ("-2:", [15, 16]),
        (":-14", [1, 2, 3]),
        ("-3:-1", [14, 15, 16]),
        ("1:16", list(range(1, 17))),
        ("-16:", list(range(1, 17))),
        (":", list(range(1, 17))),
        ("5", [5]),
        ("1", [1]),
        ("-1", [16]),
        (" 2 : 4 ", [2, 3, 4]),
    ],
)
def test_steps_slice(spec: str, expected: list[int]) -> None:
    """--steps counts from 1 as the player does, both ends included; the text trace writes
    the same numbers, and JSON records keep their 0-based index (`step` = number − 1)."""
    text = parse_text(invoke("trace", "conv_vertical_edge", f"--steps={spec}").stdout)
    assert [int(m["step"]) for m in text] == expected
    header, steps = trace_json("conv_vertical_edge", f"--steps={spec}")
    assert [s["step"] + 1 for s in steps] == expected
    assert header["steps"] == 16
    assert header["selected"] == {
        "start": expected[0] - 1,
        "stop": expected[-1],
        "count": len(expected),
    }


def test_steps_negative_as_separate_argument() -> None:
    text = parse_text(invoke("trace", "conv_vertical_edge", "--steps", "-2:").stdout)
    assert [int(m["step"]) for m in text] == [15, 16]


def test_step_zero_names_the_valid_range() -> None:
    for spec in ("0", "0:3", ":0"):
        result = invoke("trace", "conv_vertical_edge", f"--steps={spec}")
        assert result.exit_code == 2 and result.stdout == ""
        line = one_line(result.stderr)
        assert "steps count from 1" in line and "numbered 1 to 16" in line, line


@pytest.mark.parametrize(
    "spec",
    ["a:b", "1:2:3", "0", "0:3", "7:3", "17:", ":17", "-17:", "17", "-17", "", "1.5:3", "x"],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_bad_steps_is_a_usage_error(spec: str, fmt: str) -> None:
    result = invoke("trace", "conv_vertical_edge", f"--steps={spec}", "--format", fmt)
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert "'--steps'" in line and "Traceback" not in line
    assert result.stdout == ""


def test_bad_format_is_a_usage_error() -> None:
    result = invoke("trace", "conv_vertical_edge", "--format", "xml")
    assert result.exit_code == 2
    assert "'xml'" in one_line(result.stderr)


# -- trace module on its own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (30.0, "30"),
        (-1.0, "-1"),
        (2.5, "2.5"),
        (1 / 9, "0.1111111111111111"),
        (1e20, "1e+20"),
        (-3e-7, "-3e-07"),
        (math.inf, "inf"),
    ],
)
def test_format_number(x: float, text: str) -> None:
    assert tr.format_number(x) == text
    if math.isfinite(x):
        assert float(text) == x


@pytest.mark.parametrize(
    ("spec", "total", "expected"),
    [
        (None, 5, range(5)),
        (":2", 5, range(2)),
        ("-1:", 5, range(4, 5)),
        ("1", 1, range(1)),
        ("2:4", 5, range(1, 4)),
    ],
)
def test_parse_steps(spec: str | None, total: int, expected: range) -> None:
    assert tr.parse_steps(spec, total) == expected


def test_jsonable_turns_arrays_into_lists() -> None:
    value = {"a": np.arange(4.0).reshape(2, 2), "b": np.float64(1.5), "c": (np.bool_(True),)}
    assert tr.jsonable(value) == {"a": [[0.0, 1.0], [2.0, 3.0]], "b": 1.5, "c": [True]}
    json.dumps(tr.jsonable(value))


def test_trace_lines_stream_lazily() -> None:
    """The lines are a generator: asking for the first does not compute the rest."""
    sim = load("conv_sobel_vs_scharr")
    lines = tr.json_lines(sim, range(len(sim)))
    assert json.loads(next(lines))["type"] == "header"
    assert json.loads(next(lines))["step"] == 0


# -- snapshot --------------------------------------------------------------------------------


def test_snapshot_writes_svg(tmp_path: Path) -> None:
    """Uses the real renderer (tui.snapshot)."""
    out = tmp_path / "shot.svg"
    result = invoke("snapshot", "conv_vertical_edge", "--step", "5", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert [p.name for p in tmp_path.iterdir()] == ["shot.svg"]


@pytest.mark.parametrize(
    ("args", "step", "size"),
    [
        # --step counts from 1 as the player does; the renderer gets the 0-based index.
        ([], 0, (120, 40)),
        (["--step", "1"], 0, (120, 40)),
        (["--step", "7"], 6, (120, 40)),
        (["--step", "16"], 15, (120, 40)),
        (["--step", "-1"], 15, (120, 40)),
        (["--step=-16"], 0, (120, 40)),
        (["--size", "80x24"], 0, (80, 24)),
        (["--size", "200X60"], 0, (200, 60)),
        (["--size", "40x12", "--step", "15"], 14, (40, 12)),
    ],
)
@pytest.mark.parametrize("reproducible", [False, True])
def test_snapshot_passes_step_size_and_reproducible(
    tmp_path: Path,
    fake_render: list[Any],
    args: list[str],
    step: int,
    size: tuple[int, int],
    reproducible: bool,
) -> None:
    out = tmp_path / "shot.svg"
    args = [*args, "--reproducible"] if reproducible else args
    result = invoke("snapshot", "conv_vertical_edge", *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    ((sim, got_step, got_size, got_reproducible),) = fake_render
    assert len(sim) == 16 and (got_step, got_size) == (step, size)
    assert got_reproducible is reproducible
    assert out.read_text(encoding="utf-8") == (
        f'<svg xmlns="http://www.w3.org/2000/svg"><!-- step {step} --></svg>'
    )


def test_snapshot_replaces_an_existing_file(tmp_path: Path, fake_render: list[Any]) -> None:
    out = tmp_path / "shot.svg"
    out.write_text("old")
    assert invoke("snapshot", "conv_vertical_edge", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("<svg")
    assert [p.name for p in tmp_path.iterdir()] == ["shot.svg"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--size", "120"], "'--size'"),
        (["--size", "0x40"], "'--size'"),
        (["--size", "abcxdef"], "'--size'"),
        (["--size", "120x40x3"], "'--size'"),
        (["--size", "39x40"], "'--size'"),
        (["--size", "120x11"], "'--size'"),
        (["--size", "501x40"], "'--size'"),
        (["--size", "120x201"], "'--size'"),
        (["--size=-120x40"], "'--size'"),
        (["--size", ""], "'--size'"),
        (["--step", "17"], "'--step'"),
        (["--step", "0"], "'--step'"),
        (["--step=-17"], "'--step'"),
        (["--step", "two"], "'--step'"),
    ],
)
def test_snapshot_bad_options(
    tmp_path: Path, fake_render: list[Any], args: list[str], needle: str
) -> None:
    result = invoke("snapshot", "conv_vertical_edge", *args, "-o", str(tmp_path / "shot.svg"))
    assert result.exit_code == 2
    assert needle in one_line(result.stderr)
    assert list(tmp_path.iterdir()) == [] and fake_render == []


def test_snapshot_step_zero_is_one_line_naming_the_range(
    tmp_path: Path, fake_render: list[Any]
) -> None:
    result = invoke("snapshot", "conv_vertical_edge", "--step", "0", "-o", str(tmp_path / "s.svg"))
    assert result.exit_code == 2 and fake_render == []
    line = one_line(result.stderr)
    assert "'--step'" in line and "steps count from 1" in line
    assert "16 steps, numbered 1 to 16" in line


def test_a_network_snapshot_step_is_its_layer(tmp_path: Path, fake_render: list[Any]) -> None:
    """For a whole network the player's steps are its layers: --step 1 is the first layer."""
    out = tmp_path / "net.svg"
    result = invoke("snapshot", "net_mlp_digits", "--step", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    ((sim, got_step, _, _),) = fake_render
    assert got_step == 0
    layers = len(sim)
    result = invoke("snapshot", "net_mlp_digits", "--step", "0", "-o", str(out))
    line = one_line(result.stderr)
    assert result.exit_code == 2 and "layers count from 1" in line
    assert f"the network has {layers} layers, numbered 1 to {layers}" in line


def test_snapshot_needs_an_output(fake_render: list[Any]) -> None:
    result = invoke("snapshot", "conv_vertical_edge")
    assert result.exit_code == 2
    assert "'-o' / '--output'" in one_line(result.stderr)


def test_snapshot_refuses_a_missing_folder(tmp_path: Path, fake_render: list[Any]) -> None:
    out = tmp_path / "no" / "such" / "shot.svg"
    result = invoke("snapshot", "conv_vertical_edge", "-o", str(out))
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert str(out) in line and "does not exist" in line
    assert list(tmp_path.iterdir()) == [] and fake_render == []


def test_snapshot_refuses_a_directory_as_output(tmp_path: Path, fake_render: list[Any]) -> None:
    result = invoke("snapshot", "conv_vertical_edge", "-o", str(tmp_path))
    assert result.exit_code == 1
    assert "is a directory" in one_line(result.stderr)
    assert list(tmp_path.iterdir()) == [] and fake_render == []


# -- the process: entry points and lazy imports ----------------------------------------------


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_python_m_tui() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout == f"netsim {__version__}\n"


def test_console_script() -> None:
    script = Path(sys.executable).with_name("netsim")
    if not script.exists():
        pytest.skip("netsim console script not installed next to this interpreter")
    proc = subprocess.run(
        [str(script), "check", "conv_vertical_edge"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.endswith(": ok\n")


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["check", "conv_rgb_volume"],
        ["trace", "conv_rgb_volume"],
        ["trace", "conv_rgb_volume", "--format", "json"],
        ["--help"],
    ],
    ids=lambda a: " ".join(a),
)
def test_headless_commands_do_not_import_textual_or_torch(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from tui.cli import cli\n"
        "try:\n"
        "    cli.main(args=sys.argv[1:], prog_name='netsim')\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch'))\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    proc = run_python(code, *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "[]"
    assert proc.stdout


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("conv_vertical", "'conv_vertical_edge' or 'learn_vertical_edge'"),
        ("lstm_gate", "'lstm_gates'"),
        ("beam", "'beam_greedy' or 'beam_names'"),
    ],
)
def test_a_name_close_to_a_bundled_one_is_suggested(
    given: str, suggested: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", given)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines == [
        f"{given}: (file): no such file, and no bundled scenario of that name; "
        f"did you mean {suggested}? (see netsim list)"
    ]


def test_a_name_close_to_nothing_points_to_the_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "zzzz")
    assert result.exit_code != 0
    assert result.output.strip().endswith("no bundled scenario of that name (see netsim list)")
