"""The confirmation that names a target before it is deleted."""

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static

from nocwatch_tui.i18n import _


@dataclass(frozen=True)
class DeleteChoice:
    """The operator's choice: delete, and whether the samples and incidents go too."""

    keep_samples: bool


class ConfirmDelete(ModalScreen[DeleteChoice | None]):
    """Asks before a target is deleted; its samples and incidents are kept unless ticked."""

    CSS_PATH = "dialog.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "delete", _("Delete"), id="delete.confirm"),
        Binding("escape,n", "cancel", _("Cancel"), id="delete.cancel"),
    ]

    def __init__(self, target_name: str) -> None:
        super().__init__()
        self.target_name = target_name

    def compose(self) -> ComposeResult:
        question = Text(_("Delete target "))
        question.append(self.target_name, style="bold")
        question.append(_("? It stops being probed at once."))
        with Vertical(classes="dialog"):
            yield Static(question, id="question")
            yield Checkbox(_("Also delete its samples and incidents"), False, id="purge")
            with Horizontal(classes="buttons"):
                yield Button(_("Delete y"), variant="error", id="delete")
                yield Button(_("Cancel esc"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = _("Delete target")
        self.set_focus(self.query_one("#cancel", Button))

    def action_delete(self) -> None:
        """Confirm the deletion."""
        purge = self.query_one("#purge", Checkbox).value
        self.dismiss(DeleteChoice(keep_samples=not purge))

    def action_cancel(self) -> None:
        """Keep the target."""
        self.dismiss(None)

    @on(Button.Pressed, "#delete")
    def _delete_pressed(self) -> None:
        self.action_delete()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
