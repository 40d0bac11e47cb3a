"""``kind = "network"``: the file format, weights and inputs of every form, the bundled network
scenarios (each claim of their descriptions), and every bad input as one line naming file and
field, from the loader and from the command line."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import scenarios
from engine import digits as digit_inputs
from engine.core import Layered
from engine.network import Network
from scenarios import datasets
from scenarios.errors import ScenarioError
from scenarios.images import load_image
from scenarios.kinds.network import NetworkScenarioStage, held_out_digits
from tui.cli import cli

torch.set_num_threads(1)

BUNDLED = scenarios.BUNDLED_DIR
DATA = BUNDLED / "data"


def words(text: str) -> str:
    """The text with every run of white space one space, as a description reads."""
    return " ".join(text.split())


def network_of(sim: Any) -> Network:
    (stage,) = sim.stages
    assert isinstance(stage, Layered) and isinstance(stage, NetworkScenarioStage)
    return stage.network


def lenet_text(extra: str = "", input_: str = "{ digit = 7 }") -> str:
    return f'kind = "network"\ntitle = "t"\narchitecture = "lenet5"\ninput = {input_}\n{extra}'


# -- the bundled scenarios say what is true -----------------------------------------------------


def accuracy(net: Network, to_input: Callable[[np.ndarray], np.ndarray]) -> int:
    """How many digits of the shipped test split the network classifies right, by netsim's own
    forward pass."""
    last = net.layers[-1].name
    right = 0
    for i in held_out_digits():
        net.set_input(to_input(datasets.digit(i)))
        right += int(np.argmax(net.output(last))) == datasets.digit_label(i)
    return right


@pytest.mark.parametrize(
    ("name", "params", "correct", "digit", "to_input"),
    [
        ("net_lenet5_digits", 61_706, 296, 7, digit_inputs.lenet5_input),
        ("net_mlp_digits", 2_410, 281, 3, digit_inputs.mlp_input),
        ("net_mlp_linear_digits", 2_410, 279, 3, digit_inputs.mlp_input),
    ],
)
def test_trained_digit_networks_do_what_their_descriptions_say(
    name: str, params: int, correct: int, digit: int, to_input: Any
) -> None:
    sim = scenarios.load(BUNDLED / f"{name}.toml")
    net = network_of(sim)
    stage = sim.stages[0]
    text = words(sim.description)
    assert f"{params:,} parameters" in text
    assert net.param_count() == params and not net.seeded
    assert stage.target == digit and stage.labels == tuple("0123456789")
    assert int(np.argmax(stage.output)) == digit  # "… and this 7 as a 7"
    record = json.loads((DATA / f"{name.removeprefix('net_')}.json").read_text())
    assert record["test_correct"] == correct == accuracy(net, to_input)
    share = f"{correct / 300:.1%}"
    assert f"{correct} of the 300 test digits right ({share})" in text
    assert share in stage.weights_note and f"{correct} of 300" in stage.weights_note


def test_lenet5_parameters_sit_in_the_fully_connected_layers() -> None:
    net = network_of(scenarios.load(BUNDLED / "net_lenet5_digits.toml"))
    fc = sum(net.param_count(layer.name) for layer in net.layers if layer.op == "linear")
    assert f"{fc / net.param_count():.1%}" == "95.8%"
    assert all(net.param_count(x.name) == 0 for x in net.layers if x.op == "maxpool2d")
    assert net.input_shape == (1, 32, 32)
    x = digit_inputs.lenet5_input(datasets.digit(7))
    np.testing.assert_array_equal(net.input, x)


def test_an_mlp_without_activations_is_one_affine_layer() -> None:
    sim = scenarios.load(BUNDLED / "net_mlp_linear_digits.toml")
    net = network_of(sim)
    assert [layer.op for layer in net.layers] == ["flatten", "linear", "linear"]
    p = net.params
    w = p["fc2.weight"] @ p["fc1.weight"]
    b = p["fc2.weight"] @ p["fc1.bias"] + p["fc2.bias"]
    np.testing.assert_allclose(w @ net.input + b, sim.stages[0].output, rtol=0, atol=1e-12)


def test_the_custom_network_has_its_skip_connection_and_count() -> None:
    sim = scenarios.load(BUNDLED / "net_custom_layers.toml")
    net = network_of(sim)
    assert net.input_names("skip") == ("conv2", "relu1")
    assert net.shape("conv1") == net.shape("conv2") == (8, 8, 8)  # padding 1 keeps 8×8
    assert net.shape("pool") == (8, 4, 4) and net.shape("fc") == (10,)
    assert f"{net.param_count():,} parameters" in words(sim.description)
    assert net.seeded and sim.stages[0].weights_source.startswith("seeded (seed 0)")
    assert sim.stages[0].seed == 0
    np.testing.assert_allclose(np.sum(sim.stages[0].output), 1.0)
    assert sim.stages[0].check_against_torch() < 1e-12


def test_the_shipped_picture_is_small_and_fed_as_torchvision_would() -> None:
    path = DATA / "house.png"
    assert path.stat().st_size < 8192
    assert Image.open(path).size == (256, 192)  # not 224×224: the scenarios resize it
    sim = scenarios.load(BUNDLED / "net_resnet18.toml")
    stage = sim.stages[0]
    expected = load_image(path, (224, 224), resize=256, normalize="imagenet")
    np.testing.assert_array_equal(stage.network.input, expected.tensor)
    np.testing.assert_array_equal(stage.picture, expected.pixels)


def test_resnet18_adds_its_blocks_input_back() -> None:
    sim = scenarios.load(BUNDLED / "net_resnet18.toml")
    net = network_of(sim)
    assert net.param_count() == 11_689_512
    assert "11,689,512 parameters" in words(sim.description)
    adds = [layer for layer in net.layers if layer.op == "add"]
    projections = [layer for layer in net.layers if layer.name.endswith("downsample.0")]
    assert len(adds) == 8 and len(projections) == 3
    assert all(net.hyper(p.name)["kernel_size"] == (1, 1) for p in projections)
    assert any(layer.op == "batchnorm2d" for layer in net.layers) and net.seeded
    assert len(sim.stages[0].labels) == 1000


@pytest.mark.parametrize(
    ("name", "params", "first_fc", "share"),
    [
        ("net_alexnet", 61_100_840, "classifier.1", "62%"),
        ("net_vgg16", 138_357_544, "classifier.0", "74%"),
    ],
)
def test_large_networks_are_checked_from_shapes_alone(
    name: str, params: int, first_fc: str, share: str
) -> None:
    """The claims about shapes and counts need no weights (and loading draws none)."""
    sim = scenarios.load(BUNDLED / f"{name}.toml")
    net = network_of(sim)
    assert net.param_count() == params and f"{params:,} parameters" in words(sim.description)
    assert f"{net.param_count(first_fc) / params:.0%}" == share
    assert f"{share} of them in the first fully connected layer" in words(sim.description)
    assert net.dtype == np.float32 and net.input_shape == (3, 224, 224)
    assert "seeded, not trained" in words(sim.description)
    if name == "net_vgg16":
        pools = [x.name for x in net.layers if x.op == "maxpool2d"]
        sizes = [net.shape(p)[1] for p in pools]
        channels = [net.shape(p)[0] for p in pools]
        assert [224, *sizes] == [224, 112, 56, 28, 14, 7]
        assert channels == [64, 128, 256, 512, 512]
        assert "float32" in sim.description


def test_alexnet_loads_with_seeded_weights_and_computes_nothing() -> None:
    sim = scenarios.load(BUNDLED / "net_alexnet.toml")
    stage = sim.stages[0]
    net = stage.network
    assert net.seeded and net.seed == 0 and "seeded (seed 0)" in stage.weights_source
    assert set(net.params) == set(net.param_shapes())
    assert not any(net.computed(layer.name) for layer in net.layers)
    assert stage.labels[:2] == ("class 0", "class 1") and len(stage.labels) == 1000


@pytest.mark.parametrize("name", ["net_vgg16", "net_alexnet"])
def test_a_large_network_opens_from_shapes_alone(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading allocates no weight and computes no layer: the table comes from shapes; a
    layer's weights are drawn, and its numbers computed, when it is first visited."""
    import tracemalloc

    import scenarios.files
    import scenarios.images
    from engine.network import SeededParams

    scenarios.load(BUNDLED / f"{name}.toml")  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        sim = scenarios.load(BUNDLED / f"{name}.toml")
        stage = sim.stages[0]
        table = stage.describe()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    net = stage.network
    weights = 4 * sum(int(np.prod(s)) for s in net.param_shapes().values())
    assert weights > 200 << 20
    assert peak < weights // 20
    assert len(table["layers"]) == len(net.layers) and table["seeded"]
    assert not any(net.computed(layer.name) for layer in net.layers)
    params = net.params
    assert isinstance(params, SeededParams) and params.nbytes == 0
    assert not any(params.drawn(layer.name) for layer in net.layers if net.param_count(layer.name))
    # The first convolution: its weights are drawn for it, the others stay undrawn.
    first = net.layers[0].name
    net.output(first)
    assert params.drawn(first) and params.nbytes == 4 * net.param_count(first)
    assert [n for n in net.layers if net.computed(n.name)] == [net.layers[0]]


# -- the format ---------------------------------------------------------------------------------


def test_a_digit_by_index_and_by_class(load_text: Callable[..., Any]) -> None:
    a = network_of(load_text(lenet_text(input_='{ data = "digits", index = 1000 }')))
    np.testing.assert_array_equal(a.input, digit_inputs.lenet5_input(datasets.digit(1000)))
    sim = load_text(lenet_text())
    assert sim.stages[0].input_source == "shipped digit #7 (test split), a 7"
    assert (
        "training split"
        in load_text(lenet_text(input_='{ data = "digits", index = 1000 }')).stages[0].input_source
    )


def test_a_digit_at_size_8_for_a_layers_network(load_text: Callable[..., Any]) -> None:
    text = (
        'kind = "network"\ntitle = "t"\ninput = { digit = 2, size = 8 }\n'
        '[[layers]]\nname = "f"\nop = "flatten"\n'
    )
    net = network_of(load_text(text))
    np.testing.assert_array_equal(net.input, datasets.digit(2)[None] / 16)
    default = network_of(load_text(text.replace(", size = 8", "")))
    assert default.input_shape == (1, 32, 32)


def test_random_and_inline_inputs_and_layer_defaults(load_text: Callable[..., Any]) -> None:
    text = """
kind = "network"
title = "t"
input = [1.0, -2.0, 3.0]
seed = 4
[[layers]]
name = "fc1"
op = "linear"
out_features = 2
[[layers]]
name = "act"
op = "tanh"
"""
    sim = load_text(text)
    net = network_of(sim)
    assert net.input_names("fc1") == ("input",) and net.input_names("act") == ("fc1",)
    w, b = net.params["fc1.weight"], net.params["fc1.bias"]
    np.testing.assert_allclose(sim.stages[0].output, np.tanh(w @ [1.0, -2.0, 3.0] + b))
    other = network_of(load_text(text.replace("seed = 4", "seed = 5")))
    assert not np.array_equal(other.params["fc1.weight"], w)
    rand = network_of(
        load_text(lenet_text(input_="{ random = [1, 32, 32], seed = 1, integer = false }"))
    )
    assert rand.input.shape == (1, 32, 32) and 0 <= rand.input.min() < rand.input.max() < 9


def test_dtype_is_float64_when_small_unless_the_file_says(load_text: Callable[..., Any]) -> None:
    assert network_of(load_text(lenet_text())).dtype == np.float64
    assert network_of(load_text(lenet_text('dtype = "float32"'))).dtype == np.float32


def test_labels_as_a_list(load_text: Callable[..., Any]) -> None:
    names = [f"n{i}" for i in range(10)]
    sim = load_text(lenet_text(f"labels = {json.dumps(names)}"))
    assert sim.stages[0].labels == tuple(names)
    assert load_text(lenet_text()).stages[0].labels == ()


def test_an_image_input_with_its_settings(tmp_path: Path, load_text: Callable[..., Any]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    sim = load_text(
        lenet_text(
            input_='{ image = "photo.png", size = 32, normalize = { mean = [0.5], std = [0.25] } }'
        )
    )
    net = network_of(sim)
    expected = load_image(tmp_path / "photo.png", (32, 32), normalize=([0.5], [0.25]), channels=1)
    np.testing.assert_array_equal(net.input, expected.tensor)
    assert sim.stages[0].picture.shape == (32, 32, 1)
    assert sim.stages[0].input_source == "image photo.png, 32×32"


# -- weight files --------------------------------------------------------------------------------


def seeded_lenet_params() -> dict[str, np.ndarray]:
    from engine.architectures import architecture

    layers, shape = architecture("lenet5")
    net = Network(layers, shape, dtype=np.float32)
    net.init_params(11)
    return dict(net.params)


def write_safetensors(path: Path, sd: dict[str, np.ndarray]) -> None:
    header: dict[str, Any] = {}
    body = b""
    for key, arr in sd.items():
        raw = np.asarray(arr, "<f4").tobytes()
        header[key] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [len(body), len(body) + len(raw)],
        }
        body += raw
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt", ".pth"])
def test_every_weight_format_loads_into_the_network(
    tmp_path: Path, load_text: Callable[..., Any], suffix: str
) -> None:
    sd = seeded_lenet_params()
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        write_safetensors(path, sd)
    elif suffix == ".npz":
        np.savez(path, **sd)
    else:
        full = {k: torch.from_numpy(v) for k, v in sd.items()}
        full["conv1.num_batches_tracked"] = torch.tensor(3)  # ignored, as PyTorch's own
        torch.save(full, path)
    sim = load_text(lenet_text(f'weights = {{ file = "w{suffix}" }}'))
    net = network_of(sim)
    assert not net.seeded and sim.stages[0].weights_source == f"w{suffix}"
    assert sim.stages[0].seed is None
    for key, arr in sd.items():
        np.testing.assert_array_equal(net.params[key], arr)


# -- bad input: one line naming file and field ---------------------------------------------------


def write_bad_files(tmp_path: Path) -> None:
    """The broken files the bad-input cases name."""
    sd = seeded_lenet_params()
    write_safetensors(tmp_path / "good.safetensors", sd)
    data = (tmp_path / "good.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) - 100])
    (tmp_path / "text.npz").write_text("conv1.weight = 1\n")
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    np.savez(tmp_path / "objects.npz", w=np.array([{"a": 1}], dtype=object))
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), tmp_path / "model.pt")
    renamed = {k.replace("fc1", "fc_1"): v for k, v in sd.items()}
    np.savez(tmp_path / "renamed.npz", **renamed)
    wrong = dict(sd, **{"fc3.weight": np.zeros((5, 84), np.float32)})
    np.savez(tmp_path / "wrong_shape.npz", **wrong)
    (tmp_path / "photo.png").write_text("not a picture at all\n")


TWO_SHAPES = """
kind = "network"
title = "t"
input = { random = [1, 8, 8] }
[[layers]]
name = "conv1"
op = "conv2d"
out_channels = 2
kernel_size = 3
[[layers]]
name = "join"
op = "add"
inputs = ["conv1", "input"]
"""

LAYERS = """
kind = "network"
title = "t"
input = { random = [1, 8, 8] }
[[layers]]
name = "conv1"
op = "conv2d"
out_channels = 2
kernel_size = 3
[[layers]]
name = "next"
op = "OP"
inputs = ["INPUTS"]
"""


def layers_text(op: str = "relu", inputs: str = "conv1") -> str:
    return LAYERS.replace("OP", op).replace("INPUTS", inputs)


BAD: list[tuple[str, str, str, list[str]]] = [
    # (id, file text, field, words the message holds)
    (
        "unknown-architecture",
        lenet_text().replace('"lenet5"', '"lenet"'),
        "architecture",
        ["unknown architecture 'lenet'", "did you mean 'lenet5'"],
    ),
    ("unknown-op", layers_text("flaten"), "layers[1].op", ["unknown op 'flaten'", "'flatten'"]),
    (
        "inputs-name-no-layer",
        layers_text(inputs="conv2"),
        "layers[1].inputs",
        ["no layer is called 'conv2'", "did you mean 'conv1'"],
    ),
    ("cycle", layers_text(inputs="next"), "layers[1].inputs", ["reads its own output, a cycle"]),
    (
        "forward-reference",
        LAYERS.replace('op = "conv2d"', 'op = "conv2d"\ninputs = ["next"]')
        .replace("OP", "relu")
        .replace('inputs = ["INPUTS"]', ""),
        "layers[0].inputs",
        ["cycle or forward reference"],
    ),
    ("add-of-two-shapes", TWO_SHAPES, "layers[1].inputs", ["2×6×6", "1×8×8"]),
    (
        "linear-on-an-image",
        layers_text("linear").replace('"linear"', '"linear"\nout_features = 3'),
        "layers[1].inputs",
        ["needs a vector", "flatten"],
    ),
    (
        "input-too-small",
        'kind = "network"\ntitle = "t"\narchitecture = "vgg16"\ninput = { random = [3, 16, 16] }\n',
        "input",
        ["features.30 (maxpool2d)", "⌊(1 + 2·0 − 2)/2⌋ + 1 = 0", "too small"],
    ),
    (
        "weights-missing",
        lenet_text('weights = { file = "nothere.npz" }'),
        "weights.file",
        ["'nothere.npz' no such file"],
    ),
    (
        "weights-truncated",
        lenet_text('weights = { file = "cut.safetensors" }'),
        "weights.file",
        ["'cut.safetensors' is truncated"],
    ),
    (
        "weights-wrong-format",
        lenet_text('weights = { file = "text.npz" }'),
        "weights.file",
        ["'text.npz' is not an .npz file"],
    ),
    (
        "weights-wrong-ending",
        lenet_text('weights = { file = "w.bin" }'),
        "weights.file",
        ["'w.bin' has the ending '.bin'", ".safetensors, .npz, .pt, .pth"],
    ),
    (
        "weights-pickled-objects",
        lenet_text('weights = { file = "objects.npz" }'),
        "weights.file",
        ["'objects.npz' holds pickled objects"],
    ),
    (
        "weights-pickled-model",
        lenet_text('weights = { file = "model.pt" }'),
        "weights.file",
        ["'model.pt' holds a pickled object", "model.state_dict()"],
    ),
    (
        "weights-keys",
        lenet_text('weights = { file = "renamed.npz" }'),
        "weights.file",
        ["does not fit lenet5", "missing", "fc1.weight", "did you mean", "unexpected", "fc_1"],
    ),
    (
        "weights-shape",
        lenet_text('weights = { file = "wrong_shape.npz" }'),
        "weights.file",
        ["fc3.weight has shape 5×84", "needs 10×84"],
    ),
    (
        "weights-outside",
        lenet_text('weights = { file = "../w.npz" }'),
        "weights.file",
        ["outside the scenario file's folder"],
    ),
    (
        "image-not-an-image",
        lenet_text(input_='{ image = "photo.png" }'),
        "input.image",
        ["'photo.png' is not a PNG or JPEG image (it holds text)"],
    ),
    (
        "image-missing",
        lenet_text(input_='{ image = "gone.jpg" }'),
        "input.image",
        ["'gone.jpg' no such file"],
    ),
    (
        "image-key-typo",
        lenet_text(input_='{ image = "photo.png", sise = 32 }'),
        "input.sise",
        ["did you mean 'size'"],
    ),
    (
        "image-into-a-vector-network",
        'kind = "network"\ntitle = "t"\narchitecture = "mlp"\ninput = { image = "photo.png" }\n',
        "input",
        ["takes a vector", "not an image"],
    ),
    (
        "imagenet-normalisation-of-gray",
        lenet_text(input_='{ image = "photo.png", normalize = "imagenet" }'),
        "input.normalize",
        ["'imagenet' is for 3 channels", "'none'"],
    ),
    (
        "digit-into-alexnet",
        'kind = "network"\ntitle = "t"\narchitecture = "alexnet"\ninput = { digit = 3 }\n',
        "input",
        ["1×32×32 (LeNet-5)", "alexnet takes 3×224×224"],
    ),
    (
        "digit-out-of-range",
        lenet_text(input_="{ digit = 12 }"),
        "input.digit",
        ["a digit is 0…9, got 12"],
    ),
    (
        "not-an-input",
        lenet_text(input_='{ picture = "a.png" }'),
        "input",
        ["keys picture is not an input", "{ image = "],
    ),
    (
        "a-file-name-as-input",
        lenet_text(input_='"cat.png"'),
        "input",
        ["for an image file write input = { image = 'cat.png' }"],
    ),
    (
        "both-architecture-and-layers",
        layers_text().replace('title = "t"', 'title = "t"\narchitecture = "lenet5"'),
        "layers",
        ["not both"],
    ),
    (
        "neither",
        'kind = "network"\ntitle = "t"\ninput = { digit = 1 }\n',
        "architecture",
        ["missing", "lenet5", "[[layers]]"],
    ),
    (
        "option-of-another-architecture",
        lenet_text("depth = 3"),
        "depth",
        ["'lenet5' takes no depth", "num_classes"],
    ),
    (
        "bad-option-value",
        'kind = "network"\ntitle = "t"\narchitecture = "mlp"\nactivation = "relu6"\n'
        "input = { digit = 1 }\n",
        "activation",
        ["unknown activation 'relu6'", "relu"],
    ),
    (
        "seed-and-weights",
        lenet_text('seed = 1\nweights = { file = "good.safetensors" }'),
        "seed",
        ["nothing to seed; give weights or seed, not both"],
    ),
    (
        "labels-count",
        lenet_text('labels = ["a", "b"]'),
        "labels",
        ["2 class names for the 10 scores", "'fc3'"],
    ),
    ("labels-unknown-set", lenet_text('labels = "digit"'), "labels", ["did you mean 'digits'"]),
    (
        "labels-of-a-map",
        layers_text().replace('title = "t"', 'title = "t"\nlabels = "digits"'),
        "labels",
        ["gives 2×6×6, not a vector"],
    ),
    (
        "over-the-memory-budget",
        'kind = "network"\ntitle = "t"\narchitecture = "vgg16"\n'
        "input = { random = [3, 1024, 1024] }\n",
        "input",
        ["the network (vgg16, float32) on a 3×1024×1024 input would need", "at most 1 GiB"],
    ),
]


@pytest.mark.parametrize(("text", "field", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, field: str, words: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing is seeded or read before the network is known to fit: seeding would fail here.
    def no_seeding(self: Network, seed: int = 0) -> None:
        raise AssertionError("seeded before every problem was found")

    write_bad_files(tmp_path)
    if field not in ("weights.file", "input.image"):
        monkeypatch.setattr(Network, "init_params", no_seeding)
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    (line,) = info.value.lines()
    assert line.startswith(f"{path}: {field}: "), line
    for word in words:
        assert word in line, (word, line)


def netsim(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="netsim")


@pytest.mark.parametrize("command", ["check", "trace"])
@pytest.mark.parametrize(
    ("text", "field"),
    [(b[1], b[2]) for b in BAD if b[0] != "over-the-memory-budget"],
    ids=[b[0] for b in BAD if b[0] != "over-the-memory-budget"],
)
def test_the_command_line_exits_1_with_that_line_and_no_trace(
    tmp_path: Path, command: str, text: str, field: str
) -> None:
    write_bad_files(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = netsim(command, str(path))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}: {field}: ")
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_every_problem_of_the_file_is_reported_at_once(
    scenario_problems: Callable[[str], list[tuple[str, str]]],
) -> None:
    text = lenet_text('labels = "digit"\nseed = 1\nweights = { file = "w.npz" }').replace(
        '"lenet5"', '"lenet"'
    )
    fields = [f for f, _ in scenario_problems(text)]
    assert fields == ["architecture", "labels", "seed"]


def test_a_truncated_weight_file_loaded_twice_gives_the_same_line(tmp_path: Path) -> None:
    write_bad_files(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(lenet_text('weights = { file = "cut.safetensors" }'))
    lines = []
    for _ in range(2):
        with pytest.raises(ScenarioError) as info:
            scenarios.load(path)
        lines.append(info.value.lines())
    assert lines[0] == lines[1]


def lenet_peak_and_weights(dtype: Any) -> tuple[int, int]:
    """LeNet-5's peak_bytes on its digit input, and the bytes of its weights, in ``dtype``."""
    from engine.architectures import architecture

    layers, shape = architecture("lenet5")
    net = Network(layers, shape, dtype=dtype)
    size = sum(int(np.prod(s)) for s in net.param_shapes().values())
    return net.peak_bytes(), size * np.dtype(dtype).itemsize


def test_weights_are_charged_to_the_budget_before_they_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A weight file larger than what the budget has left is refused before it is read."""
    import scenarios.weights as weights

    sd = {k: v.astype(np.float64) for k, v in seeded_lenet_params().items()}
    np.savez(tmp_path / "w.npz", **sd)
    (tmp_path / "s.toml").write_text(lenet_text('weights = { file = "w.npz" }\ndtype = "float32"'))
    from engine.limits import Budget

    # The network fits; its outputs (its peak less its float32 weights) and the file, whose
    # float64 numbers are twice the weights' size, do not.
    peak, size = lenet_peak_and_weights(np.float32)
    file_size = (tmp_path / "w.npz").stat().st_size
    assert file_size > size
    monkeypatch.setattr(Budget.__init__, "__defaults__", (peak + (file_size - size) // 2,))

    def never(path: Path, limit: int, what: str, reserve: Any = None) -> bytes:
        if reserve is not None:  # the charge read_bytes makes before it reads a byte
            reserve(path.stat().st_size)
        raise AssertionError("read although it does not fit")

    monkeypatch.setattr(weights, "read_bytes", never)
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    (line,) = info.value.lines()
    assert "weights.file: reading 'w.npz' would need" in line
    assert "already taken by what comes before it" in line


def test_a_conversion_to_the_networks_dtype_is_charged_before_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """float32 weights read into a float64 network are copied: the copy is charged, once the
    file's keys and shapes have been checked and before anything is converted."""
    np.savez(tmp_path / "w.npz", **seeded_lenet_params())
    (tmp_path / "s.toml").write_text(lenet_text('weights = { file = "w.npz" }'))
    from engine.limits import Budget

    peak, size = lenet_peak_and_weights(np.float64)
    file_size = (tmp_path / "w.npz").stat().st_size
    # Room for the network's outputs, the file and its float32 arrays, not for the copy.
    outputs = peak - size
    monkeypatch.setattr(
        Budget.__init__, "__defaults__", (max(peak, outputs + file_size + size // 2 + size // 4),)
    )
    converted = []
    real = Network.load_state_dict

    def spy(self: Network, sd: Any, **kwargs: Any) -> None:
        converted.append(self.conversion_bytes(sd))
        real(self, sd, **kwargs)

    monkeypatch.setattr(Network, "load_state_dict", spy)
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    (line,) = info.value.lines()
    assert "weights.file: converting 'w.npz' to float64 would need" in line
    assert converted == [size]


def vgg16_safetensors(path: Path) -> int:
    """A float32 safetensors file with VGG-16's keys and shapes and zeros for data, written
    sparsely (the data is a hole: a few KB on disk); its size."""
    from engine.architectures import architecture

    layers, shape = architecture("vgg16")
    header: dict[str, Any] = {}
    offset = 0
    for key, s in Network(layers, shape).param_shapes().items():
        n = 4 * int(np.prod(s))
        header[key] = {"dtype": "F32", "shape": list(s), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + offset)
    return 8 + len(text) + offset


def charges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every (bytes, what) the budget accepts from now on."""
    from engine.limits import Budget

    seen: list[tuple[int, str]] = []
    real = Budget.charge

    def spy(self: Budget, nbytes: int, field: str, what: str) -> None:
        real(self, nbytes, field, what)
        seen.append((int(nbytes), what))

    monkeypatch.setattr(Budget, "charge", spy)
    return seen


def test_a_vgg16_weight_file_fits_beside_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A float32 VGG-16 weight file (528 MiB) into a float32 VGG-16 fits in 1 GiB: the file's
    bytes become the weights, so they are charged once, and the arrays are views of them."""
    from engine.architectures import architecture
    from engine.limits import MAX_BYTES

    file_size = vgg16_safetensors(tmp_path / "vgg.safetensors")
    layers, shape = architecture("vgg16")
    whole = Network(layers, shape, dtype=np.float32)
    weights = 4 * sum(int(np.prod(s)) for s in whole.param_shapes().values())
    assert whole.peak_bytes() + file_size > MAX_BYTES  # charged twice it would not fit
    (tmp_path / "s.toml").write_text(
        'kind = "network"\ntitle = "t"\narchitecture = "vgg16"\n'
        'input = { random = [3, 224, 224] }\nweights = { file = "vgg.safetensors" }\n'
    )
    seen = charges(monkeypatch)
    net = network_of(scenarios.load(tmp_path / "s.toml"))
    assert net.dtype == np.float32 and not net.seeded
    used = sum(n for n, _ in seen)
    assert used <= MAX_BYTES
    input_bytes = 8 * 3 * 224 * 224
    assert used == whole.peak_bytes() - weights + file_size + input_bytes
    for key in net.param_shapes():
        arr = net.params[key]
        assert not arr.flags.owndata and not arr.flags.writeable, key  # a view of the file
    assert not any(net.computed(layer.name) for layer in net.layers)


def test_a_larger_network_with_that_file_is_refused_with_its_estimate_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VGG-16 on 3×448×448 takes the same weights but needs more than 1 GiB: it is refused
    with its whole estimate before the file or the input is read."""
    import scenarios.weights as weights
    from engine.architectures import architecture
    from engine.limits import format_bytes

    vgg16_safetensors(tmp_path / "vgg.safetensors")
    (tmp_path / "s.toml").write_text(
        'kind = "network"\ntitle = "t"\narchitecture = "vgg16"\n'
        'input = { random = [3, 448, 448] }\nweights = { file = "vgg.safetensors" }\n'
    )

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read although the network does not fit")

    monkeypatch.setattr(weights, "read_bytes", never)
    monkeypatch.setattr("scenarios.kinds.network.value", never)
    seen = charges(monkeypatch)
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    (line,) = info.value.lines()
    layers, _ = architecture("vgg16")
    peak = Network(layers, (3, 448, 448), dtype=np.float32).peak_bytes()
    assert (
        f"input: the network (vgg16, float32) on a 3×448×448 input would need {format_bytes(peak)}"
        in line
    )
    assert seen == []


def test_an_image_is_not_read_for_a_network_that_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.fromarray(np.zeros((300, 300, 3), np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "s.toml").write_text(
        'kind = "network"\ntitle = "t"\narchitecture = "vgg16"\n'
        'input = { image = "p.png", size = 2048 }\n'
    )

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the image was read although the network does not fit")

    monkeypatch.setattr("scenarios.kinds.network.load_image", never)
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    assert "would need" in info.value.lines()[0]


def test_an_image_is_charged_to_the_budget_before_it_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.fromarray(np.zeros((600, 800), np.uint8)).save(tmp_path / "p.png")
    (tmp_path / "s.toml").write_text(lenet_text(input_='{ image = "p.png" }'))
    from engine.limits import Budget

    # LeNet-5 fits in 0.75 MiB; decoding an 800×600 picture takes more than the rest.
    monkeypatch.setattr(Budget.__init__, "__defaults__", (1_500_000,))
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    (line,) = info.value.lines()
    assert "input.image: reading 'p.png' would need" in line


def test_the_documented_examples_load(tmp_path: Path) -> None:
    """Every TOML example of the network section of docs/scenario-format.md loads (a data/
    folder beside it leads to the shipped data, as the bundled scenarios' does)."""
    doc = (Path(__file__).parent.parent / "docs" / "scenario-format.md").read_text()
    start = doc.index('## `kind = "network"`')
    section = doc[start : doc.index("\n## ", start + 1)]
    examples = section.split("```toml\n")[1:]
    assert len(examples) == 2
    (tmp_path / "data").symlink_to(DATA)
    for i, example in enumerate(examples):
        path = tmp_path / f"example{i}.toml"
        path.write_text(example.split("```")[0])
        assert isinstance(scenarios.load(path).stages[0], Layered)


def ops_of(net: Network, op: str) -> list[str]:
    return [layer.name for layer in net.layers if layer.op == op]


def test_the_layers_the_descriptions_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each description's account of its layers, checked against the loaded network (large
    ones unseeded: only their shapes are looked at)."""
    lenet = network_of(scenarios.load(BUNDLED / "net_lenet5_digits.toml"))
    assert [lenet.shape(c)[0] for c in ops_of(lenet, "conv2d")] == [6, 16]
    assert {lenet.hyper(c)["kernel_size"] for c in ops_of(lenet, "conv2d")} == {(5, 5)}
    assert [lenet.shape(f)[0] for f in ops_of(lenet, "linear")] == [120, 84, 10]
    assert len(ops_of(lenet, "maxpool2d")) == 2

    mlp = network_of(scenarios.load(BUNDLED / "net_mlp_digits.toml"))
    assert mlp.input_shape == (64,) and [mlp.shape(f)[0] for f in ops_of(mlp, "linear")] == [32, 10]
    assert ops_of(mlp, "relu") == ["act1"]
    np.testing.assert_array_equal(mlp.input, datasets.digit(3).reshape(64) / 16)

    monkeypatch.setattr(Network, "init_params", lambda self, seed=0: None)
    alex = network_of(scenarios.load(BUNDLED / "net_alexnet.toml"))
    convs = ops_of(alex, "conv2d")
    assert len(convs) == 5 and len(ops_of(alex, "maxpool2d")) == 3
    assert len(ops_of(alex, "linear")) == 3
    first = alex.hyper(convs[0])
    assert first["kernel_size"] == (11, 11) and first["stride"] == (4, 4)
    picture = load_image(DATA / "house.png", (224, 224), resize=256, normalize="imagenet")
    np.testing.assert_array_equal(alex.input, picture.tensor.astype(np.float32))

    vgg = network_of(scenarios.load(BUNDLED / "net_vgg16.toml"))
    convs = ops_of(vgg, "conv2d")
    assert len(convs) == 13 and len(ops_of(vgg, "linear")) == 3
    assert {(vgg.hyper(c)["kernel_size"], vgg.hyper(c)["padding"]) for c in convs} == {
        ((3, 3), (1, 1))
    }
    assert {vgg.hyper(p)["kernel_size"] for p in ops_of(vgg, "maxpool2d")} == {(2, 2)}

    res = network_of(scenarios.load(BUNDLED / "net_resnet18.toml"))
    assert res.hyper("conv1")["kernel_size"] == (7, 7) and ops_of(res, "maxpool2d") == ["maxpool"]
    assert ops_of(res, "adaptive_avgpool2d") == ["avgpool"] and ops_of(res, "linear") == ["fc"]
    for add in ops_of(res, "add"):  # each block adds its input (or its projection) back
        main, skip = res.input_names(add)
        assert main.endswith("bn2") and (
            skip.endswith("downsample.1") or "layer" not in skip or skip.endswith("relu2")
        )
        block = add.removesuffix(".add")
        assert res.hyper(f"{block}.conv1")["kernel_size"] == (3, 3)
        assert res.hyper(f"{block}.conv2")["kernel_size"] == (3, 3)


def test_the_shipped_picture_is_what_its_script_draws() -> None:
    import importlib.util

    script = Path(__file__).parent.parent / "scripts" / "make_network_image.py"
    spec = importlib.util.spec_from_file_location("make_network_image", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = np.asarray(Image.open(DATA / "house.png").convert("RGB"))
    np.testing.assert_array_equal(shipped, module.draw())


def test_the_memory_figures_the_format_gives_for_vgg16() -> None:
    """docs/scenario-format.md: VGG-16 on 224×224 needs about 690 MiB in float32, so its seeded
    weights fit in 1 GiB; a weight file of 528 MiB charged on top of them would not, and it fits
    because its bytes become the weights (test_a_vgg16_weight_file_fits_beside_the_network)."""
    from engine.architectures import architecture
    from engine.limits import MAX_BYTES

    layers, shape = architecture("vgg16")
    peak = Network(layers, shape, dtype=np.float32).peak_bytes()
    weights = 138_357_544 * 4
    assert round(peak / 2**20, -1) == 690 and round(weights / 2**20) == 528
    assert peak < MAX_BYTES < peak + weights
