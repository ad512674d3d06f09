"""Consoles on a database that `serve` owns attach to it; a console alone starts its own engine."""

import asyncio
import fcntl
import json
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.widgets.incident_log import IncidentTable
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.lab import Lab

from conftest import ServeProcess, nocwatch_command, wait_until
from console_data import make_console_database
from test_lease import read_lease

_ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def summary_text(app: NocWatchApp) -> str:
    return str(app.screen.query_one(SummaryBar).render())


async def wait_for_text(pilot: Pilot[None], app: NocWatchApp, text: str) -> bool:
    for _ in range(60):
        if text in summary_text(app):
            return True
        await pilot.pause(0.1)
    return text in summary_text(app)


def start_serve(serve_process, db: Path) -> ServeProcess:
    serve = serve_process("--db", str(db), "--listen", "127.0.0.1:0")
    assert wait_until(lambda: (read_lease(db) or (0,))[0] == serve.process.pid, 15)
    return serve


@pytest.fixture
def console_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db")


async def test_summary_says_attached(serve_process, console_db: Path) -> None:
    db = console_db
    start_serve(serve_process, db)

    app = NocWatchApp(db)
    async with app.run_test(size=(100, 24)) as pilot:
        assert await wait_for_text(pilot, app, "attached · loop lag")
        assert "own engine" not in summary_text(app)


async def test_summary_says_own_engine(serve_process, console_db: Path) -> None:
    db = console_db
    serve = start_serve(serve_process, db)

    app = NocWatchApp(db, engine_pid=serve.process.pid)
    async with app.run_test(size=(100, 24)) as pilot:
        assert await wait_for_text(pilot, app, "own engine · loop lag")


class ConsoleInTerminal:
    """`nocwatch` running in a pseudo-terminal, as an operator would start it."""

    def __init__(self, *arguments: str) -> None:
        self._fd, secondary = pty.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.process = subprocess.Popen(
            nocwatch_command(*arguments),
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "24"},
            start_new_session=True,
        )
        os.close(secondary)
        self.screen = b""

    def read_until(self, text: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text.encode() in _ESCAPES.sub(b"", self.screen):
                return True
            ready, _, _ = select.select([self._fd], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self._fd, 65536)
                except OSError:
                    break
        return text.encode() in _ESCAPES.sub(b"", self.screen)

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def quit(self) -> int:
        """Press q and wait for the exit, reading the screen so that the console never blocks."""
        os.write(self._fd, b"q")
        deadline = time.monotonic() + 15
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read_until("\0", 0.1)
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        os.close(self._fd)
        return code


def test_two_consoles_attach_to_serve(serve_process, tmp_path: Path) -> None:
    db = make_console_database(tmp_path / "console.db")
    serve = start_serve(serve_process, db)

    consoles = [ConsoleInTerminal("--db", str(db)) for _ in range(2)]
    try:
        for console in consoles:
            assert console.read_until("attached", 30), console.screen[-2000:]
        for console in consoles:
            assert console.children() == []
        lease = read_lease(db)
        assert lease is not None
        assert lease[0] == serve.process.pid
    finally:
        codes = [console.quit() for console in consoles]

    assert codes == [0, 0]
    assert serve.process.poll() is None


def test_lone_console_owns_its_engine(tmp_path: Path) -> None:
    db = make_console_database(tmp_path / "console.db")

    console = ConsoleInTerminal("--db", str(db))
    try:
        assert console.read_until("own engine", 30), console.screen[-2000:]
        children = console.children()
        assert len(children) == 1
        lease = read_lease(db)
        assert lease is not None
        assert lease[0] == children[0]
    finally:
        code = console.quit()

    assert code == 0
    assert read_lease(db) is None


def first_incident_id(db: Path) -> int | None:
    try:
        with sqlite3.connect(db) as connection:
            row = connection.execute("SELECT min(id) FROM incidents").fetchone()
    except sqlite3.OperationalError:  # the engine has not created the schema yet
        return None
    return None if row is None or row[0] is None else int(row[0])


async def test_acknowledgement_shared_by_attached_consoles(
    lab: Lab, tmp_path: Path, serve_process
) -> None:
    db = tmp_path / "shared.db"
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [{"name": "web", "url": lab.urls["failing"], "interval_s": 0.3, "timeout_s": 0.25}]
        )
    )
    serve = serve_process("--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0")
    assert await asyncio.to_thread(wait_until, lambda: first_incident_id(db) is not None, 20)
    incident_id = first_incident_id(db)

    first = NocWatchApp(db, operator="frank")
    second = NocWatchApp(db, operator="grace")
    async with (
        first.run_test(size=(100, 30)) as first_pilot,
        second.run_test(size=(100, 30)) as second_pilot,
    ):
        for pilot, app in ((first_pilot, first), (second_pilot, second)):
            assert await wait_for_text(pilot, app, "attached · loop lag")
        table = first.screen.query_one(IncidentTable)
        assert await wait_for_row(first_pilot, table, str(incident_id))
        table.focus()
        table.move_cursor(row=table.get_row_index(str(incident_id)))
        await first_pilot.pause()

        await first_pilot.press("a")

        other = second.screen.query_one(IncidentTable)

        def shown_in_second() -> bool:
            return str(incident_id) in [str(key.value) for key in other.rows] and (
                str(other.get_row(str(incident_id))[7]) == "frank"
            )

        for _ in range(20):  # two seconds
            if shown_in_second():
                break
            await second_pilot.pause(0.1)
        assert shown_in_second()

    lease = read_lease(db)
    assert lease is not None
    assert lease[0] == serve.process.pid
    with sqlite3.connect(db) as connection:
        engine_pid = connection.execute("SELECT pid FROM engine").fetchone()[0]
    assert engine_pid == serve.process.pid


async def wait_for_row(pilot: Pilot[None], table: IncidentTable, key: str) -> bool:
    for _ in range(60):
        if key in [str(row.value) for row in table.rows]:
            return True
        await pilot.pause(0.1)
    return False
