"""The one error type the engine raises for a specification it cannot compute."""

from __future__ import annotations


class SpecError(ValueError):
    """A stage was asked for something impossible; ``field`` names the offending setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
