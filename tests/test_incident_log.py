"""The incident log on the main screen, driven through Pilot against a real SQLite file."""

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot

from nocwatch_tui.console import app as app_module
from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.screens.confirm import ConfirmScreen
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.screens.note import NoteScreen
from nocwatch_tui.console.widgets.incident_log import IncidentFilter, IncidentTable
from nocwatch_tui.engine.incidents import (
    IncidentChange,
    IncidentEvent,
    Kind,
    OpenIncident,
    Severity,
    add_note,
    write_changes,
)
from nocwatch_tui.engine.settings import ConsoleSettings, Settings
from nocwatch_tui.engine.store import Store, now_ms

from conftest import wait_for
from console_data import make_console_database

# Incident ids of the fixture database, newest first: the open `down` one, the
# acknowledged `loss` one and the resolved `latency` one.
DOWN_ID = 3
LOSS_ID = 2
RESOLVED_ID = 1


def table_of(app: NocWatchApp) -> IncidentTable:
    return app.screen.query_one(IncidentTable)


def main_of(app: NocWatchApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen


def listed_ids(app: NocWatchApp) -> list[int]:
    return [int(str(key.value)) for key in table_of(app).rows]


def stored_acknowledgement(db: Path, incident_id: int) -> tuple[str | None, int | None]:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT acknowledged_by, acknowledged_at_ms FROM incidents WHERE id = ?",
            (incident_id,),
        ).fetchone()
    return row[0], row[1]


def stored_notes(db: Path, incident_id: int) -> str:
    with sqlite3.connect(db) as connection:
        return str(
            connection.execute(
                "SELECT notes FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()[0]
        )


async def loaded(pilot: Pilot[None], app: NocWatchApp) -> None:
    assert await wait_for(pilot, lambda: table_of(app).row_count == 3)


async def select(pilot: Pilot[None], app: NocWatchApp, incident_id: int) -> None:
    table = table_of(app)
    table.focus()
    table.move_cursor(row=table.get_row_index(str(incident_id)))
    await pilot.pause()


@pytest.fixture
def console_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db")


async def test_log_lists_incidents_newest_first(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)

        assert listed_ids(app) == [DOWN_ID, LOSS_ID, RESOLVED_ID]
        down = [str(cell) for cell in table_of(app).get_row(str(DOWN_ID))]
        assert down[0] == "●"
        assert down[2] == "down"
        assert down[5] == "2h30m"
        assert down[6] == "10 failed"
        assert down[7] == "—"
        loss = [str(cell) for cell in table_of(app).get_row(str(LOSS_ID))]
        assert loss[0] == "○"
        assert loss[7] == "alice"
        resolved = [str(cell) for cell in table_of(app).get_row(str(RESOLVED_ID))]
        assert resolved[0] == "✓"
        assert resolved[5] == "1h00m"
        assert resolved[6] == "640 ms"


async def test_key_a_acknowledges_selected(console_db: Path) -> None:
    app = NocWatchApp(console_db, operator="dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, DOWN_ID)
        before_ms = now_ms()

        await pilot.press("a")
        await pilot.pause()

        by, at_ms = stored_acknowledgement(console_db, DOWN_ID)
        assert by == "dana"
        assert at_ms is not None
        assert at_ms >= before_ms
        assert await wait_for(pilot, lambda: str(table_of(app).get_row(str(DOWN_ID))[0]) == "○")


async def test_key_a_greyed_when_not_applicable(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        screen = main_of(app)

        await select(pilot, app, DOWN_ID)
        assert screen.check_action("acknowledge", ()) is True
        await select(pilot, app, LOSS_ID)
        assert screen.check_action("acknowledge", ()) is None
        await select(pilot, app, RESOLVED_ID)
        assert screen.check_action("acknowledge", ()) is None
        assert screen.check_action("note", ()) is True

        await pilot.press("a")
        await pilot.pause()
        assert stored_acknowledgement(console_db, RESOLVED_ID) == (None, None)


async def test_capital_a_acknowledges_every_open_incident_after_confirmation(
    console_db: Path,
) -> None:
    app = NocWatchApp(console_db, operator="erin")
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)

        await pilot.press("A")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await pilot.pause()

        assert await wait_for(
            pilot, lambda: stored_acknowledgement(console_db, DOWN_ID)[0] == "erin"
        )
        assert stored_acknowledgement(console_db, LOSS_ID)[0] == "alice"
        assert stored_acknowledgement(console_db, RESOLVED_ID) == (None, None)
        assert main_of(app).check_action("acknowledge_all", ()) is None


async def test_capital_a_declined_acknowledges_nothing(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)

        await pilot.press("A")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()

        assert isinstance(app.screen, MainScreen)
        assert stored_acknowledgement(console_db, DOWN_ID) == (None, None)


async def test_o_adds_a_note_to_the_selected_incident(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await select(pilot, app, LOSS_ID)

        await pilot.press("o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press(*"isp ticket 4411")
        await pilot.press("enter")

        assert await wait_for(pilot, lambda: "isp ticket 4411" in stored_notes(console_db, LOSS_ID))
        assert isinstance(app.screen, MainScreen)


async def test_f_cycles_open_unacknowledged_and_all(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)

        await pilot.press("f")
        assert main_of(app).incident_filter is IncidentFilter.OPEN
        assert listed_ids(app) == [DOWN_ID, LOSS_ID]
        await pilot.press("f")
        assert main_of(app).incident_filter is IncidentFilter.UNACKNOWLEDGED
        assert listed_ids(app) == [DOWN_ID]
        await pilot.press("f")
        assert main_of(app).incident_filter is IncidentFilter.ALL
        assert listed_ids(app) == [DOWN_ID, LOSS_ID, RESOLVED_ID]


async def test_acknowledgement_in_one_console_shows_in_another(console_db: Path) -> None:
    first = NocWatchApp(console_db, operator="frank")
    second = NocWatchApp(console_db, operator="grace")
    async with (
        first.run_test(size=(80, 24)) as first_pilot,
        second.run_test(size=(80, 24)) as second_pilot,
    ):
        await loaded(first_pilot, first)
        await loaded(second_pilot, second)
        await select(first_pilot, first, DOWN_ID)

        await first_pilot.press("a")
        await first_pilot.pause()

        def shown_in_second() -> bool:
            return str(table_of(second).get_row(str(DOWN_ID))[7]) == "frank"

        assert await wait_for(second_pilot, shown_in_second, attempts=20)


async def add_critical_incident(db: Path) -> None:
    store = await Store.open(db)
    try:
        ids = {stored.target.name: stored.id for stored in await store.list_targets()}
        live = OpenIncident(ids["idle"], "idle", Kind.DOWN, Severity.CRITICAL, now_ms(), 3.0)
        change = IncidentChange(IncidentEvent.OPENED, live, live.severity, 3.0, now_ms())
        await write_changes(store, [change])
    finally:
        await store.close()


class BellCountingApp(NocWatchApp):
    """The console, counting bells instead of ringing them."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def __init__(self, db_path: Path, settings: Settings) -> None:
        super().__init__(db_path, settings=settings)
        self.bells = 0

    def bell(self) -> None:
        self.bells += 1


@pytest.mark.parametrize(("bell_on", "expected"), [(True, 1), (False, 0)])
async def test_new_critical_incident_rings_once(
    console_db: Path, bell_on: bool, expected: int
) -> None:
    app = BellCountingApp(console_db, Settings(console=ConsoleSettings(bell=bell_on)))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert app.bells == 0

        await add_critical_incident(console_db)
        assert await wait_for(pilot, lambda: table_of(app).row_count == 4)
        await note_from_elsewhere(console_db)
        assert await wait_for(pilot, lambda: any(i.notes for i in main_of(app).incidents))

        assert app.bells == expected


async def note_from_elsewhere(db: Path) -> None:
    """Change an incident, so that the console reads the list again."""
    store = await Store.open(db)
    try:
        await add_note(store, DOWN_ID, "seen from another console")
    finally:
        await store.close()
