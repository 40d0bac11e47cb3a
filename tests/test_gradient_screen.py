"""Pilot tests of the gradient-flow screen: it shows the norms and alarms the engine computes,
and on a plain stack the depth and weight-scale keys rebuild the network and the bars follow."""

from __future__ import annotations

import numpy as np
from textual.widgets import Static

from engine.architectures import architecture
from engine.digits import lenet5_input, mlp_input
from engine.gradients import gradient_flow, plain_factors
from engine.limits import Budget
from engine.network import Network
from scenarios.datasets import digit
from tui.app import NetsimApp
from tui.screens.gradients import (
    DEPTHS,
    GradientScreen,
    fmt_norm,
    plain_stack,
    step_ladder,
)
from tui.widgets.logbars import LogBars, decade_label, decade_range

SIZE = (120, 40)


def plain_network(depth: int = 10, width: int = 16, activation: str = "sigmoid", w: float = 1.0):
    layers, shape = architecture(
        "plain", depth=depth, width=width, activation=activation, weight_scale=w
    )
    net = Network(layers, shape, dtype=np.float64, title="plain stack")
    net.init_params(0)
    net.set_input(mlp_input(digit(7)))
    return net


def lenet() -> Network:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, dtype=np.float64, title="LeNet-5")
    net.init_params(0)
    net.set_input(lenet5_input(digit(3)))
    return net


def text(screen: GradientScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def rows_text(screen: GradientScreen) -> list[str]:
    bars = screen.query_one(LogBars)
    return [bars.row_text(i).plain for i in range(len(bars.rows))]


async def open_screen(app: NetsimApp, pilot, screen: GradientScreen) -> GradientScreen:  # type: ignore[no-untyped-def]
    app.push_screen(screen)
    await settle(app, pilot)
    return screen


async def settle(app: NetsimApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_plain_stack_shows_the_engines_norms_alarms_and_factors() -> None:
    net = plain_network()
    target = int(np.argmax(net.output(net.layers[-1].name)))
    flow = gradient_flow(net, target)
    factors = plain_factors(net, flow)
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, None))
        assert screen.result is not None
        rows = rows_text(screen)
        assert len(rows) == len(net.layers) + 1  # every layer, then the input
        for row, lg in zip(rows, flow.layers, strict=False):
            assert row.startswith(lg.name)
            assert fmt_norm(lg.output_norm) in row
            if lg.weight_norm is not None:
                assert fmt_norm(lg.weight_norm) in row
            assert (lg.alarm in row) == (lg.alarm != "ok")
        alarms = dict(flow.alarms())
        for row, lg in zip(rows, flow.layers, strict=False):
            assert ("vanishing" in row) == (alarms.get(lg.name) == "vanishing")
        assert fmt_norm(flow.input_norm) in rows[-1]
        # a deep sigmoid stack at w = 1: the first layers' gradients vanish
        assert flow.layer("fc1").alarm == "vanishing"
        assert "vanishing" in rows[1]
        for f in factors:
            (row,) = [r for r in rows if r.startswith(f.linear + " ")]
            assert f"{f.predicted:5.3f}" in row and f"{f.measured:5.3f}" in row
        summary = text(screen, "#grad-summary")
        assert f"L = {flow.loss:.4g}" in summary
        assert f"class {target} (predicted)" in summary
        assert "10 × (linear 16 + sigmoid)" in summary
        bars = screen.query_one(LogBars)
        lo, hi = decade_range([lg.output_norm for lg in flow.layers] + [flow.input_norm])
        assert (bars.lo, bars.hi) == (lo, hi)
        assert decade_label(lo) in bars.header_text(0).plain
        assert decade_label(hi) in bars.header_text(0).plain


async def test_depth_keys_rebuild_the_stack_and_the_first_layer_norm_falls() -> None:
    net = plain_network()
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, 7))
        assert screen.result is not None
        before = screen.result.flow.layer("fc1").output_norm
        await pilot.press("D")
        await settle(app, pilot)
        deeper = int(step_ladder(DEPTHS, 10, 1))
        assert screen.plain is not None and screen.plain.depth == deeper
        result = screen.result
        assert result.network is not net
        assert sum(lay.op == "linear" for lay in result.network.layers) == deeper + 1
        after = result.flow.layer("fc1").output_norm
        assert after < before
        # the same numbers as the engine's own network of that depth on the same input
        expected = gradient_flow(plain_network(depth=deeper), 7).layer("fc1").output_norm
        assert after == expected
        assert fmt_norm(after) in rows_text(screen)[1]
        await pilot.press("d", "d")
        await settle(app, pilot)
        assert screen.plain.depth == step_ladder(DEPTHS, 10, -1)
        assert screen.result.flow.layer("fc1").output_norm > before
        assert net.layers == plain_network().layers  # the caller's network is untouched


async def test_weight_scale_keys_double_and_halve_w() -> None:
    net = plain_network(activation="relu", w=1.0)
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, 2))
        assert screen.result is not None
        norms = [screen.result.flow.layer("fc1").output_norm]
        for _ in range(3):
            await pilot.press("W")
            await settle(app, pilot)
            norms.append(screen.result.flow.layer("fc1").output_norm)
        assert screen.plain is not None and screen.plain.weight_scale == 8.0
        assert norms == sorted(norms)  # larger weights pass back larger gradients
        expected_net = plain_network(activation="relu", w=8.0)
        flow = gradient_flow(expected_net, 2)
        factors = plain_factors(expected_net, flow)
        rows = rows_text(screen)
        assert f"{factors[0].predicted:5.3f}" in rows[1]
        exploding = [name for name, kind in flow.alarms() if kind == "exploding"]
        assert exploding, "w = 8 on ten ReLU layers should explode"
        alarms = dict(flow.alarms())
        for row, lg in zip(rows, flow.layers, strict=False):
            assert ("exploding" in row) == (alarms.get(lg.name) == "exploding")
        assert "exploding" in text(screen, "#grad-summary")
        await pilot.press("w")
        await settle(app, pilot)
        assert screen.plain.weight_scale == 4.0


async def test_lenet5_has_no_depth_keys_and_shows_weight_gradients() -> None:
    net = lenet()
    labels = [f"digit {k}" for k in range(10)]
    flow = gradient_flow(net, 3)
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, 3, labels=labels))
        assert plain_stack(net) is None and screen.plain is None
        rows = rows_text(screen)
        assert [r.split()[0] for r in rows[:-1]] == [lay.name for lay in net.layers]
        conv1 = flow.layer("conv1")
        assert fmt_norm(conv1.weight_norm) in rows[0]
        assert "class 3 (digit 3) (given)" in text(screen, "#grad-summary")
        assert screen.check_action("depth", (1,)) is False
        first = screen.result
        await pilot.press("D", "W")
        await settle(app, pilot)
        assert screen.result is first


async def test_a_network_without_input_says_so_in_one_line() -> None:
    layers, shape = architecture("plain", depth=3, width=8)
    net = Network(layers, shape)
    net.init_params(0)
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, None))
        assert screen.result is None
        assert screen.error.startswith("input: ")
        assert text(screen, "#grad-summary") == screen.error
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GradientScreen)


def test_plain_stack_is_recognised_by_its_layers() -> None:
    net = plain_network(depth=4, width=8, activation="tanh", w=2.0)
    p = plain_stack(net)
    assert p is not None
    assert (p.depth, p.width, p.activation, p.weight_scale) == (4, 8, "tanh", 2.0)
    mlp_layers, shape = architecture("mlp", sizes=[64, 32, 10], activation="relu")
    assert plain_stack(Network(mlp_layers, shape)) is None


def test_step_ladder_stops_at_the_ends() -> None:
    assert step_ladder(DEPTHS, DEPTHS[-1], 1) == DEPTHS[-1]
    assert step_ladder(DEPTHS, DEPTHS[0], -1) == DEPTHS[0]
    assert step_ladder(DEPTHS, 12, 1) == 15 and step_ladder(DEPTHS, 12, -1) == 10


async def test_a_pass_beyond_the_budget_is_refused_before_it_runs() -> None:
    net = plain_network(depth=3, width=8)
    budget = Budget(total=1000)
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(net, None, budget=budget))
        assert screen.result is None and budget.used == 0
        assert screen.error.startswith("gradient: the backward pass of plain stack would need")
        assert not net.computed("fc1")  # refused before any layer was computed


async def test_a_class_out_of_range_is_one_line_naming_the_valid_ones() -> None:
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, GradientScreen(lenet(), 12))
        assert screen.result is None
        assert screen.error == (
            "target: expected a class from 0 to 9 (the last layer has 10), got 12"
        )
