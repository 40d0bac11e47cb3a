"""What the translation scenarios' descriptions claim, checked against the numbers the stages
compute: each test names the sentence it checks."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from engine.beam import BeamSearchStage
from engine.core import Simulation
from engine.seq2seq import TranslationStage


def load(name: str) -> Simulation:
    return scenarios.load(scenarios.resolve(name))


def translation(sim: Simulation) -> TranslationStage:
    stage = sim.stages[0]
    assert isinstance(stage, TranslationStage)
    return stage


def beam(sim: Simulation) -> BeamSearchStage:
    stage = sim.stages[1]
    assert isinstance(stage, BeamSearchStage)
    return stage


def positions(stage: TranslationStage, start: int, piece: str) -> list[int]:
    """The 0-based input positions of ``piece`` in the text, found from ``start``."""
    at = stage.text.index(piece, start)
    return list(range(at, at + len(piece)))


def output_positions(field: str) -> list[int]:
    """0-based decoder steps that write the ISO field ``year``, ``month`` or ``day``."""
    return {"year": [0, 1, 2, 3], "month": [5, 6], "day": [8, 9]}[field]


def test_every_scenario_loads_and_agrees_with_torch() -> None:
    for name in ("translate_date", "translate_attention", "translate_error_analysis"):
        sim = load(name)
        assert sim.topic == "Attention and decoding"
        stage = translation(sim)
        assert stage.check_against_torch() <= stage.tolerance()
        search = beam(sim)
        assert search.check_against_torch() <= 1e-9
        # "the decoder — a language model whose first state s⟨0⟩ comes from the encoder
        # instead of a zero vector, a conditional language model"
        bridge = stage.step(2 * stage.tx)
        assert bridge.phase == "bridge" and "conditional language model" in bridge.explanation
        assert np.abs(bridge.state).max() > 0


def test_translate_date() -> None:
    sim = load("translate_date")
    stage = translation(sim)
    text = stage.text
    assert text == "Tuesday 09/10/2021" and text in sim.description
    # "translates "Tuesday 09/10/2021" into "2021-10-09"" and "09/10 is 9 October"
    assert stage.output_text == "2021-10-09" and stage.ended
    assert "2021-10-09" in sim.description
    # "A bidirectional GRU reads the input twice, left to right and right to left"
    phases = [stage.step(i).phase for i in range(2 * stage.tx)]
    assert phases == ["forward"] * stage.tx + ["backward"] * stage.tx
    # "while the decoder writes the month 10, α⟨t,·⟩ puts most weight on the "10" of the
    # input, and while it writes the day 09, on the "09""
    for field, piece in (("month", "10"), ("day", "09")):
        where = positions(stage, text.index(" "), piece)
        for t in output_positions(field):
            assert stage.alpha[t, where].sum() > 0.5, (field, t)
            assert int(np.argmax(stage.alpha[t])) in where
    # "The weekday "Tuesday" gets under 2 % of the weight while the date is written"
    weekday = positions(stage, 0, "Tuesday")
    date_steps = range(len(stage.output_text))
    assert all(stage.alpha[t, weekday].sum() < 0.02 for t in date_steps)
    # "a beam search of width B = 3 over the same decoder keeps three hypotheses at every step
    # and returns the same date"
    search = beam(sim)
    assert search.beam_width == 3 and search.decoder is stage.decoder
    assert all(len(r.kept) + len(r.finished) == 3 for r in search.result.steps)
    assert search.text_of(search.best) == stage.output_text and search.best.finished


def test_translate_attention() -> None:
    sim = load("translate_attention")
    stage = translation(sim)
    text = stage.text
    assert text == "5 march 2003" and f'"{text}"' in sim.description
    # "becomes "2003-03-05""
    assert stage.output_text == "2003-03-05" and '"2003-03-05"' in sim.description
    # "While the decoder writes the year, α⟨t,·⟩ sits on the digits of "2003" at the end"
    year = positions(stage, 0, "2003")
    for t in output_positions("year"):
        assert stage.alpha[t, year].sum() > 0.5 and int(np.argmax(stage.alpha[t])) in year
    # "the month is spelt as a word, so while the decoder writes its two digits, α⟨t,·⟩ puts
    # most of its weight on the letters of "march" instead"
    month = positions(stage, 0, "march")
    assert text.split()[1] == "march" and text[month[0] : month[-1] + 1].isalpha()
    for t in output_positions("month"):
        assert stage.alpha[t, month].sum() > 0.5 and int(np.argmax(stage.alpha[t])) in month
    # "then, for the day, it jumps back to the "5" at the very start"
    assert text[0] == "5"
    for t in output_positions("day"):
        assert int(np.argmax(stage.alpha[t])) == 0


def teacher_forced_log_prob(stage: TranslationStage, output: str) -> float:
    """log P(output, <EOS> | x) from the stage's own decoder, fed ``output`` one symbol a step."""
    dec = stage.decoder
    ids = [dec.vocabulary.index(ch) for ch in output] + [dec.eos]
    state, total = dec.start(), 0.0
    for k in ids:
        total += float(state.log_p[0, k])
        state = dec.advance(state, np.array([k]))
    return total


def test_translate_error_analysis() -> None:
    sim = load("translate_error_analysis")
    stage = translation(sim)
    # The reference y* is the right answer: the ISO input itself.
    assert stage.text == "2003-03-05" and '"2003-03-05"' in sim.description
    reference = "2003-03-05"
    # "writes a wrong date instead of copying the input"
    assert stage.ended and stage.output_text != reference and len(stage.output_text) == 10
    # "it reads the fields as day, month, year": the year written ends in the last field, the
    # month is the middle field, the day the end of the first
    first, middle, last = stage.text.split("-")
    year, month, day = stage.output_text.split("-")
    assert (year[2:], month, day) == (last, middle, first[2:])
    # "the beam search (B = 3) returns the same wrong date"
    search = beam(sim)
    assert search.beam_width == 3 and search.text_of(search.best) == stage.output_text
    # "P(y*|x) < P(ŷ|x), so the model is at fault, not the search"
    log_p_reference = teacher_forced_log_prob(stage, reference)
    assert log_p_reference < stage.log_prob
    assert teacher_forced_log_prob(stage, stage.output_text) == pytest.approx(stage.log_prob)
    analysis = search.analysis
    assert analysis is not None and search.reference_text == reference
    assert analysis.fault == "model" and "model is at fault" in analysis.explain()
    assert analysis.log_p_reference == pytest.approx(log_p_reference, abs=1e-12)
    assert analysis.log_p_reference < analysis.log_p_found
    # "a wider beam would not help: B = 20 returns the same date"
    wider = search.with_search(beam_width=20)
    assert wider.text_of(wider.best) == stage.output_text != reference
    assert wider.analysis is not None and wider.analysis.fault == "model"
