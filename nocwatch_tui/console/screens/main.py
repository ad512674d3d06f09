"""The main screen: summary bar, filter, target grid, window panels, incident log and footer."""

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Input

from nocwatch_tui.console.feed import run_feed
from nocwatch_tui.console.messages import (
    EngineStatusRead,
    IncidentsRead,
    ProbeTested,
    SamplesRead,
    TargetsRead,
    WindowStatsRead,
)
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.probe_once import show_probe_result, start_test_probe
from nocwatch_tui.console.screens.confirm import ConfirmScreen
from nocwatch_tui.console.screens.confirm_delete import ConfirmDelete, DeleteChoice
from nocwatch_tui.console.screens.detail import DetailScreen
from nocwatch_tui.console.screens.mute import MuteChoice, MuteDialog
from nocwatch_tui.console.screens.note import NoteScreen
from nocwatch_tui.console.screens.target_form import TargetForm, blank_target
from nocwatch_tui.console.stats_feed import run_window_stats
from nocwatch_tui.console.view_order import SortKey, next_sort, ordered, sort_label
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.incident_log import IncidentFilter, IncidentLog
from nocwatch_tui.console.widgets.key_footer import KeyFooter
from nocwatch_tui.console.widgets.summary_bar import EngineMode, SummaryBar, engine_mode
from nocwatch_tui.console.widgets.window_panels import WindowPanels
from nocwatch_tui.engine import incidents as incident_store
from nocwatch_tui.engine.incidents import Incident, Severity
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.store import (
    EngineLease,
    EngineStatus,
    Store,
    StoredTarget,
    StoreError,
    now_ms,
)
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.engine.windows import window_label
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.console")

# Actions that act on the selected target, greyed out when there is none.
TARGET_ACTIONS = frozenset(
    {"edit_target", "clone_target", "delete_target", "pause_target", "mute_target", "test_target"}
)
MAX_NAME_CHARS = 100


def clone_name(name: str, taken_names: set[str]) -> str:
    """Return a free name for a copy of the target called `name`."""
    for number in range(1, 1000):
        suffix = _(" copy") if number == 1 else _(" copy {number}").format(number=number)
        candidate = name[: MAX_NAME_CHARS - len(suffix)] + suffix
        if candidate not in taken_names:
            return candidate
    return name


WIDE_FROM = 150
"""Terminal width from which the window panels sit beside the grid; below it, `g` shows them."""


class MainScreen(Screen[None]):
    """Shows every target and incident live, and changes targets and incidents from keys."""

    # At 80 columns the footer has room for about a dozen keys; the others are listed by `?`.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_target", _("New"), id="target.new"),
        Binding("e", "edit_target", _("Edit"), id="target.edit"),
        Binding("c", "clone_target", _("Copy"), id="target.clone", show=False),
        Binding("d", "delete_target", _("Del"), id="target.delete"),
        Binding("p", "pause_target", _("Pause"), id="target.pause"),
        Binding("m", "mute_target", _("Mute"), id="target.mute"),
        Binding("t", "test_target", _("Test"), id="target.test"),
        Binding("slash", "filter", _("Filter"), id="grid.filter"),
        Binding("s", "cycle_sort", _("Sort"), id="grid.sort"),
        Binding("escape", "clear_filter", _("Clear filter"), id="grid.clear_filter", show=False),
        Binding("a", "acknowledge", _("Ack"), id="acknowledge"),
        Binding("A", "acknowledge_all", _("Ack all"), id="acknowledge_all", show=False),
        Binding("o", "note", _("Note"), id="note", show=False),
        Binding("f", "cycle_incident_filter", _("Incidents"), id="incident_filter", show=False),
        Binding("g", "toggle_panels", _("Panels"), id="panels", show=False),
    ]

    AUTO_FOCUS = "#grid"

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[int, TargetView] = {}
        # The latest window statistics, kept for targets whose rows come later.
        self.window_stats: dict[int, WindowStats] = {}
        self.engine: EngineStatus | None = None
        self.sort_key = SortKey.NAME
        self.filter_text = ""
        # A target just added, for the cursor to move to once the grid shows it.
        self._select_next: int | None = None
        self.incidents: list[Incident] = []
        self.incident_filter = IncidentFilter.ALL
        self._incidents_loaded = False
        self._belled: set[int] = set()
        self.lease: EngineLease | None = None

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        filter_field = Input(
            placeholder=_("/ filter by name, URL or tag; escape clears"), id="filter", compact=True
        )
        filter_field.display = False
        yield filter_field
        with Container(id="body"):
            yield TargetGrid(id="grid")
            yield WindowPanels(id="panels")
        yield IncidentLog(id="incident-log")
        yield KeyFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.run_worker(run_feed(self._store, self), exclusive=True, name="feed")
        self.set_interval(1.0, self._tick)
        # Cells carry colours resolved from the theme, so a theme switch redraws them.
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._refresh_summary()

        self._start_window_stats()
        self.watch(self.app, "window_s", self._window_changed, init=False)
        self._refresh_summary()

    def _theme_changed(self, _theme: Theme) -> None:
        self.query_one(TargetGrid).build(self._sorted_views(), self.sort_key)
        self._show_incidents()
        self._refresh_summary()

    @property
    def _window_s(self) -> int:
        return int(getattr(self.app, "window_s", 900))

    @property
    def _store(self) -> Store:
        store = getattr(self.app, "store", None)
        assert isinstance(store, Store)
        return store

    @property
    def _settings(self) -> Settings:
        settings = getattr(self.app, "settings", None)
        return settings if isinstance(settings, Settings) else Settings()

    @property
    def _operator(self) -> str:
        return str(getattr(self.app, "operator", "operator"))

    def _sorted_views(self) -> list[TargetView]:
        return ordered(self.views.values(), self.sort_key, self.filter_text)

    def _rebuild_grid(self) -> None:
        self.query_one(TargetGrid).build(self._sorted_views(), self.sort_key)
        self.refresh_bindings()

    def _selected(self) -> StoredTarget | None:
        target_id = self.query_one(TargetGrid).selected_id()
        view = None if target_id is None else self.views.get(target_id)
        return None if view is None else view.stored

    # Feed

    @on(TargetsRead)
    def _targets_read(self, message: TargetsRead) -> None:
        old = self.views
        self.views = {}
        for stored in message.targets:
            view = old.get(stored.id) or TargetView(stored)
            view.stored = stored
            view.stats = self.window_stats.get(stored.id)
            self.views[stored.id] = view
        self._apply_open_kinds()
        self._rebuild_grid()
        self._show_panels()
        if self._select_next is not None and self._select_next in self.views:
            self.query_one(TargetGrid).select_target(self._select_next)
            self._select_next = None
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

    @on(IncidentsRead)
    def _incidents_read(self, message: IncidentsRead) -> None:
        self.incidents = message.incidents
        self._ring_for_new_critical()
        grid = self.query_one(TargetGrid)
        for view in self._apply_open_kinds():
            grid.refresh_target(view)
        self._show_incidents()
        self._refresh_summary()

    @on(EngineStatusRead)
    def _engine_status_read(self, message: EngineStatusRead) -> None:
        self.engine = message.status
        self.lease = message.lease
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
        self._show_panels()

    def _show_panels(self) -> None:
        self.query_one(WindowPanels).show(
            self._sorted_views, self._settings.thresholds, window_label(self._window_s)
        )

    def action_toggle_panels(self) -> None:
        """Show or hide the p95 and loss panels below the grid; wide terminals always show them."""
        self.toggle_class("-show-panels")

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

    @on(DataTable.RowHighlighted, "IncidentTable")
    def _incident_highlighted(self) -> None:
        # Only the incident keys depend on the highlighted row. The target keys depend on
        # whether the grid has rows at all, so `_rebuild_grid` refreshes them. Refreshing
        # on grid rows too would recompute the footer's keys at every cursor move.
        self.refresh_bindings()

    def _apply_open_kinds(self) -> list[TargetView]:
        """Give each target the kinds of its open incidents; return the targets that changed."""
        kinds: dict[int, set[str]] = {}
        for incident in self.incidents:
            if incident.is_open:
                kinds.setdefault(incident.target_id, set()).add(incident.kind)
        changed = []
        for target_id, view in self.views.items():
            open_kinds = frozenset(kinds.get(target_id, set()))
            if open_kinds != view.open_kinds:
                view.open_kinds = open_kinds
                changed.append(view)
        return changed

    def _ring_for_new_critical(self) -> None:
        """Ring the bell once per incident that turns critical after the console started."""
        critical = {
            incident.id
            for incident in self.incidents
            if incident.is_open and incident.severity is Severity.CRITICAL
        }
        new = critical - self._belled
        self._belled |= critical
        if not self._incidents_loaded:
            self._incidents_loaded = True
            return
        settings = getattr(self.app, "settings", None)
        if new and (settings is None or settings.console.bell):
            self.app.bell()

    def _show_incidents(self) -> None:
        self.query_one(IncidentLog).show(self.incidents, self.incident_filter, now_ms())
        # KeyFooter rebuilds only when this changes which keys it shows.
        self.refresh_bindings()

    def _replace_incident(self, updated: Incident) -> None:
        self.incidents = [updated if i.id == updated.id else i for i in self.incidents]
        self._show_incidents()

    def _tick(self) -> None:
        """Count mute time down and re-sort when the order has changed."""
        grid = self.query_one(TargetGrid)
        for view in self.views.values():
            if view.stored.muted_until_ms is not None:
                grid.refresh_target(view)
        expected_order = [view.stored.id for view in self._sorted_views()]
        if expected_order != grid.row_order():
            self._rebuild_grid()
        self.query_one(IncidentLog).tick(now_ms())

    def current_engine_mode(self, at_ms: int) -> EngineMode | None:
        """Tell whether this console owns the engine holding the lease, is attached, or neither."""
        return engine_mode(self.lease, getattr(self.app, "engine_pid", None), at_ms)

    def _refresh_summary(self) -> None:
        stamp = now_ms()
        mode = self.current_engine_mode(stamp)
        self.query_one(SummaryBar).show(
            window_label(self._window_s),
            [view.status for view in self.views.values()],
            self.engine,
            mode,
            stamp,
        )

    def on_resize(self) -> None:
        # The grid resizes its own columns (TargetGrid.on_resize).
        if self._incidents_loaded:
            self._show_incidents()

    async def _reload_targets(self) -> None:
        """Show a change at once rather than at the feed's next poll."""
        self.post_message(TargetsRead(await self._store.list_targets()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out the target and incident keys that have nothing to act on."""
        if not self.is_mounted:
            return True
        if action in TARGET_ACTIONS:
            return True if self._selected() is not None else None
        if action == "clear_filter":
            return self.query_one("#filter", Input).display
        return self._check_incident_action(action)

    # Target actions

    def _names(self, leaving_out: int | None = None) -> set[str]:
        return {
            view.stored.target.name
            for target_id, view in self.views.items()
            if target_id != leaving_out
        }

    async def _open(
        self, screen: Screen[Any], callback: Callable[[Any], Awaitable[None]] | None = None
    ) -> None:
        """Push a dialog and wait until it is mounted, so keys typed at once reach it."""
        await self.app.push_screen(screen, callback)

    def _failed(self, change: str, stored: StoredTarget, error: StoreError) -> None:
        log.warning("%s of %r failed: %s", change, stored.target.name, error)
        self.notify(str(error), severity="error", markup=False)

    async def _add_target(self, target: Target) -> None:
        self._select_next = await self._store.add_target(target)
        log.info("added %r", target.name)
        await self._reload_targets()
        self.notify(_("Added {name}").format(name=target.name), markup=False)

    async def action_new_target(self) -> None:
        """Open the form for a new target."""
        values = blank_target(self._settings.defaults)
        await self._open(TargetForm(_("New target"), values, self._names(), self._add_target))

    async def action_edit_target(self) -> None:
        """Open the form on the selected target."""
        stored = self._selected()
        if stored is None:
            return

        async def save(target: Target) -> None:
            await self._store.update_target(stored.id, target)
            log.info("changed %r", target.name)
            await self._reload_targets()
            self.notify(_("Saved {name}").format(name=target.name), markup=False)

        title = _("Edit {name}").format(name=stored.target.name)
        form = TargetForm(title, stored.target.model_dump(), self._names(stored.id), save)
        await self._open(form)

    async def action_clone_target(self) -> None:
        """Open the form on a copy of the selected target, under a new name."""
        stored = self._selected()
        if stored is None:
            return
        values = stored.target.model_dump()
        values["name"] = clone_name(stored.target.name, self._names())
        title = _("Copy of {name}").format(name=stored.target.name)
        await self._open(TargetForm(title, values, self._names(), self._add_target))

    async def action_delete_target(self) -> None:
        """Ask, then delete the selected target."""
        stored = self._selected()
        if stored is None:
            return

        async def confirmed(choice: DeleteChoice | None) -> None:
            if choice is None:
                return
            try:
                await self._store.delete_target(stored.id, keep_samples=choice.keep_samples)
            except StoreError as error:
                self._failed("delete", stored, error)
                return
            log.info("deleted %r (samples kept: %s)", stored.target.name, choice.keep_samples)
            await self._reload_targets()
            self.notify(_("Deleted {name}").format(name=stored.target.name), markup=False)

        await self._open(ConfirmDelete(stored.target.name), confirmed)

    async def action_pause_target(self) -> None:
        """Pause the selected target, or resume it when paused."""
        stored = self._selected()
        if stored is None:
            return
        try:
            await self._store.set_paused(stored.id, not stored.paused)
        except StoreError as error:
            self._failed("pause", stored, error)
            return
        log.info("%s %r", "resumed" if stored.paused else "paused", stored.target.name)
        await self._reload_targets()
        message = _("Resumed {name}") if stored.paused else _("Paused {name}; p resumes it")
        self.notify(message.format(name=stored.target.name), markup=False)

    async def action_mute_target(self) -> None:
        """Mute the selected target for a while, or unmute it."""
        stored = self._selected()
        if stored is None:
            return

        async def chosen(choice: MuteChoice | None) -> None:
            if choice is None:
                return
            try:
                await self._store.set_muted_until(stored.id, choice.until_ms)
            except StoreError as error:
                self._failed("mute", stored, error)
                return
            log.info("muted %r until %s", stored.target.name, choice.until_ms)
            await self._reload_targets()
            if choice.until_ms is None:
                self.notify(_("Unmuted {name}").format(name=stored.target.name), markup=False)
            else:
                self.notify(_("Muted {name}").format(name=stored.target.name), markup=False)

        muted = stored.muted_at(now_ms())
        await self._open(MuteDialog(stored.target.name, muted), chosen)

    def action_test_target(self) -> None:
        """Probe the selected target once now and show the outcome."""
        stored = self._selected()
        if stored is not None:
            start_test_probe(self, stored.target)

    @on(ProbeTested)
    def _probe_tested(self, message: ProbeTested) -> None:
        show_probe_result(self, message)

    # Incident actions

    @property
    def selected_incident(self) -> Incident | None:
        """Return the incident under the incident log's cursor."""
        return self.query_one(IncidentLog).selected

    async def action_acknowledge(self) -> None:
        """Acknowledge the selected incident as the console's operator."""
        selected = self.selected_incident
        if selected is None or selected.is_acknowledged:
            return
        try:
            updated, _done = await incident_store.acknowledge(
                self._store, selected.id, self._operator, now_ms()
            )
        except sqlite3.Error as error:
            self._write_failed(selected.id, error)
            return
        self._replace_incident(updated)
        self.notify(_("Incident {id} acknowledged").format(id=updated.id))

    def action_acknowledge_all(self) -> None:
        """Ask, then acknowledge every open incident that is not acknowledged yet."""
        count = sum(1 for i in self.incidents if i.is_open and not i.is_acknowledged)
        if not count:
            return
        question = _("Acknowledge {count} open incident(s) as {operator}?").format(
            count=count, operator=self._operator
        )
        self.app.push_screen(ConfirmScreen(question), self._acknowledge_all_confirmed)

    async def _acknowledge_all_confirmed(self, confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            done = await incident_store.acknowledge_open(self._store, self._operator, now_ms())
            self.incidents = await incident_store.list_incidents(
                self._store, recent_limit=incident_store.RECENT_LIMIT
            )
        except sqlite3.Error as error:
            self._write_failed(None, error)
            return
        self._show_incidents()
        self.notify(_("{count} incident(s) acknowledged").format(count=len(done)))

    def action_note(self) -> None:
        """Ask for a note and add it to the selected incident."""
        selected = self.selected_incident
        if selected is None:
            return
        title = _("Note on incident {id} ({target}, {kind})").format(
            id=selected.id, target=selected.target, kind=_(str(selected.kind))
        )

        async def add(note: str | None) -> None:
            if not note:
                return
            try:
                updated = await incident_store.add_note(self._store, selected.id, note)
            except sqlite3.Error as error:
                self._write_failed(selected.id, error)
                return
            self._replace_incident(updated)

        self.app.push_screen(NoteScreen(title), add)

    def _write_failed(self, incident_id: int | None, error: sqlite3.Error) -> None:
        """Tell the operator that a change was not saved, and log why."""
        log.error("writing incident %s failed: %s", incident_id or "changes", error)
        self.notify(
            _("The database rejected the change: {error}. Try again.").format(error=error),
            severity="error",
        )

    def action_cycle_incident_filter(self) -> None:
        """Show open, then unacknowledged, then all incidents."""
        self.incident_filter = self.incident_filter.next()
        self._show_incidents()

    def _check_incident_action(self, action: str) -> bool | None:
        selected = self.selected_incident
        if action == "acknowledge":
            applies = selected is not None and selected.is_open and not selected.is_acknowledged
            return True if applies else None
        if action == "acknowledge_all":
            applies = any(i.is_open and not i.is_acknowledged for i in self.incidents)
            return True if applies else None
        if action == "note":
            return True if selected is not None else None
        return True

    # Filter and sort

    def action_filter(self) -> None:
        """Show the filter field and type into it."""
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter, showing every target again."""
        field = self.query_one("#filter", Input)
        field.value = ""
        field.display = False
        self.filter_text = ""
        self._rebuild_grid()
        self.query_one(TargetGrid).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._rebuild_grid()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        if not self.filter_text.strip():
            self.action_clear_filter()
            return
        self.query_one(TargetGrid).focus()

    def action_cycle_sort(self) -> None:
        """Sort the grid by the next column: name, status, latency, p95, loss."""
        self.sort_key = next_sort(self.sort_key)
        self._rebuild_grid()
        self.notify(_("Sorted by {key}").format(key=sort_label(self.sort_key)), timeout=2)
