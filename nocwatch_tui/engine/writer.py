"""The one writer task that batches samples into the store."""

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable

from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import Store

log = logging.getLogger("nocwatch.writer")

RETRY_DELAY_S = 1.0


class SampleWriter:
    """Queues samples and writes them in batches, so probing never waits on SQLite."""

    def __init__(
        self,
        store: Store,
        batch_max: int = 1000,
        linger_s: float = 0.1,
        after_write: Callable[[list[Sample]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._after_write = after_write
        # None is the stop marker: everything queued before it is written first.
        # NOTE: the queue is unbounded, so a long outage of the database (a full disk)
        # grows memory by a few hundred bytes per sample until writing resumes.
        self._queue: asyncio.Queue[Sample | None] = asyncio.Queue()
        self._batch_max = batch_max
        self._linger_s = linger_s
        self._stopping = False
        self.written = 0
        self.last_error: str | None = None
        """The error of the batch being retried, None once writing succeeds again."""
        # perf_counter of the latest successful write, read by the health check.
        self.last_write_s: float | None = None

    @property
    def depth(self) -> int:
        """Return how many samples wait to be written."""
        return self._queue.qsize()

    def put(self, sample: Sample) -> None:
        """Queue a sample for writing."""
        self._queue.put_nowait(sample)

    def stop(self) -> None:
        """Ask `run` to write what is queued and return."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        """Write batches until `stop`; a failed batch is retried until written or cancelled."""
        while not self._stopping:
            first = await self._queue.get()
            if first is None:
                break
            await asyncio.sleep(self._linger_s)
            await self._write_until_done([first, *self._take(self._batch_max - 1)])
        while not self._queue.empty():
            await self._write_until_done(self._take(self._batch_max))

    def _take(self, count: int) -> list[Sample]:
        batch: list[Sample] = []
        while len(batch) < count and not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                self._stopping = True
            else:
                batch.append(item)
        return batch

    async def _write_until_done(self, batch: list[Sample]) -> None:
        if not batch:
            return
        attempt = 0
        while True:
            try:
                await self._store.insert_samples(batch)
            except sqlite3.OperationalError as error:
                # Locked, busy and full databases raise OperationalError; the batch stays
                # in memory and is written once the cause is gone.
                attempt += 1
                self.last_error = str(error)
                log.error(
                    "writing %d samples failed (attempt %d), retrying in %g s: %s",
                    len(batch),
                    attempt,
                    RETRY_DELAY_S,
                    error,
                )
                await asyncio.sleep(RETRY_DELAY_S)
                continue
            if self.last_error is not None:
                log.info("writing samples resumed after %d failed attempts", attempt)
                self.last_error = None
            self.written += len(batch)
            self.last_write_s = time.perf_counter()
            break
        if self._after_write is not None:
            await self._after_write(batch)
