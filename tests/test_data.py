"""The shipped data sets: the .npz files, data specs in scenarios, and their one-line errors."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import scenarios
from engine.conv import ConvStage
from scenarios import datasets as data
from tui.cli import cli

CONV = 'kind = "conv"\ntitle = "t"\nkernel = "sobel_x"\n'
NAMES = ["square", "circle", "stripes_vertical", "stripes_horizontal", "checkerboard", "diagonal"]


# -- the files ---------------------------------------------------------------------------------


def test_digits_file() -> None:
    with np.load(data.DATA_DIR / "digits.npz", allow_pickle=False) as npz:
        assert npz.files == ["images", "labels", "train_index", "test_index"]
        images, labels = npz["images"], npz["labels"]
        train, test = npz["train_index"], npz["test_index"]
    assert images.dtype == np.uint8 and images.shape == (1797, 8, 8)
    assert labels.dtype == np.uint8 and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16
    assert set(labels.tolist()) == set(range(10))
    # the split: every digit in exactly one part, the first 300 (shipped before) the test part
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))
    np.testing.assert_array_equal(test, np.arange(300))
    assert set(labels[test].tolist()) == set(labels[train].tolist()) == set(range(10))


def test_images_file() -> None:
    with np.load(data.DATA_DIR / "images.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    assert list(arrays) == NAMES
    for name, arr in arrays.items():
        assert arr.dtype == np.float64 and arr.shape == (24, 24), name
        assert set(np.unique(arr).tolist()) == {0.0, 1.0}, name


@pytest.mark.parametrize("name", ["digits", "images"])
def test_files_are_small_plain_arrays(name: str) -> None:
    path = data.DATA_DIR / f"{name}.npz"
    assert path.stat().st_size < 100_000
    with zipfile.ZipFile(path) as zf:
        assert all(n.endswith(".npy") for n in zf.namelist())


def test_data_module() -> None:
    assert data.digit_count() == 1797
    seven = data.digit(173)
    assert seven.dtype == np.float64 and seven.shape == (8, 8)
    assert data.digit_label(173) == 7
    assert data.image_names() == NAMES
    square = data.image("square")
    assert square.dtype == np.float64 and square.shape == (24, 24)
    square[0, 0] = 5  # a copy: the cached array is untouched
    assert data.image("square")[0, 0] == 0
    with pytest.raises(data.DataError, match="0–1796"):
        data.digit_label(1797)


# -- data specs in scenarios ---------------------------------------------------------------------


def test_digit_as_input(write_scenario: Callable[..., Any]) -> None:
    sim = scenarios.load(write_scenario(CONV + 'input = { data = "digits", index = 7 }\n'))
    (stage,) = sim.stages
    assert isinstance(stage, ConvStage)
    np.testing.assert_array_equal(stage.x, data.digit(7)[None])
    assert stage.output.shape == (1, 6, 6)


def test_image_as_input_in_a_pipeline(write_scenario: Callable[..., Any]) -> None:
    sim = scenarios.load(
        write_scenario(
            'kind = "pipeline"\ntitle = "t"\ninput = { data = "images", name = "checkerboard" }\n'
            '[[stages]]\nop = "conv"\nkernel = "laplacian"\n[[stages]]\nop = "maxpool"\n',
        )
    )
    conv, pool = sim.stages
    assert isinstance(conv, ConvStage)
    np.testing.assert_array_equal(conv.x, data.image("checkerboard")[None])
    assert pool.output.shape == (1, 11, 11)


def test_bundled_scenarios_use_the_data() -> None:
    cnn = scenarios.load(scenarios.resolve("cnn_conv_relu_pool"))
    conv = cnn.stages[0]
    assert isinstance(conv, ConvStage)
    np.testing.assert_array_equal(conv.x, data.digit(173)[None])
    edges = scenarios.load(scenarios.resolve("conv_edges_on_shapes"))
    assert edges.stages[0].output.shape == (2, 22, 22)


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        pytest.param(
            '{ data = "digit", index = 7 }',
            "input.data",
            "unknown data set 'digit'; did you mean 'digits'? valid: digits, images",
            id="unknown-data-set",
        ),
        pytest.param(
            '{ data = "digits", index = 1797 }',
            "input.index",
            "index 1797 is out of range: digits has 1797 images, 0–1796",
            id="index-out-of-range",
        ),
        pytest.param(
            '{ data = "digits", index = -1 }',
            "input.index",
            "index must be ≥ 0, got -1",
            id="negative-index",
        ),
        pytest.param(
            '{ data = "digits", index = 7.0 }', "input.index", "valid integer", id="float-index"
        ),
        pytest.param('{ data = "digits" }', "input.index", "missing", id="digits-without-index"),
        pytest.param(
            '{ data = "digits", name = "seven" }',
            "input.name",
            "digits are chosen by index, not name",
            id="digits-by-name",
        ),
        pytest.param(
            '{ data = "digits", index = 7, name = "seven" }',
            "input.name",
            "chosen by index",
            id="digits-both",
        ),
        pytest.param(
            '{ data = "images", name = "cirle" }',
            "input.name",
            "unknown image 'cirle'; did you mean 'circle'?",
            id="unknown-image",
        ),
        pytest.param('{ data = "images" }', "input.name", "missing", id="images-without-name"),
        pytest.param(
            '{ data = "images", index = 1 }',
            "input.index",
            "images are chosen by name, not index",
            id="images-by-index",
        ),
        pytest.param(
            '{ data = "images", index = 1, name = "circle" }',
            "input.index",
            "chosen by name",
            id="images-both",
        ),
        pytest.param(
            '{ data = "digits", idx = 7 }',
            "input.idx",
            "unknown key 'idx'; did you mean 'index'?",
            id="key-typo",
        ),
    ],
)
def test_bad_data_spec(
    scenario_problems: Callable[..., Any], spec: str, field: str, words: str
) -> None:
    found = scenario_problems(CONV + f"input = {spec}\n")
    assert len(found) == 1, found
    got_field, message = found[0]
    assert got_field == field, found
    assert words in message, found


def test_bad_data_spec_in_a_kernel(scenario_problems: Callable[..., Any]) -> None:
    found = scenario_problems(
        'kind = "conv"\ntitle = "t"\ninput = { random = [9, 9] }\n'
        'kernels = ["sobel_x", { data = "digits", index = 1999 }]\n',
    )
    assert found == [
        ("kernels[1].index", "index 1999 is out of range: digits has 1797 images, 0–1796")
    ]


def test_check_prints_one_line_for_an_index_out_of_range(
    write_scenario: Callable[..., Any],
) -> None:
    bad = write_scenario(CONV + 'input = { data = "digits", index = 1797 }\n')
    result = CliRunner().invoke(cli, ["check", str(bad)], prog_name="netsim")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{bad}: input.index: index 1797 is out of range: digits has 1797 images, 0–1796\n"
    )
