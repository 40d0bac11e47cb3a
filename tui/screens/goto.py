"""GotoScreen: a small dialog asking for a step number."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label


class GotoScreen(ModalScreen[int | None]):
    """Asks for a step in 0…total−1; returns it, or None if cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, total: int, current: int) -> None:
        super().__init__()
        self.total = total
        self.current = current

    def compose(self) -> ComposeResult:
        last = self.total - 1
        with Vertical(id="goto-dialog"):
            yield Label(f"Go to step (0 … {last}), Enter to jump, Esc to cancel")
            yield Input(
                placeholder=str(self.current),
                type="integer",
                validators=[Integer(minimum=0, maximum=last)],
                id="goto-input",
            )
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        result = event.validation_result
        if not event.value or (result is not None and not result.is_valid):
            self.query_one("#goto-error", Label).update(
                f"[red]{event.value or 'nothing'} is not a step: enter 0 … {self.total - 1}[/]"
            )
            return
        self.dismiss(int(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
