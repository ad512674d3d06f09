"""Rollups and purging: keeps months of history without the database growing without bound.

Each completed minute of samples is rolled up per target once the slowest probe
that could still land in it has had time to be written. Each completed hour is
rolled up from its minutes, and each completed UTC day from its hours. Raw
samples older than `raw_days` are deleted once rolled up, minute rollups
MINUTE_ROLLUP_EXTRA_DAYS after them, and hour and day rollups after
`rollup_days`. Each step handles a small batch (BATCH_MINUTES of samples or
PURGE_BATCH_ROWS rows) in its own short transaction on the retention's own
connection, so the writer waits for at most one batch.
"""

import asyncio
import logging
import sqlite3
from itertools import groupby

from nocwatch_tui.engine.history import DAY_MS, HOUR_MS, MINUTE_MS
from nocwatch_tui.engine.settings import RetentionSettings
from nocwatch_tui.engine.stats import Rollup, SampleRow
from nocwatch_tui.engine.store import Store, StoredRollup, now_ms

log = logging.getLogger("nocwatch.retention")

MINUTE_ROLLUP_EXTRA_DAYS = 1
"""Days minute rollups outlive raw samples.

Minute rollups only serve the partial hours at the edges of long windows. They
take about two thirds of the space of the samples they replace (see
docs/benchmarks.md), so they are not kept for months. A window that starts
before them loses at most the minutes before its first whole hour.
"""
BATCH_MINUTES = 10
BATCH_HOURS = 6
BATCH_DAYS = 1
PURGE_BATCH_ROWS = 2_000
SETTLE_MARGIN_S = 10.0
BUSY_PAUSE_S = 0.05
IDLE_PAUSE_S = 10.0


def _minute_rollups(
    target_id: int, rows: list[SampleRow], previous: SampleRow | None
) -> list[StoredRollup]:
    """Roll up one target's time-ordered samples per minute."""
    rollups = []
    for minute_ms, minute_rows in groupby(rows, key=lambda row: row.started_at_ms // MINUTE_MS):
        rollup = Rollup()
        for row in minute_rows:
            rollup.add(row, previous)
            previous = row
        rollups.append(StoredRollup(target_id, minute_ms * MINUTE_MS, rollup))
    return rollups


class Retention:
    """Rolls up and purges in small batches until cancelled."""

    def __init__(self, store: Store, settings: RetentionSettings) -> None:
        self._store = store
        self._settings = settings

    async def run(self) -> None:
        """Work whenever something is due; a database error is logged and retried later."""
        while True:
            try:
                busy = await self.step(now_ms())
            except sqlite3.Error as error:
                log.error("rollup or purge failed, retrying in %g s: %s", IDLE_PAUSE_S, error)
                busy = False
            await asyncio.sleep(BUSY_PAUSE_S if busy else IDLE_PAUSE_S)

    async def step(self, now: int) -> bool:
        """Do one small batch of each kind of work that is due; tell whether more is due."""
        targets = await self._store.list_targets()
        target_ids = [stored.id for stored in targets]
        slowest_s = max((stored.target.timeout_s for stored in targets), default=0.0)
        settle_ms = int((slowest_s + SETTLE_MARGIN_S) * 1000)

        busy = await self._roll_minutes(target_ids, now - settle_ms)
        busy = await self._roll_coarser("hour", "minute", HOUR_MS, BATCH_HOURS, target_ids) or busy
        busy = await self._roll_coarser("day", "hour", DAY_MS, BATCH_DAYS, target_ids) or busy
        busy = await self._purge(target_ids, now) or busy
        return busy

    async def _roll_minutes(self, target_ids: list[int], settled_ms: int) -> bool:
        limit = settled_ms // MINUTE_MS * MINUTE_MS
        done = await self._store.rollup_done_until("minute")
        if done is None:
            first = await self._store.first_sample_at_ms()
            if first is None:
                return False
            done = first // MINUTE_MS * MINUTE_MS
        if done >= limit:
            return False

        until = min(done + BATCH_MINUTES * MINUTE_MS, limit)
        rollups: list[StoredRollup] = []
        for target_id in target_ids:
            rows = await self._store.window_rows(target_id, done, until)
            if rows:
                previous = await self._store.sample_before(target_id, done)
                rollups += _minute_rollups(target_id, rows, previous)
        if not rollups:
            # Skip a stretch without samples, such as days when the engine was stopped.
            following = await self._store.next_sample_at_ms(target_ids, until)
            if following is not None:
                until = min(max(until, following // MINUTE_MS * MINUTE_MS), limit)
            else:
                until = limit
        await self._store.write_rollups("minute", rollups, until)
        return until < limit

    async def _roll_coarser(
        self, kind: str, finer: str, unit_ms: int, batch: int, target_ids: list[int]
    ) -> bool:
        """Roll up completed hours from minutes, or completed days from hours."""
        finer_done = await self._store.rollup_done_until(finer)
        if finer_done is None:
            return False
        limit = finer_done // unit_ms * unit_ms
        done = await self._store.rollup_done_until(kind)
        if done is None:
            first = await self._store.first_rollup_at_ms(finer, target_ids)
            if first is None:
                return False
            done = first // unit_ms * unit_ms
        if done >= limit:
            return False

        until = min(done + batch * unit_ms, limit)
        rollups: list[StoredRollup] = []
        for start_ms in range(done, until, unit_ms):
            for target_id in target_ids:
                rollup = await self._store.sum_rollups(
                    finer, target_id, start_ms, start_ms + unit_ms
                )
                if rollup.samples:
                    rollups.append(StoredRollup(target_id, start_ms, rollup))
        await self._store.write_rollups(kind, rollups, until)
        return until < limit

    async def _purge(self, target_ids: list[int], now: int) -> bool:
        busy = False
        minutes_done = await self._store.rollup_done_until("minute")
        if minutes_done is not None:
            raw_cutoff = min(now - self._settings.raw_days * DAY_MS, minutes_done)
            deleted = await self._store.purge_samples(raw_cutoff, PURGE_BATCH_ROWS)
            busy = deleted >= PURGE_BATCH_ROWS

        # A rollup is purged only once the next coarser kind covers its span.
        hours_done = await self._store.rollup_done_until("hour")
        days_done = await self._store.rollup_done_until("day")
        minute_days = min(
            self._settings.rollup_days, self._settings.raw_days + MINUTE_ROLLUP_EXTRA_DAYS
        )
        rollup_cutoff = now - self._settings.rollup_days * DAY_MS
        cutoffs = {"day": rollup_cutoff}
        if hours_done is not None:
            cutoffs["minute"] = min(now - minute_days * DAY_MS, hours_done)
        if days_done is not None:
            cutoffs["hour"] = min(rollup_cutoff, days_done)
        per_target = max(1, PURGE_BATCH_ROWS // max(1, len(target_ids)))
        for kind, cutoff in cutoffs.items():
            for target_id in target_ids:
                deleted = await self._store.purge_rollups(kind, target_id, cutoff, per_target)
                busy = busy or deleted >= per_target
        return busy
