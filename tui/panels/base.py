"""Panel: the widget that shows one Stage kind's current Step, and the kind → panel registry."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from tui.widgets import legend

if TYPE_CHECKING:
    from engine.core import Stage, Step


class Panel(Widget):
    """Shows the steps of one stage. Subclasses turn a Step into widget updates and nothing else."""

    kind: ClassVar[str]
    """The Stage kind this panel draws."""

    DEFAULT_CSS = """
    Panel {
        height: auto;
    }
    """

    class StepChosen(Message):
        """The user picked a step of this panel's stage (for example by clicking an output cell)."""

        def __init__(self, local_index: int) -> None:
            super().__init__()
            self.local_index = local_index

    def __init__(self, stage: Stage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stage = stage

    @abstractmethod
    def show(self, step: Step) -> None:
        """Draw ``step``."""

    def set_heat(self, on: bool) -> None:
        """Switch every grid of the panel between numbers and the shaded heat view; panels
        without grids of numbers override this."""
        from tui.widgets.matrix import MatrixGrid

        for grid in self.query(MatrixGrid):
            grid.heat = on

    def has_heat(self) -> bool:
        """Whether ``h`` changes anything here: the panel draws grids or strips of numbers
        that the heat view shades (bars, pictures and attention maps are shaded already)."""
        from tui.panels._vector import VectorStrip
        from tui.widgets.matrix import MatrixGrid

        return bool(self.query(MatrixGrid)) or bool(self.query(VectorStrip))

    def legend_entries(self, heat: bool = False) -> list[legend.Swatch]:
        """The colours this panel draws with and what they mean (``heat``: in the heat view),
        for the legend under the panel and for ``?``. Panels override it next to the styles
        they use; this default is the current element and the heat view's shading."""
        return [legend.current(), *(legend.heat() if heat else [])]

    def legend(self, heat: bool = False) -> Content:
        """The legend on one line."""
        return legend.line(self.legend_entries(heat))

    def inspector(self) -> Widget | None:
        """The box that explains the current step with its numbers (its id ends in
        "inspector"), or None for a panel without one."""
        return next(
            (w for w in self.query(Static) if w.id is not None and w.id.endswith("inspector")),
            None,
        )


class ReflowingPanel(Panel):
    """A panel that plans its layout from the terminal's size and the view (heat pictures grow
    where numbers would not): the heat key and a resize plan it again (``_relayout``)."""

    _heat = False

    def set_heat(self, on: bool) -> None:
        self._heat = on
        super().set_heat(on)
        self._relayout()

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """Decide how much is drawn, how wide, and how large, for this size and view."""
        raise NotImplementedError


class Registry(dict[str, type[Panel]]):
    """Stage kind → panel class. A kind not registered yet is looked for on first use: first in
    the module named after it (``conv`` is ``tui/panels/conv.py``), then in every module of the
    package, so the player imports only the panels its stages need (a third of a second of
    imports saved before its first frame) and a new panel still registers itself by existing."""

    def __missing__(self, kind: str) -> type[Panel]:
        _find(kind)
        if dict.__contains__(self, kind):
            return dict.__getitem__(self, kind)
        raise KeyError(kind)

    def __contains__(self, kind: object) -> bool:
        if isinstance(kind, str) and not dict.__contains__(self, kind):
            _find(kind)
        return dict.__contains__(self, kind)


def _find(kind: str) -> None:
    """Import the module that registers ``kind``'s panel: the one named after it, else all."""
    import importlib
    import pkgutil
    from pathlib import Path

    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name != "base" and not m.name.startswith("_")
    )
    if kind in names:
        importlib.import_module(f"tui.panels.{kind}")
        if dict.__contains__(PANELS, kind):
            return
    for name in names:
        importlib.import_module(f"tui.panels.{name}")


PANELS: Registry = Registry()
"""Stage kind → panel class."""


def register(panel: type[Panel]) -> type[Panel]:
    """Class decorator adding a panel to the registry under its ``kind``."""
    PANELS[panel.kind] = panel
    return panel


def panel_for(stage: Stage, *, id: str | None = None) -> Panel:
    """A new panel for ``stage``; a stage kind without a panel is a programming error."""
    try:
        cls = PANELS[stage.kind]
    except KeyError:
        raise LookupError(f"no panel registered for stage kind {stage.kind!r}") from None
    return cls(stage, id=id)
