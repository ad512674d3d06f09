"""Window statistics over any span of the past, from raw samples or from rollups.

Windows of up to RAW_MAX_WINDOW_S whose start is still inside the raw retention
period are computed exactly from raw samples. Longer windows, and windows that
reach back beyond the raw period, are added up from rollups: whole hours from
hourly rollups, whole minutes from minute rollups and the partial minutes at the
edges from raw samples while they are kept. Percentiles from rollups are within
1.5 % of the exact ones; see `nocwatch_tui.engine.stats.rollup`.
"""

import math
from dataclasses import dataclass

from nocwatch_tui.engine.stats import Rollup, WindowStats, rollup_rows, summarize
from nocwatch_tui.engine.stats.histogram import histogram_percentiles
from nocwatch_tui.engine.stats.rollup import LATENCY, summarize_rollup
from nocwatch_tui.engine.store import Store

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
RAW_MAX_WINDOW_S = 24 * 60 * 60
"""Maximum window length computed from raw samples; longer windows read rollups."""


def coverage_pct(samples: int, interval_s: float, window_s: float) -> float:
    """Return the share of a window, in %, that the target's samples account for.

    Each sample accounts for one probe interval (the target's `interval_s` now),
    so coverage = min(100, samples × interval_s ÷ window_s × 100). Time when the
    engine did not run, or the target was paused or did not exist yet, has no
    samples: it lowers coverage and is left out of loss and availability, which
    count only probes attempted.
    """
    if window_s <= 0:
        return 0.0
    return min(100.0, samples * interval_s / window_s * 100.0)


def reads_rollups(since_ms: int, until_ms: int, now_ms: int, raw_days: int) -> bool:
    """Tell whether a window is computed from rollups rather than raw samples."""
    too_long = until_ms - since_ms > RAW_MAX_WINDOW_S * 1000
    before_raw = since_ms < now_ms - raw_days * DAY_MS
    return too_long or before_raw


def _ceil(value_ms: int, step_ms: int) -> int:
    return -(-value_ms // step_ms) * step_ms


def _floor(value_ms: int, step_ms: int) -> int:
    return value_ms // step_ms * step_ms


@dataclass(frozen=True, slots=True)
class _Plan:
    """The split of a window into raw edges, minute rollups and hour rollups, in time order."""

    since_ms: int
    minutes_from_ms: int
    hours_from_ms: int
    hours_until_ms: int
    minutes_until_ms: int
    until_ms: int


async def _plan(store: Store, since_ms: int, until_ms: int) -> _Plan:
    minute_done = await store.rollup_done_until("minute")
    hour_done = await store.rollup_done_until("hour")

    minutes_from = min(_ceil(since_ms, MINUTE_MS), until_ms)
    minutes_until = minutes_from
    if minute_done is not None:
        minutes_until = max(minutes_from, min(_floor(until_ms, MINUTE_MS), minute_done))

    hours_from = hours_until = minutes_until
    if hour_done is not None:
        first_hour = _ceil(minutes_from, HOUR_MS)
        last_hour = min(_floor(minutes_until, HOUR_MS), hour_done)
        if first_hour < last_hour:
            hours_from, hours_until = first_hour, last_hour
    return _Plan(since_ms, minutes_from, hours_from, hours_until, minutes_until, until_ms)


async def _raw_rollup(store: Store, target_id: int, since_ms: int, until_ms: int) -> Rollup:
    if since_ms >= until_ms:
        return Rollup()
    rows = await store.window_rows(target_id, since_ms, until_ms)
    previous = await store.sample_before(target_id, since_ms) if rows else None
    return rollup_rows(rows, previous)


async def window_rollup(store: Store, target_id: int, since_ms: int, until_ms: int) -> Rollup:
    """Add up one target's window [since_ms, until_ms) from rollups and raw edges.

    A jitter pair is counted in the minute of its second sample, so the first
    pair of a window that starts on a whole minute may reach back before it.
    """
    plan = await _plan(store, since_ms, until_ms)
    # The head edge starts a fresh jitter sequence: its first pair would reach
    # back before the window.
    head_rows = await store.window_rows(target_id, plan.since_ms, plan.minutes_from_ms)
    total = rollup_rows(head_rows)
    total.merge(
        await store.sum_rollups("minute", target_id, plan.minutes_from_ms, plan.hours_from_ms)
    )
    total.merge(await store.sum_rollups("hour", target_id, plan.hours_from_ms, plan.hours_until_ms))
    total.merge(
        await store.sum_rollups("minute", target_id, plan.hours_until_ms, plan.minutes_until_ms)
    )
    total.merge(await _raw_rollup(store, target_id, plan.minutes_until_ms, plan.until_ms))
    return total


async def window_stats(
    store: Store, target_id: int, since_ms: int, until_ms: int, *, now_ms: int, raw_days: int
) -> WindowStats:
    """Compute one target's statistics over [since_ms, until_ms), exactly when raw samples allow."""
    if reads_rollups(since_ms, until_ms, now_ms, raw_days):
        return summarize_rollup(await window_rollup(store, target_id, since_ms, until_ms))
    return summarize(await store.window_rows(target_id, since_ms, until_ms))


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """The latency distribution and jitter of one time bucket of a window, for charts."""

    start_ms: int
    samples: int
    failed: int
    p5_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    mean_ms: float | None
    jitter_ms: float | None


def _point(start_ms: int, rollup: Rollup) -> SeriesPoint:
    low, high = rollup.latency_min_ms, rollup.latency_max_ms
    spread = histogram_percentiles(rollup.histograms[LATENCY], (5.0, 50.0, 95.0), low, high)
    mean = rollup.latency_sum_ms / rollup.latency_count if rollup.latency_count else None
    jitter = rollup.jitter_sum_ms / rollup.jitter_pairs if rollup.jitter_pairs else None
    return SeriesPoint(
        start_ms=start_ms,
        samples=rollup.samples,
        failed=rollup.samples - rollup.passed,
        p5_ms=spread[5.0],
        p50_ms=spread[50.0],
        p95_ms=spread[95.0],
        mean_ms=mean,
        jitter_ms=jitter,
    )


async def _pieces(
    store: Store, target_id: int, since_ms: int, until_ms: int, *, now_ms: int, raw_days: int
) -> list[tuple[int, Rollup]]:
    """Split a window into small rollups in time order: per raw sample, minute or hour."""
    if not reads_rollups(since_ms, until_ms, now_ms, raw_days):
        rows = await store.window_rows(target_id, since_ms, until_ms)
        pieces = []
        previous = None
        for row in rows:
            single = Rollup()
            single.add(row, previous)
            pieces.append((row.started_at_ms, single))
            previous = row
        return pieces

    plan = await _plan(store, since_ms, until_ms)
    # NOTE: pieces read minute rollups one by one, which suits the detail screen's
    # one target; whole-window figures use `window_rollup`, which sums in SQLite.
    stored = [
        *await store.rollups("minute", target_id, plan.minutes_from_ms, plan.hours_from_ms),
        *await store.rollups("hour", target_id, plan.hours_from_ms, plan.hours_until_ms),
        *await store.rollups("minute", target_id, plan.hours_until_ms, plan.minutes_until_ms),
    ]
    head = await store.window_rows(target_id, plan.since_ms, plan.minutes_from_ms)
    tail_rollup = await _raw_rollup(store, target_id, plan.minutes_until_ms, plan.until_ms)
    pieces = [(row.started_at_ms, rollup_rows([row])) for row in head]
    pieces += [(item.start_ms, item.rollup) for item in stored]
    if tail_rollup.samples:
        pieces.append((plan.minutes_until_ms, tail_rollup))
    return pieces


async def window_series(
    store: Store,
    target_id: int,
    since_ms: int,
    until_ms: int,
    *,
    now_ms: int,
    raw_days: int,
    buckets: int = 60,
) -> list[SeriesPoint]:
    """Split a window into `buckets` equal time buckets and describe each one that has samples."""
    span_ms = max(1, until_ms - since_ms)
    merged: dict[int, Rollup] = {}
    pieces = await _pieces(store, target_id, since_ms, until_ms, now_ms=now_ms, raw_days=raw_days)
    for start_ms, rollup in pieces:
        index = min(buckets - 1, max(0, (start_ms - since_ms) * buckets // span_ms))
        merged.setdefault(index, Rollup()).merge(rollup)
    bucket_ms = span_ms / buckets
    return [
        _point(since_ms + math.floor(index * bucket_ms), rollup)
        for index, rollup in sorted(merged.items())
    ]
