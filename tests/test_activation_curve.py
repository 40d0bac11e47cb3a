"""The activation panel's curve: leaky ReLU's negative slope can be seen, and a bounded function
is drawn on exactly its range."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from engine.activation import ActivationStage
from engine.core import Simulation
from tui.app import NetsimApp
from tui.panels.activation import NATURAL_RANGE
from tui.widgets.curve import CurvePlot

SIZE = (120, 40)
LABEL = 6
"""Columns of the y-axis labels at the start of every line of the plot."""


async def drawn_curve(sim: Simulation, step: int) -> tuple[CurvePlot, list[str]]:
    """The curve of the player at ``step``, and its plot area as lines of text."""
    app = NetsimApp(sim, start=step, check=False, reproducible=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        curve = app.screen.query_one("#act-curve", CurvePlot)
        lines = [line[LABEL:] for line in curve.render().plain.split("\n")]
    return curve, lines


def axis_column(lines: list[str]) -> int:
    """The column of the vertical axis x = 0 (the column of │ on most lines)."""
    cols = [line.index("│") for line in lines if "│" in line]
    return max(set(cols), key=cols.count)


def rows_of(lines: list[str], mark: str, cols: range) -> dict[int, int]:
    """For each column in ``cols`` holding ``mark``, the row it is on."""
    return {c: r for r, line in enumerate(lines) for c in cols if line[c : c + 1] == mark}


async def test_leaky_relu_negative_side_falls_over_several_rows() -> None:
    sim = scenarios.load(scenarios.resolve("activation_leaky_relu"))
    stage = sim.stages[0]
    assert isinstance(stage, ActivationStage) and stage.negative_slope == 0.1
    first = int(np.argmin(stage.x))  # the step at x = −3, the most negative input
    _, lines = await drawn_curve(sim, first)
    axis = axis_column(lines)
    dots = rows_of(lines, "•", range(axis))
    assert dots, "\n".join(lines)
    assert len(set(dots.values())) > 1, "the negative side is drawn flat:\n" + "\n".join(lines)
    leftmost, kink = dots[min(dots)], dots[max(dots)]
    assert leftmost > kink, "\n".join(lines)  # rows count downwards: lower on screen
    # The current point, a·(−3) = −0.3, is on the negative side, below the kink.
    (point,) = [(r, c) for r, line in enumerate(lines) for c, ch in enumerate(line) if ch == "●"]
    assert point[1] < axis and point[0] > kink, "\n".join(lines)


@pytest.mark.parametrize("function", ["sigmoid", "tanh"])
async def test_bounded_activation_is_drawn_on_its_natural_range(function: str) -> None:
    stage = ActivationStage(np.array([-4.0, -1.0, 0.0, 2.0, 5.0]), function)
    curve, lines = await drawn_curve(Simulation([stage]), 1)
    lo, hi = NATURAL_RANGE[function]
    assert (curve.y_lo, curve.y_hi) == (lo, hi)
    text = curve.render().plain.split("\n")
    assert text[0][:LABEL].strip() == f"{hi:g}"
    assert text[-1][:LABEL].strip() == f"{lo:g}"
    # The curve reaches near both asymptotes over ±5: its dots are on the top and bottom rows.
    assert "•" in lines[0] and "•" in lines[-1]


async def test_unbounded_activation_spans_its_data() -> None:
    stage = ActivationStage(np.array([-2.0, 0.0, 4.0]), "relu")
    curve, _ = await drawn_curve(Simulation([stage]), 0)
    assert curve.y_lo < 0.0 and curve.y_hi > 4.0  # 0 … 4 with a margin, not a fixed range


async def test_a_step_writes_only_the_lines_the_point_leaves_and_enters() -> None:
    """The plot is not drawn anew at each step: at most the two lines the point moves between
    are written and made into strips, the point is on the line of the step's value, and walking
    back writes nothing (each line the point was on is kept)."""
    sim = scenarios.load(scenarios.resolve("activation_sigmoid"))
    app = NetsimApp(sim, check=False, reproducible=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        curve = app.screen.query_one("#act-curve", CurvePlot)
        height = curve.size.height
        steps = len(sim.stages[0])  # type: ignore[arg-type]
        for _ in range(steps - 1):
            written, drawn = curve.written, curve.drawn
            await pilot.press("right")
            await pilot.pause()
            assert curve.written - written <= 2 and curve.drawn - drawn <= 2
            lines = curve.render().plain.split("\n")
            assert len(lines) == height and sum("●" in line for line in lines) == 1
        written = curve.written
        for _ in range(steps - 1):
            await pilot.press("left")
            await pilot.pause()
        assert curve.written == written
