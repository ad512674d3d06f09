"""The NOC Watch Textual application."""

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import Store
from nocwatch_tui.engine.windows import WINDOWS_S
from nocwatch_tui.i18n import _


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
        engine_pid: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.db_path = db_path
        self.window_s = WINDOWS_S[window]
        self.operator = operator
        # The process id of the engine this console started, or None when it
        # attaches to an engine that another process started.
        self.engine_pid = engine_pid
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """Return the app's database connection, open from mount to unmount."""
        assert self._store is not None, "the store opens when the app mounts"
        return self._store

    async def on_mount(self) -> None:
        self._store = await Store.open(self.db_path, create=False)
        await self.push_screen(MainScreen())

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        if self._store is not None:
            await self._store.close()
            self._store = None

    def action_help(self) -> None:
        """Show or hide the panel that lists every key."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
