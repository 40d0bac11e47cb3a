"""Text boxes held at one height for a whole stage, so that a step repaints text and lays
nothing out: one painted frame per step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from tui.panels._vector import put_text, text_height


class Heights:
    """Each text box of a panel held at one height for the whole stage: the tallest text any
    step puts in it at the box's width, found once per width. A step then repaints the boxes'
    text and lays nothing out. (A layout in which a box changes height costs Textual a second
    layout and a second frame, and moves every box below it.)"""

    def __init__(self) -> None:
        self._tallest: dict[tuple[str, int], int] = {}
        self._shown: dict[int, tuple[object, ...]] = {}
        self._titles: dict[int, object] = {}

    def clear(self) -> None:
        """Forget every height found and text shown (another stage in the same panel)."""
        self._tallest.clear()
        self._shown.clear()
        self._titles.clear()

    def title(self, box: Widget, title: str | Content) -> None:
        """Set ``box``'s border title, repainting the box (and all it holds) only when the
        title is new. A str is shown as it is written, never read as markup ("[" in a word
        from the data)."""
        key = title.markup if isinstance(title, Content) else title
        if self._titles.get(id(box)) != key:
            self._titles[id(box)] = key
            box.border_title = Content(title) if isinstance(title, str) else title

    def tallest(
        self, box: Static, lines: Callable[[int], int], *, now: Content | Text | None = None
    ) -> int | None:
        """``lines(width)``, the most text lines ``box`` shows over the stage at its content
        width, computed once per width; None before the box has a width. ``now``, the text
        about to be shown, raises it when ``lines`` looked at some steps only (a long stage):
        the box then only grows."""
        width = box.content_region.width
        if width <= 0:
            return None
        key = (box.id or str(id(box)), width)
        if key not in self._tallest:
            self._tallest[key] = lines(width)
        if now is not None:
            content = Content.from_rich_text(now) if isinstance(now, Text) else now
            self._tallest[key] = max(self._tallest[key], text_height(box, content, width))
        return self._tallest[key]

    def put(self, box: Static, content: Content | Text, lines: int | None) -> None:
        """Show ``content`` in ``box``, ``lines`` text lines tall (None: as tall as the text,
        before the first layout). The screen is laid out again only when that height is new,
        and a box whose text and styles are those already shown is not repainted at all."""
        # What the box would show, compared before the (costly) conversion to Content.
        same: tuple[object, ...] = (
            content.plain,
            list(content.spans),
            str(getattr(content, "style", "")),
        )
        if lines is None:
            self._shown.pop(id(box), None)
            put_text(box, content)
            return
        height = lines + box.styles.gutter.height
        now = box.styles.height
        if now is None or now.unit.name != "CELLS" or int(now.value) != height:
            box.styles.height = height
            put_text(box, content)
        elif self._shown.get(id(box)) == same:
            return
        else:
            put_text(box, content, layout=False)
        self._shown[id(box)] = same

    def put_tallest(
        self,
        box: Static,
        content: Content | Text,
        every: Callable[[], Sequence[Content | Text]],
        *,
        grow: bool = False,
    ) -> None:
        """Show ``content`` in ``box`` held at the height of the tallest of ``every()`` (the
        texts the box shows over the stage, wrapped as it wraps them); ``grow``: ``every()``
        samples a long stage, so ``content`` may raise that height."""
        tallest = self.tallest(box, wrapped_lines(box, every), now=content if grow else None)
        self.put(box, content, tallest)


def _content(text: Content | Text) -> Content:
    return Content.from_rich_text(text) if isinstance(text, Text) else text


SAMPLED = 500
"""Steps measured at most for a box's height; a longer stage is sampled evenly, and the box
grows if a step not measured needs more."""


def sampled(n: int) -> range:
    """The steps of an ``n``-step stage that are measured (every one, up to ``SAMPLED``)."""
    return range(0, n, max(1, -(-n // SAMPLED)))


def wrapped_lines(
    box: Static, texts: Callable[[], Sequence[Content | Text]]
) -> Callable[[int], int]:
    """For ``Heights.tallest``: the most lines any of ``texts()`` takes in ``box`` at a width,
    wrapped as the box wraps it."""

    def lines(width: int) -> int:
        tallest = 1
        for text in texts():
            content = Content.from_rich_text(text) if isinstance(text, Text) else text
            tallest = max(tallest, text_height(box, content, width))
        return tallest

    return lines


def line_count(text: Text | Content) -> int:
    """Lines of a text that is not wrapped."""
    return text.plain.count("\n") + 1
