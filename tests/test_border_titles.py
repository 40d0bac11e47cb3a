"""Border titles set from the data (a layer's name, an input's name, a word) are shown as
written: a "[" in them is not read as markup, which would drop text or fail."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from tui.panels._heights import Heights
from tui.widgets.rows import CachedRows

TITLES = ["x[bold]y", "name [red]", "a[/]b", "[on red]z", "W[0] · x", "feat[$x]"]
"""Each would lose text, or raise MarkupError, if read as Textual markup."""


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield Vertical(id="box")
        yield CachedRows(id="rows")


@pytest.mark.parametrize("title", TITLES)
async def test_titles_with_brackets_are_shown_literally(title: str) -> None:
    app = Boxes()
    async with app.run_test(size=(60, 10)) as pilot:
        box = app.query_one("#box", Vertical)
        rows = app.query_one("#rows", CachedRows)
        Heights().title(box, title)
        rows.set_title(title)
        await pilot.pause()
        for widget in (box, rows):
            drawn = widget._border_title
            assert drawn is not None and drawn.plain == title, widget.id
