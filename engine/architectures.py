"""The classic networks by name, as lists of layers named after PyTorch's modules.

Layer names equal the module names of the PyTorch (torchvision) models, so a ``state_dict``
saved from one of them loads unchanged. ``architecture(name, **options)`` gives the layers and
the input shape the network was designed for::

    layers, input_shape = architecture("vgg16")
    net = Network(layers, input_shape)       # 138,357,544 parameters, from shapes alone

Published parameter counts (checked by the tests): LeNet-5 61,706; AlexNet 61,100,840;
VGG-16 138,357,544; ResNet-18 11,689,512; ResNet-34 21,797,672. The 2012 paper's two-GPU
AlexNet (``alexnet2012``) has 60,965,224: its layers 2, 4 and 5 see only their own GPU's half
of the channels (groups = 2), and its local response normalisation is left out (it has no
parameters).
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from engine.network import Layer, NetworkError


def _conv(
    name: str,
    out: int,
    k: int,
    *,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
    bias: bool = True,
    inputs: tuple[str, ...] = (),
) -> Layer:
    args: dict[str, Any] = {"out_channels": out, "kernel_size": k}
    if stride != 1:
        args["stride"] = stride
    if padding:
        args["padding"] = padding
    if groups != 1:
        args["groups"] = groups
    if not bias:
        args["bias"] = False
    return Layer(name, "conv2d", args, inputs)


def _linear(name: str, out: int, **extra: Any) -> Layer:
    return Layer(name, "linear", {"out_features": out, **extra})


def _classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise NetworkError("num_classes", f"expected a whole number ≥ 1, got {num_classes!r}")
    return num_classes


def lenet5(num_classes: int = 10) -> list[Layer]:
    """LeNet-5 in its common modern form (input 1×32×32): conv1 6@5×5, max pool, conv2 16@5×5
    (every C3 map reads all six S2 maps, not the paper's partial table), max pool, 120-84-10
    fully connected, ReLU throughout. 61,706 parameters."""
    return [
        _conv("conv1", 6, 5),
        Layer("relu1", "relu"),
        Layer("pool1", "maxpool2d", {"kernel_size": 2}),
        _conv("conv2", 16, 5),
        Layer("relu2", "relu"),
        Layer("pool2", "maxpool2d", {"kernel_size": 2}),
        Layer("flatten", "flatten"),
        _linear("fc1", 120),
        Layer("relu3", "relu"),
        _linear("fc2", 84),
        Layer("relu4", "relu"),
        _linear("fc3", _classes(num_classes)),
    ]


def _alexnet_classifier(num_classes: int) -> list[Layer]:
    std = {"init_std": 0.01}
    return [
        Layer("classifier.0", "dropout", {"p": 0.5}),
        _linear("classifier.1", 4096, **std),
        Layer("classifier.2", "relu"),
        Layer("classifier.3", "dropout", {"p": 0.5}),
        _linear("classifier.4", 4096, **std),
        Layer("classifier.5", "relu"),
        _linear("classifier.6", _classes(num_classes), **std),
    ]


def alexnet(num_classes: int = 1000) -> list[Layer]:
    """torchvision's AlexNet (input 3×224×224): 64-192-384-256-256 filters, an adaptive
    average pool to 6×6, and 4096-4096-classes with dropout. 61,100,840 parameters."""
    return [
        _conv("features.0", 64, 11, stride=4, padding=2),
        Layer("features.1", "relu"),
        Layer("features.2", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        _conv("features.3", 192, 5, padding=2),
        Layer("features.4", "relu"),
        Layer("features.5", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        _conv("features.6", 384, 3, padding=1),
        Layer("features.7", "relu"),
        _conv("features.8", 256, 3, padding=1),
        Layer("features.9", "relu"),
        _conv("features.10", 256, 3, padding=1),
        Layer("features.11", "relu"),
        Layer("features.12", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        Layer("avgpool", "adaptive_avgpool2d", {"output_size": [6, 6]}),
        Layer("flatten", "flatten"),
        *_alexnet_classifier(num_classes),
    ]


def alexnet2012(num_classes: int = 1000) -> list[Layer]:
    """The 2012 paper's AlexNet (input 3×227×227) as trained on two GPUs: 96-256-384-384-256
    filters, where conv2, conv4 and conv5 read only the half of the channels on their own GPU
    (groups = 2) and conv3 reads both. Local response normalisation is left out. 60,965,224
    parameters."""
    return [
        _conv("features.0", 96, 11, stride=4),
        Layer("features.1", "relu"),
        Layer("features.2", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        _conv("features.3", 256, 5, padding=2, groups=2),
        Layer("features.4", "relu"),
        Layer("features.5", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        _conv("features.6", 384, 3, padding=1),
        Layer("features.7", "relu"),
        _conv("features.8", 384, 3, padding=1, groups=2),
        Layer("features.9", "relu"),
        _conv("features.10", 256, 3, padding=1, groups=2),
        Layer("features.11", "relu"),
        Layer("features.12", "maxpool2d", {"kernel_size": 3, "stride": 2}),
        Layer("flatten", "flatten"),
        *_alexnet_classifier(num_classes),
    ]


VGG16_CONFIG = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)
"""torchvision's configuration "D": filters per 3×3 convolution, "M" for a 2×2 max pool."""


def vgg16(num_classes: int = 1000) -> list[Layer]:
    """torchvision's VGG-16 (input 3×224×224): thirteen 3×3 convolutions with padding 1 in five
    blocks, each block ending in a 2×2 max pool, so channels double as the size halves; an
    adaptive average pool to 7×7 and 4096-4096-classes. 138,357,544 parameters."""
    layers: list[Layer] = []
    for item in VGG16_CONFIG:
        i = len(layers)
        if item == "M":
            layers.append(Layer(f"features.{i}", "maxpool2d", {"kernel_size": 2, "stride": 2}))
        else:
            layers.append(_conv(f"features.{i}", int(item), 3, padding=1))
            layers.append(Layer(f"features.{i + 1}", "relu"))
    std = {"init_std": 0.01}
    layers += [
        Layer("avgpool", "adaptive_avgpool2d", {"output_size": [7, 7]}),
        Layer("flatten", "flatten"),
        _linear("classifier.0", 4096, **std),
        Layer("classifier.1", "relu"),
        Layer("classifier.2", "dropout", {"p": 0.5}),
        _linear("classifier.3", 4096, **std),
        Layer("classifier.4", "relu"),
        Layer("classifier.5", "dropout", {"p": 0.5}),
        _linear("classifier.6", _classes(num_classes), **std),
    ]
    return layers


def _resnet(blocks: Sequence[int], num_classes: int) -> list[Layer]:
    layers = [
        _conv("conv1", 64, 7, stride=2, padding=3, bias=False),
        Layer("bn1", "batchnorm2d"),
        Layer("relu", "relu"),
        Layer("maxpool", "maxpool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
    ]
    previous, channels = "maxpool", 64
    for stage, count in enumerate(blocks, start=1):
        width = 64 * 2 ** (stage - 1)
        for b in range(count):
            p = f"layer{stage}.{b}"
            stride = 2 if stage > 1 and b == 0 else 1
            layers += [
                _conv(f"{p}.conv1", width, 3, stride=stride, padding=1, bias=False),
                Layer(f"{p}.bn1", "batchnorm2d"),
                Layer(f"{p}.relu1", "relu"),
                _conv(f"{p}.conv2", width, 3, padding=1, bias=False),
                Layer(f"{p}.bn2", "batchnorm2d"),
            ]
            skip = previous
            if stride != 1 or channels != width:
                layers += [
                    _conv(
                        f"{p}.downsample.0", width, 1, stride=stride, bias=False, inputs=(previous,)
                    ),
                    Layer(f"{p}.downsample.1", "batchnorm2d"),
                ]
                skip = f"{p}.downsample.1"
            layers += [
                Layer(f"{p}.add", "add", inputs=(f"{p}.bn2", skip)),
                Layer(f"{p}.relu2", "relu"),
            ]
            previous, channels = f"{p}.relu2", width
    layers += [
        Layer("avgpool", "adaptive_avgpool2d", {"output_size": [1, 1]}),
        Layer("flatten", "flatten"),
        _linear("fc", _classes(num_classes)),
    ]
    return layers


def resnet18(num_classes: int = 1000) -> list[Layer]:
    """torchvision's ResNet-18 (input 3×224×224): a 7×7 stem, four stages of two basic blocks
    (64, 128, 256, 512 channels; a 1×1 projection where the shape changes). 11,689,512
    parameters."""
    return _resnet((2, 2, 2, 2), num_classes)


def resnet34(num_classes: int = 1000) -> list[Layer]:
    """torchvision's ResNet-34: as ResNet-18 with 3, 4, 6 and 3 blocks. 21,797,672
    parameters."""
    return _resnet((3, 4, 6, 3), num_classes)


_MLP_ACTIVATIONS = ("relu", "sigmoid", "tanh", "none")


def _activation(activation: Any) -> str:
    if not isinstance(activation, str) or activation not in _MLP_ACTIVATIONS:
        hint = ""
        if isinstance(activation, str):
            close = difflib.get_close_matches(activation, _MLP_ACTIVATIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise NetworkError(
            "activation",
            f"unknown activation {activation!r}{hint}; valid: {', '.join(_MLP_ACTIVATIONS)}",
        )
    return activation


def mlp(sizes: Sequence[int] = (64, 32, 10), activation: str = "relu") -> list[Layer]:
    """A multilayer perceptron: ``flatten``, then ``fc1``, ``act1``, ``fc2``, … and a last
    ``fcN`` without activation. ``sizes`` lists the input size and every layer's width
    ([64, 32, 10]: 64 inputs, 32 hidden units, 10 outputs); ``activation = "none"`` leaves the
    activations out, and the whole stack is then one affine map."""
    if (
        not isinstance(sizes, (list, tuple))
        or len(sizes) < 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes)
    ):
        raise NetworkError(
            "sizes",
            f"expected at least two whole numbers ≥ 1 (inputs, then each layer), got {sizes!r}",
        )
    act = _activation(activation)
    layers = [Layer("flatten", "flatten")]
    n = len(sizes) - 1
    for k in range(1, n + 1):
        extra = {"in_features": sizes[0]} if k == 1 else {}
        layers.append(_linear(f"fc{k}", sizes[k], **extra))
        if k < n and act != "none":
            layers.append(Layer(f"act{k}", act))
    return layers


def plain(
    depth: int = 10,
    width: int = 32,
    activation: str = "sigmoid",
    weight_scale: float = 1.0,
    num_classes: int = 10,
) -> list[Layer]:
    """A deep plain stack for the vanishing-gradient demonstration: ``flatten``, then
    ``depth`` × (``fcK`` of ``width`` units, ``actK``), then ``out`` to ``num_classes``.

    Hidden weights are seeded normal with std weight_scale/√fan_in (``init_gain``), so each
    layer multiplies a vector's size by about ``weight_scale``; with sigmoid (s′ ≤ 0.25) the
    gradient then shrinks by about s′·weight_scale per layer."""
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 1000:
        raise NetworkError("depth", f"expected a whole number from 1 to 1000, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 1 << 16:
        raise NetworkError("width", f"expected a whole number from 1 to 65536, got {width!r}")
    if (
        isinstance(weight_scale, bool)
        or not isinstance(weight_scale, (int, float))
        or not math.isfinite(weight_scale)
        or not 0 < weight_scale <= 1e3
    ):
        raise NetworkError(
            "weight_scale", f"expected a number > 0 and ≤ 1000, got {weight_scale!r}"
        )
    act = _activation(activation)
    layers = [Layer("flatten", "flatten")]
    for k in range(1, depth + 1):
        layers.append(_linear(f"fc{k}", width, init_gain=float(weight_scale)))
        if act != "none":
            layers.append(Layer(f"act{k}", act))
    layers.append(_linear("out", _classes(num_classes)))
    return layers


ARCHITECTURES: dict[str, Callable[..., list[Layer]]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "alexnet2012": alexnet2012,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "mlp": mlp,
    "plain": plain,
}
"""Every built-in architecture, by the name a scenario gives in ``architecture = "..."``."""

_INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "lenet5": (1, 32, 32),
    "alexnet": (3, 224, 224),
    "alexnet2012": (3, 227, 227),
    "vgg16": (3, 224, 224),
    "resnet18": (3, 224, 224),
    "resnet34": (3, 224, 224),
    "plain": (64,),
}


def architecture(name: str, **options: Any) -> tuple[list[Layer], tuple[int, ...]]:
    """The layers of a built-in architecture and the input shape it was designed for.

    Raises ``NetworkError("architecture", …)`` for an unknown name (with a suggestion) or an
    option it does not take, and ``NetworkError(option, …)`` for a bad option value.
    """
    if not isinstance(name, str) or name not in ARCHITECTURES:
        close = (
            difflib.get_close_matches(name.lower(), list(ARCHITECTURES), n=1)
            if isinstance(name, str)
            else []
        )
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise NetworkError(
            "architecture",
            f"unknown architecture {name!r}{hint}; valid: {', '.join(ARCHITECTURES)}",
        )
    build = ARCHITECTURES[name]
    accepted = list(inspect.signature(build).parameters)
    for key in options:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise NetworkError(
                "architecture",
                f"{name} takes no option {key!r}{hint}; valid: {', '.join(accepted) or 'none'}",
            )
    layers = build(**options)
    if name == "mlp":
        sizes = options.get("sizes", inspect.signature(mlp).parameters["sizes"].default)
        return layers, (int(sizes[0]),)
    return layers, _INPUT_SHAPES[name]
