"""Incidents end to end: the engine against the lab, restarts, and `nocwatch incidents`."""

import asyncio
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from nocwatch_tui.engine.incidents import (
    IncidentChange,
    IncidentEvent,
    Kind,
    OpenIncident,
    Severity,
    acknowledge,
    add_note,
    get_incident,
    list_incidents,
    open_incidents,
    write_changes,
)
from nocwatch_tui.engine.runtime import Engine
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab

from conftest import run_nocwatch, wait_until

INCIDENT_FIELDS = {
    "id",
    "target",
    "kind",
    "severity",
    "opened_at",
    "peak_value",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "notes",
}


def fast_target(name: str, url: str) -> Target:
    return Target(name=name, url=url, interval_s=0.2, timeout_s=0.15)


async def run_engine_until(
    db_path: Path, condition: Callable[[Store], Awaitable[bool]], timeout_s: float = 15.0
) -> bool:
    """Run an engine on the database until the condition holds; return whether it did."""
    store = await Store.open(db_path)
    stop = asyncio.Event()
    task = asyncio.create_task(Engine(store, Settings()).run(stop))
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await condition(store):
                return True
            await asyncio.sleep(0.1)
        return await condition(store)
    finally:
        stop.set()
        await task
        await store.close()


def down_incidents(db_path: Path, target: str) -> list[tuple[int, int | None]]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT id, resolved_at_ms FROM incidents WHERE target_name = ? AND kind = 'down'",
            (target,),
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def incident_rows_once_migrated(db_path: Path) -> int | None:
    """Count the incident rows, or return None while the database is not migrated yet."""
    try:
        return len(down_incidents(db_path, "failing"))
    except sqlite3.OperationalError:
        return None


def sample_count(db_path: Path) -> int:
    with sqlite3.connect(db_path) as connection:
        return int(connection.execute("SELECT count(*) FROM samples").fetchone()[0])


async def has_open_down(store: Store) -> bool:
    return any(incident.kind is Kind.DOWN for incident in await open_incidents(store))


@pytest.fixture
def lab_urls() -> Iterator[dict[str, str]]:
    """Run the lab in its own thread, for tests that are not coroutines."""
    ready = threading.Event()
    urls: dict[str, str] = {}
    loop = asyncio.new_event_loop()
    stopping: asyncio.Event | None = None

    async def serve() -> None:
        nonlocal stopping
        stopping = asyncio.Event()
        async with Lab(["failing", "steady"]) as running:
            urls.update(running.urls)
            ready.set()
            await stopping.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield urls
    assert stopping is not None
    loop.call_soon_threadsafe(stopping.set)
    thread.join(10)


async def test_engine_opens_down_for_failing(lab: Lab, db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.add_targets([fast_target("failing", lab.urls["failing"])])
    await store.close()

    assert await run_engine_until(db_path, has_open_down)

    incidents = down_incidents(db_path, "failing")
    assert len(incidents) == 1
    assert incidents[0][1] is None


async def test_deleting_target_resolves_its_incident(lab: Lab, db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.add_targets(
        [fast_target("failing", lab.urls["failing"]), fast_target("steady", lab.urls["steady"])]
    )
    store_targets = {stored.target.name: stored.id for stored in await store.list_targets()}
    await store.close()
    assert await run_engine_until(db_path, has_open_down)

    async def resolved_once_deleted(store: Store) -> bool:
        if any(stored.id == store_targets["failing"] for stored in await store.list_targets()):
            await store.delete_target(store_targets["failing"])
        return not await open_incidents(store)

    assert await run_engine_until(db_path, resolved_once_deleted)
    incidents = down_incidents(db_path, "failing")
    assert len(incidents) == 1
    assert incidents[0][1] is not None
    store = await Store.open(db_path)
    try:
        incident = await get_incident(store, incidents[0][0])
    finally:
        await store.close()
    assert incident is not None
    assert incident.notes == ["resolved: the target was deleted"]


async def test_engine_start_resolves_incident_of_deleted_target(lab: Lab, db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.add_targets([fast_target("failing", lab.urls["failing"])])
    await store.close()
    assert await run_engine_until(db_path, has_open_down)

    store = await Store.open(db_path)
    await store.delete_target((await store.list_targets())[0].id)
    await store.close()

    async def nothing_open(store: Store) -> bool:
        return not await open_incidents(store)

    assert await run_engine_until(db_path, nothing_open, timeout_s=5)
    assert down_incidents(db_path, "failing")[0][1] is not None


async def test_restart_mid_incident_opens_no_duplicate(lab: Lab, db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.add_targets([fast_target("failing", lab.urls["failing"])])
    await store.close()
    assert await run_engine_until(db_path, has_open_down)
    before = sample_count(db_path)

    async def more_samples(store: Store) -> bool:
        return sample_count(db_path) >= before + 10

    assert await run_engine_until(db_path, more_samples)

    incidents = down_incidents(db_path, "failing")
    assert len(incidents) == 1
    assert incidents[0][1] is None


async def test_recovery_while_stopped_resolves_once(lab: Lab, db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.add_targets([fast_target("api", lab.urls["failing"])])
    await store.close()
    assert await run_engine_until(db_path, has_open_down)

    # While no engine runs, the target's address moves to a healthy server.
    with sqlite3.connect(db_path) as connection:
        spec = fast_target("api", lab.urls["steady"]).model_dump_json()
        connection.execute("UPDATE targets SET spec = ? WHERE name = 'api'", (spec,))

    async def resolved(store: Store) -> bool:
        return not await has_open_down(store)

    assert await run_engine_until(db_path, resolved)
    before = sample_count(db_path)

    async def more_samples(store: Store) -> bool:
        return sample_count(db_path) >= before + 5

    assert await run_engine_until(db_path, more_samples)

    incidents = down_incidents(db_path, "api")
    assert len(incidents) == 1
    assert incidents[0][1] is not None


def test_serve_sigkill_restart_keeps_one_incident(
    lab_urls: dict[str, str], tmp_path: Path, serve_process
) -> None:
    db = tmp_path / "killed.db"
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [{"name": "failing", "url": lab_urls["failing"], "interval_s": 0.2, "timeout_s": 0.15}]
        )
    )

    first = serve_process("--db", str(db), "--targets", str(targets))
    assert wait_until(lambda: incident_rows_once_migrated(db) == 1, 20)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    before = sample_count(db)

    second = serve_process("--db", str(db), "--targets", str(targets))
    assert wait_until(lambda: sample_count(db) >= before + 10, 20)
    assert second.stop() == 0

    incidents = down_incidents(db, "failing")
    assert len(incidents) == 1
    assert incidents[0][1] is None


# The store's incident records.


async def open_one(store: Store, name: str = "api", kind: Kind = Kind.DOWN) -> int:
    targets = {stored.target.name: stored.id for stored in await store.list_targets()}
    if name not in targets:
        await store.add_targets([Target(name=name, url="http://127.0.0.1:9/api")])
        targets = {stored.target.name: stored.id for stored in await store.list_targets()}
    live = OpenIncident(targets[name], name, kind, Severity.CRITICAL, now_ms(), 3.0)
    await write_changes(store, [IncidentChange(IncidentEvent.OPENED, live, live.severity, 3.0, 0)])
    assert live.id is not None
    return live.id


async def test_acknowledge_records_operator_and_time(store: Store) -> None:
    incident_id = await open_one(store)

    incident, done = await acknowledge(store, incident_id, "alice", 1_790_000_000_000)

    assert done is True
    assert incident.acknowledged_by == "alice"
    assert incident.acknowledged_at_ms == 1_790_000_000_000
    assert incident.is_open


async def test_second_acknowledgement_keeps_the_first(store: Store) -> None:
    incident_id = await open_one(store)
    await acknowledge(store, incident_id, "alice", 1_790_000_000_000)

    incident, done = await acknowledge(store, incident_id, "bob", 1_790_000_100_000)

    assert done is False
    assert incident.acknowledged_by == "alice"


async def test_notes_are_appended_in_order(store: Store) -> None:
    incident_id = await open_one(store)

    await add_note(store, incident_id, "looking at the load balancer")
    incident = await add_note(store, incident_id, 'a "quoted" note')

    assert incident.notes == ["looking at the load balancer", 'a "quoted" note']


async def test_store_rejects_duplicate_open_incident(store: Store) -> None:
    await open_one(store)

    with pytest.raises(sqlite3.IntegrityError):
        await open_one(store)


async def test_open_only_lists_unresolved_newest_first(store: Store) -> None:
    first = await open_one(store, "a")
    second = await open_one(store, "b")

    listed = [incident.id for incident in await list_incidents(store, open_only=True)]

    assert listed == [second, first]


# `nocwatch incidents`.


@pytest.fixture
def incidents_db(db_path: Path) -> Path:
    async def fill() -> None:
        store = await Store.open(db_path)
        try:
            await open_one(store, "api")
            await open_one(store, "web", Kind.LATENCY)
        finally:
            await store.close()

    asyncio.run(fill())
    return db_path


def test_incidents_json_has_exactly_the_design_fields(incidents_db: Path) -> None:
    result = run_nocwatch("incidents", "--db", str(incidents_db), "--format", "json")

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["incidents"]
    assert [incident["target"] for incident in listed] == ["web", "api"]
    for incident in listed:
        assert set(incident) == INCIDENT_FIELDS
    assert listed[0]["acknowledged_by"] is None
    assert listed[0]["resolved_at"] is None
    assert listed[0]["opened_at"].endswith("Z")
    assert listed[0]["notes"] == []


def test_incidents_ack_with_note_shows_in_json(incidents_db: Path) -> None:
    ack = run_nocwatch(
        "incidents", "ack", "1", "--db", str(incidents_db), "--operator", "carol", "--note", "on it"
    )
    listing = run_nocwatch("incidents", "--db", str(incidents_db), "--format", "json")

    assert ack.returncode == 0, ack.stderr
    assert "acknowledged by carol" in ack.stdout
    incident = next(i for i in json.loads(listing.stdout)["incidents"] if i["id"] == 1)
    assert incident["acknowledged_by"] == "carol"
    assert incident["acknowledged_at"].endswith("Z")
    assert incident["notes"] == ["on it"]


def test_incidents_ack_of_unknown_id_exits_2(incidents_db: Path) -> None:
    result = run_nocwatch("incidents", "ack", "99", "--db", str(incidents_db))

    assert result.returncode == 2
    assert "incident 99 not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_incidents_table_lists_open_ones(incidents_db: Path) -> None:
    result = run_nocwatch("incidents", "--db", str(incidents_db), "--open")

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[0].startswith("ID")
    assert len(lines) == 3
    assert "latency" in lines[1]


def test_incidents_without_database_exits_2(tmp_path: Path) -> None:
    result = run_nocwatch("incidents", "--db", str(tmp_path / "none.db"))

    assert result.returncode == 2
    assert "database not found" in result.stderr
