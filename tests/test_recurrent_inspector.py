"""The recurrent inspector: every gate's sum written out so its parts add up, the GRU's update
gate as the course writes it, the n / N keys that pick the hidden unit, and the deep panel's
labels for a backward sweep."""

from __future__ import annotations

import re

import numpy as np
import pytest
from textual.widgets import Static

import scenarios
from engine.deep_recurrent import DeepRecurrentStage
from engine.recurrent import RecurrentStage
from tui.app import NetsimApp
from tui.panels.deep_recurrent import inspector
from tui.panels.recurrent import RecurrentPanel, explain_recurrent, gate_rows

SIZE = (120, 40)
NUMBER = r"\(?(−?[0-9.]+(?:e[−+]?[0-9]+)?)\)?"


def stage_of(name: str) -> RecurrentStage:
    stage = scenarios.load(scenarios.resolve(name)).stages[0]
    assert isinstance(stage, RecurrentStage)
    return stage


def number(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.mark.parametrize(("name", "gates"), [("lstm_gates", 4), ("gru_gates", 2)])
@pytest.mark.parametrize("unit", [0, 3])
def test_each_gate_line_adds_up_to_its_pre_activation(name: str, gates: int, unit: int) -> None:
    """σ(W_x·x + W_a·a + b) is followed by the three numbers and their sum: they must agree."""
    stage = stage_of(name)
    step = stage.step(3)
    text = explain_recurrent(stage, step, unit).plain
    assert f"hidden unit {unit} of 4" in text
    fn = r"(?:σ|tanh)"
    pattern = rf"{fn}\({NUMBER} \+ {NUMBER} \+ {NUMBER}\) = {fn}\({NUMBER}\) = {NUMBER}"
    lines = re.findall(pattern, text)
    assert len(lines) == gates
    for wx, wa, b, pre, _value in lines:
        parts = number(wx) + number(wa) + number(b)
        assert parts == pytest.approx(number(pre), abs=2e-4)
    # and every W_a·a⟨t−1⟩ product sum the gate reads is written out, not only W_x·x; step 3
    # is time step t = 4, which reads a⟨3⟩
    assert step.t == 4 and f"time step t = 4, hidden unit {unit}" in text
    assert text.count("W_a·a⟨3⟩ = ") == (4 if name == "lstm_gates" else 3)


def test_the_written_products_are_the_engines_numbers() -> None:
    stage = stage_of("lstm_gates")
    step = stage.step(3)
    assert step.a_prev is not None and step.x is not None
    h = stage.hidden_size
    text = explain_recurrent(stage, step, 1).plain
    forget_row = 1 * h + 1
    wa = float(stage.weight_hh[forget_row] @ step.a_prev)
    line = next(ln for ln in text.splitlines() if ln.startswith("  Γf"))
    assert f"{wa:.4g}".replace("-", "−") in line
    pre = float(step.pre["f"][1])
    assert f"σ({pre:.6g})".replace("-", "−") in line


def test_the_gru_candidate_shows_its_numbers_with_the_relevance_gate() -> None:
    stage = stage_of("gru_gates")
    step = stage.step(2)
    text = explain_recurrent(stage, step, 0).plain
    r = float(step.gates["r"][0])
    candidate = text[text.index("c̃ = tanh") :]
    assert f"{r:.4g}·(" in candidate
    assert f"{float(step.gates['n'][0]):.6g}".replace("-", "−") in candidate


def test_the_gru_bars_show_the_update_gate_not_z() -> None:
    stage = stage_of("gru_gates")
    gates = stage.step(1).gates
    rows = {label: values for label, values, _ in gate_rows("gru", gates)}
    np.testing.assert_allclose(rows["Γu = 1 − z"], 1.0 - gates["z"])
    np.testing.assert_allclose(rows["Γr relevance"], gates["r"])


def test_the_first_step_is_t_1_and_reads_the_initial_state_a_0() -> None:
    stage = stage_of("rnn_step")
    text = explain_recurrent(stage, stage.step(0)).plain
    assert "time step t = 1" in text
    assert "a⟨1⟩ = tanh(W_aa·a⟨0⟩ + W_ax·x⟨1⟩ + b_a)" in text
    assert "⟨−1⟩" not in text and "⟨-1⟩" not in text
    assert not np.any(stage.a0)  # a⟨0⟩ = 0, so W_aa·a⟨0⟩ adds nothing
    assert "W_aa·a⟨0⟩ = " in text


async def test_n_and_shift_n_move_the_inspector_between_units() -> None:
    app = NetsimApp(scenarios.load(scenarios.resolve("lstm_gates")), check=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        panel = app.screen.query_one(RecurrentPanel)

        def shown() -> str:
            return str(panel.query_one("#rec-inspector", Static).render())

        assert "hidden unit 0 of 4" in shown()
        await pilot.press("n", "n")
        assert panel.unit == 2 and "hidden unit 2 of 4" in shown()
        await pilot.press("N", "N", "N")
        assert panel.unit == 3 and "hidden unit 3 of 4" in shown()  # wraps round
        await pilot.press("right")  # the unit stays chosen as the steps go on
        assert "time step t = 3, hidden unit 3 of 4" in shown()  # the third step


def test_a_backward_sweep_reads_its_state_from_the_right() -> None:
    sim = scenarios.load(scenarios.resolve("rnn_bidirectional"))
    stage = next(s for s in sim.stages if isinstance(s, DeepRecurrentStage))
    backward = [
        stage.step(i)
        for i in range(len(stage))
        if not stage.step(i).is_output and stage.step(i).direction == 1
    ]
    forward = [
        stage.step(i)
        for i in range(len(stage))
        if not stage.step(i).is_output and stage.step(i).direction == 0
    ]
    assert backward and forward
    assert "from the right" in inspector(stage, backward[1]).plain
    assert "from the left" not in inspector(stage, backward[1]).plain
    assert "from the left" in inspector(stage, forward[1]).plain


def test_the_output_layer_is_written_out_from_logits_to_probabilities() -> None:
    stage = stage_of("rnn_step")
    step = stage.step(2)
    assert step.y_hat is not None and stage.logits is not None
    text = explain_recurrent(stage, step).plain
    line = next(ln for ln in text.splitlines() if ln.startswith("  ŷ⟨3⟩"))  # step 2 is t = 3
    logits = ", ".join(f"{v:.4g}".replace("-", "−") for v in stage.logits[2])
    probs = ", ".join(f"{v:.4g}".replace("-", "−") for v in step.y_hat)
    assert f"softmax([{logits}]) = [{probs}]" in line
    k = int(np.argmax(step.y_hat))
    assert f"W_ya[{k}]·a⟨3⟩ + b_y[{k}] = " in text


@pytest.mark.parametrize(("size", "beside"), [((120, 40), True), ((80, 24), False)])
async def test_a_plain_rnns_inspector_stands_beside_its_vectors_where_there_is_room(
    size: tuple[int, int], beside: bool
) -> None:
    """long_memory_rnn has no gate bars: at 120×40 its inspector stands beside the vectors
    (the box is 35 columns wide, the rest of the width was empty) and the whole panel is on
    screen at every step, the last one's ŷ included, with no scrolling; at 80×24 it is below
    them, where it has the width it needs."""
    sim = scenarios.load(scenarios.resolve("long_memory_rnn"))
    app = NetsimApp(sim, start=0, check=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        vectors = screen.query_one("#rec-vectors")
        inspector = screen.query_one("#rec-inspector")
        area = screen.query_one("#panel-area")
        assert (inspector.region.y == vectors.region.y) == beside
        assert (inspector.region.x >= vectors.region.right) == beside
        if beside:
            for _ in range(len(sim)):
                assert area.max_scroll_y == 0, screen.cursor
                await pilot.press("right")
                await pilot.pause()
