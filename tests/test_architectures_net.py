"""The built-in networks against PyTorch modules built here by hand: parameter counts from
shapes alone, state_dict keys and shapes, every layer's output, and multiply-adds."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from engine.architectures import ARCHITECTURES, VGG16_CONFIG, architecture
from engine.network import Network, NetworkError

torch.set_num_threads(1)

PUBLISHED = {
    "lenet5": 61_706,
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
}


# -- the same networks as torch.nn modules (torchvision's layout, written out) ----------------


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            x = module(x)
        return x


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class VGG16(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"] + [512, 512, 512, "M"] * 2:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(c, int(v), kernel_size=3, padding=1), nn.ReLU()]
                c = int(v)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, blocks: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for k, count in enumerate(blocks, start=1):
            planes = 64 * 2 ** (k - 1)
            stride = 1 if k == 1 else 2
            stage = [BasicBlock(inplanes, planes, stride)]
            stage += [BasicBlock(planes, planes) for _ in range(count - 1)]
            setattr(self, f"layer{k}", nn.Sequential(*stage))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for k in range(1, 5):
            x = getattr(self, f"layer{k}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


TORCH_MODELS: dict[str, Callable[[], nn.Module]] = {
    "lenet5": LeNet5,
    "alexnet": AlexNet,
    "vgg16": VGG16,
    "resnet18": lambda: ResNet([2, 2, 2, 2]),
    "resnet34": lambda: ResNet([3, 4, 6, 3]),
}


def build(name: str, shape: tuple[int, ...] | None = None, dtype: type = np.float64) -> Network:
    layers, default = architecture(name)
    return Network(layers, shape or default, dtype=dtype, title=name)


# -- counts from shapes alone -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "count"), PUBLISHED.items())
def test_parameter_counts_equal_the_published_figures_without_any_weights(
    name: str, count: int
) -> None:
    net = build(name)
    assert net.param_count() == count
    assert net.params == {}  # nothing allocated
    assert sum(net.param_count(layer.name) for layer in net.layers) == count


def test_alexnet2012_count_is_the_papers_grouped_layout() -> None:
    net = build("alexnet2012")
    # conv1 96@11×11×3; conv2 256@5×5×48 (two groups); conv3 384@3×3×256; conv4 384@3×3×192;
    # conv5 256@3×3×192; then 9216-4096-4096-1000. Each filter or neuron has one bias.
    convs = [(96, 3 * 121), (256, 48 * 25), (384, 256 * 9), (384, 192 * 9), (256, 192 * 9)]
    fcs = [(4096, 256 * 6 * 6), (4096, 4096), (1000, 4096)]
    expected = sum(o * (k + 1) for o, k in convs + fcs)
    assert net.param_count() == expected == 60_965_224
    assert net.shape("features.12") == (256, 6, 6)
    assert net.hyper("features.3")["groups"] == 2 and net.hyper("features.6")["groups"] == 1


@pytest.mark.parametrize("name", list(TORCH_MODELS))
def test_state_dict_keys_and_shapes_equal_the_torch_modules(name: str) -> None:
    torch.manual_seed(0)
    with torch.device("meta"):  # shapes only: VGG-16's 138 M weights are never allocated
        model = TORCH_MODELS[name]()
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {k: s for k, s in expected.items() if not k.endswith("num_batches_tracked")}
    got = build(name).param_shapes()
    assert list(got) == list(expected)  # same keys, same order
    assert got == expected
    learnable = sum(p.numel() for p in model.parameters())
    assert build(name).param_count() == learnable


def test_multiply_adds_of_lenet5_by_hand() -> None:
    # conv1: 6 maps of 28×28, 5×5 weights each; conv2: 16 maps of 10×10, 6·5×5 each; then
    # one multiply-add per weight of the three fully connected layers.
    expected = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10
    net = build("lenet5")
    assert net.macs() == expected == 416_520
    assert net.macs("pool1") == 0 and net.macs("relu1") == 0


def test_multiply_adds_of_vgg16_at_224_are_the_published_15_5_g() -> None:
    size, c, total = 224, 3, 0
    for v in VGG16_CONFIG:
        if v == "M":
            size //= 2
            continue
        total += size * size * int(v) * c * 9  # padding 1 keeps the size; 3×3 windows
        c = int(v)
    total += 512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 1000
    net = build("vgg16")
    assert net.macs() == total
    assert round(total / 1e9, 1) == 15.5
    # The course's point: most parameters sit in the fully connected layers, most work in
    # the convolutions.
    fc = sum(net.param_count(f"classifier.{i}") for i in (0, 3, 6))
    assert fc / net.param_count() > 0.85
    assert sum(net.macs(f"classifier.{i}") for i in (0, 3, 6)) / net.macs() < 0.01


def test_vgg16_channels_double_as_the_size_halves() -> None:
    net = build("vgg16")
    pools = [layer.name for layer in net.layers if layer.op == "maxpool2d"]
    shapes = [net.shape(p) for p in pools]
    assert shapes == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]


# -- forward against the torch modules ---------------------------------------------------------


def record_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Every named module's output, by the network's layer names (a block's shared ReLU fires
    twice: first relu1, then relu2; the sum it is given is the block's add)."""
    seen: dict[str, np.ndarray] = {}
    handles = []
    for mname, module in model.named_modules():
        if not mname or list(module.children()):
            continue

        def hook(
            mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor, mname: str = mname
        ) -> None:
            key = mname
            if mname.endswith(".relu") and mname.startswith("layer"):
                first = f"{mname}1" not in seen
                key = f"{mname}1" if first else f"{mname}2"
                if not first:
                    seen[mname.removesuffix("relu") + "add"] = args[0][0].detach().numpy().copy()
            seen[key] = out[0].detach().numpy().copy()

        handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


def load_from(net: Network, model: nn.Module) -> None:
    net.load_state_dict({k: v.detach().numpy() for k, v in model.state_dict().items()})


def randomise_batchnorm(model: nn.Module, seed: int) -> None:
    """Running statistics and affine weights that are not the identity."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


CASES = [
    ("lenet5", (1, 32, 32), torch.float64),
    ("resnet18", (3, 64, 64), torch.float64),
    ("alexnet", (3, 64, 64), torch.float64),
    ("resnet18", (3, 64, 64), torch.float32),
    ("lenet5", (1, 32, 32), torch.float32),
]


@pytest.mark.parametrize(("name", "shape", "tdtype"), CASES, ids=lambda v: str(v))
def test_every_layer_agrees_with_the_torch_module(
    name: str, shape: tuple[int, ...], tdtype: torch.dtype
) -> None:
    torch.manual_seed(1)
    model = TORCH_MODELS[name]().to(tdtype).eval()
    randomise_batchnorm(model, 2)
    dtype = np.float64 if tdtype == torch.float64 else np.float32
    net = build(name, shape, dtype)
    load_from(net, model)
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    net.set_input(x)
    ref = record_outputs(model, torch.from_numpy(x)[None])
    ref["flatten"] = ref["avgpool"].reshape(-1) if "avgpool" in ref else ref["flatten"]
    missing = [layer.name for layer in net.layers if layer.name not in ref]
    assert missing == []
    for layer in net.layers:
        got, want = net.output(layer.name), ref[layer.name]
        assert got.shape == want.shape and got.dtype == dtype, layer.name
        scale = max(float(np.abs(want).max()), 1e-30)
        err = float(np.abs(got - want).max())
        if dtype == np.float64:
            assert err <= 1e-9 * max(scale, 1.0), (layer.name, err)
        else:
            assert err / scale <= 1e-4, (layer.name, err / scale)


def test_alexnet2012_agrees_with_torch_grouped_convolutions() -> None:
    net = build("alexnet2012", dtype=np.float32)
    net.init_params(4)
    net.set_input(np.random.default_rng(5).standard_normal(net.input_shape))
    ref = net.torch_forward()
    for layer in net.layers:
        got, want = net.output(layer.name), ref[layer.name]
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), layer.name


# -- the architecture function ----------------------------------------------------------------


def test_architecture_gives_the_designed_input_shape() -> None:
    assert architecture("lenet5")[1] == (1, 32, 32)
    assert architecture("vgg16")[1] == (3, 224, 224)
    assert architecture("alexnet2012")[1] == (3, 227, 227)
    assert architecture("mlp", sizes=[64, 16, 16, 10])[1] == (64,)
    assert set(ARCHITECTURES) == {
        "lenet5",
        "alexnet",
        "alexnet2012",
        "vgg16",
        "resnet18",
        "resnet34",
        "mlp",
        "plain",
    }


def test_unknown_architecture_and_option_suggest_the_valid_ones() -> None:
    with pytest.raises(NetworkError) as err:
        architecture("resnet19")
    assert err.value.field == "architecture"
    assert "did you mean 'resnet18'" in err.value.message
    with pytest.raises(NetworkError) as err:
        architecture("mlp", size=[4, 2])
    assert err.value.field == "architecture"
    assert "did you mean 'sizes'" in err.value.message
    with pytest.raises(NetworkError) as err:
        architecture("mlp", activation="relux")
    assert err.value.field == "activation" and "did you mean 'relu'" in err.value.message
    with pytest.raises(NetworkError) as err:
        architecture("mlp", sizes=[4])
    assert err.value.field == "sizes"
    with pytest.raises(NetworkError) as err:
        architecture("plain", depth=0)
    assert err.value.field == "depth"


def test_mlp_layers_and_the_linear_collapse_without_activations() -> None:
    layers = architecture("mlp", sizes=[64, 32, 10], activation="sigmoid")[0]
    assert [(layer.name, layer.op) for layer in layers] == [
        ("flatten", "flatten"),
        ("fc1", "linear"),
        ("act1", "sigmoid"),
        ("fc2", "linear"),
    ]
    layers, _ = architecture("mlp", sizes=[64, 32, 16, 10], activation="none")
    assert [layer.op for layer in layers] == ["flatten", "linear", "linear", "linear"]
    net = Network(layers, (1, 8, 8), dtype=np.float64)
    net.init_params(0)
    x = np.random.default_rng(0).standard_normal((1, 8, 8))
    net.set_input(x)
    p = net.params
    w = p["fc3.weight"] @ p["fc2.weight"] @ p["fc1.weight"]
    b = p["fc3.weight"] @ (p["fc2.weight"] @ p["fc1.bias"] + p["fc2.bias"]) + p["fc3.bias"]
    np.testing.assert_allclose(net.output("fc3"), w @ x.reshape(-1) + b, atol=1e-12)
    with pytest.raises(NetworkError) as err:  # sizes[0] is checked against the input
        Network(layers, (1, 6, 6))
    assert err.value.field == "layers[1].in_features"


def test_plain_weight_scale_sets_the_gain_of_each_layer() -> None:
    for scale in (0.5, 4.0):
        layers, _ = architecture("plain", depth=3, width=400, weight_scale=scale)
        net = Network(layers, (400,), dtype=np.float64)
        net.init_params(0)
        std = float(net.params["fc2.weight"].std())
        assert math.isclose(std, scale / math.sqrt(400), rel_tol=0.02)
        assert not net.params["fc2.bias"].any()
    names = [layer.name for layer in architecture("plain", depth=2)[0]]
    assert names == ["flatten", "fc1", "act1", "fc2", "act2", "out"]
