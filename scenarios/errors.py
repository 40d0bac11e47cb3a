"""ScenarioError: every problem with a scenario file, as ``FILE: field.path: message`` lines."""

from __future__ import annotations

from collections.abc import Sequence


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
        """One line per problem, ``FILE: field.path: message``, with newlines folded away."""
        return [
            " ".join(f"{self.path}: {field}: {message}".split()) for field, message in self.problems
        ]
