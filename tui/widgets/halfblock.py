"""HalfBlockImage: a picture drawn two pixels to a cell with ▀, fitted to its space, aspect kept.

The upper pixel of a cell is the foreground colour of ``▀`` and the lower one its background, so
a terminal cell (about twice as tall as wide) holds two square pixels. The colour helpers here
(``heat_colours``, ``image_colours``, ``resample``, ``fit``) are shared with the feature-map
gallery and work on whole arrays at once.
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

NAN_RGB = (150, 0, 150)
"""Colour of a nan: outside both heat ramps (as in the matrix grid's heat view)."""

UPPER_HALF = "▀"


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value (0, 0 when there is none): a plain min and max
    first, the masked pass (a copy of every finite number) only when one of them is not
    finite (a layer's 64×224×224 outputs: 2 ms against 20)."""
    values = np.asarray(values)
    if not values.size:
        return 0.0, 0.0
    lo, hi = float(values.min()), float(values.max())
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def heat_colours(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """RGB (…, 3) uint8 of ``values`` on the matrix grid's heat ramps: blue–black–red when
    ``lo`` < 0 < ``hi`` (0 is dark, the larger magnitude saturates), a grey ramp from ``lo``
    (dark) to ``hi`` (white) otherwise. Infinities take the colour of the end they are past,
    a nan its own colour."""
    v = np.asarray(values, dtype=np.float64)
    nan = np.isnan(v)
    has_nan = bool(nan.any())
    # Every channel below is at least 20, so truncating to uint8 is the floor; each channel is
    # computed whole and then interleaved once (writing into a strided channel is slower).
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if lo < 0 < hi:
            t = np.clip(v / max(-lo, hi), -1.0, 1.0)
            if has_nan:
                t[nan] = 0.0
            pos, neg = np.maximum(t, 0.0), np.maximum(-t, 0.0)
            channels = (
                40 + 215 * pos - 20 * neg,
                40 - 20 * pos + 40 * neg,
                40 - 20 * pos + 215 * neg,
            )
            rgb = np.stack([c.astype(np.uint8) for c in channels], axis=-1)
        else:
            t = np.zeros_like(v) if hi == lo else np.clip((v - lo) / (hi - lo), 0.0, 1.0)
            if has_nan:
                t[nan] = 0.0
            grey = (20 + 225 * t).astype(np.uint8)
            rgb = np.repeat(grey[..., None], 3, axis=-1)
    if has_nan:
        rgb[nan] = NAN_RGB
    return rgb


def image_colours(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) uint8 of an image given as (H, W), (1, H, W) or (3, H, W), contrast
    stretched from its smallest to its largest finite value (a normalised input has negative
    values). Other channel counts show their first channel in grey."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        a = a.reshape(-1, *a.shape[-2:])
    lo, hi = finite_range(a)
    if a.shape[0] == 3:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            t = np.zeros_like(a) if hi == lo else np.clip((a - lo) / (hi - lo), 0.0, 1.0)
        t = np.nan_to_num(t, nan=0.0)
        return np.floor(np.moveaxis(t, 0, -1) * 255).astype(np.uint8)
    # A grey picture on the grey ramp, even when normalisation made some values negative:
    # it is still a picture, not a signed map.
    return heat_colours(a[0] - lo, 0.0, hi - lo)


def _axis_sample(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Source ranges [start, end) for each of ``n_out`` output positions: the pixels each one
    covers when shrinking (PyTorch's adaptive pooling rule), the nearest one when growing."""
    i = np.arange(n_out)
    if n_out >= n_in:
        start = (i * n_in) // n_out
        return start, start + 1
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    return start, end


def resample(rgb: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(H, W, 3) → (out_h, out_w, 3): the mean colour of the pixels each output pixel covers
    when shrinking, the nearest pixel when growing (so small maps stay crisp blocks)."""
    a = np.asarray(rgb)
    for axis, n_out in ((0, out_h), (1, out_w)):
        n_in = a.shape[axis]
        start, end = _axis_sample(n_in, n_out)
        if axis == 0 and a.dtype == np.uint8:
            # Whole colours: every sum is an exact integer however it is taken, so the first
            # axis needs no running sum of the whole picture (a 224×224 map into a tile of 8:
            # one pass instead of a cumulative sum and a copy).
            if n_out >= n_in:
                a = np.take(a, start, axis=0).astype(np.float64)
                continue
            if np.array_equal(end[:-1], start[1:]):
                sums = np.add.reduceat(a, start, axis=0, dtype=np.int64)
                a = sums / (end - start).astype(np.float64)[:, None, None]
                continue
        a = np.asarray(a, dtype=np.float64)
        summed = np.cumsum(a, axis=axis)
        zero = np.zeros_like(np.take(summed, [0], axis=axis))
        summed = np.concatenate([zero, summed], axis=axis)
        total = np.take(summed, end, axis=axis) - np.take(summed, start, axis=axis)
        count = (end - start).astype(np.float64)
        shape = [1] * a.ndim
        shape[axis] = n_out
        a = total / count.reshape(shape)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def fit(h: int, w: int, cells_w: int, cells_h: int, *, crisp: bool = True) -> tuple[int, int]:
    """Pixel size (rows, cols) of an h×w picture drawn as large as ``cells_w`` columns and
    ``cells_h`` lines of half blocks allow, its aspect kept. With ``crisp``, a picture smaller
    than the space grows by a whole factor only, so every source pixel is the same size."""
    if h <= 0 or w <= 0 or cells_w <= 0 or cells_h <= 0:
        return 0, 0
    scale = min(cells_w / w, 2 * cells_h / h)
    if crisp and scale >= 1:
        scale = math.floor(scale)
    return max(1, min(2 * cells_h, math.floor(h * scale))), max(
        1, min(cells_w, math.floor(w * scale))
    )


_SEGMENTS: dict[int, Segment] = {}
"""Half-block cells by their two colours packed in one integer (upper << 25 | lower, the
lower 1 << 24 for none): a picture reuses few colours, and a cell is then one dict look-up."""
_NO_LOWER = 1 << 24


_COLOURS: dict[int, Color] = {}
"""Colours by packed r << 16 | g << 8 | b: a new pair of colours often reuses one."""


def _unpack(rgb: int) -> Color:
    colour = _COLOURS.get(rgb)
    if colour is None:
        if len(_COLOURS) > 65536:
            _COLOURS.clear()
        triplet = ColorTriplet((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255)
        colour = _COLOURS[rgb] = Color.from_triplet(triplet)
    return colour


def _cell(key: int) -> Segment:
    segment = _SEGMENTS.get(key)
    if segment is None:
        if len(_SEGMENTS) > 65536:
            _SEGMENTS.clear()
        up, down = key >> 25, key & ((1 << 25) - 1)
        bg = None if down == _NO_LOWER else _unpack(down)
        segment = _SEGMENTS[key] = Segment(UPPER_HALF, Style.from_color(_unpack(up), bg))
    return segment


def _packed(rgb: np.ndarray) -> np.ndarray:
    """(…, 3) uint8 → (…) int64 r << 16 | g << 8 | b."""
    a = rgb.astype(np.int64)
    return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]


def half_block_rows(rgb: np.ndarray) -> list[list[Segment]]:
    """The segments of each line of an (H, W, 3) picture: pixel rows 2k and 2k + 1 in line k
    (a last odd row over the terminal's own background). The colours of a line are packed
    into integers with NumPy, so each cell costs one look-up."""
    h = rgb.shape[0]
    packed = _packed(np.asarray(rgb))
    if h % 2:
        packed = np.concatenate([packed, np.full((1, packed.shape[1]), _NO_LOWER)], axis=0)
    keys = ((packed[0::2] << 25) | packed[1::2]).tolist()
    cell = _cell
    return [[cell(key) for key in line] for line in keys]


class HalfBlockImage(Widget):
    """An image (grey or RGB) drawn in half blocks, as large as its space allows, aspect kept,
    centred across. Give it a size in CSS; it draws nothing until it has an image."""

    DEFAULT_CSS = """
    HalfBlockImage {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(
        self,
        image: np.ndarray | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``image`` is (H, W), (1, H, W) or (3, H, W); see ``image_colours``."""
        super().__init__(name=name, id=id, classes=classes)
        self._rgb: np.ndarray | None = None
        self._lines: list[Strip] = []
        self._drawn_for: tuple[int, int] | None = None
        self.set_image(image)

    def set_image(self, image: np.ndarray | None) -> None:
        """Show ``image`` (or nothing)."""
        self._rgb = None if image is None else image_colours(image)
        self._drawn_for = None
        self.refresh()

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        """Show an (H, W, 3) uint8 picture as it is (or nothing)."""
        self._rgb = None if rgb is None else np.asarray(rgb, dtype=np.uint8)
        self._drawn_for = None
        self.refresh()

    @property
    def source_shape(self) -> tuple[int, int] | None:
        """(H, W) of the picture given, or None."""
        return None if self._rgb is None else (self._rgb.shape[0], self._rgb.shape[1])

    @property
    def drawn_shape(self) -> tuple[int, int]:
        """(rows, cols) of pixels on screen for the current size."""
        if self._rgb is None:
            return 0, 0
        w, h = self.content_size
        return fit(self._rgb.shape[0], self._rgb.shape[1], w, h, crisp=False)

    def _draw(self) -> None:
        width, height = self.content_size
        if self._drawn_for == (width, height):
            return
        self._drawn_for = (width, height)
        self._lines = []
        if self._rgb is None:
            return
        ph, pw = self.drawn_shape
        if ph == 0:
            return
        left = Segment(" " * ((width - pw) // 2))
        for segs in half_block_rows(resample(self._rgb, ph, pw)):
            self._lines.append(Strip([left, *segs]))

    def on_resize(self) -> None:
        self._drawn_for = None

    def render_line(self, y: int) -> Strip:
        self._draw()
        width = self.content_size.width
        if 0 <= y < len(self._lines):
            return self._lines[y].crop_extend(0, width, None)
        return Strip.blank(width)
