"""Hostile scenario files: special and outside files, deep nesting, byte-order marks, keys of
another kind, numbers written as strings and huge inline arrays each end as clean one-line
errors, and `netsim check` goes on to the next file."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel, ValidationError

import scenarios
from scenarios import ScenarioError
from scenarios.build import _model_places
from scenarios.files import FileProblem, data_file, read_bytes
from scenarios.schema import FileModel, leaf_types
from scenarios.values import MAX_INLINE_NUMBERS, to_array
from tui.cli import cli

CONV = 'kind = "conv"\ntitle = "t"\ninput = [[1, 2], [3, 4]]\nkernel = [[1]]\n'
TOK = 'kind = "tokens"\ntitle = "t"\ntext = "cats nap"\n'


def write(folder: Path, text: str, name: str = "s.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    assert all("\n" not in line for line in info.value.lines())
    return info.value.problems


def one_problem(path: Path) -> tuple[str, str]:
    found = problems(path)
    assert len(found) == 1, found
    return found[0]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="netsim")


def _limit_memory() -> None:
    # Without the size checks, /dev/zero is read until memory runs out: fail fast instead.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run_check(*files: str | Path) -> subprocess.CompletedProcess[str]:
    """`netsim check FILES` in a child process bounded in time and memory, so that a file
    read without bound fails the test instead of the machine."""
    code = "import sys; from tui.cli import cli; cli(sys.argv[1:], prog_name='netsim')"
    return subprocess.run(
        [sys.executable, "-c", code, "check", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )


# -- special files ---------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_scenario_is_refused_unread(device: str) -> None:
    result = run_check(device)
    assert result.returncode == 1
    assert result.stderr == (
        f"{device}: (file): is a device, not a regular file; expected a .toml scenario file\n"
    )


def test_a_fifo_as_scenario_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    result = run_check(fifo)
    assert result.returncode == 1
    assert result.stderr == f"{fifo}: (file): is a FIFO (named pipe), not a regular file; " + (
        "expected a .toml scenario file\n"
    )


def test_a_fifo_as_corpus_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "corpus.txt")
    path = write(tmp_path, TOK + 'corpus_file = "corpus.txt"\n')
    result = run_check(path)
    assert result.returncode == 1
    assert "corpus_file: 'corpus.txt' is a FIFO (named pipe), not a regular file" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_check_survives_devices_and_goes_on(tmp_path: Path) -> None:
    good = write(tmp_path, CONV, "good.toml")
    result = run_check("/dev/zero", good, "/dev/urandom", good)
    assert result.returncode == 1
    assert result.stdout == f"{good}: ok\n{good}: ok\n"
    assert result.stderr.splitlines() == [
        f"{d}: (file): is a device, not a regular file; expected a .toml scenario file"
        for d in ("/dev/zero", "/dev/urandom")
    ]


def test_size_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scenarios.loader

    path = write(tmp_path, CONV + "# " + "x" * 200 + "\n")
    monkeypatch.setattr(scenarios.loader, "MAX_FILE_BYTES", 100)
    ((field, message),) = problems(path)
    assert field == "(file)" and "too large for a .toml scenario file" in message


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_reading_stops_at_the_limit_when_the_size_lies() -> None:
    # /proc files report size 0 but hold more: only limit + 1 bytes may be read.
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(FileProblem, match="grew while being read"):
        read_bytes(Path("/proc/self/status"), 16)


def test_a_corpus_file_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scenarios.kinds.tokens as tokens

    (tmp_path / "c.txt").write_text("cats nap " * 50, encoding="utf-8")
    monkeypatch.setattr(tokens, "MAX_CORPUS_BYTES", 100)
    field, message = one_problem(write(tmp_path, TOK + 'corpus_file = "c.txt"\n'))
    assert field == "corpus_file" and "too large" in message and "c.txt" in message


# -- data files stay in the scenario's folder ------------------------------------------------


@pytest.mark.parametrize(
    ("given", "words"),
    [
        pytest.param("/etc/passwd", "is an absolute path", id="absolute"),
        pytest.param("/proc/self/environ", "is an absolute path", id="environ"),
        pytest.param("../../../../../../etc/passwd", "leads outside", id="dot-dot"),
        pytest.param("../secret.txt", "leads outside", id="parent"),
        pytest.param("sub/../../secret.txt", "leads outside", id="through-sub"),
    ],
)
def test_data_files_outside_the_folder_are_refused(tmp_path: Path, given: str, words: str) -> None:
    (tmp_path / "secret.txt").write_text("private words", encoding="utf-8")
    (tmp_path / "scen" / "sub").mkdir(parents=True)
    field, message = one_problem(write(tmp_path / "scen", TOK + f'corpus_file = "{given}"\n'))
    assert field == "corpus_file"
    assert words in message and "inside the scenario file's folder" in message
    assert "private" not in message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_as_corpus_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    absolute = write(tmp_path, TOK + 'corpus_file = "/dev/zero"\n', "absolute.toml")
    linked = write(tmp_path, TOK + 'corpus_file = "zero.txt"\n', "linked.toml")
    result = run_check(absolute, linked)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert "'/dev/zero' is an absolute path" in lines[0]
    assert "'zero.txt' is a symbolic link leading outside" in lines[1]


def test_a_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("private words", encoding="utf-8")
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "c.txt").symlink_to(tmp_path / "secret.txt")
    field, message = one_problem(write(folder, TOK + 'corpus_file = "c.txt"\n'))
    assert field == "corpus_file"
    assert "'c.txt' is a symbolic link leading outside the scenario file's folder" in message


def test_files_inside_the_folder_still_load(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "c.txt").write_text("cats nap . dogs nap .", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "data" / "c.txt")
    for given in ("data/c.txt", "./data/../data/c.txt", "link.txt"):
        sim = scenarios.load(write(tmp_path, TOK + f'corpus_file = "{given}"\n'))
        assert len(sim) > 0


def test_the_bundled_data_folder_is_allowed(tmp_path: Path) -> None:
    from scenarios.datasets import DATA_DIR

    inside = os.path.relpath(DATA_DIR / "digits.npz", tmp_path)
    assert data_file(inside, tmp_path) == (DATA_DIR / "digits.npz").resolve()


@pytest.mark.parametrize("given", ["", "   "])
def test_an_empty_corpus_file_name_says_empty(tmp_path: Path, given: str) -> None:
    field, message = one_problem(write(tmp_path, TOK + f'corpus_file = "{given}"\n'))
    assert field == "corpus_file"
    assert message.startswith("is empty") and "directory" not in message


# -- nesting, byte-order marks ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("[" * 40 + "1" + "]" * 40, id="arrays-40"),
        pytest.param("[" * 400 + "1" + "]" * 400, id="arrays-400"),
        pytest.param("[" * 5000 + "1" + "]" * 5000, id="arrays-5000"),
        pytest.param("{a=" * 400 + "1" + "}" * 400, id="tables-400"),
        pytest.param("[1, " + "[" * 400 + "1" + "]" * 400 + "]", id="ragged-deep"),
    ],
)
def test_deep_nesting_is_one_line(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, 'kind = "conv"\ntitle = "t"\nkernel = [[1]]\ninput = ' + value + "\n")
    _, message = one_problem(path)
    assert "nested more than 32 levels deep" in message
    result = invoke("check", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CONV.encode())
    assert len(scenarios.load(path)) > 0


# -- unknown keys that belong elsewhere ------------------------------------------------------

SEQ = "input = [[1.0, 2.0]]\nhidden_size = 2\n"


@pytest.mark.parametrize(
    ("text", "key", "field", "owner"),
    [
        pytest.param(
            'kind = "bptt"\ntitle = "t"\n' + SEQ + "target = [1, 2]\n[weights]\nw_ya = [[1, 2]]\n",
            "w_ya",
            "weights.w_ya",
            "weights of kind 'recurrent'",
            id="w_ya",
        ),
        pytest.param(CONV + "size = 2\n", "size", "size", "kind 'pool'", id="size"),
        pytest.param(
            'kind = "recurrent"\ntitle = "t"\n' + SEQ + "num_layers = 2\n",
            "num_layers",
            "num_layers",
            "kind 'deep_recurrent'",
            id="num_layers",
        ),
        pytest.param(
            CONV.replace("[[1, 2], [3, 4]]", '{ data = "digits", index = 1, random = [2, 2] }'),
            "random",
            "input.random",
            "a random spec",
            id="random",
        ),
        pytest.param(
            'kind = "pipeline"\ntitle = "t"\ninput = [[1, 2]]\n'
            '[[stages]]\nop = "relu"\nstride = 2\n',
            "stride",
            "stages[0].stride",
            "kind 'conv'",
            id="op-stride",
        ),
    ],
)
def test_a_key_of_another_kind_says_where_it_belongs(
    tmp_path: Path, text: str, key: str, field: str, owner: str
) -> None:
    got_field, message = one_problem(write(tmp_path, text))
    assert got_field == field
    assert f"did you mean '{key}'" not in message
    assert f"{key} is a field of" in message and owner in message


def test_a_typo_is_suggested_from_the_keys_valid_here(tmp_path: Path) -> None:
    _, message = one_problem(write(tmp_path, CONV + "strid = 2\n"))
    assert message == "unknown key 'strid'; did you mean 'stride'?"
    _, message = one_problem(write(tmp_path, CONV + "colour = 2\n"))
    assert message.startswith("unknown key 'colour' for kind 'conv'; valid keys here: ")
    assert "stride" in message and "title" in message and "did you mean" not in message


# -- numbers are TOML numbers, everywhere ----------------------------------------------------


def every_model() -> list[type[BaseModel]]:
    return list(_model_places())


def numeric_fields() -> list[Any]:
    out = []
    for model in every_model():
        for name, info in model.model_fields.items():
            allowed = leaf_types(info.annotation) - {Any} | ({Any} & {info.annotation})
            if allowed & {int, float} or (Any in allowed and name not in model.text_values):  # type: ignore[attr-defined]
                out.append(pytest.param(model, name, id=f"{model.__name__}.{name}"))
    return out


def test_every_model_follows_the_file_rules() -> None:
    assert all(issubclass(m, FileModel) for m in every_model())


@pytest.mark.parametrize(("model", "name"), numeric_fields())
def test_a_quoted_number_is_refused_in_every_numeric_field(
    model: type[BaseModel], name: str
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate({name: "1"})
    mine = [e for e in info.value.errors() if e["loc"] == (name,)]
    assert len(mine) == 1, info.value.errors()
    assert f'got the string "1" (write {name} = 1)' in mine[0]["msg"]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        pytest.param(CONV + 'stride = "1"\n', "stride", "(write stride = 1)", id="stride"),
        pytest.param(CONV + 'padding = "1"\n', "padding", "(write padding = 1)", id="padding"),
        pytest.param(CONV + 'order = "3"\n', "order", "(write order = 3)", id="order"),
        pytest.param(
            CONV + 'stride = ["1", 2]\n', "stride", "(write stride = [1, 2])", id="stride-pair"
        ),
        pytest.param(
            CONV.replace("[[1, 2], [3, 4]]", '[[1, "2"], [3, 4]]'),
            "input",
            'entry [0][1] is the string "2", expected a number (write 2 without quotes)',
            id="inline-entry",
        ),
        pytest.param(
            CONV.replace("[[1, 2], [3, 4]]", '{ random = [2, 2], seed = "1" }'),
            "input.seed",
            "(write seed = 1)",
            id="random-seed",
        ),
        pytest.param(
            CONV.replace("[[1, 2], [3, 4]]", '{ random = ["2", 2] }'),
            "input.random",
            "(write random = [2, 2])",
            id="random-shape",
        ),
        pytest.param(
            'kind = "pipeline"\ntitle = "t"\ninput = [[1, 2]]\n'
            '[[stages]]\nop = "leaky_relu"\nnegative_slope = "0.1"\n',
            "stages[0].negative_slope",
            "(write negative_slope = 0.1)",
            id="op-slope",
        ),
        pytest.param(
            'kind = "language_model"\ntitle = "t"\nword = "ab"\ntemperature = true\n',
            "temperature",
            "valid number (got true)",
            id="bool-float",
        ),
        pytest.param(
            'kind = "language_model"\ntitle = "t"\nword = "ab"\nmax_length = true\n',
            "max_length",
            "valid integer (got true)",
            id="bool-int",
        ),
        pytest.param(CONV + "bias = true\n", "bias", "expected numbers, got true", id="bool-bias"),
        pytest.param(
            CONV.replace("[[1, 2], [3, 4]]", "[[1, true], [3, 4]]"),
            "input",
            "entry [0][1] is true, expected a number",
            id="bool-entry",
        ),
    ],
)
def test_numbers_written_otherwise_are_refused(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    got_field, message = one_problem(write(tmp_path, text))
    assert got_field == field
    assert words in message


def test_tables_and_text_are_not_numbers(tmp_path: Path) -> None:
    # Fields holding text or tables: a string there is a different mistake (or no mistake).
    assert len(scenarios.load(write(tmp_path, CONV.replace('"t"', '"1"')))) > 0
    text = 'kind = "pipeline"\ntitle = "t"\ninput = [[1, 2]]\nstages = "1"\n'
    field, message = one_problem(write(tmp_path, text))
    assert field == "stages" and "write" not in message


def test_names_are_still_names(tmp_path: Path) -> None:
    # A kernel preset or a padding mode is a string: only numbers written as strings are refused.
    text = CONV.replace("kernel = [[1]]", 'kernel = "identity"') + 'padding = "same"\n'
    assert len(scenarios.load(write(tmp_path, text))) > 0
    _, message = one_problem(write(tmp_path, CONV.replace("[[1]]", '"1"')))
    assert message.startswith("unknown kernel '1'")


# -- inline arrays ---------------------------------------------------------------------------


def test_inline_arrays_are_bounded_before_conversion(tmp_path: Path) -> None:
    rows = MAX_INLINE_NUMBERS // 1000 + 1
    row = "[" + ", ".join(["1"] * 1000) + "]"
    path = write(tmp_path, CONV.replace("[[1, 2], [3, 4]]", "[" + ", ".join([row] * rows) + "]"))
    field, message = one_problem(path)
    assert field == "input"
    assert f"{rows * 1000:,} numbers inline; the limit is {MAX_INLINE_NUMBERS:,}" in message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([[1, 2], [3]], "not rectangular: [1] is a row of 1 number where [0] is a row of 2"),
        ([[1, 2], 3], "not rectangular: [1] is a number where [0] is a row of 2 numbers"),
        ([[[1, 2], [3, 4]], [[1, 2]]], "[1] is a 1×2 block where [0] is a 2×2 block"),
        ([[1, 2, 3], [4, 5, 6], [7, 8]], "[2] is a row of 2 numbers where [0] is a row of 3"),
        ([[1, 2], []], "empty list at [1]"),
        ([1, "x"], "entry [1] is 'x', expected a number"),
        ([1, [2]], "not rectangular: [1] is a row of 1 number where [0] is a number"),
        ([1, 1e400], "must be finite"),
        ([1, 10**400], "too large for float64"),
        ([[[[[[[[[1]]]]]]]]], "more than 8 dimensions"),
    ],
)
def test_bad_inline_arrays_name_the_first_bad_entry(value: Any, words: str) -> None:
    with pytest.raises(ValueError) as info:
        to_array(value)
    assert words in str(info.value)


def test_inline_arrays_convert_exactly() -> None:
    value = [[[float(i * 7 + j * 3 + k) for k in range(5)] for j in range(4)] for i in range(3)]
    arr = to_array(value)
    assert arr.shape == (3, 4, 5) and arr.tolist() == value
    assert to_array([1, 2.5]).tolist() == [1.0, 2.5]
    assert to_array(3).shape == ()


def test_check_goes_on_after_every_kind_of_bad_file(tmp_path: Path) -> None:
    good = write(tmp_path, CONV, "good.toml")
    bad = [
        write(tmp_path, CONV.replace("[[1]]", "[" * 400 + "1" + "]" * 400), "deep.toml"),
        write(tmp_path, CONV + 'stride = "1"\n', "quoted.toml"),
        write(tmp_path, CONV + "num_layers = 2\n", "other_kind.toml"),
        write(tmp_path, TOK + 'corpus_file = "../x.txt"\n', "outside.toml"),
        write(tmp_path, TOK + 'corpus_file = ""\n', "empty.toml"),
        tmp_path,
    ]
    result = invoke("check", *(str(p) for f in bad for p in (f, good)))
    assert result.exit_code == 1
    assert result.stdout == f"{good}: ok\n" * len(bad)
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(f) for f in bad]
