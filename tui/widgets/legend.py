"""Legend: one line under the panel saying what the colours on the current stage mean, and the
swatches panels build it from (taken from the styles the grids draw with, so they agree)."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from tui.widgets import matrix

Swatch = tuple[str, str, str]
"""(sample text, style, meaning): one colour of a legend, as the panel draws it."""


def _style(style: object) -> str:
    """A rich Style (as the grids keep theirs) written as a style string."""
    return str(style)


def window() -> Swatch:
    """The cells the current step reads (a kernel's or a pool's window)."""
    return (" 10 ", _style(matrix._WINDOW), "window read")


def padding() -> Swatch:
    """The zeros added around an input."""
    return (" 0 ", _style(matrix._PAD), "padding")


def current() -> Swatch:
    """The output element the current step computes."""
    return (" 30 ", _style(matrix._CURRENT), "this output")


def pending() -> Swatch:
    """An output the steps have not reached yet."""
    return (" · ", _style(matrix._PENDING), "not yet computed")


def winner() -> Swatch:
    """The window's largest value in max pooling."""
    return (" 9 ", _style(matrix._MARK), "max: the winner")


def heat(signed: bool = True) -> list[Swatch]:
    """The heat view's shading: blue below 0 and red above for signed data, dark to light for
    data of one sign."""
    if signed:
        return [
            (" −1 ", _style(matrix.heat_style(-1.0, -1.0, 1.0)), "heat < 0"),
            (" 1 ", _style(matrix.heat_style(1.0, -1.0, 1.0)), "heat > 0"),
        ]
    return [
        (" lo ", _style(matrix.heat_style(0.0, 0.0, 1.0)), "heat: low"),
        (" hi ", _style(matrix.heat_style(1.0, 0.0, 1.0)), "high"),
    ]


def grid(*, pad: bool = False, heat_on: bool = False, signed: bool = True) -> list[Swatch]:
    """The colours of a panel of grids whose step reads a window of an input."""
    out = [window(), current(), pending()]
    if pad:
        out.insert(1, padding())
    if heat_on:
        out += heat(signed)
    return out


def line(swatches: list[Swatch]) -> Content:
    """``swatches`` on one line: each sample in its colour, then what it means. The styles are
    Rich's, as the panels draw with (``bright_green`` is a Rich colour, not a Textual one)."""
    text = Text()
    for sample, style, meaning in swatches:
        if text:
            text.append("  ")
        text.append(sample, style=style)
        text.append(f" {meaning}")
    return Content.from_rich_text(text)


class Legend(Static):
    """The colours of the stage on screen, on one line (cut with … when the line is longer than
    the screen is wide; ``?`` lists them all)."""

    DEFAULT_CSS = """
    Legend {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def show(self, content: Content) -> None:
        """Show ``content``; an empty legend takes no line."""
        self.display = bool(content.plain.strip())
        self.update(content)
