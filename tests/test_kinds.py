"""The contract every scenario kind and pipeline op keeps: registered with a schema and a
builder, shipped as a bundled scenario, drawn by a panel, checked against PyTorch, and traced
to JSON that reads back as the same steps."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

import scenarios
from engine.core import Layered, Simulation, Stage
from scenarios.registry import kinds, ops
from tui.panels import PANELS
from tui.trace import json_lines, jsonable

KINDS = sorted(kinds())
OPS = sorted(ops())


@cache
def bundled_by_kind() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for b in scenarios.bundled():
        kind = tomllib.loads(b.path.read_text(encoding="utf-8"))["kind"]
        out.setdefault(kind, []).append(b.name)
    return out


@cache
def first_bundled(kind: str) -> Simulation:
    return scenarios.load(scenarios.resolve(bundled_by_kind()[kind][0]))


def agrees_with_torch(stage: Stage) -> None:
    delta = stage.check_against_torch()
    scale = max(1.0, float(np.max(np.abs(stage.output)))) if stage.output.size else 1.0
    assert delta <= stage.tolerance() * scale, f"{stage.name}: max |Δ| = {delta:.3g}"


def layers_are_drawn(stage: Layered) -> None:
    """Every layer of the smallest bundled network of each op opens as a stage a panel draws
    and that agrees with PyTorch; the network itself has a screen."""
    from tui.screens.network import NetworkScreen

    assert NetworkScreen is not None
    seen: set[str] = set()
    for name in bundled_by_kind()["network"]:
        net = scenarios.load(scenarios.resolve(name)).stages[0]
        assert isinstance(net, Layered)
        if net.network.macs() > 10**8:  # the large ones only repeat ops the small ones have
            continue
        for layer in net.network.layers:
            if layer.op in seen:
                continue
            seen.add(layer.op)
            opened = net.network.stage(layer.name)
            assert opened.kind in PANELS, f"no panel for {layer.op} ({opened.kind})"
            agrees_with_torch(opened)
    assert {"conv2d", "linear", "maxpool2d", "add", "relu", "flatten"} <= seen


def test_every_kind_and_op_is_registered_with_a_schema_and_a_builder() -> None:
    assert {"conv", "pool", "pipeline", "recurrent", "language_model"} <= set(KINDS)
    for name, kind in kinds().items():
        assert kind.name == name and callable(kind.build)
        assert "kind" in kind.model.model_fields
    for name, op in ops().items():
        assert op.name == name and callable(op.build)
        assert "op" in op.model.model_fields


def test_every_bundled_scenario_has_a_registered_kind() -> None:
    assert set(bundled_by_kind()) <= set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_kind_is_bundled_drawn_checked_and_traced(kind: str) -> None:
    assert bundled_by_kind().get(kind), f"no bundled scenario of kind {kind!r}"
    sim = first_bundled(kind)
    for stage in sim.stages:
        if isinstance(stage, Layered):  # a whole network: drawn by the network screen, and
            layers_are_drawn(stage)  # each of its layers by a panel
        else:
            assert stage.kind in PANELS, f"no panel for stage kind {stage.kind!r}"
        agrees_with_torch(stage)
    # The trace reads back as the same stages and steps: first, middle and last.
    picks = sorted({0, len(sim) // 2, len(sim) - 1})
    header = json.loads(next(json_lines(sim, range(0, 1))))
    assert header["steps"] == len(sim)
    for number, stage in enumerate(sim.stages):
        assert header["stages"][number]["kind"] == stage.kind
        described = json.loads(json.dumps(jsonable(stage.describe())))
        for key, value in described.items():
            assert header["stages"][number][key] == value, key
    records = [
        json.loads(line) for i in picks for line in list(json_lines(sim, range(i, i + 1)))[1:]
    ]
    assert [r["step"] for r in records] == picks
    for record in records:
        step = sim.step(record["step"])
        for f in dataclasses.fields(step):
            expected = json.loads(json.dumps(jsonable(getattr(step, f.name))))
            assert record[f.name] == expected, (kind, record["step"], f.name)


@pytest.mark.parametrize("op", OPS)
def test_op_builds_a_drawn_stage_that_agrees_with_torch(
    op: str, load_text: Callable[[str], Simulation]
) -> None:
    sim = load_text(
        'kind = "pipeline"\ntitle = "t"\ninput = { random = [2, 6, 6], seed = 1, low = -4 }\n'
        f'[[stages]]\nop = "{op}"\n' + ('kernel = "sobel_x"\n' if op == "conv" else "")
    )
    (stage,) = sim.stages
    assert stage.kind in PANELS
    assert len(stage) == stage.output.size
    agrees_with_torch(stage)
