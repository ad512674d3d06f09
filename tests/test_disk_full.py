"""A full disk under a running `nocwatch serve`: writing stops with an error and resumes.

The database lives on a small tmpfs mounted for the test, which needs root;
without it the test is skipped.
"""

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nocwatch_tui.console.widgets.summary_bar import engine_text
from nocwatch_tui.engine.store import EngineStatus, now_ms
from nocwatch_tui.lab import Lab

from conftest import nocwatch_command

INTERVAL_S = 0.2


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
        timeout=10,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=10)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full, and return it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    return filler


def sample_times(db: Path) -> list[int]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT started_at_ms FROM samples WHERE target_id = 1 ORDER BY started_at_ms"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()
    return [row[0] for row in rows]


def header_text(db: Path) -> str:
    """Return the engine part of the console's header for the engine row in `db`."""
    connection = sqlite3.connect(db)
    try:
        row = connection.execute(
            "SELECT pid, started_at_ms, heartbeat_at_ms, stopped_at_ms, loop_lag_ms,"
            " slip_p99_ms, in_flight, queue_depth, write_error FROM engine"
        ).fetchone()
    finally:
        connection.close()
    return engine_text(EngineStatus(*row), "attached", now_ms())


async def wait_for(condition, timeout_s: float) -> bool:
    for _attempt in range(int(timeout_s / 0.1)):
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()


async def test_full_disk_stops_then_resumes_writing(small_disk: Path, tmp_path: Path) -> None:
    db = small_disk / "full.db"
    log_path = tmp_path / "serve.log"
    async with Lab(["steady"], steady_delay_s=0.005) as lab:
        targets = tmp_path / "targets.json"
        targets.write_text(
            json.dumps(
                [
                    {
                        "name": f"t{i}",
                        "url": lab.urls["steady"],
                        "interval_s": INTERVAL_S,
                        "timeout_s": 0.15,
                    }
                    for i in range(5)
                ]
            )
        )
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                *nocwatch_command(
                    "serve", "--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"
                ),
                stdout=log_file,
                stderr=log_file,
            )
        try:
            assert await wait_for(lambda: len(sample_times(db)) >= 5, 20)
            filler = fill(small_disk)
            full_logged = await wait_for(
                lambda: "database or disk is full" in log_path.read_text(), 15
            )
            count_while_full = len(sample_times(db))
            await asyncio.sleep(1.0)
            still_full = len(sample_times(db))
            header_while_full = await wait_for(
                lambda: header_text(db) == "engine not writing: see its log", 10
            )
            filler.unlink()
            resumed = await wait_for(lambda: len(sample_times(db)) > still_full, 15)
            resumed_logged = "writing samples resumed" in log_path.read_text()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                returncode = await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                raise

    times = sample_times(db)
    gaps_ms = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert full_logged
    assert still_full == count_while_full
    assert header_while_full
    assert resumed
    assert resumed_logged
    assert returncode == 0
    # Samples probed while the disk was full were kept and written afterwards.
    assert max(gaps_ms) < INTERVAL_S * 1000 * 3
