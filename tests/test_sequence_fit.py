"""Text that does not fit in the sequence panels' boxes ends in "…" and never splits a special
token: the language model's "others" line, and the beam search's lists, at 80×24 and 120×40."""

from __future__ import annotations

import re

import pytest
from apps import player, player_app
from textual.geometry import Region
from textual.widget import Widget

SIZES = [(80, 24), (120, 40)]
LANGUAGE_MODELS = ["lm_sample", "lm_score_unlikely", "lm_words_sample", "lm_words_score"]
BEAMS = ["beam_names", "beam_greedy", "translate_error_analysis"]
SPECIAL_OR_CUT = re.compile(r"<[A-Za-z]*>?")


def box_lines(widget: Widget) -> list[str]:
    """The lines ``widget`` draws inside its border, as a person reads them (whether or not
    they are scrolled into view)."""
    width, height = widget.outer_size
    lines = [strip.text for strip in widget.render_lines(Region(0, 0, width, height))]
    inner = lines[1:-1] if widget.styles.border_top[0] else lines
    return [line[1:-1].strip() if line[:1] in "│┃" else line.strip() for line in inner]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("name", LANGUAGE_MODELS)
async def test_the_others_line_is_whole_or_ends_in_an_ellipsis(
    name: str, size: tuple[int, int]
) -> None:
    app = player_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        p = player(app)
        for i in range(len(p.simulation)):
            p.cursor = i
            await pilot.pause()
            lines = box_lines(p.query_one("#lm-dist"))
            (others,) = [line for line in lines if " others" in line]
            assert others.endswith("together") or others.endswith("…"), (size, i, others)
            for line in lines:  # no line of the chart is cut without saying so
                assert "…" in line or len(line) <= p.query_one("#lm-dist").content_size.width


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("name", BEAMS)
async def test_beam_lists_keep_special_tokens_whole(name: str, size: tuple[int, int]) -> None:
    """Every <EOS> and <UNK> in the alive list, the finished pool, the expansion grid, the
    rankings and the search tree is whole, and a hypothesis cut to fit ends in "…"."""
    app = player_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        p = player(app)
        first = next(
            i
            for i in range(len(p.simulation))
            if p.simulation.locate(i)[1] == 0
            and p.simulation.stages[p.simulation.locate(i)[0]].kind == "beam_search"
        )
        cut = 0
        for i in range(first, len(p.simulation)):
            p.cursor = i
            await pilot.pause()
            await pilot.pause()
            for box in ("#bs-kept", "#bs-pool", "#bs-grid", "#bs-tree-text"):
                widget = p.query_one(box)
                if not widget.display:
                    continue
                for line in box_lines(widget):
                    for token in SPECIAL_OR_CUT.findall(line):
                        assert token in ("<EOS>", "<UNK>"), (size, i, box, line)
                    if box in ("#bs-kept", "#bs-pool") and line.startswith("#"):
                        text = line.split("  ", 4)[-1].removesuffix(" <EOS>").strip()
                        assert text.endswith(("'", "…")), (size, i, box, line)
                        cut += text.endswith("…")
        if size == (80, 24) and name == "beam_names":
            assert cut, "at 80×24 some hypothesis of beam_names is too long for its list"


async def test_the_beam_verdict_is_on_screen_at_120x40_without_scrolling() -> None:
    """beam_names at its ranking step: the error analysis's verdict is on screen as the step
    opens (no ``i``), its box's first lines in the panel's visible area; the head box spends
    no line on B, α, max_length and V (they are its title); and the tree's box is as wide as
    its widest line, so the lists beside it wrap less."""
    app = player_app("beam_names", start=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        p = player(app)
        assert p.cursor == len(p.simulation) - 1
        area = p.query_one("#panel-area")
        assert area.scroll_y == 0
        analysis = p.query_one("#bs-analysis")
        lines = box_lines(analysis)
        assert lines[0].startswith("search at fault")
        top = analysis.content_region.y
        for y in range(top, top + 3):  # the verdict's three lines
            assert area.region.y <= y < area.region.bottom, y
        head = p.query_one("#bs-head")
        assert "B = 3 · α = 0.7" in str(head.border_title)
        assert not any("max_length =" in line for line in box_lines(head))
        text = p.query_one("#bs-tree-text")
        width, height = text.outer_size
        drawn = [s.text.rstrip() for s in text.render_lines(Region(0, 0, width, height))]
        assert max(map(len, drawn)) + 2 >= width  # a scroll bar's column at most to spare
