"""Colours given as Rich colour names reach the screen: Textual parses a Text's own style string
itself and drops the Rich names it does not know (grey62, bright_green), drawing the text in
the default colour. These tests render the widgets and look at the colours of the segments."""

from __future__ import annotations

from typing import Any

import pytest
from apps import player, player_app
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from tui.widgets.badge import TorchBadge
from tui.widgets.legend import Legend


def segments(widget: Widget, y: int = 0) -> list[Segment]:
    """Line ``y`` of ``widget`` as drawn, in segments with their final colours."""
    return list(widget.render_lines(Region(0, y, widget.size.width, 1))[0])


def hex_of(app: Any, color: Any) -> str | None:
    """``color`` as #rrggbb in the app's theme (ANSI colours resolved)."""
    return None if color is None else color.get_truecolor(app.ansi_theme).hex


def wanted(app: Any, style: str) -> tuple[str | None, str | None]:
    """The foreground and background that Rich's parse of ``style`` gives in the app's theme."""
    parsed = RichStyle.parse(style)
    return hex_of(app, parsed.color), hex_of(app, parsed.bgcolor)


@pytest.mark.parametrize(
    ("name", "heat"),
    [
        ("conv_same_padding", True),  # window, padding, output, pending, heat
        ("pool_max_4x4", False),  # the winner
        ("lstm_gates", False),  # the gate bars
        ("activation_sigmoid", False),  # the point on the curve
        ("tokens_words", False),  # <EOS>, <UNK>
        ("lm_sample", False),  # probability bars
        ("translate_date", False),  # attention
    ],
)
async def test_every_legend_sample_is_drawn_in_its_colours(name: str, heat: bool) -> None:
    app = player_app(name)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = player(app)
        if heat:
            await pilot.press("h")
        await pilot.pause()
        legend = screen.query_one(Legend)
        panel = screen._panels[0]
        entries = panel.legend_entries(heat)
        assert entries
        drawn = segments(legend)
        default = legend.rich_style
        for sample, style, meaning in entries:
            seg = next(s for s in drawn if s.text == sample)
            fg, bg = wanted(app, style)
            if fg is None and bg is None:
                continue  # a weight only ("bold")
            drawn_colours = (hex_of(app, seg.style.color), hex_of(app, seg.style.bgcolor))
            plain = (hex_of(app, default.color), hex_of(app, default.bgcolor))
            assert drawn_colours == (fg or plain[0], bg or plain[1]), (sample, style)
            # The meaning after the sample is plain text.
            assert meaning in "".join(s.text for s in drawn)


async def test_muted_text_is_grey_not_the_default_colour() -> None:
    """The help's closing line and the PyTorch badge's hint are drawn in grey62."""
    app = player_app("conv_vertical_edge")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        grey, _ = wanted(app, "grey62")
        badge = player(app).query_one(TorchBadge)
        hint = [s for s in segments(badge) if "press c" in s.text]
        assert hint and hex_of(app, hint[0].style.color) == grey
        await pilot.press("question_mark")
        await pilot.pause()
        closing = next(w for w in app.screen.query(Static) if "closes this help" in str(w.render()))
        lines = [segments(closing, y) for y in range(closing.size.height)]
        drawn = [s for line in lines for s in line if "closes" in s.text]
        assert drawn and hex_of(app, drawn[0].style.color) == grey


def test_no_whole_text_has_a_style_textual_cannot_read() -> None:
    """Every ``Text(…, style=…)`` in the player's code gives its style as a Rich ``Style``
    (tui.styles) or as a string Textual's own parser reads ("bold red"), never a Rich colour
    name Textual does not know ("grey62"), which would silently draw the text in the default
    colour. A module-level name is looked up in its module to see what it holds."""
    import ast
    import importlib
    from pathlib import Path

    from textual.markup import parse_style

    def unreadable(style: str) -> bool:
        try:
            parse_style(style)
        except Exception:
            return True
        return False

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in sorted((root / "tui").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        namespace: dict[str, Any] | None = None
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Text"):
                continue
            for kw in node.keywords:
                if kw.arg != "style":
                    continue
                # The style itself, both arms of `a if c else b`, a dict lookup's default.
                values, seen = [kw.value], []
                while values:
                    value = values.pop()
                    if isinstance(value, ast.IfExp):
                        values += [value.body, value.orelse]
                    elif isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "get":
                        values += value.args[1:]
                    else:
                        seen.append(value)
                for value in seen:
                    if isinstance(value, ast.JoinedStr):
                        offenders.append(f"{module}:{node.lineno}: an f-string")
                    elif isinstance(value, ast.Constant) and unreadable(value.value):
                        offenders.append(f"{module}:{node.lineno}: {value.value!r}")
                    elif isinstance(value, ast.Name):
                        if namespace is None:
                            name = module.removesuffix(".__init__")
                            namespace = vars(importlib.import_module(name))
                        held = namespace.get(value.id)
                        if isinstance(held, str) and unreadable(held):
                            offenders.append(f"{module}:{node.lineno}: {value.id} = {held!r}")
    assert not offenders, offenders
