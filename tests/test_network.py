"""engine.network: shape checks and their messages, every op against PyTorch, seeded and loaded
weights, the lazy forward, each layer as a stepping stage, the memory estimate, and the whole
network as one stage."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from apps import held_by_another_thread
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.network as network_module
from engine.activation import ActivationStage
from engine.architectures import architecture
from engine.conv import ConvStage
from engine.core import Layered, Simulation
from engine.network import (
    NETWORK_OPS,
    Layer,
    LayerStep,
    Network,
    NetworkError,
    NetworkStage,
    conv2d_forward,
)
from engine.pool import PoolStage

torch.set_num_threads(1)


def L(name: str, op: str, inputs: tuple[str, ...] = (), **args: Any) -> Layer:
    return Layer(name, op, args, inputs)


def every_op() -> list[Layer]:
    """A small graph that uses each of the fourteen ops at least once."""
    return [
        L("c1", "conv2d", out_channels=4, kernel_size=3, padding=1),
        L("bn", "batchnorm2d"),
        L("r", "relu"),
        L("c2", "conv2d", out_channels=4, kernel_size=3, padding=1, groups=2, bias=False),
        L("lk", "leaky_relu", negative_slope=0.1),
        L("sum", "add", ("lk", "r")),
        L("mp", "maxpool2d", kernel_size=3, stride=2, padding=1),
        L("ap", "avgpool2d", kernel_size=3, stride=1, padding=1),
        L("sg", "sigmoid"),
        L("th", "tanh", ("mp",)),
        L("ad", "adaptive_avgpool2d", output_size=[3, 2]),
        L("fl", "flatten"),
        L("dr", "dropout", p=0.3),
        L("fc", "linear", out_features=5),
        L("sm", "softmax"),
    ]


def small(dtype: Any = np.float64, seed: int = 0) -> Network:
    net = Network(every_op(), (3, 9, 7), dtype=dtype, title="every op")
    net.init_params(seed)
    # Batch norm that is not the identity.
    rng = np.random.default_rng(seed + 1)
    sd = dict(net.params)
    sd["bn.running_mean"] = rng.standard_normal(4)
    sd["bn.running_var"] = rng.random(4) + 0.5
    sd["bn.weight"] = rng.random(4) + 0.5
    sd["bn.bias"] = rng.standard_normal(4)
    net.load_state_dict(sd)
    net.set_input(rng.standard_normal((3, 9, 7)))
    return net


def test_every_op_is_used_by_the_small_graph() -> None:
    assert {layer.op for layer in every_op()} == set(NETWORK_OPS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_op_agrees_with_torch_layer_by_layer(dtype: Any) -> None:
    net = small(dtype)
    ref = net.torch_forward()
    for layer in net.layers:
        got, want = net.output(layer.name), ref[layer.name]
        assert got.shape == want.shape == net.shape(layer.name), layer.name
        assert got.dtype == dtype
        tol = 1e-12 if dtype == np.float64 else 1e-5
        assert np.abs(got - want).max() <= tol * max(1.0, np.abs(want).max()), layer.name
    assert math.isclose(float(net.output("sm").sum()), 1.0, rel_tol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    c=st.integers(1, 4),
    groups=st.sampled_from([1, 2]),
    o=st.integers(1, 3),
    size=st.tuples(st.integers(5, 12), st.integers(5, 12)),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    block=st.sampled_from([64, 1 << 20]),
    seed=st.integers(0, 1000),
)
def test_blocked_im2col_convolution_equals_torch(
    c: int,
    groups: int,
    o: int,
    size: tuple[int, int],
    k: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int],
    block: int,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    c, o = c * groups, o * groups
    x = rng.standard_normal((c, *size))
    w = rng.standard_normal((o, c // groups, *k))
    b = rng.standard_normal(o)
    saved = network_module._CONV_BLOCK_BYTES
    network_module._CONV_BLOCK_BYTES = block  # tiny blocks: one output row at a time
    try:
        got = conv2d_forward(x, w, b, stride, pad, groups)
    finally:
        network_module._CONV_BLOCK_BYTES = saved
    want = F.conv2d(
        torch.from_numpy(x)[None], torch.from_numpy(w), torch.from_numpy(b), stride, pad, 1, groups
    )[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)


# -- shape checks: one clear message naming the layer -------------------------------------------


def error_of(layers: list[Layer], shape: tuple[int, ...] = (3, 8, 8)) -> NetworkError:
    with pytest.raises(NetworkError) as err:
        Network(layers, shape)
    return err.value


def test_vgg16_on_16x16_names_the_layer_where_the_size_reaches_zero() -> None:
    layers, _ = architecture("vgg16")
    err = error_of(layers, (3, 16, 16))
    assert err.field == "layers[30].kernel_size"
    assert err.message.startswith("features.30 (maxpool2d): its 2×2 window")
    assert "512×1×1 input" in err.message
    assert "height ⌊(1 + 2·0 − 2)/2⌋ + 1 = 0" in err.message
    assert err.message.endswith("the smallest square input the network takes is 3×32×32")
    Network(layers, (3, 32, 32))  # which it does
    err = error_of(layers, (3, 31, 31))
    assert err.field == "layers[30].kernel_size"
    assert str(err) == f"{err.field}: {err.message}" and "\n" not in str(err)


def test_a_convolution_larger_than_its_input_gives_the_formula() -> None:
    err = error_of([L("c", "conv2d", out_channels=2, kernel_size=[3, 11], stride=2)], (1, 5, 5))
    assert err.field == "layers[0].kernel_size"
    assert "width ⌊(5 + 2·0 − 11)/2⌋ + 1 = -2" in err.message and "height" not in err.message


def test_add_of_two_shapes_gives_both() -> None:
    err = error_of(
        [
            L("a", "conv2d", out_channels=4, kernel_size=3),
            L("b", "conv2d", ("input",), out_channels=4, kernel_size=1),
            L("s", "add", ("a", "b")),
        ]
    )
    assert err.field == "layers[2].inputs"
    assert "'a' gives 4×6×6 and 'b' gives 4×8×8" in err.message


def test_inputs_that_name_no_layer_suggest_the_closest() -> None:
    err = error_of([L("conv1", "conv2d", out_channels=2, kernel_size=1), L("r", "relu", ("cnv1",))])
    assert err.field == "layers[1].inputs"
    assert "no layer is called 'cnv1' (did you mean 'conv1'?)" in err.message


def test_forward_references_and_self_references_are_cycles() -> None:
    err = error_of([L("a", "relu", ("b",)), L("b", "relu")])
    assert err.field == "layers[0].inputs"
    assert "'b', which is layers[1], after it (a cycle or forward reference)" in err.message
    err = error_of([L("a", "relu"), L("b", "add", ("a", "b"))])
    assert err.field == "layers[1].inputs" and "cycle" in err.message


@pytest.mark.parametrize(
    ("layers", "field", "fragment"),
    [
        ([L("c", "conv2D")], "layers[0].op", "did you mean 'conv2d'"),
        ([L("a", "relu"), L("a", "relu")], "layers[1].name", "already the name of layers[0]"),
        ([L("input", "relu")], "layers[0].name", "network's input"),
        ([L("c", "conv2d", out_channels=2, kernel=3)], "layers[0].kernel", "'kernel_size'"),
        ([L("c", "conv2d", kernel_size=3)], "layers[0].out_channels", "is required"),
        ([L("f", "linear", out_features=3)], "layers[0].inputs", "put a flatten layer"),
        ([L("s", "softmax")], "layers[0].inputs", "flatten"),
        ([L("a", "add", ("input",))], "layers[0].inputs", "exactly two"),
        ([L("a", "add")], "layers[0].inputs", "exactly two"),
        ([L("r", "relu", ("input", "input"))], "layers[0].inputs", "one input"),
        (
            [L("c", "conv2d", out_channels=4, kernel_size=1, in_channels=4)],
            "layers[0].in_channels",
            "expects 4 input channels, but 'input' gives 3",
        ),
        (
            [L("c", "conv2d", out_channels=4, kernel_size=1, groups=2)],
            "layers[0].groups",
            "must divide both the 3 input channels",
        ),
        (
            [L("p", "maxpool2d", kernel_size=2, padding=2)],
            "layers[0].padding",
            "more than half",
        ),
        ([L("p", "maxpool2d", kernel_size=0)], "layers[0].kernel_size", "≥ 1"),
        ([L("p", "maxpool2d", kernel_size=[2, 2, 2])], "layers[0].kernel_size", "pair"),
        ([L("d", "dropout", p=1.0)], "layers[0].p", "0 ≤ p < 1"),
        ([L("l", "leaky_relu", negative_slope=-1)], "layers[0].negative_slope", "≥ 0"),
        ([L("b", "batchnorm2d", eps=0)], "layers[0].eps", "> 0"),
        ([L("b", "batchnorm2d", num_features=5)], "layers[0].num_features", "gives 3"),
        ([L("c", "conv2d", out_channels=1, kernel_size=1, bias="yes")], "layers[0].bias", "true"),
        ([L("r", "relu", flavour=1)], "layers[0].flavour", "valid: none"),
        ([], "layers", "at least one layer"),
    ],
)
def test_bad_layers_give_one_message_naming_the_field(
    layers: list[Layer], field: str, fragment: str
) -> None:
    err = error_of(layers)
    assert err.field == field
    assert fragment in err.message
    assert "\n" not in err.message


def test_bad_input_shape_and_dtype() -> None:
    with pytest.raises(NetworkError) as err:
        Network([L("r", "relu")], (3, 0, 4))
    assert err.value.field == "input"
    with pytest.raises(NetworkError) as err:
        Network([L("r", "relu")], (3, 4, 4), dtype=np.int32)
    assert err.value.field == "dtype"


def test_a_deep_network_is_checked_quickly_in_one_pass() -> None:
    layers, _ = architecture("plain", depth=1000, width=8)
    net = Network(layers, (64,))
    assert len(net.layers) == 2002 and net.shape("out") == (10,)
    assert net.param_count() == 64 * 8 + 8 + 999 * (8 * 8 + 8) + 8 * 10 + 10


# -- weights ------------------------------------------------------------------------------------


def test_init_follows_torchvisions_statistics() -> None:
    net = Network(
        [
            L("c", "conv2d", out_channels=64, kernel_size=3, padding=1),
            L("b", "batchnorm2d"),
            L("f", "flatten"),
            L("l", "linear", out_features=200),
            L("v", "linear", out_features=300, init_std=0.01),
        ],
        (32, 8, 8),
    )
    assert net.params == {} and not net.seeded
    net.init_params(7)
    p = net.params
    assert net.seeded and all(a.dtype == np.float32 for a in p.values())
    assert math.isclose(float(p["c.weight"].std()), math.sqrt(2 / (64 * 9)), rel_tol=0.03)
    assert not p["c.bias"].any()
    assert (p["b.weight"] == 1).all() and not p["b.bias"].any()
    assert not p["b.running_mean"].any() and (p["b.running_var"] == 1).all()
    bound = 1 / math.sqrt(64 * 8 * 8)
    for key in ("l.weight", "l.bias"):
        assert np.abs(p[key]).max() <= bound and np.abs(p[key]).max() > 0.9 * bound
    assert math.isclose(float(p["l.weight"].std()), bound / math.sqrt(3), rel_tol=0.03)
    assert math.isclose(float(p["v.weight"].std()), 0.01, rel_tol=0.03)
    assert not p["v.bias"].any()
    again = Network(net.layers, net.input_shape)
    again.init_params(7)
    assert all(np.array_equal(again.params[k], p[k]) for k in p)
    again.init_params(8)
    assert not np.array_equal(again.params["c.weight"], p["c.weight"])


def test_seeded_weights_are_drawn_layer_by_layer_on_first_use() -> None:
    net = Network(every_op(), (3, 9, 7), title="every op")
    net.init_params(5)
    params = net.params
    assert isinstance(params, network_module.SeededParams)
    # Keys, len and `in` come from shapes: nothing is drawn by asking.
    assert list(params) == list(net.param_shapes()) and len(params) == len(net.param_shapes())
    assert "c1.weight" in params and "nope.weight" not in params and params
    assert params.nbytes == 0 and net.seeded and net.seed == 5
    assert params != {} and params != {"c1.weight": 0}  # told apart by their keys alone
    assert params.nbytes == 0
    w = params["c2.weight"]
    assert params.drawn("c2") and not params.drawn("c1") and not params.drawn("fc")
    assert params.nbytes == w.nbytes  # c2 has no bias: only its weight
    assert params["c2.weight"] is w  # drawn once, then kept
    assert params.get("missing.weight") is None
    with pytest.raises(KeyError):
        params["missing.weight"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_seeded_layer_is_the_same_whichever_order_layers_are_visited(dtype: Any) -> None:
    layers, shape = architecture("resnet18")
    keys = list(Network(layers, shape, dtype=dtype).param_shapes())
    orders = [keys, keys[::-1], sorted(keys), keys[len(keys) // 2 :] + keys[: len(keys) // 2]]
    drawn = []
    for order in orders:
        net = Network(layers, shape, dtype=dtype)
        net.init_params(3)
        drawn.append({k: net.params[k] for k in order})
    for other in drawn[1:]:
        assert all(np.array_equal(other[k], drawn[0][k]) for k in keys)
    assert all(a.dtype == dtype for a in drawn[0].values())
    # Layer i is drawn from default_rng([seed, i]): a conv layer's weight, by hand.
    net = Network(layers, shape, dtype=dtype)
    i = net.index("layer2.0.conv1")
    o, c, fh, fw = net.param_shapes()["layer2.0.conv1.weight"]
    want = np.random.default_rng([3, i]).standard_normal((o, c, fh, fw), dtype=dtype)
    want *= dtype(math.sqrt(2 / (o * fh * fw)))
    np.testing.assert_array_equal(drawn[0]["layer2.0.conv1.weight"], want)


def test_every_reader_sees_the_same_seeded_numbers_as_torch() -> None:
    """LeNet-5 and ResNet-18 on a small input, seeded lazily: the forward, torch's forward,
    each layer's stage and the state_dict read the same drawn arrays."""
    rng = np.random.default_rng(0)
    for arch, shape in (("lenet5", (1, 32, 32)), ("resnet18", (3, 32, 32))):
        layers, _ = architecture(arch)
        net = Network(layers, shape, dtype=np.float64)
        net.init_params(1)
        net.set_input(rng.standard_normal(shape))
        # Visit a middle layer first: only what it needs is drawn.
        middle = net.layers[len(net.layers) // 2].name
        net.output(middle)
        last = net.layers[-1].name
        got = net.output(last)
        want = net.torch_forward(keep=False)[last]
        assert np.abs(got - want).max() <= 1e-10 * max(1.0, np.abs(want).max()), arch
        first = net.layers[0].name
        np.testing.assert_array_equal(
            net.stage(first).output, np.array(net.output(first), np.float64)
        )
        # A fresh network with the same seed draws the same state_dict in one go.
        again = Network(layers, shape, dtype=np.float64)
        again.init_params(1)
        assert all(np.array_equal(v, net.params[k]) for k, v in dict(again.params).items())


def test_seeding_anew_replaces_the_weights_and_forgets_the_outputs() -> None:
    net = small()
    before = dict(net.params)  # loaded by small()
    net.init_params(9)
    assert net.seeded and net.seed == 9 and not net.computed("c1")
    assert not np.array_equal(net.params["c1.weight"], before["c1.weight"])
    held = net.params
    net.init_params(9)
    assert net.params is not held  # a reference kept to the old weights still reads them
    np.testing.assert_array_equal(net.params["c1.weight"], held["c1.weight"])
    net.load_state_dict(before)
    assert not net.seeded and net.seed is None


def test_seeded_weights_are_drawn_once_when_threads_race_for_them() -> None:
    import threading

    layers, shape = architecture("lenet5")
    net = Network(layers, shape)
    net.init_params(0)
    seen: list[np.ndarray] = []
    barrier = threading.Barrier(4)

    def read() -> None:
        barrier.wait()
        seen.append(net.params["fc1.weight"])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(a is seen[0] for a in seen)


def test_loaded_arrays_in_the_networks_dtype_are_kept_without_a_copy() -> None:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, dtype=np.float32)
    sd = {k: np.zeros(s, np.float32) for k, s in net.param_shapes().items()}
    for arr in sd.values():
        arr.flags.writeable = False  # as a safetensors file's views of its bytes
    sd["fc1.weight"] = np.zeros(net.param_shapes()["fc1.weight"], np.float64)
    fc1 = 4 * math.prod(net.param_shapes()["fc1.weight"])
    assert net.conversion_bytes(sd) == fc1
    told: list[int] = []
    net.load_state_dict(sd, reserve=told.append)
    assert told == [fc1]
    assert all(net.params[k] is sd[k] for k in sd if k != "fc1.weight")
    assert net.params["fc1.weight"].dtype == np.float32
    net.set_input(np.ones(shape))
    np.testing.assert_array_equal(net.output("fc3"), net.torch_forward(keep=False)["fc3"])

    def refuse(nbytes: int) -> None:
        raise MemoryError(nbytes)

    with pytest.raises(MemoryError):  # told before anything is converted; nothing changes
        Network(layers, shape, dtype=np.float64).load_state_dict(sd, reserve=refuse)


def test_load_state_dict_lists_missing_and_unexpected_keys_with_suggestions() -> None:
    net = small()
    before = {k: v.copy() for k, v in net.params.items()}
    sd = {k: v for k, v in net.params.items()}
    sd["c1.weigth"] = sd.pop("c1.weight")
    sd["extra.bias"] = np.zeros(3)
    sd["bn.num_batches_tracked"] = np.array(5)  # ignored
    with pytest.raises(NetworkError) as err:
        net.load_state_dict(sd)
    assert err.value.field == "weights"
    msg = err.value.message
    assert "missing 1 key: c1.weight (did you mean 'c1.weigth'?)" in msg
    assert "unexpected 2 keys: c1.weigth (did you mean 'c1.weight'?), extra.bias" in msg
    assert "num_batches_tracked" not in msg
    assert all(np.array_equal(net.params[k], before[k]) for k in before)  # nothing changed


def test_load_state_dict_gives_both_shapes_and_converts_the_dtype() -> None:
    net = small(np.float32)
    sd = {k: v.astype(np.float64) for k, v in net.params.items()}
    sd["fc.weight"] = np.zeros((5, 7))
    with pytest.raises(NetworkError) as err:
        net.load_state_dict(sd)
    assert "fc.weight has shape 5×7 but this network needs 5×24" in err.value.message
    sd["fc.weight"] = np.ones((5, 4 * 3 * 2))
    sd["bn.num_batches_tracked"] = np.array(3)
    net.load_state_dict(sd)
    assert net.params["fc.weight"].dtype == np.float32 and not net.seeded
    sd["fc.bias"] = np.full(5, np.nan)
    with pytest.raises(NetworkError, match="finite"):
        net.load_state_dict(sd)


def test_the_forward_needs_weights_and_an_input() -> None:
    net = Network([L("f", "flatten"), L("l", "linear", out_features=2)], (4,))
    with pytest.raises(NetworkError, match="no input"):
        net.output("l")
    net.set_input(np.ones(4))
    with pytest.raises(NetworkError, match="no weights"):
        net.output("l")
    assert net.output("f").tolist() == [1, 1, 1, 1]  # no weights needed there
    with pytest.raises(NetworkError) as err:
        net.set_input(np.ones(5))
    assert err.value.field == "input" and "expected shape 4, got 5" in err.value.message
    with pytest.raises(NetworkError, match="finite"):
        net.set_input(np.array([1, np.inf, 0, 0]))


# -- the lazy forward -------------------------------------------------------------------------


def test_output_computes_only_what_the_layer_needs_and_keeps_it() -> None:
    net = small()
    assert not any(net.computed(layer.name) for layer in net.layers)
    net.output("bn")
    assert [layer.name for layer in net.layers if net.computed(layer.name)] == ["c1", "bn"]
    calls: list[tuple[int, int]] = []
    net.output("th", progress=lambda done, total: calls.append((done, total)))
    # th reads mp, which reads sum, which reads lk and r: six layers still to compute
    assert len(calls) == 6 and calls[-1][0] == calls[-1][1] > 0
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    done = {layer.name for layer in net.layers if net.computed(layer.name)}
    assert done == {"c1", "bn", "r", "c2", "lk", "sum", "mp", "th"}
    assert net.output("th") is net.output("th")
    assert not net.output("th").flags.writeable
    net.set_input(np.zeros((3, 9, 7)))
    assert not net.computed("th")


def test_forward_all_without_keeping_drops_what_no_later_layer_reads() -> None:
    net = small()
    want = {layer.name: net.output(layer.name).copy() for layer in net.layers}
    net.set_input(np.array(net.input))
    last = net.forward_all(keep=False)
    assert [layer.name for layer in net.layers if net.computed(layer.name)] == ["sm"]
    np.testing.assert_array_equal(last, want["sm"])
    np.testing.assert_array_equal(net.output("sum"), want["sum"])  # computed again on request
    net.forward_all()
    assert all(net.computed(layer.name) for layer in net.layers)


def test_inputs_of_are_the_arrays_a_layer_reads() -> None:
    net = small()
    a, b = net.inputs_of("sum")
    assert a is net.output("lk") and b is net.output("r")
    (x,) = net.inputs_of("c1")
    assert x is net.input
    assert net.input_names("sum") == ("lk", "r") and net.input_names("bn") == ("c1",)


def test_an_overflowing_layer_is_refused_naming_it() -> None:
    net = Network([L("f", "flatten"), L("l", "linear", out_features=2)], (2,), dtype=np.float32)
    net.load_state_dict({"l.weight": np.full((2, 2), 3e38), "l.bias": np.zeros(2)})
    net.set_input(np.array([1e3, 1e3]))
    with pytest.raises(NetworkError) as err:
        net.output("l")
    assert err.value.field == "layers[1]" and "overflows float32" in err.value.message


# -- one layer as a stepping stage ------------------------------------------------------------


def test_a_grouped_convolution_opens_as_a_conv_stage_with_zeros_outside_its_group() -> None:
    net = small(np.float32)
    stage = net.stage("c2")
    assert isinstance(stage, ConvStage)
    assert stage.weight.shape == (4, 4, 3, 3) and stage.weight.dtype == np.float64
    assert not stage.weight[:2, 2:].any() and not stage.weight[2:, :2].any()
    np.testing.assert_allclose(stage.output, net.output("c2"), rtol=1e-5, atol=1e-5)
    step = stage.step(stage.index_of(0, 1, 1))
    assert not step.products[2:].any() and step.partial_sums[2:].tolist() == [0.0, 0.0]
    assert stage.check_against_torch() < 1e-12


def test_padded_pools_open_as_pool_stages_with_their_padding() -> None:
    net = small()
    for name, mode in (("mp", "max"), ("ap", "avg")):
        stage = net.stage(name)
        assert isinstance(stage, PoolStage) and stage.mode == mode and stage.padding == (1, 1)
        assert stage.in_shape == net.shape(net.input_names(name)[0])  # the input itself
        np.testing.assert_allclose(stage.output, net.output(name), atol=1e-12)
    # After ReLU every value is ≥ 0 and many are 0: the padding must never win a window.
    mp = net.stage("mp")
    for i in range(len(mp)):
        step = mp.step(i)
        assert step.argmax is not None and not step.padding_mask[step.argmax]


def test_activations_open_as_activation_stages_fed_the_real_input() -> None:
    net = small(np.float32)
    for name, function in (("r", "relu"), ("lk", "leaky_relu"), ("sg", "sigmoid"), ("th", "tanh")):
        stage = net.stage(name)
        assert isinstance(stage, ActivationStage) and stage.function == function
        np.testing.assert_array_equal(stage.x, net.inputs_of(name)[0].astype(np.float64))
    assert net.stage("lk").negative_slope == pytest.approx(0.1)


def test_a_vgg_layer_of_64x224x224_opens_within_the_limits() -> None:
    layers, shape = architecture("vgg16")
    net = Network(layers[:3], shape, dtype=np.float32)
    net.init_params(0)
    net.set_input(np.random.default_rng(0).standard_normal(shape))
    stage = net.stage("features.2")
    assert isinstance(stage, ConvStage)
    assert len(stage) == 64 * 224 * 224 and stage.in_channels == 64


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("ad", "AdaptiveAvgPoolStage"),
        ("fl", "FlattenStage"),
        ("fc", "LinearStage"),
        ("bn", "BatchNormStage"),
        ("sum", "AddStage"),
        ("dr", "DropoutStage"),
        ("sm", "SoftmaxStage"),
    ],
)
def test_the_other_ops_open_as_the_stages_of_engine_layers(name: str, cls: str) -> None:
    import engine.layers as layers

    net = small()
    stage = net.stage(name)
    assert isinstance(stage, getattr(layers, cls))
    np.testing.assert_allclose(stage.output, net.output(name), atol=1e-12)
    assert stage.check_against_torch() < 1e-9


# -- memory -------------------------------------------------------------------------------------


def test_peak_bytes_bounds_the_real_peak_of_seeding_and_the_forward() -> None:
    layers, _ = architecture("resnet18")
    net = Network(layers, (3, 64, 64), dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((3, 64, 64)).astype(np.float32)
    tracemalloc.start()
    try:
        net.init_params(0)
        net.set_input(x)
        net.forward_all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = net.peak_bytes()
    weights = 4 * sum(math.prod(s) for s in net.param_shapes().values())
    assert weights < estimate
    assert peak <= estimate < 2 * peak


def test_peak_bytes_of_vgg16_in_float32_fits_the_budget_and_float64_does_not() -> None:
    layers, shape = architecture("vgg16")
    f32 = Network(layers, shape, dtype=np.float32).peak_bytes()
    f64 = Network(layers, shape, dtype=np.float64).peak_bytes()
    assert 4 * 138_357_544 < f32 < 1 << 30 < f64


# -- the whole network as one stage ------------------------------------------------------------


def test_network_stage_steps_layer_by_layer() -> None:
    net = small()
    stage = NetworkStage(net)
    assert isinstance(stage, Layered) and stage.network is net and stage.kind == "network"
    assert not isinstance(ConvStage(np.ones((1, 3, 3)), np.ones((1, 1, 2, 2))), Layered)
    assert len(stage) == len(net.layers) and stage.name == "every op"
    step = stage.step(0)
    assert isinstance(step, LayerStep)
    assert (step.layer, step.op, step.output_shape) == ("c1", "conv2d", (4, 9, 7))
    assert step.value == step.parameters == 4 * 3 * 9 + 4
    assert step.macs == 4 * 9 * 7 * 27
    assert stage.step(-1).layer == "sm" and stage.step(-1).value == 0
    assert stage.output is net.output("sm")
    assert stage.check_against_torch() < 1e-12
    sim = Simulation([stage])
    assert len(sim) == len(net.layers)


def test_network_stage_describe_is_plain_data_without_weights() -> None:
    stage = NetworkStage(small())
    described = stage.describe()
    text = json.dumps(described)
    assert described["kind"] == "network" and described["parameters"] == stage.network.param_count()
    rows = described["layers"]
    assert [r["name"] for r in rows] == [layer.name for layer in stage.network.layers]
    assert rows[6]["args"] == {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]}
    assert rows[5]["inputs"] == ["lk", "r"]
    assert len(text) < 5000  # the layer table, not the weights


def test_cached_and_if_free_never_wait_for_another_thread() -> None:
    """``cached`` reads an output without the network's lock; ``if_free`` takes the lock only
    when no other thread holds it, and says so at once."""
    layers, shape = architecture("lenet5")
    net = Network(layers, shape)
    net.init_params(0)
    net.set_input(np.random.default_rng(1).standard_normal(shape))
    first = net.layers[0].name
    assert net.cached(first) is None
    with net.if_free() as free:
        assert free
        with net.if_free() as again:  # the same thread may take it again
            assert again
        out = net.output(first)
    assert net.cached(first) is out
    with held_by_another_thread(net):
        with net.if_free() as free:
            assert not free
        assert net.cached(first) is out  # read while the other thread holds the lock
        assert net.cached(net.layers[1].name) is None
        assert net.output(first) is out  # computed already: no wait for the lock either
    with net.if_free() as free:
        assert free
