"""A yes-or-no question asked before an action that affects many records."""

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from nocwatch_tui.i18n import _


class ConfirmScreen(ModalScreen[bool]):
    """Asks a question; dismisses with True for yes and False for no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _("Yes"), id="confirm_yes"),
        Binding("n,escape", "answer(False)", _("No"), id="confirm_no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self._question), classes="question")
            with Horizontal(classes="buttons"):
                yield Button(_("Yes (y)"), id="yes", variant="primary")
                yield Button(_("No (n)"), id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Close the dialog with the choice made."""
        self.dismiss(answer)
