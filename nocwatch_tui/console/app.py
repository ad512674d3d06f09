"""The NOC Watch Textual application."""

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.windows import WINDOWS_S, step_window
from nocwatch_tui.i18n import _

EngineMode = Literal["own", "attached"]


class NocWatchApp(App[None]):
    """The console; it reads everything from the database at `db_path`."""

    CSS_PATH = "app.tcss"
    TITLE = "NOC Watch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", _("Quit"), id="quit"),
        Binding("question_mark", "help", _("Help"), id="help"),
        Binding("left_square_bracket", "shorter_window", _("Window −"), id="shorter_window"),
        Binding("right_square_bracket", "longer_window", _("Window +"), id="longer_window"),
    ]

    window_s: reactive[int] = reactive(WINDOWS_S["15m"])
    """Length of the statistics window every screen shows, in seconds."""

    def __init__(
        self,
        db_path: Path,
        *,
        window: str = "15m",
        operator: str = "operator",
        engine_mode: EngineMode = "attached",
        settings: Settings | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.db_path = db_path
        self.set_reactive(NocWatchApp.window_s, WINDOWS_S[window])
        # The current UTC time in epoch ms for window figures; tests fix it for snapshots.
        self.clock = clock
        self.operator = operator
        self.engine_mode: EngineMode = engine_mode
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

    def action_shorter_window(self) -> None:
        """Switch to the next shorter statistics window."""
        self.window_s = step_window(self.window_s, -1)

    def action_longer_window(self) -> None:
        """Switch to the next longer statistics window."""
        self.window_s = step_window(self.window_s, +1)

    def action_help(self) -> None:
        """Show or hide the panel that lists every key."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
