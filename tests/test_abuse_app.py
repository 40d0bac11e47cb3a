"""The app under careless or hostile use: fast keys, absurd input, strange names, broken files,
numbers past float64's range. Each must leave a working screen or a one-line error."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from apps import player, player_app
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import ContentSwitcher, Input

import scenarios
from engine import ActivationStage, ConvStage, PoolStage
from engine.core import Simulation, Stage
from engine.translation import ShiftError, compare_shift
from tui.app import DEBUG_VARIABLE, NetsimApp
from tui.numbers import clamp, fmt_exact, fmt_factor, fmt_num, fraction
from tui.panels.language import bar as lm_bar
from tui.panels.recurrent import bars as recurrent_bars
from tui.panels.recurrent import spark
from tui.screens.browser import BrowserScreen
from tui.screens.goto import GotoScreen
from tui.screens.player import PlayerScreen
from tui.screens.translation import TranslationScreen
from tui.widgets.curve import CurvePlot
from tui.widgets.matrix import MatrixGrid, _heat_rgb
from tui.widgets.normbars import NormBars, log_scale

SIZE = (120, 40)


# -- the temperature keys and the cursor -----------------------------------------------------


@pytest.mark.parametrize("name", ["lm_sample", "lm_words_sample"])
async def test_cursor_stays_inside_a_resampled_simulation(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a re-run stage's panel mounts, the footer checks bindings against the cursor: it
    must already lie inside the new simulation, however many steps the new sample has."""
    seen: list[tuple[int, int]] = []
    mount = ContentSwitcher.mount

    def checking_mount(self: ContentSwitcher, *args: object, **kw: object) -> object:
        screen = self.screen
        if isinstance(screen, PlayerScreen):
            seen.append((screen.cursor, len(screen.simulation)))
            screen.simulation.locate(screen.cursor)  # raises if the cursor is outside
        return mount(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ContentSwitcher, "mount", checking_mount)
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        lengths = {len(p.simulation)}
        for key in ("end", "less_than_sign") * 5 + ("greater_than_sign", "end") * 8:
            await pilot.press(key)
            lengths.add(len(p.simulation))
            assert 0 <= p.cursor < len(p.simulation)
        await pilot.pause()
    assert seen and all(0 <= c < n for c, n in seen)
    assert len(lengths) > 1, "the test needs temperatures that change the number of steps"


# -- the go-to dialog ------------------------------------------------------------------------


async def test_goto_dialog_refuses_letters_and_bounds_the_digits() -> None:
    app = player_app("conv_vertical_edge")  # 16 steps: two digits at most
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("g")
        assert isinstance(app.screen, GotoScreen)
        await pilot.press(*("1" * 40), "a", "-", "_", "e")
        field = app.screen.query_one("#goto-input", Input)
        assert field.value == "11"
        await pilot.press("escape")
        assert app.screen is p


# -- user text is shown as written, never read as markup -------------------------------------

MARKUP_PIPELINE = """\
kind = "pipeline"
title = "[b]bold[/b] title [/]"
description = "A [red]description[/red] with [/] markup [link=x]y"
input = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]

[[stages]]
op = "conv"
name = "[/]"
kernel = "vertical_edge"

[[stages]]
op = "relu"
name = "[b]r[/b]"

[[stages]]
op = "maxpool"
name = "[on red]p"
size = 2
"""


def plain(widget: object) -> str:
    """The text a Static shows, without styles."""
    visual = widget.render()  # type: ignore[attr-defined]
    return str(getattr(visual, "plain", visual))


async def test_stage_names_and_titles_that_look_like_markup_are_shown_as_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "markup.toml"
    path.write_text(MARKUP_PIPELINE, encoding="utf-8")
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        bar = plain(p.query_one("#stage-bar"))
        assert "[/]" in bar and "[b]r[/b]" in bar and "[on red]p" in bar
        assert "[red]description[/red] with [/] markup" in plain(p.query_one("#description-text"))
        for screen_key in ("r", "t", "u", "question_mark"):
            await pilot.press(screen_key)
            await pilot.pause()
            assert app.screen is not p, f"{screen_key} should open a view"
            note = "".join(plain(w) for w in app.screen.query("#rf-note, #tr-note"))
            if screen_key in "rt":
                assert "[/]" in note
            await pilot.press("escape")
            assert app.screen is p
        await pilot.press("right_square_bracket", "right_square_bracket", "end", "h")
        bar = plain(p.query_one("#stage-bar"))
        assert "[on red]p" in bar and "input = [b]r[/b]'s output" in bar
        await pilot.press("r")
        await pilot.pause()
        # border_title reads back as markup; parsed again it must give the names as written.
        titles = [
            Content.from_markup(w.border_title or "").plain for w in app.screen.query(".rf-box")
        ]
        assert any("[b]r[/b]" in t for t in titles) and any("[on red]p" in t for t in titles)


# -- shifting the input until a stage overflows ----------------------------------------------


def overflowing_shift() -> Simulation:
    """A stride-2 convolution whose windows cancel out, until the input moves by one pixel and
    two +1e308 meet in one window: the original is finite, the moved one overflows."""
    x = np.array([[[1e308, 1e308, -1e308, -1e308]] * 2])  # (1, 2, 4)
    kernel = np.array([[[[1.0, -1.0]]]])  # (1, 1, 1, 2)
    stage = ConvStage(x, kernel, np.zeros(1), stride=2, name="[/]conv")
    return Simulation([stage], title="overflow when shifted")


async def test_shift_that_overflows_shows_a_message_and_the_view_stays_usable() -> None:
    app = NetsimApp(overflowing_shift(), check=False)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        await pilot.press("t")  # opens moved one pixel right: overflows
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TranslationScreen)
        note = plain(screen.query_one("#tr-note"))
        assert "[/]conv cannot run on the input moved by (0, 1)" in note
        assert "overflow" in note
        await pilot.press("0")  # back to no shift: every stage runs again
        note = plain(screen.query_one("#tr-note"))
        assert "[/]conv: 2 of 2 outputs unchanged" in note
        await pilot.press("escape")
        assert app.screen is p


def test_compare_shift_names_the_stage_that_overflows() -> None:
    with pytest.raises(ShiftError, match=r"\[/\]conv cannot run .* moved by \(0, 1\)"):
        compare_shift(overflowing_shift(), 0, 1)
    assert compare_shift(overflowing_shift(), 0, 0)[0].unchanged == 2


# -- a crash ends the app with return code 1 and no traceback --------------------------------


def crash_soon(app: NetsimApp) -> None:
    def boom() -> None:
        raise IndexError("step 7 out of range")

    async def auto_pilot(pilot: object) -> None:
        app.call_later(boom)

    app.run(headless=True, size=SIZE, auto_pilot=auto_pilot)  # type: ignore[arg-type]


@pytest.mark.parametrize("debug", ["", "1"])
def test_a_crash_sets_return_code_and_keeps_the_traceback_for_debugging(
    debug: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DEBUG_VARIABLE, debug)
    app = player_app("conv_vertical_edge")
    crash_soon(app)
    assert app.return_code == 1
    assert isinstance(app.crash, IndexError)
    err = capsys.readouterr().err
    if debug:
        assert "step 7 out of range" in err
    else:
        assert "Traceback" not in err and "step 7" not in err


# -- the browser's "open a file" -------------------------------------------------------------


async def open_in_browser(app: NetsimApp, pilot: object, text: str) -> str:
    """Type ``text`` into the browser's path field, press Enter, wait for the load, and return
    the browser's message line."""
    await pilot.press("o")  # type: ignore[attr-defined]
    field = app.screen.query_one("#path-input", Input)
    field.value = text
    await pilot.press("enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, BrowserScreen), "a bad path must leave the browser on screen"
    return plain(app.screen.query_one("#browser-error"))


@pytest.mark.parametrize(
    "text",
    ["~nosuchuser-netsim/x.toml", "x" * 300 + ".toml", "a/" + "b" * 5000, "nul\0byte.toml"],
    ids=["unknown-user", "long-name", "long-path", "nul-byte"],
)
async def test_browser_reports_an_impossible_path_on_one_line(text: str) -> None:
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        line = await open_in_browser(app, pilot, text)
        assert line and "\n" not in line and "loading" not in line
        # Still usable: a good file opens.
        app.screen.query_one("#path-input", Input).value = str(
            scenarios.resolve("conv_vertical_edge")
        )
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, PlayerScreen)


@pytest.mark.parametrize(
    "error",
    [MemoryError(), RuntimeError("boom\nwith a second line"), IndexError("[/] bad")],
    ids=["memory", "runtime", "index"],
)
async def test_browser_shows_any_loading_error_on_one_line(
    error: BaseException, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing_load(path: object, **kw: object) -> object:
        raise error

    monkeypatch.setattr(scenarios, "load", failing_load)
    path = tmp_path / "some.toml"
    path.write_text('kind = "conv"\n', encoding="utf-8")
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        line = await open_in_browser(app, pilot, str(path))
        assert line.startswith(str(path)) and "\n" not in line
        assert (str(error).split("\n")[0] or type(error).__name__) in line
        await pilot.press("q")


FIFO_SCRIPT = """
import asyncio, sys
from tui.app import NetsimApp

async def main() -> None:
    app = NetsimApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        app.screen.query_one("#path-input").value = sys.argv[1]
        await pilot.press("enter")
        for _ in range(20):
            await pilot.pause()
        print(app.screen.query_one("#browser-error").render().plain, flush=True)
        await pilot.press("q")

asyncio.run(main())
print("exited", flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_nobody_writes_to_never_stops_the_app_from_exiting(tmp_path: Path) -> None:
    """Reading a FIFO blocks until a writer comes. The app must still quit (the subprocess
    would otherwise never end; the timeout only guards the test run against that hang)."""
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-c", FIFO_SCRIPT, str(fifo)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "exited"
    assert len(lines) == 2 and lines[0]  # still loading, or refused in one line


# -- numbers past float64's range: widgets draw inf and nan, never raise ---------------------

INF, NAN = math.inf, math.nan


def test_numbers_write_infinities_and_nan() -> None:
    for fmt in (fmt_num, fmt_exact, fmt_factor):
        assert fmt(INF) == "inf" and fmt(NAN) == "nan"
        assert fmt(-INF) in ("−inf", "(−inf)")
    assert fmt_num(1e308) == "1.00e+308" and fmt_num(-2.5e200) == "−2.50e+200"
    assert fmt_exact(1e308) == "1e+308"
    assert clamp(NAN, 0.0, 1.0, nan=0.5) == 0.5 and clamp(INF, 0.0, 1.0, nan=0.0) == 1.0
    assert fraction(INF, INF) == 0.0 and fraction(1.0, 0.0) == 0.0


def test_drawing_helpers_take_infinities_and_nan() -> None:
    values = np.array([INF, -INF, NAN, 0.5, -0.5, 1e308])
    assert "nan" in recurrent_bars(values, signed=True).plain
    assert "inf" in recurrent_bars(values, signed=False).plain
    assert len(spark(values, now=2).plain) == len(values)
    assert lm_bar(NAN, width=20) == "" and lm_bar(INF, width=20) == "█" * 20
    for v in values:
        rgb = _heat_rgb(float(v), -1.0, 1e308)
        assert all(0 <= c <= 255 for c in rgb)
        assert all(0 <= c <= 255 for c in _heat_rgb(float(v), 0.0, 1.0))
    _, lo, hi = log_scale(values)
    assert math.isfinite(lo) and math.isfinite(hi) and lo < hi


class Widgets(App[None]):
    """Every reusable widget holding inf, −inf and nan (and ±1e308, whose differences
    overflow)."""

    def compose(self) -> ComposeResult:
        grid = np.array([[INF, -INF, NAN], [1e308, -1e308, 0.25]])
        yield MatrixGrid(grid, id="numbers")
        yield MatrixGrid(grid, progress=True, id="progress")
        xs = np.array([-1e308, 0.0, 1e308])
        yield CurvePlot(xs, np.array([-INF, NAN, 1e308]), id="curve")
        yield CurvePlot(np.array([-1.0, 1.0]), np.array([NAN, NAN]), id="curve-nan")
        yield NormBars(np.array([INF, NAN, 0.0, 1e-300, 1e308]), id="norms")
        yield NormBars(np.array([NAN, NAN]), id="norms-nan")


async def test_widgets_draw_infinities_and_nan() -> None:
    app = Widgets()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for point in ((NAN, NAN), (INF, -INF), (-INF, NAN), (1e308, 1e308)):
            for curve in app.query(CurvePlot):
                curve.point = point
                await pilot.pause()
        for norms in app.query(NormBars):
            norms.current = 1
        app.query_one("#progress", MatrixGrid).set_current(4)
        await pilot.pause()
        screen = app.export_screenshot()
        assert "inf" in screen and "nan" in screen and "1.00e+308" in screen
        for grid in app.query(MatrixGrid):
            grid.heat = True
        await pilot.pause()
        app.export_screenshot()


def overflowing_stages() -> dict[str, Callable[[], Stage]]:
    """Stages holding the largest finite numbers, as the engine builds them."""
    edge = np.array([[1e308, -1e308], [-1.7e308, 5e-324]])
    return {
        "avg-pool-of-1e308": lambda: PoolStage(np.full((1, 4, 4), 1e308), mode="avg", size=2),
        "relu-of-1e308": lambda: ActivationStage(edge, "relu"),
        "sigmoid-of-1e308": lambda: ActivationStage(edge, "sigmoid"),
        "leaky-relu-of-1e308": lambda: ActivationStage(
            edge / 1e6, "leaky_relu", negative_slope=1e6
        ),
    }


@pytest.mark.parametrize("kind", list(overflowing_stages()))
async def test_panels_draw_stages_whose_numbers_overflow(kind: str) -> None:
    """Numbers at the edge of float64 that the engine builds (the files that would overflow are
    refused by it, tests/test_overflow.py): the player shows them in every view and never
    raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        stage = overflowing_stages()[kind]()
    app = NetsimApp(Simulation([stage], title=kind), check=False)
    async with app.run_test(size=SIZE) as pilot:
        p = player(app)
        for _ in range(min(len(p.simulation), 12)):
            await pilot.press("right")
        await pilot.press("end", "h", "home", "end", "h")  # heat view on, then off again
        await pilot.pause()
        screen = app.export_screenshot()
        assert any(text in screen for text in ("inf", "nan", "e+30", "e+20"))


@pytest.mark.parametrize(
    ("model", "field", "text"),
    [("word_lm", "sentence", "the [/] cat [b]sleeps[/b] .")],
)
async def test_scored_text_that_looks_like_markup_is_shown_as_written(
    model: str, field: str, text: str, tmp_path: Path
) -> None:
    path = tmp_path / "lm.toml"
    path.write_text(
        f'kind = "language_model"\ntitle = "[/]"\nmodel = "{model}"\nmode = "score"\n'
        f"{field} = {text!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    sim = scenarios.load(path)
    app = NetsimApp(sim, check=False)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(sim)):
            await pilot.press("right")
        await pilot.pause()
        assert player(app).cursor == len(sim) - 1


async def test_paging_the_browser_in_a_tiny_terminal() -> None:
    """PgUp/PgDn in a terminal too small to lay the list out move one scenario instead of
    failing (Textual's OptionList raised KeyError there)."""
    app = NetsimApp(check=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "down")
        await pilot.resize_terminal(1, 1)
        await pilot.pause()
        await pilot.press("pageup")
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)
    assert app.return_code in (0, None)


async def test_shift_and_receptive_keys_are_not_offered_on_a_vector() -> None:
    """A ReLU after a linear layer works on a vector: it has no rows and columns to shift or
    trace a field through, so `t` and `r` are not offered, and pressing them does nothing."""
    from engine.layers import LinearStage

    rng = np.random.default_rng(0)
    fc = LinearStage(rng.standard_normal(6), rng.standard_normal((4, 6)), None, name="fc")
    relu = ActivationStage(fc.output, "relu", name="relu")
    app = NetsimApp(Simulation([fc, relu]), start=len(fc), check=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        assert screen.check_action("translate", ()) is False
        assert screen.check_action("receptive", ()) is False
        await pilot.press("t", "r")
        await pilot.pause()
        assert app.crash is None and player(app) is screen
    # An image alone, element by element, offers neither (each output depends on its own
    # cell, and moves with it by definition); after a pool it offers both.
    image = ActivationStage(rng.standard_normal((1, 4, 4)), "relu", name="relu")
    app = NetsimApp(Simulation([image]), check=False)
    async with app.run_test(size=SIZE):
        screen = player(app)
        assert screen.check_action("translate", ()) is False
        assert screen.check_action("receptive", ()) is False
    from engine.pool import PoolStage

    pool = PoolStage(image.output, "max", 2, name="pool")
    relu = ActivationStage(pool.output, "relu", name="relu")
    app = NetsimApp(Simulation([image, pool, relu]), start=len(image) + len(pool), check=False)
    async with app.run_test(size=SIZE):
        screen = player(app)
        assert screen.check_action("translate", ()) is True
        assert screen.check_action("receptive", ()) is True


async def test_after_a_failed_file_esc_returns_to_the_list_and_q_quits(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "conv"\ntitle = "t"\nstride = 0\n', encoding="utf-8")
    app = NetsimApp()
    async with app.run_test(size=SIZE) as pilot:
        line = await open_in_browser(app, pilot, str(bad))
        assert line.startswith(str(bad))
        field = app.screen.query_one("#path-input", Input)
        assert field.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert not field.has_focus and field.value == str(bad)  # what was typed stays
        assert line == plain(app.screen.query_one("#browser-error"))  # and so does the error
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0  # q quit the app instead of being typed into the box
