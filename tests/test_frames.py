"""What one step costs the screen, counted rather than timed: frames painted per key press, and
the rows and cells each frame sends to the terminal. Timings live in benchmarks/bench_keys.py.

Frames are counted by wrapping ``App._display`` on the app instance, the method every frame
passes through (internal to Textual, whose version is pinned): a partial frame is a
``ChopsUpdate`` whose ``spans`` are the (row, first column, end column) pieces it rewrites; a
``LayoutUpdate`` rewrites the whole screen after a new layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apps import painted
from textual.widget import Widget

import scenarios
from tui.app import NetsimApp
from tui.screens.player import PlayerScreen
from tui.widgets.matrix import MatrixGrid

SIZE = (120, 40)
SCREEN_CELLS = SIZE[0] * SIZE[1]


@dataclass
class Frame:
    kind: str
    rows: int
    cells: int


def count_frames(app: NetsimApp) -> list[Frame]:
    """A list that fills with every frame ``app`` paints; clear it before what you count."""

    def frame(screen: Any, renderable: Any) -> Frame:
        spans = getattr(renderable, "spans", None)
        if spans is None:  # a whole screen
            return Frame(type(renderable).__name__, SIZE[1], SCREEN_CELLS)
        rows = len({y for y, _, _ in spans})
        return Frame(type(renderable).__name__, rows, sum(x2 - x1 for _, x1, x2 in spans))

    return painted(app, frame)


async def frames_per_step(app: NetsimApp, pilot: Any, presses: int) -> list[list[Frame]]:
    """The frames each of ``presses`` presses of → paints in the player on screen (← once it
    reaches the last step), after one press that warms the widgets' caches."""
    frames = count_frames(app)
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    await pilot.press("right")
    await pilot.pause()
    out = []
    for _ in range(presses):
        key = "right" if screen.cursor < len(screen.simulation) - 1 else "left"
        before = screen.cursor
        frames.clear()
        await pilot.press(key)
        await pilot.pause()
        assert screen.cursor != before, "the key did not move the cursor"
        out.append(list(frames))
    return out


def player_app(name: str | Path) -> NetsimApp:
    path = name if isinstance(name, Path) else scenarios.resolve(name)
    return NetsimApp(scenarios.load(path), check=False)


def conv_28(tmp_path: Path) -> Path:
    """A 28×28 input with a 3×3 kernel and padding "same": grids larger than their boxes."""
    path = tmp_path / "conv_28.toml"
    path.write_text(
        'kind = "conv"\ntitle = "28×28"\ninput = { random = [28, 28], seed = 0 }\n'
        'kernel = "sobel_x"\npadding = "same"\n',
        encoding="utf-8",
    )
    return path


ONE_FRAME = [
    "conv_vertical_edge",
    "conv_parameter_sharing",
    "lstm_gates",
    "pool_max_4x4",
    "rnn_step",
]


@pytest.mark.parametrize("name", ONE_FRAME)
async def test_a_step_paints_one_partial_frame(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for frames in await frames_per_step(app, pilot, 6):
            assert len(frames) == 1, [f.kind for f in frames]
            assert frames[0].kind != "LayoutUpdate", "a step laid the screen out again"


async def test_a_step_in_a_large_convolution_rewrites_only_what_changed(tmp_path: Path) -> None:
    """A step of a 28×28 convolution moves a 3×3 window and one output cell: one partial frame
    per step, which at the median rewrites fewer than half the rows and half the cells of the
    screen (the window's rows, the output cell, the inspector and the timeline). A step whose
    window leaves a grid's view scrolls that grid, and rewrites it whole."""
    app = player_app(conv_28(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        steps = await frames_per_step(app, pilot, 12)
    assert all(len(frames) == 1 for frames in steps), [len(f) for f in steps]
    assert all(frames[0].kind == "ChopsUpdate" for frames in steps)
    rows = sorted(frames[0].rows for frames in steps)
    cells = sorted(frames[0].cells for frames in steps)
    assert rows[len(rows) // 2] < SIZE[1] // 2, rows
    assert cells[len(cells) // 2] < SCREEN_CELLS // 2, cells


@contextmanager
def layouts_asked() -> Iterator[list[str]]:
    """Every widget that asks for a new layout of the screen in the block
    (``refresh(layout=True)``), but a grid: a grid whose columns change width (an input whose
    numbers are whole at some steps only) is laid out again, in the same frame."""
    asked: list[str] = []
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Any, **kwargs: Any) -> Widget:
        if kwargs.get("layout") and not isinstance(self, MatrixGrid):
            asked.append(f"{type(self).__name__}#{self.id}")
        return refresh(self, *regions, **kwargs)

    Widget.refresh = counting  # type: ignore[method-assign,assignment]
    try:
        yield asked
    finally:
        Widget.refresh = refresh  # type: ignore[method-assign]


STEPPED = [
    "rnn_step",
    "lstm_gates",
    "gru_gates",
    "long_memory_lstm",
    "long_memory_rnn",
    "rnn_many_to_one",
    "rnn_many_to_many",
    "rnn_one_to_many",
    "rnn_encoder_decoder",
    "rnn_deep",
    "rnn_bidirectional",
    "bptt_clip_value",
    "bptt_exploding",
    "bptt_vanishing",
    "learn_vertical_edge",
]
"""Recurrent, BPTT and learning scenarios: every one of their steps keeps the panel's layout."""


@pytest.mark.parametrize("name", STEPPED)
async def test_a_recurrent_step_paints_one_frame_and_lays_nothing_out(name: str) -> None:
    """Up to 12 steps from the first (→ to the last step, then ←: every step of the shorter
    ones, where outputs start and stop and labels change): each paints one frame, and no
    text of the panel lays the screen out again: the inspector and the labels keep their
    heights from step to step, and the gate bars and labels are rewritten in place."""
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.pause()  # the panel written again at the size it was given
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        frames = count_frames(app)
        for _ in range(12):
            key = "right" if screen.cursor < len(screen.simulation) - 1 else "left"
            before = screen.cursor
            frames.clear()
            with layouts_asked() as asked:
                await pilot.press(key)
                await pilot.pause()
            assert screen.cursor != before, "the key did not move the cursor"
            assert len(frames) == 1, (screen.cursor, [f.kind for f in frames])
            assert asked == [], f"step {screen.cursor + 1}: {asked} laid the screen out again"


@pytest.mark.parametrize("layer", [0, 1], ids=["flatten", "linear"])
async def test_a_layer_of_a_network_paints_one_frame_per_step(layer: int) -> None:
    """A layer opened from the network screen is stepped in the player like any stage."""
    from tui.screens.network import NetworkScreen

    app = player_app("net_mlp_digits")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen
        assert isinstance(table, NetworkScreen)
        table.open_layer(table.network.layers[layer].name)
        for _ in range(200):
            if isinstance(app.screen, PlayerScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, PlayerScreen)
        await pilot.pause()
        for frames in await frames_per_step(app, pilot, 6):
            assert len(frames) == 1, [f.kind for f in frames]
            assert frames[0].kind != "LayoutUpdate"


SEQUENCE_KINDS = [
    "beam_greedy",  # words, B = 1, no reference
    "beam_names",  # characters, B = 3, error analysis at the ranking step
    "caption_shapes",  # the encoder step, then the caption word by word
    "lm_sample",  # characters, sampled
    "lm_score_unlikely",  # a token outside the top 10 at some steps
    "lm_words_sample",  # words, <UNK> drawn
    "tokens_chars",  # a dense one-hot vector, the table growing past its rows
    "tokens_large",  # a sparse one-hot summary
    "translate_attention",  # the encoder both ways, the bridge, then the decoder
]


async def walk_first_stage(app: NetsimApp, pilot: Any) -> list[tuple[int, list[Frame]]]:
    """The frames each press paints while → walks the first stage to its last step and ←
    walks back to its first (the phase changes both ways), after one press that warms up."""
    frames = count_frames(app)
    screen = app.screen
    assert isinstance(screen, PlayerScreen)
    last = len(screen.simulation.stages[0]) - 1
    await pilot.press("right")
    await pilot.pause()
    out = []
    for key, until in (("right", last), ("left", 0)):
        while screen.cursor != until:
            frames.clear()
            await pilot.press(key)
            await pilot.pause()
            out.append((screen.cursor, list(frames)))
    return out


@pytest.mark.parametrize("name", SEQUENCE_KINDS)
async def test_every_step_of_a_sequence_kind_paints_one_partial_frame(name: str) -> None:
    """Each box of these panels keeps one height through the whole stage (its tallest), so a
    step repaints text and lays nothing out: the beam search's ranking step, the captioner's
    encoder step and the translator's bridge included."""
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        steps = await walk_first_stage(app, pilot)
    assert len(steps) >= 4
    for cursor, frames in steps:
        assert len(frames) == 1, (cursor, [f.kind for f in frames])
        assert frames[0].kind == "ChopsUpdate", (cursor, "a step laid the screen out again")


async def test_a_beam_search_step_paints_one_frame() -> None:
    app = player_app("beam_names")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        steps = await frames_per_step(app, pilot, 14)  # to the ranking step and back, twice
    assert all(len(frames) == 1 for frames in steps), [len(f) for f in steps]


async def test_a_step_of_a_sequence_kind_repaints_no_box_whose_text_is_unchanged() -> None:
    """The beam search's finished pool is the same for most steps: those steps do not repaint
    it (the frame's rows leave it out)."""
    from textual._compositor import Compositor

    app = player_app("beam_names")
    repainted: list[set[str]] = []
    update_widgets = Compositor.update_widgets

    def recording(self: Compositor, widgets: set[Any]) -> None:
        repainted.append({w.id for w in widgets if w.id})
        update_widgets(self, widgets)

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        Compositor.update_widgets = recording  # type: ignore[method-assign]
        try:
            pools = []
            for _ in range(4):
                repainted.clear()
                await pilot.press("right")
                await pilot.pause()
                pools.append(any("bs-pool" in ids for ids in repainted))
        finally:
            Compositor.update_widgets = update_widgets  # type: ignore[method-assign]
    # beam_names finishes its first hypothesis at t = 7: steps 3 to 6 leave the pool alone.
    assert pools == [False, False, False, False], pools
