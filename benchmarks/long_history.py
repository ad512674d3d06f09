"""Benchmark of long history: 100 targets × 30 days at a 10 s interval.

Builds the database with the store's own code: raw samples for the last 7 days,
hour rollups for the 23 days before them (and minute rollups for their last
day, as retention keeps them), then the engine's own retention steps roll up
the raw period and every day. Then it times one target's p95 over
24 h, 7 d and 30 d, the whole report over 15 m, `nocwatch report --window 30d
--format json` as a process, and the console's first full frame, and checks the
30-day p95 of every target against the exact p95 of the regenerated samples.

Run: .venv/bin/python benchmarks/long_history.py [--db PATH] [--keep]
"""

import argparse
import asyncio
import json
import math
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from nocwatch_tui.engine.history import DAY_MS, HOUR_MS, MINUTE_MS, window_stats
from nocwatch_tui.engine.report import build_report
from nocwatch_tui.engine.retention import MINUTE_ROLLUP_EXTRA_DAYS, Retention
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.settings import RetentionSettings
from nocwatch_tui.engine.stats import Rollup, SampleRow, percentile
from nocwatch_tui.engine.store import Store, StoredRollup, now_ms
from nocwatch_tui.engine.targets import Target

TARGETS = 100
DAYS = 30
RAW_DAYS = 7
INTERVAL_MS = 10_000
INSERT_BATCH = 50_000
REPEATS = 5


def synthetic(target_index: int, since_ms: int, until_ms: int) -> Iterator[Sample]:
    """Yield a target's samples in [since_ms, until_ms): log-normal latency with a daily wave.

    Sample times are multiples of INTERVAL_MS and each UTC day has its own random
    stream, so any span gives the same samples on every call. About 1 % of probes
    time out and 0.5 % get a 503.
    """
    shape = random.Random(target_index)
    base_ms = 10.0 + 190.0 * shape.random()
    sigma = 0.15 + 0.35 * shape.random()
    target_id = target_index + 1
    for day_ms in range(since_ms // DAY_MS * DAY_MS, until_ms, DAY_MS):
        rng = random.Random(target_index * 1_000_000 + day_ms // DAY_MS)
        for started in range(day_ms, day_ms + DAY_MS, INTERVAL_MS):
            draw = rng.random()
            variation = rng.lognormvariate(0.0, sigma)
            if since_ms <= started < until_ms:
                yield _sample(target_id, started, draw, base_ms * variation)


def _sample(target_id: int, started: int, draw: float, latency: float) -> Sample:
    """Build one sample from its random draw; the daily wave scales the latency."""
    latency *= 1.0 + 0.3 * math.sin(2 * math.pi * (started % DAY_MS) / DAY_MS)
    if draw < 0.01:
        return Sample(target_id, started, error=ErrorClass.TIMEOUT)
    if draw < 0.015:
        return Sample(
            target_id, started, error=ErrorClass.STATUS, status_code=503, latency_ms=latency
        )
    return Sample(
        target_id,
        started,
        status_code=200,
        latency_ms=latency,
        dns_ms=latency * 0.04,
        connect_ms=latency * 0.18,
        tls_ms=latency * 0.22,
        ttfb_ms=latency * 0.5,
        transfer_ms=latency * 0.06,
    )


def _row(sample: Sample) -> SampleRow:
    return SampleRow(
        sample.started_at_ms,
        None if sample.error is None else str(sample.error),
        sample.latency_ms,
        sample.dns_ms,
        sample.connect_ms,
        sample.tls_ms,
        sample.ttfb_ms,
        sample.transfer_ms,
    )


def old_rollups(
    target_index: int, since_ms: int, raw_from_ms: int
) -> tuple[list[StoredRollup], list[StoredRollup]]:
    """Roll up a target's samples before the raw period per minute and per hour.

    Minute rollups are returned only for the day before the raw period, as the
    engine's retention keeps them.
    """
    minutes: list[StoredRollup] = []
    hours: dict[int, Rollup] = {}
    current: Rollup | None = None
    current_minute = -1
    previous: SampleRow | None = None
    target_id = target_index + 1
    for sample in synthetic(target_index, since_ms, raw_from_ms):
        minute_ms = sample.started_at_ms // MINUTE_MS * MINUTE_MS
        if minute_ms != current_minute:
            current = Rollup()
            current_minute = minute_ms
            minutes.append(StoredRollup(target_id, minute_ms, current))
        row = _row(sample)
        assert current is not None
        current.add(row, previous)
        previous = row
    for stored in minutes:
        hour_ms = stored.start_ms // HOUR_MS * HOUR_MS
        hours.setdefault(hour_ms, Rollup()).merge(stored.rollup)
    minutes_kept_from = raw_from_ms - MINUTE_ROLLUP_EXTRA_DAYS * DAY_MS
    kept = [stored for stored in minutes if stored.start_ms >= minutes_kept_from]
    return kept, [StoredRollup(target_id, start, rollup) for start, rollup in hours.items()]


async def build(db_path: Path, end_ms: int) -> dict[str, float]:
    """Write the benchmark database and return how long each part took, in seconds."""
    since_ms = end_ms - DAYS * DAY_MS
    raw_from_ms = end_ms - RAW_DAYS * DAY_MS
    figures: dict[str, float] = {}
    store = await Store.open(db_path)
    try:
        await store.add_targets(
            Target(name=f"target-{index:03d}", url=f"http://127.0.0.1:9/{index}")
            for index in range(TARGETS)
        )

        started = time.perf_counter()
        for index in range(TARGETS):
            minutes, hours = old_rollups(index, since_ms, raw_from_ms)
            await store.write_rollups("minute", minutes, raw_from_ms)
            await store.write_rollups("hour", hours, raw_from_ms)
        figures["old rollups written (23 days)"] = time.perf_counter() - started

        started = time.perf_counter()
        batch: list[Sample] = []
        for index in range(TARGETS):
            for sample in synthetic(index, raw_from_ms, end_ms):
                batch.append(sample)
                if len(batch) >= INSERT_BATCH:
                    await store.insert_samples(batch)
                    batch = []
        if batch:
            await store.insert_samples(batch)
        figures["raw samples inserted (7 days)"] = time.perf_counter() - started

        started = time.perf_counter()
        retention = Retention(store, RetentionSettings(raw_days=RAW_DAYS))
        while await retention.step(end_ms + 5 * MINUTE_MS):
            pass
        figures["retention rolled up 7 days of raw samples"] = time.perf_counter() - started
    finally:
        await store.close()
    return figures


async def _timed(run: Callable[[], Awaitable[None]], repeats: int = REPEATS) -> float:
    """Return the median wall time of `repeats` runs, in seconds."""
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


async def time_queries(db_path: Path) -> dict[str, float]:
    """Time one target's window statistics and the whole 15-minute report."""
    store = await Store.open(db_path, create=False)
    figures = {}
    try:
        now = now_ms()
        for label, window_ms in (("24h", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS)):

            async def one(window_ms: int = window_ms) -> None:
                await window_stats(store, 50, now - window_ms, now, now_ms=now, raw_days=RAW_DAYS)

            figures[f"one target's statistics over {label}"] = await _timed(one)

        async def report() -> None:
            await build_report(store, 15 * 60)

        figures["whole report over 15m (in process)"] = await _timed(report)
    finally:
        await store.close()
    return figures


def time_report_process(db_path: Path) -> tuple[float, dict[str, Any]]:
    """Run `nocwatch report --window 30d --format json` and return its wall time and output."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "nocwatch_tui", "report", "--db", str(db_path)]
    result = subprocess.run(
        [*command, "--window", "30d", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, json.loads(result.stdout)


def p95_errors(report: dict[str, Any], end_ms: int) -> list[float]:
    """Return each target's relative p95 error against the exact p95 of its regenerated samples."""
    since_ms = int(datetime.fromisoformat(report["from"]).timestamp() * 1000)
    until_ms = min(end_ms, int(datetime.fromisoformat(report["to"]).timestamp() * 1000))
    errors = []
    for entry in report["targets"]:
        index = int(entry["name"].removeprefix("target-"))
        latencies = [
            sample.latency_ms
            for sample in synthetic(index, since_ms, until_ms)
            if sample.passed and sample.latency_ms is not None
        ]
        exact = percentile(latencies, 95.0)
        assert exact is not None
        errors.append(abs(entry["latency_ms"]["p95"] - exact) / exact)
    return errors


async def first_frame(db_path: Path) -> float:
    """Time the console from start to its first full frame: every row with its window figures."""
    from nocwatch_tui.console.app import NocWatchApp
    from nocwatch_tui.console.screens.main import MainScreen
    from nocwatch_tui.console.widgets.grid import TargetGrid

    def complete(app: NocWatchApp) -> bool:
        screen = app.screen
        if not isinstance(screen, MainScreen) or len(screen.views) < TARGETS:
            return False
        with_stats = all(view.stats is not None for view in screen.views.values())
        return with_stats and screen.query_one(TargetGrid).row_count == TARGETS

    started = time.perf_counter()
    app = NocWatchApp(db_path)
    async with app.run_test(size=(200, 50)) as pilot:
        while not complete(app):
            await pilot.pause(0.01)
        elapsed = time.perf_counter() - started
    return elapsed


def machine() -> str:
    model = "unknown"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc), {model}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="reuse or create the database here")
    parser.add_argument("--keep", action="store_true", help="keep a temporary database")
    parser.add_argument(
        "--frame-only", action="store_true", help="only time the console's first frame"
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    folder = None
    db_path = args.db
    if db_path is None:
        folder = tempfile.mkdtemp(prefix="nocwatch-bench-")
        db_path = Path(folder) / "bench.db"

    print(f"machine: {machine()}")
    if args.frame_only:
        seconds = asyncio.run(first_frame(db_path))
        print(f"console: start to first full frame (200x50): {seconds:.2f} s")
        return
    if not db_path.exists():
        end_ms = now_ms() // MINUTE_MS * MINUTE_MS
        for label, seconds in asyncio.run(build(db_path, end_ms)).items():
            print(f"build: {label}: {seconds:.1f} s")
    size = db_path.stat().st_size + sum(
        Path(f"{db_path}{suffix}").stat().st_size
        for suffix in ("-wal",)
        if Path(f"{db_path}{suffix}").exists()
    )
    print(f"database: {size / 1e6:.0f} MB, {size / (TARGETS * DAYS) / 1e3:.0f} kB per target-day")

    for label, seconds in asyncio.run(time_queries(db_path)).items():
        print(f"query: {label}: {seconds * 1000:.1f} ms (median of {REPEATS})")

    seconds, report = time_report_process(db_path)
    print(f"process: nocwatch report --window 30d --format json: {seconds:.2f} s")
    with sqlite3.connect(db_path) as connection:
        newest_ms = connection.execute("SELECT max(started_at_ms) FROM samples").fetchone()[0]
    errors = p95_errors(report, newest_ms + INTERVAL_MS)
    print(
        f"check: 30d p95 against exact p95 of regenerated samples: max relative error"
        f" {max(errors) * 100:.2f} % over {len(errors)} targets"
    )
    print(f"console: start to first full frame (200x50): {asyncio.run(first_frame(db_path)):.2f} s")

    if folder is not None and not args.keep:
        for path in Path(folder).iterdir():
            path.unlink()
        Path(folder).rmdir()


if __name__ == "__main__":
    main()
