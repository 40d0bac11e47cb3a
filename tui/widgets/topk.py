"""TopK: the k most probable classes as bars, with their labels and probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.geometry import Size
from textual.widget import Widget

from tui.numbers import clamp

NOTE_WRAP: RulesMap = {"text_wrap": "wrap", "line_pad": 0, "text_overflow": "fold"}
"""How the note under the bars wraps, for measuring its height."""

EIGHTHS = " ▏▎▍▌▋▊▉█"
"""Partial blocks across a cell, in eighths."""


def softmax(z: np.ndarray) -> np.ndarray:
    """Probabilities from scores, computed as PyTorch does (the largest score subtracted)."""
    z = np.asarray(z, dtype=np.float64).ravel()
    finite = z[np.isfinite(z)]
    if not finite.size:
        return np.full(z.shape, np.nan)
    e = np.exp(np.clip(z - finite.max(), -745.0, 0.0))
    return e / e.sum()


def top_k(probs: np.ndarray, k: int = 5) -> list[tuple[int, float]]:
    """(class index, probability) of the ``k`` largest probabilities, largest first; ties go
    to the lower index, nans last."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    key = np.where(np.isnan(p), -np.inf, p)
    order = np.lexsort((np.arange(p.size), -key))[:k]
    return [(int(i), float(p[i])) for i in order]


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` (0 … 1) of ``width`` cells long, to an eighth of a cell."""
    eighths = round(clamp(fraction, 0.0, 1.0, nan=0.0) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


class TopK(Widget):
    """Bars of the ``k`` most probable classes: label, bar, probability; the first one lit."""

    DEFAULT_CSS = """
    TopK {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(
        self,
        *,
        k: int = 5,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.k = k
        self._rows: list[tuple[str, float]] = []
        self._note = ""
        self._target: int | None = None
        self._ticks = False

    def set_scores(
        self,
        probs: np.ndarray | None,
        labels: Sequence[str] | None = None,
        *,
        note: str = "",
        target: int | None = None,
    ) -> None:
        """Show the top ``k`` of ``probs`` (probabilities, one per class), named by ``labels``
        where given (``class i`` otherwise), with ``note`` under the bars; the bar of class
        ``target`` (the input's true class, when known) is ticked."""
        self._rows = []
        self._target = None
        if probs is not None:
            for rank, (i, p) in enumerate(top_k(probs, self.k)):
                label = labels[i] if labels is not None and i < len(labels) else f"class {i}"
                self._rows.append((" ".join(str(label).split()), p))
                if i == target:
                    self._target = rank
        self._ticks = target is not None
        self._note = note
        self.refresh(layout=True)

    @property
    def rows(self) -> list[tuple[str, float]]:
        """(label, probability) of each bar, top first."""
        return list(self._rows)

    @property
    def target_rank(self) -> int | None:
        """Where the true class is among the bars (0 = top), None when it is not shown."""
        return self._target

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The bars, one line each, and the note's lines as Textual wraps them in ``width``
        columns (at spaces)."""
        if not self._note:
            return len(self._rows)
        return len(self._rows) + Content(self._note).get_height(NOTE_WRAP, max(width, 1))

    def render(self) -> Text:
        width = max(self.size.width, 20)
        label_w = min(max((len(label) for label, _ in self._rows), default=5), width // 3)
        tick_w = 2 if self._ticks else 0
        bar_w = max(width - label_w - tick_w - 8, 4)
        t = Text(no_wrap=True, overflow="ellipsis")
        for rank, (label, p) in enumerate(self._rows):
            if rank:
                t.append("\n")
            if self._ticks:
                t.append("✓ " if rank == self._target else "  ", style="bold green")
            name = label if len(label) <= label_w else label[: label_w - 1] + "…"
            t.append(name.ljust(label_w) + " ", style="bold" if rank == 0 else "")
            t.append(bar(p, bar_w), style="bold green" if rank == 0 else "cyan")
            t.append(
                f"{p:7.1%}" if np.isfinite(p) else "    nan", style="bold" if rank == 0 else ""
            )
        if self._note:
            t.append(("\n" if self._rows else "") + self._note, style="grey62")
        return t
