"""ScenarioList: the browser's list of scenarios, safe to page through at any terminal size."""

from __future__ import annotations

from textual.widgets import OptionList


class ScenarioList(OptionList):
    """An OptionList whose PgUp/PgDn never fail.

    OptionList pages by the line each option starts on, which it knows only for options laid
    out at the current width; in a terminal too narrow to show them (1×1, say) that table is
    incomplete and paging raised KeyError. There it moves one option instead.
    """

    def action_page_up(self) -> None:
        try:
            super().action_page_up()
        except KeyError:
            self.action_cursor_up()

    def action_page_down(self) -> None:
        try:
            super().action_page_down()
        except KeyError:
            self.action_cursor_down()
