"""The engine process: scheduler, prober, writer, webhook sender and heartbeat on one loop."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nocwatch_tui.engine.detector import Detector
from nocwatch_tui.engine.incidents import (
    IncidentChange,
    open_incidents,
    resolve_deleted_targets,
    write_changes,
)
from nocwatch_tui.engine.lease import LeaseKeeper, LeaseLostError, take_lease
from nocwatch_tui.engine.loop_lag import LoopLagMonitor
from nocwatch_tui.engine.metrics import EngineMetrics
from nocwatch_tui.engine.metrics_server import MetricsServer, make_app
from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.retention import Retention
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.scheduler import Scheduler
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import EngineStatus, Store, StoredTarget, StoreError, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.engine.webhooks import WebhookSender
from nocwatch_tui.engine.writer import SampleWriter
from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.engine")

HEARTBEAT_S = 1.0
# A hang-up of the terminal stops the engine as cleanly as SIGTERM does.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RETRY_DELAY_S = 1.0
STOP_WRITE_TIMEOUT_S = 10.0
"""How long a stopping engine keeps retrying to write its pending samples."""
# `asyncio` keeps the engine on Python's own event loop even where uvloop is installed.
EVENT_LOOP_ENV = "NOCWATCH_EVENT_LOOP"
# /health reports the engine unhealthy when the event loop has not ticked for
# LOOP_STALL_S, or when samples wait and none was written for WRITER_STALL_S.
LOOP_STALL_S = 2.0
WRITER_STALL_S = 15.0
GIL_SWITCH_INTERVAL_S = 0.0005


async def import_if_empty(store: Store, targets: Sequence[Target] | None) -> None:
    """Import targets into a database that has none yet."""
    if targets and await store.count_targets() == 0:
        await store.add_targets(targets)
        log.info("imported %d targets into %s", len(targets), store.path)


class Engine:
    """Probes the database's targets and writes every sample until stopped."""

    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.loop_lag = LoopLagMonitor()
        self.prober = Prober()
        self.detector = Detector(self.settings.thresholds)
        self.writer = SampleWriter(store, after_write=self._detect)
        self.metrics = EngineMetrics(self.settings.metrics.site, self.settings.thresholds.window_s)
        self.scheduler = Scheduler(self.prober, self._on_sample, self.loop_lag)
        self.metrics.bind_engine(
            loop_lag_s=lambda: None if (lag := self.loop_lag.p99_ms()) is None else lag / 1000,
            in_flight=lambda: self.scheduler.in_flight,
            write_queue=lambda: self.writer.depth,
        )
        self.sender = WebhookSender(
            store.path,
            self.settings.webhooks,
            self.settings.metrics.site,
            on_backlog=self.metrics.set_outbox_backlog,
        )
        self.started_at_ms = now_ms()
        self._started_s = time.perf_counter()
        self._writer_task: asyncio.Task[None] | None = None

    def _on_sample(self, sample: Sample) -> None:
        self.writer.put(sample)
        self.metrics.observe(sample)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then write the pending samples within STOP_WRITE_TIMEOUT_S."""
        log.info("engine started on %s (pid %d)", self.store.path, os.getpid())
        await self._restore_detection()
        try:
            await self.prober.warm_up()
        except OSError as error:
            log.warning("prober warm-up failed, the first probe may read high: %s", error)
        # What exists now (modules, transports, settings) lives as long as the
        # engine. Taking it out of the cyclic collector's reach keeps the older
        # generations' collections short: in the benchmark at 200 probes/s a
        # full collection otherwise stalled the loop for up to 100 ms.
        gc.freeze()
        lag_task = asyncio.create_task(self.loop_lag.run())
        self._writer_task = writer_task = asyncio.create_task(self.writer.run())
        heartbeat_task = asyncio.create_task(self._heartbeat())
        # Retention has its own connection, so its transactions never interleave
        # with the writer's on one connection; SQLite's lock orders the two.
        retention_store = await Store.open(self.store.path)
        retention_task = asyncio.create_task(
            Retention(retention_store, self.settings.retention).run()
        )
        windows_task = asyncio.create_task(self.metrics.refresh_windows(self.store))
        sender_task = asyncio.create_task(self.sender.run())
        try:
            await stop.wait()
        finally:
            heartbeat_task.cancel()
            windows_task.cancel()
            retention_task.cancel()
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
            with contextlib.suppress(asyncio.CancelledError):
                await retention_task
            await retention_store.close()
            await self.scheduler.stop()
            self.writer.stop()
            await self._finish_writing(writer_task)
            lag_task.cancel()
            await self.prober.aclose()
            await self._write_status(stopped=True)
            log.info("engine stopped; %d samples written", self.writer.written)

    async def _finish_writing(self, writer_task: asyncio.Task[None]) -> None:
        """Wait for the writer to write what is queued, giving up after STOP_WRITE_TIMEOUT_S."""
        try:
            await asyncio.wait_for(writer_task, STOP_WRITE_TIMEOUT_S)
        except TimeoutError:
            log.error(
                "stopping without writing about %d samples: %s",
                self.writer.depth,
                self.writer.last_error or "writing did not finish in time",
            )

    async def _heartbeat(self) -> None:
        """Pick up target changes and publish the engine's status every HEARTBEAT_S."""
        revision = None
        while True:
            try:
                current = await self.store.targets_revision()
                if current != revision:
                    targets = await self.store.list_targets()
                    self.detector.set_targets(targets)
                    self.metrics.set_targets(targets)
                    self.scheduler.reconcile(targets)
                    await self._resolve_deleted(targets)
                    revision = current
                await self._write_status(stopped=False)
            except (sqlite3.OperationalError, StoreError) as error:
                # A locked or full database, or an invalid target, must not end the
                # heartbeat for good, or every console would report the engine dead.
                log.error("engine heartbeat failed, retrying in %g s: %s", HEARTBEAT_S, error)
            except Exception:
                # Any other error, in a target reconcile for example, is logged with
                # its traceback and retried, so that it cannot stop the heartbeat unseen.
                log.exception("engine heartbeat failed, retrying in %g s", HEARTBEAT_S)
            await asyncio.sleep(HEARTBEAT_S)

    async def _resolve_deleted(self, targets: Sequence[StoredTarget]) -> None:
        """Resolve the open incidents of deleted targets, which no probe can resolve."""
        resolved = await resolve_deleted_targets(
            self.store, (stored.id for stored in targets), now_ms()
        )
        if resolved:
            log.info("resolved %d incident(s) of deleted targets", len(resolved))

    async def _restore_detection(self) -> None:
        """Rebuild open incidents and hysteresis runs, so a restart continues them."""
        self.detector.set_targets(await self.store.list_targets())
        # Two windows of samples, so that the replayed evaluations at the end see full windows.
        since_ms = now_ms() - 2 * self.settings.thresholds.window_s * 1000
        incidents = await open_incidents(self.store)
        self.detector.restore(incidents, await self.store.samples_since(since_ms))
        if incidents:
            log.info("continuing %d open incident(s)", len(incidents))

    async def _detect(self, samples: list[Sample]) -> None:
        """Evaluate newly written samples and write the incident changes they cause."""
        changes: list[IncidentChange] = []
        for sample in samples:
            changes.extend(self.detector.observe(sample))
        attempt = 0
        while changes:
            try:
                await write_changes(self.store, changes)
            except sqlite3.IntegrityError as error:
                # Another writer opened an incident first, as a second engine on
                # the same database would; follow the database's open incidents.
                log.error("incident changes rejected by the database, dropped: %s", error)
                self.detector.adopt_open(await open_incidents(self.store))
            except sqlite3.OperationalError as error:
                attempt += 1
                log.error(
                    "writing incident changes failed (attempt %d), retrying in %g s: %s",
                    attempt,
                    RETRY_DELAY_S,
                    error,
                )
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            return

    def health(self, at_s: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Tell whether the event loop and the writer are alive, with a small JSON body.

        `at_s` is the perf_counter time to judge at (default now). Called from the
        metrics server's threads, so it only reads plain attributes.
        """
        now_s = time.perf_counter() if at_s is None else at_s
        # Until its first tick, the loop counts from the engine's creation.
        last_tick_s = self.loop_lag.last_tick_s or self._started_s
        loop_alive = now_s - last_tick_s < LOOP_STALL_S

        writer_task = self._writer_task
        last_write_s = self.writer.last_write_s or self._started_s
        if writer_task is None:
            writer_state = "starting"
        elif writer_task.done():
            writer_state = "stopped"
        elif self.writer.depth and now_s - last_write_s > WRITER_STALL_S:
            writer_state = "stalled"
        else:
            writer_state = "ok"

        healthy = loop_alive and writer_state == "ok"
        lag_ms = self.loop_lag.p99_ms()
        return healthy, {
            "status": "ok" if healthy else "unhealthy",
            "loop": "ok" if loop_alive else "stalled",
            "writer": writer_state,
            "loop_lag_p99_ms": None if lag_ms is None else round(lag_ms, 2),
            "write_queue_depth": self.writer.depth,
            "probes_in_flight": self.scheduler.in_flight,
        }

    async def _write_status(self, *, stopped: bool) -> None:
        stamp = now_ms()
        await self.store.write_engine_status(
            EngineStatus(
                pid=os.getpid(),
                started_at_ms=self.started_at_ms,
                heartbeat_at_ms=stamp,
                stopped_at_ms=stamp if stopped else None,
                loop_lag_ms=self.loop_lag.p99_ms(),
                slip_p99_ms=self.scheduler.slip_p99_ms(),
                in_flight=self.scheduler.in_flight,
                queue_depth=self.writer.depth,
                write_error=self.writer.last_error,
            )
        )


async def serve(
    db_path: Path,
    targets: Sequence[Target] | None,
    settings: Settings,
    listen: tuple[str, int] | None = None,
) -> None:
    """Run the engine on a database until SIGINT or SIGTERM, holding its lease throughout.

    Raises LeaseHeldError before touching anything when another engine owns the
    database, and LeaseLostError after stopping when the lease could not be kept.
    """
    store = await Store.open(db_path)
    # The lease has its own connection, so that a long write transaction on the
    # engine's connection never delays a renewal.
    lease_store = await Store.open(db_path)
    try:
        lease = await take_lease(lease_store)
        keeper = LeaseKeeper(lease_store, lease)
        try:
            await import_if_empty(store, targets)
            engine = Engine(store, settings)
            server = None
            # A thread that renders /metrics or resolves a name hands the GIL
            # back to the event loop after 0.5 ms instead of Python's default
            # 5 ms, so that it cannot hold up probes: see docs/benchmarks.md.
            sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
            if listen is not None:
                server = MetricsServer(*listen, make_app(engine.metrics.registry, engine.health))
                server.start()
            try:
                await _run_until_signal(engine, keeper)
            finally:
                if server is not None:
                    await asyncio.to_thread(server.stop)
        finally:
            await keeper.release()
        if keeper.lost:
            raise LeaseLostError(
                _("{path}: the engine lost its lease and stopped").format(path=db_path)
            )
    finally:
        await lease_store.close()
        await store.close()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """Return uvloop's loop factory where uvloop is installed and not turned off, else None.

    uvloop (a dependency except on Windows) spends less CPU per probe, which leaves
    the loop idle more often when a response arrives; docs/benchmarks.md has
    the figures.
    """
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_serve(
    db_path: Path,
    targets: Sequence[Target] | None,
    settings: Settings,
    listen: tuple[str, int] | None,
) -> None:
    """Run `serve` to the end on the best event loop available."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve(db_path, targets, settings, listen))


async def _run_until_signal(engine: Engine, keeper: LeaseKeeper) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Logged once the database has opened, so that a database refused at
    # start-up gives its one-line message alone.
    log.info("event loop: %s", type(loop).__module__.split(".")[0])
    for signal_number in STOP_SIGNALS:
        loop.add_signal_handler(signal_number, stop.set)
    keeper_task = asyncio.create_task(keeper.run(stop.set))
    try:
        await engine.run(stop)
    finally:
        keeper_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper_task
        for signal_number in STOP_SIGNALS:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signal_number)
