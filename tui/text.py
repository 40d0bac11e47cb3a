"""How a scenario file's prose is drawn. Imports nothing heavy: the loading screen uses it before
NumPy is imported."""

from __future__ import annotations


def paragraphs(text: str) -> str:
    """``text`` as the player draws it: each paragraph (blank-line separated) on one line, its
    hard wraps joined."""
    return "\n".join(" ".join(part.split()) for part in text.split("\n\n") if part.strip())
