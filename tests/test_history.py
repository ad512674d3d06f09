"""Rollups, purging and long windows against a real SQLite file."""

import asyncio
import csv
import io
import json
import random
from pathlib import Path

import pytest

from nocwatch_tui.cli import main
from nocwatch_tui.engine.history import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    coverage_pct,
    reads_rollups,
    window_rollup,
    window_series,
    window_stats,
)
from nocwatch_tui.engine.report import build_report, flatten_entry, format_csv
from nocwatch_tui.engine.retention import Retention
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.settings import RetentionSettings
from nocwatch_tui.engine.stats import summarize, summarize_rollup
from nocwatch_tui.engine.store import Store
from nocwatch_tui.engine.targets import Target

# A fixed start on a whole hour, far enough in the past for every sample to be settled.
BASE_MS = 1_780_000_000_000 // HOUR_MS * HOUR_MS
INTERVAL_S = 10.0


def synthetic_samples(target_id: int, start_ms: int, count: int, seed: int) -> list[Sample]:
    """Samples every INTERVAL_S with log-normal latencies, 5 % timeouts and 2 % 503s.

    Every 37th sample, when it passed, is flagged suspect.
    """
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        started = start_ms + int(index * INTERVAL_S * 1000)
        draw = rng.random()
        if draw < 0.05:
            samples.append(Sample(target_id, started, error=ErrorClass.TIMEOUT))
            continue
        latency = rng.lognormvariate(3.5, 0.4)
        if draw < 0.07:
            samples.append(
                Sample(
                    target_id, started, error=ErrorClass.STATUS, status_code=503, latency_ms=latency
                )
            )
            continue
        samples.append(
            Sample(
                target_id,
                started,
                status_code=200,
                latency_ms=latency,
                dns_ms=latency * 0.05,
                connect_ms=latency * 0.2,
                ttfb_ms=latency * 0.6,
                transfer_ms=latency * 0.1,
                suspect=index % 37 == 0,
            )
        )
    return samples


async def filled_store(db_path: Path, hours: int) -> tuple[Store, int]:
    store = await Store.open(db_path)
    await store.add_targets(
        [Target(name="api", url="http://127.0.0.1:9/api", interval_s=INTERVAL_S)]
    )
    target_id = (await store.list_targets())[0].id
    count = int(hours * 3600 / INTERVAL_S)
    await store.insert_samples(synthetic_samples(target_id, BASE_MS + 3_000, count, seed=7))
    return store, target_id


async def run_retention(store: Store, now: int, settings: RetentionSettings) -> None:
    retention = Retention(store, settings)
    for _ in range(10_000):
        if not await retention.step(now):
            return
    raise AssertionError("retention did not finish")


async def test_rollups_cover_every_settled_minute_and_hour(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=3)
    try:
        now = BASE_MS + 3 * HOUR_MS + 10 * MINUTE_MS
        await run_retention(store, now, RetentionSettings(raw_days=30))

        minutes = await store.rollups("minute", target_id, BASE_MS, now)
        hours = await store.rollups("hour", target_id, BASE_MS, now)
        assert len(minutes) == 180
        assert [item.start_ms for item in hours] == [BASE_MS + h * HOUR_MS for h in range(3)]
        assert sum(item.rollup.samples for item in hours) == 3 * 360
        assert await store.rollup_done_until("hour") == BASE_MS + 3 * HOUR_MS
    finally:
        await store.close()


async def test_long_window_from_rollups_agrees_with_raw(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=5)
    try:
        now = BASE_MS + 5 * HOUR_MS + 10 * MINUTE_MS
        await run_retention(store, now, RetentionSettings(raw_days=30))
        # A window with ragged edges: raw seconds, minute rollups and hour rollups.
        since = BASE_MS + 17 * MINUTE_MS + 25_000
        until = BASE_MS + 4 * HOUR_MS + 41 * MINUTE_MS + 5_000

        exact = summarize(await store.window_rows(target_id, since, until))
        estimate = summarize_rollup(await window_rollup(store, target_id, since, until))

        assert estimate.samples == exact.samples
        assert estimate.passed == exact.passed
        assert exact.suspect_samples > 0
        assert estimate.suspect_samples == exact.suspect_samples
        assert estimate.errors == exact.errors
        assert estimate.loss_pct == exact.loss_pct
        assert estimate.latency_min_ms == exact.latency_min_ms
        assert estimate.latency_max_ms == exact.latency_max_ms
        assert estimate.latency_mean_ms == pytest.approx(exact.latency_mean_ms, rel=1e-9)
        assert exact.latency_p95_ms is not None
        assert estimate.latency_p95_ms == pytest.approx(exact.latency_p95_ms, rel=0.02)
        assert exact.latency_p99_ms is not None
        assert estimate.latency_p99_ms == pytest.approx(exact.latency_p99_ms, rel=0.02)
        assert exact.jitter_ms is not None
        assert estimate.jitter_ms == pytest.approx(exact.jitter_ms, rel=1e-9)
    finally:
        await store.close()


async def test_days_roll_up_and_agree_with_raw(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=52)
    try:
        now = BASE_MS + 52 * HOUR_MS + 10 * MINUTE_MS
        await run_retention(store, now, RetentionSettings(raw_days=30))
        first_day = BASE_MS // DAY_MS * DAY_MS + DAY_MS
        # A window from the evening of the first day to the end of the third, which
        # reads the second day whole from its day rollup.
        since = BASE_MS + 7 * MINUTE_MS + 5_000
        until = BASE_MS + 51 * HOUR_MS + 33 * MINUTE_MS

        days = await store.rollups("day", target_id, 0, now)
        exact = summarize(await store.window_rows(target_id, since, until))
        estimate = summarize_rollup(await window_rollup(store, target_id, since, until))

        assert [item.start_ms for item in days] == [
            first_day - DAY_MS,
            first_day,
            first_day + DAY_MS,
        ]
        assert estimate.samples == exact.samples
        assert estimate.errors == exact.errors
        assert estimate.latency_max_ms == exact.latency_max_ms
        assert exact.latency_p95_ms is not None
        assert estimate.latency_p95_ms == pytest.approx(exact.latency_p95_ms, rel=0.02)
        assert exact.jitter_ms is not None
        assert estimate.jitter_ms == pytest.approx(exact.jitter_ms, rel=1e-9)
    finally:
        await store.close()


async def test_purge_keeps_rollups_of_deleted_samples(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=3)
    try:
        now = BASE_MS + 2 * DAY_MS
        await run_retention(store, now, RetentionSettings(raw_days=1, rollup_days=400))

        assert await store.window_rows(target_id, BASE_MS, now) == []
        stats = await window_stats(
            store, target_id, BASE_MS, BASE_MS + 3 * HOUR_MS, now_ms=now, raw_days=1
        )
        assert stats.samples == 3 * 360
        assert stats.latency_p95_ms is not None
    finally:
        await store.close()


async def test_rollups_older_than_retention_are_purged(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=2)
    try:
        now = BASE_MS + 40 * DAY_MS
        await run_retention(store, now, RetentionSettings(raw_days=1, rollup_days=400))

        assert await store.rollups("minute", target_id, 0, now) == []
        assert len(await store.rollups("hour", target_id, 0, now)) == 2

        await run_retention(store, now, RetentionSettings(raw_days=1, rollup_days=35))
        assert await store.rollups("hour", target_id, 0, now) == []
    finally:
        await store.close()


async def test_purge_deletes_only_older_samples_in_batches(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=1)
    try:
        half_hour = BASE_MS + 30 * MINUTE_MS

        first = await store.purge_samples(half_hour, 100)
        second = await store.purge_samples(half_hour, 10_000)

        assert first == 100
        assert second == 80
        remaining = await store.window_rows(target_id, BASE_MS, BASE_MS + HOUR_MS)
        assert len(remaining) == 180
        assert remaining[0].started_at_ms >= half_hour
    finally:
        await store.close()


def test_coverage_counts_one_interval_per_sample() -> None:
    assert coverage_pct(45, 10.0, 900) == 50.0
    assert coverage_pct(0, 10.0, 900) == 0.0
    assert coverage_pct(200, 10.0, 900) == 100.0


def test_long_windows_read_rollups() -> None:
    now = BASE_MS
    assert not reads_rollups(now - DAY_MS, now, now, raw_days=7)
    assert reads_rollups(now - 7 * DAY_MS, now, now, raw_days=7)
    assert reads_rollups(now - 9 * DAY_MS, now - 8 * DAY_MS, now, raw_days=7)


async def test_series_buckets_hold_every_sample(db_path: Path) -> None:
    store, target_id = await filled_store(db_path, hours=3)
    try:
        now = BASE_MS + 3 * HOUR_MS + 10 * MINUTE_MS
        await run_retention(store, now, RetentionSettings(raw_days=30))
        for since in (BASE_MS, BASE_MS - 7 * DAY_MS):
            series = await window_series(
                store, target_id, since, now, now_ms=now, raw_days=30, buckets=30
            )
            assert sum(point.samples for point in series) == 3 * 360
            stats = await window_stats(store, target_id, since, now, now_ms=now, raw_days=30)
            assert stats.suspect_samples > 0
            assert sum(point.suspect for point in series) == stats.suspect_samples
            for point in series:
                assert point.p5_ms is not None
                assert point.p50_ms is not None
                assert point.p95_ms is not None
                assert point.p5_ms <= point.p50_ms <= point.p95_ms
    finally:
        await store.close()


async def test_report_past_window_with_coverage(db_path: Path) -> None:
    store, _target_id = await filled_store(db_path, hours=1)
    try:
        report = await build_report(store, 2 * 3600, until_ms=BASE_MS + HOUR_MS + 3_000 + HOUR_MS)
    finally:
        await store.close()

    entry = report["targets"][0]
    assert report["window_s"] == 7200
    assert report["to"].endswith("Z")
    assert entry["samples"] == 360
    assert entry["coverage_pct"] == 50.0


def test_csv_flattens_nested_fields(db_path: Path) -> None:
    entry = {
        "name": "api",
        "latency_ms": {"p95": 61.7},
        "phases_p50_ms": {"dns": 1.2},
        "errors": {"timeout": 2},
        "last_error": None,
    }
    flat = flatten_entry(entry)
    assert flat["latency_p95_ms"] == 61.7
    assert flat["phases_p50_dns_ms"] == 1.2
    assert flat["errors_timeout"] == 2
    assert flat["errors_refused"] == 0
    assert flat["last_error"] is None


async def test_csv_has_one_row_per_target(db_path: Path) -> None:
    store, _target_id = await filled_store(db_path, hours=1)
    try:
        report = await build_report(store, 3600, until_ms=BASE_MS + HOUR_MS + 3_000)
    finally:
        await store.close()

    rows = list(csv.DictReader(io.StringIO(format_csv(report))))
    assert len(rows) == 1
    assert rows[0]["name"] == "api"
    assert rows[0]["samples"] == "360"
    assert float(rows[0]["latency_p95_ms"]) == report["targets"][0]["latency_ms"]["p95"]
    assert rows[0]["phases_p50_tls_ms"] == ""


def test_cli_report_from_to(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def fill() -> None:
        store, _target_id = await filled_store(db_path, hours=1)
        await store.close()

    asyncio.run(fill())
    since, until = iso(BASE_MS), iso(BASE_MS + HOUR_MS)
    arguments = ["report", "--db", str(db_path), "--from", since, "--to", until]

    code = main([*arguments, "--format", "json"])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["window_s"] == 3600
    assert report["from"] == since
    assert report["to"] == until
    assert report["targets"][0]["samples"] == 360
    assert report["targets"][0]["coverage_pct"] == 100.0


def iso(epoch_ms: int) -> str:
    from nocwatch_tui.engine.report import iso_utc

    text = iso_utc(epoch_ms)
    assert text is not None
    return text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "yesterday"], "--from 'yesterday': not an ISO 8601 time"),
        (["--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z"], "is not after --from"),
    ],
)
def test_cli_report_bad_times_exit_2(
    db_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code = main(["report", "--db", str(db_path), *arguments])
    assert code == 2
    assert message in capsys.readouterr().err
