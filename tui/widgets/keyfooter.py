"""KeyFooter: the keys a screen offers, on as many lines as they need to all be seen.

Textual's ``Footer`` keeps to one line and lets the keys that do not fit run off its right edge:
at 80 columns a convolution's later keys (f, u, t, v, s, p …) were never on screen. This footer
shows the same keys (it is built by ``Footer.compose`` from ``screen.active_bindings``, so it
offers exactly what the screen's ``check_action`` allows, and each key stays clickable), in
Textual's compact style when they do not fit on one line in the roomier one, and wraps them onto
further lines when they still do not fit. A group (``← → Step``) is never split across lines.
Being docked at the bottom, every line it takes is taken from the screen's other widgets.

A key that goes is hidden, not removed, and shown again when it comes back; a screen whose keys
change with what it shows (the player, from one stage to the next) can have the footer hold
every key it will offer from the start (``footer_states``): a change of stage then mounts
nothing and only shows and hides keys. ``shown_pieces`` and ``shown_keys`` are what is on screen.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol, cast

from rich.cells import cell_len
from textual.compose import compose
from textual.events import Resize
from textual.geometry import NULL_OFFSET, Region, Size
from textual.layout import ArrangeResult, Layout, WidgetPlacement
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

if TYPE_CHECKING:
    from collections.abc import Iterator

    from textual.app import ComposeResult
    from textual.geometry import Spacing
    from textual.widget import Widget

KEEP_HIDDEN = 64
"""Hidden pieces a footer keeps for when they come back; past that many, they are removed (a
screen whose keys vary without end, with a changing tooltip say, would otherwise pile them up)."""


class FooterStates(Protocol):
    """A screen that tells its footer every state its keys can be in."""

    def footer_states(self) -> Iterator[None]:
        """Put the screen in each state whose keys the footer should hold (its bindings and
        ``check_action`` answering as they would there), one per iteration, and back in its
        own when done. Iterated without a pause: nothing else runs meanwhile."""
        ...


def units(children: list[Widget]) -> list[list[Widget]]:
    """The footer's children in the pieces a line may not split: a group's keys with the label
    that follows them (``← →`` and ``Step``), every other key on its own."""
    out: list[list[Widget]] = []
    for child in children:
        if isinstance(child, FooterLabel) and out and isinstance(out[-1][-1], KeyGroup):
            out[-1].append(child)
        else:
            out.append([child])
    return out


class FlowLayout(Layout):
    """Children left to right, each at its own width, starting a new line when the next piece
    (see ``units``) would pass the right edge; a piece wider than a whole line gets one."""

    name = "flow"

    def arrange(
        self, parent: Widget, children: list[Widget], size: Size, greedy: bool = True
    ) -> ArrangeResult:
        parent.pre_layout(self)
        footer = cast("KeyFooter", parent)
        viewport = parent.app.viewport_size
        placements: list[WidgetPlacement] = []
        x = y = 0
        for unit in units(children):
            boxes = [footer.box_model(w, size, viewport) for w in unit]
            width = sum(w + m.left + m.right for w, m in boxes)
            if x and x + width > size.width:
                x, y = 0, y + 1
            for widget, (w, margin) in zip(unit, boxes, strict=True):
                x += margin.left
                region = Region(x, y, w, 1)
                placements.append(
                    WidgetPlacement(region, NULL_OFFSET, margin, widget, 0, False, False)
                )
                x += w + margin.right
        return placements

    def get_content_height(
        self, widget: Widget, container: Size, viewport: Size, width: int
    ) -> int:
        if not widget._nodes:
            return 1
        return max(1, widget.arrange(Size(width, 0)).total_region.height)


_FLOW = FlowLayout()
_ONE = Fraction(1)


class KeyFooter(Footer):
    """The screen's keys, every one of them on screen: compact when they do not fit on one line
    otherwise, on more lines when they still do not fit."""

    # Textual's compact style puts a group's label flush against the next key ("Rowi Inspector")
    # and a group a cell further from the key before it than a key: one cell after every piece.
    DEFAULT_CSS = """
    KeyFooter {
        height: auto;
        overflow: hidden hidden;
        &.-compact {
            FooterLabel {
                margin: 0 1 0 0;
            }
            KeyGroup.-compact {
                padding-left: 0;
            }
            KeyGroup FooterKey.-grouped {
                margin: 0 1 0 0;
            }
            KeyGroup.-compact FooterKey.-grouped {
                margin: 0;
            }
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._boxes: dict[tuple[Widget, bool, int], tuple[int, Spacing]] = {}
        self._stale: set[Widget] = set()
        """Hidden pieces whose styles were not worked out again when the style changed."""

    @property
    def layout(self) -> Layout:
        return _FLOW

    def box_model(self, widget: Widget, size: Size, viewport: Size) -> tuple[int, Spacing]:
        """A piece's width and margin in a footer ``size`` wide, worked out once per style: a
        key's size depends on its text and style only, and measuring a key (its text rendered)
        or a group (its keys laid out) for every layout of the screen took a few ms each time."""
        key = (widget, self.compact, size.width)
        box = self._boxes.get(key)
        if box is None:
            if len(self._boxes) > 4 * KEEP_HIDDEN:  # widths of terminals resized: start again
                self._boxes.clear()
            model = widget._get_box_model(size, viewport, _ONE, _ONE, greedy=False)
            box = self._boxes[key] = (int(model.width), model.margin)
        return box

    def compose(self) -> ComposeResult:
        shown, compact = self._pieces()
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        pieces = self._every_state(shown) if shown else shown
        for widget in _hide_others(pieces, shown):
            widget.display = False
        yield from pieces

    def _pieces(self) -> tuple[list[Widget], bool]:
        """The keys, groups and labels the screen's bindings make, and whether they need the
        compact style."""
        widgets = compose(self, super().compose())
        return widgets, self._needs_compact(widgets, self._width())

    def _every_state(self, shown: list[Widget]) -> list[Widget]:
        """``shown`` and, in their places among them, the pieces every other state of the
        screen would show (see ``FooterStates``): all the keys this footer will need."""
        states = getattr(self.screen, "footer_states", None)
        pieces = list(shown)
        if states is None:
            return pieces
        for _ in states():
            pieces, _shown = _merge(pieces, compose(self, super().compose()))
        return pieces

    async def recompose(self) -> None:
        """Show the screen's keys now, changing only the pieces that differ: a key, group or
        label already in the footer stays mounted and is shown or hidden; only one never seen
        is mounted. Textual's own recompose removes and mounts every one (about fifty widgets,
        each styled again): most of a change of stage's cost, when the keys differ by a few."""
        if not self.is_attached or self._pruning:
            return
        old = list(self.children)
        want, compact = self._pieces()
        if old:
            pieces, shown = _merge(old, want)
        else:
            pieces, shown = self._every_state(want), want
        hidden = _hide_others(pieces, shown)
        if len(hidden) > KEEP_HIDDEN:
            pieces, hidden = list(shown), []
        kept = set(pieces)
        gone = [w for w in old if w not in kept]
        async with self.batch():
            if gone:
                self._boxes.clear()
                self._stale.difference_update(gone)
                await self.remove_children(gone)
            if compact != self.compact:
                # Every piece kept changes class quietly, and the new ones are bound to the new
                # style from the start; then the styles of the pieces shown are worked out
                # once (each key restyling itself, as setting ``compact`` does, then the footer
                # restyling all its pieces, hidden ones too, took three times as long). A
                # hidden piece is restyled when it is shown again.
                self.set_reactive(Footer.compact, compact)
                for key in self.query(FooterKey):
                    key.set_reactive(FooterKey.compact, compact)
                    key.set_class(compact, "-compact", update=False)
                self.set_class(compact, "-compact", update=False)
                self._stale.update(w for w in old if w in kept)
                self.app.stylesheet.update_nodes([self])
            hide = set(hidden)
            restyle = [w for w in pieces if w not in hide and w in self._stale]
            self._stale.difference_update(restyle)
            self.app.stylesheet.update_nodes(
                [node for w in restyle for node in w.walk_children(with_self=True)]
            )
            for widget in pieces:
                if widget.display == (widget in hide):
                    widget.display = widget not in hide
            # The new pieces, each run of them before the first piece already mounted after it
            # (the pieces are in one order).
            mounted = set(old)
            run: list[Widget] = []
            ends: list[Widget | None] = [*pieces, None]
            for end in ends:
                if end is not None and end not in mounted:
                    run.append(end)
                    continue
                if run:
                    await self.mount_all(run, before=end)
                    run = []

    def shown_pieces(self) -> list[Widget]:
        """The keys, groups and labels on screen (the hidden ones left out), in order."""
        return [w for w in self.children if w.display]

    def shown_keys(self) -> list[FooterKey]:
        """The keys on screen, a group's among them, in order."""
        keys: list[FooterKey] = []
        for widget in self.shown_pieces():
            if isinstance(widget, FooterKey):
                keys.append(widget)
            else:
                keys += [k for k in widget.query_children(FooterKey) if k.display]
        return keys

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def on_resize(self, event: Resize) -> None:
        compact = self._needs_compact(self.shown_pieces(), event.size.width)
        if compact != self.compact:
            self.compact = compact

    @staticmethod
    def _needs_compact(widgets: list[Widget], width: int) -> bool:
        """Whether the keys would pass ``width`` on one line in the roomier style."""
        return roomy_width(widgets) > width


def roomy_width(widgets: list[Widget]) -> int:
    """The width the footer's keys take on one line in Textual's roomier (not compact) style,
    worked out from their text and that style's spacing: a key alone is `` k what ``; the keys
    of a group are bare, after a cell and before one (a compact group, ``←→``) or a cell apart
    (``PgUp PgDn``), and the group's label is followed by a cell."""
    total = 0
    for widget in widgets:
        if isinstance(widget, KeyGroup):
            keys = list(widget.query(FooterKey)) or _pending_keys(widget)
            total += sum(cell_len(k.key_display) for k in keys)
            total += 2 if widget.has_class("-compact") else len(keys) + 1
        elif isinstance(widget, FooterLabel):
            total += cell_len(str(widget.content)) + 1
        elif isinstance(widget, FooterKey):
            total += cell_len(widget.key_display) + cell_len(widget.description) + 3
    return total


def _merge(have: list[Widget], want: list[Widget]) -> tuple[list[Widget], list[Widget]]:
    """The pieces of ``have`` and ``want`` in one order (both keep theirs), and those of them
    that show ``want``: a piece of ``have`` alike where there is one, else ``want``'s own."""
    merged: list[Widget] = []
    shown: list[Widget] = []
    changes = SequenceMatcher(
        None, [_identity(w) for w in have], [_identity(w) for w in want], autojunk=False
    ).get_opcodes()
    for op, i1, i2, j1, j2 in changes:
        merged += have[i1:i2]
        if op == "equal":
            shown += have[i1:i2]
        else:
            merged += want[j1:j2]
            shown += want[j1:j2]
    return merged, shown


def _hide_others(pieces: list[Widget], shown: list[Widget]) -> list[Widget]:
    """The pieces not among ``shown``."""
    on = set(shown)
    return [w for w in pieces if w not in on]


def _identity(widget: Widget) -> tuple[object, ...]:
    """What a piece of the footer shows and does: two pieces alike are interchangeable (the
    compact style, given to every key alike, left out)."""
    classes = frozenset(widget.classes - {"-compact"})
    if isinstance(widget, FooterKey):
        return (
            "key",
            widget.key,
            widget.key_display,
            widget.description,
            widget.action,
            widget._disabled,
            widget.tooltip,
            classes,
        )
    if isinstance(widget, KeyGroup):
        keys = list(widget.children) or widget._pending_children
        return ("group", classes, tuple(_identity(k) for k in keys))
    if isinstance(widget, FooterLabel):
        return ("label", str(widget.content), classes)
    return ("other", id(widget))


def _pending_keys(group: KeyGroup) -> list[FooterKey]:
    """The keys of a group composed but not yet mounted."""
    return [w for w in group._pending_children if isinstance(w, FooterKey)]
