"""Each hostile lab server against the prober: error class, detail and deadline."""

import asyncio
import json
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nocwatch_tui.engine.prober import MAX_REDIRECTS, Prober
from nocwatch_tui.engine.sample import ErrorClass
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab
from nocwatch_tui.lab.behaviours import HOSTILE_SERVERS

from conftest import nocwatch_command

TIMEOUT_S = 1.0
DEADLINE_S = TIMEOUT_S * 1.1


@pytest.fixture
async def hostile_lab() -> AsyncIterator[Lab]:
    async with Lab(HOSTILE_SERVERS) as running:
        yield running


@pytest.fixture
async def prober(hostile_lab: Lab) -> AsyncIterator[Prober]:
    running = Prober(extra_ca_pem=hostile_lab.ca_pem)
    try:
        yield running
    finally:
        await running.aclose()


def hostile_target(lab: Lab, server: str, **fields: object) -> Target:
    return Target.model_validate(
        {"name": server, "url": lab.urls[server], "interval_s": 2, "timeout_s": TIMEOUT_S, **fields}
    )


async def timed_probe(prober: Prober, target: Target):
    started = time.perf_counter()
    sample = await prober.probe(target, 1)
    return sample, time.perf_counter() - started


FAILING = [
    ("hang", ErrorClass.TIMEOUT, "timed out after 1 s during response headers"),
    ("trickle", ErrorClass.TIMEOUT, "timed out after 1 s during response headers"),
    ("close", ErrorClass.CLOSED, "Server disconnected without sending a response"),
    ("reset", ErrorClass.CLOSED, "connection reset"),
    ("drip", ErrorClass.TIMEOUT, "timed out after 1 s during body"),
    ("redirect-loop", ErrorClass.REDIRECTS, f"more than {MAX_REDIRECTS} redirects"),
    ("bad-status-line", ErrorClass.PROTOCOL, "malformed response: illegal status line"),
    ("rate-limited", ErrorClass.STATUS, "HTTP 429, Retry-After 120"),
    ("tls-self-signed", ErrorClass.TLS, "chain check failed: self-signed certificate"),
    ("tls-expired", ErrorClass.TLS, "validity dates check failed: certificate has expired"),
    ("tls-wrong-host", ErrorClass.TLS, "host name check failed: IP address mismatch"),
]


@pytest.mark.parametrize(("server", "error", "detail"), FAILING)
async def test_hostile_server_error_class_and_deadline(
    hostile_lab: Lab, prober: Prober, server: str, error: ErrorClass, detail: str
) -> None:
    sample, elapsed_s = await timed_probe(prober, hostile_target(hostile_lab, server))
    assert sample.error is error
    assert sample.error_detail is not None
    assert detail in sample.error_detail
    assert elapsed_s < DEADLINE_S


@pytest.mark.parametrize("server", ["huge", "endless"])
async def test_endless_bodies_pass_after_64_kib(
    hostile_lab: Lab, prober: Prober, server: str
) -> None:
    target = hostile_target(hostile_lab, server, body_contains="x" * 10)
    sample, elapsed_s = await timed_probe(prober, target)
    assert sample.error is None
    assert sample.status_code == 200
    # NOTE: an estimate; reading 1 GB over loopback takes seconds, 64 KiB milliseconds.
    assert elapsed_s < 0.5


async def test_huge_body_check_reads_64_kib(hostile_lab: Lab, prober: Prober) -> None:
    target = hostile_target(hostile_lab, "huge", body_contains="y")
    sample, elapsed_s = await timed_probe(prober, target)
    assert sample.error is ErrorClass.BODY
    assert elapsed_s < DEADLINE_S


async def test_rate_limited_keeps_status_code(hostile_lab: Lab, prober: Prober) -> None:
    sample, _ = await timed_probe(prober, hostile_target(hostile_lab, "rate-limited"))
    assert sample.status_code == 429
    assert sample.latency_ms is not None


async def test_ipv6_only_listener_answers_on_loopback(hostile_lab: Lab, prober: Prober) -> None:
    url = hostile_lab.urls["ipv6-only"]
    sample, _ = await timed_probe(prober, hostile_target(hostile_lab, "ipv6-only"))
    assert url.startswith("http://[::1]:")
    assert sample.error is None


async def test_unresolvable_name_fails_within_deadline(prober: Prober) -> None:
    target = Target(name="nowhere", url="http://nowhere.invalid/", interval_s=2, timeout_s=1)
    sample, elapsed_s = await timed_probe(prober, target)
    assert sample.error is ErrorClass.DNS
    assert sample.error_detail is not None
    assert "nowhere.invalid" in sample.error_detail
    assert elapsed_s < DEADLINE_S


async def test_expiring_certificate_days_recorded(hostile_lab: Lab, prober: Prober) -> None:
    sample, _ = await timed_probe(prober, hostile_target(hostile_lab, "tls-expiring"))
    assert sample.error is None
    assert sample.cert_days_left is not None
    assert 6.9 < sample.cert_days_left <= 7.0


async def test_expired_certificate_days_negative(hostile_lab: Lab, prober: Prober) -> None:
    target = hostile_target(hostile_lab, "tls-expired", verify_tls=False)
    sample, _ = await timed_probe(prober, target)
    assert sample.error is None
    assert sample.cert_days_left is not None
    assert -1.01 < sample.cert_days_left < -0.99


async def test_plain_http_has_no_certificate_days(hostile_lab: Lab, prober: Prober) -> None:
    sample, _ = await timed_probe(prober, hostile_target(hostile_lab, "ipv6-only"))
    assert sample.cert_days_left is None


async def test_lab_certificates_untrusted_by_default(hostile_lab: Lab) -> None:
    plain = Prober()
    try:
        sample = await plain.probe(hostile_target(hostile_lab, "tls-expiring"), 1)
    finally:
        await plain.aclose()
    assert sample.error is ErrorClass.TLS
    assert sample.error_detail is not None
    assert "chain check failed: unable to get local issuer certificate" in sample.error_detail


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


async def test_proxy_environment_is_ignored(
    hostile_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(await reader.read(1024))
        writer.close()

    proxy = await asyncio.start_server(record, "127.0.0.1", 0)
    proxy_url = f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}"
    for variable in PROXY_VARIABLES:
        monkeypatch.setenv(variable, proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    prober = Prober(extra_ca_pem=hostile_lab.ca_pem)
    try:
        plain = await prober.probe(hostile_target(hostile_lab, "ipv6-only"), 1)
        tls = await prober.probe(hostile_target(hostile_lab, "tls-expiring"), 1)
    finally:
        await prober.aclose()
        proxy.close()
        await proxy.wait_closed()

    assert plain.error is None
    assert tls.error is None
    assert connections == []


async def test_serve_probes_hostile_servers_once_per_interval(
    hostile_lab: Lab, tmp_path: Path
) -> None:
    db = tmp_path / "hostile.db"
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps(hostile_lab.targets(interval_s=1.0, timeout_s=0.9)))
    process = await asyncio.create_subprocess_exec(
        *nocwatch_command(
            "serve", "--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"
        ),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(4.5)
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), 20)

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT t.name, count(s.id), max(s.started_at_ms) - min(s.started_at_ms)"
            " FROM targets t JOIN samples s ON s.target_id = t.id GROUP BY t.name"
        ).fetchall()
    connection.close()
    counts = {name: count for name, count, _span in rows}
    spans_ms = {name: span for name, _count, span in rows}
    assert returncode == 0
    assert set(counts) == set(HOSTILE_SERVERS)
    # One probe per interval: a span of N - 1 intervals for N samples, never a burst.
    for name in HOSTILE_SERVERS:
        assert 2 <= counts[name] <= 5, name
        assert spans_ms[name] >= (counts[name] - 1) * 900, name
