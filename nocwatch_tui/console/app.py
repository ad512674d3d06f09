"""The NOC Watch Textual application."""

from pathlib import Path
from typing import ClassVar, Literal

from textual.app import App
from textual.binding import Binding, BindingType

from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.engine.windows import WINDOWS_S
from nocwatch_tui.i18n import _

EngineMode = Literal["own", "attached"]


class NocWatchApp(App[None]):
    """The console; it reads everything from the database at `db_path`."""

    CSS_PATH = "app.tcss"
    TITLE = "NOC Watch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", _("Quit"), id="quit"),
        Binding("question_mark", "help", _("Help"), id="help"),
    ]

    def __init__(
        self,
        db_path: Path,
        *,
        window: str = "15m",
        operator: str = "operator",
        engine_mode: EngineMode = "attached",
    ) -> None:
        super().__init__()
        self.db_path = db_path
        self.window_s = WINDOWS_S[window]
        self.operator = operator
        self.engine_mode: EngineMode = engine_mode

    def on_mount(self) -> None:
        self.push_screen(MainScreen())

    def action_help(self) -> None:
        """Show or hide the panel that lists every key."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
