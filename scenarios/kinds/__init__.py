"""One module per scenario kind: its schema, its builder, and its registration."""

from __future__ import annotations

import pkgutil


def module_names() -> list[str]:
    """The modules of this package, found from its files without importing them (nor
    pydantic): a kind's module is named after it, so these are the kinds' names."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name[0] != "_")
