"""CachedRows: a text box drawn line by line on the Line API, each line made into a strip once
per key, so that a step which changes two lines of thirty builds and repaints two."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widgets import Static

_NULL = RichStyle()

Row = tuple[Hashable, Callable[[], Text | Content]]
"""A line of the box: a key that decides everything the line shows, and how to write it (called
only when no line with that key has been written yet)."""


class CachedRows(Static):
    """A box of unwrapped text lines given as ``Row``s. A line whose key is the one already
    shown is neither written nor repainted again; a key seen before is drawn from its cached
    strip. It is a ``Static`` so that ``render()`` still returns all the text it shows, but
    ``update()`` is not how it is written: ``set_rows`` is.

    A ``Static`` converts all of its text into strips and Textual styles every line of it
    whenever any of it changes: for a grid with a styled span per cell that is most of a
    step's cost."""

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._keys: list[Hashable] = []
        self._makers: list[Callable[[], Text | Content]] = []
        self._made: dict[Hashable, Text | Content] = {}
        self._strips: LRUCache[tuple[Hashable, int, Style], Strip] = LRUCache(1024)
        self._styles: dict[tuple[Style, RichStyle], RichStyle] = {}
        self.written = 0
        """Lines written since the box was made: a counted cost."""
        self.drawn = 0
        """Strips made since the box was made (a line written, or drawn at a new width)."""

    # -- what is shown -------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[Hashable, ...]:
        """The keys of the lines shown, top to bottom."""
        return tuple(self._keys)

    def set_rows(self, rows: Sequence[Row], *, height: int | None = None) -> int:
        """Show ``rows``; repaint only the lines whose key changed. Returns how many did.
        ``height``: hold the box that many text lines tall (the screen is laid out again only
        when that height is new), so that a step whose text is shorter or longer than the
        last step's repaints lines and lays nothing out."""
        if height is not None:
            outer = height + self.styles.gutter.height
            now = self.styles.height
            if now is None or now.unit.name != "CELLS" or int(now.value) != outer:
                self.styles.height = outer
        keys = [key for key, _ in rows]
        old = self._keys
        self._keys = keys
        self._makers = [make for _, make in rows]
        changed = [
            y
            for y in range(max(len(keys), len(old)))
            if y >= len(keys) or y >= len(old) or keys[y] != old[y]
        ]
        if len(self._made) > 4 * max(len(keys), 64):
            shown = set(keys)
            self._made = {k: c for k, c in self._made.items() if k in shown}
        width = max(self.size.width, 1)
        start = 0
        for i, y in enumerate(changed):
            # One region per run of neighbouring lines.
            if i + 1 == len(changed) or changed[i + 1] != y + 1:
                first = changed[start]
                self.refresh(Region(0, first, width, y - first + 1))
                start = i + 1
        return len(changed)

    def set_text(self, text: Text, *, height: int | None = None) -> int:
        """Show ``text`` line by line (see ``text_rows`` and ``set_rows``)."""
        return self.set_rows(text_rows(text), height=height)

    def set_title(self, title: str) -> None:
        """Write the border title, repainting the top border only: setting ``border_title``
        repaints the whole box, every line of it styled again, at every step whose title
        changes (the attention box names the row computed). Internal: it stores the title
        as ``border_title`` does (Textual's ``_border_title``)."""
        content = self.render_str(title).expand_tabs(4).split()[0]
        if content == self._border_title:
            return
        self._border_title = content
        gutter = self.styles.gutter
        self.refresh(Region(-gutter.left, -gutter.top, self.outer_size.width, 1))

    def clear(self) -> None:
        """Forget every line written: the same keys will mean other text from now on."""
        self._made.clear()
        self._strips.clear()
        self.refresh()

    def _line(self, y: int) -> Text | Content:
        """Line ``y`` as its row wrote it (written once per key)."""
        key = self._keys[y]
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self._makers[y]()
            self.written += 1
        return made

    def _content(self, y: int) -> Content:
        made = self._line(y)
        return Content.from_rich_text(made) if isinstance(made, Text) else made

    # -- drawing -------------------------------------------------------------------------------

    def render(self) -> Content:
        """All the lines as one text (what a plain ``Static`` would show)."""
        return Content("\n").join(self._content(y) for y in range(len(self._keys)))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.visual_style
        if y >= len(self._keys) or width <= 0:
            return Strip.blank(width, style.rich_style)
        if self.text_selection is not None:
            # A selection spans lines: drawn from the whole text, as a Static draws it.
            strips = Visual.to_strips(self, self.render(), width, None, style)
            return strips[y] if y < len(strips) else Strip.blank(width, style.rich_style)
        key = (self._keys[y], width, style)
        strip = self._strips.get(key)
        if strip is None:
            made = self._line(y)
            if isinstance(made, Text) and not made.style:
                strip = self._segments_strip(made, width, style)
            else:
                # The conversion a Static makes of its text, one line at a time.
                strips = Visual.to_strips(self, self._content(y), width, 1, style)
                strip = strips[0] if strips else Strip.blank(width, style.rich_style)
            self._strips[key] = strip
            self.drawn += 1
        # Where each character is, for selecting text with the mouse: the line drawn alone
        # was at y = 0. (The strip keeps the result for this y.)
        return strip.apply_offsets(0, y)

    def _segments_strip(self, text: Text, width: int, base: Style) -> Strip:
        """``text`` as a strip straight from Rich's segments, each styled as a Static styles
        it (its style over the box's, converted once per style) but without Textual's
        conversion of every span: two to four times faster for a line of coloured cells.
        ``tests/test_cached_rows.py`` checks that the strips are the same."""
        styles = self._styles
        if len(styles) > 4096:  # a new theme, or heat colours without end
            styles.clear()
        theme = self.app.ansi_theme
        segments = []
        for text_, span_style, _ in text.render(self.app.console, end=""):
            rich = span_style or _NULL
            combined = styles.get((base, rich))
            if combined is None:
                combined = (base + Style.from_rich_style(rich, theme)).rich_style
                styles[(base, rich)] = combined
            segments.append(Segment(text_, combined))
        return Strip(segments).crop(0, width)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if not self._keys:
            return 0
        widths = (self._line(y) for y in range(len(self._keys)))
        return max(m.cell_len if isinstance(m, Text) else m.cell_length for m in widths)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._keys)


def text_rows(text: Text) -> list[Row]:
    """The lines of ``text`` as rows keyed by what each shows (its characters and styles): a
    text written again at every step repaints only the lines that differ."""
    lines = text.split("\n", allow_blank=True)
    return [((line.plain, tuple(line.spans), str(line.style)), _given(line)) for line in lines]


def _given(line: Text) -> Callable[[], Text]:
    return lambda: line
