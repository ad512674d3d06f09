"""Tests of the lab servers, with a real httpx client against real sockets on 127.0.0.1."""

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from nocwatch_tui.lab import ALL_SERVERS, DEMO_SERVERS, Lab, serve_lab

from conftest import run_nocwatch


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=3.0) as http_client:
        yield http_client


async def open_raw_request(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send a GET over a plain socket, for checks that need bytes before a whole response."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode("ascii"))
    await writer.drain()
    return reader, writer


async def read_for(reader: asyncio.StreamReader, duration_s: float) -> bytes:
    """Collect what arrives within `duration_s`."""
    received = b""
    deadline = time.monotonic() + duration_s
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(1024), remaining)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
    return received


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Read to the end of the stream, taking a reset as the end."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


class FlushSignal(io.StringIO):
    """A text buffer that sets an event on flush, so a test can await serve_lab's output."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = asyncio.Event()

    def flush(self) -> None:
        super().flush()
        self.flushed.set()


async def test_steady_answers_after_delay(client: httpx.AsyncClient) -> None:
    async with Lab(["steady"], steady_delay_s=0.1) as lab:
        started = time.perf_counter()
        response = await client.get(lab.urls["steady"])
        elapsed_s = time.perf_counter() - started

    assert response.status_code == 200
    assert response.text == "steady: ok\n"
    assert elapsed_s >= 0.1
    assert elapsed_s < 0.4


async def test_steady_answers_head_without_body(client: httpx.AsyncClient) -> None:
    async with Lab(["steady"]) as lab:
        response = await client.head(lab.urls["steady"])

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len("steady: ok\n"))
    assert response.content == b""


async def test_steady_keeps_connection_alive(client: httpx.AsyncClient) -> None:
    async with Lab(["steady"], steady_delay_s=0.0) as lab:
        responses = [await client.post(lab.urls["steady"], content=b"x" * 5000) for _ in range(3)]

    local_addresses = {
        response.extensions["network_stream"].get_extra_info("client_addr")
        for response in responses
    }
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert len(local_addresses) == 1


async def test_jittery_delay_within_range(client: httpx.AsyncClient) -> None:
    async with Lab(["jittery"]) as lab:
        elapsed: list[float] = []
        for _ in range(5):
            started = time.perf_counter()
            response = await client.get(lab.urls["jittery"])
            elapsed.append(time.perf_counter() - started)
            assert response.status_code == 200

    assert min(elapsed) >= 0.02
    assert max(elapsed) < 0.12 + 0.3


async def test_slow_answers_after_800_ms(client: httpx.AsyncClient) -> None:
    async with Lab(["slow"]) as lab:
        started = time.perf_counter()
        response = await client.get(lab.urls["slow"])
        elapsed_s = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed_s >= 0.8
    assert elapsed_s < 1.2


async def test_failing_answers_500(client: httpx.AsyncClient) -> None:
    async with Lab(["failing"]) as lab:
        response = await client.get(lab.urls["failing"])

    assert response.status_code == 500
    assert response.text != ""


async def test_flapping_alternates_phases(client: httpx.AsyncClient) -> None:
    async with Lab(["flapping"], flap_period_s=0.5) as lab:
        started = time.monotonic()
        first = await client.get(lab.urls["flapping"])

        # The later requests land mid-phase, 0.25 s from either edge.
        await asyncio.sleep(started + 0.75 - time.monotonic())
        second = await client.get(lab.urls["flapping"])
        await asyncio.sleep(started + 1.25 - time.monotonic())
        third = await client.get(lab.urls["flapping"])

    assert first.status_code == 200
    assert second.status_code == 503
    assert third.status_code == 200


async def test_down_refuses_connection(client: httpx.AsyncClient) -> None:
    async with Lab(["down"]) as lab:
        with pytest.raises(httpx.ConnectError):
            await client.get(lab.urls["down"])


async def test_close_ends_without_response(client: httpx.AsyncClient) -> None:
    async with Lab(["close"]) as lab:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(lab.urls["close"])


async def test_hang_trips_client_timeout(client: httpx.AsyncClient) -> None:
    async with Lab(["hang"]) as lab:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(lab.urls["hang"], timeout=0.3)


async def test_trickle_sends_one_byte_per_second() -> None:
    async with Lab(["trickle"]) as lab:
        reader, writer = await open_raw_request(lab.urls["trickle"])
        received = await read_for(reader, 1.5)
        writer.close()

    assert b"HTTP/1.1 200 OK\r\n".startswith(received)
    assert len(received) >= 1
    assert len(received) <= 2


async def test_trickle_trips_client_read_timeout(client: httpx.AsyncClient) -> None:
    async with Lab(["trickle"]) as lab:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(lab.urls["trickle"], timeout=0.5)


async def test_lossy_drops_some_requests(client: httpx.AsyncClient) -> None:
    async def fetch(url: str) -> str:
        try:
            response = await client.get(url)
        except httpx.RemoteProtocolError:
            return "dropped"
        return str(response.status_code)

    async with Lab(["lossy"]) as lab:
        outcomes = await asyncio.gather(*(fetch(lab.urls["lossy"]) for _ in range(50)))

    assert outcomes.count("dropped") > 0
    assert outcomes.count("200") > 25
    assert outcomes.count("dropped") + outcomes.count("200") == 50


async def test_stop_closes_open_connections() -> None:
    lab = Lab(["hang", "trickle"])
    await lab.start()
    hang_reader, hang_writer = await open_raw_request(lab.urls["hang"])
    trickle_reader, trickle_writer = await open_raw_request(lab.urls["trickle"])
    first_byte = await asyncio.wait_for(trickle_reader.read(1), 1.0)

    await asyncio.wait_for(lab.stop(), 1.0)
    hang_rest = await asyncio.wait_for(read_until_closed(hang_reader), 1.0)
    trickle_rest = await asyncio.wait_for(read_until_closed(trickle_reader), 1.0)
    hang_writer.close()
    trickle_writer.close()

    assert first_byte == b"H"
    assert hang_rest == b""
    assert len(trickle_rest) <= 1


async def test_stop_releases_ports(client: httpx.AsyncClient) -> None:
    async with Lab(["steady"]) as lab:
        url = lab.urls["steady"]

    with pytest.raises(httpx.ConnectError):
        await client.get(url)


async def test_demo_lab_urls_in_order() -> None:
    async with Lab() as lab:
        urls = lab.urls

    assert tuple(urls) == DEMO_SERVERS
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())
    assert all(url.endswith(f"/{name}") for name, url in urls.items())
    assert len({urlsplit(url).port for url in urls.values()}) == len(DEMO_SERVERS)


async def test_targets_describe_each_server() -> None:
    async with Lab(["steady", "down"]) as lab:
        targets = lab.targets(interval_s=5.0, timeout_s=2.0)
        urls = lab.urls

    assert targets == [
        {
            "name": "steady",
            "url": urls["steady"],
            "interval_s": 5.0,
            "timeout_s": 2.0,
            "tags": ["lab"],
        },
        {"name": "down", "url": urls["down"], "interval_s": 5.0, "timeout_s": 2.0, "tags": ["lab"]},
    ]


def test_targets_reject_timeout_not_below_interval() -> None:
    lab = Lab(["steady"])
    with pytest.raises(ValueError, match="timeout_s"):
        lab.targets(interval_s=1.0, timeout_s=1.0)


def test_unknown_name_raises() -> None:
    with pytest.raises(ValueError, match="nosuch") as raised:
        Lab(["steady", "nosuch"])

    assert all(name in str(raised.value) for name in ALL_SERVERS)


def test_repeated_name_raises() -> None:
    with pytest.raises(ValueError, match="steady"):
        Lab(["steady", "steady"])


def test_host_name_raises() -> None:
    with pytest.raises(ValueError, match="localhost"):
        Lab(["steady"], host="localhost")


async def test_serve_lab_prints_json_line(client: httpx.AsyncClient) -> None:
    names = ["steady", "failing", "down"]
    output = FlushSignal()
    serving = asyncio.create_task(serve_lab(names, output, "json"))
    await asyncio.wait_for(output.flushed.wait(), 2.0)
    lines = output.getvalue().splitlines()
    urls = json.loads(lines[0])
    response = await client.get(urls["steady"])

    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving

    assert len(lines) == 1
    assert list(urls) == names
    assert response.status_code == 200


async def test_serve_lab_prints_aligned_text() -> None:
    output = FlushSignal()
    serving = asyncio.create_task(serve_lab(["flapping", "down"], output, "text"))
    await asyncio.wait_for(output.flushed.wait(), 2.0)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving

    lines = output.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("flapping  http://127.0.0.1:")
    assert lines[1].startswith("down      http://127.0.0.1:")


async def test_tls_servers_use_https_and_publish_the_lab_authority() -> None:
    async with Lab(["tls-expired", "steady"]) as lab:
        urls = lab.urls
        ca_pem = lab.ca_pem

    assert urls["tls-expired"].startswith("https://127.0.0.1:")
    assert urls["steady"].startswith("http://127.0.0.1:")
    assert ca_pem is not None
    assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


async def test_lab_without_tls_has_no_authority() -> None:
    async with Lab(["steady"]) as lab:
        assert lab.ca_pem is None


async def test_reset_sends_part_of_the_body_then_rst() -> None:
    async with Lab(["reset"]) as lab:
        reader, writer = await open_raw_request(lab.urls["reset"])
        received = b""
        with pytest.raises(ConnectionResetError):
            while chunk := await asyncio.wait_for(reader.read(65_536), 1.0):
                received += chunk
        writer.close()

    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 100000" in received


async def test_drip_sends_body_one_byte_per_second() -> None:
    async with Lab(["drip"]) as lab:
        reader, writer = await open_raw_request(lab.urls["drip"])
        received = await read_for(reader, 1.5)
        writer.close()

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert len(body) == 1


async def test_redirect_loop_points_back_at_itself(client: httpx.AsyncClient) -> None:
    async with Lab(["redirect-loop"]) as lab:
        response = await client.get(lab.urls["redirect-loop"])

    assert response.status_code == 302
    assert response.headers["location"] == "/redirect-loop"


async def test_rate_limited_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    async with Lab(["rate-limited"]) as lab:
        response = await client.get(lab.urls["rate-limited"])

    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"


async def test_serve_lab_prints_tls_and_ipv6_urls(tmp_path: Path) -> None:
    ca_file = tmp_path / "lab-ca.pem"
    output = FlushSignal()
    serving = asyncio.create_task(
        serve_lab(["tls-expired", "ipv6-only"], output, "json", ca_file=ca_file)
    )
    await asyncio.wait_for(output.flushed.wait(), 5.0)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving

    urls = json.loads(output.getvalue())
    assert urls["tls-expired"].startswith("https://127.0.0.1:")
    assert urls["ipv6-only"].startswith("http://[::1]:")
    assert ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_lab_command_rejects_unknown_name() -> None:
    result = run_nocwatch("lab", "--only", "reset,nosuch")
    assert result.returncode == 2
    assert "unknown lab server 'nosuch'; choose from:" in result.stderr
    assert "tls-wrong-host" in result.stderr
