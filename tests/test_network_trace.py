"""Traces of whole networks: a small one is complete (its arrays inline, every layer
recomputable from the trace alone with PyTorch's ops), a large one stays usable (its arrays
left out, or written to a sidecar file the trace names by key)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from engine.architectures import architecture
from engine.core import Simulation
from engine.network import Network, NetworkStage
from tui.cli import cli
from tui.trace import (
    INLINE_NUMBERS,
    TRACE_FORMAT,
    json_lines,
    network_numbers,
    text_lines,
    write_arrays,
)


def simulation(name: str, shape: tuple[int, ...] | None = None, **options: Any) -> Simulation:
    layers, default = architecture(name, **options)
    net = Network(layers, shape or default, dtype=np.float64, title=name)
    net.init_params(seed=0)
    net.set_input(np.random.default_rng(1).standard_normal(shape or default))
    return Simulation([NetworkStage(net)], title=name, source=f"{name}.toml")


def recompute(op: str, args: dict[str, Any], xs: list[torch.Tensor], p: dict[str, Any]) -> Any:
    """One layer by PyTorch's functional ops, from the trace's description of it alone."""
    x = xs[0]
    if op == "conv2d":
        return F.conv2d(x[None], p["weight"], p.get("bias"), args["stride"], args["padding"])[0]
    if op == "maxpool2d":
        return F.max_pool2d(x[None], args["kernel_size"], args["stride"], args["padding"])[0]
    if op == "relu":
        return F.relu(x)
    if op == "flatten":
        return x.flatten()
    if op == "linear":
        return F.linear(x, p["weight"], p.get("bias"))
    raise AssertionError(f"no recompute rule for {op}")


def test_a_small_network_traces_inline_and_every_layer_recomputes_from_the_trace() -> None:
    sim = simulation("lenet5")
    stage = sim.stages[0]
    assert isinstance(stage, NetworkStage)
    assert network_numbers(stage) <= INLINE_NUMBERS
    lines = [json.loads(line) for line in json_lines(sim, range(len(sim)))]
    header, records = lines[0], lines[1:]
    assert header["trace_format"] == TRACE_FORMAT == 3
    arrays = header["stages"][0]["arrays"]
    assert arrays["where"] == "inline"
    assert set(arrays["params"]) == set(stage.network.params)
    values: dict[str, torch.Tensor] = {"input": torch.tensor(arrays["input"], dtype=torch.float64)}
    table = {row["name"]: row for row in header["stages"][0]["layers"]}
    assert [r["layer"] for r in records] == list(table)
    for record in records:
        row = table[record["layer"]]
        params = {
            key.rsplit(".", 1)[1]: torch.tensor(value, dtype=torch.float64)
            for key, value in arrays["params"].items()
            if key.rsplit(".", 1)[0] == row["name"]
        }
        got = recompute(row["op"], row["args"], [values[i] for i in row["inputs"]], params)
        want = torch.tensor(record["output"], dtype=torch.float64)
        assert list(want.shape) == row["output_shape"]
        assert torch.allclose(got, want, rtol=0, atol=1e-12), row["name"]
        values[row["name"]] = want
    # The trace's numbers are the network's own.
    last = stage.network.layers[-1].name
    assert np.array_equal(values[last].numpy(), stage.network.output(last))


def large() -> Simulation:
    """An MLP just over the inline limit, cheap to build."""
    return simulation("mlp", (1100,), sizes=[1100, 1000, 10])


def test_a_large_network_leaves_its_arrays_out_and_says_how_to_get_them() -> None:
    sim = large()
    stage = sim.stages[0]
    assert isinstance(stage, NetworkStage)
    assert network_numbers(stage) > INLINE_NUMBERS
    lines = [json.loads(line) for line in json_lines(sim, range(len(sim)))]
    arrays = lines[0]["stages"][0]["arrays"]
    assert arrays["where"] == "omitted"
    assert "--arrays" in arrays["why"]
    assert all("output" not in r for r in lines[1:])
    # The layer table is all there.
    assert [row["name"] for row in lines[0]["stages"][0]["layers"]] == [
        layer.name for layer in stage.network.layers
    ]
    assert not any(stage.network.computed(layer.name) for layer in stage.network.layers)


def test_a_sidecar_file_holds_every_array_under_the_keys_the_trace_names(
    tmp_path: Path,
) -> None:
    sim = large()
    stage = sim.stages[0]
    assert isinstance(stage, NetworkStage)
    out = tmp_path / "arrays.npz"
    lines = [json.loads(line) for line in json_lines(sim, range(len(sim)), arrays_file=str(out))]
    write_arrays(sim, str(out))
    arrays = lines[0]["stages"][0]["arrays"]
    assert arrays["where"] == "file" and arrays["file"] == str(out)
    with np.load(out, allow_pickle=False) as npz:
        assert np.array_equal(npz[arrays["input"]], stage.network.input)
        for key, name in arrays["params"].items():
            assert np.array_equal(npz[name], stage.network.params[key])
        for record in lines[1:]:
            assert np.array_equal(npz[record["output"]], stage.network.output(record["layer"]))
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]  # no temporary file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a private one


def test_the_text_trace_of_a_network_is_one_line_per_layer() -> None:
    sim = simulation("lenet5")
    lines = list(text_lines(sim, range(len(sim))))
    assert len(lines) == len(sim.stages[0])
    assert "conv1 (conv2d)" in lines[0] and "156 parameters" in lines[0]


def test_arrays_needs_the_json_format_and_a_network(tmp_path: Path) -> None:
    out = tmp_path / "a.npz"
    runner = CliRunner()
    r = runner.invoke(cli, ["trace", "conv_vertical_edge", "--arrays", str(out)])
    assert r.exit_code == 2 and "--format json" in r.output
    r = runner.invoke(
        cli, ["trace", "conv_vertical_edge", "--format", "json", "--arrays", str(out)]
    )
    assert r.exit_code == 2 and "not a network scenario" in r.output
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_the_sidecar_and_names_it(tmp_path: Path) -> None:
    out = tmp_path / "mlp.npz"
    r = CliRunner().invoke(
        cli, ["trace", "net_mlp_digits", "--format", "json", "--arrays", str(out)]
    )
    assert r.exit_code == 0, r.output
    header, *records = (json.loads(line) for line in r.output.splitlines())
    arrays = header["stages"][0]["arrays"]
    assert arrays["where"] == "file" and arrays["file"] == str(out)
    with np.load(out, allow_pickle=False) as npz:
        assert set(npz.files) == {
            arrays["input"],
            *arrays["params"].values(),
            *(rec["output"] for rec in records),
        }
    # A refused trace writes nothing: a folder that does not exist.
    missing = tmp_path / "no" / "such.npz"
    r = CliRunner().invoke(
        cli, ["trace", "net_mlp_digits", "--format", "json", "--arrays", str(missing)]
    )
    assert r.exit_code == 1 and "does not exist" in r.output and r.output.count("\n") == 1
