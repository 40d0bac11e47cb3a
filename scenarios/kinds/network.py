"""``kind = "network"``: a whole network, by architecture name or as ``[[layers]]`` tables, fed a
real image, a shipped digit or any input the other kinds take, with weights read from a file or
seeded.

The builder checks the file, builds the ``Network`` from shapes alone (every layer's shape,
parameter count and multiply-adds), checks its peak memory against the scenario's budget, and
only then reads or seeds the weights and reads the input. No layer is computed and seeded
weights are not drawn: a screen computes each layer (drawing its weights) when it is first
shown.

The budget cannot give memory back, so it is charged what will be held at once: the network's
outputs and temporaries, then the weights as they are really made. Seeded weights are charged
their size; a weight file is charged its bytes and every array its reader or the conversion to
the network's dtype makes, but the weights themselves are not charged again when they are the
file's own bytes (a float32 safetensors file read into a float32 network), so a VGG-16 weight
file of 528 MiB fits in 1 GiB beside the network's outputs.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator

from engine import digits as digit_inputs
from engine.architectures import ARCHITECTURES, architecture
from engine.core import Stage
from engine.network import INPUT, Layer, Network, NetworkError, NetworkStage, shape_text
from scenarios import datasets
from scenarios.build import BuildContext, Problems, pydantic_problems, shown, value, value_shape
from scenarios.files import FileProblem, data_file, read_text
from scenarios.images import MAX_SIZE, ImageError, load_image, normalization
from scenarios.registry import register_kind
from scenarios.schema import FileModel, ScenarioBase
from scenarios.weights import MAX_WEIGHTS_BYTES, WeightsError, read_weights

OPTIONS = ("sizes", "activation", "depth", "width", "weight_scale", "num_classes")
"""Top-level keys that are options of a built-in architecture (``architecture = "mlp"`` with
``sizes = [64, 32, 10]``); each architecture takes the ones its function does."""

LABEL_SETS = ("digits", "imagenet")
"""Named class-label sets; otherwise ``labels`` is a list of names."""

FLOAT64_UP_TO = 256 << 20
"""Without ``dtype``, a network whose float64 forward fits in this many bytes (LeNet-5, the
MLPs, ResNet-18) computes in float64, so that its numbers can be checked by hand; larger ones
(AlexNet, VGG-16) in float32."""

DIGIT_SIZES = (32, 8)
"""Sides a shipped digit can be given to a ``[[layers]]`` network at: 32 (each pixel repeated
over 4×4, LeNet-5's input) or 8 (as shipped)."""


class NormalizeSpec(FileModel):
    """``normalize = { mean = [...], std = [...] }``: per-channel mean and standard deviation
    (one number for every channel, or one per channel)."""

    mean: list[float] = Field(min_length=1)
    std: list[float] = Field(min_length=1)


class ImageInput(FileModel):
    """``input = { image = "photo.png", size = [224, 224], normalize = "imagenet" }``."""

    image: str
    """A PNG or JPEG file, relative to the scenario file."""
    size: int | list[int] | None = None
    """(H, W) the network is fed, or one side of a square; the architecture's own by default."""
    resize: int | None = None
    """Side the image's shorter side is resized to before the centre crop (torchvision's
    ``Resize(resize)``); by default the larger side of ``size``."""
    normalize: str | NormalizeSpec = "none"
    """``"imagenet"``, ``"none"`` (values 0…1, the default) or ``{ mean = [...], std = [...] }``."""
    channels: int | None = None
    """1 (gray) or 3 (RGB): only for ``[[layers]]`` networks (3 by default); an architecture
    knows its own."""


class DigitInput(FileModel):
    """``input = { digit = 7 }``: the first digit of the shipped test split that shows a 7."""

    digit: int
    """Which digit, 0–9."""
    size: int | None = None
    """For ``[[layers]]`` networks: 32 (the default, LeNet-5's 1×32×32) or 8 (1×8×8)."""

    @field_validator("digit")
    @classmethod
    def _digit(cls, value: int) -> int:
        if not 0 <= value <= 9:
            raise ValueError(
                f"a digit is 0…9, got {value} ({{ digit = 7 }} is the first test digit showing a 7)"
            )
        return value


class WeightsFile(FileModel):
    """``weights = { file = "w.safetensors" }``: a PyTorch state_dict saved as ``.safetensors``,
    ``.npz``, ``.pt`` or ``.pth``."""

    file: str


class NetworkScenario(ScenarioBase):
    """``kind = "network"``: a whole network fed one input."""

    topic: str = "Classic networks"
    architecture: str | None = None
    """A built-in architecture: lenet5, alexnet, alexnet2012, vgg16, resnet18, resnet34, mlp,
    plain. Give this or ``[[layers]]``."""
    layers: list[dict[str, Any]] | None = None
    """``[[layers]]`` tables: ``name``, ``op``, the op's arguments, optionally ``inputs``."""
    sizes: list[int] | None = None
    """mlp: the input size and every layer's width."""
    activation: str | None = None
    """mlp and plain: relu, sigmoid, tanh or none."""
    depth: int | None = None
    """plain: hidden layers."""
    width: int | None = None
    """plain: units per hidden layer."""
    weight_scale: float | None = None
    """plain: the gain of each hidden layer's seeded weights."""
    num_classes: int | None = None
    """Classes of the last layer (every architecture but mlp, whose last size says it)."""
    input: Any
    """An image, a shipped digit, a random spec, a data spec or inline numbers."""
    weights: WeightsFile | None = None
    """The weight file; without it the weights are seeded with ``seed``."""
    seed: int | None = Field(None, ge=0)
    """Seed of the initial weights when there is no weight file (0 by default)."""
    labels: str | list[str] | None = None
    """Class names for the scores: "digits", "imagenet" or a list."""
    dtype: Literal["float32", "float64"] | None = None
    """Precision of the forward pass; float64 when the network is small enough."""


@dataclass
class _Feed:
    """The network's input, known by shape before it is made."""

    shape: tuple[int, ...]
    make: Callable[[Network], np.ndarray | None]
    """Makes the array (reading an image happens here); None after filing a problem."""
    source: str
    """What the input is, for screens: "digit 7 (shipped digit #7, test split)"."""
    target: int | None = None
    """The class the input belongs to, when known (a shipped digit's label)."""
    pictures: list[np.ndarray] = field(default_factory=list)
    """The picture an image input was read as, once ``make`` has run."""


class NetworkScenarioStage(NetworkStage):
    """The network stage of a ``network`` scenario, with what the file says about it besides
    the network: the class names, the picture it is fed, where its weights come from."""

    def __init__(
        self,
        network: Network,
        *,
        labels: tuple[str, ...] = (),
        picture: np.ndarray | None = None,
        weights_source: str = "",
        weights_note: str = "",
        input_source: str = "",
        target: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(network)
        self.labels = labels
        """A name per class of the last layer's scores; () when the file gives none."""
        self.picture = picture
        """(H, W, C) uint8 of the image or digit the network is fed, for drawing; None for
        other inputs."""
        self.weights_source = weights_source
        """Where the weights come from: the file as given, or "seeded (seed 0)"."""
        self.weights_note = weights_note
        """What the weight file's record says of it ("test accuracy 98.7% (296 of 300 …)")."""
        self.input_source = input_source
        """What the input is, in words."""
        self.target = target
        """The input's true class, when known (a shipped digit), else None."""
        self.seed = seed
        """The seed of the weights when they are seeded, else None."""

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["input"]["source"] = self.input_source
        out["weights"] = {
            "source": self.weights_source,
            "note": self.weights_note,
            "seed": self.seed,
        }
        out["labels"] = list(self.labels)
        out["target"] = self.target
        return out


class _Refused(Exception):
    """The budget refused a reservation (the problem is already filed)."""


# -- the layers ----------------------------------------------------------------------------------


def _layers(
    sc: NetworkScenario, problems: Problems
) -> tuple[list[Layer], tuple[int, ...] | None] | None:
    """The layers and, for an architecture, the input shape it was designed for."""
    given = [k for k in OPTIONS if getattr(sc, k) is not None]
    if sc.architecture is not None and sc.layers is not None:
        problems.add("layers", "give architecture or [[layers]] tables, not both")
        return None
    if sc.architecture is None and sc.layers is None:
        problems.add(
            "architecture",
            f"missing; give architecture = one of {', '.join(ARCHITECTURES)}, or [[layers]] tables",
        )
        return None
    if sc.layers is not None:
        for key in given:
            problems.add(
                key,
                f"{key} is an option of a built-in architecture; a [[layers]] network takes "
                "its sizes from each layer's own arguments",
            )
        return None if given else (_graph(sc.layers, problems), None)
    name = sc.architecture
    assert name is not None
    if name in ARCHITECTURES:
        accepted = list(inspect.signature(ARCHITECTURES[name]).parameters)
        bad = [k for k in given if k not in accepted]
        for key in bad:
            problems.add(
                key, f"architecture {name!r} takes no {key}; its options: {', '.join(accepted)}"
            )
        if bad:
            return None
    try:
        layers, shape = architecture(name, **{k: getattr(sc, k) for k in given})
    except NetworkError as e:
        problems.add(e.field, e.message)
        return None
    return layers, shape


def _graph(raw: list[dict[str, Any]], problems: Problems) -> list[Layer]:
    """``[[layers]]`` tables as Layers; the Network checks names, ops and arguments."""
    out = []
    for i, table in enumerate(raw):
        where = problems.scoped(f"layers[{i}]")
        args = {k: v for k, v in table.items() if k not in ("name", "op", "inputs")}
        # Checked by the Network, which names what is wrong with each.
        name: Any = table.get("name")
        op: Any = table.get("op")
        inputs: Any = table.get("inputs", [])
        if name is None:
            where.add("name", f'missing; every layer needs a name, e.g. name = "{op or "fc"}1"')
        if op is None:
            where.add(
                "op",
                'missing; e.g. op = "conv2d" (valid: see the network section of '
                "docs/scenario-format.md)",
            )
        if isinstance(inputs, str):
            where.add("inputs", f"expected a list of layer names, e.g. inputs = [{inputs!r}]")
        out.append(Layer(name, op, args, tuple(inputs) if isinstance(inputs, list) else inputs))
    return out


def _network_field(field: str, from_architecture: bool) -> str:
    """Where a NetworkError raised while building belongs in the file. A built-in
    architecture's layers are not in the file: what makes them fail is the input."""
    if from_architecture and field.startswith("layers"):
        return "input"
    return field


# -- the input -----------------------------------------------------------------------------------


def _feed(
    spec: Any,
    default: tuple[int, ...] | None,
    arch: str | None,
    ctx: BuildContext,
) -> _Feed | None:
    """The input spec's shape and maker; None after filing a problem."""
    problems = ctx.problems
    if isinstance(spec, dict) and "image" in spec:
        return _image_feed(spec, default, arch, ctx)
    if isinstance(spec, dict) and "digit" in spec:
        try:
            d = DigitInput.model_validate(spec)
        except ValidationError as e:
            for f, m in pydantic_problems(e, ("input",), DigitInput):
                problems.add(f, m)
            return None
        index = _first_test_digit(d.digit)
        if index is None:  # only if the shipped data were replaced by a smaller set
            problems.add("input.digit", f"no digit of the shipped test split shows a {d.digit}")
            return None
        return _digit_feed(index, d.size, default, arch, problems)
    if isinstance(spec, dict) and spec.get("data") == "digits":
        shape = value_shape(spec, "input", problems)  # validates the index
        if shape is None:
            return None
        return _digit_feed(int(spec["index"]), None, default, arch, problems)
    if isinstance(spec, dict) and not ({"random", "data"} & set(spec)):
        keys = ", ".join(map(str, spec)) or "none"
        problems.add(
            "input",
            f'a table with keys {keys[:80]} is not an input; give {{ image = "photo.png" }}, '
            '{ digit = 7 }, { random = [C, H, W] }, { data = "digits", index = 7 } or numbers',
        )
        return None
    if isinstance(spec, str):
        problems.add(
            "input",
            "a string is not an input; for an image file write "
            f"input = {{ image = {spec[:60]!r} }}",
        )
        return None
    shape = value_shape(spec, "input", problems)
    if shape is None:
        return None
    if len(shape) == 2:
        shape = (1, *shape)  # an (H, W) image is one channel, as in the other kinds
    if len(shape) > 3:
        problems.add(
            "input",
            f"expected (C, H, W) for an image or (N,) for a vector, got shape {list(shape)}",
        )
        return None
    what = "random" if isinstance(spec, dict) and "random" in spec else "given"

    def make(net: Network) -> np.ndarray | None:
        # Made in float64 before the network takes its copy in its own dtype.
        if not ctx.charge(8 * math.prod(shape), "input", f"the input {shape_text(shape)}"):
            return None
        arr = value(spec, "input", problems)
        return None if arr is None else arr.reshape(shape)

    return _Feed(shape, make, f"{what} numbers, {shape_text(shape)}")


@functools.cache
def held_out_digits() -> tuple[int, ...]:
    """The indices of the shipped digits the shipped networks were tested on, never trained
    on (``test_index`` of ``digits.npz``)."""
    with np.load(datasets.DATA_DIR / "digits.npz", allow_pickle=False) as npz:
        return tuple(int(i) for i in npz["test_index"])


def _first_test_digit(d: int) -> int | None:
    """The index of the first digit of the shipped test split that shows ``d``."""
    return next((i for i in held_out_digits() if datasets.digit_label(i) == d), None)


def _digit_feed(
    index: int,
    size: int | None,
    default: tuple[int, ...] | None,
    arch: str | None,
    problems: Problems,
) -> _Feed | None:
    """A shipped 8×8 digit as the network's input: LeNet-5's 1×32×32 (each pixel over 4×4),
    an MLP's 64 numbers, or 1×8×8; values are ink fractions, 0…1."""
    if default is not None and size is not None:
        problems.add(
            "input.size",
            f"architecture {arch!r} fixes the digit's size ({shape_text(default)}); leave size out",
        )
        return None
    if size is not None and size not in DIGIT_SIZES:
        problems.add(
            "input.size", f"a digit is given at size 32 (1×32×32) or 8 (1×8×8), got {size}"
        )
        return None
    if default is None:
        shape: tuple[int, ...] = (1, size or 32, size or 32)
    elif default in ((1, 32, 32), (1, 8, 8), (64,)):
        shape = default
    else:
        problems.add(
            "input",
            f"a shipped digit (8×8) is fed to networks whose input is 1×32×32 (LeNet-5), 64 "
            f"numbers (an MLP with sizes = [64, …]) or 1×8×8; {arch} takes "
            f"{shape_text(default)}: give an image or a random spec",
        )
        return None
    label = datasets.digit_label(index)
    split = "test" if index in held_out_digits() else "training"
    source = f"shipped digit #{index} ({split} split), a {label}"

    def make(net: Network) -> np.ndarray | None:
        image = datasets.digit(index)  # (8, 8), 0–16
        if shape == (1, 32, 32):
            return digit_inputs.lenet5_input(image)
        if shape == (64,):
            return digit_inputs.mlp_input(image)
        return (image / digit_inputs.DIGIT_MAX)[None]

    return _Feed(shape, make, source, target=label)


def _image_feed(
    spec: dict[str, Any], default: tuple[int, ...] | None, arch: str | None, ctx: BuildContext
) -> _Feed | None:
    problems = ctx.problems
    try:
        img = ImageInput.model_validate(spec)
    except ValidationError as e:
        for f, m in pydantic_problems(e, ("input",), ImageInput):
            problems.add(f, m)
        return None
    if default is not None and len(default) != 3:
        problems.add(
            "input",
            f"architecture {arch!r} takes a vector of {shape_text(default)} numbers, not an image",
        )
        return None
    if default is not None and img.channels is not None:
        problems.add(
            "input.channels",
            f"architecture {arch!r} takes {default[0]} channel(s); leave channels out",
        )
        return None
    channels = default[0] if default is not None else (img.channels or 3)
    if channels not in (1, 3):
        problems.add("input.channels", f"an image has 1 (gray) or 3 (RGB) channels, got {channels}")
        return None
    size = img.size
    if size is None:
        if default is None:
            problems.add(
                "input.size", "missing; a [[layers]] network needs size = [H, W] for an image"
            )
            return None
        hw = (default[1], default[2])
    elif isinstance(size, int):
        hw = (size, size)
    elif len(size) == 2:
        hw = (size[0], size[1])
    else:
        problems.add("input.size", f"expected [H, W] or one number, got {size}")
        return None
    if isinstance(img.normalize, str):
        normalize: Any = img.normalize
    else:
        normalize = (img.normalize.mean, img.normalize.std)
    try:
        path = data_file(img.image, ctx.base)
    except FileProblem as e:
        problems.add("input.image", str(e))
        return None
    # Settings that do not depend on the file are checked now, with the other problems.
    if not (min(hw) >= 1 and max(hw) <= MAX_SIZE):
        problems.add("input.size", f"each side must be 1…{MAX_SIZE}, got {list(hw)}")
        return None
    if img.resize is not None and not max(hw) <= img.resize <= MAX_SIZE:
        problems.add(
            "input.resize",
            f"the shorter side must be resized to at least the crop's larger side {max(hw)} "
            f"(and at most {MAX_SIZE}), got {img.resize}",
        )
        return None
    try:
        normalization(normalize, channels)
    except ImageError as e:
        problems.add("input.normalize", str(e).removeprefix("normalize").lstrip(". "))
        return None
    shape = (channels, *hw)
    pictures: list[np.ndarray] = []

    def reserve(nbytes: int) -> None:
        if not ctx.charge(nbytes, "input.image", f"reading {img.image!r}"):
            raise _Refused

    def make(net: Network) -> np.ndarray | None:
        try:
            loaded = load_image(
                path, hw, resize=img.resize, normalize=normalize, channels=channels, reserve=reserve
            )
        except _Refused:
            return None
        except ImageError as e:
            problems.add("input.image", f"{img.image!r} {e}")
            return None
        pictures.append(loaded.pixels)
        return loaded.tensor

    return _Feed(shape, make, f"image {img.image}, {hw[0]}×{hw[1]}", pictures=pictures)


# -- labels and weights --------------------------------------------------------------------------


def _labels(spec: str | list[str] | None, problems: Problems) -> tuple[str, ...] | None:
    if spec is None:
        return ()
    if isinstance(spec, list):
        if not spec:
            problems.add("labels", "an empty list; give one name per class, or leave labels out")
            return None
        return tuple(spec)
    if spec == "digits":
        return tuple(str(d) for d in range(10))
    if spec == "imagenet":
        # The 1000 class names are not shipped (they come with torchvision, which netsim does
        # not depend on): the classes are named by index, as in the ImageNet class list.
        return tuple(f"class {i}" for i in range(1000))
    from difflib import get_close_matches

    close = get_close_matches(spec, LABEL_SETS, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    problems.add(
        "labels",
        f"unknown label set {shown(spec)}; {hint}give {' or '.join(LABEL_SETS)}, or a list",
    )
    return None


def _check_labels(labels: tuple[str, ...], net: Network, problems: Problems) -> bool:
    if not labels:
        return True
    last = net.layers[-1].name
    shape = net.shape(last)
    if len(shape) != 1:
        problems.add(
            "labels",
            f"the last layer {last!r} gives {shape_text(shape)}, not a vector of class scores",
        )
        return False
    if shape[0] != len(labels):
        problems.add(
            "labels",
            f"{len(labels)} class names for the {shape[0]} scores the last layer {last!r} "
            "gives; give one name per score",
        )
        return False
    return True


def _weights_note(path: Path) -> str:
    """What the record beside a shipped weight file (``NAME.json``) says of its accuracy."""
    record = path.with_suffix(".json")
    try:
        info = json.loads(read_text(record, 1 << 16, "weight record"))
        right, count = int(info["test_correct"]), int(info["test_count"])
        trained = int(info["train_count"])
    except (FileProblem, ValueError, KeyError, TypeError):
        return ""
    return (
        f"trained on {trained:,} shipped digits; test accuracy {right / count:.1%} "
        f"({right} of {count} held-out digits)"
    )


def _weight_bytes(net: Network) -> int:
    """Bytes of the network's state_dict in its dtype (``peak_bytes`` counts them)."""
    return net.dtype.itemsize * sum(math.prod(s) for s in net.param_shapes().values())


def _load_weights(sc: NetworkScenario, net: Network, ctx: BuildContext) -> tuple[str, str] | None:
    """Read the weight file into ``net`` (or seed it); (source, note), None after a problem.

    Charges the budget what the weights will really take (see the module's docstring)."""
    problems = ctx.problems
    if sc.weights is None:
        seed = sc.seed or 0
        # Always fits: the whole peak did, and only the rest of it is charged so far.
        if not ctx.charge(_weight_bytes(net), "input", "the seeded weights"):
            return None
        net.init_params(seed)  # nothing is drawn until a layer needs its weights
        return f"seeded (seed {seed}): random, not trained", ""
    given = sc.weights.file
    try:
        path = data_file(given, ctx.base)
    except FileProblem as e:
        problems.add("weights.file", str(e))
        return None

    def reserve(nbytes: int) -> None:
        if not ctx.charge(nbytes, "weights.file", f"reading {given!r}"):
            raise _Refused

    try:
        sd = read_weights(path, MAX_WEIGHTS_BYTES, reserve=reserve)
    except _Refused:
        return None
    except WeightsError as e:
        problems.add("weights.file", f"{given!r} {e}")
        return None

    def reserve_conversion(nbytes: int) -> None:
        what = f"converting {given!r} to {net.dtype.name}"
        if nbytes and not ctx.charge(nbytes, "weights.file", what):
            raise _Refused

    try:
        net.load_state_dict(sd, reserve=reserve_conversion)
    except _Refused:
        return None
    except NetworkError as e:
        what = sc.architecture or "this network"
        problems.add("weights.file", f"{given!r} does not fit {what}: {e.message}")
        return None
    return given, _weights_note(path)


# -- the builder ---------------------------------------------------------------------------------


@register_kind(
    "network",
    NetworkScenario,
    nested=(WeightsFile, ImageInput, DigitInput, NormalizeSpec),
)
def build_network(sc: NetworkScenario, ctx: BuildContext) -> list[Stage]:
    """Validate, build the Network from shapes alone, charge its peak memory, then give it its
    weights and input. Nothing is computed."""
    problems = ctx.problems
    made = _layers(sc, problems)
    labels = _labels(sc.labels, problems)
    if sc.weights is not None and sc.seed is not None:
        problems.add(
            "seed",
            "a weight file is given, so there is nothing to seed; give weights or seed, not both",
        )
    if made is None or problems.items:
        return []
    layers, default = made
    feed = _feed(sc.input, default, sc.architecture, ctx)
    if feed is None or labels is None or problems.items:
        return []
    try:
        net = Network(layers, feed.shape, dtype=sc.dtype or np.float64, title=sc.title)
        if sc.dtype is None and net.peak_bytes() > FLOAT64_UP_TO:
            net = Network(layers, feed.shape, dtype=np.float32, title=sc.title)
    except NetworkError as e:
        problems.add(_network_field(e.field, sc.architecture is not None), e.message)
        return []
    if not _check_labels(labels, net, problems):
        return []
    what = (
        f"the network ({sc.architecture or 'layers'}, {net.dtype.name}) on a "
        f"{shape_text(net.input_shape)} input"
    )
    peak = net.peak_bytes()
    if peak > ctx.budget.remaining:
        ctx.charge(peak, "input", what)  # refused with the whole estimate, nothing allocated
        return []
    # The outputs and temporaries now; the weights as they are made (_load_weights).
    if not ctx.charge(peak - _weight_bytes(net), "input", what):
        return []
    weights = _load_weights(sc, net, ctx)
    if weights is None:
        return []
    x = feed.make(net)
    if x is None:
        return []
    try:
        net.set_input(x)
    except NetworkError as e:
        problems.add("input", e.message)
        return []
    pictures = feed.pictures
    return [
        NetworkScenarioStage(
            net,
            labels=labels,
            picture=pictures[0] if pictures else _picture(net.input),
            weights_source=weights[0],
            weights_note=weights[1],
            input_source=feed.source,
            target=feed.target,
            seed=(sc.seed or 0) if sc.weights is None else None,
        )
    ]


def _picture(x: np.ndarray) -> np.ndarray | None:
    """A digit-like input in [0, 1] as an (H, W, 1) uint8 picture; None for other inputs."""
    if x.ndim == 1 and math.isqrt(x.size) ** 2 == x.size:
        side = math.isqrt(x.size)
        x = x.reshape(1, side, side)
    if x.ndim != 3 or x.shape[0] not in (1, 3) or x.min() < 0 or x.max() > 1:
        return None
    return np.round(np.asarray(x, np.float64) * 255).astype(np.uint8).transpose(1, 2, 0)


__all__ = ["INPUT", "NetworkScenario", "NetworkScenarioStage", "build_network"]
