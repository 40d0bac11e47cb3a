"""scenarios.load, bundled() and resolve(): the bundled files teach the right numbers, bad files
are refused with ``FILE: field: message`` lines."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scenarios
from engine import KERNELS, ConvStage
from scenarios.errors import ScenarioError, field_path
from scenarios.values import RandomSpec

BASE = 'kind = "conv"\ntitle = "A test scenario"\n'
EDGE_IMAGE = np.array([[10, 10, 10, 0, 0, 0]] * 6, dtype=float)  # bright left, dark right
ERROR_LINE = re.compile(r"^(?P<file>.+?): (?P<field>[A-Za-z_(][\w.\[\]()]*): (?P<message>\S.*)$")


def conv(name: str) -> ConvStage:
    stage = scenarios.load(scenarios.resolve(name)).stages[0]
    assert isinstance(stage, ConvStage)
    return stage


def corr2d(x: np.ndarray, k: np.ndarray, stride: int = 1) -> np.ndarray:
    """Cross-correlation of one channel, written out loop by loop (the textbook definition)."""
    h, w = k.shape
    out = np.zeros(((x.shape[0] - h) // stride + 1, (x.shape[1] - w) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i * stride : i * stride + h, j * stride : j * stride + w] * k).sum()
    return out


# -- the bundled scenarios teach the right numbers -------------------------------------------


@pytest.mark.parametrize("shipped", scenarios.bundled(), ids=lambda s: s.name)
def test_bundled_scenario_loads_and_matches_torch(shipped: scenarios.BundledScenario) -> None:
    sim = scenarios.load(shipped.path)
    assert sim.title == shipped.title and sim.topic == shipped.topic
    assert sim.description.strip() == shipped.description
    assert sim.source == str(shipped.path)
    assert len(sim) == sum(len(s) for s in sim.stages) > 0
    for stage in sim.stages:
        scale = max(1.0, float(np.max(np.abs(stage.output))))
        if stage.tolerance() > 1e-9:  # a float32 network: rounding relative to its scale
            assert stage.check_against_torch() <= stage.tolerance() * scale
        elif shipped.name == "bptt_exploding":
            # The forward pass's rounding grows going back like the gradient (×1e5 here), so
            # only a bound relative to the largest ‖δ⟨t⟩‖ holds on every BLAS; still 1e-9 / 10.
            assert stage.check_against_torch() <= 1e-10 * scale
        else:
            assert stage.check_against_torch() < 1e-12


def test_vertical_edge() -> None:
    stage = conv("conv_vertical_edge")
    np.testing.assert_array_equal(stage.x[0], EDGE_IMAGE)
    np.testing.assert_array_equal(stage.weight[0, 0], [[1, 0, -1]] * 3)
    assert stage.output.shape == (1, 4, 4) and len(stage) == 16
    np.testing.assert_array_equal(stage.output[0], [[0, 30, 30, 0]] * 4)
    assert stage.size_formulas() == ("⌊(6 + 2·0 − 3)/1⌋ + 1 = 4",) * 2
    assert stage.parameter_count == 10


def test_same_padding_keeps_the_size() -> None:
    stage = conv("conv_same_padding")
    assert stage.x.shape == (1, 6, 6) and stage.output.shape == (1, 6, 6)
    assert stage.padding == (1, 1)
    inner = corr2d(np.pad(EDGE_IMAGE, 1), stage.weight[0, 0])
    np.testing.assert_array_equal(stage.output[0], inner)
    # The border column sees the padding zeros: 0 − 10 per row, two rows at the corners.
    np.testing.assert_array_equal(stage.output[0, :, 0], [-20, -30, -30, -30, -30, -20])
    np.testing.assert_array_equal(stage.output[0, 1:-1, 1:-1], [[0, 30, 30, 0]] * 4)


def test_stride_2() -> None:
    stage = conv("conv_stride_2")
    assert stage.x.shape == (1, 7, 7) and stage.stride == (2, 2)
    assert stage.output.shape == (1, 3, 3) and len(stage) == 9
    assert stage.size_formulas()[0] == "⌊(7 + 2·0 − 3)/2⌋ + 1 = 3"
    np.testing.assert_array_equal(stage.output[0], corr2d(stage.x[0], stage.weight[0, 0], 2))
    # Whole numbers 0..9, so a person can redo the first window by hand: 82.
    assert set(np.unique(stage.x)) <= set(range(10))
    assert stage.output[0, 0, 0] == 82


def test_sobel_vs_scharr() -> None:
    stage = conv("conv_sobel_vs_scharr")
    assert stage.filters == 2 and stage.weight.shape == (2, 1, 3, 3)
    np.testing.assert_array_equal(stage.weight[0, 0], KERNELS["sobel_x"].array())
    np.testing.assert_array_equal(stage.weight[1, 0], KERNELS["scharr_x"].array())
    sobel, scharr = stage.output
    assert sobel.shape == scharr.shape == (6, 6)
    # Left and right sides of the square answer with opposite signs; Scharr answers louder.
    assert (sobel[:, :2] < 0).all() and (sobel[:, -2:] > 0).all()
    np.testing.assert_array_equal(sobel, -sobel[:, ::-1])
    assert np.abs(sobel).max() == 36 and np.abs(scharr).max() == 144
    assert (np.abs(scharr) >= np.abs(sobel)).all()


def test_rgb_volume() -> None:
    stage = conv("conv_rgb_volume")
    assert stage.x.shape == (3, 6, 6) and stage.weight.shape == (2, 3, 3, 3)
    assert stage.output.shape == (2, 4, 4) and len(stage) == 32
    # A flat 3×3 preset is applied to every channel of the input.
    for c in range(3):
        np.testing.assert_array_equal(stage.weight[0, c], KERNELS["vertical_edge"].array())
        np.testing.assert_array_equal(stage.weight[1, c], KERNELS["horizontal_edge"].array())
    np.testing.assert_array_equal(stage.bias, [0, 1])
    np.testing.assert_array_equal(stage.output[0], [[0, 30, 30, 0]] * 4)
    np.testing.assert_array_equal(stage.output[1], [[1] * 4, [31] * 4, [31] * 4, [1] * 4])
    assert stage.parameter_count == 2 * (3 * 3 * 3 + 1)


# -- bundled() and resolve() -----------------------------------------------------------------


def test_bundled_order_and_topics() -> None:
    shipped = scenarios.bundled()
    names = [s.name for s in shipped]
    foundation = [
        "conv_vertical_edge",
        "conv_same_padding",
        "conv_stride_2",
        "conv_sobel_vs_scharr",
        "conv_rgb_volume",
    ]
    assert [n for n in names if n in foundation] == foundation
    assert names.index("pool_max_4x4") < names.index("cnn_conv_relu_pool")
    assert all(s.topic in scenarios.TOPICS for s in shipped)
    ranks = [(scenarios.TOPICS.index(s.topic), s.order) for s in shipped]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks), "two scenarios of one topic share an order"
    # the recurrent scenarios follow the curriculum: a step, BPTT, architectures, language
    # models, then GRU, LSTM, bidirectional and deep
    recurrent = [n for n in names if n.startswith(("rnn_", "bptt_", "lm_", "gru_", "lstm_"))]
    firsts = ["rnn_step", "bptt_vanishing", "rnn_one_to_one", "lm_score_name", "gru_gates"]
    assert [recurrent.index(n) for n in firsts] == sorted(recurrent.index(n) for n in firsts)
    assert recurrent[-2:] == ["rnn_bidirectional", "rnn_deep"]
    for s in shipped:
        assert s.path.is_file() and s.path.stem == s.name
        assert s.title and s.description and s.description == s.description.strip()


def test_resolve_bundled_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    expected = scenarios.BUNDLED_DIR / "conv_vertical_edge.toml"
    assert scenarios.resolve("conv_vertical_edge") == expected
    assert scenarios.resolve("conv_vertical_edge.toml") == expected
    assert scenarios.resolve(Path("conv_vertical_edge")) == expected


def test_resolve_prefers_a_real_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("conv_vertical_edge.toml").write_text("local copy")
    assert scenarios.resolve("conv_vertical_edge.toml") == Path("conv_vertical_edge.toml")
    mine = tmp_path / "mine.toml"
    mine.write_text("")
    assert scenarios.resolve(str(mine)) == mine


def test_resolve_leaves_unknown_paths_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert scenarios.resolve("nope") == Path("nope")
    # A bundled name inside some folder is a path, not a bundled scenario.
    assert scenarios.resolve("sub/conv_vertical_edge") == Path("sub/conv_vertical_edge")


# -- value forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_preset_loads(load_text: Callable[..., Any], name: str) -> None:
    sim = load_text(BASE + f'input = {{ random = [5, 5] }}\nkernel = "{name}"\n')
    stage = sim.stages[0]
    assert isinstance(stage, ConvStage)
    np.testing.assert_array_equal(stage.weight[0, 0], KERNELS[name].array())
    assert KERNELS[name].array().shape == (3, 3)


def test_random_specs_are_seeded(load_text: Callable[..., Any]) -> None:
    spec = BASE + 'input = { random = [2, 5, 5], seed = %d }\nkernel = "identity"\n'
    a = load_text(spec % 1, "a.toml").stages[0]
    b = load_text(spec % 1, "b.toml").stages[0]
    c = load_text(spec % 2, "c.toml").stages[0]
    assert isinstance(a, ConvStage) and isinstance(b, ConvStage) and isinstance(c, ConvStage)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert a.x.min() >= 0 and a.x.max() <= 9 and (a.x == np.round(a.x)).all()


def test_random_floats(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        BASE + "input = { random = [6, 6], low = -1, high = 1, integer = false }\n"
        'kernel = "box_blur"\n',
    )
    x = sim.stages[0].x  # type: ignore[attr-defined]
    assert x.min() >= -1 and x.max() < 1 and (x != np.round(x)).any()


def test_kernels_as_one_4d_random_array(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        BASE + "input = { random = [3, 6, 6] }\nkernels = { random = [4, 3, 3, 3], seed = 5 }\n"
        "bias = 2\n",
    )
    stage = sim.stages[0]
    assert isinstance(stage, ConvStage)
    assert stage.weight.shape == (4, 3, 3, 3) and stage.output.shape == (4, 4, 4)
    np.testing.assert_array_equal(stage.bias, [2, 2, 2, 2])


def test_inline_3d_kernel_and_pair_settings(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        BASE + "input = { random = [2, 7, 9] }\n"
        "kernel = [[[1, 0], [0, 1]], [[0, 1], [1, 0]]]\n"
        "stride = [1, 2]\npadding = [1, 2]\n",
    )
    stage = sim.stages[0]
    assert isinstance(stage, ConvStage)
    assert stage.stride == (1, 2) and stage.padding == (1, 2)
    # ⌊(7 + 2 − 2)/1⌋ + 1 = 8 rows, ⌊(9 + 4 − 2)/2⌋ + 1 = 6 columns.
    assert stage.output.shape == (1, 8, 6)
    assert stage.check_against_torch() < 1e-12


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (BASE + "input = [[1, 2]\n", "toml"),
        ('kind = "conv2d"\ntitle = "t"\n', "kind"),
        (BASE + 'input = { random = [6, 6] }\nkernel = "identity"\nstrid = 2\n', "strid"),
        (BASE + 'input = { random = [6, 6], sed = 2 }\nkernel = "identity"\n', "input.sed"),
        (
            BASE
            + 'input = { random = [6, 6] }\nkernels = ["identity", { random = [3, 3], sed = 1 }]\n',
            "kernels[1].sed",
        ),
        (BASE + 'input = { random = [6, 6] }\nkernel = "identity"\nstride = 0\n', "stride"),
        (BASE + "input = { random = [3, 6, 6] }\nkernels = [{ random = [2, 3, 3] }]\n", "kernels"),
    ],
)
def test_error_lines_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    err = info.value
    assert err.path == str(path)
    (line,) = err.lines()
    m = ERROR_LINE.match(line)
    assert m, line
    assert (m["file"], m["field"]) == (str(path), field)
    assert str(err) == line


def test_every_problem_is_reported_at_once(scenario_problems: Callable[..., Any]) -> None:
    found = scenario_problems('kind = "conv"\ntitle = 3\norder = "x"\nstrid = 2\ninput = [[1]]\n')
    assert [field for field, _ in found] == ["title", "order", "strid"]
    assert "did you mean 'stride'" in found[2][1]


def test_error_lines_are_single_lines() -> None:
    err = ScenarioError("f.toml", [("a.b", "first\n   second"), ("c", "x")])
    assert err.lines() == ["f.toml: a.b: first second", "f.toml: c: x"]
    assert str(err) == "f.toml: a.b: first second\nf.toml: c: x"


@pytest.mark.parametrize(
    ("loc", "text"),
    [((), "(file)"), (("title",), "title"), (("kernels", 1, "seed"), "kernels[1].seed")],
)
def test_field_path(loc: tuple[str | int, ...], text: str) -> None:
    assert field_path(loc) == text


def test_toml_syntax_error_gives_the_line(scenario_problems: Callable[..., Any]) -> None:
    ((field, message),) = scenario_problems(BASE + "input = [[1]]\nkernel = = 1\n")
    assert field == "toml" and "line 4" in message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "missing.toml")
    assert info.value.problems == [("(file)", "no such file")]
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path)
    assert info.value.problems[0][0] == "(file)" and "directory" in info.value.problems[0][1]


# -- large inputs are refused before anything large is allocated -----------------------------


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Shapes of every random array the loader generates."""
    shapes: list[list[int]] = []
    original = RandomSpec.generate

    def generate(self: RandomSpec) -> np.ndarray:
        shapes.append(list(self.random))
        return original(self)

    monkeypatch.setattr(RandomSpec, "generate", generate)
    return shapes


@pytest.mark.parametrize(
    ("shape", "field"),
    [("[3, 20000, 20000]", "input.random"), ("[1, 8000, 8000]", "input")],
    ids=["one-array-too-big", "stage-too-big"],
)
def test_huge_input_is_refused_without_allocating(
    scenario_problems: Callable[..., Any], generated: list[list[int]], shape: str, field: str
) -> None:
    tracemalloc.start()
    try:
        found = scenario_problems(BASE + f'input = {{ random = {shape} }}\nkernel = "identity"\n')
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [f for f, _ in found] == [field] and "GiB" in found[0][1]
    assert generated == []
    assert peak < 50 * 2**20


def test_huge_kernels_are_refused_without_allocating(
    generated: list[list[int]], scenario_problems: Callable[..., Any]
) -> None:
    # Each kernel passes the per-array limit; together, and against a 3×3 input, they cannot work.
    kernels = ", ".join(f"{{ random = [1, 2000, 2000], seed = {i} }}" for i in range(3))
    found = scenario_problems(
        BASE + f"input = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]\nkernels = [{kernels}]\n"
    )
    assert found and found[0][0].startswith("kernels")
    assert all(np.prod(s) < 10**6 for s in generated), generated


# -- loader bugs, written as the behaviour they should have ----------------------------------


def test_kind_that_is_not_a_string(scenario_problems: Callable[..., Any]) -> None:
    ((field, message),) = scenario_problems('kind = ["conv"]\ntitle = "t"\n')
    assert field == "kind" and "valid kinds: " in message and "conv," in message


def test_random_low_infinite(scenario_problems: Callable[..., Any]) -> None:
    found = scenario_problems(
        BASE + 'input = { random = [6, 6], low = -inf }\nkernel = "identity"\n'
    )
    assert found[0][0].startswith("input")


def test_random_float_range_too_wide(scenario_problems: Callable[..., Any]) -> None:
    found = scenario_problems(
        BASE + "input = { random = [6, 6], low = -1e308, high = 1e308, integer = false }\n"
        'kernel = "identity"\n',
    )
    assert found[0][0].startswith("input")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_output_overflow_is_refused(load_text: Callable[..., Any]) -> None:
    with pytest.raises(ScenarioError):
        load_text(BASE + "input = [[1e308, 1e308]]\nkernel = [[1e308, 1e308]]\n")


def test_kernels_as_a_list_of_inline_2d_kernels(load_text: Callable[..., Any]) -> None:
    sim = load_text(
        BASE + "input = { random = [2, 6, 6] }\nkernels = [[[1, 0], [0, 1]], [[0, 1], [1, 0]]]\n",
    )
    stage = sim.stages[0]
    assert isinstance(stage, ConvStage)
    # Two filters, each flat kernel copied to both input channels, as for `kernel`.
    assert stage.weight.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(stage.weight[1, 1], [[0, 1], [1, 0]])


def test_long_quoted_values_are_shortened_in_error_lines(
    write_scenario: Callable[..., Any],
) -> None:
    """A file may hold a paragraph where a word was expected: the line quotes its start."""
    long = "Machine translation's shape: " + "an encoder reads inputs " * 20
    path = write_scenario(
        f'kind = "recurrent"\ntitle = "t"\ninput = [[1.0]]\nhidden_size = 2\n'
        f'architecture = "{long}"\n'
    )
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    (line,) = info.value.lines()
    assert line.startswith(f'{path}: architecture: unknown architecture "{long[:59]}…"')
    assert len(line) < len(str(path)) + 300
