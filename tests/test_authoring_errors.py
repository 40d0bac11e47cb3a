"""Authoring errors point at the fix: a key of another kind names that kind, an unknown or
missing kind names the kind meant (by spelling, by the course's words, or by the file's keys),
and every message is one line ``FILE: field: message`` with a non-zero exit and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import scenarios
from scenarios.errors import ScenarioError
from scenarios.loader import KIND_WORDS, nearest_kinds
from scenarios.registry import kinds
from tui.cli import cli

SEQ = "input = [[1.0, 0.0], [0.0, 1.0]]\nhidden_size = 2\n"
"""A sequence of two one-hot inputs and a hidden size: valid for both recurrent kinds."""


def check(path: Path) -> list[str]:
    """The lines ``netsim check`` prints for a bad file (asserting the exit and the form)."""
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    for line in lines:
        assert line.startswith(f"{path}: ")
    return lines


def problem(tmp_path: Path, text: str, field: str) -> str:
    """The message of the one problem about ``field`` that loading ``text`` reports."""
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    lines = [line for line in check(path) if line.startswith(f"{path}: {field}: ")]
    assert len(lines) == 1, lines
    return lines[0].removeprefix(f"{path}: {field}: ")


# -- keys of another kind ------------------------------------------------------------------------


def test_a_key_of_another_kind_names_that_kind_and_this_one(tmp_path: Path) -> None:
    text = f'kind = "recurrent"\ntitle = "t"\n{SEQ}num_layers = 2\n'
    message = problem(tmp_path, text, "num_layers")
    assert message.startswith(
        "unknown key 'num_layers': num_layers is a field of kind 'deep_recurrent', "
        "not of kind 'recurrent'; valid keys here: "
    )
    # The file loads once the kind is the one named.
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(text.replace('"recurrent"', '"deep_recurrent"'), encoding="utf-8")
    assert len(scenarios.load(fixed)) > 0


def test_a_misspelt_key_of_another_kind_is_suggested_with_its_kind(tmp_path: Path) -> None:
    text = f'kind = "recurrent"\ntitle = "t"\n{SEQ}num_layer = 2\n'
    message = problem(tmp_path, text, "num_layer")
    assert message.startswith(
        "unknown key 'num_layer'; did you mean 'num_layers'? "
        "(a field of kind 'deep_recurrent', not of kind 'recurrent'); valid keys here: "
    )


def test_a_key_valid_in_several_places_names_each_once(tmp_path: Path) -> None:
    message = problem(
        tmp_path,
        'kind = "conv"\ntitle = "t"\ninput = [[1, 2], [3, 4]]\nkernel = [[1]]\nsize = 2\n',
        "size",
    )
    assert "size is a field of" in message and "kind 'pool'" in message
    places = message.split("is a field of ", 1)[1].split(", not of", 1)[0]
    parts = [p.strip() for p in places.replace(" and ", ", ").split(", ")]
    assert len(parts) == len(set(parts)), places


# -- kinds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "meant", "how"),
    [
        ("recurent", "recurrent", ""),
        ("Deep-Recurrent", "deep_recurrent", "kinds are written in lower case"),
        ("CONV", "conv", "kinds are written in lower case"),
        ("convolution", "conv", ""),
        ("lstm", "recurrent", 'write kind = "recurrent" with cell = "lstm"'),
        ("GRU", "recurrent", 'write kind = "recurrent" with cell = "gru"'),
        ("cnn", "network", ""),
        ("attention", "translation", ""),
        ("beam", "beam_search", ""),
        ("language", "language_model", ""),
    ],
)
def test_an_unknown_kind_suggests_the_kind_meant(
    tmp_path: Path, given: str, meant: str, how: str
) -> None:
    message = problem(tmp_path, f'kind = "{given}"\ntitle = "t"\n', "kind")
    assert message.startswith(f"unknown kind '{given}'; did you mean '{meant}'")
    assert how in message
    assert message.endswith(", ".join(sorted(kinds()))) or message.endswith("…")


def test_an_unknown_kind_is_told_by_the_files_keys(tmp_path: Path) -> None:
    conv = 'title = "t"\ninput = [[1, 2], [3, 4]]\nkernel = [[1]]\n'
    message = problem(tmp_path, 'kind = "teleport"\n' + conv, "kind")
    assert "did you mean 'conv' (it takes the file's keys input, kernel)?" in message
    message = problem(tmp_path, conv, "kind")
    assert message.startswith('missing; did you mean kind = "conv" (it takes the file\'s keys')
    # Following the suggestion loads the file.
    fixed = tmp_path / "fixed.toml"
    fixed.write_text('kind = "conv"\n' + conv, encoding="utf-8")
    assert len(scenarios.load(fixed)) > 0


def test_keys_two_kinds_take_name_both(tmp_path: Path) -> None:
    message = problem(tmp_path, f'kind = "teleport"\ntitle = "t"\n{SEQ}cell = "gru"\n', "kind")
    assert "did you mean 'deep_recurrent' or 'recurrent' (each takes the file's keys" in message


@pytest.mark.parametrize("given", ["teleport", "3", "[1, 2]"])
def test_nothing_to_go_by_suggests_nothing(tmp_path: Path, given: str) -> None:
    value = given if given[0] in "3[" else f'"{given}"'
    message = problem(tmp_path, f'kind = {value}\ntitle = "t"\n', "kind")
    assert "did you mean" not in message
    assert "valid kinds: " in message


@pytest.mark.parametrize("word", sorted(KIND_WORDS))
def test_every_word_for_a_kind_leads_to_a_kind_that_loads(word: str) -> None:
    """Each word names a registered kind, and the field it says to set is one of that kind's."""
    meant, field = KIND_WORDS[word]
    assert meant in kinds()
    if field:
        key, _, value = field.partition(" = ")
        assert key in kinds()[meant].model.model_fields
        assert value.strip('"') == word
    assert nearest_kinds(word, {})[0] == [meant]


def test_a_suggested_kind_is_a_kind(tmp_path: Path) -> None:
    """Whatever is suggested is registered: following it gets past the kind."""
    for given in ["recurent", "lstm", "cnn", "Pool", "convolution", "deep"]:
        near, _ = nearest_kinds(given, {})
        assert near and set(near) <= set(kinds()), given
        path = tmp_path / "s.toml"
        path.write_text(f'kind = "{near[0]}"\ntitle = "t"\n', encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            scenarios.load(path)
        assert "kind" not in dict(info.value.problems), given
