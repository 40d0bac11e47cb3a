"""``tui.compositor.LineCompositor``: a partial update that asks only the widgets on changed
lines for their lines writes to the terminal exactly what Textual's own partial update writes,
step after step, in panels of every shape; and it asks fewer widgets."""

from __future__ import annotations

import pytest
from apps import player_app
from rich.console import Console
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

import tui.compositor
from tui.compositor import LineCompositor


class Compared(LineCompositor):
    """Makes each partial update both ways, on the same changed regions, and keeps the two
    writes (escape sequences and text, as the terminal would get them) to compare."""

    console = Console(color_system="truecolor", force_terminal=True)
    pairs: list[tuple[str, str]] = []
    asked: list[tuple[int, int]] = []
    """Per update: the widgets asked for lines, ours and Textual's."""
    calls: list[Widget] = []

    def render_partial_update(self) -> ChopsUpdate | None:
        regions = self._dirty_regions.copy()
        before = len(Compared.calls)
        ours = super().render_partial_update()
        middle = len(Compared.calls)
        self._dirty_regions.update(regions)
        theirs = Compositor.render_partial_update(self)
        after = len(Compared.calls)
        if ours is None or theirs is None:
            assert ours is theirs
            return ours
        Compared.pairs.append(
            (ours.render_segments(Compared.console), theirs.render_segments(Compared.console))
        )
        Compared.asked.append((middle - before, after - middle))
        return ours


@pytest.mark.parametrize(
    ("name", "size", "keys"),
    [
        ("conv_parameter_sharing", (120, 40), ["right"] * 12 + ["h"] + ["right"] * 4),
        ("conv_rgb_volume", (80, 24), ["right"] * 8 + ["i", "right", "right"]),
        ("lstm_gates", (120, 40), ["right"] * 6 + ["left"] * 2),
        ("translate_attention", (120, 40), ["right"] * 10),
        ("lm_words_score", (200, 50), ["right"] * 6),
        ("cnn_conv_relu_pool", (120, 40), ["]", "right", "right", "]", "right", "["]),
        ("net_mlp_digits", (120, 40), ["down"] * 4 + ["up"]),
    ],
)
async def test_same_writes_as_textual(
    name: str, size: tuple[int, int], keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.compositor, "LineCompositor", Compared)
    Compared.pairs = []
    Compared.asked = []
    Compared.calls = []
    render_lines = Widget.render_lines

    def counted(widget: Widget, crop: Region) -> list[Strip]:
        Compared.calls.append(widget)
        return render_lines(widget, crop)

    monkeypatch.setattr(Widget, "render_lines", counted)
    app = player_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert isinstance(app.screen._compositor, Compared)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
    assert len(Compared.pairs) >= len(keys) // 2, "the steps made partial updates"
    for ours, theirs in Compared.pairs:
        assert ours == theirs
    # Fewer widgets asked for their lines: those off the changed lines are left out.
    assert sum(a for a, _ in Compared.asked) < sum(b for _, b in Compared.asked)
