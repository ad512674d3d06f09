"""The engine lease: one `serve` per database, and takeover of stale leases."""

import asyncio
import os
import signal
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from nocwatch_tui.console.widgets.summary_bar import engine_mode
from nocwatch_tui.engine.lease import LeaseHeldError, is_live, take_lease
from nocwatch_tui.engine.store import EngineLease, Store, now_ms

from conftest import ServeProcess, run_nocwatch, wait_until


def read_lease(db: Path) -> tuple[int, str, int] | None:
    if not db.exists():
        return None
    with sqlite3.connect(db) as connection:
        try:
            row = connection.execute(
                "SELECT pid, host, renewed_at_ms FROM engine_lease WHERE id = 1"
            ).fetchone()
        except sqlite3.OperationalError:
            return None
    return None if row is None else (row[0], row[1], row[2])


def write_lease(db: Path, pid: int, host: str, renewed_at_ms: int) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO engine_lease"
            " (id, holder, pid, host, acquired_at_ms, renewed_at_ms) VALUES (1, ?, ?, ?, ?, ?)",
            ("other-holder", pid, host, renewed_at_ms, renewed_at_ms),
        )


def start_serve(start: Callable[..., ServeProcess], db: Path) -> ServeProcess:
    serve = start("--db", str(db), "--listen", "127.0.0.1:0")
    assert wait_until(lambda: (read_lease(db) or (0,))[0] == serve.process.pid, 15)
    return serve


def create_database(db: Path) -> None:
    async def create() -> None:
        store = await Store.open(db)
        await store.close()

    asyncio.run(create())


def dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_second_serve_exits_2_naming_holder(serve_process, db_path: Path) -> None:
    first = start_serve(serve_process, db_path)

    second = run_nocwatch("serve", "--db", str(db_path), "--listen", "127.0.0.1:0")

    assert second.returncode == 2
    assert "another engine owns this database" in second.stderr
    assert f"pid {first.process.pid} on {socket.gethostname()}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.process.poll() is None


def test_lease_renewed_then_released(serve_process, db_path: Path) -> None:
    serve = start_serve(serve_process, db_path)
    first = read_lease(db_path)
    assert first is not None

    assert wait_until(lambda: (read_lease(db_path) or (0, "", 0))[2] > first[2], 10)
    assert serve.stop() == 0
    assert read_lease(db_path) is None


def test_stale_remote_lease_taken_over(serve_process, db_path: Path) -> None:
    create_database(db_path)
    write_lease(db_path, 4242, "elsewhere.example", now_ms() - 60_000)

    serve = start_serve(serve_process, db_path)

    lease = read_lease(db_path)
    assert lease is not None
    assert lease[1] == socket.gethostname()
    assert serve.process.poll() is None


def test_dead_local_holder_replaced_at_once(serve_process, db_path: Path) -> None:
    create_database(db_path)
    write_lease(db_path, dead_pid(), socket.gethostname(), now_ms())

    serve = start_serve(serve_process, db_path)

    assert serve.process.poll() is None


def test_live_remote_lease_kept(db_path: Path) -> None:
    create_database(db_path)
    write_lease(db_path, 4242, "elsewhere.example", now_ms())

    result = run_nocwatch("serve", "--db", str(db_path), "--listen", "127.0.0.1:0")

    assert result.returncode == 2
    assert "pid 4242 on elsewhere.example" in result.stderr


def test_serve_exits_1_on_lost_lease(serve_process, db_path: Path) -> None:
    serve = start_serve(serve_process, db_path)

    write_lease(db_path, 4242, "elsewhere.example", now_ms())

    assert serve.process.wait(timeout=15) == 1
    assert "lost the engine lease" in serve.log_text()
    lease = read_lease(db_path)
    assert lease is not None
    assert lease[0] == 4242


async def test_take_lease_rejects_live_holder(db_path: Path) -> None:
    first_store = await Store.open(db_path)
    second_store = await Store.open(db_path)
    try:
        first = await take_lease(first_store)
        with pytest.raises(LeaseHeldError) as caught:
            await take_lease(second_store)
        assert f"pid {first.pid}" in str(caught.value)
        assert str(db_path) in str(caught.value)
    finally:
        await second_store.close()
        await first_store.close()


def test_is_live_follows_renewal_age() -> None:
    lease = EngineLease("h", os.getpid(), socket.gethostname(), 0, 100_000)
    assert is_live(lease, 105_000)
    assert not is_live(lease, 200_000)


def test_engine_mode_own_attached_or_none() -> None:
    stamp = now_ms()
    lease = EngineLease("h", os.getpid(), socket.gethostname(), stamp, stamp)
    assert engine_mode(lease, os.getpid(), stamp) == "own"
    assert engine_mode(lease, None, stamp) == "attached"
    assert engine_mode(lease, os.getpid() + 1, stamp) == "attached"
    assert engine_mode(None, None, stamp) is None
    assert engine_mode(lease, None, stamp + 60_000) is None


def test_sigkilled_serve_is_replaced_at_once(serve_process, db_path: Path) -> None:
    first = start_serve(serve_process, db_path)
    first.stop(signal.SIGKILL)

    second = start_serve(serve_process, db_path)

    assert second.process.poll() is None
