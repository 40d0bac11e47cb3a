"""Recurrent architectures: which steps read an input and which give an output, PyTorch on
every bundled one, the unrolled diagram, and the errors of the ``architecture`` fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import scenarios
from engine.errors import SpecError
from engine.recurrent import RecurrentStage, layout
from scenarios import ScenarioError
from tui.panels.recurrent import unrolled

ATOL = 1e-12
REC = 'kind = "recurrent"\ntitle = "t"\nhidden_size = 2\noutput_size = 2\n'
BUNDLED = {
    "rnn_one_to_one": ("one_to_one", [1], [1]),
    # Each letter after the first is the last output fed back: every step reads an input.
    "rnn_one_to_many": ("one_to_many", [1] * 6, [1] * 6),
    "rnn_many_to_one": ("many_to_one", [1] * 8, [0] * 7 + [1]),
    "rnn_many_to_many": ("many_to_many", [1] * 9, [1] * 9),
    "rnn_encoder_decoder": ("encoder_decoder", [1, 1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1]),
}


def stage_of(name: str) -> RecurrentStage:
    sim = scenarios.load(scenarios.resolve(name))
    (stage,) = sim.stages
    assert isinstance(stage, RecurrentStage)
    return stage


@pytest.mark.parametrize(
    ("arch", "tx", "ty", "has_input", "has_output"),
    [
        ("many_to_many", 3, None, [1, 1, 1], [1, 1, 1]),
        ("one_to_one", 1, None, [1], [1]),
        ("one_to_many", 1, 4, [1, 0, 0, 0], [1, 1, 1, 1]),
        ("many_to_one", 4, None, [1, 1, 1, 1], [0, 0, 0, 1]),
        ("encoder_decoder", 2, 3, [1, 1, 0, 0, 0], [0, 0, 1, 1, 1]),
    ],
)
def test_layout(
    arch: str, tx: int, ty: int | None, has_input: list[int], has_output: list[int]
) -> None:
    ins, outs = layout(arch, tx, ty)
    assert ins.tolist() == [bool(v) for v in has_input]
    assert outs.tolist() == [bool(v) for v in has_output]


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_pattern_and_torch(name: str) -> None:
    arch, has_input, has_output = BUNDLED[name]
    stage = stage_of(name)
    assert stage.architecture == arch
    assert stage.has_input.tolist() == [bool(v) for v in has_input]
    assert stage.has_output.tolist() == [bool(v) for v in has_output]
    # Steps without an input read zeros; steps without an output carry no ŷ.
    assert not np.any(stage.x[~stage.has_input])
    for t in range(len(stage)):
        step = stage.step(t)
        assert step.has_input == bool(has_input[t]) and step.has_output == bool(has_output[t])
        assert (step.y_hat is not None) == step.has_output
        assert ("no output at this step" in step.explanation) != step.has_output
    hidden, cells, y = stage.reference_run()
    np.testing.assert_allclose(stage.output, hidden, rtol=0, atol=ATOL)
    if stage.cell == "lstm":
        assert stage.cell_states is not None and cells is not None
        np.testing.assert_allclose(stage.cell_states, cells, rtol=0, atol=ATOL)
    assert stage.outputs_y is not None and y is not None
    np.testing.assert_allclose(stage.outputs_y, y, rtol=0, atol=ATOL)
    desc = stage.describe()
    if arch != "many_to_many":
        assert desc["has_output"] == [bool(v) for v in has_output]


def test_decoder_starts_from_the_encoders_last_state() -> None:
    stage = stage_of("rnn_encoder_decoder")
    first_decoder = stage.step(4)
    assert first_decoder.a_prev is not None and first_decoder.c_prev is not None
    np.testing.assert_array_equal(first_decoder.a_prev, stage.output[3])
    assert stage.cell_states is not None
    np.testing.assert_array_equal(first_decoder.c_prev, stage.cell_states[3])
    # The description names that state as the course counts: Tx = 4 inputs, so a⟨4⟩.
    tx = int(stage.has_input.sum())
    assert first_decoder.t == tx + 1  # the first decoder step reads a⟨Tx⟩
    desc = " ".join(scenarios.load(scenarios.resolve("rnn_encoder_decoder")).description.split())
    assert f"reads Tx = {tx} inputs" in desc and f"encoder's last state a⟨{tx}⟩," in desc


def test_default_keeps_every_step() -> None:
    stage = stage_of("rnn_step")
    assert stage.architecture == "many_to_many"
    assert stage.has_input.all() and stage.has_output.all()
    assert "architecture" not in stage.describe()


@pytest.mark.parametrize("name", list(BUNDLED))
def test_diagram_boxes(name: str) -> None:
    stage = stage_of(name)
    for t in range(1, len(stage) + 1):  # time steps count from 1, x⟨1⟩ first
        text = unrolled(t, len(stage), has_input=stage.has_input, has_output=stage.has_output)
        plain = text.plain
        assert 3 <= len(plain.splitlines()) <= 5
        assert plain.count("[x⟨") == int(stage.has_input.sum())
        assert plain.count("[ŷ⟨") == int(stage.has_output.sum())
        assert "a⟨0⟩→" in plain.replace(" ", "") and "[t=0]" not in plain
        for k in range(len(stage)):  # mask entry k is time step k + 1
            assert (f"[x⟨{k + 1}⟩]" in plain) == bool(stage.has_input[k])
            assert (f"[ŷ⟨{k + 1}⟩]" in plain) == bool(stage.has_output[k])
        lit = [
            plain[s.start : s.end].strip() for s in text.spans if "on bright_green" in str(s.style)
        ]
        assert lit == [f"[t={t}]"]


def test_diagram_without_output_layer_has_no_top_rows() -> None:
    plain = unrolled(1, 3).plain
    assert "ŷ" not in plain and plain.count("[x⟨") == 3 and len(plain.splitlines()) == 3


def test_diagram_windows_a_long_sequence() -> None:
    plain = unrolled(500, 1000, width=110, has_output=np.ones(1000, bool)).plain
    assert "[t=500]" in plain and "[t=1]" not in plain and "[t=1000]" not in plain
    assert "a⟨0⟩" not in plain  # the start is off screen
    assert all(len(line) <= 110 for line in plain.splitlines())


BAD = [
    pytest.param(
        REC + 'architecture = "many_to_on"\ninput = [[1], [2]]\n',
        "architecture",
        "did you mean 'many_to_one'?",
        id="unknown-architecture",
    ),
    pytest.param(
        REC + 'architecture = "encoder_decoder"\ninput = [[1], [2]]\n',
        "decoder_steps",
        "missing",
        id="decoder-steps-missing",
    ),
    pytest.param(
        REC + 'architecture = "encoder_decoder"\ndecoder_steps = 0\ninput = [[1], [2]]\n',
        "decoder_steps",
        "≥ 1",
        id="decoder-steps-0",
    ),
    pytest.param(
        REC + 'architecture = "one_to_many"\ninput = [[1]]\n',
        "decoder_steps",
        "missing",
        id="one-to-many-without-decoder-steps",
    ),
    pytest.param(
        REC + 'architecture = "one_to_many"\ndecoder_steps = 3\ninput = [[1], [2]]\n',
        "input",
        "expected 1 time step, got 2",
        id="one-to-many-two-inputs",
    ),
    pytest.param(
        REC + 'architecture = "one_to_one"\ninput = [[1], [2]]\n',
        "input",
        "T = 1",
        id="one-to-one-two-steps",
    ),
    pytest.param(
        REC + 'architecture = "many_to_one"\ndecoder_steps = 2\ninput = [[1], [2]]\n',
        "decoder_steps",
        "only one_to_many and encoder_decoder",
        id="decoder-steps-not-allowed",
    ),
]


@pytest.mark.parametrize(("text", "field", "words"), BAD)
def test_scenario_errors(load_text: Callable[..., Any], text: str, field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    ((got_field, message),) = info.value.problems
    assert got_field == field
    assert words in message


def test_engine_refuses_input_where_there_is_none() -> None:
    stage = stage_of("rnn_encoder_decoder")
    x = np.array(stage.x)
    x[5, 0] = 1.0
    with pytest.raises(SpecError) as info:
        RecurrentStage(
            x,
            "lstm",
            stage.hidden_size,
            stage.weight_ih,
            stage.weight_hh,
            stage.bias_ih,
            stage.bias_hh,
            has_input=stage.has_input,
        )
    assert info.value.field == "input"
    with pytest.raises(SpecError) as info:
        RecurrentStage(
            stage.x,
            "lstm",
            stage.hidden_size,
            stage.weight_ih,
            stage.weight_hh,
            stage.bias_ih,
            stage.bias_hh,
            has_output=np.ones(3, bool),
        )
    assert info.value.field == "has_output"
