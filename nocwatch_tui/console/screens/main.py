"""The main screen: summary bar, target grid, incident log and footer."""

import logging
import sqlite3
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from nocwatch_tui.console.feed import run_feed
from nocwatch_tui.console.messages import (
    EngineStatusRead,
    IncidentsRead,
    SamplesRead,
    TargetsRead,
)
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.screens.confirm import ConfirmScreen
from nocwatch_tui.console.screens.note import NoteScreen
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.incident_log import IncidentFilter, IncidentLog
from nocwatch_tui.console.widgets.summary_bar import SummaryBar, engine_mode
from nocwatch_tui.engine import incidents as incident_store
from nocwatch_tui.engine.incidents import Incident, Severity
from nocwatch_tui.engine.store import EngineLease, EngineStatus, Store, now_ms
from nocwatch_tui.engine.windows import window_label
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.console")


class MainScreen(Screen[None]):
    """Shows every target and incident live, fed by the database feed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", _("Ack"), id="acknowledge"),
        Binding("A", "acknowledge_all", _("Ack all"), id="acknowledge_all"),
        Binding("o", "note", _("Note"), id="note"),
        Binding("f", "cycle_incident_filter", _("Filter"), id="incident_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[int, TargetView] = {}
        self.engine: EngineStatus | None = None
        self.incidents: list[Incident] = []
        self.incident_filter = IncidentFilter.ALL
        self._incidents_loaded = False
        self._belled: set[int] = set()
        self.lease: EngineLease | None = None

    def compose(self) -> ComposeResult:
        yield SummaryBar(id="summary")
        yield TargetGrid(id="grid")
        yield IncidentLog(id="incident-log")
        yield Footer()

    def on_mount(self) -> None:
        from nocwatch_tui.console.app import NocWatchApp

        app = self.app
        assert isinstance(app, NocWatchApp)
        self.run_worker(run_feed(app.store, app.window_s, self), exclusive=True, name="feed")
        self.set_interval(1.0, self._tick)
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
    def _operator(self) -> str:
        return str(getattr(self.app, "operator", "operator"))

    def _sorted_views(self) -> list[TargetView]:
        return sorted(self.views.values(), key=lambda view: view.stored.target.name.casefold())

    # Feed

    @on(TargetsRead)
    def _targets_read(self, message: TargetsRead) -> None:
        old = self.views
        self.views = {}
        for stored in message.targets:
            view = old.get(stored.id) or TargetView(stored)
            view.stored = stored
            self.views[stored.id] = view
        self._apply_open_kinds()
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

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
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
        self.refresh_bindings()

    def _replace_incident(self, updated: Incident) -> None:
        self.incidents = [updated if i.id == updated.id else i for i in self.incidents]
        self._show_incidents()

    def _tick(self) -> None:
        since_ms = now_ms() - self._window_s * 1000
        grid = self.query_one(TargetGrid)
        for view in self.views.values():
            if view.trim(since_ms):
                grid.refresh_target(view)
        self.query_one(IncidentLog).tick(now_ms())

    def _refresh_summary(self) -> None:
        stamp = now_ms()
        mode = engine_mode(self.lease, getattr(self.app, "engine_pid", None), stamp)
        self.query_one(SummaryBar).show(
            window_label(self._window_s),
            [view.status for view in self.views.values()],
            self.engine,
            mode,
            stamp,
        )

    def on_resize(self) -> None:
        self.query_one(TargetGrid).build(self._sorted_views())
        if self._incidents_loaded:
            self._show_incidents()

    # Incident actions

    @property
    def selected_incident(self) -> Incident | None:
        """Return the incident under the incident log's cursor."""
        return self.query_one(IncidentLog).selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out the incident keys that have nothing to act on."""
        if not self.is_mounted:
            return True
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
