"""A translation scenario may read a translator of its own (``weights = "file.npz"``): a file
that works is used, with its record's accuracy; every file that does not is one line under
``weights`` naming the file and what is wrong, and nothing is built."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import scenarios
from scenarios.datasets import DATA_DIR
from scenarios.errors import ScenarioError

SHIPPED = DATA_DIR / "translator.npz"


def scenario(folder: Path, weights: str, text: str = "3 May 1979") -> Path:
    path = folder / "s.toml"
    path.write_text(
        f'kind = "translation"\ntitle = "t"\ntext = "{text}"\nweights = "{weights}"\n',
        encoding="utf-8",
    )
    return path


def one_problem(path: Path) -> tuple[str, str]:
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    assert all("\n" not in line for line in info.value.lines())
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def arrays() -> dict[str, np.ndarray]:
    with np.load(SHIPPED, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def test_a_copy_of_the_shipped_translator_translates_the_same(tmp_path: Path) -> None:
    shutil.copy(SHIPPED, tmp_path / "mine.npz")
    record = {"test_correct": 7, "test_count": 8}
    (tmp_path / "mine.json").write_text(json.dumps(record), encoding="utf-8")
    mine = scenarios.load(scenario(tmp_path, "mine.npz"))
    plain = tmp_path / "plain.toml"
    plain.write_text('kind = "translation"\ntitle = "t"\ntext = "3 May 1979"\n', encoding="utf-8")
    shipped = scenarios.load(plain)
    assert mine.stages[0].output_text == "1979-05-03"  # type: ignore[attr-defined]
    np.testing.assert_array_equal(mine.stages[0].output, shipped.stages[0].output)
    assert mine.stages[0].accuracy == "held-out exact match 7/8"  # type: ignore[attr-defined]
    assert mine.stages[0].check_against_torch() < 1e-9


def test_other_weights_give_other_numbers_and_the_search_uses_them(tmp_path: Path) -> None:
    w = arrays()
    w["out.bias"] = w["out.bias"] + np.float32(40.0) * (np.arange(12) == 5)  # favour '4'
    np.savez(tmp_path / "biased.npz", **w)
    sim = scenarios.load(scenario(tmp_path, "biased.npz"))
    translation, beam = sim.stages
    assert translation.accuracy is None  # type: ignore[attr-defined]  # no record beside it
    assert "4" in translation.output_text  # type: ignore[attr-defined]
    assert translation.output_text != "1979-05-03"  # type: ignore[attr-defined]
    best = beam.result.best  # type: ignore[attr-defined]
    assert abs(best.log_prob - float(beam.reference()[0])) < 1e-9
    np.testing.assert_allclose(beam.output, beam.reference(), atol=1e-9)
    retyped = beam.with_text("5 march 2003")  # type: ignore[attr-defined]
    assert retyped.decoder.translator is beam.decoder.translator  # type: ignore[attr-defined]


def test_sizes_that_do_not_fit_the_vocabulary_name_the_key_and_both_shapes(
    tmp_path: Path,
) -> None:
    w = arrays()
    w["output_chars"] = np.frombuffer(b"0123456789-/", np.uint8)  # 13 outputs, weights for 12
    np.savez(tmp_path / "mismatch.npz", **w)
    field, message = one_problem(scenario(tmp_path, "mismatch.npz"))
    assert field == "weights"
    assert message.startswith("mismatch.npz: ")
    assert "(192, 76)" in message and "(192, 77)" in message and "13-symbol output" in message


def test_a_missing_weight_is_named(tmp_path: Path) -> None:
    w = arrays()
    del w["out.bias"]
    np.savez(tmp_path / "missing.npz", **w)
    assert one_problem(scenario(tmp_path, "missing.npz")) == (
        "weights",
        "missing.npz: the weight 'out.bias' is missing",
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("junk.npz", b"not a zip archive", "is not an .npz file"),
        ("w.json", b"{}", "has the ending '.json'"),
        ("absent.npz", None, "no such file"),
    ],
)
def test_unreadable_files_are_one_line(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    field, message = one_problem(scenario(tmp_path, name))
    assert field == "weights" and expected in message and name in message


def test_a_file_outside_the_scenario_folder_is_not_read(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(SHIPPED, tmp_path / "outside.npz")
    field, message = one_problem(scenario(inner, "../outside.npz"))
    assert field == "weights" and "outside the scenario file's folder" in message
