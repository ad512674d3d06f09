"""A database with fixed targets, samples and incidents, for console tests and snapshots."""

import asyncio
from pathlib import Path

from nocwatch_tui.engine.incidents import (
    IncidentChange,
    IncidentEvent,
    Kind,
    OpenIncident,
    Severity,
    acknowledge,
    write_changes,
)
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.targets import Target

STEADY_LATENCIES = [21.0, 22.5, 20.8, 23.1, 21.7, 22.0, 25.4, 21.2, 20.9, 22.3]
JITTERY_LATENCIES = [35.0, 80.2, 41.0, None, 110.3, 52.0, 28.4, 95.1, None, 61.0]


def fixture_targets() -> list[Target]:
    return [
        Target(name="steady", url="http://127.0.0.1:9/steady", interval_s=2, timeout_s=1),
        Target(name="jittery", url="http://127.0.0.1:9/jittery", interval_s=2, timeout_s=1),
        Target(name="down", url="http://127.0.0.1:9/down", interval_s=2, timeout_s=1),
        Target(name="[bold red]x[/]", url="http://127.0.0.1:9/markup", interval_s=2, timeout_s=1),
        Target(name="idle", url="http://127.0.0.1:9/idle", interval_s=2, timeout_s=1),
    ]


def _phases(latency_ms: float) -> dict[str, float]:
    """Split a latency into phases: 5 % dns, 20 % connect, 60 % ttfb and 15 % transfer."""
    return {
        "dns_ms": latency_ms * 0.05,
        "connect_ms": latency_ms * 0.2,
        "ttfb_ms": latency_ms * 0.6,
        "transfer_ms": latency_ms * 0.15,
    }


def _samples(target_ids: dict[str, int], start_ms: int) -> list[Sample]:
    samples = []
    for index, latency in enumerate(STEADY_LATENCIES):
        samples.append(
            Sample(
                target_ids["steady"],
                start_ms + index * 2000,
                latency_ms=latency,
                status_code=200,
                **_phases(latency),
            )
        )
    for index, latency in enumerate(JITTERY_LATENCIES):
        error = None if latency is not None else ErrorClass.TIMEOUT
        samples.append(
            Sample(
                target_ids["jittery"],
                start_ms + index * 2000,
                error=error,
                latency_ms=latency,
                status_code=200 if latency else None,
                **(_phases(latency) if latency else {}),
            )
        )
    for index in range(10):
        samples.append(
            Sample(
                target_ids["down"],
                start_ms + index * 2000,
                error=ErrorClass.REFUSED,
                error_detail="connection refused",
            )
        )
    for index in range(4):
        samples.append(
            Sample(
                target_ids["[bold red]x[/]"],
                start_ms + index * 2000,
                latency_ms=100.0 + index,
                status_code=200,
            )
        )
    return samples


# Open incidents are this old, so their durations read 2h30m for the 40 s after creation.
OPEN_AGE_MS = (2 * 3600 + 30 * 60 + 20) * 1000


def _opened(
    target_ids: dict[str, int], name: str, kind: Kind, severity: Severity, at_ms: int, peak: float
) -> IncidentChange:
    incident = OpenIncident(target_ids[name], name, kind, severity, at_ms, peak)
    return IncidentChange(IncidentEvent.OPENED, incident, severity, peak, at_ms)


async def _add_incidents(store: Store, target_ids: dict[str, int], now: int) -> None:
    """Add a resolved latency incident, an acknowledged loss one and an open down one."""
    resolved = _opened(
        target_ids, "steady", Kind.LATENCY, Severity.WARNING, now - 6 * 3600_000, 640.0
    )
    await write_changes(store, [resolved])
    end = IncidentChange(
        IncidentEvent.RESOLVED, resolved.incident, Severity.WARNING, 640.0, now - 5 * 3600_000
    )
    await write_changes(store, [end])

    loss = _opened(target_ids, "jittery", Kind.LOSS, Severity.WARNING, now - OPEN_AGE_MS, 20.0)
    await write_changes(store, [loss])
    assert loss.incident.id is not None
    await acknowledge(store, loss.incident.id, "alice", now - 3600_000)

    down = _opened(target_ids, "down", Kind.DOWN, Severity.CRITICAL, now - OPEN_AGE_MS, 10.0)
    await write_changes(store, [down])


async def _fill(db_path: Path, at_ms: int) -> None:
    store = await Store.open(db_path)
    try:
        await store.add_targets(fixture_targets())
        ids = {stored.target.name: stored.id for stored in await store.list_targets()}
        await store.insert_samples(_samples(ids, at_ms - 60_000))
        # Incident durations are shown against the real clock, so they are anchored to it.
        await _add_incidents(store, ids, now_ms())
    finally:
        await store.close()


def make_console_database(db_path: Path, at_ms: int | None = None) -> Path:
    """Create the database with samples in the minute before `at_ms` (default now)."""
    asyncio.run(_fill(db_path, now_ms() if at_ms is None else at_ms))
    return db_path
