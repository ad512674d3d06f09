"""The main screen: summary bar, target grid and footer."""

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from nocwatch_tui.console.feed import run_feed
from nocwatch_tui.console.messages import EngineStatusRead, SamplesRead, TargetsRead
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.engine.store import EngineStatus, now_ms
from nocwatch_tui.engine.windows import window_label


class MainScreen(Screen[None]):
    """Shows every target live, fed by the database feed."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[int, TargetView] = {}
        self.engine: EngineStatus | None = None

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        yield TargetGrid(id="grid")
        yield Footer()

    def on_mount(self) -> None:
        from nocwatch_tui.console.app import NocWatchApp

        app = self.app
        assert isinstance(app, NocWatchApp)
        self.run_worker(run_feed(app.store, app.window_s, self), exclusive=True, name="feed")
        self.set_interval(1.0, self._expire_window)
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
            self.views[stored.id] = view
        self.query_one(TargetGrid).build(self._sorted_views())
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

    def _expire_window(self) -> None:
        since_ms = now_ms() - self._window_s * 1000
        grid = self.query_one(TargetGrid)
        for view in self.views.values():
            if view.trim(since_ms):
                grid.refresh_target(view)

    def _refresh_summary(self) -> None:
        self.query_one(SummaryBar).show(
            window_label(self._window_s),
            [view.status for view in self.views.values()],
            self.engine,
            getattr(self.app, "engine_mode", "attached"),
            now_ms(),
        )

    def on_resize(self) -> None:
        self.query_one(TargetGrid).resize_columns(self._sorted_views())
