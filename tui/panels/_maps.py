"""How many maps (channels, filters, output maps) fit side by side, how wide each is drawn, and
the names and page titles the conv and pool panels give them. Pure functions of sizes."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.widget import Widget
from textual.widgets import Static

from engine.kernels import KERNELS
from tui.panels._vector import put_text
from tui.widgets.rows import CachedRows

MAX_SLOTS = 8
"""Maps of one kind drawn side by side at most; more are paged through."""
LEAST_COLUMNS = 6
"""A map wider than this may be drawn narrower than itself (it scrolls to follow the step)
when that puts another map beside it, but always shows at least this many columns."""
LABEL_LEAST = 13
"""Columns a card keeps for its label when it is drawn narrower than the label: "filter 0
(Ve…" still says which filter it is (the count goes first, see ``mapcard.shortened``); a
label may be cut short before a map is, as it is the map that teaches."""
MAX_ZOOM = 4
"""The largest heat-picture cell: four characters wide, two lines high."""
PAGE_KEY = "m"
"""The key that shows the next page of maps (Shift+m the previous one)."""

BOX_FRAME = 3
"""Columns a box of maps takes beyond its cards: the border and a column of padding on the
left (the last card's right margin pads the right)."""

TITLE_ROOM = 4
"""Columns a box's content needs beyond the length of its title for the title to be drawn
whole: the border draws "─ " before it and " ─" after it."""

LEGIBLE = 20
"""Columns a card squeezed into a narrow terminal is counted at when deciding whether its box's
title keeps its room (``title_floors``): row labels and two or three numbers. A title longer
than the map under it costs the map no more. The squeeze itself shares the columns in
proportion to the maps' narrowest widths (``_squeeze``)."""

RGB = ("R", "G", "B")


@dataclass(frozen=True)
class Box:
    """One box of maps for ``fit``: the width of one card drawn whole, the narrowest it may
    be drawn, and whether its cards stand side by side (else they are stacked and the box is
    one card wide)."""

    natural: int
    least: int
    side_by_side: bool = True
    floor: int = 0
    """The box's content is never narrower than this (room for its title)."""


def fit(width: int, frame: int, sets: list[tuple[int, list[Box]]]) -> tuple[list[int], list[int]]:
    """Share ``width`` columns between sets of boxes that page together (a conv's input
    channels; its filters and their output maps). ``frame`` is what the boxes' borders,
    padding and titles take. Returns how many maps of each set are drawn (at least one, at
    most its total and ``MAX_SLOTS``) and the width of one card of each box, in order.

    Counts grow one at a time, taking turns between sets, while every box still fits at its
    narrowest; then the spare columns go to the boxes in proportion to what they lack."""
    counts = [1] * len(sets)

    def need(counts: list[int], attr: str) -> int:
        total = frame
        for n, (_, boxes) in zip(counts, sets, strict=True):
            for box in boxes:
                total += max((n if box.side_by_side else 1) * getattr(box, attr), box.floor)
        return total

    grown = True
    while grown:
        grown = False
        for s, (total, _) in enumerate(sets):
            if counts[s] < min(total, MAX_SLOTS):
                trial = [*counts[:s], counts[s] + 1, *counts[s + 1 :]]
                if need(trial, "least") <= width:
                    counts, grown = trial, True
    spare = width - need(counts, "least")
    if spare < 0:  # too narrow even for one map each
        return counts, _hand_out(width, frame, sets, counts, _squeeze(width, frame, sets, counts))
    lacking = need(counts, "natural") - need(counts, "least")
    widths = []
    for _, boxes in sets:
        for box in boxes:
            if lacking <= spare:
                widths.append(box.natural)
            else:
                share = (box.natural - box.least) * spare // max(lacking, 1)
                widths.append(box.least + share)
    if spare < lacking:
        widths = _hand_out(width, frame, sets, counts, widths)
    return counts, widths


def _cards(sets: list[tuple[int, list[Box]]], counts: list[int]) -> list[tuple[Box, int]]:
    """Every box of ``sets`` with the number of cards it stands side by side (one when its
    cards are stacked)."""
    return [
        (box, n if box.side_by_side else 1)
        for n, (_, boxes) in zip(counts, sets, strict=True)
        for box in boxes
    ]


def _squeeze(
    width: int, frame: int, sets: list[tuple[int, list[Box]]], counts: list[int]
) -> list[int]:
    """Card widths when not even one map of each set fits at its narrowest: every card gives
    up a share in proportion to its narrowest width (the widest map, the input a window moves
    over, keeps the most), except that a box whose share is less than its floor (its title)
    keeps the floor, and the others share what is left."""
    cards = _cards(sets, counts)
    floored: set[int] = set()
    while True:
        room = width - frame - sum(cards[i][0].floor for i in floored)
        least = sum(k * box.least for i, (box, k) in enumerate(cards) if i not in floored)
        widths = [
            box.floor // k if i in floored else max(1, box.least * room // max(least, 1))
            for i, (box, k) in enumerate(cards)
        ]
        short = {
            i for i, (box, k) in enumerate(cards) if i not in floored and k * widths[i] < box.floor
        }
        if not short:
            return widths
        floored |= short


def set_floors(boxes: Iterable[Widget], floors: list[int]) -> None:
    """Give each box the room its floor (``title_floors``) asks for, or none."""
    for box, floor in zip(boxes, floors, strict=True):
        box.styles.min_width = floor + BOX_FRAME if floor else None


def title_floors(
    width: int, frame: int, sets: list[tuple[int, list[Box]]], *levels: list[int]
) -> list[int]:
    """The floors to give the boxes of ``sets`` (one per box, in order): the first of
    ``levels`` (room for the boxes' titles, longest first) that leaves one map of each set
    ``LEGIBLE`` columns or its narrowest width; zeros when none does, and the titles are cut."""
    boxes_in = sum(len(boxes) for _, boxes in sets)
    for floors in levels:
        assert len(floors) == boxes_in, (floors, boxes_in)
        room = iter(floors)
        trial = [
            (n, [Box(b.least, min(b.least, LEGIBLE), floor=next(room)) for b in boxes])
            for n, boxes in sets
        ]
        if fits(width, frame, trial, [1] * len(sets)):
            return list(floors)
    return [0] * boxes_in


def _hand_out(
    width: int, frame: int, sets: list[tuple[int, list[Box]]], counts: list[int], widths: list[int]
) -> list[int]:
    """The columns the shares of ``fit`` rounded away, one at a time to the card that lacks
    the most and still fits: no band is left empty beside a map that scrolls."""
    cards = _cards(sets, counts)

    def used(widths: list[int]) -> int:
        return frame + sum(max(k * w, box.floor) for (box, k), w in zip(cards, widths, strict=True))

    widths = list(widths)
    while True:
        naturals = [box.natural for box, _ in cards]
        lacking = sorted(
            ((n - w, i) for i, (n, w) in enumerate(zip(naturals, widths, strict=True))),
            reverse=True,
        )
        for most, i in lacking:
            trial = [*widths[:i], widths[i] + 1, *widths[i + 1 :]]
            if most > 0 and used(trial) <= width:
                widths = trial
                break
        else:
            return widths


def fits(width: int, frame: int, sets: list[tuple[int, list[Box]]], counts: list[int]) -> bool:
    """Whether ``counts`` maps of each set fit in ``width`` at their narrowest, floors kept."""
    total = frame
    for n, (_, boxes) in zip(counts, sets, strict=True):
        for box in boxes:
            total += max((n if box.side_by_side else 1) * box.least, box.floor)
    return total <= width


def least_width(natural: int, label_w: int, cell_w: int, columns: int, window: int = 0) -> int:
    """The narrowest a card may be: whole when the map has few columns, else room for the
    row labels, ``LEAST_COLUMNS`` cells beyond a ``window`` columns wide (so that the grid
    scrolls every few steps, not on each one: a scroll redraws every line) and a scroll bar."""
    keep = LEAST_COLUMNS + window
    if columns <= keep + 2:
        return natural
    return min(natural, label_w + keep * cell_w + 2)


def page_start(current: int, start: int, per_page: int, total: int) -> int:
    """The first map of the page to draw: ``start`` while the current map is on it, else
    the page that holds the current map."""
    per_page = max(per_page, 1)
    if start <= current < start + per_page and start + per_page <= max(total, per_page):
        return start
    return min(current // per_page * per_page, max(total - per_page, 0))


def next_page(start: int, per_page: int, total: int, direction: int) -> int:
    """The first map of the next (``direction`` 1) or previous (−1) page, wrapping round."""
    if total <= per_page:
        return 0
    if direction > 0:
        return 0 if start + per_page >= total else min(start + per_page, total - per_page)
    if start == 0:
        return max(total - per_page, 0)
    return max(start - per_page, 0)


def page_title(noun: str, start: int, shown: int, total: int, room: int = 0) -> str:
    """What a box shows of its maps: "" when all are drawn, else "maps 2–3 of 6, m for more";
    shorter forms when that is longer than ``room`` columns (a narrow box: "maps 2–3 of 6 · m",
    then "2–3 of 6 · m"), so that the key is never the part a border cuts off."""
    if shown >= total:
        return ""
    span = f"{start}" if shown == 1 else f"{start}–{start + shown - 1}"
    forms = (
        f"{noun} {span} of {total}, {PAGE_KEY} for more",
        f"{noun} {span} of {total} · {PAGE_KEY}",
        f"{span} of {total} · {PAGE_KEY}",
    )
    return next((form for form in forms if len(form) <= room), forms[-1]) if room else forms[0]


def subtitle_room(box: Widget | None) -> int:
    """Columns a box's border subtitle has (0 before the box is composed or laid out: any
    length)."""
    return 0 if box is None else max(0, box.outer_size.width - 6)


def channel_name(c: int, channels: int) -> str:
    """ "channel 2 of 3 (B)": three channels are read as red, green and blue."""
    return f"channel {c} of {channels}" + (f" ({RGB[c]})" if channels == 3 else "")


def kernel_name(kernel: np.ndarray) -> str | None:
    """The name of a filter that is a named kernel (in every channel), e.g. "Sobel x"."""
    k = np.asarray(kernel)
    if k.ndim == 3:
        if not np.all(k == k[:1]):
            return None
        k = k[0]
    for named in KERNELS.values():
        values = named.array()
        if values.shape == k.shape and np.array_equal(values, k):
            return named.name.replace("_", " ").capitalize()
    return None


def filter_name(f: int, filters: int, kernel: np.ndarray) -> str:
    """ "filter 0 of 2 (Sobel x)"."""
    name = kernel_name(kernel)
    return f"filter {f} of {filters}" + (f" ({name})" if name else "")


_SPANS: dict[int, tuple[weakref.ref[np.ndarray], tuple[float, float]]] = {}
"""The spans of the last arrays asked about, by identity: a panel asks for the same output's
span at every page and redraw. A weak reference tells a live array from a new one that got the
id of a dead one, without keeping a replaced stage's (possibly large) output alive."""
_SPANS_KEPT = 8


def span_of(values: np.ndarray) -> tuple[float, float]:
    """The finite range of ``values``: maps drawn with one range are drawn alike. The arrays of
    a stage do not change once computed (a live edit makes new ones), so each span is
    computed once; a plain min and max first, the slower masked pass only for an array with an
    inf or a nan (64×224×224 numbers: 2 ms against 180)."""
    known = _SPANS.get(id(values))
    if known is not None and known[0]() is values:
        return known[1]
    if not values.size:
        span = (0.0, 0.0)
    else:
        lo, hi = float(values.min()), float(values.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            finite = values[np.isfinite(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        span = (lo, hi)
    if len(_SPANS) >= _SPANS_KEPT:
        _SPANS.pop(next(iter(_SPANS)))
    _SPANS[id(values)] = (weakref.ref(values), span)
    return span


def no_links(widget: Widget) -> None:
    """Tell Textual that ``widget``'s text has no links. Otherwise every segment of every line
    drawn is looked at for a click action: its style's meta (the offsets Textual adds for text
    selection) is unpickled, about 0.1 ms a segment, 3 to 9 ms a step for an inspector."""
    if widget.auto_links:
        widget.set_reactive(Widget.auto_links, False)


SAMPLED_STEPS = 48
"""Steps of a stage whose inspector text is measured, evenly spread, for the height the
inspector keeps over the stage (about a millisecond each)."""


def sampled_steps(n: int) -> range:
    """The steps of an ``n``-step stage measured for the inspector's height."""
    return range(0, n, max(1, n // SAMPLED_STEPS))


class GrowingInspector:
    """Puts a new text in an inspector on every step without laying the screen out again.
    The inspector is held at the height of the tallest text among ``every()`` (a sample of
    the stage's steps, measured once per width and ``key``) and only grows beyond it, to the
    tallest text seen at this width, so a step whose text is a line shorter or longer within
    that height repaints the text and nothing else. A layout is a second frame (the screen is
    painted again whole, and the grids follow their windows again) and a pass over every
    widget on screen. A ``CachedRows`` inspector given Rich texts draws them itself, line by
    line, and repaints only the lines that changed."""

    def __init__(self) -> None:
        self.width = 0
        self.lines = 0
        self.key: object = None

    def show(
        self,
        inspector: Static,
        content: Content | Text,
        every: Callable[[], Iterable[Content | Text]] | None = None,
        *,
        key: object = None,
    ) -> None:
        no_links(inspector)
        width = inspector.content_region.width
        if width <= 0:
            put_text(inspector, content)
            return
        if not _drawn_by_rows(inspector, content):
            plain = content.plain
            wrap = "wrap" if max(len(line) for line in plain.split("\n")) > width else "nowrap"
            if inspector.styles.text_wrap != wrap:
                inspector.styles.text_wrap = wrap  # type: ignore[assignment]
        if (width, key) != (self.width, self.key):
            self.width, self.key = width, key
            texts = () if every is None else every()
            self.lines = max((_height(inspector, text, width) for text in texts), default=0)
        # The text shown is measured last: a CachedRows keeps its rows for drawing.
        self.lines = max(self.lines, _height(inspector, content, width))
        height = self.lines + inspector.styles.gutter.height
        now = inspector.styles.height
        if now is None or now.unit.name != "CELLS" or int(now.value) != height:
            inspector.styles.height = height
        put_text(inspector, content, layout=False)


def _drawn_by_rows(inspector: Static, content: Content | Text) -> bool:
    return isinstance(inspector, CachedRows) and isinstance(content, Text)


def _height(inspector: Static, content: Content | Text, width: int) -> int:
    """Lines ``content`` takes in ``inspector`` at ``width`` cells when it wraps."""
    if _drawn_by_rows(inspector, content):
        rows = inspector.rows_at(content, width)  # type: ignore[attr-defined, arg-type]
        if rows is not None:
            return int(rows)
    if isinstance(content, Text):
        content = Content.from_rich_text(content)
    return wrapped_height(inspector, content, width)


def wrapped_height(inspector: Static, content: Content, width: int) -> int:
    """Lines ``content`` takes in ``inspector`` at ``width`` cells when it wraps (whatever the
    inspector does now: ``GrowingInspector`` wraps only a text that needs it)."""
    styles = inspector.styles
    rules: RulesMap = {
        "line_pad": styles.line_pad,
        "text_wrap": "wrap",
        "text_overflow": styles.text_overflow,
    }
    limit = width - 2 * styles.line_pad
    return sum(
        1 if cell_len(line) <= limit else Content(line).get_height(rules, width)
        for line in content.plain.split("\n")
    )
