"""CachedRows: a Static drawn a line at a time straight from a Rich text's spans, each line made
into a strip once and repainted only when it changes, written as a whole text or as keyed
rows made only when first shown."""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Hashable, Sequence
from itertools import pairwise

from rich._wrap import divide_line
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.text import Text
from textual.app import RenderResult
from textual.cache import LRUCache
from textual.content import Content
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual, VisualType
from textual.widget import Widget
from textual.widgets import Static

_NULL = RichStyle()

Row = tuple[Hashable, Callable[[], Text | Content]]
"""A line of the box: a key that decides everything the line shows, and how to write it (called
only when no line with that key has been written yet)."""

Run = tuple[str, RichStyle]
"""Characters of a line and the style they are drawn in (the box's own style included)."""

Wrapped = tuple[tuple[Run, ...], int, int]
"""A row of a text on screen: its runs, the offset of its first character in its line of the
text, and that line's number (a line wrapped in the box is several rows)."""


def wrapped(line: tuple[Run, ...], y: int, width: int) -> list[Wrapped]:
    """Line ``y`` of a text as the rows Textual's Content wraps it to at ``width`` cells (its
    default wrapping: at spaces, a word longer than the width folded, each row but the last
    without its trailing spaces)."""
    plain = "".join(part for part, _ in line)
    if cell_len(plain) <= width:
        return [(line, 0, y)]
    cuts = [0, *divide_line(plain, width, fold=True), len(plain)]
    rows: list[Wrapped] = []
    for k, (start, end) in enumerate(pairwise(cuts)):
        if k < len(cuts) - 2:
            end = start + len(plain[start:end].rstrip())
        runs: list[Run] = []
        at = 0
        for part, style in line:
            lo, hi = max(start, at), min(end, at + len(part))
            if lo < hi:
                runs.append((part[lo - at : hi - at], style))
            at += len(part)
        rows.append((tuple(runs) if runs else (("", line[0][1]),), start, y))
    return rows


def on_screen(widget: Widget) -> bool:
    """Whether ``widget`` was drawn in the screen's last layout (any part of it), or cannot
    yet be told (not mounted). Internal: reads the compositor's map of visible widgets, which
    costs nothing, where ``Widget.region`` of a widget off screen lays the whole map out."""
    if not widget.is_mounted:
        return True
    try:
        return widget in widget.screen._compositor.visible_widgets
    except NoScreen:
        return True


def repaint(widget: Widget, *regions: Region) -> None:
    """``widget.refresh(*regions)`` for a widget on screen. A widget off screen (an inspector
    scrolled below the view) is only marked to be drawn afresh when next shown: refreshing
    it would make Textual lay out its map of every widget again, on or off screen, at every
    step (about 1 to 3 ms). Internal: Widget's ``_set_dirty`` empties its cache of styled
    lines, so that scrolling to it draws what it holds now, without asking for an update."""
    if on_screen(widget):
        widget.refresh(*regions)
        return
    widget._set_dirty()
    widget.clear_cached_dimensions()


def set_border_title(widget: Widget, title: str | Content) -> None:
    """Write ``widget``'s border title, repainting its top border only, and nothing when the
    title is the one shown. Setting ``border_title`` repaints the whole box, every line of it
    styled again, at every step whose title changes (a box that names the step). Internal: it
    stores the title as ``border_title`` does (Textual's ``_border_title``). A str is shown
    as it is written, never read as markup ("[" in a name)."""
    content = (Content(title) if isinstance(title, str) else title).expand_tabs(4).split()[0]
    if content == widget._border_title:
        return
    widget._border_title = content
    gutter = widget.styles.gutter
    widget.refresh(Region(-gutter.left, -gutter.top, widget.outer_size.width, 1))


class CachedRows(Static):
    """A box of text written in one of two ways. ``set_text`` shows a Rich ``Text``, wrapped
    as a Static wraps it, and repaints only the rows that differ from those on screen.
    ``set_rows`` shows unwrapped lines given as ``Row``s: a line whose key is the one already
    shown is neither written nor repainted again, one whose key was seen before is drawn from
    its cached strip. Either way a line's strip comes straight from the text's spans, each
    run styled as a Static styles it (see ``_runs``; combined once per style), without
    Textual's conversion of the text to Content, which styles every span of every line
    whenever any of it changes: for a grid with a styled span per cell that is most of a
    step's cost. ``render()`` still returns all the text shown.

    What the segments cannot draw as a Static draws it is left to Static: a selection, text
    with tabs or a style given as a string for the whole text (Textual parses that with its
    own rules, which know no ``grey50``), Content, and, for ``set_text``, styles that align,
    pad, or cut the text otherwise than wrapping it or clipping it. So is anything given to
    ``update``."""

    def __init__(
        self,
        content: VisualType = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(content, name=name, id=id, classes=classes)
        self._keys: list[Hashable] = []
        self._makers: list[Callable[[], Text | Content]] = []
        self._made: dict[Hashable, Text | Content] = {}
        self._strips: LRUCache[tuple[Hashable, int, Style], Strip] = LRUCache(1024)
        self._styles: dict[tuple[object, ...], RichStyle] = {}
        self._placed: dict[int, tuple[Hashable, int, Style, Strip]] = {}
        """The strip each line was last drawn as, offsets added, with what decided it."""
        self._text: Text | None = None
        """The text ``set_text`` shows (None: the rows ``set_rows`` shows)."""
        self._lines: list[tuple[Run, ...]] | None = None
        self._rows_width = -1
        self._measured: tuple[Text, list[tuple[Run, ...]], int, list[Wrapped]] | None = None
        self.written = 0
        """Lines written by their rows since the box was made: a counted cost."""
        self.drawn = 0
        """Strips made since the box was made (a line written, or drawn at a new width)."""

    # -- what is shown -------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[Hashable, ...]:
        """The keys of the lines shown, top to bottom (for ``set_text``, its rows as
        ``Wrapped``)."""
        if self._text is not None:
            self._fast()
        return tuple(self._keys)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._text = None
        self._lines = None
        self._keys = []
        self._rows_width = -1
        if layout or on_screen(self):
            super().update(content, layout=layout)
        else:  # off screen: drawn when scrolled to (see ``repaint``)
            self._give_static(content)
            repaint(self)

    def set_rows(self, rows: Sequence[Row], *, height: int | None = None) -> int:
        """Show ``rows``; repaint only the lines whose key changed. Returns how many did.
        ``height``: hold the box that many text lines tall (see ``_hold``)."""
        self._hold(height)
        if self._text is not None:
            self._text = None
            self._keys = []
            self._give_static("")
        keys = [key for key, _ in rows]
        self._makers = [make for _, make in rows]
        if len(self._made) > 4 * max(len(keys), 64):
            shown = set(keys)
            self._made = {k: c for k, c in self._made.items() if k in shown}
        return self._repaint(keys)

    def set_text(self, text: Text, *, layout: bool = False, height: int | None = None) -> None:
        """Show ``text``; ``layout``: its height may differ from the one on screen.
        ``height``: hold the box that many text lines tall (see ``_hold``)."""
        self._hold(height)
        old = self._keys if self._text is not None and self._rows_width >= 0 else None
        old_width = self._rows_width
        self._text = text
        self._give_static(text)
        measured, self._measured = self._measured, None
        width = self.size.width
        self._rows_width = -1
        if measured is not None and measured[0] is text:
            self._lines = measured[1]
            if measured[2] == width:
                self._rows_width, self._keys = width, list(measured[3])
        else:
            self._lines = self._split(text)
        if layout or old is None or not self._fast() or old_width != width:
            if layout:
                self.refresh(layout=True)
            else:
                repaint(self)
            return
        keys = self._keys
        self._keys = old
        self._repaint(keys)

    def rows_at(self, text: Text, width: int) -> int | None:
        """Rows ``text`` takes at ``width`` cells, as Textual wraps it (None: drawn by Static,
        see the class). They are kept for ``set_text`` of the same text."""
        lines = self._split(text)
        wraps = self._wraps()
        if lines is None or wraps is None:
            self._measured = None
            return None
        rows = _rows(lines, width if wraps else None)
        self._measured = (text, lines, width, rows)
        return len(rows)

    def set_title(self, title: str | Content) -> None:
        """Write the border title, repainting the top border only (see ``set_border_title``):
        the attention box names the row computed at every step."""
        set_border_title(self, title)

    def clear(self) -> None:
        """Forget every line written: the same keys will mean other text from now on."""
        self._made.clear()
        self._strips.clear()
        self._placed.clear()
        self.refresh()

    def _give_static(self, content: VisualType) -> None:
        """Make ``content`` what Static would show, converted only if Static has to draw it
        or measure it (Static's private ``__content``, as ``update`` sets it)."""
        self._Static__content = content  # type: ignore[attr-defined]
        self._Static__visual = None  # type: ignore[attr-defined]

    def _hold(self, height: int | None) -> None:
        """Hold the box ``height`` text lines tall (the screen is laid out again only when
        that height is new), so that a step whose text is shorter or longer than the last
        step's repaints lines and lays nothing out."""
        if height is not None:
            outer = height + self.styles.gutter.height
            now = self.styles.height
            if now is None or now.unit.name != "CELLS" or int(now.value) != outer:
                self.styles.height = outer

    def _repaint(self, keys: list[Hashable]) -> int:
        """Show the lines ``keys``, repainting those whose key differs from the one shown
        there. Returns how many did."""
        old = self._keys
        self._keys = keys
        changed = [
            y
            for y in range(max(len(keys), len(old)))
            if y >= len(keys) or y >= len(old) or keys[y] != old[y]
        ]
        width = max(self.size.width, 1)
        regions = []
        start = 0
        for i, y in enumerate(changed):
            # One region per run of neighbouring lines.
            if i + 1 == len(changed) or changed[i + 1] != y + 1:
                first = changed[start]
                regions.append(Region(0, first, width, y - first + 1))
                start = i + 1
        if regions:  # one call: each marks the widget dirty and asks for an idle pass
            repaint(self, *regions)
        return len(changed)

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

    # -- the text written whole ----------------------------------------------------------------

    def _split(self, text: Text) -> list[tuple[Run, ...]] | None:
        """The lines of ``text`` as runs (None before the box is on screen, or when Static
        draws the text: see the class)."""
        if not self.is_attached or not _own(text):
            return None
        base = self.visual_style
        lines: list[list[Run]] = [[]]
        for part, style in self._runs(text, base):
            for k, piece in enumerate(part.split("\n")):
                if k:
                    lines.append([])
                if piece:
                    lines[-1].append((piece, style))
        # An empty line is one empty run, as Textual draws it (it shows in an exported picture).
        empty = (("", self._combined(base, _text_style(text), ())),)
        return [tuple(line) if line else empty for line in lines]

    def _fast(self) -> bool:
        """Whether the text given to ``set_text`` is drawn from the segments (see the class);
        its rows at the box's width are worked out here when they are not yet."""
        if self._text is None or self.text_selection is not None:
            return False
        if self._lines is None:  # not on screen when shown, or left to Static
            self._lines = self._split(self._text)
            if self._lines is None:
                return False
        wraps = self._wraps()
        if wraps is None:
            return False
        width = self.size.width
        if width <= 0:
            return False
        if width != self._rows_width:
            self._keys = list(_rows(self._lines, width if wraps else None))
            self._rows_width = width
        return True

    def _wraps(self) -> bool | None:
        """Whether the box's styles wrap text as ``wrapped`` does (True) or clip it at the
        box's width (False); None: they align, pad or cut it otherwise."""
        styles = self.styles
        if (
            styles.line_pad != 0
            or styles.content_align != ("left", "top")
            or styles.text_align not in ("left", "start")
        ):
            return None
        if styles.text_wrap == "wrap" and styles.text_overflow == "fold":
            return True
        if styles.text_wrap == "nowrap" and styles.text_overflow == "clip":
            return False
        return None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._text is not None:
            self._lines = None
        self._rows_width = -1

    # -- drawing -------------------------------------------------------------------------------

    def render(self) -> RenderResult:
        """All the lines as one text (what a plain ``Static`` would show)."""
        if self._text is not None or not self._keys:
            return super().render()
        return self._joined()

    def _joined(self) -> Content:
        """The lines written by ``set_rows`` as one text."""
        return Content("\n").join(self._content(y) for y in range(len(self._keys)))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.visual_style
        if self._text is not None:
            if not self._fast():
                return super().render_line(y)
        elif not self._keys:
            return super().render_line(y)
        elif self.text_selection is not None:
            # A selection spans lines: drawn from the whole text, as a Static draws it.
            strips = Visual.to_strips(self, self._joined(), width, None, style)
            return strips[y] if y < len(strips) else Strip.blank(width, style.rich_style)
        if y >= len(self._keys) or width <= 0:
            return Strip.blank(width, style.rich_style)
        key = self._keys[y]
        placed = self._placed.get(y)
        if placed is not None and placed[0] == key and placed[1] == width and placed[2] == style:
            return placed[3]
        strip = self._strips.get((key, width, style))
        if strip is None:
            strip = self._strip(y, width, style)
            self._strips[(key, width, style)] = strip
            self.drawn += 1
        # Where each character is, for selecting text with the mouse (kept per line: adding
        # them costs as much as making the strip, and Textual asks for a line again whenever
        # anything beside it is repainted).
        if self._text is not None:
            row: Wrapped = key  # type: ignore[assignment]
            placed_strip = strip.apply_offsets(row[1], row[2])
        else:
            placed_strip = strip.apply_offsets(0, y)
        self._placed[y] = (key, width, style, placed_strip)
        return placed_strip

    def _strip(self, y: int, width: int, base: Style) -> Strip:
        """Line ``y`` as a strip, without the offsets of its characters."""
        if self._text is not None:
            runs: tuple[Run, ...] = self._keys[y][0]  # type: ignore[index]
            cells = sum(cell_len(part) for part, _ in runs)
            strip = Strip([Segment(*run) for run in runs], cells)
            return strip if cells <= width else strip.crop(0, width)
        made = self._line(y)
        if isinstance(made, Text) and _own(made):
            return Strip([Segment(*run) for run in self._runs(made, base)]).crop(0, width)
        # The conversion a Static makes of its text, one line at a time.
        strips = Visual.to_strips(self, self._content(y), width, 1, base)
        return strips[0] if strips else Strip.blank(width, base.rich_style)

    def _runs(self, text: Text, base: Style) -> list[Run]:
        """``text`` as runs of characters, each styled as a Static styles it: the box's style,
        then the text's own, then the spans over the run in the order they were added
        (``Text.join`` and ``append`` of a styled text make spans that hold others), combined
        as Rich combines them and converted once per combination. A run ends wherever a span
        starts or ends, as in Rich's segments and Textual's Content. Two to ten times faster
        than Textual's conversion of every span; ``tests/test_cached_rows.py`` and
        ``tests/test_step_rows.py`` check that the strips are the same."""
        if len(self._styles) > 4096:  # a new theme, or heat colours without end
            self._styles.clear()
        plain = text.plain
        own = _text_style(text)
        spans = [span for span in text.spans if span.end > span.start]
        if not spans:
            return [(plain, self._combined(base, own, ()))]
        enter: dict[int, list[int]] = {}
        leave: dict[int, list[int]] = {}
        for i, span in enumerate(spans):
            enter.setdefault(span.start, []).append(i)
            leave.setdefault(span.end, []).append(i)
        active: list[int] = []
        runs = []
        for start, end in pairwise(sorted({0, len(plain), *enter, *leave})):
            for i in leave.get(start, ()):
                active.remove(i)
            for i in enter.get(start, ()):
                insort(active, i)
            style = self._combined(base, own, tuple(spans[i].style for i in active))
            runs.append((plain[start:end], style))
        return runs

    def _combined(
        self, base: Style, own: RichStyle, over: tuple[str | RichStyle, ...]
    ) -> RichStyle:
        """The styles ``over`` over ``own`` over the box's own style ``base``, as a Static
        combines them (cached)."""
        key = (base, own, *over)
        combined = self._styles.get(key)
        if combined is None:
            get_style = self.app.console.get_style
            rich = RichStyle.combine(
                [own, *(get_style(o, default=_NULL) if isinstance(o, str) else o for o in over)]
            )
            combined = (base + Style.from_rich_style(rich, self.app.ansi_theme)).rich_style
            self._styles[key] = combined
        return combined

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if self._text is not None or not self._keys:
            return super().get_content_width(container, viewport)
        widths = (self._line(y) for y in range(len(self._keys)))
        return max(m.cell_len if isinstance(m, Text) else m.cell_length for m in widths)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._text is not None or not self._keys:
            return super().get_content_height(container, viewport, width)
        return len(self._keys)


def _rows(lines: list[tuple[Run, ...]], width: int | None) -> list[Wrapped]:
    """The rows ``lines`` take wrapped at ``width`` cells (None: not wrapped, clipped)."""
    if width is None:
        return [(line, 0, y) for y, line in enumerate(lines)]
    return [row for y, line in enumerate(lines) for row in wrapped(line, y, width)]


def _own(text: Text) -> bool:
    """Whether ``text`` is drawn from its segments rather than by Static (see the class)."""
    return not (isinstance(text.style, str) and text.style) and "\t" not in text.plain


def _text_style(text: Text) -> RichStyle:
    """The style of ``text`` as a whole (a style given as a string is drawn by Static)."""
    return text.style if isinstance(text.style, RichStyle) else _NULL


def text_rows(text: Text) -> list[Row]:
    """The lines of ``text`` as rows keyed by what each shows (its characters and styles): a
    text written again at every step repaints only the lines that differ."""
    lines = text.split("\n", allow_blank=True)
    return [((line.plain, tuple(line.spans), str(line.style)), _given(line)) for line in lines]


def _given(line: Text) -> Callable[[], Text]:
    return lambda: line
