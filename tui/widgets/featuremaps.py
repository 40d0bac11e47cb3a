"""FeatureMapGallery: a layer's channels as small heat images side by side, one of them lit.

The maps wrap into rows that fill the space the gallery gets. When they cannot all be shown at a
readable size (512 maps of 7×7 in a corner of the screen), the gallery shows the page of maps
that holds the current one and says how many more there are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.numbers import fmt_num
from tui.widgets.halfblock import finite_range, half_block_rows, heat_colours, resample

MIN_TILE = 8
"""Narrowest tile, in pixels (= columns), a map larger than that is shrunk to before the
gallery shows fewer maps instead; a smaller map keeps its own size."""
MAX_ZOOM = 6
"""Largest whole factor a small map is enlarged by."""

_CAPTION = Style(color="grey62")
_CURRENT = Style(color="black", bgcolor="yellow", bold=True)
_LEGEND = Style(color="grey62")


@dataclass(frozen=True)
class Tiling:
    """Where the gallery's tiles go: each map is drawn ``tile_h`` × ``tile_w`` pixels, under a
    caption line, ``cols`` to a row and ``rows`` rows; maps ``first`` … ``first + count − 1``."""

    tile_h: int
    tile_w: int
    cols: int
    rows: int
    first: int
    count: int

    @property
    def lines_per_row(self) -> int:
        """Caption line plus the half-block lines of one tile."""
        return 1 + (self.tile_h + 1) // 2


def tile_fits(tile_h: int, tile_w: int, width: int, height: int) -> tuple[int, int]:
    """How many tiles of ``tile_h`` × ``tile_w`` pixels fit across and down (one column of
    space between tiles, one caption line above each)."""
    cols = (width + 1) // (tile_w + 1)
    rows = height // (1 + (tile_h + 1) // 2)
    return cols, rows


def gallery_layout(n: int, map_h: int, map_w: int, width: int, height: int, current: int) -> Tiling:
    """The largest tiles at which all ``n`` maps of ``map_h`` × ``map_w`` fit in ``width``
    columns and ``height`` lines; when none does, tiles of ``MIN_TILE`` (or the map's own
    size, if smaller) and the page of maps holding ``current``. Maps larger than their tile
    are shrunk, smaller ones grow by whole factors only."""
    if n <= 0 or map_h <= 0 or map_w <= 0 or width <= 0 or height <= 0:
        return Tiling(0, 0, 0, 0, 0, 0)
    smallest = min(map_w, MIN_TILE)
    widths = [map_w * k for k in range(MAX_ZOOM, 1, -1)] + list(range(map_w, smallest - 1, -1))
    for tile_w in widths:
        tile_h = max(1, round(tile_w * map_h / map_w))
        cols, rows = tile_fits(tile_h, tile_w, width, height)
        if cols * rows >= n and tile_w <= width:
            rows = math.ceil(n / min(cols, n))
            cols = math.ceil(n / rows)  # the same rows, filled evenly: 3 + 3, not 5 + 1
            return Tiling(tile_h, tile_w, cols, rows, 0, n)
    tile_w = min(smallest, width)
    tile_h = max(1, round(tile_w * map_h / map_w))
    while tile_h > 1 and tile_fits(tile_h, tile_w, width, height)[1] == 0:
        tile_h -= 1  # a single row that is too tall: keep it, flattened, rather than nothing
        tile_w = max(1, round(tile_h * map_w / map_h))
    cols, rows = tile_fits(tile_h, tile_w, width, height)
    per_page = max(cols * rows, 1)
    current = min(max(current, 0), n - 1)
    # Whole pages from the start, the last one ending with the last map so it is full too.
    first = min(current // per_page * per_page, max(n - per_page, 0))
    count = min(per_page, n - first)
    cols = max(cols, 1)
    return Tiling(tile_h, tile_w, cols, math.ceil(count / cols), first, count)


TileKey = tuple[int, int, int, bool]
"""(map index, tile height, tile width, shared scale)."""


def draw_tile(m: np.ndarray, lo: float, hi: float, tile_h: int, tile_w: int) -> list[list[Segment]]:
    """The half-block lines of one map as a ``tile_h`` × ``tile_w`` tile on the scale lo … hi."""
    return half_block_rows(resample(heat_colours(m, lo, hi), tile_h, tile_w))


def draw_tiles(
    maps: np.ndarray,
    tiling: Tiling,
    span: tuple[float, float],
    shared: bool = True,
    stop: Callable[[], bool] | None = None,
) -> dict[TileKey, list[list[Segment]]]:
    """Every tile ``tiling`` shows of ``maps`` (C, H, W), ready for ``set_maps(tiles=…)``: a
    worker thread can draw them (NumPy lets the event loop run meanwhile), so a page of
    large maps costs the frame nothing. ``stop`` is asked before each tile: once it says
    yes, the tiles drawn so far are returned (the worker's caller has moved on)."""
    tiles = {}
    for i in range(tiling.first, tiling.first + tiling.count):
        if stop is not None and stop():
            break
        lo, hi = span if shared else finite_range(maps[i])
        tiles[(i, tiling.tile_h, tiling.tile_w, shared)] = draw_tile(
            maps[i], lo, hi, tiling.tile_h, tiling.tile_w
        )
    return tiles


class FeatureMapGallery(Widget):
    """2-D maps (a layer's channels) drawn as heat images that wrap to fill the widget, the
    current one's caption lit, and a legend line saying which colour scale is in use."""

    DEFAULT_CSS = """
    FeatureMapGallery {
        width: 1fr;
        height: 1fr;
    }
    """

    current: reactive[int] = reactive(0)
    """The map that is lit (and always on screen); clamped to the maps there are."""
    shared_scale: reactive[bool] = reactive(True)
    """One colour scale for every map (compare maps), or each map its own (see each map's
    pattern, however weak)."""

    class MapChosen(Message):
        """A map was clicked."""

        def __init__(self, gallery: FeatureMapGallery, index: int) -> None:
            super().__init__()
            self.gallery = gallery
            self.index = index

        @property
        def control(self) -> FeatureMapGallery:
            return self.gallery

    def __init__(
        self,
        maps: np.ndarray | Sequence[np.ndarray] | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._maps: list[np.ndarray] = []
        self._lines: list[Strip] | None = None
        self._tiling = Tiling(0, 0, 0, 0, 0, 0)
        self._tiles: dict[TileKey, list[list[Segment]]] = {}
        self._lo = self._hi = 0.0
        self._captions: list[str] | None = None
        self._room = Size(0, 0)
        self.set_maps(maps)

    def set_maps(
        self,
        maps: np.ndarray | Sequence[np.ndarray] | None,
        *,
        captions: Sequence[str] | None = None,
        span: tuple[float, float] | None = None,
        tiles: dict[TileKey, list[list[Segment]]] | None = None,
    ) -> None:
        """Show ``maps``: a (C, H, W) array or a list of 2-D arrays of one shape (or none),
        captioned with their indices or with ``captions`` (one per map: a single map that is
        a vector drawn row by row has no index worth showing). ``span`` is the maps' finite
        range and ``tiles`` tiles already drawn (``draw_tiles``), when they are known."""
        # Views, not float64 copies: a tile converts only the map it draws, and the range
        # is read from the array as given (64×224×224 numbers copied twice cost 20 ms a key).
        if maps is None:
            self._maps = []
        elif isinstance(maps, np.ndarray):
            self._maps = list(maps)
        else:
            self._maps = [np.asarray(m) for m in maps]
        self._captions = list(captions) if captions is not None else None
        self._tiles.clear()
        if tiles:
            self._tiles.update(tiles)
        if span is not None:
            self._lo, self._hi = span
        elif self._maps:
            whole = maps if isinstance(maps, np.ndarray) else np.stack(self._maps)
            self._lo, self._hi = finite_range(whole)
        self.set_reactive(FeatureMapGallery.current, self.validate_current(self.current))
        self._invalidate()

    def tiling_for(self, shape: tuple[int, ...], current: int) -> Tiling:
        """Where the tiles of maps of ``shape`` (C, H, W) would go at the gallery's size (the
        last it had on screen: hidden, it has none), with map ``current`` lit (as ``_draw``
        will place them)."""
        width, height = self._room
        n, map_h, map_w = shape
        return gallery_layout(n, map_h, map_w, width, max(height - 1, 1), min(current, n - 1))

    @property
    def count(self) -> int:
        """How many maps the gallery holds."""
        return len(self._maps)

    @property
    def tiling(self) -> Tiling:
        """Where the tiles go (computed for the current size on demand)."""
        self._draw()
        return self._tiling

    @property
    def shown(self) -> range:
        """Indices of the maps on screen."""
        layout = self.tiling
        return range(layout.first, layout.first + layout.count)

    def validate_current(self, value: int) -> int:
        return min(max(int(value), 0), max(len(self._maps) - 1, 0))

    def watch_current(self) -> None:
        self._invalidate()

    def watch_shared_scale(self) -> None:
        self._tiles.clear()
        self._invalidate()

    def on_resize(self) -> None:
        if self.content_size.area:
            self._room = self.content_size
        self._invalidate()

    def _invalidate(self) -> None:
        self._lines = None
        self.refresh()

    def legend(self) -> str:
        """What the colours mean, as the last line says it."""
        if not self._maps:
            return ""
        if self.shared_scale:
            lo, hi = self._lo, self._hi
            if lo < 0 < hi:
                m = max(-lo, hi)
                scale = f"one scale for all: −{fmt_num(m)} blue … 0 black … +{fmt_num(m)} red"
            else:
                scale = f"one scale for all: {fmt_num(lo)} dark … {fmt_num(hi)} white"
        else:
            scale = "each map its own scale, from its min to its max"
        layout = self._tiling
        n = len(self._maps)
        if layout.count < n:
            last = layout.first + layout.count
            return f"{layout.first}–{last - 1} of {n} (+{n - layout.count} more) · {scale}"
        return scale

    def _tile(self, index: int, tile_h: int, tile_w: int) -> list[list[Segment]]:
        key = (index, tile_h, tile_w, self.shared_scale)
        tile = self._tiles.get(key)
        if tile is None:
            m = self._maps[index]
            lo, hi = (self._lo, self._hi) if self.shared_scale else finite_range(m)
            tile = self._tiles[key] = draw_tile(m, lo, hi, tile_h, tile_w)
        return tile

    def _draw(self) -> None:
        if self._lines is not None:
            return
        width, height = self.content_size
        lines: list[Strip] = []
        self._lines = lines
        if not self._maps:
            self._tiling = Tiling(0, 0, 0, 0, 0, 0)
            return
        map_h, map_w = self._maps[0].shape
        self._tiling = layout = gallery_layout(
            len(self._maps), map_h, map_w, width, max(height - 1, 1), self.current
        )
        tw = layout.tile_w
        gap = Segment(" ")
        for row in range(layout.rows):
            indices = [
                layout.first + row * layout.cols + k
                for k in range(layout.cols)
                if row * layout.cols + k < layout.count
            ]
            caption: list[Segment] = []
            for k, i in enumerate(indices):
                if k:
                    caption.append(gap)
                if self._captions is not None:
                    label = self._captions[i] if i < len(self._captions) else ""
                    style = _CAPTION
                else:
                    label = str(i)
                    style = _CURRENT if i == self.current else _CAPTION
                text = label if len(label) <= tw else label[: max(tw - 1, 0)] + "…"
                caption.append(Segment(text[:tw].ljust(tw), style))
            lines.append(Strip(caption))
            tiles = [self._tile(i, layout.tile_h, tw) for i in indices]
            for y in range((layout.tile_h + 1) // 2):
                segs: list[Segment] = []
                for k, tile in enumerate(tiles):
                    if k:
                        segs.append(gap)
                    segs.extend(tile[y] if y < len(tile) else [Segment(" " * tw)])
                lines.append(Strip(segs))
        legend = self.legend()
        while len(lines) < height - 1:
            lines.append(Strip([]))
        lines.append(Strip([Segment(legend, _LEGEND)]))

    def render_line(self, y: int) -> Strip:
        self._draw()
        width = self.content_size.width
        lines = self._lines or []
        if 0 <= y < len(lines):
            return lines[y].crop_extend(0, width, None)
        return Strip.blank(width)

    def map_at(self, x: int, y: int) -> int | None:
        """The map under content coordinates (x, y), or None."""
        layout = self.tiling
        if not layout.count or layout.lines_per_row == 0:
            return None
        row, col = y // layout.lines_per_row, x // (layout.tile_w + 1)
        if x % (layout.tile_w + 1) == layout.tile_w or col >= layout.cols or row >= layout.rows:
            return None
        k = row * layout.cols + col
        return layout.first + k if k < layout.count else None

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.map_at(offset.x, offset.y)
        if index is not None:
            event.stop()
            self.current = index
            self.post_message(self.MapChosen(self, index))
