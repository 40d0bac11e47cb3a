"""Pilot tests of the collapse, residual-block and depth-experiment screens on real small
networks: each shows the numbers the engine computes for it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rich.text import Text
from textual.widgets import Static

from engine.architectures import architecture
from engine.collapse import compare
from engine.depth import DepthConfig, run_depth_experiment
from engine.digits import lenet5_input, mlp_input
from engine.errors import SpecError
from engine.network import Network
from scenarios.datasets import DATA_DIR, digit, digit_label
from tui.app import NetsimApp
from tui.screens.collapse import CollapseScreen, linear_stack, product_names
from tui.screens.depth import DepthScreen, digit_data, fmt_error
from tui.screens.residual import ResidualScreen, block_of, residual_adds, residual_block
from tui.widgets.linechart import LineChart
from tui.widgets.logbars import BarRow, LogBars, decade_range
from tui.widgets.peek import MatrixPeek, shown

SIZE = (120, 40)


async def settle(app: NetsimApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def content(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    return str(screen.query_one(selector, Static).content)


# ---------------------------------------------------------------- collapse


def shipped_linear_mlp() -> list[tuple[np.ndarray, np.ndarray]]:
    with np.load(DATA_DIR / "mlp_linear_digits.npz", allow_pickle=False) as npz:
        return [(npz["fc1.weight"], npz["fc1.bias"]), (npz["fc2.weight"], npz["fc2.bias"])]


async def test_collapse_screen_shows_w_b_and_both_outputs_for_each_input() -> None:
    layers = shipped_linear_mlp()
    indices = [0, 1, 2]
    xs = np.stack([mlp_input(digit(i)) for i in indices])
    names = [f"digit #{i} ({digit_label(i)})" for i in indices]
    labels = [str(k) for k in range(10)]
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = CollapseScreen(layers, xs, labels, names=["fc1", "fc2"], input_names=names)
        app.push_screen(screen)
        await settle(app, pilot)
        for k in [0, 1, 2, 0]:
            check = compare(layers, xs[k])
            assert screen.current == k and screen.check is not None
            np.testing.assert_array_equal(screen.check.weight, check.weight)
            out = content(screen, "#collapse-out")
            assert f"max |Δ| = {check.max_abs_diff:.2e}" in out
            assert check.max_abs_diff < 1e-9
            top = int(np.argmax(check.stacked))
            assert f"argmax {top} / {top}: same" in out
            box = screen.query_one("#collapse-out-box")
            assert str(box.border_title) == f"input {k + 1} of 3: {names[k]}"
            peek = screen.query_one("#collapse-w", MatrixPeek)
            np.testing.assert_array_equal(peek.matrix, check.weight)
            w_text = peek.render().plain
            assert "…" in w_text and "63" in w_text  # 64 columns do not fit: the last is shown
            await pilot.press("right_square_bracket")
            await settle(app, pilot)
        equation = content(screen, "#collapse-eq")
        assert "W1 32×64" in equation and "W2 10×32" in equation
        assert "W = W2·W1 (10×64)" in equation and "b = W2·b1 + b2 (10)" in equation


async def test_collapse_with_one_input_has_no_picking_keys() -> None:
    layers = shipped_linear_mlp()
    app = NetsimApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = CollapseScreen(layers, mlp_input(digit(5)))
        app.push_screen(screen)
        await settle(app, pilot)
        assert screen.check_action("pick", (1,)) is False
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert screen.current == 0


async def test_collapse_of_chains_that_do_not_fit_is_one_line() -> None:
    w1, w2 = np.ones((4, 3)), np.ones((2, 5))
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = CollapseScreen([(w1, None), (w2, None)], np.ones(3))
        app.push_screen(screen)
        await settle(app, pilot)
        assert screen.check is None
        assert screen.error.startswith("layers[1].weight: takes 5 inputs")


def test_linear_stack_takes_lenet5s_classifier_with_its_real_input() -> None:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, dtype=np.float64)
    net.init_params(0)
    net.set_input(lenet5_input(digit(3)))
    stack, x, names = linear_stack(net)
    assert names == ["fc1", "fc2", "fc3"]
    np.testing.assert_array_equal(x, net.output("flatten"))
    assert [w.shape for w, _ in stack] == [(120, 400), (84, 120), (10, 84)]
    assert product_names(3) == ("W3·W2·W1", "W3·(W2·b1 + b2) + b3")
    screen = CollapseScreen.from_network(net, [str(k) for k in range(10)])
    assert screen.names == names and screen.inputs.shape == (1, 400)
    conv_only = Network(architecture("lenet5")[0][:3], shape)
    with pytest.raises(SpecError):
        linear_stack(conv_only)


# ---------------------------------------------------------------- residual


@pytest.fixture(scope="module")
def resnet() -> Network:
    layers, _ = architecture("resnet18")
    net = Network(layers, (3, 32, 32), dtype=np.float64, title="ResNet-18")
    net.init_params(0)
    net.set_input(np.random.default_rng(0).standard_normal((3, 32, 32)))
    return net


def test_residual_block_walks_back_to_the_common_ancestor(resnet: Network) -> None:
    b = residual_block(resnet, "layer1.0.add")
    assert b.source == "maxpool"
    assert b.main == tuple(f"layer1.0.{n}" for n in ("conv1", "bn1", "relu1", "conv2", "bn2"))
    assert b.skip == ()
    assert b.after == ("layer1.0.relu2",)
    p = residual_block(resnet, "layer2.0.add")
    assert p.source == "layer1.1.relu2"
    assert p.skip == ("layer2.0.downsample.0", "layer2.0.downsample.1")
    assert len(p.main) == 5
    assert block_of(resnet, "layer2.0.downsample.0") == "layer2.0.add"
    assert block_of(resnet, "layer3.1.relu2") == "layer3.1.add"
    assert block_of(resnet, "conv1") is None
    assert len(residual_adds(resnet)) == 8
    with pytest.raises(SpecError):
        residual_block(resnet, "conv1")


async def test_residual_screen_shows_paths_shapes_and_real_norms(resnet: Network) -> None:
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = ResidualScreen(resnet, "layer2.0.relu1")  # any layer of the block
        app.push_screen(screen)
        await settle(app, pilot)
        assert screen.block is not None and screen.block.add == "layer2.0.add"
        main, skip = content(screen, "#res-main"), content(screen, "#res-skip")
        assert "conv1  conv 3×3 s2 p1, 128" in main
        assert "downsample.0  conv 1×1 s2, 128" in skip
        assert "128×4×4" in main and "128×4×4" in skip
        assert str(screen.query_one("#res-skip-box").border_title) == ("skip path · 1×1 projection")

        def norm(name: str) -> float:
            return float(np.linalg.norm(resnet.output(name)))

        total = content(screen, "#res-sum")
        assert f"‖main‖ {norm('layer2.0.bn2'):.4g}" in total
        assert f"‖skip‖ {norm('layer2.0.downsample.1'):.4g}" in total
        assert f"‖sum‖ {norm('layer2.0.add'):.4g}" in total
        mean = float(np.mean(np.abs(resnet.output("layer2.0.relu1"))))
        assert f"{mean:>9.3g}" in main
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert screen.block.add == "layer1.1.add"
        assert "identity" in content(screen, "#res-skip")
        assert f"‖skip‖ {norm('layer1.0.relu2'):.4g}" in content(screen, "#res-sum")


async def test_residual_screen_on_a_network_without_blocks_says_so() -> None:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape)
    app = NetsimApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ResidualScreen(net, "conv1")
        app.push_screen(screen)
        await settle(app, pilot)
        assert screen.block is None
        assert screen.error == "conv1: conv1 is a conv2d layer, not an add joining two paths"


# ---------------------------------------------------------------- depth


TINY = DepthConfig(depths=(1, 3), width=8, iterations=30, eval_every=10, batch_size=16)


async def test_depth_screen_trains_a_tiny_config_and_shows_the_engines_errors() -> None:
    expected = run_depth_experiment(digit_data(), TINY)
    app = NetsimApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = DepthScreen(TINY)
        app.push_screen(screen)
        await settle(app, pilot)
        assert screen.finished
        assert [(r.kind, r.depth) for r in screen.runs] == [(r.kind, r.depth) for r in expected]
        table = content(screen, "#depth-table")
        for got, want in zip(screen.runs, expected, strict=True):
            np.testing.assert_array_equal(got.train_error, want.train_error)
            assert fmt_error(want.final_error) in table
            assert fmt_error(want.test_error) in table
        plain = screen.query_one("#depth-plain", LineChart)
        assert [s.name for s in plain.series] == ["1", "3"]
        np.testing.assert_array_equal(plain.series[1].ys, expected[2].train_error)
        assert "plain: 1 blocks end at" in content(screen, "#depth-status")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DepthScreen)


async def test_depth_screen_escape_stops_the_training() -> None:
    app = NetsimApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = DepthScreen(DepthConfig(depths=(2, 4), width=8, iterations=100_000))
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert not screen.finished
        assert not isinstance(app.screen, DepthScreen)


def test_digit_data_uses_the_shipped_split() -> None:
    data = digit_data()
    assert data.x_train.shape[1] == 64 and data.y_test is not None
    assert len(data.y_train) + len(data.y_test) == 1797
    assert data.x_train.min() >= 0.0 and data.x_train.max() == 1.0


# ---------------------------------------------------------------- widgets


def test_decade_range_and_special_values() -> None:
    assert decade_range([3.6e-7, 2.1]) == (-7, 1)
    assert decade_range([0.0, math.inf, math.nan]) == (0, 2)
    assert decade_range([1.0]) == (-1, 1)  # widened on both sides


async def test_log_bars_draw_inf_full_and_zero_empty() -> None:
    app = NetsimApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        bars = LogBars(thresholds=(1e-6,))
        await screen.mount(bars)
        bars.set_rows(
            [
                BarRow("big", math.inf, Text("inf"), "exploding"),
                BarRow("none", 0.0, Text("0")),
                BarRow("mid", 1e-3, Text("1e-3")),
            ]
        )
        await pilot.pause()
        full, empty, mid = (bars.row_text(i).plain for i in range(3))
        assert "█" * 10 in full
        assert "█" not in empty
        assert mid.count("█") < full.count("█")


def test_shown_elides_the_middle() -> None:
    assert shown(5, 10) == [0, 1, 2, 3, 4]
    assert shown(64, 5) == [0, 1, 2, None, 63]
