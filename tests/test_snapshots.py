"""Snapshot tests: every bundled scenario at its first and a middle step, and the other screens.

Marked ``visual``: the README's test command leaves them out (``-m "not visual"``) to stay fast,
CI runs them (``pytest -m visual``). Screens are drawn reproducibly (``NetsimApp(reproducible=
True)``), so they are the same on any machine; see docs/testing.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

import scenarios
from tui.app import NetsimApp
from tui.widgets.badge import TorchBadge

pytestmark = pytest.mark.visual

SIZE = (120, 40)
DEFAULT_THEME = "textual-dark"
"""Textual's own default theme, which every snapshot is drawn in."""


def machine_independent(name: str) -> bool:
    """Whether every number a scenario draws is the same on every machine: a network computed
    in float32 is not (BLAS kernels round float32 sums differently, ~1e-7 of each value, which
    can move a heat colour by one step), so its screens are checked by tests/test_app.py and
    tests/test_network_screen.py instead. Float64 rounding differences (~1e-16) never show."""
    stage = scenarios.load(scenarios.resolve(name)).stages[0]
    network = getattr(stage, "network", None)
    return network is None or network.dtype.name == "float64"


BUNDLED = [b for b in scenarios.bundled() if machine_independent(b.name)]


async def settle(pilot: Pilot[Any]) -> None:
    """Let the PyTorch check finish so that the badge shows its result."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def app_at(name: str, step: int | None = None) -> NetsimApp:
    """The player at ``step`` (by default the middle one), drawing only what is the same on
    every machine."""
    sim = scenarios.load(scenarios.resolve(name))
    start = len(sim) // 2 if step is None else step
    return pinned(NetsimApp(sim, start=start, reproducible=True))


def pinned(app: NetsimApp) -> NetsimApp:
    """``app`` in the default theme, whatever ``TEXTUAL_THEME`` held when Textual was imported."""
    app.theme = DEFAULT_THEME
    return app


@pytest.mark.parametrize("name", [b.name for b in BUNDLED])
def test_first_step(snap_compare: Any, name: str) -> None:
    assert snap_compare(app_at(name, 0), terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("name", [b.name for b in BUNDLED])
def test_middle_step(snap_compare: Any, name: str) -> None:
    assert snap_compare(app_at(name), terminal_size=SIZE, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
@pytest.mark.parametrize("name", [b.name for b in BUNDLED])
def test_middle_step_at_size(snap_compare: Any, name: str, size: tuple[int, int]) -> None:
    """The middle step at the smallest size netsim supports and at a large one (120×40 above)."""
    assert snap_compare(app_at(name), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_shift_view(snap_compare: Any, size: tuple[int, int]) -> None:
    """t on the pipeline: each stage's output beside its output on the moved input."""
    assert snap_compare(
        app_at("translation_equivariance", 0), press=["t"], terminal_size=size, run_before=settle
    )


def test_heat_view(snap_compare: Any) -> None:
    assert snap_compare(
        app_at("conv_sobel_vs_scharr", 40), press=["h"], terminal_size=SIZE, run_before=settle
    )


MAPS_SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.mark.parametrize("size", MAPS_SIZES, ids=[f"{w}x{h}" for w, h in MAPS_SIZES])
@pytest.mark.parametrize(
    ("name", "step"),
    [("conv_edges_on_shapes", 600), ("conv_parameter_sharing", 0), ("pool_per_channel", 13)],
)
def test_maps_side_by_side(snap_compare: Any, name: str, step: int, size: tuple[int, int]) -> None:
    """Every channel, filter and output map that fits, named, the current one lit; the box
    titles say which maps a page holds when some are a page away."""
    assert snap_compare(app_at(name, step), terminal_size=size, run_before=settle)


def test_narrow_terminal(snap_compare: Any) -> None:
    assert snap_compare(app_at("conv_rgb_volume", 5), terminal_size=(80, 24), run_before=settle)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(
        app_at("conv_vertical_edge", 0),
        press=["question_mark"],
        terminal_size=SIZE,
        run_before=settle,
    )


def test_goto_dialog(snap_compare: Any) -> None:
    assert snap_compare(
        app_at("conv_vertical_edge", 3),
        press=["g", "9", "9", "enter"],
        terminal_size=SIZE,
        run_before=settle,
    )


def player_from_network(name: str, layer: int) -> NetsimApp:
    """The network screen of a bundled network scenario with the cursor on ``layer``."""
    return app_at(name, layer)


def test_network_narrow_terminal(snap_compare: Any) -> None:
    assert snap_compare(
        player_from_network("net_lenet5_digits", 3), terminal_size=(80, 24), run_before=settle
    )


def test_network_class_scores(snap_compare: Any) -> None:
    assert snap_compare(
        player_from_network("net_lenet5_digits", 11), terminal_size=SIZE, run_before=settle
    )


async def enter_and_settle(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_network_layer_in_the_player(snap_compare: Any) -> None:
    """fc1 of LeNet-5 stepped neuron by neuron, fed the real output of the layers before."""
    assert snap_compare(
        player_from_network("net_lenet5_digits", 7),
        terminal_size=SIZE,
        run_before=enter_and_settle,
    )


def test_network_padded_pool_in_the_player(snap_compare: Any) -> None:
    """ResNet-18's max pool (3×3, stride 2, padding 1) at its first window, which reads the
    padding."""
    assert snap_compare(
        player_from_network("net_resnet18", 3), terminal_size=SIZE, run_before=enter_and_settle
    )


async def view_and_settle(pilot: Pilot[Any], key: str) -> None:
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)


def test_gradient_flow_view(snap_compare: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "g")

    assert snap_compare(
        player_from_network("net_plain_sigmoid", 0), terminal_size=SIZE, run_before=run
    )


def test_residual_block_view(snap_compare: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "r")

    assert snap_compare(player_from_network("net_resnet18", 4), terminal_size=SIZE, run_before=run)


def test_collapse_view(snap_compare: Any) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "c")

    assert snap_compare(
        player_from_network("net_mlp_linear_digits", 0), terminal_size=SIZE, run_before=run
    )


def test_browser(snap_compare: Any) -> None:
    app = pinned(NetsimApp(reproducible=True))
    assert snap_compare(app, press=["down"], terminal_size=SIZE)


@pytest.mark.parametrize(
    ("reproducible", "matches", "text"),
    [
        (False, True, "✓ matches PyTorch · max |Δ| = 3.6e-15"),
        (False, False, "✗ differs from PyTorch · max |Δ| = 3.6e-15"),
        (True, True, "✓ matches PyTorch · |Δ| within 1e-9"),
        (True, False, "✗ differs from PyTorch · |Δ| above 1e-9"),
    ],
)
async def test_badge_shows_the_measure_or_the_tolerance(
    reproducible: bool, matches: bool, text: str
) -> None:
    """People see the measured max |Δ|; a reproducible app (the snapshots) the tolerance met."""
    sim = scenarios.load(scenarios.resolve("conv_vertical_edge"))
    app = NetsimApp(sim, check=False, reproducible=reproducible)
    async with app.run_test(size=SIZE) as pilot:
        badge = app.screen.query_one(TorchBadge)
        badge.delta, badge.matches, badge.state = 3.6e-15, matches, "done"
        await pilot.pause()
        assert badge.render().plain == text


# -- sequence to sequence: translation with attention, beam search, captioning ----------------


def translation_half_decoded(name: str) -> NetsimApp:
    """The player on a translation's decoder step with half of the α matrix filled in."""
    sim = scenarios.load(scenarios.resolve(name))
    stage = sim.stages[0]
    tx, ty = len(stage.read), stage.alpha.shape[0]  # type: ignore[attr-defined]
    return pinned(NetsimApp(sim, start=2 * tx + (ty + 1) // 2, reproducible=True))


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["120x40", "80x24"])
def test_translation_attention_half_filled(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(
        translation_half_decoded("translate_date"), terminal_size=size, run_before=settle
    )


def test_beam_search_wider_beam(snap_compare: Any) -> None:
    """A middle step of the names search after B widens it from 3 to 5."""

    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "B")

    assert snap_compare(app_at("beam_names", 5), terminal_size=SIZE, run_before=run)


def test_beam_search_final_ranking(snap_compare: Any) -> None:
    """Both rankings side by side and the error analysis."""
    sim = scenarios.load(scenarios.resolve("beam_names"))
    app = pinned(NetsimApp(sim, start=len(sim) - 1, reproducible=True))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_caption_word_step(snap_compare: Any) -> None:
    """The picture in half blocks, the feature vector and the third word being written."""
    assert snap_compare(app_at("caption_shapes", 3), terminal_size=SIZE, run_before=settle)


def test_value_box_open(snap_compare: Any) -> None:
    """v on a convolution: the box on the input cell the window reads first."""

    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "v")

    assert snap_compare(app_at("conv_vertical_edge", 5), terminal_size=SIZE, run_before=run)


def test_stride_changed(snap_compare: Any) -> None:
    """s on conv_stride_2: stride 1, a 5×5 output, and the header naming the change."""

    async def run(pilot: Pilot[Any]) -> None:
        await view_and_settle(pilot, "s")

    assert snap_compare(app_at("conv_stride_2", 4), terminal_size=SIZE, run_before=run)
