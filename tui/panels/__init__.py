"""Panels: one module per Stage kind; importing this package imports every module in it, and
each registers its panel for its kind, so a new kind's panel is one new file here."""

import importlib
import pkgutil

from tui.panels.base import PANELS, Panel, panel_for, register

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "base" and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["PANELS", "Panel", "panel_for", "register"]
