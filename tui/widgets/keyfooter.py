"""KeyFooter: the keys a screen offers, on as many lines as they need to all be seen.

Textual's ``Footer`` keeps to one line and lets the keys that do not fit run off its right edge:
at 80 columns a convolution's later keys (f, u, t, v, s, p …) were never on screen. This footer
shows the same keys (it is built by ``Footer.compose`` from ``screen.active_bindings``, so it
offers exactly what the screen's ``check_action`` allows, and each key stays clickable), in
Textual's compact style when they do not fit on one line in the roomier one, and wraps them onto
further lines when they still do not fit. A group (``← → Step``) is never split across lines.
Being docked at the bottom, every line it takes is taken from the screen's other widgets.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from fractions import Fraction
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.compose import compose
from textual.events import Resize
from textual.geometry import NULL_OFFSET, Region, Size
from textual.layout import ArrangeResult, Layout, WidgetPlacement
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.widget import Widget


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
        viewport = parent.app.viewport_size
        one = Fraction(1)
        placements: list[WidgetPlacement] = []
        x = y = 0
        for unit in units(children):
            boxes = [w._get_box_model(size, viewport, one, one, greedy=False) for w in unit]
            width = sum(int(b.width) + b.margin.left + b.margin.right for b in boxes)
            if x and x + width > size.width:
                x, y = 0, y + 1
            for widget, box in zip(unit, boxes, strict=True):
                x += box.margin.left
                region = Region(x, y, int(box.width), 1)
                placements.append(
                    WidgetPlacement(region, NULL_OFFSET, box.margin, widget, 0, False, False)
                )
                x += int(box.width) + box.margin.right
        return placements

    def get_content_height(
        self, widget: Widget, container: Size, viewport: Size, width: int
    ) -> int:
        if not widget._nodes:
            return 1
        return max(1, widget.arrange(Size(width, 0)).total_region.height)


_FLOW = FlowLayout()


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

    @property
    def layout(self) -> Layout:
        return _FLOW

    def compose(self) -> ComposeResult:
        widgets, compact = self._pieces()
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        yield from widgets

    def _pieces(self) -> tuple[list[Widget], bool]:
        """The keys, groups and labels the screen's bindings make, and whether they need the
        compact style."""
        widgets = compose(self, super().compose())
        return widgets, self._needs_compact(widgets, self._width())

    async def recompose(self) -> None:
        """Show the screen's keys now, changing only the pieces that differ: a key, group or
        label already on screen stays mounted, and only those that come or go are mounted or
        removed. Textual's own recompose removes and mounts every one (about fifty widgets, each
        styled again): most of a change of stage's cost, when the keys differ by a few."""
        if not self.is_attached or self._pruning:
            return
        old = list(self.children)
        new, compact = self._pieces()
        changes = SequenceMatcher(
            None, [_identity(w) for w in old], [_identity(w) for w in new], autojunk=False
        ).get_opcodes()
        gone = [
            w for op, i1, i2, _, _ in changes if op in ("delete", "replace") for w in old[i1:i2]
        ]
        async with self.batch():
            if gone:
                await self.remove_children(gone)
            if compact != self.compact:
                # The keys kept change class quietly, and the new ones are bound to the new
                # style from the start; the footer's class then works out the styles of every
                # piece once (each key restyling itself, as setting ``compact`` does, and then
                # the footer restyling them all took twice as long).
                self.set_reactive(Footer.compact, compact)
                for key in self.query(FooterKey):
                    key.set_reactive(FooterKey.compact, compact)
                    key.set_class(compact, "-compact", update=False)
            for op, _, i2, j1, j2 in changes:
                if op in ("insert", "replace"):
                    # Before the first piece kept after them (the pieces are in one order).
                    before = old[i2] if i2 < len(old) else None
                    await self.mount_all(new[j1:j2], before=before)
            self.set_class(compact, "-compact")

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def on_resize(self, event: Resize) -> None:
        compact = self._needs_compact(list(self.children), event.size.width)
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
