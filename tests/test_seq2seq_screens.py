"""The player on translation, beam-search and caption stages: typing a new text (e), changing
the beam width and α (B/b, A/a), and what the panels put on screen."""

from __future__ import annotations

import re

import pytest
from apps import player, player_app
from textual.widgets import Input, Label, Static

import scenarios
from engine.beam import BeamSearchStage
from engine.core import Searchable
from engine.seq2seq import TranslationStage
from tui.app import NetsimApp
from tui.panels.beam_search import BeamSearchPanel
from tui.panels.translation import TranslationPanel
from tui.screens.help import HelpScreen
from tui.screens.player import BEAM_WIDTHS, PlayerScreen, next_alpha, next_beam_width
from tui.screens.textinput import TextInputScreen

SIZE = (120, 40)
TRANSLATE = "translate_date"
"""A translation scenario: the translator, then a beam search over the same decoder."""
SEARCH = "beam_names"
"""A beam search over the character-level language model (no input text)."""


def keys_for(text: str) -> list[str]:
    """The key presses that type ``text`` into an input box."""
    names = {" ": "space", "/": "slash", "-": "minus", ".": "full_stop", ",": "comma"}
    return [names.get(ch, ch) for ch in text]


def shown_text(app: NetsimApp, selector: str) -> str:
    """The plain text a Static of the screen on top shows."""
    return str(app.screen.query_one(selector, Static).render())


async def type_text(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Open the box with e, replace what it holds by ``text`` and press Enter."""
    await pilot.press("e")
    await pilot.pause()
    box = pilot.app.screen.query_one("#text-input", Input)
    box.value = ""
    await pilot.press(*keys_for(text), "enter")
    await pilot.pause()


def translation(screen: PlayerScreen) -> TranslationStage:
    stage = screen.simulation.stages[0]
    assert isinstance(stage, TranslationStage)
    return stage


def beam(screen: PlayerScreen) -> BeamSearchStage:
    stages = [s for s in screen.simulation.stages if isinstance(s, BeamSearchStage)]
    assert len(stages) == 1
    return stages[0]


@pytest.mark.parametrize(
    ("width", "direction", "expected"),
    [(3, 1, 5), (3, -1, 2), (1, -1, None), (1000, 1, None), (4, 1, 5), (4, -1, 3), (7, -1, 5)],
)
def test_next_beam_width_moves_along_the_list(
    width: int, direction: int, expected: int | None
) -> None:
    assert next_beam_width(width, direction) == expected
    assert BEAM_WIDTHS[0] == 1  # B = 1 (greedy decoding) is always reachable


@pytest.mark.parametrize(
    ("alpha", "direction", "expected"),
    [
        (0.7, 1, 0.8),
        (0.7, -1, 0.6),
        (1.0, 1, None),
        (0.0, -1, None),
        (0.95, 1, 1.0),
        (0.05, -1, 0.0),
    ],
)
def test_next_alpha_moves_by_a_tenth_within_0_and_1(
    alpha: float, direction: int, expected: float | None
) -> None:
    assert next_alpha(alpha, direction) == expected


async def test_typed_date_is_translated_and_searched_again() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        old = translation(screen)
        await pilot.press("right", "right", "right")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, TextInputScreen)
        assert app.screen.query_one("#text-input", Input).value == old.text  # prefilled
        app.screen.query_one("#text-input", Input).value = ""
        await pilot.press(*keys_for("5 march 2003"), "enter")
        await pilot.pause()
        assert app.screen is screen
        stage = translation(screen)
        assert stage is not old and stage.text == "5 march 2003"
        assert stage.output_text == TranslationStage(old.translator, "5 march 2003").output_text
        assert screen.cursor == 3  # the same step of the same stage
        panels = list(screen.query(TranslationPanel))
        assert len(panels) == 1 and panels[0].tr is stage
        assert "5 march 2003"[0] in shown_text(app, "#tr-seq")
        # the beam search read the new date too, and its best is the model's translation
        search = beam(screen)
        assert search.input_text == "5 march 2003"
        assert search.text_of(search.result.best) == stage.output_text
        # the last step of the translation shows the whole output
        await pilot.press("end")
        await pilot.press("left_square_bracket")
        await pilot.pause()
        screen.cursor = len(stage) - 1
        await pilot.pause()
        assert stage.output_text in shown_text(app, "#tr-seq").replace(" ", "")


async def test_a_bad_text_changes_nothing_and_says_why_in_one_line() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        before = list(screen.simulation.stages)
        await type_text(pilot, "   ")  # blank
        assert isinstance(app.screen, TextInputScreen)
        error = str(app.screen.query_one("#text-error", Label).render())
        assert error.startswith("text: ") and "\n" not in error
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert screen.simulation.stages == before


async def test_a_text_too_long_is_refused_by_every_stage_or_none() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        before = list(screen.simulation.stages)
        await pilot.press("e")
        await pilot.pause()
        box = app.screen.query_one("#text-input", Input)
        box.value = "1" * 201
        await pilot.press("enter")
        await pilot.pause()
        error = str(app.screen.query_one("#text-error", Label).render())
        assert "text: " in error and "200" in error
        await pilot.press("escape")
        await pilot.pause()
        assert screen.simulation.stages == before


async def test_unknown_characters_are_shown_as_unk() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        await type_text(pilot, "5 m#rch 2003")
        stage = translation(screen)
        assert "<UNK>" in stage.read
        seq = shown_text(app, "#tr-seq")
        assert "<UNK>" in seq and "'#'" in seq


async def test_beam_keys_search_again_with_the_new_width_and_alpha() -> None:
    app = player_app(SEARCH)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        await pilot.press("right", "right")
        await pilot.pause()
        old = beam(screen)
        assert screen.check_action("beam", (1,)) is True
        await pilot.press("B")
        await pilot.pause()
        wider = beam(screen)
        assert wider.beam_width == next_beam_width(old.beam_width, 1)
        assert wider.alpha == old.alpha and wider.input_text == old.input_text
        await pilot.press("b", "b")
        await pilot.pause()
        assert beam(screen).beam_width == next_beam_width(old.beam_width, -1)
        await pilot.press("A")
        await pilot.pause()
        assert beam(screen).alpha == pytest.approx(old.alpha + 0.1)
        await pilot.press("a", "a")
        await pilot.pause()
        assert beam(screen).alpha == pytest.approx(old.alpha - 0.1)
        panels = list(screen.query(BeamSearchPanel))
        assert len(panels) == 1 and panels[0].search is beam(screen)
        head = screen.query_one("#bs-head")
        assert f"B = {beam(screen).beam_width}" in str(head.border_title)
        assert screen.cursor == 2  # the same search step


async def test_the_narrowest_beam_is_greedy_and_the_end_of_the_list_is_said() -> None:
    app = player_app("beam_greedy")
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        stage = beam(screen)
        assert stage.beam_width == 1
        await pilot.press("b")
        await pilot.pause()
        assert beam(screen) is stage  # nothing narrower than B = 1
        await pilot.press("B", "B")
        await pilot.pause()
        assert beam(screen).beam_width == 3
        assert beam(screen).text_of(beam(screen).result.best) == "the <UNK> eats <UNK>"


async def test_beam_keys_are_not_offered_on_a_stage_that_does_not_search() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        stage = screen.simulation.stage_of(screen.cursor)
        assert not isinstance(stage, Searchable)
        for action in ("beam", "alpha"):
            assert screen.check_action(action, (1,)) is False
        stages = list(screen.simulation.stages)
        await pilot.press("B", "b", "A", "a")
        await pilot.pause()
        assert screen.simulation.stages == stages
        # the footer lists what active_bindings holds: e here, B/b and A/a not
        offered = {b.binding.action for b in screen.active_bindings.values()}
        assert "edit_text" in offered
        assert not offered & {"beam(1)", "beam(-1)", "alpha(1)", "alpha(-1)"}


async def test_keys_are_off_and_unlisted_where_nothing_reads_text_or_searches() -> None:
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        for action in ("edit_text", "beam", "alpha"):
            assert screen.check_action(action, (1,)) is False
        stage = screen.simulation.stages[0]
        await pilot.press("e", "B", "a")
        await pilot.pause()
        assert app.screen is screen and screen.simulation.stages[0] is stage
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = [key for key, _ in app.screen.keys]
        assert "e" not in keys and "B / b" not in keys and "A / a" not in keys


@pytest.mark.parametrize(
    ("name", "keys", "listed", "unlisted"),
    [
        # On the translation: the text and the stages, not the search's keys nor a conv's.
        (TRANSLATE, [], {"e", "] / ["}, {"B / b", "A / a", "r", "f", "u", "k", "< / >"}),
        # On its search, after ]: the search's keys too.
        (TRANSLATE, ["right_square_bracket"], {"e", "B / b", "A / a"}, {"r", "n / N"}),
        (SEARCH, [], {"B / b", "A / a"}, {"e", "] / [", "t"}),
    ],
)
async def test_help_lists_the_keys_where_they_work(
    name: str, keys: list[str], listed: set[str], unlisted: set[str]
) -> None:
    app = player_app(name)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {key for key, _ in app.screen.keys}
        assert listed <= shown and not unlisted & shown


def test_every_translation_scenario_has_a_beam_stage_offering_the_keys() -> None:
    sim = scenarios.load(scenarios.resolve(TRANSLATE))
    assert any(isinstance(s, Searchable) for s in sim.stages)


CAPTION = "caption_shapes"
"""A captioning scenario: the captioner, then a beam search over its decoder."""


async def test_typed_scene_is_drawn_and_captioned_again() -> None:
    from engine.caption import CaptionStage
    from tui.panels.caption import CaptionPanel

    app = player_app(CAPTION)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        old = screen.simulation.stages[0]
        assert isinstance(old, CaptionStage)
        await pilot.press("right", "right")
        await type_text(pilot, "green triangle left of yellow circle")
        assert app.screen is screen
        stage = screen.simulation.stages[0]
        assert isinstance(stage, CaptionStage) and stage is not old
        assert stage.input_text == "green triangle left of yellow circle"
        assert screen.cursor == 2
        panel = screen.query_one(CaptionPanel)
        assert panel.cap is stage
        words = stage.step(2).words
        assert " ".join(words) in " ".join(shown_text(app, "#cap-caption").split())
        assert beam(screen).input_text == stage.input_text  # the search drew the new scene too


async def test_an_unknown_colour_keeps_the_picture_and_names_the_valid_ones() -> None:
    app = player_app(CAPTION)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        before = list(screen.simulation.stages)
        await type_text(pilot, "purple circle above blue square")
        assert isinstance(app.screen, TextInputScreen)
        error = str(app.screen.query_one("#text-error", Label).render())
        assert error.startswith("scene: ") and "purple" in error and "yellow" in error
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.simulation.stages == before


async def test_a_shorter_text_keeps_the_cursor_at_the_last_step_it_has() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        old = translation(screen)
        screen.cursor = len(old) - 1  # the translation's last decoder step
        await pilot.pause()
        await type_text(pilot, "1/2/3")
        stage = translation(screen)
        assert len(stage) < len(old)
        assert screen.simulation.locate(screen.cursor) == (0, len(stage) - 1)


async def test_editing_from_the_search_runs_the_translation_again_too() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        screen = player(app)
        await pilot.press("right_square_bracket", "right")
        await pilot.pause()
        assert isinstance(screen.simulation.stage_of(screen.cursor), BeamSearchStage)
        await type_text(pilot, "3 May 1979")
        assert translation(screen).text == "3 May 1979"
        assert beam(screen).input_text == "3 May 1979"
        assert screen.simulation.locate(screen.cursor) == (1, 1)
        assert "x = '3 May 1979'" in str(screen.query_one("#bs-head").border_subtitle)


@pytest.mark.parametrize(
    ("widths", "room", "focus", "expected"),
    [
        ([3] * 5, 15, 2, (0, 5)),  # all fit
        ([3] * 10, 9, 0, (0, 3)),
        ([3] * 10, 9, 9, (7, 10)),
        ([3] * 10, 9, 5, (4, 7)),
        ([3, 3, 6, 3], 7, 2, (2, 3)),  # the focus alone when nothing else fits beside it
    ],
)
def test_a_long_input_is_shown_around_its_focus(
    widths: list[int], room: int, focus: int, expected: tuple[int, int]
) -> None:
    from tui.panels.translation import window

    assert window(widths, room, focus) == expected


async def test_a_long_date_shows_the_most_attended_part_and_says_so() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = player(app)
        long_date = "Tuesday, the ninth of October in the year two thousand and 2021"
        await type_text(pilot, long_date)
        stage = translation(screen)
        screen.cursor = len(stage) - 2  # a late decoder step
        await pilot.pause()
        step = stage.step(len(stage) - 2)
        seq = shown_text(app, "#tr-seq")
        found = re.search(rf"x⟨(\d+)⟩ … x⟨(\d+)⟩ of {len(stage.read)}", seq)
        assert found is not None, seq  # the screen says which part of x it shows
        first, last = int(found[1]), int(found[2])
        assert last - first + 1 < len(stage.read)
        where = int(step.alpha.argmax()) + 1  # type: ignore[union-attr]
        assert first <= where <= last  # and that part holds the most attended character
        assert f"of {len(stage.read)} shown" in shown_text(app, "#tr-main")


async def test_a_search_that_runs_out_says_so_on_its_last_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nothing ends with <EOS> within max_length = 2: the last step says so and ranks the
    unfinished hypotheses instead of an empty pool (no crash)."""
    path = tmp_path / "short.toml"
    path.write_text(
        'kind = "beam_search"\ntitle = "t"\nmodel = "word_lm"\nmax_length = 2\n', encoding="utf-8"
    )
    app = NetsimApp(scenarios.load(path), check=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await pilot.pause()
        stage = beam(player(app))
        assert stage.result.ran_out and not stage.result.finished
        head = " ".join(shown_text(app, "#bs-head").split())
        assert "no hypothesis ended with <EOS> within max_length = 2" in head
        assert "the best of them is returned" in head
        best = stage.text_of(stage.result.best)
        assert best in " ".join(str(w.render()) for w in app.screen.query(Static))
        await pilot.press("B")  # a wider search runs out too, and still draws
        await pilot.pause()
        assert "no hypothesis ended" in " ".join(shown_text(app, "#bs-head").split())


def test_the_header_says_how_many_are_kept_once_the_beam_narrows() -> None:
    """After a name finishes, B − |pool| hypotheses are kept, and the header says that number,
    not B."""
    from tui.panels.beam_search import header_text

    stage = scenarios.load(scenarios.resolve(SEARCH)).stages[0]
    assert isinstance(stage, BeamSearchStage)
    for i in range(len(stage) - 1):
        step = stage.step(i)
        assert step.record is not None
        kept = len(step.record.kept) + len(step.record.finished)
        head = header_text(stage, step).plain
        assert f"= {kept} are kept" in head or f"= {kept} is kept" in head, head
    narrowed = [stage.step(i) for i in range(len(stage) - 1) if stage.step(i).pool]
    assert narrowed, "the scenario's beam narrows"


def test_error_analysis_of_a_word_model_keeps_the_spaces() -> None:
    from tui.panels.beam_search import BeamView, analysis_text

    sim = scenarios.load(scenarios.resolve("caption_model_error"))
    stage = beam_of(sim)
    text = analysis_text(BeamView(stage))
    assert text is not None
    assert "'a blue square left of a green circle'" in text.plain


def beam_of(sim):  # type: ignore[no-untyped-def]
    (stage,) = [s for s in sim.stages if isinstance(s, BeamSearchStage)]
    return stage


async def test_a_translation_that_is_not_a_real_date_is_said_to_be_unchecked() -> None:
    app = player_app(TRANSLATE)
    async with app.run_test(size=SIZE) as pilot:
        note = " ".join(shown_text(app, "#tr-note").split())
        assert "not a real date" not in note  # 2021-10-09 is one
        await type_text(pilot, "31 February 2001")
        stage = translation(player(app))
        assert stage.output_text == "2001-02-31" and not stage.real_date
        note = " ".join(shown_text(app, "#tr-note").split())
        assert "'2001-02-31' is not a real date" in note
        assert "nothing checks what it writes" in note
