"""ScenarioError: every problem with a scenario file, as ``FILE: field.path: message`` lines."""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_QUOTE = 60
"""Longest quoted value a message keeps whole: a file may hold megabytes where a word was
expected, and the line must stay one readable line."""
MAX_MESSAGE = 300
"""Longest message after quotes are shortened; the rest is cut."""

_QUOTED = re.compile(r"(?<!\w)(['\"])((?:(?!\1).){" + str(MAX_QUOTE + 1) + r",}?)(?:\1(?!\w)|…?$)")
"""A quoted value longer than MAX_QUOTE, closed or running to the end (cut earlier)."""


def clip(message: str) -> str:
    """``message`` on one line, every quoted value longer than MAX_QUOTE shortened to its start
    and "…", and the whole cut to MAX_MESSAGE characters."""
    message = " ".join(message.split())
    message = _QUOTED.sub(lambda m: f"{m[1]}{m[2][: MAX_QUOTE - 1]}…{m[1]}", message)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def field_path(loc: Sequence[str | int]) -> str:
    """Render a location such as ``("kernels", 1, "seed")`` as ``kernels[1].seed``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


class ScenarioError(Exception):
    """A scenario file that cannot be loaded; carries one (field, message) pair per problem."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, ``FILE: field.path: message``, with newlines folded away and
        long quoted values shortened (``clip``)."""
        return [
            " ".join(f"{self.path}: {field}: {clip(message)}".split())
            for field, message in self.problems
        ]
