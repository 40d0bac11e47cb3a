"""MapCard: one map of a stack (a channel, a filter, an output map) under a line naming it."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.widgets.matrix import MatrixGrid


class MapCard(Vertical):
    """A label ("channel 2 of 3 (B)") above one or more grids, and an optional line below
    them. The card of the map the current step works on is lit (class ``-lit``)."""

    DEFAULT_CSS = """
    MapCard {
        width: auto;
        height: auto;
        max-height: 100%;
        margin-right: 1;
    }
    MapCard > .map-label, MapCard > .map-footer {
        width: auto;
        height: 1;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    MapCard.-lit > .map-label {
        color: $text;
        background: $accent 45%;
        text-style: bold;
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
        self._label = Static(label, classes="map-label", markup=False)
        self._footer = None if footer is None else Static(footer, classes="map-footer")
        self.label_text = label
        self.footer_text = footer or ""

    def compose(self) -> ComposeResult:
        yield self._label
        yield from self.grids
        if self._footer is not None:
            yield self._footer

    def set_label(self, text: str) -> None:
        """Name another map; a label as long as the last one needs no new layout."""
        if text != self.label_text:
            same = len(text) == len(self.label_text)
            self.label_text = text
            self._label.update(text, layout=not same)

    def set_footer(self, text: str) -> None:
        if self._footer is not None and text != self.footer_text:
            same = len(text) == len(self.footer_text)
            self.footer_text = text
            self._footer.update(text, layout=not same)

    def set_lit(self, on: bool) -> None:
        """Light the label: this is the map the current step works on."""
        if self.has_class("-lit") != on:
            self.set_class(on, "-lit")

    def text_width(self) -> int:
        """Columns the label and footer need."""
        return max(len(self.label_text), len(self.footer_text))
