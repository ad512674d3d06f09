"""The main screen: summary bar, target grid, window panels and footer."""

from textual import on
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from nocwatch_tui.console.feed import run_feed
from nocwatch_tui.console.messages import (
    EngineStatusRead,
    SamplesRead,
    TargetsRead,
    WindowStatsRead,
)
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.screens.detail import DetailScreen
from nocwatch_tui.console.stats_feed import run_window_stats
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.console.widgets.window_panels import WindowPanels
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.store import EngineStatus, now_ms
from nocwatch_tui.engine.windows import window_label

WIDE_FROM = 150
"""Terminal width from which the window panels sit beside the grid instead of below it."""


class MainScreen(Screen[None]):
    """Shows every target live, fed by the database feed."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[int, TargetView] = {}
        # The latest window statistics, kept for targets whose rows come later.
        self.window_stats: dict[int, WindowStats] = {}
        self.engine: EngineStatus | None = None

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        with Container(id="body"):
            yield TargetGrid(id="grid")
            yield WindowPanels(id="panels")
        yield Footer()

    def on_mount(self) -> None:
        from nocwatch_tui.console.app import NocWatchApp

        app = self.app
        assert isinstance(app, NocWatchApp)
        self.run_worker(run_feed(app.store, self), exclusive=True, name="feed")
        self._start_window_stats()
        self.watch(app, "window_s", self._window_changed, init=False)
        self._refresh_summary()

    @property
    def _window_s(self) -> int:
        return int(getattr(self.app, "window_s", 900))

    def _sorted_views(self) -> list[TargetView]:
        return sorted(self.views.values(), key=lambda view: view.stored.target.name.casefold())

    @on(TargetsRead)
    def _targets_read(self, message: TargetsRead) -> None:
        old = self.views
        self.views = {}
        for stored in message.targets:
            view = old.get(stored.id) or TargetView(stored)
            view.stored = stored
            view.stats = self.window_stats.get(stored.id)
            self.views[stored.id] = view
        self.query_one(TargetGrid).build(self._sorted_views())
        self._show_window_stats()
        self._refresh_summary()

    @on(SamplesRead)
    def _samples_read(self, message: SamplesRead) -> None:
        changed: set[int] = set()
        for record in message.records:
            view = self.views.get(record.sample.target_id)
            if view is not None:
                view.add(record.sample)
                changed.add(record.sample.target_id)
        grid = self.query_one(TargetGrid)
        for target_id in changed:
            grid.refresh_target(self.views[target_id])
        if changed:
            self._refresh_summary()

    @on(EngineStatusRead)
    def _engine_status_read(self, message: EngineStatusRead) -> None:
        self.engine = message.status
        self._refresh_summary()

    # Window statistics and panels

    def _start_window_stats(self) -> None:
        from nocwatch_tui.console.app import NocWatchApp

        app = self.app
        assert isinstance(app, NocWatchApp)
        raw_days = app.settings.retention.raw_days
        self.run_worker(
            run_window_stats(app.store, app.window_s, app.clock, raw_days, self),
            exclusive=True,
            group="window-stats",
            name="window-stats",
        )

    @property
    def _settings(self) -> Settings:
        settings = getattr(self.app, "settings", None)
        return settings if isinstance(settings, Settings) else Settings()

    def _window_changed(self) -> None:
        self.window_stats = {}
        for view in self.views.values():
            view.stats = None
        self._show_window_stats()
        self._refresh_summary()
        self._start_window_stats()

    @on(WindowStatsRead)
    def _window_stats_read(self, message: WindowStatsRead) -> None:
        if message.window_s != self._window_s:
            return
        self.window_stats = message.stats
        for target_id, stats in message.stats.items():
            view = self.views.get(target_id)
            if view is not None:
                view.stats = stats
        self._show_window_stats()

    def _show_window_stats(self) -> None:
        grid = self.query_one(TargetGrid)
        for view in self.views.values():
            grid.refresh_target(view)
        self.query_one(WindowPanels).show(
            self._sorted_views(), self._settings.thresholds, window_label(self._window_s)
        )

    # Target detail

    @on(DataTable.RowSelected, "#grid")
    def _row_selected(self) -> None:
        self.action_open_detail()

    def action_open_detail(self) -> None:
        """Open the detail screen of the target under the grid's cursor."""
        grid = self.query_one(TargetGrid)
        if not grid.row_count:
            return
        row_key, _column = grid.coordinate_to_cell_key(grid.cursor_coordinate)
        if row_key.value is not None:
            self.app.push_screen(DetailScreen(int(row_key.value)))

    def _refresh_summary(self) -> None:
        self.query_one(SummaryBar).show(
            window_label(self._window_s),
            [view.status for view in self.views.values()],
            self.engine,
            getattr(self.app, "engine_mode", "attached"),
            now_ms(),
        )

    def on_resize(self) -> None:
        self.query_one(TargetGrid).build(self._sorted_views())
