"""The prober against real lab servers on 127.0.0.1."""

import asyncio
import importlib.abc
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.sample import ErrorClass
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab


@pytest.fixture
async def prober():
    running = Prober()
    try:
        yield running
    finally:
        await running.aclose()


def lab_target(lab: Lab, server: str, **fields: object) -> Target:
    return Target.model_validate(
        {"name": server, "url": lab.urls[server], "interval_s": 5, "timeout_s": 1.0, **fields}
    )


async def test_steady_latency_near_scripted_delay(lab: Lab, prober: Prober) -> None:
    target = lab_target(lab, "steady")
    await prober.probe(target, 1)  # the first probe warms imports up
    latencies = [(await prober.probe(target, 1)).latency_ms for _ in range(5)]
    assert all(latency is not None for latency in latencies)
    median = sorted(latencies)[2]
    assert median >= 20.0
    # A generous bound: accuracy against curl is measured in benchmarks/, and a
    # busy test machine adds milliseconds that say nothing about the prober.
    assert median < 60.0


async def test_steady_sample_passes_with_phases(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "steady"), 7)
    assert sample.error is None
    assert sample.status_code == 200
    assert sample.target_id == 7
    assert sample.connect_ms is not None
    assert sample.ttfb_ms is not None
    assert sample.ttfb_ms >= 19.0
    assert sample.transfer_ms is not None
    assert sample.dns_ms is None  # an IP literal needs no resolution
    assert sample.tls_ms is None


async def test_start_time_is_utc_epoch(lab: Lab, prober: Prober) -> None:
    before_ms = int(time.time() * 1000)
    sample = await prober.probe(lab_target(lab, "steady"), 1)
    assert before_ms - 5 <= sample.started_at_ms <= before_ms + 1000


async def test_refused_error_class(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "down"), 1)
    assert sample.error is ErrorClass.REFUSED
    assert sample.latency_ms is None


async def test_status_error_class(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "failing"), 1)
    assert sample.error is ErrorClass.STATUS
    assert sample.status_code == 500
    assert sample.latency_ms is not None  # a response arrived, so latency is defined


async def test_expected_status_accepts_500(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "failing", expected_status=[500]), 1)
    assert sample.error is None


async def test_closed_error_class(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "close"), 1)
    assert sample.error is ErrorClass.CLOSED


async def test_hang_times_out_at_deadline(lab: Lab, prober: Prober) -> None:
    target = lab_target(lab, "hang", timeout_s=0.5)
    started = time.perf_counter()
    sample = await prober.probe(target, 1)
    elapsed = time.perf_counter() - started
    assert sample.error is ErrorClass.TIMEOUT
    assert elapsed >= 0.5
    assert elapsed < 0.55


async def test_trickle_never_outlives_deadline(lab: Lab, prober: Prober) -> None:
    target = lab_target(lab, "trickle", timeout_s=1.5, interval_s=3)
    started = time.perf_counter()
    sample = await prober.probe(target, 1)
    elapsed = time.perf_counter() - started
    assert sample.error is ErrorClass.TIMEOUT
    assert elapsed < 1.5 * 1.1


async def test_unresolvable_name_is_dns_error(prober: Prober) -> None:
    target = Target(name="nowhere", url="http://nowhere.invalid/", interval_s=5, timeout_s=2)
    sample = await prober.probe(target, 1)
    assert sample.error is ErrorClass.DNS
    assert sample.dns_ms is not None


async def test_body_contains_missing_is_body_error(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "steady", body_contains="no such text"), 1)
    assert sample.error is ErrorClass.BODY
    assert sample.status_code == 200


async def test_slow_response_over_deadline(lab: Lab, prober: Prober) -> None:
    sample = await prober.probe(lab_target(lab, "slow", timeout_s=0.3), 1)
    assert sample.error is ErrorClass.TIMEOUT


WARM_UP_SCRIPT = """
import asyncio, sys
from nocwatch_tui.engine.prober import Prober

async def main():
    prober = Prober()
    print("anyio._backends._asyncio" in sys.modules)
    await prober.warm_up()
    print("anyio._backends._asyncio" in sys.modules)
    await prober.aclose()

asyncio.run(main())
"""


def test_warm_up_loads_the_async_backend_in_a_fresh_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WARM_UP_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


async def test_warm_up_leaves_later_probes_passing(lab: Lab, prober: Prober) -> None:
    await prober.warm_up()
    sample = await prober.probe(lab_target(lab, "steady"), 1)
    assert sample.error is None


async def test_latency_leaves_out_request_building(lab: Lab, prober: Prober) -> None:
    await prober.warm_up()
    start_ns = time.perf_counter_ns()
    sample = await prober.probe(lab_target(lab, "steady"), 1)
    whole_ms = (time.perf_counter_ns() - start_ns) / 1e6
    assert sample.latency_ms is not None
    assert sample.latency_ms < whole_ms


class ImportRecorder(importlib.abc.MetaPathFinder):
    """Records every module name the import system looks for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname, path=None, target=None):
        self.names.append(fullname)
        return None


async def test_probe_after_warm_up_looks_up_no_module(lab: Lab, prober: Prober) -> None:
    await prober.warm_up()
    await prober.probe(lab_target(lab, "steady"), 1)
    recorder = ImportRecorder()
    sys.meta_path.insert(0, recorder)
    try:
        sample = await prober.probe(lab_target(lab, "steady"), 1)
    finally:
        sys.meta_path.remove(recorder)
    assert sample.error is None
    assert recorder.names == []


HEAD_DELAY_S = 0.1
BODY_DELAY_S = 0.15


async def answer_head_then_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send the head HEAD_DELAY_S after the request and the body BODY_DELAY_S after the head."""
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.sleep(HEAD_DELAY_S)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(BODY_DELAY_S)
    writer.write(b"done")
    await writer.drain()
    writer.close()


async def test_phases_end_at_byte_arrivals(prober: Prober) -> None:
    server = await asyncio.start_server(answer_head_then_body, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        target = Target(name="two parts", url=f"http://127.0.0.1:{port}/", timeout_s=2)
        sample = await prober.probe(target, 1)
    assert sample.error is None
    assert sample.ttfb_ms is not None
    assert sample.ttfb_ms >= HEAD_DELAY_S * 1000
    assert sample.ttfb_ms < (HEAD_DELAY_S + BODY_DELAY_S) * 1000
    assert sample.transfer_ms is not None
    # The server's sleep starts before its head reaches the prober, so allow a little less.
    assert sample.transfer_ms >= BODY_DELAY_S * 1000 * 0.9
    assert sample.latency_ms is not None
    assert sample.latency_ms >= (HEAD_DELAY_S + BODY_DELAY_S) * 1000


async def reject_post_without_length(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Return 411 for a POST without Content-Length, as many servers do, else 200."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    missing_length = head.startswith(b"post ") and b"\r\ncontent-length:" not in head
    status = b"411 Length Required" if missing_length else b"200 OK"
    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


async def test_post_sends_zero_content_length(prober: Prober) -> None:
    server = await asyncio.start_server(reject_post_without_length, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        target = Target(name="post", url=f"http://127.0.0.1:{port}/", method="POST", timeout_s=2)
        sample = await prober.probe(target, 1)
    assert sample.status_code == 200
    assert sample.error is None


async def redirect_to_utf8_path(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Redirect `/` to `/café` in raw UTF-8 and return 200 only for its percent-encoded path."""
    request_line = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0]
    path = request_line.split(b" ")[1]
    if path == b"/":
        head = "HTTP/1.1 302 Found\r\nLocation: /café\r\n".encode()
    elif path == b"/caf%C3%A9":
        head = b"HTTP/1.1 200 OK\r\n"
    else:
        head = b"HTTP/1.1 404 Not Found\r\n"
    writer.write(head + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


async def test_utf8_redirect_location_followed(prober: Prober) -> None:
    server = await asyncio.start_server(redirect_to_utf8_path, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        target = Target(name="utf-8 redirect", url=f"http://127.0.0.1:{port}/", timeout_s=2)
        sample = await prober.probe(target, 1)
    assert sample.status_code == 200
    assert sample.error is None


def reset_every_connection(listener: socket.socket, count: int) -> None:
    """Accept `count` connections on a blocking socket and reset each at once with RST."""
    for _ in range(count):
        connection, _address = listener.accept()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()


async def test_reset_after_accept_is_closed(prober: Prober) -> None:
    probes = 30
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        server = threading.Thread(target=reset_every_connection, args=(listener, probes))
        server.start()
        target = Target(name="reset on accept", url=f"http://127.0.0.1:{port}/", timeout_s=2)
        # A thread resets each connection as soon as it is accepted, so the
        # reset often reaches the prober before its connect has completed.
        errors = [(await prober.probe(target, 1)).error for _ in range(probes)]
        server.join(timeout=5)
    assert set(errors) == {ErrorClass.CLOSED}


async def close_on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Close each accepted connection at once, before any TLS handshake."""
    writer.close()


async def test_close_before_tls_handshake_is_closed(prober: Prober) -> None:
    server = await asyncio.start_server(close_on_accept, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        target = Target(name="close before TLS", url=f"https://127.0.0.1:{port}/", timeout_s=2)
        errors = [(await prober.probe(target, 1)).error for _ in range(10)]
    assert set(errors) == {ErrorClass.CLOSED}


def close_every_connection(listener: socket.socket, count: int) -> None:
    """Accept `count` connections on a blocking socket and close each at once."""
    for _ in range(count):
        connection, _address = listener.accept()
        connection.close()


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not run on Windows")
def test_close_before_tls_logs_nothing_on_uvloop() -> None:
    import uvloop

    probes = 10
    loop_errors: list[dict[str, object]] = []

    async def probe_closing_server(port: int) -> set[ErrorClass | None]:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
        prober = Prober()
        target = Target(name="close before TLS", url=f"https://127.0.0.1:{port}/", timeout_s=2)
        try:
            return {(await prober.probe(target, 1)).error for _ in range(probes)}
        finally:
            await prober.aclose()

    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=close_every_connection, args=(listener, probes))
        server.start()
        # The thread closes each connection before the prober starts its TLS
        # handshake, which uvloop reports to the loop's exception handler.
        errors = uvloop.run(probe_closing_server(listener.getsockname()[1]))
        server.join(timeout=5)
    assert errors == {ErrorClass.CLOSED}
    assert loop_errors == []
