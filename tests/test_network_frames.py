"""What a key press in the layer table costs the screen, counted rather than timed: the frames
it paints, the layouts it asks for, and which thread draws a page of large feature maps.
Timings live in benchmarks/bench_keys.py.

Frames are counted by wrapping ``App._display`` on the app instance, the method every frame
passes through (internal to Textual, whose version is pinned), as in tests/test_frames.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import numpy as np
import pytest
from apps import held_by_another_thread, kind_of, painted
from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import DataTable

import scenarios
import tui.screens.network as network_screen_module
from engine.architectures import architecture
from engine.core import Simulation
from engine.network import Network, NetworkStage
from tui.app import NetsimApp
from tui.panels.base import Panel
from tui.screens.network import NetworkScreen
from tui.screens.player import PlayerScreen
from tui.widgets import featuremaps
from tui.widgets.matrix import MatrixGrid

SIZE = (120, 40)


def lenet() -> Network:
    layers, shape = architecture("lenet5")
    net = Network(layers, shape, title="LeNet-5")
    net.init_params(0)
    net.set_input(np.random.default_rng(1).standard_normal(shape))
    return net


def count_frames(app: NetsimApp) -> list[str]:
    """A list that fills with the kind of every frame ``app`` paints."""
    return painted(app, kind_of)


def count_layouts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A list that fills with the class name of every widget that asks for a layout."""
    layouts: list[str] = []
    refresh = Widget.refresh

    def counting_refresh(self: Widget, *regions: Any, **kw: Any) -> Any:
        if kw.get("layout"):
            layouts.append(type(self).__name__)
        return refresh(self, *regions, **kw)

    monkeypatch.setattr(Widget, "refresh", counting_refresh)
    return layouts


async def settle(app: NetsimApp, pilot: Any) -> None:
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


def layer_by_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """LeNet-5 computed a layer at a time as the cursor reaches it, not whole at open."""
    monkeypatch.setattr(network_screen_module, "INLINE_WORK", 300_000)


def lenet_app() -> tuple[Network, NetsimApp]:
    """LeNet-5 (seeded weights and input) and an app opened on its layer table."""
    net = lenet()
    return net, NetsimApp(Simulation([NetworkStage(net)], title=net.title), check=False)


async def table_of(app: NetsimApp, pilot: Any) -> NetworkScreen:
    """The app's network screen, once its workers and frames have settled."""
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, NetworkScreen)
    return screen


async def test_down_onto_a_computed_layer_with_large_maps_draws_them_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every page counts as large here, so LeNet's small maps take the path VGG's take.
    monkeypatch.setattr(network_screen_module, "DRAW_INLINE", 0)
    tiles_by: dict[str, int] = {"main": 0, "worker": 0}
    draw_tile = featuremaps.draw_tile

    def counting_tile(*args: Any) -> Any:
        main = threading.current_thread() is threading.main_thread()
        tiles_by["main" if main else "worker"] += 1
        return draw_tile(*args)

    monkeypatch.setattr(featuremaps, "draw_tile", counting_tile)
    layouts = count_layouts(monkeypatch)
    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        second = net.layers[1].name
        net.output(second)  # computed before the key: only drawing is left
        frames = count_frames(app)
        for key in tiles_by:
            tiles_by[key] = 0
        layouts.clear()
        await pilot.press("down")
        # The key's frame: the cursor on the new row, the gallery emptied in place.
        assert screen.selected == second
        assert tiles_by["main"] == 0, "the page of maps was drawn on the event loop"
        assert layouts == [], f"the key asked for a layout: {layouts}"
        assert frames and frames[0] == "ChopsUpdate"
        await settle(app, pilot)
        gallery = screen.gallery
        assert gallery.display and gallery.count == net.shape(second)[0]
        assert tiles_by["worker"] == len(gallery.shown)
        assert tiles_by["main"] == 0, "the worker's tiles were drawn again on the event loop"
        assert len(frames) <= 3, frames
        assert layouts == [], f"showing the drawn maps asked for a layout: {layouts}"


async def test_down_onto_a_layer_with_a_large_output_paints_before_computing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every output counts as large here, so LeNet's layers take the path ResNet's take: fresh
    # memory for a large output costs more than a frame, so a worker computes it after the
    # key's frame, and the gallery waits emptied in place (no note, no layout).
    monkeypatch.setattr(network_screen_module, "INLINE_OUTPUT", 0)
    computed_by: list[str] = []
    output = Network.output

    def counting_output(self: Network, name: str, **kw: Any) -> Any:
        if not self.computed(name):
            main = threading.current_thread() is threading.main_thread()
            computed_by.append("main" if main else "worker")
        return output(self, name, **kw)

    monkeypatch.setattr(Network, "output", counting_output)
    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        second = net.layers[1].name
        assert not net.computed(second)
        computed_by.clear()
        box = screen.query_one("#net-maps-box")
        # What each frame showed: its kind, the box's subtitle, whether the layer was computed.
        frames = painted(
            app,
            lambda _, update: (kind_of(_, update), str(box.border_subtitle), net.computed(second)),
        )
        layouts = count_layouts(monkeypatch)
        await pilot.press("down")
        assert screen.selected == second
        assert "main" not in computed_by, "the layer was computed on the event loop"
        # The key's frame came before the layer was computed, and said what it waits for.
        assert frames and frames[0] == ("ChopsUpdate", f"computing {second} …", False), frames
        assert screen.gallery.display
        await settle(app, pilot)
        assert computed_by == ["worker"]
        assert all(kind == "ChopsUpdate" for kind, _, _ in frames), frames
        assert layouts == [], f"the wait or the maps asked for a layout: {layouts}"
        assert screen.gallery.count == net.shape(second)[0]
        assert str(box.border_subtitle).startswith("map 0 of ")


async def test_the_event_loop_never_waits_for_a_thread_inside_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker's thread stays inside the network (holding its lock) until told to go on, as
    # a long layer would; Textual calls a cancelled thread worker finished at once, but the
    # thread finishes its layer. Meanwhile keys must be answered: back onto a layer computed
    # before (its maps read without the lock), and onto a layer small enough to compute on
    # the spot (left to a worker instead).
    monkeypatch.setattr(network_screen_module, "INLINE_OUTPUT", 0)
    release, inside = threading.Event(), threading.Event()
    waited_out: list[bool] = []
    computed_by: list[str] = []
    compute = Network._compute

    def slow_compute(self: Network, i: int) -> None:
        main = threading.current_thread() is threading.main_thread()
        computed_by.append("main" if main else "worker")
        if not main and not release.is_set():
            inside.set()
            waited_out.append(not release.wait(10))
        compute(self, i)

    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        monkeypatch.setattr(Network, "_compute", slow_compute)
        try:
            await pilot.press("down")  # a worker computes relu1, and stays inside
            for _ in range(200):
                if inside.is_set():
                    break
                await pilot.pause(0.01)
            assert inside.is_set()
            frames = count_frames(app)
            await pilot.press("up")  # conv1: computed; its maps read while the thread holds on
            assert screen.selected == net.layers[0].name and frames, frames
            assert screen.gallery.count == net.shape(net.layers[0].name)[0]
            # Small enough now to compute on the spot, were no thread inside the network.
            monkeypatch.setattr(network_screen_module, "INLINE_OUTPUT", 10**9)
            await pilot.press("down")
            assert computed_by and "main" not in computed_by, computed_by
            assert not release.is_set() and not waited_out  # all of it while the thread held on
        finally:
            release.set()
        await settle(app, pilot)
        assert waited_out == [False] and "main" not in computed_by, (waited_out, computed_by)
        second = net.layers[1].name
        assert screen.selected == second and net.computed(second)
        assert screen.gallery.count == net.shape(second)[0]


async def test_a_thread_of_another_view_inside_the_network_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer_by_layer(monkeypatch)
    # The residual and gradient views compute in threads of their own on the same network.
    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        second = net.layers[1].name
        assert not net.computed(second)
        with held_by_another_thread(net):
            await pilot.press("down")  # small: on the spot, but for the thread inside
            assert screen.selected == second and not net.computed(second)
        await settle(app, pilot)
        assert net.computed(second) and screen.gallery.count == net.shape(second)[0]


async def test_a_worker_queued_for_a_layer_left_before_the_next_frame_never_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two keys read at once: the worker the first one queued (to start once its frame is
    # painted) is not wanted by then; nor after the screen is left.
    monkeypatch.setattr(network_screen_module, "INLINE_OUTPUT", 0)
    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        first, second = net.layers[0].name, net.layers[1].name
        screen.selected = second
        screen.selected = first
        await settle(app, pilot)
        assert not net.computed(second)
        screen.selected = second
        screen.action_back()
        await settle(app, pilot)
        assert not net.computed(second)
        assert not isinstance(app.screen, NetworkScreen)


async def test_the_map_chosen_stays_lit_through_waits_and_a_failure_clears_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every layer waits for a worker, its gallery emptied meanwhile: the choice is the screen's.
    monkeypatch.setattr(network_screen_module, "INLINE_OUTPUT", 0)
    net, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        for _ in range(3):
            await pilot.press("n")
        with held_by_another_thread(net):  # no maps come until the block ends
            await pilot.press("down", "down")  # the second before the first layer's maps came
            assert screen.gallery.count == 0
            await pilot.press("n")  # nothing to light while the gallery waits: no change
        await settle(app, pilot)
        assert screen.selected == net.layers[2].name and screen.gallery.current == 3
        assert str(screen.query_one("#net-maps-box").border_subtitle).startswith("map 3 of ")
        await pilot.press("down")  # conv2: 16 maps
        await settle(app, pilot)
        for _ in range(7):
            await pilot.press("n")
        assert screen.gallery.current == 10
        await pilot.press("up")  # pool1 has 6 maps: its last is lit
        await settle(app, pilot)
        assert screen.gallery.current == 5
        await pilot.press("n")  # already the last: the choice stays
        await pilot.press("down")  # conv2 again: the map chosen there
        await settle(app, pilot)
        assert screen.gallery.current == 10
        fifth = net.layers[4].name  # relu2, after conv2
        output = Network.output

        def failing(self: Network, name: str, **kw: Any) -> Any:
            if name == fifth:
                raise ValueError("no such luck")
            return output(self, name, **kw)

        with monkeypatch.context() as patch:
            patch.setattr(Network, "output", failing)
            await pilot.press("down")
            await settle(app, pilot)
            note = screen.query_one("#net-note")
            assert note.display and "could not be computed: no such luck" in str(note.render())
            assert str(screen.query_one("#net-maps-box").border_subtitle) == ""
        with held_by_another_thread(net):
            await pilot.press("end")  # several layers to compute: a note hides the gallery
            assert not screen.gallery.display
            await pilot.press("n")  # the old maps behind the note are not chosen from
        await settle(app, pilot)
        assert screen.selected == net.layers[-1].name and screen.gallery.count == 1
        await pilot.press("n")  # one map (a vector): nothing to move to
        await pilot.press("home")
        await settle(app, pilot)
        assert screen.gallery.current == min(10, screen.gallery.count - 1)


async def test_a_worker_told_to_stop_while_saying_its_progress_computes_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The progress is said on the event loop, where a key may cancel the worker meanwhile.
    monkeypatch.setattr(network_screen_module, "INLINE_WORK", 0)
    progress = NetworkScreen._progress

    def cancelling(self: NetworkScreen, name: str, k: int, *args: Any) -> None:
        progress(self, name, k, *args)
        if name == "conv2":
            self._stop_workers()  # as a ↓ does

    monkeypatch.setattr(NetworkScreen, "_progress", cancelling)
    # Textual calls a cancelled thread worker finished at once: wait for its thread itself.
    finished = threading.Event()
    run = NetworkScreen._run

    def running(self: NetworkScreen, name: str, todo: list[str]) -> bool:
        try:
            return run(self, name, todo)
        finally:
            finished.set()

    monkeypatch.setattr(NetworkScreen, "_run", running)
    net = lenet()
    app = NetsimApp(Simulation([NetworkStage(net)], title=net.title), check=False, start=3)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(500):
            if finished.is_set():
                break
            await pilot.pause(0.01)
        assert finished.is_set()
        assert app.screen.selected == "conv2"  # type: ignore[attr-defined]
        assert not net.computed("conv1"), "the worker computed a layer after it was stopped"


async def test_a_resize_that_refills_the_table_shows_no_other_layer() -> None:
    _, app = lenet_app()
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await table_of(app, pilot)
        for _ in range(3):
            await pilot.press("down")
        await settle(app, pilot)
        chosen = screen.selected
        shown: list[str] = []
        show = screen._show_layer
        screen._show_layer = lambda name: (shown.append(name), show(name))[1]  # type: ignore[method-assign]
        compact = [screen._compact]
        for width in (60, 200):  # across the width where the table is drawn compact
            await pilot.resize_terminal(width, 40)
            await settle(app, pilot)
            compact.append(screen._compact)
        assert compact == [False, True, False]  # refilled twice
        assert screen.selected == chosen and shown == [], shown


def test_a_pooling_layers_work_counts_each_cell_of_its_window() -> None:
    net = lenet()
    pools = [layer.name for layer in net.layers if layer.op == "maxpool2d"]
    assert pools
    for name in pools:
        k = net.hyper(name)["kernel_size"]
        cells = k[0] * k[1]
        assert cells > 1
        work = network_screen_module.layer_work(net, name)
        assert work == net.macs(name) + cells * net.activation_size(name)


async def test_progress_notes_of_one_line_are_written_without_a_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer_by_layer(monkeypatch)
    _, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        note = screen.query_one("#net-note")
        screen._note("computing conv2: layer 1 of 3 (pool1)")
        await pilot.pause()
        layouts = []
        refresh = note.refresh

        def counting_refresh(*regions: Any, **kw: Any) -> Any:
            layouts.append(bool(kw.get("layout")))
            return refresh(*regions, **kw)

        note.refresh = counting_refresh  # type: ignore[method-assign]
        frames = count_frames(app)
        for k in (2, 3):
            screen._note(f"computing conv2: layer {k} of 3 (conv2)  ██░░ {30 * k}% of the work")
            await pilot.pause()
        assert layouts and not any(layouts), layouts
        assert frames == ["ChopsUpdate"] * len(frames) and 1 <= len(frames) <= 2


async def test_a_conv_step_looks_up_no_link_in_its_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual looks every segment of a Static's lines up for a link unless told there is
    none, unpickling each segment's meta; a conv layer's inspector had about 60 a step."""
    app = NetsimApp(scenarios.load(scenarios.resolve("conv_parameter_sharing")), check=False)
    looked_up: Counter[str] = Counter()
    to_strips = Visual.to_strips

    def counting(widget: Widget, visual: Visual, *args: Any, **kw: Any) -> list[Strip]:
        strips = to_strips(widget, visual, *args, **kw)
        in_panel = any(isinstance(node, Panel) for node in widget.ancestors_with_self)
        if in_panel and widget.auto_links:
            looked_up[widget.id or type(widget).__name__] += sum(
                1 for strip in strips for seg in strip if seg.style is not None and seg.style._meta
            )
        return strips

    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen)
        monkeypatch.setattr(Visual, "to_strips", staticmethod(counting))
        frames = count_frames(app)
        for _ in range(3):
            await pilot.press("right")
            await pilot.pause()
        assert len(frames) == 3, frames
        assert not +looked_up, f"segments looked up for links in 3 steps: {dict(looked_up)}"


async def test_down_in_the_table_draws_two_rows_again_and_they_look_as_drawn_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DataTable keys its line cache by the cursor's coordinate, so every line of the table was
    drawn again at each ↓; the layer table draws the two rows whose look changed."""
    drawn: list[int] = []
    render_line = DataTable._render_line

    def counting(self: DataTable[Any], y: int, *args: Any) -> Any:
        drawn.append(y)
        return render_line(self, y, *args)

    monkeypatch.setattr(DataTable, "_render_line", counting)
    _, app = lenet_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await table_of(app, pilot)
        table = screen.table
        await pilot.press("down")
        await settle(app, pilot)
        for _ in range(3):
            drawn.clear()
            await pilot.press("down")
            await settle(app, pilot)
            assert len(drawn) == 2, f"lines of the table drawn again: {drawn}"
        region = Region(0, 0, table.size.width, table.size.height)
        cached = [strip.text for strip in table.render_lines(region)]
        styles = [[seg.style for seg in strip] for strip in table.render_lines(region)]
        table._clear_caches()
        table._styles_cache.clear()
        assert [strip.text for strip in table.render_lines(region)] == cached
        assert [[seg.style for seg in strip] for strip in table.render_lines(region)] == styles


async def lenet_digits_conv1(pilot: Any) -> PlayerScreen:
    """The bundled LeNet-5 scenario's conv1 opened in the player from the layer table."""
    app = pilot.app
    screen = await table_of(app, pilot)
    screen.open_layer("conv1")
    while not isinstance(app.screen, PlayerScreen):
        await pilot.pause(0.05)
    await settle(app, pilot)
    return app.screen


async def step_scrolls(pilot: Any, grid: MatrixGrid) -> bool:
    """Press → and wait for the frame: whether ``grid`` scrolled."""
    offset = grid.scroll_offset
    await pilot.press("right")
    await pilot.pause()
    return grid.scroll_offset != offset


async def test_every_step_of_lenets_first_output_row_paints_one_frame() -> None:
    """The inspector's products wrap to 8 or 9 lines from one step to the next; it keeps the
    height of the tallest text of the stage, so no step lays the screen out (three frames on
    the steps where the text wrapped to a line more than any before)."""
    app = NetsimApp(scenarios.load(scenarios.resolve("net_lenet5_digits")), check=False)
    async with app.run_test(size=SIZE) as pilot:
        player = await lenet_digits_conv1(pilot)
        inspector = player.query_one("#inspector")
        height = inspector.size.height
        frames = count_frames(app)
        width = player.simulation.stages[0].out_hw[1]  # type: ignore[attr-defined]
        for _ in range(width - 1):
            frames.clear()
            await pilot.press("right")
            await pilot.pause()
            assert frames == ["ChopsUpdate"], f"step {player.cursor}: {frames}"
        assert player.cursor == width - 1
        assert inspector.size.height == height


async def test_a_conv_step_repaints_the_lines_its_window_and_output_cell_leave_and_enter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step repaints the grid lines of the old and new window and the output cell's line;
    the grids scroll (every line of the view repainted, and the horizontal scroll bar, not
    the vertical one) only when the window leaves what the view shows, at most every third
    step of LeNet's 5×5 window in a view of seven columns."""
    drawn: Counter[str] = Counter()
    render_line = MatrixGrid.render_line

    def counting(self: MatrixGrid, y: int) -> Strip:
        drawn[self.id or ""] += 1
        return render_line(self, y)

    bar_lines = ScrollBar.render_lines

    def counting_bars(self: ScrollBar, crop: Region) -> list[Strip]:
        drawn["bars"] += crop.height
        return bar_lines(self, crop)

    monkeypatch.setattr(MatrixGrid, "render_line", counting)
    monkeypatch.setattr(ScrollBar, "render_lines", counting_bars)
    app = NetsimApp(scenarios.load(scenarios.resolve("net_lenet5_digits")), check=False)
    async with app.run_test(size=SIZE) as pilot:
        player = await lenet_digits_conv1(pilot)
        grid = player.query_one("#input-0", MatrixGrid)
        output = player.query_one("#output-0", MatrixGrid)
        view_height = output.scrollable_content_region.height
        kernel = player.simulation.stages[0].kernel_hw[0]  # type: ignore[attr-defined]
        scrolls = 0
        steps = 24
        for _ in range(steps):
            drawn.clear()
            if await step_scrolls(pilot, grid):
                scrolls += 1
                # Every line of the view, not the scroll bars: the vertical bar is left alone.
                assert drawn["input-0"] == grid.scrollable_content_region.height, drawn
                assert drawn["bars"] <= 2, drawn  # the horizontal bars' line, one a grid
            else:
                assert drawn["input-0"] <= kernel, drawn
                assert drawn["output-0"] <= 1 or drawn["output-0"] == view_height
        assert 0 < scrolls <= steps // 3, scrolls


async def test_a_window_wider_than_the_view_keeps_its_first_column_in_view() -> None:
    """At 80×24 LeNet's input grid shows four of the 5×5 window's columns at most: the view
    keeps the window's first column in its left two thirds (two columns of the window or more
    in view, never one of five), and scrolls at most every third step."""
    app = NetsimApp(scenarios.load(scenarios.resolve("net_lenet5_digits")), check=False)
    async with app.run_test(size=(80, 24)) as pilot:
        player = await lenet_digits_conv1(pilot)
        grid = player.query_one("#input-0", MatrixGrid)
        kernel = player.simulation.stages[0].kernel_hw[1]  # type: ignore[attr-defined]
        scrolls = 0
        steps = 20
        for _ in range(steps):
            scrolls += await step_scrolls(pilot, grid)
            shown = (grid.scrollable_content_region.width - grid._label_w + 1) // grid._cw
            assert shown < kernel, "the window is wider than the view here"
            first = grid.scroll_offset.x // grid._cw
            col = player.cursor % player.simulation.stages[0].out_hw[1]  # type: ignore[attr-defined]
            assert first <= col <= first + shown - 1 - (shown - 1) // 3, (col, first, shown)
            assert first + shown - col >= 2, "two of the window's columns or more in view"
        assert 0 < scrolls <= steps // 3, scrolls
