"""Databases that cannot be used as they are, locks, and the modes of the files."""

import asyncio
import json
import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import SCHEMA_VERSION, Store, StoreError, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.engine.writer import SampleWriter

from conftest import run_nocwatch


def not_sqlite(path: Path) -> None:
    path.write_text("this is a text file and not an SQLite database\n" * 100)


def newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE future (id INTEGER PRIMARY KEY)")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    connection.close()


def read_only(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE other (id INTEGER PRIMARY KEY)")
    connection.close()
    path.chmod(0o444)


BAD_DATABASES = [
    (not_sqlite, "not a NOC Watch database (not SQLite); pass another --db"),
    (newer_schema, f"is newer than this NOC Watch supports ({SCHEMA_VERSION}); upgrade"),
    (read_only, "the database is read-only; make it writable or pass another --db"),
]


@pytest.mark.parametrize(("make", "message"), BAD_DATABASES, ids=lambda value: str(value)[:20])
@pytest.mark.parametrize("command", ["serve", "report", "console"])
def test_bad_database_exits_2_unchanged(tmp_path: Path, make, message: str, command: str) -> None:
    db = tmp_path / "bad.db"
    make(db)
    before = db.read_bytes()
    before_mtime_ns = db.stat().st_mtime_ns
    arguments = ["--db", str(db)] if command == "console" else [command, "--db", str(db)]

    result = run_nocwatch(*arguments, timeout_s=30)

    assert result.returncode == 2
    assert message in result.stderr
    assert str(db) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.read_bytes() == before
    assert db.stat().st_mtime_ns == before_mtime_ns


async def test_locked_database_delays_samples_without_loss(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Store.open(db_path, busy_timeout_ms=50)
    await store.add_targets([Target(name="a", url="http://127.0.0.1:9/")])
    writer = SampleWriter(store, linger_s=0.0)
    writing = asyncio.create_task(writer.run())

    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.ERROR, logger="nocwatch.writer"):
        for index in range(20):
            writer.put(Sample(1, now_ms() + index, latency_ms=1.0))
        await asyncio.sleep(1.5)
        locked_error = writer.last_error
        holder.execute("COMMIT")
        writer.stop()
        await asyncio.wait_for(writing, 10)
    holder.close()

    count = await _count_samples(store)
    await store.close()
    assert locked_error is not None
    assert "database is locked" in locked_error
    assert "database is locked" in caplog.text
    assert writer.last_error is None
    assert writer.written == 20
    assert count == 20


async def _count_samples(store: Store) -> int:
    records = await store.samples_after(0)
    return len(records)


async def test_database_files_are_private(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        await store.add_targets([Target(name="a", url="http://127.0.0.1:9/")])
        await store.insert_samples([Sample(1, now_ms(), latency_ms=1.0)])
        modes = {
            suffix: stat.S_IMODE(Path(f"{db_path}{suffix}").stat().st_mode)
            for suffix in ("", "-wal", "-shm")
        }
    finally:
        await store.close()
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


async def test_read_only_store_open_raises(db_path: Path) -> None:
    read_only(db_path)
    with pytest.raises(StoreError, match="read-only"):
        await Store.open(db_path)


def test_invalid_stored_target_hides_its_headers(db_path: Path) -> None:
    secret = "Bearer s3cr3t-in-db"
    asyncio.run(_store_target(db_path, Target(name="a", url="http://127.0.0.1:9/")))
    spec = json.dumps({"name": "a", "url": "http://127.0.0.1:9/", "headers": {"A": secret}, "x": 1})
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE targets SET spec = ?", (spec,))
    connection.close()

    result = run_nocwatch("report", "--db", str(db_path))

    assert result.returncode == 2
    assert "target 1 in the database is invalid: field x: Extra inputs" in result.stderr
    assert "s3cr3t" not in result.stderr
    assert "Traceback" not in result.stderr


async def _store_target(db_path: Path, target: Target) -> None:
    store = await Store.open(db_path)
    try:
        await store.add_targets([target])
    finally:
        await store.close()


def test_foreign_sqlite_file_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (amount REAL)")
    connection.close()
    before = path.read_bytes()

    result = run_nocwatch("report", "--db", str(path))

    assert result.returncode == 2
    assert "another program" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_folder_as_database_exits_2(tmp_path: Path) -> None:
    result = run_nocwatch("report", "--db", str(tmp_path))

    assert result.returncode == 2
    assert "is a folder" in result.stderr
    assert "Traceback" not in result.stderr
