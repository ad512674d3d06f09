"""The outbox: incident notifications written to SQLite before any webhook is called.

An incident change inserts one `new` row per event with
`enqueue_incident_event`, inside the transaction that changes the incident,
so a notification exists exactly when its change is committed. The engine's
sender routes each `new` row to the configured webhooks as one `pending` row
per webhook, sends them, and marks each `sent`, or `failed` when it gives up.
A row's key (webhook id, idempotency key) is unique, so an event recorded
twice, or routed again after a restart, is sent once.

Webhooks are named in the database by `webhook_id`, a digest of the URL, so
that the URL itself, a secret, is never stored.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from nocwatch_tui.engine.settings import WebhookSettings
from nocwatch_tui.engine.store import now_ms
from nocwatch_tui.engine.targets import Target

EVENTS = ("opened", "escalated", "acknowledged", "resolved")
SEVERITY_RANK = {"warning": 1, "critical": 2}

# Row states: `new` (recorded, not routed yet), `routed` (turned into pending
# rows), `pending` (waiting to be sent to one webhook), `sent` and `failed`.
NEW = "new"
ROUTED = "routed"
PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A pending notification for one webhook."""

    id: int
    webhook: str
    idempotency_key: str
    event: str
    payload: dict[str, Any]
    attempts: int
    created_at_ms: int


def webhook_id(url: str) -> str:
    """Return the name of a webhook in the database: a digest of its URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def idempotency_key(incident_id: int, event: str) -> str:
    """Return the key that is the same on every retry of one incident event."""
    return f"{incident_id}:{event}"


def event_payload(
    event: str, incident: Mapping[str, Any], target: Target | None, target_name: str
) -> dict[str, Any]:
    """Build the stored body of a notification; the sender adds `site` and `sent_at`.

    A target deleted since the incident opened has a null `url`.
    """
    return {
        "event": event,
        "idempotency_key": idempotency_key(int(incident["id"]), event),
        "incident": dict(incident),
        "target": {"name": target_name, "url": None if target is None else target.public_url()},
    }


async def enqueue_incident_event(
    db: aiosqlite.Connection,
    event: str,
    incident: Mapping[str, Any],
    target: Target | None,
    target_name: str,
    at_ms: int | None = None,
) -> bool:
    """Record a notification of an incident event, in the caller's open transaction.

    `incident` is the object of `nocwatch incidents --format json` (`id`,
    `target`, `kind`, `severity`, ...), and `target` the target's current
    definition, or None if it was deleted. It runs one INSERT and never begins
    or commits, so the caller commits it with the incident change. Returns
    False when this event of this incident was already recorded.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown incident event {event!r}; expected one of {EVENTS}")
    stamp = now_ms() if at_ms is None else at_ms
    payload = event_payload(event, incident, target, target_name)
    cursor = await db.execute(
        "INSERT OR IGNORE INTO outbox (idempotency_key, webhook, event, severity, target_name,"
        " target_tags, payload, state, created_at_ms, next_attempt_at_ms)"
        " VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            payload["idempotency_key"],
            event,
            str(incident["severity"]),
            target_name,
            json.dumps([] if target is None else list(target.tags)),
            json.dumps(payload),
            NEW,
            stamp,
            stamp,
        ),
    )
    inserted = cursor.rowcount == 1
    await cursor.close()
    return inserted


def matches(webhook: WebhookSettings, severity: str, target_name: str, tags: Sequence[str]) -> bool:
    """Tell whether a webhook wants a notification of this severity about this target."""
    if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[webhook.min_severity]:
        return False
    if not webhook.tags and not webhook.targets:
        return True
    return target_name in webhook.targets or bool(set(webhook.tags) & set(tags))


async def route_new(db: aiosqlite.Connection, webhooks: Sequence[WebhookSettings]) -> int:
    """Turn every `new` row into one `pending` row per matching webhook, in one transaction.

    Returns how many pending rows were created.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute(
            "SELECT id, idempotency_key, event, severity, target_name, target_tags, payload,"
            " created_at_ms FROM outbox WHERE state = ? ORDER BY id",
            (NEW,),
        ) as cursor:
            rows = list(await cursor.fetchall())
        created = 0
        stamp = now_ms()
        for row_id, key, event, severity, name, tags, payload, created_at_ms in rows:
            for webhook in webhooks:
                if not matches(webhook, severity, name, json.loads(tags)):
                    continue
                inserted = await db.execute(
                    "INSERT OR IGNORE INTO outbox (idempotency_key, webhook, event, severity,"
                    " target_name, target_tags, payload, state, created_at_ms,"
                    " next_attempt_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        webhook_id(webhook.url),
                        event,
                        severity,
                        name,
                        tags,
                        payload,
                        PENDING,
                        created_at_ms,
                        stamp,
                    ),
                )
                created += inserted.rowcount
                await inserted.close()
            await db.execute(
                "UPDATE outbox SET state = ?, done_at_ms = ? WHERE id = ?", (ROUTED, stamp, row_id)
            )
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    await db.execute("COMMIT")
    return created


async def due_deliveries(db: aiosqlite.Connection, at_ms: int, limit: int) -> list[Delivery]:
    """Return pending rows whose next attempt is due, oldest first."""
    async with db.execute(
        "SELECT id, webhook, idempotency_key, event, payload, attempts, created_at_ms"
        " FROM outbox WHERE state = ? AND next_attempt_at_ms <= ? ORDER BY id LIMIT ?",
        (PENDING, at_ms, limit),
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        Delivery(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6]) for row in rows
    ]


async def backlog(db: aiosqlite.Connection) -> int:
    """Return how many notifications wait to be routed or sent."""
    async with db.execute(
        "SELECT count(*) FROM outbox WHERE state IN (?, ?)", (NEW, PENDING)
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def mark_sent(db: aiosqlite.Connection, delivery_id: int, attempts: int) -> None:
    """Record that a notification was delivered."""
    await db.execute(
        "UPDATE outbox SET state = ?, attempts = ?, done_at_ms = ?, last_error = NULL WHERE id = ?",
        (SENT, attempts, now_ms(), delivery_id),
    )


async def mark_retry(
    db: aiosqlite.Connection, delivery_id: int, attempts: int, next_at_ms: int, error: str
) -> None:
    """Record a failed attempt and when the next one is due."""
    await db.execute(
        "UPDATE outbox SET attempts = ?, next_attempt_at_ms = ?, last_error = ? WHERE id = ?",
        (attempts, next_at_ms, error, delivery_id),
    )


async def mark_failed(
    db: aiosqlite.Connection, delivery_id: int, attempts: int, error: str
) -> None:
    """Record that the sender gave up on a notification."""
    await db.execute(
        "UPDATE outbox SET state = ?, attempts = ?, done_at_ms = ?, last_error = ? WHERE id = ?",
        (FAILED, attempts, now_ms(), error, delivery_id),
    )
