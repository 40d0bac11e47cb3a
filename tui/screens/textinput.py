"""TextInputScreen: a one-line box for a text a model reads (a date to translate, a scene to
caption) or a number to change, tried on the stage before the box closes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from engine.errors import SpecError
from tui.styles import MUTED

T = TypeVar("T")


class TextInputScreen(ModalScreen[T | None], Generic[T]):
    """Asks for one line of text and hands it to ``apply``; closes with what ``apply`` returned,
    or with None on Esc. A ``SpecError`` from ``apply`` is shown as its one line under the box,
    and the box stays open with the text as typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    DEFAULT_CSS = """
    TextInputScreen {
        align: center middle;
    }
    TextInputScreen #text-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: thick $primary;
        background: $surface;
    }
    TextInputScreen #text-error {
        width: 100%;
        height: auto;
    }
    """

    def __init__(
        self,
        prompt: str,
        text: str,
        apply: Callable[[str], T],
        *,
        hint: str = "Enter runs the model on it, Esc cancels",
    ) -> None:
        """``prompt`` says what to type, ``text`` fills the box at first, and ``apply`` turns
        the text entered into the result (raising ``SpecError`` when it cannot). ``hint`` is
        the grey line under the box until a refusal takes its place."""
        super().__init__()
        self.prompt = prompt
        self.text = text
        self.hint = hint
        self._apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(id="text-dialog"):
            yield Label(Content(self.prompt))
            yield Input(value=self.text, id="text-input", select_on_focus=False)
            yield Label(Text(self.hint, style=MUTED), id="text-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            result = self._apply(event.value)
        except SpecError as e:
            line = " ".join(str(e).split())  # one line, however the message was written
            self.query_one("#text-error", Label).update(Text(line, style="red"))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
