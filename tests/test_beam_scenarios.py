"""The bundled beam-search scenarios say what their stages compute: every claim of their
descriptions is checked here against the numbers, and every bad setting of the kind is one
line naming its field."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from apps import player_app
from textual.geometry import Region

import scenarios
from engine.beam import BeamSearchStage, beam_search, greedy_decode
from engine.core import Retextable, Searchable, Simulation
from engine.errors import SpecError
from scenarios.datasets import DATA_DIR
from scenarios.decoders import decoder_for
from scenarios.errors import ScenarioError
from tui.widgets.rows import CachedRows


def bundled(name: str) -> tuple[BeamSearchStage, str]:
    sim = scenarios.load(scenarios.resolve(name))
    (stage,) = sim.stages
    assert isinstance(stage, BeamSearchStage)
    return stage, " ".join(sim.description.split())


def number(x: float) -> str:
    """A log-probability as the descriptions write it: two decimals, a true minus sign."""
    return f"{x:.2f}".replace("-", "−")


def test_beam_greedy_description_is_true() -> None:
    stage, description = bundled("beam_greedy")
    assert stage.beam_width == 1 and stage.alpha == 0.7
    assert "B = 1" in description and "word-level" in description
    assert stage.level == "word" and "<UNK>" in stage.vocabulary
    # B = 1 is greedy decoding, and greedy starts with the likeliest first word
    greedy = greedy_decode(stage.decoder, stage.max_length)
    assert stage.best.tokens == greedy.tokens
    first = stage.decoder.start().log_p[0]
    assert stage.vocabulary[int(first.argmax())] == "a"
    assert 'It starts with "a", the likeliest first word' in description
    found = stage.text_of(stage.best)
    assert found == "a <UNK> eats <UNK>" and stage.best.finished
    assert f'ends with "{found}"' in description
    assert f"log P = {number(stage.best.log_prob)}" in description
    # a beam of 3 keeps "the" and "my" beside "a" and finds a likelier sentence
    wider = stage.with_search(beam_width=3)
    step1 = wider.result.steps[0]
    kept = {wider.text_of(wider.result.hypotheses[i]) for i in step1.kept}
    assert kept == {"a", "the", "my"}
    assert 'keeps "the" and "my" at the first step' in description
    better = wider.best
    assert wider.text_of(better) == "the <UNK> eats <UNK>"
    assert f'finds "{wider.text_of(better)}", log P = {number(better.log_prob)}' in description
    assert better.log_prob > stage.best.log_prob
    assert better.score(0.7) > stage.best.score(0.7)
    assert "greedy decoding" in stage.step(-1).explanation


def test_beam_names_description_is_true() -> None:
    stage, description = bundled("beam_names")
    assert stage.beam_width == 3 and stage.alpha == 0.7 and stage.level == "char"
    letters = [t for t in stage.vocabulary if t != "<EOS>"]
    assert sorted(letters) == list(string.ascii_lowercase)
    v = len(stage.vocabulary)
    assert f"each of the {v} tokens (26 letters and <EOS>)" in description
    widest = max(r.expansions.size for r in stage.result.steps)
    assert widest == 3 * v and f"up to {widest} expansions" in description
    # the beam narrows by one as each hypothesis finishes
    finished = 0
    for r in stage.result.steps[1:]:
        finished += len(stage.result.steps[r.t - 2].finished)
        assert len(r.parents) == 3 - finished
    assert finished > 0
    assert "the beam narrows by one" in description
    best, raw = stage.ranking_norm[0], stage.ranking_raw[0]
    assert stage.text_of(best) == "thestethius"
    assert f'α = 0.7: "{stage.text_of(best)}" wins' in description
    assert stage.text_of(raw) == "thesia" and raw.t == min(h.t for h in stage.ranking_raw)
    assert f'by log P alone the shortest, "{stage.text_of(raw)}", would' in description
    # y* is a training name that the model prefers: the search is at fault
    names = (DATA_DIR / "names.txt").read_text(encoding="utf-8").split()
    assert stage.reference_text == "tagrette" and "tagrette" in names
    assert 'The reference y* is "tagrette", a name from the model\'s training set' in description
    e = stage.analysis
    assert e is not None and e.fault == "search"
    assert e.score_reference > e.score_found
    shown = f"({number(e.score_reference)} against {number(e.score_found)})"
    assert f'higher than "thestethius" {shown}' in description
    assert "error analysis blames the search" in description
    assert "search is at fault" in stage.step(-1).explanation
    ten = stage.with_search(beam_width=10)
    assert ten.text_of(ten.best) == "tagrette"
    assert ten.analysis is not None and ten.analysis.fault == "none"
    assert 'a beam of B = 10 finds "tagrette"' in description


@pytest.mark.parametrize("name", ["beam_greedy", "beam_names"])
def test_bundled_beam_scenarios_agree_with_torch(name: str) -> None:
    stage, _ = bundled(name)
    assert isinstance(stage, Searchable) and not isinstance(stage, Retextable)
    assert stage.check_against_torch() <= 1e-9
    assert len(stage) == len(stage.result.steps) + 1


# -- decoders and bad settings -----------------------------------------------------------------


def test_decoder_for_the_language_models() -> None:
    for model in ("char_lm", "word_lm"):
        decoder, remake = decoder_for(model, None, "text")
        assert remake is None and decoder.eos == decoder.vocabulary.index("<EOS>")


@pytest.mark.parametrize(
    ("model", "text", "field", "says"),
    [
        ("chr_lm", None, "model", "did you mean 'char_lm'? valid: char_lm, word_lm"),
        ("gpt", None, "model", "unknown model 'gpt'; valid: char_lm, word_lm"),
        ("char_lm", "3 May 1979", "text", "a language model reads no input"),
    ],
)
def test_decoder_for_refuses(model: str, text: str | None, field: str, says: str) -> None:
    with pytest.raises(SpecError) as e:
        decoder_for(model, text, "text")
    assert e.value.field == field and says in e.value.message


BASE = 'kind = "beam_search"\ntitle = "t"\n'

BAD: list[tuple[str, str, str]] = [
    ("beam_width = 0", "beam_width", "1 to 1,000"),
    ("beam_width = 1001", "beam_width", "got 1001"),
    ("beam_width = 2.5", "beam_width", "2.5"),
    ('beam_width = "3"', "beam_width", "write beam_width = 3"),
    ("beam_width = true", "beam_width", "true"),
    ("alpha = -0.1", "alpha", "[0, 1]"),
    ("alpha = 1.5", "alpha", "got 1.5"),
    ("alpha = nan", "alpha", "got nan"),
    ("max_length = 0", "max_length", "1 to 50"),
    ("max_length = 51", "max_length", "got 51"),
    ('reference = "tag9"', "reference", "'9' at position 3"),
    ('reference = ""', "reference", "non-empty"),
    ('model = "word_lm"\nreference = "the zebra"', "reference", "'zebra'"),
    ('model = "chr_lm"', "model", "did you mean 'char_lm'?"),
    ('text = "3 May 1979"', "text", "a language model reads no input"),
    ('beam_width = 1000\nmax_length = 50\nmodel = "word_lm"', "", ""),
]


@pytest.mark.parametrize(("line", "field", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_settings_are_one_line_naming_the_field(
    load_text: Callable[..., Any], line: str, field: str, says: str
) -> None:
    if not field:  # the widest search allowed loads (and fits the memory budget)
        sim = load_text(BASE + line + "\n")
        assert isinstance(sim, Simulation)
        return
    with pytest.raises(ScenarioError) as e:
        load_text(BASE + line + "\n")
    lines = str(e.value).splitlines()
    assert len(lines) == 1, lines
    assert re.match(rf"^.+?: {re.escape(field)}: .*{re.escape(says)}", lines[0]), lines[0]


def test_the_widest_search_of_the_shipped_models_fits_the_budget() -> None:
    from engine.beam import beam_peak_bytes
    from engine.limits import MAX_BYTES, MAX_LENGTH

    for model in ("char_lm", "word_lm"):
        decoder, _ = decoder_for(model, None, "text")
        state = sum(a[0].size for a in decoder.start().arrays)
        assert beam_peak_bytes(1000, len(decoder.vocabulary), MAX_LENGTH, state) < MAX_BYTES
    assert beam_peak_bytes(1000, 10_000, MAX_LENGTH) > MAX_BYTES  # a huge vocabulary does not


def test_without_normalisation_the_empty_name_wins() -> None:
    """docs/beam-search.md: ranked by raw log P, the character model's best name is empty."""
    decoder, _ = decoder_for("char_lm", None, "text")
    raw = beam_search(decoder, 100, 20, 0.0).best
    assert raw.tokens == (decoder.eos,)
    assert beam_search(decoder, 100, 20, 0.7).best.t > 1
    assert abs(27**12 / 1.5e17 - 1) < 0.01


def test_every_problem_is_said_at_once(scenario_problems: Callable[[str], list[Any]]) -> None:
    problems = scenario_problems(
        BASE + 'beam_width = 0\nalpha = 2\nmax_length = 0\nreference = "x!"\n'
    )
    assert [field for field, _ in problems] == ["beam_width", "alpha", "max_length", "reference"]


async def test_a_finished_name_is_shown_whole_before_its_eos_mark() -> None:
    """At 80×24 the pool's y column has room for 'thesia' but not for 'thesia' <EOS>: the name
    is what tells the hypotheses apart (and the box says they all ended with <EOS>), so it is
    shown whole and the mark left off, not cut to 't…' with the mark kept."""
    app = player_app("beam_names", start=6)  # t = 7: 'thesia' <EOS> joins the pool
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pool = app.screen.query_one("#bs-pool", CachedRows)
        line = next(r for r in pool.render_lines(Region(0, 0, *pool.outer_size)) if "#19" in r.text)
        assert "'thesia'" in line.text and "…" not in line.text, line.text
        assert "<EOS>" not in line.text
    app = player_app("beam_names", start=6)
    async with app.run_test(size=(200, 50)) as pilot:  # room for both
        await pilot.pause()
        pool = app.screen.query_one("#bs-pool", CachedRows)
        text = "\n".join(r.text for r in pool.render_lines(Region(0, 0, *pool.outer_size)))
        assert "'thesia' <EOS>" in text


def test_the_expansion_grid_says_when_a_row_shows_more_than_its_best_few() -> None:
    """At 80 columns a row shows its best one or two expansions, and also every one that went on
    (a kept hypothesis further down the row): the heading says so only when that happens."""
    from tui.panels.beam_search import BeamView, best_first, expansion_grid

    stage = scenarios.load(scenarios.resolve("caption_shapes")).stages[1]
    assert isinstance(stage, BeamSearchStage)
    view = BeamView(stage)
    seen = set()
    for i in range(len(stage)):
        step = stage.step(i)
        if step.record is None:
            continue
        heading = expansion_grid(view, step, 76).plain.splitlines()[0]
        best = re.search(r"each row's best (\d+) of V = 12", heading)
        assert best is not None, heading
        few = int(best.group(1))
        rows = step.record.expansions
        beyond = any(
            (h.id, k) in view.child
            for r, h in enumerate(step.alive_before)
            for k in best_first(rows[r])[few:]
        )
        assert ("and any that went on" in heading) == beyond
        assert len(heading) <= 76
        seen.add(beyond)
    assert seen == {True, False}  # both cases occur in this search
