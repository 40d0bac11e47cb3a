"""The shipped trained networks: their files, their inputs, and the accuracies they record.

Nothing here trains (the scripts take seconds to a minute each): the shipped weights are run
forward by NumPy in float64 on the shipped test split, and must count right exactly the digits
the JSON beside them records; the scripts are imported only to read their constants.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

import engine.digits
from engine.digits import lenet5_input, mlp_input
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

LENET5_SHAPES = {
    "conv1.weight": (6, 1, 5, 5),
    "conv1.bias": (6,),
    "conv2.weight": (16, 6, 5, 5),
    "conv2.bias": (16,),
    "fc1.weight": (120, 400),
    "fc1.bias": (120,),
    "fc2.weight": (84, 120),
    "fc2.bias": (84,),
    "fc3.weight": (10, 84),
    "fc3.bias": (10,),
}
"""PyTorch's state_dict of LeNet-5's modern form, in its order (NETWORK_API: lenet5)."""
MLP_SHAPES = {"fc1.weight": (32, 64), "fc1.bias": (32,), "fc2.weight": (10, 32), "fc2.bias": (10,)}
"""mlp(sizes=[64, 32, 10])."""
NETWORKS = {
    "lenet5_digits": ("lenet5", LENET5_SHAPES),
    "mlp_digits": ("mlp", MLP_SHAPES),
    "mlp_linear_digits": ("mlp", MLP_SHAPES),
}
CHANCE = 0.1
"""Ten classes: what guessing scores."""


def weights(name: str) -> dict[str, np.ndarray]:
    with np.load(DATA_DIR / f"{name}.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def record(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return result


def digits() -> dict[str, np.ndarray]:
    with np.load(DATA_DIR / "digits.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def script(name: str) -> ModuleType:
    """``scripts/NAME.py`` imported (which runs nothing: each script trains only in main())."""
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(SCRIPTS))  # for the scripts' own imports of each other
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


# -- a NumPy forward pass, float64, batch first ----------------------------------------------------


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(B, C, H, W) * (O, C, k, k) + (O,) → (B, O, H−k+1, W−k+1): stride 1, no padding."""
    k = weight.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # (B,C,h,w,k,k)
    return np.einsum("bchwij,ocij->bohw", windows, weight) + bias[None, :, None, None]


def maxpool2(x: np.ndarray) -> np.ndarray:
    """(B, C, H, W) → (B, C, H/2, W/2), the largest of each 2×2 block."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x @ weight.T + bias


def lenet5_forward(p: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """(B, 1, 32, 32) → scores (B, 10)."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    a = maxpool2(relu(conv2d(x, p["conv1.weight"], p["conv1.bias"])))  # (B, 6, 14, 14)
    a = maxpool2(relu(conv2d(a, p["conv2.weight"], p["conv2.bias"])))  # (B, 16, 5, 5)
    a = a.reshape(len(a), -1)  # (B, 400), flattened channel by channel as torch.flatten does
    a = relu(linear(a, p["fc1.weight"], p["fc1.bias"]))  # (B, 120)
    a = relu(linear(a, p["fc2.weight"], p["fc2.bias"]))  # (B, 84)
    return linear(a, p["fc3.weight"], p["fc3.bias"])  # (B, 10)


def mlp_forward(p: dict[str, np.ndarray], x: np.ndarray, activation: str) -> np.ndarray:
    """(B, 64) → scores (B, 10), with a ReLU between the layers or none."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    a = linear(x, p["fc1.weight"], p["fc1.bias"])  # (B, 32)
    if activation == "relu":
        a = relu(a)
    return linear(a, p["fc2.weight"], p["fc2.bias"])  # (B, 10)


def scores(name: str, index: np.ndarray) -> np.ndarray:
    """The shipped network ``name``'s scores for the digits at ``index``, (B, 10)."""
    images = digits()["images"][index]
    architecture, _ = NETWORKS[name]
    if architecture == "lenet5":
        return lenet5_forward(weights(name), np.stack([lenet5_input(im) for im in images]))
    activation = record(name)["options"]["activation"]
    return mlp_forward(weights(name), np.stack([mlp_input(im) for im in images]), activation)


# -- the files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NETWORKS))
def test_weight_file_is_a_plain_state_dict(name: str) -> None:
    path = DATA_DIR / f"{name}.npz"
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == [f"{key}.npy" for key in NETWORKS[name][1]]
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    arrays = weights(name)
    assert {k: v.shape for k, v in arrays.items()} == NETWORKS[name][1]
    for key, arr in arrays.items():
        assert arr.dtype == np.float32, key
        assert np.isfinite(arr).all(), key
    if name == "lenet5_digits":
        assert sum(arr.size for arr in arrays.values()) == 61_706  # the published count


@pytest.mark.parametrize("name", list(NETWORKS))
def test_record_describes_the_split_and_its_counts(name: str) -> None:
    rec = record(name)
    data = digits()
    assert rec["architecture"] == NETWORKS[name][0]
    assert rec["data"] == "digits.npz"
    assert rec["train_count"] == len(data["train_index"])
    assert rec["test_count"] == len(data["test_index"])
    for part in ("train", "test"):
        assert rec[f"{part}_accuracy"] == round(rec[f"{part}_correct"] / rec[f"{part}_count"], 4)


# -- the accuracies, recomputed --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NETWORKS))
@pytest.mark.parametrize("part", ["test", "train"])
def test_recorded_accuracy_is_reproduced(name: str, part: str) -> None:
    data = digits()
    index = data[f"{part}_index"]
    predicted = scores(name, index).argmax(axis=1)
    right = int((predicted == data["labels"][index]).sum())
    rec = record(name)
    assert right == rec[f"{part}_correct"]
    assert right / len(index) > 1 - (1 - CHANCE) / 5  # well above chance: below a fifth of
    # chance's error rate (0.82), and every digit is right sometimes
    assert set(predicted[predicted == data["labels"][index]].tolist()) == set(range(10))


def test_numpy_forward_is_torchs() -> None:
    """The forward pass the accuracies are counted with is the training script's model."""
    module = script("train_lenet5")
    model = module.LeNet5().double()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights("lenet5_digits").items()})
    x = np.stack([lenet5_input(im) for im in digits()["images"][:50]])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(lenet5_forward(weights("lenet5_digits"), x) - expected)) <= 1e-10
    mlp = script("train_mlp")
    for name, activation in mlp.NETWORKS.items():
        net = mlp.Mlp(activation).double()
        net.load_state_dict({k: torch.from_numpy(v) for k, v in weights(name).items()})
        v = np.stack([mlp_input(im) for im in digits()["images"][:50]])
        with torch.no_grad():
            expected = net(torch.from_numpy(v)).numpy()
        assert np.max(np.abs(mlp_forward(weights(name), v, activation) - expected)) <= 1e-12


# -- the scripts -----------------------------------------------------------------------------------


def test_scripts_constants_are_the_recorded_ones() -> None:
    lenet = script("train_lenet5")
    mlp = script("train_mlp")
    runs: list[tuple[str, ModuleType, dict[str, Any]]] = [(lenet.NAME, lenet, {})] + [
        (name, mlp, {"sizes": list(mlp.SIZES), "activation": activation})
        for name, activation in mlp.NETWORKS.items()
    ]
    assert sorted(name for name, _, _ in runs) == sorted(NETWORKS)
    for name, module, options in runs:
        rec = record(name)
        assert rec["options"] == options, name
        assert rec["epochs"] == module.EPOCHS, name
        assert rec["batch_size"] == module.BATCH_SIZE, name
        assert rec["learning_rate"] == module.LEARNING_RATE, name
        assert rec["seed"] == module.SEED, name
    # the scripts make their inputs with the very functions netsim uses at run time
    assert lenet.lenet5_input is engine.digits.lenet5_input
    assert mlp.mlp_input is engine.digits.mlp_input


# -- the inputs ------------------------------------------------------------------------------------


def test_lenet5_input_repeats_each_pixel_over_a_4x4_block() -> None:
    image = digits()["images"][173]
    x = lenet5_input(image)
    assert x.shape == (1, 32, 32) and x.dtype == np.float64
    assert x.min() >= 0.0 and x.max() <= 1.0
    blocks = x[0].reshape(8, 4, 8, 4)
    # every 4×4 block is one value, the pixel's ink fraction
    np.testing.assert_array_equal(blocks.min(axis=(1, 3)), blocks.max(axis=(1, 3)))
    np.testing.assert_array_equal(blocks[:, 0, :, 0] * 16, image)


def test_mlp_input_reads_rows_in_order() -> None:
    image = digits()["images"][7]
    v = mlp_input(image)
    assert v.shape == (64,) and v.dtype == np.float64
    np.testing.assert_array_equal(v[8:16] * 16, image[1])
    assert v.min() >= 0.0 and v.max() <= 1.0


@pytest.mark.parametrize("make", [lenet5_input, mlp_input])
@pytest.mark.parametrize("shape", [(8,), (8, 9), (1, 8, 8), (32, 32)])
def test_inputs_refuse_other_shapes(make: Any, shape: tuple[int, ...]) -> None:
    with pytest.raises(
        SpecError, match=re.escape(f"a digit is 8×8, got an array of shape {shape}")
    ):
        make(np.zeros(shape))
