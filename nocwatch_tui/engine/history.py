"""Window statistics over any span of the past, from raw samples or from rollups.

Windows of up to RAW_MAX_WINDOW_S whose start is still inside the raw retention
period are computed exactly from raw samples. Longer windows, and windows that
reach back beyond the raw period, are added up from rollups. Whole UTC days come
from day rollups, whole hours from hour rollups and whole minutes from minute
rollups. The partial minutes at the edges come from raw samples while they are
kept.
Percentiles from rollups are within 1.5 % of the exact ones; see
`nocwatch_tui.engine.stats.rollup`.
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


LEVELS = (("minute", MINUTE_MS), ("hour", HOUR_MS), ("day", DAY_MS))
"""Rollup kinds from the finest to the coarsest, with the span of each rollup."""


@dataclass(frozen=True, slots=True)
class _Segment:
    """A part of a window read from one source: `raw` samples or rollups of one kind."""

    kind: str
    since_ms: int
    until_ms: int


def _nest(
    level: int, since_ms: int, until_ms: int, done: dict[str, int | None], coarsest: int
) -> list[_Segment]:
    """Cover [since_ms, until_ms) with `level` rollups, using coarser ones wherever they fit."""
    kind = LEVELS[level][0]
    if level + 1 <= coarsest:
        coarser_kind, unit_ms = LEVELS[level + 1]
        coarser_done = done[coarser_kind]
        if coarser_done is not None:
            inner_since = _ceil(since_ms, unit_ms)
            inner_until = min(_floor(until_ms, unit_ms), coarser_done)
            if inner_since < inner_until:
                return [
                    _Segment(kind, since_ms, inner_since),
                    *_nest(level + 1, inner_since, inner_until, done, coarsest),
                    _Segment(kind, inner_until, until_ms),
                ]
    return [_Segment(kind, since_ms, until_ms)]


async def _plan(
    store: Store, since_ms: int, until_ms: int, coarsest: int = len(LEVELS) - 1
) -> list[_Segment]:
    """Split a window into raw edges and rollups, the coarsest that fit, in time order."""
    done = {kind: await store.rollup_done_until(kind) for kind, _unit_ms in LEVELS}
    minutes_from = min(_ceil(since_ms, MINUTE_MS), until_ms)
    minutes_until = minutes_from
    minute_done = done["minute"]
    if minute_done is not None:
        minutes_until = max(minutes_from, min(_floor(until_ms, MINUTE_MS), minute_done))

    segments = [_Segment("raw", since_ms, minutes_from)]
    if minutes_from < minutes_until:
        segments += _nest(0, minutes_from, minutes_until, done, coarsest)
    segments.append(_Segment("raw", minutes_until, until_ms))
    return [segment for segment in segments if segment.since_ms < segment.until_ms]


async def _raw_rollup(store: Store, target_id: int, since_ms: int, until_ms: int) -> Rollup:
    if since_ms >= until_ms:
        return Rollup()
    rows = await store.window_rows(target_id, since_ms, until_ms)
    previous = await store.sample_before(target_id, since_ms) if rows else None
    return rollup_rows(rows, previous)


async def window_rollup(store: Store, target_id: int, since_ms: int, until_ms: int) -> Rollup:
    """Add up one target's window [since_ms, until_ms) from rollups and raw edges.

    A jitter pair is counted in the span of its second sample, so the first pair
    of a window that starts on a whole minute may reach back before it.
    """
    total = Rollup()
    for index, segment in enumerate(await _plan(store, since_ms, until_ms)):
        if segment.kind != "raw":
            part = await store.sum_rollups(
                segment.kind, target_id, segment.since_ms, segment.until_ms
            )
        elif index == 0:
            # The head starts a fresh jitter sequence, because its first pair
            # would reach back before the window.
            part = rollup_rows(
                await store.window_rows(target_id, segment.since_ms, segment.until_ms)
            )
        else:
            part = await _raw_rollup(store, target_id, segment.since_ms, segment.until_ms)
        total.merge(part)
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
    suspect: int
    """Samples in the bucket taken while the engine's event loop ran late."""


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
        suspect=rollup.suspect_samples,
    )


async def _pieces(
    store: Store, target_id: int, since_ms: int, until_ms: int, *, now_ms: int, raw_days: int
) -> list[tuple[int, Rollup]]:
    """Split a window into small rollups in time order: per raw sample, minute or hour."""
    if not reads_rollups(since_ms, until_ms, now_ms, raw_days):
        rows = await store.window_rows(target_id, since_ms, until_ms)
        singles: list[tuple[int, Rollup]] = []
        previous = None
        for row in rows:
            single = Rollup()
            single.add(row, previous)
            singles.append((row.started_at_ms, single))
            previous = row
        return singles

    # Day rollups are coarser than a chart's buckets, so hours are the coarsest read here.
    pieces: list[tuple[int, Rollup]] = []
    for index, segment in enumerate(await _plan(store, since_ms, until_ms, coarsest=1)):
        if segment.kind != "raw":
            stored = await store.rollups(
                segment.kind, target_id, segment.since_ms, segment.until_ms
            )
            pieces += [(item.start_ms, item.rollup) for item in stored]
        elif index == 0:
            head = await store.window_rows(target_id, segment.since_ms, segment.until_ms)
            pieces += [(row.started_at_ms, rollup_rows([row])) for row in head]
        else:
            tail = await _raw_rollup(store, target_id, segment.since_ms, segment.until_ms)
            if tail.samples:
                pieces.append((segment.since_ms, tail))
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
