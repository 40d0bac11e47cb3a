"""One notation everywhere: every recurrent kind counts time from t = 1 with a⟨0⟩ (and c⟨0⟩) the
initial state, as the course and the language models do, on screen, in explanations and in the
trace; and steps shown to people (timeline, go-to, command line) count from 1."""

from __future__ import annotations

import json
import re
import tomllib

import numpy as np
import pytest
from apps import player, player_app
from textual.widgets import Static

import scenarios
from engine.bptt import BpttStage
from engine.deep_recurrent import DeepRecurrentStage
from engine.recurrent import RecurrentStage
from tui import trace as tr
from tui.panels.bptt import explain_bptt
from tui.panels.deep_recurrent import grid, inspector
from tui.panels.recurrent import explain_recurrent, unrolled
from tui.widgets.timeline import Timeline

KINDS = ("recurrent", "deep_recurrent", "bptt")
RECURRENT = [
    b.name
    for b in scenarios.bundled()
    if tomllib.loads(b.path.read_text(encoding="utf-8")).get("kind") in KINDS
]
"""Every bundled scenario of a recurrent kind."""

ZERO_BASED = re.compile(r"⟨[−-]1⟩|t = 0\b|\[t=0\]|⟨T[−-]1⟩")
"""What the old 0-based time steps wrote: a⟨−1⟩, t = 0, [t=0], ⟨T−1⟩."""


def stage_of(name: str) -> RecurrentStage | DeepRecurrentStage | BpttStage:
    (stage,) = scenarios.load(scenarios.resolve(name)).stages
    assert isinstance(stage, (RecurrentStage, DeepRecurrentStage, BpttStage))
    return stage


def test_the_bundled_recurrent_scenarios_are_all_checked() -> None:
    assert {"rnn_step", "lstm_gates", "rnn_deep", "rnn_bidirectional", "bptt_vanishing"} <= set(
        RECURRENT
    )


@pytest.mark.parametrize("name", RECURRENT)
def test_time_runs_from_1_to_T_in_every_recurrent_scenario(name: str) -> None:
    stage = stage_of(name)
    steps = [stage.step(i) for i in range(len(stage))]
    big_t = len(stage.x) if not isinstance(stage, BpttStage) else len(stage)
    assert {s.t for s in steps} == set(range(1, big_t + 1))  # type: ignore[attr-defined]
    for s in steps:
        assert not ZERO_BASED.search(s.explanation), (name, s.index, s.explanation)
    if isinstance(stage, BpttStage):
        assert (steps[0].t, steps[-1].t) == (big_t, 1)  # backward: t = T first, t = 1 last
        assert "δ⟨0⟩ = W_aaᵀ·(δ⟨1⟩" in steps[-1].explanation
    else:
        assert steps[0].t == 1 and steps[0].explanation.startswith(
            ("t = 1: ", "layer 1, forward sweep, t = 1: ")
        )


@pytest.mark.parametrize("name", RECURRENT)
def test_the_inspector_and_diagram_never_show_time_step_0_as_an_input(name: str) -> None:
    stage = stage_of(name)
    for i in (0, len(stage) - 1):
        step = stage.step(i)
        if isinstance(stage, RecurrentStage):
            text = explain_recurrent(stage, step).plain  # type: ignore[arg-type]
            text += unrolled(step.t, len(stage), has_input=stage.has_input).plain  # type: ignore[attr-defined]
        elif isinstance(stage, DeepRecurrentStage):
            text = inspector(stage, step).plain + grid(stage, step).plain  # type: ignore[arg-type]
        else:
            text = explain_bptt(stage, step).plain  # type: ignore[arg-type]
        assert not ZERO_BASED.search(text), (name, i, text)
        assert "x⟨0⟩" not in text and "ŷ⟨0⟩" not in text


def test_rnn_step_reads_a0_then_x1() -> None:
    stage = stage_of("rnn_step")
    assert isinstance(stage, RecurrentStage)
    text = explain_recurrent(stage, stage.step(0)).plain
    assert "time step t = 1" in text
    assert "a⟨1⟩ = tanh(W_aa·a⟨0⟩ + W_ax·x⟨1⟩ + b_a)" in text
    drawn = unrolled(1, len(stage)).plain
    assert "a⟨0⟩→" in drawn.replace(" ", "") and "[t=1]" in drawn and "[x⟨1⟩]" in drawn


def test_rnn_step_description_names_the_repeated_letter_by_its_time_steps() -> None:
    sim = scenarios.load(scenarios.resolve("rnn_step"))
    stage = sim.stages[0]
    assert isinstance(stage, RecurrentStage)
    x = np.asarray(stage.x)
    same = [
        (i + 1, j + 1)
        for i in range(len(x))
        for j in range(i + 1, len(x))
        if np.array_equal(x[i], x[j])
    ]
    assert (1, 5) in same  # the letter the description names
    assert "the same letter (t = 1 and t = 5) gives a different a⟨t⟩" in " ".join(
        sim.description.split()
    )
    assert not np.allclose(stage.step(0).a, stage.step(4).a)


def test_one_to_one_description_is_the_inspectors_equation() -> None:
    sim = scenarios.load(scenarios.resolve("rnn_one_to_one"))
    stage = sim.stages[0]
    assert isinstance(stage, RecurrentStage) and len(stage) == 1
    desc = " ".join(sim.description.split())
    shown = explain_recurrent(stage, stage.step(0)).plain
    assert "a⟨1⟩ = tanh(W_aa·a⟨0⟩ + W_ax·x⟨1⟩ + b_a) with a⟨0⟩ = 0" in desc
    assert "a⟨1⟩ = tanh(W_aa·a⟨0⟩ + W_ax·x⟨1⟩ + b_a)" in shown
    assert "ŷ⟨1⟩ = softmax(W_ya·a⟨1⟩ + b_y)" in desc and "ŷ⟨1⟩ = softmax(W_ya·a⟨1⟩ + b_y)" in shown
    assert not np.any(stage.a0) and "W_aa·a⟨0⟩ = " in shown


def test_a_bidirectional_backward_sweep_runs_from_T_down_to_1() -> None:
    stage = stage_of("rnn_bidirectional")
    assert isinstance(stage, DeepRecurrentStage) and stage.directions == 2
    big_t = stage.steps_per_sweep
    back = [stage.step(i) for i in range(big_t, 2 * big_t)]
    assert [s.t for s in back] == list(range(big_t, 0, -1))
    assert (
        "the start of this sweep, a←[1]⟨" + str(big_t + 1) + "⟩ = 0"
        in inspector(stage, back[0]).plain
    )
    assert [s.inner.t for s in back if s.inner is not None] == list(range(1, big_t + 1))


def test_the_json_trace_writes_t_from_1() -> None:
    sim = scenarios.load(scenarios.resolve("lstm_gates"))
    header, *records = (json.loads(line) for line in tr.json_lines(sim, range(len(sim))))
    assert header["trace_format"] == tr.TRACE_FORMAT == 3
    assert [r["t"] for r in records] == [r["index"] + 1 for r in records]
    assert records[0]["t"] == 1 and records[0]["a_prev"] == [0, 0, 0, 0]
    assert records[0]["explanation"].startswith("t = 1: c⟨1⟩ = Γf·c⟨0⟩ + Γu·c̃⟨1⟩")


def test_the_text_trace_counts_steps_from_1() -> None:
    sim = scenarios.load(scenarios.resolve("rnn_step"))
    lines = list(tr.text_lines(sim, range(len(sim))))
    assert lines[0].startswith("step 1 of 5  rnn  #1 = ") and "(t = 1: a⟨1⟩ = " in lines[0]
    assert lines[-1].startswith("step 5 of 5  rnn  #5 = ") and "(t = 5: a⟨5⟩ = " in lines[-1]


@pytest.mark.parametrize(("number", "index"), [(1, 0), (7, 6), (16, 15), (-1, 15), (-16, 0)])
def test_step_index_counts_from_1(number: int, index: int) -> None:
    assert tr.step_index(number, 16) == index


@pytest.mark.parametrize("number", [0, 17, -17])
def test_step_index_names_the_valid_range(number: int) -> None:
    with pytest.raises(ValueError, match="numbered 1 to 16") as e:
        tr.step_index(number, 16)
    assert ("count from 1" in str(e.value)) == (number == 0)


@pytest.mark.parametrize("name", ["rnn_step", "lstm_gates", "rnn_bidirectional", "bptt_vanishing"])
async def test_the_player_shows_step_1_and_t_1_first(name: str) -> None:
    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        p = player(app)
        timeline = p.query_one(Timeline)
        total = timeline.total
        drawn = str(timeline.render())
        first = "t = 30" if name == "bptt_vanishing" else "t = 1"  # BPTT starts at the end
        assert f"step {'1'.rjust(len(str(total)))} of {total} " in drawn
        assert timeline.label.endswith(f"· {first}"), timeline.label
        await pilot.press("end")
        drawn = str(timeline.render())
        assert f"step {total} of {total} " in drawn
        last = "t = 1" if name == "bptt_vanishing" else None
        if last is not None:
            assert timeline.label.endswith(f"· {last}")
        await pilot.press("home")
        screen_text = " ".join(str(w.render()) for w in p.query(Static))
        assert not ZERO_BASED.search(screen_text)


def test_tokens_are_x1_onwards_as_the_recurrent_kinds_read_them() -> None:
    from engine.tokens import TokenStage
    from tui.panels.tokens import explain_token, token_table

    (stage,) = scenarios.load(scenarios.resolve("tokens_words")).stages
    assert isinstance(stage, TokenStage)
    first, third = stage.step(0), stage.step(2)
    assert "x⟨1⟩ = one-hot(" in explain_token(stage, first).plain
    assert "x⟨0⟩" not in explain_token(stage, first).plain
    rows = token_table(stage, third).plain.splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == [1, 2, 3]


@pytest.mark.parametrize("name", ["caption_shapes", "translate_attention"])
async def test_a_step_that_is_not_a_time_step_has_no_t_on_the_timeline(name: str) -> None:
    """The captioner's encoder step and the translator's bridge make s⟨0⟩, the decoder's
    initial state (as a⟨0⟩ elsewhere): the timeline names them instead of writing t = 0, and
    the decoder's first word is t = 1. Nothing the panel or the timeline shows at any step of
    the first stage is written 0-based."""
    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        p = player(app)
        timeline = p.query_one(Timeline)
        stage = p.simulation.stages[0]
        labels = []
        for i in range(len(stage)):
            p.cursor = i
            await pilot.pause()
            labels.append(timeline.label)
            step = stage.step(i)
            shown = " ".join(str(w.render()) for w in p.query(Static))
            assert not ZERO_BASED.search(timeline.label + " " + shown), (i, timeline.label)
            if getattr(step, "phase", None) == "decoder" and step.t == 1:  # type: ignore[attr-defined]
                assert timeline.label.endswith("· t = 1"), timeline.label
    named = [label for label in labels if "t =" not in label]
    assert len(named) == 1 and named[0].endswith(("encoder", "bridge")), named


@pytest.mark.parametrize("steps", [9, 16, 120])
def test_every_cell_of_the_chain_is_apart_from_its_arrow(steps: int) -> None:
    """From t = 10 on, "[t=10]" is a character longer than "[t=9]": every arrow of the chain
    still has a space on each side, at every step of a long sequence."""
    import re

    for t in range(1, steps + 1, max(1, steps // 12)):
        chain = unrolled(t, steps).plain.splitlines()[0]
        cells = chain[chain.index("[") :].replace("→ …", "")  # from the first cell on
        assert not re.search(r"→\S|\S→", cells), (t, chain)
