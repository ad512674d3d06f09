"""Incidents: the stored record, its changes and the queries of the engine, console and CLI.

Every change of an incident is one write transaction, and every event an
operator or a webhook cares about (opened, escalated, acknowledged, resolved)
passes through `record_event` inside that transaction.
"""

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiosqlite

from nocwatch_tui.engine.outbox import enqueue_incident_event
from nocwatch_tui.engine.store import Store
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.incidents")

# Resolved incidents listed besides the open ones, newest first.
RECENT_LIMIT = 200


class Kind(StrEnum):
    """The kind of condition an incident reports."""

    DOWN = "down"
    LATENCY = "latency"
    JITTER = "jitter"
    LOSS = "loss"


class Severity(StrEnum):
    """The severity of an incident, which only rises while the incident is open."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Return a number that grows with the severity."""
        return 1 if self is Severity.WARNING else 2


class IncidentEvent(StrEnum):
    """A change of an incident that operators and webhooks are notified of."""

    OPENED = "opened"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as stored in the database, with times in UTC epoch milliseconds."""

    id: int
    target_id: int
    target: str
    kind: Kind
    severity: Severity
    opened_at_ms: int
    peak_value: float | None
    acknowledged_at_ms: int | None
    acknowledged_by: str | None
    resolved_at_ms: int | None
    notes: list[str]

    @property
    def is_open(self) -> bool:
        """Tell whether the incident is not resolved yet."""
        return self.resolved_at_ms is None

    @property
    def is_acknowledged(self) -> bool:
        """Tell whether an operator acknowledged the incident."""
        return self.acknowledged_at_ms is not None


@dataclass(slots=True)
class OpenIncident:
    """The detector's live copy of an open incident; `id` is set once it is written."""

    target_id: int
    target_name: str
    kind: Kind
    severity: Severity
    opened_at_ms: int
    peak_value: float | None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """One step of an open incident, with the values it had at that step."""

    event: IncidentEvent | None
    """None for a new peak value alone."""
    incident: OpenIncident
    severity: Severity
    peak_value: float | None
    at_ms: int


class IncidentNotFoundError(LookupError):
    """No incident has the id given."""


_COLUMNS = (
    "i.id, i.target_id, coalesce(t.name, i.target_name), i.kind, i.severity, i.opened_at_ms,"
    " i.peak_value, i.acknowledged_at_ms, i.acknowledged_by, i.resolved_at_ms, i.notes"
)
_FROM = "FROM incidents i LEFT JOIN targets t ON t.id = i.target_id"
_NEXT_REVISION = "(SELECT coalesce(max(revision), 0) + 1 FROM incidents)"


def _incident_from_row(row: Sequence[Any]) -> Incident:
    return Incident(
        id=row[0],
        target_id=row[1],
        target=row[2],
        kind=Kind(row[3]),
        severity=Severity(row[4]),
        opened_at_ms=row[5],
        peak_value=row[6],
        acknowledged_at_ms=row[7],
        acknowledged_by=row[8],
        resolved_at_ms=row[9],
        notes=[str(note) for note in json.loads(row[10])],
    )


async def _fetch_one(db: aiosqlite.Connection, incident_id: int) -> Incident | None:
    async with db.execute(f"SELECT {_COLUMNS} {_FROM} WHERE i.id = ?", (incident_id,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _incident_from_row(row)


async def record_event(
    db: aiosqlite.Connection, event: IncidentEvent, incident_id: int, at_ms: int
) -> None:
    """Record an incident event, which happened at `at_ms`, inside the transaction of its change.

    The event's webhook notification goes into the outbox with `db`, in this same
    transaction, so it is queued exactly when the change commits.
    """
    # incident_list imports this module, so its import waits until it is needed.
    from nocwatch_tui.engine.incident_list import incident_object

    incident = await _fetch_one(db, incident_id)
    if incident is None:
        return
    async with db.execute("SELECT spec FROM targets WHERE id = ?", (incident.target_id,)) as cursor:
        row = await cursor.fetchone()
    target = None if row is None else Target.model_validate_json(row[0])
    await enqueue_incident_event(
        db, str(event), incident_object(incident), target, incident.target, at_ms
    )
    log.info(
        "incident %d %s: %s %s on %r",
        incident.id,
        event,
        incident.severity,
        incident.kind,
        incident.target,
    )


# Engine writes


async def write_changes(store: Store, changes: Sequence[IncidentChange]) -> None:
    """Write the detector's incident changes, in order, in one transaction."""
    if not changes:
        return
    async with store.transaction() as db:
        for change in changes:
            await _write_change(db, change)


async def _write_change(db: aiosqlite.Connection, change: IncidentChange) -> None:
    live = change.incident
    if change.event is IncidentEvent.OPENED:
        cursor = await db.execute(
            "INSERT INTO incidents (target_id, target_name, kind, severity, opened_at_ms,"
            f" peak_value, revision) VALUES (?, ?, ?, ?, ?, ?, {_NEXT_REVISION})",
            (
                live.target_id,
                live.target_name,
                str(live.kind),
                str(change.severity),
                live.opened_at_ms,
                change.peak_value,
            ),
        )
        live.id = cursor.lastrowid
    else:
        resolved_at_ms = change.at_ms if change.event is IncidentEvent.RESOLVED else None
        await db.execute(
            "UPDATE incidents SET severity = ?, peak_value = ?,"
            f" resolved_at_ms = ?, revision = {_NEXT_REVISION} WHERE id = ?",
            (str(change.severity), change.peak_value, resolved_at_ms, live.id),
        )
    if change.event is not None and live.id is not None:
        await record_event(db, change.event, live.id, change.at_ms)


async def resolve_deleted_targets(store: Store, target_ids: Iterable[int], at_ms: int) -> list[int]:
    """Resolve the open incidents of targets not in `target_ids`, and return their ids.

    Nothing probes a deleted target any more, so its incidents could never
    resolve on their own. Each one gets a note with the reason, and its
    resolution goes to the webhooks like any other.
    """
    existing = set(target_ids)
    orphans = [
        incident for incident in await open_incidents(store) if incident.target_id not in existing
    ]
    if not orphans:
        return []
    async with store.transaction() as db:
        for incident in orphans:
            live = OpenIncident(
                incident.target_id,
                incident.target,
                incident.kind,
                incident.severity,
                incident.opened_at_ms,
                incident.peak_value,
                id=incident.id,
            )
            change = IncidentChange(
                IncidentEvent.RESOLVED, live, incident.severity, incident.peak_value, at_ms
            )
            await _write_change(db, change)
            await _append_note(db, incident.id, _("resolved: the target was deleted"))
    return [incident.id for incident in orphans]


# Operator writes


async def acknowledge(
    store: Store, incident_id: int, operator: str, at_ms: int, note: str | None = None
) -> tuple[Incident, bool]:
    """Acknowledge an incident; return it and whether this call acknowledged it."""
    async with store.transaction() as db:
        cursor = await db.execute(
            "UPDATE incidents SET acknowledged_at_ms = ?, acknowledged_by = ?,"
            f" revision = {_NEXT_REVISION} WHERE id = ? AND acknowledged_at_ms IS NULL",
            (at_ms, operator, incident_id),
        )
        acknowledged = cursor.rowcount > 0
        if note:
            await _append_note(db, incident_id, note)
        if acknowledged:
            await record_event(db, IncidentEvent.ACKNOWLEDGED, incident_id, at_ms)
        incident = await _fetch_one(db, incident_id)
    if incident is None:
        raise IncidentNotFoundError(incident_id)
    return incident, acknowledged


async def acknowledge_open(store: Store, operator: str, at_ms: int) -> list[int]:
    """Acknowledge every open, unacknowledged incident; return their ids."""
    async with store.connection.execute(
        "SELECT id FROM incidents WHERE resolved_at_ms IS NULL AND acknowledged_at_ms IS NULL"
        " ORDER BY id"
    ) as cursor:
        ids = [int(row[0]) for row in await cursor.fetchall()]
    done = []
    for incident_id in ids:
        _incident, acknowledged = await acknowledge(store, incident_id, operator, at_ms)
        if acknowledged:
            done.append(incident_id)
    return done


async def _append_note(db: aiosqlite.Connection, incident_id: int, note: str) -> None:
    await db.execute(
        "UPDATE incidents SET notes = json_insert(notes, '$[#]', ?),"
        f" revision = {_NEXT_REVISION} WHERE id = ?",
        (note, incident_id),
    )


async def add_note(store: Store, incident_id: int, note: str) -> Incident:
    """Append a note to an incident and return it."""
    async with store.transaction() as db:
        await _append_note(db, incident_id, note)
        incident = await _fetch_one(db, incident_id)
    if incident is None:
        raise IncidentNotFoundError(incident_id)
    return incident


# Reads


async def get_incident(store: Store, incident_id: int) -> Incident | None:
    """Return one incident, or None when no incident has this id."""
    return await _fetch_one(store.connection, incident_id)


async def open_incidents(store: Store) -> list[Incident]:
    """Return every open incident, oldest first."""
    async with store.connection.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE i.resolved_at_ms IS NULL ORDER BY i.id"
    ) as cursor:
        rows = await cursor.fetchall()
    return [_incident_from_row(row) for row in rows]


async def list_incidents(
    store: Store, *, open_only: bool = False, recent_limit: int | None = None
) -> list[Incident]:
    """Return incidents newest first: the open ones, and resolved ones up to `recent_limit`."""
    where = "i.resolved_at_ms IS NULL"
    if not open_only:
        where = "1 = 1"
        if recent_limit is not None:
            where = (
                "i.resolved_at_ms IS NULL OR i.id IN"
                f" (SELECT id FROM incidents ORDER BY id DESC LIMIT {int(recent_limit)})"
            )
    async with store.connection.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY i.opened_at_ms DESC, i.id DESC"
    ) as cursor:
        rows = await cursor.fetchall()
    return [_incident_from_row(row) for row in rows]


async def incidents_revision(store: Store) -> int:
    """Return a number that grows whenever an incident is written."""
    async with store.connection.execute(
        "SELECT coalesce(max(revision), 0) FROM incidents"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def peak_unit(kind: Kind) -> str:
    """Return the unit of an incident's peak value."""
    units = {
        Kind.DOWN: _("failed"),
        Kind.LATENCY: "ms",
        Kind.JITTER: "ms",
        Kind.LOSS: "%",
    }
    return units[kind]
