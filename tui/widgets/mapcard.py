"""MapCard: one map of a stack (a channel, a filter, an output map) under a line naming it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.matrix import MatrixGrid

_QUIET = Style(color="grey62")
_LIT = Style(color="black", bgcolor="bright_yellow", bold=True)
_COUNT = re.compile(r" of \d+")
"""The " of 6" of "filter 0 of 6 (Sobel x)": the first thing a narrow label gives up."""


def shortened(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns: whole when it fits, else without its counts
    ("filter 0 (Sobel x)"), else cut with "…" at the end."""
    if len(text) <= width:
        return text
    text = _COUNT.sub("", text)
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…" if width > 0 else ""


class MapLabel(Widget):
    """One line of plain text, drawn from a strip kept until the text changes: the screen
    redraws every widget under the area a step changes, and a Static re-renders its text."""

    DEFAULT_CSS = """
    MapLabel {
        width: auto;
        max-width: 100%;
        height: 1;
    }
    """

    def __init__(self, text: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.text = text
        self.lit = False
        self._strip: Strip | None = None

    def set(self, text: str, lit: bool) -> None:
        """New text or lighting; a new layout only when the text's length changes."""
        if (text, lit) == (self.text, self.lit):
            return
        relayout = len(text) != len(self.text)
        self.text, self.lit, self._strip = text, lit, None
        self.refresh(layout=relayout)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return len(self.text)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y:
            return Strip.blank(width)
        if self._strip is None or self._strip.cell_length != width:
            text = shortened(self.text, width)
            # Lit is the text only: the rest of a card wider than its label stays plain.
            pad = Segment(" " * max(width - len(text), 0))
            self._strip = Strip([Segment(text, _LIT if self.lit else _QUIET), pad])
        return self._strip


class MapCard(Vertical):
    """A label ("channel 2 of 3 (B)") above one or more grids, and an optional line below
    them. The card of the map the current step works on is lit."""

    DEFAULT_CSS = """
    MapCard {
        width: auto;
        height: auto;
        max-height: 100%;
        margin-right: 1;
    }
    """

    def __init__(
        self,
        grids: Iterable[MatrixGrid],
        label: str,
        *,
        footer: str | None = None,
        id: str | None = None,
    ) -> None:
        """``grids`` stacked top to bottom (a filter's channels, or one map); ``footer``, when
        given, is a line under them (a filter's bias)."""
        super().__init__(id=id)
        self.grids = list(grids)
        self._label = MapLabel(label, classes="map-label")
        self._footer = None if footer is None else MapLabel(footer, classes="map-footer")
        self.label_text = label
        self.footer_text = footer or ""

    def compose(self) -> ComposeResult:
        yield self._label
        yield from self.grids
        if self._footer is not None:
            yield self._footer

    def set_label(self, text: str) -> None:
        """Name another map."""
        self.label_text = text
        self._label.set(text, self._label.lit)

    def set_footer(self, text: str) -> None:
        if self._footer is not None:
            self.footer_text = text
            self._footer.set(text, False)

    def set_lit(self, on: bool) -> None:
        """Light the label: this is the map the current step works on."""
        self._label.set(self._label.text, on)

    def text_width(self) -> int:
        """Columns the label and footer need."""
        return max(len(self.label_text), len(self.footer_text))
