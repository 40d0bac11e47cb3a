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

Piece = tuple[object, ...]
"""What a piece of the footer (a key, a group of keys, a group's label) shows and does."""

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
        self._made: dict[object, list[Piece]] = {}  # the pieces made of some bindings
        self._built: dict[Piece, Widget] = {}  # widgets made and not mounted yet

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
        want = self._wanted()
        compact = self._needs_compact(want, self._width())
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        pieces, shown = self._every_state(want) if want else ([], [])
        for widget in _hide_others(pieces, shown):
            widget.display = False
        yield from pieces

    def _wanted(self) -> list[Piece]:
        """What the keys, groups and labels the screen's bindings make show and do (see
        ``_identity``). Textual's ``Footer.compose`` makes them from the bindings offered; what
        it made is remembered by those bindings, and it is asked again (about fifty widgets
        built, the cost of most of a rebuild) only for bindings not seen before."""
        if not self._bindings_ready:
            return []
        active = self.screen.active_bindings
        made_of = (
            tuple((b, enabled, tip) for _, b, enabled, tip in active.values() if b.show),
            active.get(self.app.COMMAND_PALETTE_BINDING) if self.show_command_palette else None,
        )
        wanted = self._made.get(made_of)
        if wanted is None:
            if len(self._made) > KEEP_HIDDEN:
                self._made.clear()
            widgets = compose(self, super().compose())
            wanted = self._made[made_of] = [_identity(w) for w in widgets]
            self._built = dict(zip(wanted, widgets, strict=True))
        return wanted

    def _build(self, piece: Piece) -> Widget:
        """A new widget that shows ``piece``: one just made, or made again."""
        widget = self._built.pop(piece, None)
        if widget is None:
            self._built = {_identity(w): w for w in compose(self, super().compose())}
            widget = self._built.pop(piece)
        return widget

    def _every_state(self, want: list[Piece]) -> tuple[list[Widget], list[Widget]]:
        """The pieces ``want`` asks for and, in their places among them, hidden, those every
        other state of the screen would show (see ``FooterStates``): all the keys this footer
        will need. Returns them all, and those of them to show."""
        states = getattr(self.screen, "footer_states", None)
        merged: list[tuple[Piece, bool]] = [(p, True) for p in want]
        built: dict[Piece, Widget] = {p: self._build(p) for p in want}
        if states is not None:
            for _ in states():
                other = self._wanted()
                held = {p for p, _ in merged}
                merged = [
                    merged[i] if i is not None else (other[cast("int", j)], False)
                    for i, j in _merge([p for p, _ in merged], other)
                    if i is not None or other[cast("int", j)] not in held  # once, in any order
                ]
                built |= {p: self._build(p) for p, _ in merged if p not in built}
        pieces = [built[p] for p, _ in merged]
        return pieces, [built[p] for p, on in merged if on]

    async def recompose(self) -> None:
        """Show the screen's keys now, changing only the pieces that differ: a key, group or
        label already in the footer stays mounted and is shown or hidden; only one never seen
        is mounted. Textual's own recompose removes and mounts every one (about fifty widgets,
        each styled again): most of a change of stage's cost, when the keys differ by a few."""
        if not self.is_attached or self._pruning:
            return
        old = list(self.children)
        want = self._wanted()
        compact = self._needs_compact(want, self._width())
        if old:
            pieces: list[Widget] = []
            shown: list[Widget] = []
            for i, j in _merge([_identity(w) for w in old], want):
                widget = old[i] if i is not None else self._build(want[cast("int", j)])
                pieces.append(widget)
                if j is not None:
                    shown.append(widget)
        else:
            pieces, shown = self._every_state(want)
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
        shown = [_identity(w) for w in self.shown_pieces()]
        compact = self._needs_compact(shown, event.size.width)
        if compact != self.compact:
            self.compact = compact

    @staticmethod
    def _needs_compact(pieces: list[Piece], width: int) -> bool:
        """Whether the keys would pass ``width`` on one line in the roomier style."""
        return sum(_roomy_width(p) for p in pieces) > width


def roomy_width(widgets: list[Widget]) -> int:
    """The width the footer's keys take on one line in Textual's roomier (not compact) style,
    worked out from their text and that style's spacing (see ``_roomy_width``)."""
    return sum(_roomy_width(_identity(w)) for w in widgets)


def _roomy_width(piece: Piece) -> int:
    """The width of one piece (see ``_identity``) in the roomier style: a key alone is
    `` k what ``; the keys of a group are bare, after a cell and before one (a compact group,
    ``←→``) or a cell apart (``PgUp PgDn``), and the group's label is followed by a cell."""
    if piece[0] == "group":
        _, classes, keys = piece
        keys = cast("tuple[Piece, ...]", keys)
        bare = sum(cell_len(cast("str", k[2])) for k in keys if k[0] == "key")
        return bare + (2 if "-compact" in cast("frozenset[str]", classes) else len(keys) + 1)
    if piece[0] == "label":
        return cell_len(cast("str", piece[1])) + 1
    if piece[0] == "key":
        return cell_len(cast("str", piece[2])) + cell_len(cast("str", piece[3])) + 3
    return 0


def _merge(have: list[Piece], want: list[Piece]) -> list[tuple[int | None, int | None]]:
    """``have`` and ``want`` in one order (both keep theirs): for each place, the index of a
    piece of ``have`` there (or None), and of the piece of ``want`` it shows (or None); a piece
    of ``want`` alike one of ``have`` shares its place."""
    places: list[tuple[int | None, int | None]] = []
    changes = SequenceMatcher(None, have, want, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in changes:
        if op == "equal":
            places += zip(range(i1, i2), range(j1, j2), strict=True)
        else:
            places += [(i, None) for i in range(i1, i2)]
            places += [(None, j) for j in range(j1, j2)]
    return places


def _hide_others(pieces: list[Widget], shown: list[Widget]) -> list[Widget]:
    """The pieces not among ``shown``."""
    on = set(shown)
    return [w for w in pieces if w not in on]


def _identity(widget: Widget) -> Piece:
    """What a piece of the footer shows and does: two pieces alike are interchangeable (the
    footer's compact style, given to every key alike, left out of a key's classes)."""
    if isinstance(widget, KeyGroup):
        keys = list(widget.children) or widget._pending_children
        return ("group", frozenset(widget.classes), tuple(_identity(k) for k in keys))
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
    if isinstance(widget, FooterLabel):
        return ("label", str(widget.content), classes)
    return ("other", id(widget))
