"""What every decoder panel draws the same way: tokens as cells, vectors as heat strips, the
top-k next-token bars and P(y|x) as a running sum of log-probabilities.

Rich ``Text`` builders, so that a panel puts them in any ``Static``; the translation, beam-search
and caption panels share them, in the language-model panel's colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Static

from tui.panels.base import Panel
from tui.panels.language import BAR, CURRENT, DONE, MUTED, PENDING, bar, token_style
from tui.widgets.halfblock import finite_range, heat_colours

if TYPE_CHECKING:
    from engine.core import Step


class Body(VerticalScroll, can_focus=False):
    """A panel's content, scrolled with the mouse when the terminal is too small for it. Never
    focused: the player's keys (PgUp, PgDn, Home, End …) stay the player's."""


class WidthPanel(Panel):
    """A panel whose drawing depends on its width (rows cut to fit, a grid or its best few):
    the last step is drawn again after the width of its boxes changes."""

    _last: Step | None = None
    _width: int = 0
    _widths: tuple[int, ...] = ()

    def show(self, step: Step) -> None:
        self._last = step
        self._widths = self._box_widths()
        self.call_after_refresh(self._check_widths)

    def _box_widths(self) -> tuple[int, ...]:
        return tuple(box.content_size.width for box in self.query(Static))

    def _check_widths(self) -> None:
        """Draw the step again if a box's width changed since it was drawn: a scroll bar that
        appears in the panel's body narrows the boxes but leaves the panel's size alone."""
        if self.is_attached and self._last is not None and self._box_widths() != self._widths:
            self._redraw()

    def on_resize(self, event: events.Resize) -> None:
        # Only a new width changes what is drawn; a new height (the panel's own boxes growing)
        # must not draw the step a second time.
        if self._last is not None and event.size.width and event.size.width != self._width:
            self._width = event.size.width
            self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        # Deferred, so the panel may be on its way out by now: its children are removed
        # first, and then there is nothing left to draw into.
        if self._last is None or not self.is_attached:
            return
        try:
            self.show(self._last)
        except NoMatches:
            return


SPECIALS = ("<EOS>", "<UNK>")
"""Tokens that are not text: drawn in their own colours, never quoted."""


def shown(token: str) -> str:
    """A token as the screen writes it: a space as ␣ (it would be invisible in a cell)."""
    return "␣" if token == " " else token


def cell_width(token: str) -> int:
    """Columns of one token's cell: a space, the token, and room for a two-digit number under
    a one-character token."""
    return max(3, len(shown(token)) + 1)


def token_cells(
    tokens: Sequence[str],
    *,
    current: int | None = None,
    done: int | None = None,
    heat: np.ndarray | None = None,
) -> Text:
    """``tokens`` side by side, one cell each (``cell_width`` columns). ``current`` (an index) is
    lit; with ``done``, the tokens from index ``done`` on are dim (not read yet); ``heat`` (one
    value per token, in [0, 1]) shades each cell's background on the grey ramp instead."""
    t = Text(no_wrap=True, overflow="crop")
    colours = None if heat is None else heat_colours(np.asarray(heat, dtype=np.float64), 0.0, 1.0)
    for i, tok in enumerate(tokens):
        text = f" {shown(tok)}".ljust(cell_width(tok))
        if i == current:
            style: str | Style = CURRENT
        elif colours is not None:
            r, g, b = (int(c) for c in colours[i])
            fg = "black" if r + g + b > 380 else "bright_white"
            base = Style.parse(token_style(tok)) if tok in SPECIALS else Style(bold=True)
            style = base + Style(color=fg, bgcolor=f"rgb({r},{g},{b})")
        elif done is not None and i >= done:
            style = PENDING
        else:
            style = token_style(tok) if tok in SPECIALS else DONE
        t.append(text, style=style)
    return t


def heat_strip(
    values: np.ndarray, *, lo: float | None = None, hi: float | None = None, pack: int = 2
) -> Text:
    """A vector as a strip of colour on the heat ramps of the matrix grid (blue–black–red for
    signed values, grey otherwise): two values per character cell (▌: left half, right half),
    or one with ``pack=1``."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if lo is None or hi is None:
        lo, hi = finite_range(v)
    rgb = heat_colours(v, lo, hi)
    t = Text(no_wrap=True, overflow="crop")
    if pack == 1:
        for px in rgb:
            t.append("█", style=Style(color=f"rgb{tuple(int(c) for c in px)}"))
        return t
    for k in range(0, len(v), 2):
        left = tuple(int(c) for c in rgb[k])
        right = tuple(int(c) for c in rgb[k + 1]) if k + 1 < len(v) else None
        style = Style(
            color=f"rgb{left}",
            bgcolor=f"rgb{right}" if right is not None else None,
        )
        t.append("▌", style=style)
    return t


def vector_line(name: str, values: np.ndarray, *, width: int = 8) -> Text:
    """``name ‖·‖ = 2.31 ▌▌▌▌…``: a named vector, its length and the vector as a heat strip (a
    narrow box crops the strip, not the number)."""
    t = Text(no_wrap=True, overflow="crop")
    t.append(f"{name:<{width}}", style="bold")
    norm = float(np.linalg.norm(np.asarray(values, dtype=np.float64)))
    t.append(f"‖·‖ = {norm:<6.3g} ", style=MUTED)
    t.append_text(heat_strip(values))
    return t


def top_bars(
    top: Sequence[tuple[str, float]],
    chosen: str | None,
    *,
    width: int = 30,
    rest: int = 0,
) -> Text:
    """The k likeliest next tokens as bars ``width`` cells long at p = 1, the ``chosen`` one
    marked ▶ and lit; ``rest`` more tokens share what the bars leave of 1."""
    w = max((len(shown(tok)) for tok, _ in top), default=1)
    t = Text(no_wrap=True, overflow="crop")
    for row, (tok, p) in enumerate(top):
        here = tok == chosen
        line = Text("▶ " if here else "  ")
        line.append(f"{shown(tok):>{w}}", style=token_style(tok))
        line.append(f"  {p:6.3f}  ")
        line.append(bar(float(p), width), style="bold bright_green" if here else BAR)
        if here:
            line.stylize(CURRENT, 0, w + 2)
        if row:
            t.append("\n")
        t.append_text(line)
    if rest:
        left = 1.0 - sum(p for _, p in top)
        t.append(f"\n  {rest} others: {max(left, 0.0):.3f} together", style=MUTED)
    return t


def probability(log_p: float) -> str:
    """e^log_p written so that tiny probabilities stay readable and a near-certain one does not
    round to 1: ``0.01534``, ``3.20e-07``, ``0.9998``, ``1 − 2.6e-5``."""
    p = math.exp(log_p) if log_p < 700 else math.inf  # exp overflows (OverflowError) above
    if 0.9999 <= p < 1:
        return f"1 − {-math.expm1(log_p):.2g}".replace("e-0", "e-")
    return f"{p:.4g}" if p >= 1e-4 or p == 0 else f"{p:.2e}"


class Term(NamedTuple):
    """One token's share of log P(y|x): its time step, the token and the two logs."""

    t: int
    token: str
    log_p: float
    total: float


def _log(v: float) -> str:
    """A log-probability in at most nine columns, tiny ones still visible: ``−0.000214``."""
    return f"{v:.3g}".replace("-", "−") if abs(v) < 0.01 else f"{v:.3f}".replace("-", "−")


def running_sum(
    terms: Sequence[Term],
    *,
    head: str = "log P(y|x) = Σ log P(y⟨t⟩ | x, y⟨<t⟩)",
    rows: int = 10,
    what: str = "P(y so far | x)",
) -> Text:
    """The running sum of log-probabilities, one term per token written so far (the latest
    ``rows`` of them, the last one lit), and the probability it comes to."""
    t = Text(no_wrap=True, overflow="crop")
    t.append(f"{head}\n", style=MUTED)
    w = max((len(shown(term.token)) for term in terms), default=1)
    t.append(f"  {'t':>3}  {'y':<{w}}  {'log p':>9}  {'Σ':>9}\n", style=MUTED)
    first = max(0, len(terms) - rows)
    if first:
        first += 1  # the note takes a row
        t.append(f"  … {first} earlier term(s)\n", style=MUTED)
    for i in range(first, len(terms)):
        term = terms[i]
        last = i == len(terms) - 1
        line = Text(f"{'▶' if last else ' '} {term.t:>3}  ")
        special = term.token in SPECIALS and not last
        line.append(f"{shown(term.token):<{w}}", style=token_style(term.token) if special else "")
        line.append(f"  {_log(term.log_p):>9}  {_log(term.total):>9}")
        if last:
            line.stylize(CURRENT, 0, len(line))
        t.append_text(line)
        t.append("\n")
    if terms:
        total = terms[-1].total
        t.append(f"{what} = e^({_log(total)}) = {probability(total)}", style="bold")
    return t
