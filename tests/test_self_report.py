"""The engine's self-reporting: loop lag seen around each sample and the suspect flag."""

import asyncio
import gc
import sqlite3
import time
from pathlib import Path

from nocwatch_tui.engine.loop_lag import SUSPECT_LAG_MS, LoopLagMonitor
from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.report import build_report
from nocwatch_tui.engine.runtime import EVENT_LOOP_ENV, Engine, event_loop_factory
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.scheduler import Scheduler
from nocwatch_tui.engine.store import _MIGRATIONS, Store, StoredTarget, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab

BLOCK_S = 0.2


async def test_lag_monitor_sees_a_blocked_loop() -> None:
    monitor = LoopLagMonitor()
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.01)
    start_ns = time.perf_counter_ns()
    time.sleep(BLOCK_S)  # blocks the event loop on purpose
    await asyncio.sleep(0)
    worst = monitor.max_since_ms(start_ns)
    task.cancel()
    assert worst > SUSPECT_LAG_MS


async def test_lag_monitor_ignores_lag_before_the_start() -> None:
    monitor = LoopLagMonitor()
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.01)
    time.sleep(BLOCK_S)  # blocks the event loop on purpose
    await asyncio.sleep(0.12)
    worst = monitor.max_since_ms(time.perf_counter_ns())
    task.cancel()
    assert worst < BLOCK_S * 1000 / 2


async def test_sample_taken_during_lag_is_suspect(lab: Lab) -> None:
    prober = Prober()
    monitor = LoopLagMonitor()
    samples: list[Sample] = []
    scheduler = Scheduler(prober, samples.append, monitor)
    lag_task = asyncio.create_task(monitor.run())
    target = Target.model_validate(
        {"name": "slow", "url": lab.urls["slow"], "interval_s": 5, "timeout_s": 2}
    )
    try:
        scheduler.reconcile([StoredTarget(0, target, paused=False, updated_at_ms=0)])
        await asyncio.sleep(0.3)
        time.sleep(BLOCK_S)  # blocks the event loop while the probe waits for the answer
        for _ in range(40):
            if samples:
                break
            await asyncio.sleep(0.1)
    finally:
        await scheduler.stop()
        lag_task.cancel()
        await prober.aclose()
    assert len(samples) == 1
    assert samples[0].loop_lag_ms is not None
    assert samples[0].loop_lag_ms > SUSPECT_LAG_MS
    assert samples[0].suspect


async def test_sample_on_a_quiet_loop_is_not_suspect(lab: Lab) -> None:
    prober = Prober()
    monitor = LoopLagMonitor()
    samples: list[Sample] = []
    scheduler = Scheduler(prober, samples.append, monitor)
    lag_task = asyncio.create_task(monitor.run())
    target = Target.model_validate(
        {"name": "steady", "url": lab.urls["steady"], "interval_s": 5, "timeout_s": 2}
    )
    try:
        scheduler.reconcile([StoredTarget(0, target, paused=False, updated_at_ms=0)])
        for _ in range(40):
            if samples:
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
        lag_task.cancel()
        await prober.aclose()
    assert len(samples) == 1
    assert samples[0].loop_lag_ms is not None
    assert not samples[0].suspect


async def _store_with_target(store: Store) -> int:
    await store.add_targets([Target.model_validate({"name": "api", "url": "http://127.0.0.1:9/x"})])
    return (await store.list_targets())[0].id


async def test_suspect_flag_is_stored(store: Store) -> None:
    target_id = await _store_with_target(store)
    await store.insert_samples(
        [Sample(target_id, now_ms(), latency_ms=50.0, loop_lag_ms=25.0, suspect=True)]
    )
    records = await store.samples_after(0)
    assert records[0].sample.suspect
    assert records[0].sample.loop_lag_ms == 25.0


async def test_report_counts_suspect_samples(store: Store) -> None:
    target_id = await _store_with_target(store)
    stamp = now_ms() - 5_000
    await store.insert_samples(
        [
            Sample(target_id, stamp, latency_ms=50.0, loop_lag_ms=0.4),
            Sample(target_id, stamp + 1, latency_ms=70.0, loop_lag_ms=22.0, suspect=True),
            Sample(target_id, stamp + 2, latency_ms=51.0, loop_lag_ms=0.5),
        ]
    )
    report = await build_report(store, 900)
    assert report["targets"][0]["suspect_samples"] == 1


async def test_report_counts_zero_suspect_samples_in_an_empty_window(store: Store) -> None:
    await _store_with_target(store)
    report = await build_report(store, 900)
    assert report["targets"][0]["suspect_samples"] == 0


async def test_older_database_gains_the_suspect_column(db_path: Path) -> None:
    connection = sqlite3.connect(db_path)
    connection.executescript(_MIGRATIONS[0] + "PRAGMA user_version = 1;")
    connection.execute(
        "INSERT INTO samples (target_id, started_at_ms, latency_ms) VALUES (1, 1000, 50.0)"
    )
    connection.commit()
    connection.close()

    store = await Store.open(db_path)
    try:
        records = await store.samples_after(0)
    finally:
        await store.close()
    assert len(records) == 1
    assert not records[0].sample.suspect


def test_event_loop_setting_keeps_asyncio(monkeypatch) -> None:
    monkeypatch.setenv(EVENT_LOOP_ENV, "asyncio")
    assert event_loop_factory() is None


async def test_engine_freezes_its_startup_objects(store: Store) -> None:
    engine = Engine(store)
    stop = asyncio.Event()
    gc.unfreeze()
    task = asyncio.create_task(engine.run(stop))
    try:
        for _ in range(50):
            if gc.get_freeze_count():
                break
            await asyncio.sleep(0.02)
        frozen = gc.get_freeze_count()
    finally:
        stop.set()
        await task
        gc.unfreeze()
    assert frozen > 0
