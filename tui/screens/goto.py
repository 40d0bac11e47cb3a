"""GotoScreen: a small dialog asking for a step number."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Label


class GotoScreen(ModalScreen[int | None]):
    """Asks for a step in 1…total, counted as the timeline counts them; returns its index
    (from 0, what the player's cursor holds), or None if cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, total: int, current: int) -> None:
        super().__init__()
        self.total = total
        self.current = current
        """The cursor's index, from 0 (shown as step current + 1)."""

    def compose(self) -> ComposeResult:
        last = self.total
        with Vertical(id="goto-dialog"):
            yield Label(f"Go to step (1 … {last}), Enter to jump, Esc to cancel")
            # Digits only, and no more of them than the last step has. Textual's "integer"
            # input type is not used: its pattern backtracks exponentially on a long run of
            # digits followed by a letter, freezing the app.
            yield Input(
                placeholder=str(self.current + 1),
                restrict=r"[0-9]*",
                max_length=len(str(last)),
                validators=[Integer(minimum=1, maximum=last)],  # marks a bad number as typed
                id="goto-input",
            )
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value.isdecimal() and 1 <= int(value) <= self.total:
            self.dismiss(int(value) - 1)
            return
        self.query_one("#goto-error", Label).update(
            Text(f"{value or 'nothing'} is not a step: enter 1 … {self.total}", style="red")
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
