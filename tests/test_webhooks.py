"""Webhook notifications: outbox, routing, formats, retries and restarts, with real receivers."""

import asyncio
import json
import logging
import random
import signal
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from nocwatch_tui.engine import outbox
from nocwatch_tui.engine.outbox import enqueue_incident_event, webhook_id
from nocwatch_tui.engine.runtime import Engine
from nocwatch_tui.engine.settings import Settings, WebhookSettings, load_settings
from nocwatch_tui.engine.store import Store
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.engine.webhooks import RetryPolicy, WebhookSender, render
from nocwatch_tui.lab import Lab

from conftest import run_nocwatch, wait_until
from webhook_receiver import Receiver

SECRET = "s3cret-T0KEN"
INCIDENT = {
    "id": 42,
    "target": "api",
    "kind": "down",
    "severity": "critical",
    "opened_at": "2026-12-04T19:00:00Z",
    "peak_value": 3,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "notes": [],
}
PAYLOAD_FIELDS = {"event", "idempotency_key", "incident", "target", "site", "sent_at"}
FAST = RetryPolicy(timeout_s=0.5, backoff_base_s=0.2, backoff_max_s=1.0, give_up_after_s=30)


def api_target(url: str = "https://api.example.net/health", tags=()) -> Target:
    return Target(name="api", url=url, tags=list(tags), interval_s=10, timeout_s=5)


def outbox_rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def pending_for(db: Path, url: str, key: str = "42:opened") -> dict[str, Any]:
    rows = [
        row
        for row in outbox_rows(db)
        if row["webhook"] == webhook_id(url) and row["idempotency_key"] == key
    ]
    assert len(rows) == 1
    return rows[0]


def state_of(db: Path, url: str) -> str | None:
    rows = [row for row in outbox_rows(db) if row["webhook"] == webhook_id(url)]
    return rows[0]["state"] if rows else None


async def record(store: Store, event: str, incident=INCIDENT, target: Target | None = None) -> bool:
    async with store.transaction() as db:
        target = target or api_target()
        return await enqueue_incident_event(db, event, incident, target, target.name)


async def run_sender(sender: WebhookSender, until, timeout_s: float = 10) -> None:
    task = asyncio.create_task(sender.run())
    try:
        for _ in range(int(timeout_s / 0.05)):
            if until():
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_event_recorded_once_per_incident_event(store: Store) -> None:
    assert await record(store, "opened")
    assert not await record(store, "opened")
    assert await record(store, "resolved")

    rows = outbox_rows(store.path)
    assert [row["idempotency_key"] for row in rows] == ["42:opened", "42:resolved"]
    assert [row["state"] for row in rows] == ["new", "new"]


async def test_event_rolled_back_with_caller_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as db:
            await enqueue_incident_event(db, "opened", INCIDENT, api_target(), "api")
            raise RuntimeError("the incident change failed")

    assert outbox_rows(store.path) == []


async def test_unknown_event_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown incident event"):
        await record(store, "reopened")


@pytest.mark.parametrize(
    ("webhook", "severity", "tags", "wanted"),
    [
        ({}, "warning", [], True),
        ({"min_severity": "critical"}, "warning", [], False),
        ({"min_severity": "critical"}, "critical", [], True),
        ({"tags": ["db"]}, "critical", ["web"], False),
        ({"tags": ["db"]}, "critical", ["web", "db"], True),
        ({"targets": ["api"]}, "warning", [], True),
        ({"targets": ["other"]}, "warning", [], False),
        ({"targets": ["other"], "tags": ["web"]}, "warning", ["web"], True),
    ],
)
def test_routing_by_severity_tags_and_targets(webhook, severity, tags, wanted) -> None:
    settings = WebhookSettings(url="http://127.0.0.1:9/hook", **webhook)
    assert outbox.matches(settings, severity, "api", tags) is wanted


async def test_route_new_creates_one_row_per_matching_webhook(store: Store) -> None:
    await record(store, "opened", {**INCIDENT, "severity": "warning"}, api_target(tags=["web"]))
    hooks = [
        WebhookSettings(url="http://127.0.0.1:9/all"),
        WebhookSettings(url="http://127.0.0.1:9/critical", min_severity="critical"),
        WebhookSettings(url="http://127.0.0.1:9/web", tags=["web"], format="slack"),
    ]

    assert await outbox.route_new(store.connection, hooks) == 2
    assert await outbox.route_new(store.connection, hooks) == 0

    rows = outbox_rows(store.path)
    states = sorted((row["webhook"], row["state"]) for row in rows)
    assert states == sorted(
        [
            ("", "routed"),
            (webhook_id("http://127.0.0.1:9/all"), "pending"),
            (webhook_id("http://127.0.0.1:9/web"), "pending"),
        ]
    )
    assert all(SECRET not in str(row) for row in rows)


def test_json_payload_schema() -> None:
    payload = {
        **outbox.event_payload("opened", INCIDENT, api_target(), "api"),
        "site": "lis1",
        "sent_at": "2026-12-04T19:00:01Z",
    }
    body = render("json", payload)
    assert set(body) == PAYLOAD_FIELDS
    assert body["idempotency_key"] == "42:opened"
    assert body["incident"] == INCIDENT
    assert body["target"] == {"name": "api", "url": "https://api.example.net/health"}


def test_slack_and_discord_bodies() -> None:
    target = Target(name="<!channel> @everyone", url="http://127.0.0.1:9/", interval_s=10)
    payload = {**outbox.event_payload("opened", INCIDENT, target, target.name), "site": "lis1"}

    slack = render("slack", payload)
    discord = render("discord", payload)

    assert set(slack) == {"text"}
    assert "&lt;!channel&gt;" in slack["text"]
    assert "CRITICAL down incident opened" in slack["text"]
    assert "site lis1" in slack["text"]
    assert discord["allowed_mentions"] == {"parse": []}
    assert "CRITICAL down incident opened" in discord["content"]


def test_backoff_doubles_within_jitter_and_cap() -> None:
    policy = RetryPolicy(backoff_base_s=2, backoff_max_s=10)
    rng = random.Random(7)
    delays = [policy.delay_s(attempt, rng) for attempt in (1, 2, 3, 4, 5)]
    for delay, step in zip(delays, (2, 4, 8, 10, 10), strict=True):
        assert step / 2 <= delay <= step


def test_webhook_url_must_be_http(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f'[[webhooks]]\nurl = "ftp://hooks.example.net/{SECRET}"\n')
    with pytest.raises(Exception, match="must be an http or https URL") as caught:
        load_settings(path)
    assert SECRET not in str(caught.value)


async def test_sender_retries_failing_and_times_out_hanging(
    lab: Lab, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nocwatch")
    async with Receiver(fail_first=2) as flaky, Receiver(hang=True) as hanging:
        flaky_url = f"{flaky.url}/hook/{SECRET}"
        hanging_url = f"{hanging.url}/services/{SECRET}"
        settings = Settings.model_validate(
            {
                "metrics": {"site": "lab1"},
                "webhooks": [
                    {"url": flaky_url, "format": "json"},
                    {"url": hanging_url, "format": "slack"},
                ],
            }
        )
        store = await Store.open(db_path)
        await store.add_targets(
            [Target(name="steady", url=lab.urls["steady"], interval_s=0.25, timeout_s=0.2)]
        )
        await record(store, "opened")
        engine = Engine(store, settings)
        engine.sender.policy = FAST
        engine.sender.poll_s = 0.05
        stop = asyncio.Event()
        started_s = time.monotonic()
        running = asyncio.create_task(engine.run(stop))
        try:
            for _ in range(200):
                if flaky.delivered and hanging.requests:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # time for a duplicate, were one to be sent
        finally:
            stop.set()
            await running
            ran_s = time.monotonic() - started_s
            await store.close()

    # Under load the steady target may open an incident of its own; its
    # notifications have another key and are left out here.
    attempts = [r for r in flaky.requests if r.headers["idempotency-key"] == "42:opened"]
    assert [request.status for request in attempts] == [500, 500, 200]
    body = attempts[2].json()
    assert set(body) == PAYLOAD_FIELDS
    assert body["site"] == "lab1"
    assert body["incident"] == INCIDENT
    first_gap = attempts[1].at_s - attempts[0].at_s
    second_gap = attempts[2].at_s - attempts[1].at_s
    assert first_gap >= FAST.backoff_base_s / 2
    assert second_gap >= FAST.backoff_base_s

    assert "text" in hanging.requests[0].json()
    sent = pending_for(db_path, flaky_url)
    assert sent["state"] == "sent"
    assert sent["attempts"] == 3
    hung = pending_for(db_path, hanging_url)
    assert hung["state"] == "pending"
    assert hung["attempts"] >= 1
    assert "timed out" in hung["last_error"]

    # Probing kept its schedule while one receiver hung and the other failed.
    with sqlite3.connect(db_path) as connection:
        probes, passed = connection.execute(
            "SELECT count(*), sum(error IS NULL) FROM samples"
        ).fetchone()
    assert probes >= 0.8 * ran_s / 0.25
    assert passed >= 0.8 * probes

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in logged
    assert "/hook/" not in logged
    assert "to 127.0.0.1 (attempt 3)" in logged


async def test_sender_gives_up_on_permanent_rejection(store: Store) -> None:
    await record(store, "opened")
    async with Receiver(status=404) as gone:
        url = f"{gone.url}/hook"
        sender = WebhookSender(store.path, [WebhookSettings(url=url)], "", FAST, poll_s=0.05)
        await run_sender(sender, lambda: state_of(store.path, url) == "failed")

    assert len(gone.requests) == 1
    assert pending_for(store.path, url)["last_error"] == "HTTP 404"


async def test_sender_gives_up_after_bounded_time(store: Store) -> None:
    await record(store, "opened")
    async with Receiver(status=503) as broken:
        url = f"{broken.url}/hook"
        policy = RetryPolicy(
            timeout_s=0.5, backoff_base_s=0.1, backoff_max_s=0.2, give_up_after_s=1
        )
        sender = WebhookSender(store.path, [WebhookSettings(url=url)], "", policy, poll_s=0.05)
        await run_sender(sender, lambda: state_of(store.path, url) == "failed")

    row = pending_for(store.path, url)
    assert row["state"] == "failed"
    assert row["attempts"] == len(broken.requests)
    assert len(broken.requests) >= 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_restart_after_sigkill_delivers_exactly_once(
    db_path: Path, tmp_path: Path, serve_process
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook/{SECRET}"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[[webhooks]]\nurl = "{url}"\n')
    store = await Store.open(db_path)
    await record(store, "opened")
    await store.close()
    arguments = ("--db", str(db_path), "--settings", str(settings), "--listen", "off")

    # The receiver is not up yet, so the first engine's attempt is refused.
    first = serve_process(*arguments)
    assert await asyncio.to_thread(
        wait_until, lambda: any(row["attempts"] for row in outbox_rows(db_path)), 15
    )
    first.stop(signal.SIGKILL)

    async with Receiver(port=port) as receiver:
        second = serve_process(*arguments)
        for _ in range(300):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        assert second.stop() == 0

        third = serve_process(*arguments)
        await asyncio.sleep(3.0)
        assert third.stop() == 0

    assert len(receiver.requests) == 1
    assert receiver.requests[0].json()["idempotency_key"] == "42:opened"
    assert pending_for(db_path, url)["state"] == "sent"
    for process in (second, third):
        assert SECRET not in process.log_text()
        assert "/hook" not in process.log_text()


def lab_settings(folder: Path, url: str) -> Path:
    path = folder / "settings.toml"
    path.write_text(f'[metrics]\nsite = "lab1"\n[[webhooks]]\nurl = "{url}"\n')
    return path


def lab_targets(folder: Path, url: str) -> Path:
    path = folder / "targets.json"
    path.write_text(json.dumps([{"name": "web", "url": url, "interval_s": 0.3, "timeout_s": 0.25}]))
    return path


def point_target_at(db: Path, url: str) -> None:
    with sqlite3.connect(db) as connection:
        spec = json.loads(connection.execute("SELECT spec FROM targets").fetchone()[0])
        spec["url"] = url
        connection.execute(
            "UPDATE targets SET spec = ?, updated_at_ms = updated_at_ms + 1", (json.dumps(spec),)
        )


async def wait_for_requests(receiver: Receiver, count: int, timeout_s: float = 20) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if len(receiver.requests) >= count:
            return
        await asyncio.sleep(0.05)


async def test_incident_events_of_failing_target_delivered_once_each(
    lab: Lab, db_path: Path, tmp_path: Path, serve_process
) -> None:
    async with Receiver() as receiver:
        serve = serve_process(
            "--db",
            str(db_path),
            "--targets",
            str(lab_targets(tmp_path, lab.urls["failing"])),
            "--settings",
            str(lab_settings(tmp_path, f"{receiver.url}/hook/{SECRET}")),
            "--listen",
            "off",
        )
        await wait_for_requests(receiver, 1)
        opened = receiver.requests[0].json()

        acknowledged = await asyncio.to_thread(
            run_nocwatch, "incidents", "ack", str(opened["incident"]["id"]), "--db", str(db_path)
        )
        assert acknowledged.returncode == 0, acknowledged.stderr
        await wait_for_requests(receiver, 2)

        point_target_at(db_path, lab.urls["steady"])
        await wait_for_requests(receiver, 3)
        await asyncio.sleep(1.5)  # time for a duplicate, were one to be sent
        assert serve.stop() == 0

    events = [request.json()["event"] for request in receiver.requests]
    assert events == ["opened", "acknowledged", "resolved"]
    keys = {request.json()["idempotency_key"] for request in receiver.requests}
    assert len(keys) == 3
    assert opened["incident"]["kind"] == "down"
    assert opened["incident"]["target"] == "web"
    assert opened["target"] == {"name": "web", "url": lab.urls["failing"]}
    assert opened["site"] == "lab1"
    assert receiver.requests[2].json()["incident"]["resolved_at"] is not None
    assert SECRET not in serve.log_text()


async def test_sigkill_between_incident_and_send_delivers_once(
    lab: Lab, db_path: Path, tmp_path: Path, serve_process
) -> None:
    port = free_port()
    arguments = (
        "--db",
        str(db_path),
        "--targets",
        str(lab_targets(tmp_path, lab.urls["failing"])),
        "--settings",
        str(lab_settings(tmp_path, f"http://127.0.0.1:{port}/hook")),
        "--listen",
        "off",
    )

    # Nothing listens on the webhook's port yet, so the opened incident's
    # notification is committed but cannot be sent before the kill.
    first = serve_process(*arguments)

    def opened_committed() -> bool:
        try:
            rows = outbox_rows(db_path)
        except sqlite3.OperationalError:  # the engine has not created the schema yet
            return False
        return any(row["event"] == "opened" and row["webhook"] for row in rows)

    assert await asyncio.to_thread(wait_until, opened_committed, 20)
    first.stop(signal.SIGKILL)

    async with Receiver(port=port) as receiver:
        second = serve_process(*arguments)
        await wait_for_requests(receiver, 1)
        await asyncio.sleep(2.0)  # the target still fails: no second incident, no second send
        assert second.stop() == 0

    assert [request.json()["event"] for request in receiver.requests] == ["opened"]
    with sqlite3.connect(db_path) as connection:
        incidents = connection.execute("SELECT count(*) FROM incidents").fetchone()[0]
    assert incidents == 1
