"""CachedRows writes and repaints only the lines whose key changed, and the translation panel,
drawn with it, rewrites only the lines a step changes: counted, not timed (timings live in
benchmarks/bench_keys.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from apps import painted, player, player_app
from rich.text import Text
from textual.app import App, ComposeResult
from textual.visual import Visual

from engine.seq2seq import TranslationStage
from tui.widgets.rows import CachedRows, Row, text_rows


def rows(*names: str) -> list[Row]:
    """One line per name, keyed by it."""
    return [(name, partial(Text, f"line {name}")) for name in names]


class Box(App[None]):
    def compose(self) -> ComposeResult:
        yield CachedRows(id="box")


async def test_a_line_is_written_once_per_key_and_repainted_only_when_it_changes() -> None:
    app = Box()
    async with app.run_test(size=(40, 10)) as pilot:
        box = app.query_one(CachedRows)
        assert box.set_rows(rows("a", "b", "c")) == 3
        await pilot.pause()
        assert (box.written, box.drawn) == (3, 3)
        assert str(box.render()) == "line a\nline b\nline c"
        assert box.set_rows(rows("a", "B", "c")) == 1  # one line changed
        await pilot.pause()
        assert (box.written, box.drawn) == (4, 4)
        assert box.set_rows(rows("a", "B", "c")) == 0  # nothing changed
        await pilot.pause()
        assert box.drawn == 4
        assert box.set_rows(rows("a", "b", "c")) == 1  # back to a line drawn before
        await pilot.pause()
        assert (box.written, box.drawn) == (4, 4)
        assert box.set_rows(rows("a", "b")) == 1  # a line less
        await pilot.pause()
        assert str(box.render()) == "line a\nline b"
        box.clear()  # the same keys now mean other text: written again
        box.set_rows([("a", lambda: Text("other"))])
        await pilot.pause()
        assert str(box.render()) == "other"
        assert box.written == 5


class Titled(App[None]):
    CSS = "CachedRows { border: round white; height: 6; }"

    def compose(self) -> ComposeResult:
        yield CachedRows(id="box")


async def test_a_new_title_repaints_the_top_border_only() -> None:
    app = Titled()

    def rows_of(screen: Any, update: Any) -> set[int] | None:
        spans = getattr(update, "spans", None)
        return None if spans is None else {y for y, _, _ in spans}

    rows_painted = painted(app, rows_of)
    async with app.run_test(size=(40, 10)) as pilot:
        box = app.query_one(CachedRows)
        box.set_rows(rows("a", "b", "c", "d"))
        box.set_title("first")
        await pilot.pause()
        rows_painted.clear()
        box.set_title("second")
        await pilot.pause()
        assert str(box.border_title) == "second"
        assert rows_painted == [{box.region.y}]  # the border's row, not the four lines
        assert "second" in "".join(s.text for s in app.screen._compositor.render_strips()[0])
        rows_painted.clear()
        box.set_title("second")  # the same title: nothing to paint
        await pilot.pause()
        assert rows_painted == []


def test_text_rows_keys_a_line_by_its_characters_and_styles() -> None:
    plain = text_rows(Text("same\nline"))
    styled = Text("same\n")
    styled.append("line", style="bold")
    keys = [key for key, _ in text_rows(styled)]
    assert keys[0] == plain[0][0] and keys[1] != plain[1][0]
    assert [str(make()) for _, make in plain] == ["same", "line"]


async def test_a_translation_step_writes_only_the_lines_it_changes() -> None:
    """Walking the translator forward, each step writes at most two lines of the attention
    box (the encoder's row read and the one read before; the α row computed and the one lit
    before; none while they are below the screen) and paints one frame; walking back writes
    no line of it at all (every line was drawn on the way forward)."""
    app = player_app("translate_date")
    frames = painted(app, lambda _, update: update)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = player(app)
        stage = screen.simulation.stages[0]
        assert isinstance(stage, TranslationStage)
        main = screen.query_one("#tr-main", CachedRows)
        first_decoder = next(i for i in range(len(stage)) if stage.step(i).phase == "decoder")
        written: dict[int, int] = {}
        for i in range(1, len(stage)):
            before = main.written
            frames.clear()
            await pilot.press("right")
            await pilot.pause()
            assert screen.cursor == i
            assert len(frames) == 1, (i, stage.step(i).phase)
            written[i] = main.written - before
        # The first decoder step draws the matrix (every row new); the bridge one line.
        later = {i: n for i, n in written.items() if i != first_decoder}
        assert max(later.values()) <= 2, later
        # A line below the part of the panel on screen is written once it is scrolled to.
        assert sum(later.values()) >= len(later) // 2
        lines = len(main.keys)
        assert written[first_decoder] > 2 and written[first_decoder] <= lines
        before = main.written
        for i in range(len(stage) - 2, 0, -1):
            frames.clear()
            await pilot.press("left")
            await pilot.pause()
            assert screen.cursor == i and len(frames) == 1
        assert main.written == before


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        ("translate_date", (5, 38, 45, 55)),  # encoder, bridge, decoder, beam search
        ("caption_shapes", (0, 3, 17)),
        ("beam_names", (4, 12)),
    ],
)
async def test_each_line_is_drawn_as_a_static_draws_the_whole_text(
    name: str, steps: tuple[int, ...]
) -> None:
    """Line by line, the boxes of a step are the strips a Static makes of the whole text: the
    same characters and styles, and the offsets that selecting text with the mouse reads."""
    app = player_app(name)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = player(app)
        compared = 0
        for step in steps:  # walked to, so that lines are drawn from the cache
            while screen.cursor < step:
                await pilot.press("right")
            await pilot.pause()
            for box in screen.query(CachedRows):
                if not box.display or box.size.width == 0:
                    continue
                whole = Visual.to_strips(box, box.render(), box.size.width, None, box.visual_style)
                assert len(whole) == len(box.keys), box.id
                for y, strip in enumerate(whole):
                    drawn = box.render_line(y)
                    assert list(drawn) == list(strip), (box.id, y)
                    assert [s.style and s.style.meta for s in drawn] == [
                        s.style and s.style.meta for s in strip
                    ]
                    compared += 1
        assert compared > 20


def screen_text(app: App[Any]) -> list[str]:
    """The characters of every line of the screen as last composed."""
    return ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]


async def test_a_box_below_the_screen_is_not_repainted_until_scrolled_to() -> None:
    """At 120×40 the translation's inspector lies below the screen. A step writes it without
    asking Textual to repaint it (a widget off screen repainted makes Textual lay out its map
    of every widget again), and scrolled to, it shows the step on screen, not the one it
    showed when it was last in view."""
    app = player_app("translate_date")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = player(app)
        stage = screen.simulation.stages[0]
        inspector = screen.query_one("#tr-inspector", CachedRows)
        area = screen.query_one("#panel-area")
        compositor = screen._compositor
        assert inspector not in compositor.visible_widgets
        # Drawn once in view (Textual keeps its styled lines), then scrolled away again.
        inspector.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
        assert inspector in compositor.visible_widgets
        first = stage.step(screen.cursor).explanation
        assert any(first[:50] in line for line in screen_text(app))
        area.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert inspector not in compositor.visible_widgets
        off_screen: list[Any] = []
        update = compositor.update_widgets

        def noting(widgets: set[Any]) -> None:
            off_screen.extend(w for w in widgets if w not in compositor.visible_widgets)
            update(widgets)

        compositor.update_widgets = noting  # type: ignore[method-assign]
        for _ in range(5):
            await pilot.press("right")
            await pilot.pause()
        assert off_screen == []
        now = stage.step(screen.cursor).explanation
        assert now[:50] != first[:50]
        inspector.scroll_visible(animate=False, immediate=True)
        await pilot.pause()
        shown = screen_text(app)
        assert any(now[:50] in line for line in shown)
        assert not any(first[:50] in line for line in shown)


async def test_a_language_model_step_repaints_the_title_of_its_chart_not_the_chart_box() -> None:
    """The chart's box names the step in its title: a step repaints the box's top border and
    the chart's lines, and nothing else of the box (setting ``border_title`` repainted every
    line of it)."""
    app = player_app("lm_words_score")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#lm-dist-box")
        regions: list[Any] = []
        whole: list[bool] = []
        refresh = box.refresh

        def noting(*r: Any, **kw: Any) -> Any:
            regions.extend(r)
            whole.append(not r)
            return refresh(*r, **kw)

        box.refresh = noting  # type: ignore[method-assign]
        title = box.border_title
        await pilot.press("right")
        await pilot.pause()
        assert box.border_title != title
        assert not any(whole)
        assert [(r.y, r.height, r.width) for r in regions] == [(-1, 1, box.outer_size.width)]
