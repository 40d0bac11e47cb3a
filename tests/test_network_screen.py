"""The network screen: the layer table from shapes, feature maps, top-5, layers in the player."""

from __future__ import annotations

import numpy as np
import pytest
from rich.text import Text

import tui.screens.network as network_screen_module
from engine.architectures import architecture
from engine.core import Simulation
from engine.network import Network, NetworkStage
from tui.app import NetsimApp
from tui.screens.help import NETWORK_KEYS, HelpScreen
from tui.screens.network import (
    COLUMNS,
    LayerTable,
    NetworkScreen,
    layer_rows,
    needed_layers,
    totals_row,
    vector_grid,
)
from tui.screens.player import PlayerScreen
from tui.widgets.featuremaps import FeatureMapGallery, gallery_layout
from tui.widgets.halfblock import HalfBlockImage, fit, heat_colours, image_colours, resample
from tui.widgets.topk import TopK, softmax, top_k

SIZE = (120, 40)


def lenet(*, seed: int | None = 0, input_seed: int | None = 1) -> Network:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, title="LeNet-5")
    if seed is not None:
        net.init_params(seed)
    if input_seed is not None:
        net.set_input(np.random.default_rng(input_seed).standard_normal(shape))
    return net


def small_resnet() -> Network:
    layers, _ = architecture("resnet18")
    net = Network(layers, (3, 32, 32), title="ResNet-18")
    net.init_params(0)
    net.set_input(np.random.default_rng(2).standard_normal((3, 32, 32)))
    return net


def network_app(net: Network, **kw: object) -> NetsimApp:
    sim = Simulation([NetworkStage(net)], title=net.title, description="A network.")
    kw.setdefault("check", False)
    return NetsimApp(sim, **kw)  # type: ignore[arg-type]


def network_screen(app: NetsimApp) -> NetworkScreen:
    screen = app.screen
    assert isinstance(screen, NetworkScreen)
    return screen


def cells(table: LayerTable, row: int) -> dict[str, str]:
    values = table.get_row_at(row)
    return {key: str(v).strip() for (key, _, _), v in zip(COLUMNS, values, strict=True)}


async def settle(app: NetsimApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


# -- the table -------------------------------------------------------------------------------------


def test_rows_and_totals_come_from_the_shapes_of_lenet() -> None:
    net = lenet(seed=None, input_seed=None)  # no weights, no input: shapes alone
    rows = layer_rows(net)
    by_name = {layer.name: row for layer, row in zip(net.layers, rows, strict=True)}
    assert [str(r["name"]) for r in rows] == [layer.name for layer in net.layers]
    conv1 = by_name["conv1"]
    assert (str(conv1["f"]), str(conv1["s"]), str(conv1["p"]), str(conv1["n"])) == (
        "5",
        "1",
        "0",
        "6",
    )
    assert str(conv1["shape"]) == "28×28×6"  # H×W×C, while the engine's shape is (C, H, W)
    assert net.shape("conv1") == (6, 28, 28)
    assert str(by_name["fc1"]["shape"]) == "120"
    for pool in ("pool1", "pool2"):
        assert str(by_name[pool]["params"]) == "0"
        assert str(by_name[pool]["f"]) == str(by_name[pool]["s"]) == "2"
    assert str(by_name["conv1"]["params"]) == f"{net.param_count('conv1'):,}"
    # Most parameters are in the fully connected layers, and the share column says so.
    fc_share = sum(net.param_count(n) for n in ("fc1", "fc2", "fc3")) / net.param_count()
    assert fc_share > 0.9
    assert (
        str(by_name["fc1"]["share"])
        .strip()
        .endswith(f"{net.param_count('fc1') / net.param_count():.1%}")
    )
    totals = totals_row(net)
    assert str(totals["params"]) == f"{net.param_count():,}" == "61,706"
    assert str(totals["size"]) == f"{sum(net.activation_size(x.name) for x in net.layers):,}"


async def test_the_screen_opens_from_shapes_alone_without_computing_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Too much work to compute whole at open (LeNet-5 is small enough: see the next test).
    monkeypatch.setattr(network_screen_module, "INLINE_WORK", 300_000)
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = network_screen(app)
        table = screen.table
        assert table.row_count == len(net.layers)
        assert cells(table, 3)["name"] == "conv2"
        assert cells(table, 3)["shape"] == "10×10×16"
        # Nothing but the first layer (where the cursor starts) is ever computed.
        await settle(app, pilot)
        assert [n for n in (layer.name for layer in net.layers) if net.computed(n)] == ["conv1"]
        assert not screen.query_one("#net-top5-box").display
        totals = str(screen.query_one("#net-totals").render())
        assert "61,706" in totals
        info = str(screen.query_one("#net-info").render())
        assert "seeded weights" in info and "not trained" in info and "float32" in info


async def test_a_small_network_is_computed_whole_before_its_first_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its class scores are on screen from the start: no later key lays the screen out for them.
    net = lenet()
    app = network_app(net)
    frames: list[tuple[bool, list[tuple[str, float]]]] = []
    display = NetsimApp._display

    def recording(self: NetsimApp, target: object, renderable: object) -> None:
        if renderable is not None and not frames and isinstance(self.screen, NetworkScreen):
            top5 = self.screen.query_one(TopK)
            frames.append((self.screen.query_one("#net-top5-box").display, top5.rows))
        display(self, target, renderable)  # type: ignore[arg-type]

    monkeypatch.setattr(NetsimApp, "_display", recording)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert all(net.computed(layer.name) for layer in net.layers)
        assert frames, "no frame of the network screen was painted"
        shown, rows = frames[0]
        assert shown, "the first frame had no top-5 box"
        probs = softmax(net.output(net.layers[-1].name))
        best = int(np.argmax(probs))
        assert rows[0] == (f"class {best}", pytest.approx(float(probs[best])))


async def test_a_network_without_input_still_shows_its_table() -> None:
    net = lenet(input_seed=None)
    app = network_app(net)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        assert screen.table.row_count == len(net.layers)
        assert not screen.gallery.display
        assert "No input" in str(screen.query_one("#net-note").render())


def test_needed_layers_follow_the_graph_and_skip_what_is_computed() -> None:
    net = small_resnet()
    assert needed_layers(net, "conv1") == ["conv1"]
    todo = needed_layers(net, "layer2.0.add")
    assert todo[0] == "conv1" and todo[-1] == "layer2.0.add"
    assert "layer2.0.downsample.1" in todo  # the skip path's projection
    net.output("layer1.1.relu2")
    assert needed_layers(net, "layer2.0.add")[0].startswith("layer2.0.")


# -- the selected layer ----------------------------------------------------------------------------


async def test_the_gallery_shows_the_layers_channels_and_moves_with_the_cursor() -> None:
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        gallery = screen.gallery
        assert gallery.count == 6  # conv1's channels
        await pilot.press("down", "down", "down")  # conv2
        await settle(app, pilot)
        assert screen.selected == "conv2"
        assert net.computed("conv2")
        assert gallery.count == 16
        await pilot.press("n", "n")
        assert gallery.current == 2
        assert gallery.current in gallery.shown
        await pilot.press("N")
        assert gallery.current == 1
        shared = gallery.shared_scale
        await pilot.press("s")
        assert gallery.shared_scale is not shared
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert screen.selected == "relu2"


async def test_top5_appears_once_the_last_layer_is_computed_with_scenario_labels() -> None:
    net = lenet()
    sim = Simulation([NetworkStage(net)], title="LeNet-5")
    labels = [f"digit {i}" for i in range(10)]
    sim.labels = labels  # type: ignore[attr-defined]  # read defensively by the screen
    app = NetsimApp(sim, check=False, start=len(net.layers) - 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        assert screen.selected == "fc3"
        assert screen.query_one("#net-top5-box").display
        rows = screen.query_one(TopK).rows
        probs = softmax(net.output("fc3"))
        best = int(np.argmax(probs))
        assert rows[0] == (labels[best], pytest.approx(float(probs[best])))
        assert len(rows) == 5


# -- a layer in the player -------------------------------------------------------------------------


async def test_enter_opens_the_layer_in_the_player_with_its_real_input() -> None:
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("down", "down", "down")  # conv2 reads pool1's output
        await pilot.press("enter")
        await settle(app, pilot)
        player = app.screen
        assert isinstance(player, PlayerScreen)
        (stage,) = player.simulation.stages
        assert stage.name == "conv2" and stage.kind == "conv"
        assert "conv2" in player.simulation.title
        np.testing.assert_array_equal(stage.x, net.output("pool1"))  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert screen.selected == "conv2"


async def test_brackets_in_the_player_move_layer_by_layer() -> None:
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("enter")  # conv1
        await settle(app, pilot)
        assert app.screen.simulation.stages[0].name == "conv1"  # type: ignore[attr-defined]
        await pilot.press("right", "right_square_bracket")
        await settle(app, pilot)
        player = app.screen
        assert isinstance(player, PlayerScreen)
        (stage,) = player.simulation.stages
        assert stage.name == "relu1"
        np.testing.assert_array_equal(stage.x, net.output("conv1"))  # type: ignore[attr-defined]
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert app.screen.simulation.stages[0].name == "pool1"  # type: ignore[attr-defined]
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert app.screen.simulation.stages[0].name == "relu1"  # type: ignore[attr-defined]
        assert screen.selected == "relu1"
        # One player at a time: Esc goes straight back to the table.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert len(app.screen_stack) == 2


async def test_esc_before_the_layer_asked_for_with_a_bracket_is_ready_stays_on_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    ready = threading.Event()
    stage = Network.stage

    def slow_stage(self: Network, name: str) -> object:
        if name == "relu1":
            ready.wait(10)
        return stage(self, name)

    monkeypatch.setattr(Network, "stage", slow_stage)
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("enter")  # conv1
        await settle(app, pilot)
        await pilot.press("right_square_bracket", "escape")  # relu1 is not ready yet
        await pilot.pause()
        assert app.screen is screen
        ready.set()
        await settle(app, pilot)
        await pilot.pause(0.1)
        assert app.screen is screen, "the layer left brought the player back"
        assert len(app.screen_stack) == 2
        await pilot.press("enter")  # asked for from the table, it opens as before
        await settle(app, pilot)
        assert isinstance(app.screen, PlayerScreen)


async def test_a_layer_asked_for_from_the_table_opens_though_a_dialog_came_over_it() -> None:
    # Enter then ? typed ahead: the help is on top when the table's request is handled.
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        screen.open_layer("relu1")
        await pilot.press("escape")  # the help closes; the request stands
        await settle(app, pilot)
        await pilot.pause(0.1)
        assert isinstance(app.screen, PlayerScreen)
        assert app.screen.simulation.stages[0].name == "relu1"


async def test_bracket_back_at_the_first_layer_stays_there() -> None:
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        player = app.screen
        assert isinstance(player, PlayerScreen)
        assert player.simulation.stages[0].name == "conv1"


async def test_a_small_resnets_residual_add_reads_both_paths() -> None:
    net = small_resnet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        row = net.index("layer2.0.downsample.0")
        screen.table.move_cursor(row=row)
        await settle(app, pilot)
        assert screen.gallery.count == net.shape("layer2.0.downsample.0")[0] == 128
        assert screen.gallery.current in screen.gallery.shown
        assert "+" in screen.gallery.legend() or screen.gallery.tiling.count == 128
        await pilot.press("enter")
        await settle(app, pilot)
        (stage,) = app.screen.simulation.stages  # type: ignore[attr-defined]
        assert stage.name == "layer2.0.downsample.0"
        np.testing.assert_array_equal(stage.x, net.output("layer1.1.relu2"))


async def test_help_lists_the_network_keys() -> None:
    app = network_app(lenet())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.keys is NETWORK_KEYS
        described = " ".join(key for key, _ in NETWORK_KEYS)
        for key in ("Enter", "]", "[", "n", "N", "s", "Esc", "q"):
            assert key in described


# -- the widgets on their own ----------------------------------------------------------------------


def test_half_blocks_keep_the_aspect_and_fit_the_space() -> None:
    assert fit(28, 28, 80, 10) == (20, 20)  # 10 lines are 20 pixel rows
    assert fit(224, 112, 100, 50) == (100, 50)
    assert fit(5, 5, 80, 20) == (40, 40)  # whole factors only: crisp blocks
    rgb = heat_colours(np.arange(16.0).reshape(4, 4), 0.0, 15.0)
    small = resample(rgb, 2, 2)
    assert small.shape == (2, 2, 3)
    assert int(small[0, 0, 0]) == round(rgb[:2, :2, 0].astype(float).mean())
    assert resample(rgb, 8, 8)[7, 7].tolist() == rgb[3, 3].tolist()
    colour = image_colours(np.stack([np.zeros((2, 2)), np.ones((2, 2)), np.zeros((2, 2))]))
    assert colour[0, 0].tolist() == [0, 255, 0]


def test_heat_colours_are_the_grids_and_signed_data_is_blue_and_red() -> None:
    rgb = heat_colours(np.array([-2.0, 0.0, 2.0, np.nan, np.inf]), -2.0, 2.0)
    assert rgb[0, 2] > rgb[0, 0]  # negative: blue
    assert rgb[2, 0] > rgb[2, 2]  # positive: red
    assert rgb[3].tolist() == [150, 0, 150]
    assert rgb[4].tolist() == rgb[2].tolist()


@pytest.mark.parametrize(
    ("n", "side", "width", "height"),
    [(6, 28, 78, 9), (512, 7, 60, 15), (64, 112, 100, 14), (1, 5, 10, 3)],
)
def test_gallery_layout_fits_and_keeps_the_current_map_in_view(
    n: int, side: int, width: int, height: int
) -> None:
    for current in (0, n // 2, n - 1):
        t = gallery_layout(n, side, side, width, height, current)
        assert t.first <= current < t.first + t.count
        assert t.cols * (t.tile_w + 1) - 1 <= width
        assert t.rows * t.lines_per_row <= height
        assert t.count <= n and t.cols * t.rows >= t.count


def test_gallery_layout_shows_six_lenet_maps_at_once_and_pages_512() -> None:
    assert gallery_layout(6, 28, 28, 78, 9, 0).count == 6
    many = gallery_layout(512, 7, 7, 60, 15, 300)
    assert many.count < 512 and many.tile_w == 7


def test_vectors_are_drawn_as_whole_rows() -> None:
    for n in (10, 84, 120, 4096, 7):
        w = vector_grid(n)
        assert n % w == 0


def test_top_k_makes_room_for_its_note_as_it_wraps() -> None:
    # At 80 columns the box is 22 wide: "softmax of fc3's scores" takes two lines there, and the
    # line under it must not be cut off.
    from textual.geometry import Size

    bars = TopK()
    bars.set_scores(np.array([0.5, 0.3, 0.2]), note="softmax of fc3's scores\n✓ true class: 7")
    assert bars.get_content_height(Size(80, 24), Size(80, 24), 80) == 3 + 2
    assert bars.get_content_height(Size(22, 24), Size(80, 24), 22) == 3 + 2 + 1


def test_top_k_orders_by_probability() -> None:
    p = softmax(np.array([1.0, 3.0, 2.0, 3.0]))
    assert p.sum() == pytest.approx(1.0)
    assert [i for i, _ in top_k(p, 3)] == [1, 3, 2]


async def test_the_gallery_lights_a_clicked_map() -> None:
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield FeatureMapGallery(np.random.default_rng(0).standard_normal((6, 8, 8)))

    app = One()
    async with app.run_test(size=(60, 12)) as pilot:
        gallery = app.query_one(FeatureMapGallery)
        t = gallery.tiling
        await pilot.click(FeatureMapGallery, offset=(2 * (t.tile_w + 1) + 1, 2))
        assert gallery.current == 2
        assert Text.from_markup(gallery.legend()).plain.startswith("one scale")


class DescribedStage(NetworkStage):
    """A network stage carrying what a scenario file says besides the network, as the
    network kind's stage does: class names, the picture fed, the weights' origin."""

    def __init__(self, network: Network, **facts: object) -> None:
        super().__init__(network)
        for key, value in facts.items():
            setattr(self, key, value)


async def test_what_the_scenario_says_is_on_screen() -> None:
    net = lenet()
    net.load_state_dict(dict(net.params))  # loaded, not seeded
    picture = (np.arange(32 * 32).reshape(32, 32, 1) % 256).astype(np.uint8)
    target = int(np.argmax(net.output("fc3")))
    stage = DescribedStage(
        net,
        labels=tuple(f"digit {i}" for i in range(10)),
        picture=picture,
        target=target,
        weights_source="data/lenet5_digits.npz",
        weights_note="test accuracy 98.7%",
        input_source="digit 7",
    )
    app = NetsimApp(Simulation([stage], title="LeNet-5"), check=False, start=len(net.layers) - 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        info = str(screen.query_one("#net-info").render())
        for text in ("data/lenet5_digits.npz", "test accuracy 98.7%", "digit 7"):
            assert text in info
        assert "seeded" not in info
        top5 = screen.query_one(TopK)
        assert top5.rows[0][0] == f"digit {target}"
        assert top5.target_rank == 0
        image = screen.query_one("#net-input", HalfBlockImage)
        assert image.source_shape == (32, 32)


async def test_the_seed_is_read_from_where_the_weights_came_from() -> None:
    stage = DescribedStage(lenet(seed=3), weights_source="seeded (seed 3): random, not trained")
    app = NetsimApp(Simulation([stage]), check=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        info = str(network_screen(app).query_one("#net-info").render())
        assert "seeded weights (Kaiming, seed 3) — not trained" in info


async def test_home_and_end_go_to_the_first_and_last_layer() -> None:
    net = lenet()
    app = network_app(net)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("end")
        await settle(app, pilot)
        assert screen.selected == net.layers[-1].name
        assert screen.query_one("#net-top5-box").display
        await pilot.press("home")
        assert screen.selected == net.layers[0].name


async def test_from_the_browser_the_network_opens_its_table_and_esc_returns() -> None:
    from tui.screens.browser import BrowserScreen

    app = NetsimApp(check=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        net = lenet()
        browser.post_message(BrowserScreen.Opened(Simulation([NetworkStage(net)])))
        await settle(app, pilot)
        screen = network_screen(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PlayerScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is browser


async def test_each_map_its_own_scale_says_so() -> None:
    app = network_app(lenet())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        gallery = network_screen(app).gallery
        assert "one scale for all" in gallery.legend()
        await pilot.press("s")
        assert "each map its own scale" in gallery.legend()


def test_resnet_rows_show_the_projection_and_the_totals() -> None:
    layers, _ = architecture("resnet18")
    net = Network(layers, (3, 32, 32))  # shapes only: no weights, no input
    rows = {layer.name: row for layer, row in zip(net.layers, layer_rows(net), strict=True)}
    down = rows["layer2.0.downsample.0"]
    assert [str(down[k]) for k in ("f", "s", "p", "n")] == ["1", "2", "0", "128"]
    assert str(rows["layer2.0.add"]["params"]) == "0"
    assert str(rows["maxpool"]["params"]) == "0"
    assert str(rows["avgpool"]["f"]) == "→1×1"
    assert str(totals_row(net)["params"]) == "11,689,512"
    # Spatial size shrinks while channels grow, stage by stage.
    shapes = [net.shape(f"layer{k}.0.conv1") for k in (1, 2, 3, 4)]
    assert [c for c, _, _ in shapes] == [64, 128, 256, 512]
    assert [h for _, h, _ in shapes] == [8, 4, 2, 1]
    assert [str(rows[f"layer{k}.0.conv1"]["shape"]) for k in (1, 4)] == ["8×8×64", "1×1×512"]


async def test_the_view_keys_open_their_screens_where_they_mean_something() -> None:
    """g opens the gradient flow on any network with an input; r only inside a residual block;
    c only on a short chain of linear layers; e only on a plain stack."""
    import scenarios
    from tui.app import NetsimApp
    from tui.screens.collapse import CollapseScreen
    from tui.screens.gradients import GradientScreen
    from tui.screens.network import NetworkScreen
    from tui.screens.residual import ResidualScreen

    sim = scenarios.load(scenarios.resolve("net_custom_layers"))
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        assert screen.check_action("experiment", ()) is False
        assert screen.check_action("collapse", ()) is False  # one linear layer only
        assert screen.check_action("residual", ()) is False  # conv1: before the block
        await pilot.press("right_square_bracket", "right_square_bracket")  # conv2: main path
        assert screen.check_action("residual", ()) is True
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ResidualScreen)
        await pilot.press("escape")
        await pilot.press("end")
        assert screen.check_action("residual", ()) is False
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GradientScreen)
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        assert app.screen is screen

    sim = scenarios.load(scenarios.resolve("net_mlp_linear_digits"))
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        assert screen.check_action("collapse", ()) is True
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CollapseScreen)
        await app.workers.wait_for_complete()
        assert app.crash is None


# -- the table on a narrow terminal, and one frame per key -------------------------------------


async def test_at_80_columns_the_table_is_compact_and_its_main_columns_are_on_screen() -> None:
    app = network_app(small_resnet())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = network_screen(app)
        table = screen.table
        headers = [str(column.label).strip() for column in table.columns.values()]
        # One word each: no header reads into the next ("filters out H×W×C").
        assert all(" " not in h for h in headers), headers
        assert headers[:8] == ["layer", "op", "f", "s", "p", "n", "H×W×C", "params"]
        x = 0
        for column in table.columns.values():  # every column up to the share fits unscrolled
            x += column.get_render_width(table)
            if str(column.label).strip() == "share":
                break
        assert x <= table.scrollable_content_region.width
        ops = {cells(table, r)["op"] for r in range(table.row_count)}
        assert "bn" in ops and "batchnorm2d" not in ops
        await pilot.resize_terminal(200, 50)  # room again: the whole table
        await pilot.pause()
        headers = [str(column.label).strip() for column in table.columns.values()]
        assert headers[5:7] == ["filters", "out H×W×C"]
        ops = {cells(table, r)["op"] for r in range(table.row_count)}
        assert "batchnorm2d" in ops
        assert table.max_scroll_x == 0


@pytest.mark.parametrize("whole", [True, False], ids=["computed-at-open", "layer-by-layer"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_down_in_the_table_paints_one_frame(
    size: tuple[int, int], whole: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor, the layer's maps and its title change in one frame, on a first visit to a
    small layer (computed on the spot) as on a later one. A network computed whole at open
    shows its scores from the start, so the last layer takes one frame too."""
    if not whole:
        monkeypatch.setattr(network_screen_module, "INLINE_WORK", 300_000)
    app = network_app(lenet())
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        screen = network_screen(app)
        frames: list[int] = []
        display = app._display

        def counting(target: object, renderable: object) -> None:
            if renderable is not None:
                frames.append(1)
            display(target, renderable)  # type: ignore[arg-type]

        app._display = counting  # type: ignore[method-assign]
        downs = len(screen.network.layers) - 1 if whole else 5  # not onto the scores' layer
        for key in ["down"] * downs + ["up"] * 3:
            frames.clear()
            before = screen.selected
            await pilot.press(key)
            await settle(app, pilot)
            assert screen.selected != before
            assert screen.network.computed(screen.selected)
            assert len(frames) == 1, f"{len(frames)} frames for {key} to {screen.selected}"
