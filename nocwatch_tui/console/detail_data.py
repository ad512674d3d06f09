"""Everything the target detail screen shows, read from the database in one step."""

from dataclasses import dataclass

from nocwatch_tui.engine.history import SeriesPoint, coverage_pct, window_series, window_stats
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.store import ErrorRecord, Store, StoredTarget

SERIES_BUCKETS = 60
LAST_ERRORS = 10


@dataclass(frozen=True, slots=True)
class DetailData:
    """One target's window statistics, chart series, newest probe and last errors."""

    stored: StoredTarget
    window_s: int
    until_ms: int
    stats: WindowStats
    coverage_pct: float
    series: list[SeriesPoint]
    bucket_ms: float
    last: Sample | None
    errors: list[ErrorRecord]


async def read_detail(
    store: Store, target_id: int, window_s: int, now_ms: int, raw_days: int
) -> DetailData | None:
    """Read a target's detail over the window that ends at `now_ms`; None if it was deleted."""
    stored = next((item for item in await store.list_targets() if item.id == target_id), None)
    if stored is None:
        return None

    since_ms = now_ms - window_s * 1000
    stats = await window_stats(store, target_id, since_ms, now_ms, now_ms=now_ms, raw_days=raw_days)
    series = await window_series(
        store,
        target_id,
        since_ms,
        now_ms,
        now_ms=now_ms,
        raw_days=raw_days,
        buckets=SERIES_BUCKETS,
    )
    newest = await store.newest_samples(target_id, 1)
    return DetailData(
        stored=stored,
        window_s=window_s,
        until_ms=now_ms,
        stats=stats,
        coverage_pct=coverage_pct(stats.samples, stored.target.interval_s, window_s),
        series=series,
        bucket_ms=window_s * 1000 / SERIES_BUCKETS,
        last=newest[-1].sample if newest else None,
        errors=await store.recent_error_records(target_id, LAST_ERRORS),
    )
