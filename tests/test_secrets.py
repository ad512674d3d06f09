"""Header values stay out of the engine's log, out of reports and away from other origins."""

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab

from conftest import ServeProcess, run_nocwatch, wait_until

SECRET = "Bearer s3cr3t-t0ken-value"


async def test_header_secret_not_logged_or_reported(
    lab: Lab, tmp_path: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    db = tmp_path / "secret.db"
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [
                {
                    "name": name,
                    "url": lab.urls[name],
                    "interval_s": 0.5,
                    "timeout_s": 0.4,
                    "headers": {"Authorization": SECRET, "X-Api-Key": SECRET},
                }
                for name in ("steady", "close", "rate-limited", "redirect-loop")
            ]
        )
    )
    process = serve_process(
        "-v", "--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"
    )
    started = time.monotonic()
    assert wait_until(lambda: "probe of 'close' failed" in process.log_text(), 20)
    # Give every target a few probes, failing ones included, before stopping.
    time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    returncode = process.stop(signal.SIGTERM)

    report_json = run_nocwatch("report", "--db", str(db), "--format", "json")
    report_table = run_nocwatch("report", "--db", str(db))
    assert returncode == 0
    assert "s3cr3t" not in process.log_text()
    assert report_json.returncode == 0
    assert "s3cr3t" not in report_json.stdout + report_json.stderr
    assert "s3cr3t" not in report_table.stdout + report_table.stderr


class _HeaderRecorder:
    """A server on 127.0.0.1 that keeps the headers of every request it receives.

    `/away` redirects to `away_url`, `/stay` to `/landing` on the same server,
    and every other path answers 200.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.away_url = ""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._respond, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            headers = {}
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            self.requests.append(headers)
            path = request_line.split(" ")[1]
            if path in ("/away", "/stay"):
                location = self.away_url if path == "/away" else "/landing"
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: " + location.encode() + b"\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def recorders() -> AsyncIterator[tuple[_HeaderRecorder, _HeaderRecorder]]:
    origin, other = _HeaderRecorder(), _HeaderRecorder()
    await origin.start()
    await other.start()
    origin.away_url = f"http://127.0.0.1:{other.port}/landing"
    try:
        yield origin, other
    finally:
        await origin.stop()
        await other.stop()


def _target_with_secret(url: str) -> Target:
    return Target.model_validate(
        {"name": "redirected", "url": url, "timeout_s": 2, "headers": {"Authorization": SECRET}}
    )


async def test_cross_origin_redirect_drops_headers(
    recorders: tuple[_HeaderRecorder, _HeaderRecorder],
) -> None:
    origin, other = recorders
    prober = Prober()
    try:
        sample = await prober.probe(_target_with_secret(f"http://127.0.0.1:{origin.port}/away"), 1)
    finally:
        await prober.aclose()

    assert sample.error is None
    assert origin.requests[0].get("authorization") == SECRET
    assert len(other.requests) == 1
    assert "authorization" not in other.requests[0]


async def test_same_origin_redirect_keeps_headers(
    recorders: tuple[_HeaderRecorder, _HeaderRecorder],
) -> None:
    origin, _other = recorders
    prober = Prober()
    try:
        sample = await prober.probe(_target_with_secret(f"http://127.0.0.1:{origin.port}/stay"), 1)
    finally:
        await prober.aclose()

    assert sample.error is None
    assert len(origin.requests) == 2
    assert origin.requests[1].get("authorization") == SECRET
