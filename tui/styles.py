"""Rich styles for a whole ``Text`` that Textual draws.

Textual converts a Rich ``Text`` to its own ``Content``: the styles of the spans go through
Rich's parser, but a ``Text``'s own style given as a string is parsed by Textual, which does not
know Rich's colour names (``grey62``, ``bright_green``, ``dark_blue``) and silently draws such
text in the default colour. Given as a ``rich.style.Style``, the style is converted by Rich's
rules, as the spans are. ``Text("…", style=MUTED)``, never ``style="grey62"``.
"""

from __future__ import annotations

from rich.style import Style

MUTED = Style.parse("grey62")
"""Secondary text: notes, progress, hints."""
QUIET = Style.parse("grey70")
"""Explanations a little brighter than ``MUTED``."""
FAINT = Style.parse("grey42")
"""What is there but does not count: a layer without parameters, text not reached yet."""
