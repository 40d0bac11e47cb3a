"""MatrixGrid: a scrolling grid of numbers on the Line API, marking window, padding and progress."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.numbers import clamp, fmt_num

_LABEL = Style(color="grey50")
_CAPTION = Style(color="bright_cyan", bold=True)
_PAD = Style(color="grey50", bgcolor="grey19", italic=True)
_WINDOW = Style(color="black", bgcolor="yellow", bold=True)
_WINDOW_PAD = Style(color="grey30", bgcolor="dark_goldenrod", italic=True)
_DONE = Style(color="bright_white")
_CURRENT = Style(color="black", bgcolor="bright_green", bold=True)
_MARK = Style(color="bright_white", bgcolor="red", bold=True, underline=True)
_FIELD = Style(color="bright_white", bgcolor="dark_blue", bold=True)
_PENDING = Style(color="grey35")
_PLAIN = Style()


@dataclass(frozen=True)
class Window:
    """A rectangle of cells to highlight: top-left (row, col) and size, in grid coordinates."""

    row: int
    col: int
    height: int
    width: int

    def cols_in_row(self, r: int) -> tuple[int, int] | None:
        if self.row <= r < self.row + self.height:
            return self.col, self.col + self.width
        return None


def _mix(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[int, int, int]:
    """Halfway between two colours: a tint that still shows the value underneath."""
    return ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2, (a[2] + b[2]) // 2)


_NAN_RGB = (150, 0, 150)
"""Heat colour of a nan: outside both ramps."""


def _heat_rgb(v: float, lo: float, hi: float) -> tuple[int, int, int]:
    """The heat colour of ``v``: grey ramp for one-signed data, blue–red for signed data.
    ``lo`` and ``hi`` are the finite extremes; an infinity takes the colour of the end it is
    past, a nan its own colour."""
    v = float(v)
    if math.isnan(v):
        return _NAN_RGB
    if lo < 0 < hi:
        m = max(-lo, hi)
        t = clamp(v / m, -1.0, 1.0, nan=0.0)
        if t >= 0:
            return (int(40 + 215 * t), int(40 - 20 * t), int(40 - 20 * t))
        return (int(40 + 20 * t), int(40 + 40 * -t), int(40 + 215 * -t))
    t = 0.0 if hi == lo else clamp((v - lo) / (hi - lo), 0.0, 1.0, nan=0.0)
    g = int(20 + 225 * t)
    return (g, g, g)


def heat_style(v: float, lo: float, hi: float) -> Style:
    """Background shade for ``v`` (see ``_heat_rgb``), with text that stays readable on it."""
    bg = _heat_rgb(v, lo, hi)
    fg = "black" if sum(bg) > 380 else "white"
    return Style(color=fg, bgcolor=f"rgb({bg[0]},{bg[1]},{bg[2]})")


def _cut_cell(cell: str, shown: int) -> str:
    """A right-aligned ``cell`` of which only the first ``shown`` characters are in view:
    those characters blank when they hold none of its text, else "…" in their last place,
    never the start of a number; the rest (out of view) blank."""
    head = cell[:shown]
    head = head if not head.strip() else " " * (shown - 1) + "…"
    return head.ljust(len(cell))


class MatrixGrid(ScrollView, can_focus=False):
    """A 2-D array drawn as a grid with row and column indices.

    The grid can mark a window (the cells a step reads), a border of padding cells (drawn
    apart from real values), and progress (cells before the current one done, the current one
    lit, later ones not yet computed). In heat view each cell is shaded by its value.
    """

    DEFAULT_CSS = """
    MatrixGrid {
        width: auto;
        height: auto;
        max-height: 100%;
        max-width: 100%;
        min-width: 6;
        min-height: 2;
        scrollbar-size: 1 1;
        background: transparent;
    }
    """

    heat: reactive[bool] = reactive(False)
    """Shade cells by value instead of writing the numbers."""

    class CellClicked(Message):
        """A cell of the grid was clicked."""

        def __init__(self, grid: MatrixGrid, row: int, col: int) -> None:
            super().__init__()
            self.grid = grid
            self.row = row
            self.col = col

        @property
        def control(self) -> MatrixGrid:
            return self.grid

    def __init__(
        self,
        values: np.ndarray,
        *,
        padding: tuple[int, int] = (0, 0),
        progress: bool = False,
        caption: str = "",
        span: tuple[float, float] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``values`` is (H, W); with ``padding`` (p_h, p_w) the outer rings are padding cells
        and indices count from −p. With ``progress`` the grid shows done / current / pending.
        ``caption`` is written in the top-left corner (for example the channel, ``c1``).
        ``span`` (lo, hi), when given, sets the column width and the heat ramps instead of the
        grid's own values: grids that share it are drawn alike and can be compared cell by
        cell (two filters' outputs side by side)."""
        super().__init__(name=name, id=id, classes=classes)
        self._span = span
        self._zoom = 1
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._window: Window | None = None
        self._current: int | None = None
        self._progress = progress
        self._padding = padding
        self._caption = caption
        self._follow_window: Window | None = None
        self._mark: tuple[int, int] | None = None
        self._highlight: np.ndarray | None = None
        self.set_values(values)

    # -- state ---------------------------------------------------------------------------

    def set_values(
        self, values: np.ndarray, *, span: tuple[float, float] | bool | None = True
    ) -> None:
        """Replace the numbers shown (same or different shape). Cells are formatted when their
        row is first drawn, so a huge grid costs no more than the rows on screen. ``span``
        replaces the shared range (see ``__init__``); True keeps the one given before."""
        self._values = np.asarray(values, dtype=np.float64)
        if span is not True:
            self._span = span if isinstance(span, tuple) else None
        rows = self._values.shape[0]
        self._texts: dict[int, list[str | None]] = {}
        # The heat ramps span the finite values; inf, −inf and nan are written as such.
        finite = self._values[np.isfinite(self._values)]
        if self._span is not None:
            self._lo, self._hi = self._span
        else:
            self._lo = float(finite.min()) if finite.size else 0.0
            self._hi = float(finite.max()) if finite.size else 0.0
        whole = bool(np.all(finite == np.round(finite)))
        special = 4 if finite.size < self._values.size else 1  # "−inf"
        widest = max(len(fmt_num(self._lo)), len(fmt_num(self._hi)), 1 if whole else 6, special)
        self._cell_w = max(widest, 2) + 1
        ph = self._padding[0]
        self._label_w = max(len(str(rows - 1 - ph)), len(str(-ph)), len(self._caption)) + 1
        self._resize_virtual()

    def _resize_virtual(self) -> None:
        """Virtual size for the current view: one line per row of numbers, or in heat view a
        picture of two pixel rows per line (half blocks), each cell ``zoom`` characters wide
        and ``zoom`` pixel rows high."""
        w, h = self.natural_size(self.heat, self._zoom)
        self.virtual_size = Size(w, h)
        self._cache.clear()
        self.refresh()

    def natural_size(self, heat: bool, zoom: int = 1) -> tuple[int, int]:
        """Width and height (header included) the whole grid needs in either view, so that a
        panel can decide how many grids fit before it draws them."""
        rows, cols = self._values.shape
        if heat:
            return self._label_w + cols * zoom + 1, (rows * zoom + 1) // 2 + 1
        return self._label_w + cols * self._cell_w + 1, rows + 1

    @property
    def zoom(self) -> int:
        """Characters (and pixel rows) per cell in the heat picture."""
        return self._zoom

    @zoom.setter
    def zoom(self, zoom: int) -> None:
        zoom = max(1, int(zoom))
        if zoom != self._zoom:
            self._zoom = zoom
            if self.heat:
                self._resize_virtual()
                self._refollow()

    @property
    def _cw(self) -> int:
        """Characters per cell on screen: the number's width, or the zoom in the heat picture."""
        return self._zoom if self.heat else self._cell_w

    def _line(self, r: int) -> int:
        """Content line (0-based, below the header) that shows grid row ``r`` (its top)."""
        return r * self._zoom // 2 if self.heat else r

    def _row_texts(self, r: int, start: int = 0, stop: int | None = None) -> list[str | None]:
        """The formatted numbers of row ``r``; those of columns ``start`` … ``stop − 1`` (the
        whole row by default) are filled in, the others may still be None: a row 224 cells
        long with one column on screen formats one number."""
        texts = self._texts.get(r)
        if texts is None:
            texts = self._texts[r] = [None] * self._values.shape[1]
        stop = len(texts) if stop is None else min(stop, len(texts))
        values = self._values[r]
        for c in range(start, stop):
            if texts[c] is None:
                texts[c] = fmt_num(float(values[c]))
        return texts

    @property
    def cell_width(self) -> int:
        return self._cell_w

    def set_window(self, window: Window | None, *, follow: bool = True) -> None:
        """Highlight ``window`` (or nothing) and scroll it into view."""
        if window == self._window:
            return
        old, self._window = self._window, window
        for w in (old, window):
            if w is not None:
                self._refresh_rows(w.row, w.height)
        if window is not None and follow:
            self._follow(window)

    def set_current(self, flat: int | None, *, follow: bool = True) -> None:
        """In progress mode: cells before flat index ``flat`` are done, ``flat`` is current."""
        if flat == self._current:
            return
        old, self._current = self._current, flat
        cols = self._values.shape[1]
        if old is None or flat is None or abs(old // cols - flat // cols) > 1:
            self.refresh()  # a jump: whole rows between change from done to pending or back
        else:
            lo, hi = sorted((old // cols, flat // cols))
            self._refresh_rows(lo, hi - lo + 1)
        if flat is not None and follow and 0 <= flat < self._values.size:
            r, c = divmod(flat, cols)
            self._follow(Window(r, c, 1, 1))

    def set_mark(self, cell: tuple[int, int] | None) -> None:
        """Single out one cell (grid coordinates), e.g. the window's arg-max, or nothing."""
        if cell == self._mark:
            return
        old, self._mark = self._mark, cell
        for m in (old, cell):
            if m is not None:
                self._refresh_rows(m[0], 1)

    def set_highlight(self, mask: np.ndarray | None) -> None:
        """Light up the cells where ``mask`` (same shape as the grid) is True, or none."""
        self._highlight = None if mask is None else np.asarray(mask, dtype=bool)
        self.refresh()
        if mask is not None and mask.any():
            rows, cols = np.nonzero(mask)
            r0, c0 = int(rows.min()), int(cols.min())
            self._follow(Window(r0, c0, int(rows.max()) - r0 + 1, int(cols.max()) - c0 + 1))

    def _refresh_rows(self, row: int, count: int) -> None:
        """Repaint the lines showing grid rows ``row`` … ``row + count − 1`` only."""
        first = self._line(row)
        last = ((row + count) * self._zoom - 1) // 2 if self.heat else row + count - 1
        self.refresh_lines(first + 1, last - first + 1)

    def refresh_lines(self, y_start: int, line_count: int = 1) -> None:
        """Repaint lines ``y_start`` … of the view, not its scroll bars. Textual's marks the
        grid's whole virtual width, which runs on over the vertical scroll bar and whatever
        stands right of the grid (borders, other cards), and every widget there is asked for
        those lines again."""
        width = self.scrollable_content_region.width
        self.refresh(Region(0, y_start - self.scroll_offset.y, width, line_count))

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        """A scroll sideways repaints the view and the horizontal bar: Textual's repaints the
        vertical bar too (22 lines in a LeNet layer, redrawn at every scroll)."""
        if self.show_horizontal_scrollbar:
            self.horizontal_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            self.refresh(Region(0, 0, *self.scrollable_content_region.size))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = new_value
        if round(old_value) != round(new_value):
            self.refresh(Region(0, 0, *self.scrollable_content_region.size))

    def _follow(self, window: Window) -> None:
        """Bring ``window`` (grid cells) into view once it has left the view, at the edge it
        came in from (its left or top edge when it left by the right or the bottom, as steps go
        forward): the grid then scrolls in jumps as far apart as the view allows, and a scroll
        repaints every line of the grid. A window wider than the view is followed by its first
        column, kept in the left two thirds of the view (the view jumps to put it at the left
        edge when it goes further), so that a third of the view or more shows the window's
        cells and the view does not jump at every step (AlexNet's 11×11 window moves four
        columns a step)."""
        self._follow_window = window
        vx, vy = self.scroll_offset
        vw, vh = self.scrollable_content_region.size
        x = vx
        cw = self._cw
        # Cells whose number can be read: the last one may lose its trailing space only.
        shown = max((vw - self._label_w + (0 if self.heat else 1)) // cw, 1)
        first = vx // cw
        if window.width <= shown:
            if window.col >= first + shown - window.width + 1:  # left by the right
                x = window.col * cw
            elif window.col < first:  # by the left
                x = (window.col + window.width - shown) * cw
        elif window.col < first or window.col > first + shown - 1 - (shown - 1) // 3:
            x = window.col * cw
        # Line 0 (the column indices) stays put: lines vy + 1 … vy + vh − 1 are in view.
        top, bottom = self._line_span(window)
        y = vy
        if top < vy + 1 or bottom > vy + vh - 1:
            y = top - 1 if top >= vy + 1 else bottom + 1 - vh
        if (x, y) != (vx, vy):
            self.scroll_to(max(x, 0), max(y, 0), animate=False, immediate=True)

    def on_resize(self) -> None:
        self.call_after_refresh(self._refollow)

    def _refollow(self) -> None:
        if self._follow_window is not None:
            self._follow(self._follow_window)

    def _line_span(self, window: Window) -> tuple[int, int]:
        """The first and last virtual line (the header is line 0) that show ``window``'s rows."""
        end = window.row + window.height
        bottom = (end * self._zoom - 1) // 2 if self.heat else end - 1
        return self._line(window.row) + 1, bottom + 1

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """Grid cell under virtual-space coordinates, or None."""
        # In heat view: the cell of the top pixel of a half-block line.
        r = (y - 1) * 2 // self._zoom if self.heat else y - 1
        c = (x - self._label_w) // self._cw if x >= self._label_w else -1
        rows, cols = self._values.shape
        if 0 <= r < rows and 0 <= c < cols:
            return r, c
        return None

    def watch_heat(self) -> None:
        self._resize_virtual()
        self._refollow()

    # -- rendering -----------------------------------------------------------------------

    def _row_key(self, r: int) -> tuple[object, ...]:
        """Everything that decides how row ``r`` looks, so unchanged rows come from the cache."""
        win = self._window.cols_in_row(r) if self._window else None
        cur: object = None
        if self._progress and self._current is not None:
            cols = self._values.shape[1]
            cr, cc = divmod(self._current, cols)
            cur = "done" if r < cr else ("pending" if r > cr else cc)
        mark = self._mark[1] if self._mark is not None and self._mark[0] == r else None
        lit = self._highlight[r].tobytes() if self._highlight is not None else None
        return (r, win, cur, mark, lit, self.heat)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the view: the column indices stay on line 0 and the row indices on the
        left while the cells scroll beneath them."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        row = 0 if y == 0 else y + scroll_y
        if row >= self.virtual_size.height:
            return Strip.blank(width)
        if row == 0:
            key: tuple[object, ...] = ("header", self.heat)
        elif self.heat:
            top, bottom = self._picture_rows(row)
            key = (row, self._row_key(top), self._row_key(bottom), self._zoom)
        else:
            key = self._row_key(row - 1)
        # The view ends where the vertical scroll bar, drawn over the line's last column,
        # begins.
        view = self.scrollable_content_region.width
        key = (*key, scroll_x, width, view)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        # Start on a cell boundary so that no number is shown cut in half, and build only the
        # cells that reach the view: a row may be hundreds of cells long and show one.
        cw = self._cw
        room = max(width - self._label_w, 0)
        first = scroll_x // cw
        last = min(self._values.shape[1], first + -(-room // cw))
        if self.heat:
            gutter, cells = self._render_picture(row, first, last)
        else:
            # The last cell the view shows may be cut by its edge: it must not show part of
            # a number.
            seen = max(view - self._label_w, 0)
            shown = min(last, first + -(-seen // cw))
            cut = seen - (shown - 1 - first) * cw if shown > first else 0
            edge = (shown - 1, cut) if 0 < cut < cw - 1 else None
            gutter, cells = self._render_parts(row, first, last, edge)
        # One strip for the line (a Strip carries several caches: each costs time to make).
        strip = Strip(gutter + cells).crop(0, width)
        self._cache[key] = strip
        return strip

    def _pixel(self, r: int, c: int) -> tuple[int, int, int] | None:
        """Colour of grid cell (r, c) in the heat picture (None below the last row)."""
        rows, cols = self._values.shape
        if r >= rows:
            return None
        ph, pw = self._padding
        is_pad = r < ph or r >= rows - ph or c < pw or c >= cols - pw
        if self._progress and self._current is not None:
            cur = divmod(self._current, cols)
            if (r, c) == cur:
                return (0, 255, 0)
            if (r, c) > cur:
                return (12, 12, 12)
        if self._mark is not None and (r, c) == self._mark:
            return (230, 0, 0)
        base = (50, 50, 50) if is_pad else _heat_rgb(self._values[r, c], self._lo, self._hi)
        if self._highlight is not None and self._highlight[r, c]:
            return _mix(base, (0, 90, 255))
        win = self._window.cols_in_row(r) if self._window else None
        if win is not None and win[0] <= c < win[1]:
            return _mix(base, (255, 200, 0))
        return base

    def _picture_rows(self, row: int) -> tuple[int, int]:
        """The grid rows of the upper and lower pixel of line ``row`` (≥ 1) of the heat
        picture: each line holds two pixel rows, each grid row is ``zoom`` pixel rows high."""
        half = 2 * (row - 1)
        return half // self._zoom, (half + 1) // self._zoom

    def _render_picture(
        self, row: int, first: int = 0, last: int | None = None
    ) -> tuple[list[Segment], list[Segment]]:
        """Line ``row`` of the heat picture in half blocks (the upper pixel in the foreground
        colour, the lower one in the background), each cell ``zoom`` characters wide, columns
        ``first`` … ``last − 1`` (all by default). A row's index is written on the line where
        the row starts."""
        lw, z = self._label_w, self._zoom
        if row == 0:
            return [Segment(self._caption.ljust(lw), _CAPTION)], []
        top, bottom = self._picture_rows(row)
        ph = self._padding[0]
        starts = (2 * (row - 1)) % z == 0 or (2 * (row - 1) + 1) % z == 0
        label = str((top if (2 * (row - 1)) % z == 0 else bottom) - ph) if starts else ""
        gutter = [Segment(label.rjust(lw - 1) + " ", _LABEL)]
        segs = []
        cols = self._values.shape[1]
        block = "▀" * z
        for c in range(first, cols if last is None else min(last, cols)):
            up, down = self._pixel(top, c), self._pixel(bottom, c)
            fg = f"rgb({up[0]},{up[1]},{up[2]})" if up else None
            bg = f"rgb({down[0]},{down[1]},{down[2]})" if down else None
            segs.append(Segment(block, Style(color=fg, bgcolor=bg)))
        return gutter, segs

    def _render_parts(
        self,
        row: int,
        first: int = 0,
        last: int | None = None,
        edge: tuple[int, int] | None = None,
    ) -> tuple[list[Segment], list[Segment]]:
        """The segments of the fixed gutter and of the scrollable cells of virtual line ``row``
        (0 is the header), columns ``first`` … ``last − 1`` (all by default). With ``edge``
        (column, characters), only that many characters of that column are in view (the
        columns after it are under the scroll bar): a number they would show in part ("0.5"
        as "0") is drawn as "…"."""
        ph, pw = self._padding
        lw, cw = self._label_w, self._cell_w
        rows, cols = self._values.shape
        span = range(first, cols if last is None else min(last, cols))
        edge_col, cut = edge if edge is not None else (-1, 0)
        if row == 0:
            cells = []
            for c in span:
                cell = str(c - pw).rjust(cw - 1) + " "
                cells.append(Segment(_cut_cell(cell, cut) if c == edge_col else cell, _LABEL))
            return [Segment(self._caption.ljust(lw), _CAPTION)], cells
        r = row - 1
        gutter = [Segment(str(r - ph).rjust(lw - 1) + " ", _LABEL)]
        segs: list[Segment] = []
        win = self._window.cols_in_row(r) if self._window else None
        pad_row = r < ph or r >= rows - ph
        texts = self._row_texts(r, span.start, span.stop)
        values = self._values[r]
        current = self._current
        progress = self._progress and current is not None
        cur_r, cur_c = divmod(current, cols) if current is not None else (-1, -1)
        mark = self._mark
        lit = self._highlight[r] if self._highlight is not None else None
        heat = self.heat
        plain = _DONE if self._progress else _PLAIN
        for c in span:
            is_pad = pad_row or c < pw or c >= cols - pw
            in_win = win is not None and win[0] <= c < win[1]
            text = texts[c] or ""
            shaded = False
            if progress and (r, c) == (cur_r, cur_c):
                style = _CURRENT
            elif progress and (r, c) > (cur_r, cur_c):
                style, text = _PENDING, "·"
            elif mark is not None and (r, c) == mark:
                style = _MARK
            elif lit is not None and lit[c]:
                style = _FIELD
            elif in_win:
                style = _WINDOW_PAD if is_pad else _WINDOW
            elif is_pad:
                style = _PAD
            elif heat:
                style, shaded = heat_style(values[c], self._lo, self._hi), True
            else:
                style = plain
            cell = ("" if shaded else text).rjust(cw - 1) + " "
            if c == edge_col:
                cell = _cut_cell(cell, cut)
            if segs and segs[-1].style is style:
                # Neighbours in one style (a row done, pending or plain) are one segment:
                # Textual's line filters and the compositor work segment by segment.
                segs[-1] = Segment(segs[-1].text + cell, style)
            else:
                segs.append(Segment(cell, style))
        return gutter, segs

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x, y = offset.x + self.scroll_offset.x, offset.y + self.scroll_offset.y
        cell = self.cell_at(x, y)
        if cell is not None and offset.x >= self._label_w and offset.y >= 1:
            event.stop()
            self.post_message(self.CellClicked(self, *cell))
