"""The engine process: scheduler, prober, writer and status heartbeat on one event loop."""

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from nocwatch_tui.engine.loop_lag import LoopLagMonitor
from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.retention import Retention
from nocwatch_tui.engine.scheduler import Scheduler
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import EngineStatus, Store, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.engine.writer import SampleWriter

log = logging.getLogger("nocwatch.engine")

HEARTBEAT_S = 1.0


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
        self.writer = SampleWriter(store)
        self.scheduler = Scheduler(self.prober, self.writer.put, self.loop_lag)
        self.started_at_ms = now_ms()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then write every pending sample."""
        log.info("engine started on %s (pid %d)", self.store.path, os.getpid())
        lag_task = asyncio.create_task(self.loop_lag.run())
        writer_task = asyncio.create_task(self.writer.run())
        heartbeat_task = asyncio.create_task(self._heartbeat())
        # Retention has its own connection, so its transactions never interleave
        # with the writer's on one connection; SQLite's lock orders the two.
        retention_store = await Store.open(self.store.path)
        retention_task = asyncio.create_task(
            Retention(retention_store, self.settings.retention).run()
        )
        try:
            await stop.wait()
        finally:
            heartbeat_task.cancel()
            retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention_task
            await retention_store.close()
            await self.scheduler.stop()
            self.writer.stop()
            await writer_task
            lag_task.cancel()
            await self.prober.aclose()
            await self._write_status(stopped=True)
            log.info("engine stopped; %d samples written", self.writer.written)

    async def _heartbeat(self) -> None:
        """Pick up target changes and publish the engine's status every HEARTBEAT_S."""
        revision = None
        while True:
            current = await self.store.targets_revision()
            if current != revision:
                revision = current
                self.scheduler.reconcile(await self.store.list_targets())
            await self._write_status(stopped=False)
            await asyncio.sleep(HEARTBEAT_S)

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
            )
        )


async def serve(db_path: Path, targets: Sequence[Target] | None, settings: Settings) -> None:
    """Run the engine on a database until SIGINT or SIGTERM."""
    store = await Store.open(db_path)
    try:
        await import_if_empty(store, targets)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        try:
            await Engine(store, settings).run(stop)
        finally:
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signal_number)
    finally:
        await store.close()
