"""Claims about whole networks checked against the numbers netsim shows: net_plain_sigmoid's
description against its gradient view, the collapse of a ReLU MLP, and the figures
docs/networks.md gives for each architecture."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

import scenarios
from engine.gradients import gradient_flow, plain_factors
from engine.network import Network


def bundled() -> tuple[Network, str]:
    path = scenarios.resolve("net_plain_sigmoid")
    sim = scenarios.load(path)
    network = sim.stages[0].network  # type: ignore[attr-defined]
    return network, sim.description


def test_thirty_sigmoid_layers_of_32_units_seeded_at_w_1() -> None:
    network, description = bundled()
    assert "30 fully connected layers of 32 sigmoid units" in description
    hidden = [layer for layer in network.layers if layer.name.startswith("fc")]
    assert len(hidden) == 30
    assert all(network.shape(layer.name) == (32,) for layer in hidden)
    assert sum(layer.op == "sigmoid" for layer in network.layers) == 30
    data = tomllib.loads(scenarios.resolve("net_plain_sigmoid").read_text(encoding="utf-8"))
    assert data["weight_scale"] == 1.0 and network.seeded


def test_each_layer_shrinks_the_gradient_about_fourfold_as_s_prime_times_w_predicts() -> None:
    network, description = bundled()
    assert "about s′·w" in description and "about fourfold per layer" in description
    flow = gradient_flow(network, 3)
    factors = plain_factors(network, flow)
    assert len(factors) == 30
    # s′ is at most 1/4 for the sigmoid, everywhere.
    assert all(f.s_prime_mean <= 0.25 for f in factors)
    measured = np.array([f.measured for f in factors])
    predicted = np.array([f.predicted for f in factors])
    # About fourfold: the geometric mean factor lies between 1/5 and 1/3.
    geometric = float(np.exp(np.mean(np.log(measured))))
    assert 1 / 5 < geometric < 1 / 3
    # And s′·w predicts each layer's factor within 40 %, and their mean within 10 %.
    assert np.all(np.abs(measured / predicted - 1) < 0.4)
    assert abs(measured.mean() / predicted.mean() - 1) < 0.1


def test_the_gradient_is_below_1e_15_by_the_first_layer_and_raises_the_alarm() -> None:
    network, description = bundled()
    assert "below 1e-15 by the first layer" in description
    flow = gradient_flow(network, 3)
    first = flow.layer("fc1")
    assert first.output_norm < 1e-15 and flow.input_norm < 1e-15
    assert first.alarm == "vanishing"
    # The last layers are still fine: the gradient vanishes on the way back.
    assert flow.layer("act30").alarm == "ok"


async def test_g_and_e_open_the_gradient_view_and_the_depth_runs() -> None:
    from tui.app import NetsimApp
    from tui.screens.depth import DepthScreen
    from tui.screens.gradients import GradientScreen
    from tui.screens.network import NetworkScreen

    sim = scenarios.load(scenarios.resolve("net_plain_sigmoid"))
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        assert screen.check_action("experiment", ()) is True
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GradientScreen)
        await app.workers.wait_for_complete()
        await pilot.press("escape", "e")
        await pilot.pause()
        assert isinstance(app.screen, DepthScreen)
        await pilot.press("escape")  # stops the training and comes back
        await pilot.pause()
        assert app.screen is screen and app.crash is None


async def test_the_collapse_of_a_relu_mlp_shows_what_the_relu_changes() -> None:
    """The collapse leaves the activation out; on a network that has one, the screen also
    gives the network's own output and how far it is from W·x + b."""
    from engine.collapse import compare
    from tui.app import NetsimApp
    from tui.screens.collapse import CollapseScreen

    sim = scenarios.load(scenarios.resolve("net_mlp_digits"))
    network = sim.stages[0].network  # type: ignore[attr-defined]
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CollapseScreen) and screen.activations == ["act1"]
        await app.workers.wait_for_complete()
        await pilot.pause()
        check = compare(screen.stack, screen.inputs[0])
        gap = float(np.max(np.abs(network.output("fc2") - check.collapsed)))
        assert gap > 1e-3  # the ReLU matters on this input
        text = str(screen.query_one("#collapse-note").render())
        assert "act1" in text and f"{gap:.3g}" in text


def test_the_figures_docs_networks_gives_for_each_architecture() -> None:
    """docs/networks.md quotes these counts and shares; they come from the architectures."""
    from pathlib import Path

    from engine.architectures import architecture

    text = (Path(__file__).parent.parent / "docs" / "networks.md").read_text(encoding="utf-8")
    figures = {
        "lenet5": (61_706, "416,520"),
        "alexnet": (61_100_840, "0.71 G"),
        "alexnet2012": (60_965_224, "0.72 G"),
        "vgg16": (138_357_544, "15,470,264,320"),
        "resnet18": (11_689_512, "1.82 G"),
        "resnet34": (21_797_672, "3.67 G"),
    }
    for name, (count, macs) in figures.items():
        layers, shape = architecture(name)
        net = Network(layers, shape)
        assert net.param_count() == count, name
        assert f"| `{name}` | {'×'.join(map(str, shape))} |" in text
        assert f"| {count:,} | {macs} |" in text, name
        giga = net.macs() / 1e9
        if macs.endswith(" G"):
            assert abs(giga - float(macs[:-2])) < 0.006, name
        else:
            assert net.macs() == int(macs.replace(",", "")), name
    vgg = Network(*architecture("vgg16"))
    linear = sum(vgg.param_count(layer.name) for layer in vgg.layers if layer.op == "linear")
    assert round(100 * linear / vgg.param_count()) == 89 and "89% of" in text
    assert vgg.param_count("classifier.0") == 102_764_544 and "102.8 M" in text


@pytest.mark.parametrize("reproducible", [False, True])
async def test_the_collapse_shows_its_rounding_or_the_tolerance(reproducible: bool) -> None:
    """People see the measured max |Δ| (float64 rounding, whose last digits depend on the CPU
    and the BLAS); a reproducible app, as in the snapshots, the tolerance it is within."""
    from tui.app import NetsimApp
    from tui.screens.collapse import CollapseScreen

    sim = scenarios.load(scenarios.resolve("net_mlp_linear_digits"))
    app = NetsimApp(sim, check=False, reproducible=reproducible)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CollapseScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.check is not None
        shown = str(screen.query_one("#collapse-out").render())
        measured = f"{screen.check.max_abs_diff:.2e}"
        if reproducible:
            assert "max |Δ| within 1e-9" in shown and measured not in shown
            assert "e-1" not in shown.replace("1e-9", "")
        else:
            assert f"max |Δ| = {measured}" in shown
