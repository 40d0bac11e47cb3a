"""Panels: one module per Stage kind, each registering its panel for its kind, so a new kind's
panel is one new file here. A kind's module is imported when a panel for that kind is first
asked for (``PANELS`` looks in the module named after the kind, then in every module)."""

from tui.panels.base import PANELS, Panel, panel_for, register

__all__ = ["PANELS", "Panel", "panel_for", "register"]
