"""A one-line text prompt for a note on an incident."""

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from nocwatch_tui.i18n import _

NOTE_MAX_CHARS = 500


class NoteScreen(ModalScreen[str | None]):
    """Asks for a note; dismisses with its text, or None when cancelled or blank."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _("Cancel"), id="note_cancel"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self._title), classes="question")
            yield Input(placeholder=_("note, then enter"), max_length=NOTE_MAX_CHARS)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        """Close the prompt without a note."""
        self.dismiss(None)
