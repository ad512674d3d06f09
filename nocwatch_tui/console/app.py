"""The NOC Watch Textual application."""

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from nocwatch_tui.console.keymap import binding_ids, unknown_binding_ids
from nocwatch_tui.console.screens.detail import DetailScreen
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.screens.wall import WallScreen
from nocwatch_tui.console.themes import DEFAULT_THEME, ThemeSet, default_theme_folders, load_themes
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.windows import WINDOWS_S, step_window
from nocwatch_tui.i18n import _

PROBLEM_TIMEOUT_S = 15.0

log = logging.getLogger("nocwatch.console")


def keymap_problems(keymap: Mapping[str, str]) -> list[str]:
    """Return one message per keymap entry whose binding id no console binding has."""
    owners = (NocWatchApp, MainScreen, WallScreen, TargetGrid, DetailScreen)
    known = ", ".join(sorted(binding_ids(owners)))
    return [
        _("keymap: no binding has the id {id!r}; known ids: {known}").format(
            id=binding_id, known=known
        )
        for binding_id in unknown_binding_ids(keymap, owners)
    ]


class NocWatchApp(App[None]):
    """The console; it reads everything from the database at `db_path`."""

    CSS_PATH = "app.tcss"
    TITLE = "NOC Watch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", _("Quit"), id="quit"),
        Binding("question_mark", "help", _("Help"), id="help"),
        Binding("w", "wall", _("Wall"), id="wall"),
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
        engine_pid: int | None = None,
        settings: Settings | None = None,
        clock: Callable[[], int] = now_ms,
        theme: str | None = None,
        theme_folders: Iterable[Path] | None = None,
        wall: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.db_path = db_path
        self.set_reactive(NocWatchApp.window_s, WINDOWS_S[window])
        # The current UTC time in epoch ms for window figures; tests fix it for snapshots.
        self.clock = clock
        self.operator = operator
        # The process id of the engine this console started, or None when it
        # attaches to an engine that another process started.
        self.engine_pid = engine_pid
        self.start_theme = theme or self.settings.console.theme
        self.theme_folders = (
            list(theme_folders) if theme_folders is not None else default_theme_folders()
        )
        self.start_in_wall = wall
        self.loaded_themes = ThemeSet()
        self._store: Store | None = None
        self._main: MainScreen | None = None

    @property
    def store(self) -> Store:
        """Return the app's database connection, open from mount to unmount."""
        assert self._store is not None, "the store opens when the app mounts"
        return self._store

    async def on_mount(self) -> None:
        # SIGTERM or a hang-up quits like `q`, so the terminal is restored and
        # the console's own engine is stopped after writing its samples.
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signal_number, self.exit)
        self._apply_themes()
        self._apply_keymap()
        self._store = await Store.open(self.db_path, create=False)
        self._main = MainScreen()
        await self.push_screen(self._main)
        if self.start_in_wall:
            self.action_wall()

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

    def _apply_themes(self) -> None:
        """Register every theme file that loads, report the others, and choose the first theme."""
        self.loaded_themes = load_themes(self.theme_folders)
        for theme in self.loaded_themes.themes.values():
            self.register_theme(theme)
        for problem in self.loaded_themes.problems:
            self.notify(
                problem,
                title=_("Theme file skipped"),
                severity="error",
                timeout=PROBLEM_TIMEOUT_S,
                markup=False,
            )

        name = self.start_theme
        if name not in self.available_themes:
            fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
            message = _("theme {name!r} is not available; using {fallback!r}").format(
                name=name, fallback=fallback
            )
            log.warning("%s", message)
            self.notify(message, severity="warning", timeout=PROBLEM_TIMEOUT_S, markup=False)
            name = fallback
        self.theme = name

    def _apply_keymap(self) -> None:
        """Remap bindings from the settings' keymap, reporting ids that no binding has."""
        keymap = dict(self.settings.keymap)
        for message in keymap_problems(keymap):
            log.warning("%s", message)
            self.notify(message, severity="error", timeout=PROBLEM_TIMEOUT_S, markup=False)
        if keymap:
            self.set_keymap(keymap)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the wall key while the wall display is already shown."""
        if action == "wall" and isinstance(self.screen, WallScreen):
            return None
        return True

    def action_wall(self) -> None:
        """Show the wall display over the main screen."""
        main = self._main
        if main is None or isinstance(self.screen, WallScreen):
            return
        self.push_screen(
            WallScreen(
                views=lambda: list(main.views.values()),
                incidents=lambda: main.incidents,
                engine=lambda: main.engine,
                page_s=self.settings.console.wall_page_s,
                mode=main.current_engine_mode,
            )
        )

    def action_help(self) -> None:
        """Show or hide the panel that lists every key."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()
