"""Shared fixtures: lab servers on loopback, real SQLite files and engine processes."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from nocwatch_tui.engine.store import Store
from nocwatch_tui.lab import Lab


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    """Run every lab server, hostile ones included, on 127.0.0.1."""
    from nocwatch_tui.lab import ALL_SERVERS

    async with Lab(ALL_SERVERS, flap_period_s=1.0) as running:
        yield running


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Return the path of a fresh database file in the test's folder."""
    return tmp_path / "nocwatch.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    """Open a real, migrated SQLite store."""
    opened = await Store.open(db_path)
    try:
        yield opened
    finally:
        await opened.close()


def nocwatch_command(*arguments: str) -> list[str]:
    """Return the command line that runs `nocwatch` with this interpreter."""
    return [sys.executable, "-m", "nocwatch_tui", *arguments]


def run_nocwatch(*arguments: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `nocwatch` to completion and capture its output."""
    return subprocess.run(
        nocwatch_command(*arguments),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


class ServeProcess:
    """A `nocwatch serve` child process for a test.

    Without a `--listen` argument it listens on a free port, so that it never
    meets another engine on the default metrics port.
    """

    def __init__(self, *arguments: str, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        if "--listen" not in arguments:
            arguments = (*arguments, "--listen", "127.0.0.1:0")
        self.process = subprocess.Popen(
            nocwatch_command("serve", *arguments),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        """Send a signal and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self._log.close()

    def log_text(self) -> str:
        """Return what the process logged so far."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start `nocwatch serve` processes that are stopped after the test."""
    started: list[ServeProcess] = []

    def start(*arguments: str) -> ServeProcess:
        process = ServeProcess(*arguments, log_path=tmp_path / f"serve-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    """Poll a condition until it is true or the time runs out, and return its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], attempts: int = 50) -> bool:
    """Let the app run in 0.1 s steps until a condition is true; return its last value."""
    for _attempt in range(attempts):
        if condition():
            return True
        await pilot.pause(0.1)
    return condition()
