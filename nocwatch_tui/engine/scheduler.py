"""The scheduler: one task per target, probing every `interval_s` on a fixed grid.

Start times are spread across the interval with a low-discrepancy sequence of
the target id, so that targets sharing an interval do not all fire at once.
A target is never probed twice at the same time, because its task awaits each
probe before planning the next, and a semaphore caps probes in flight.
"""

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence

from nocwatch_tui.engine.loop_lag import SUSPECT_LAG_MS, LoopLagMonitor
from nocwatch_tui.engine.prober import Prober
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import percentile
from nocwatch_tui.engine.store import StoredTarget
from nocwatch_tui.engine.targets import Target

log = logging.getLogger("nocwatch.scheduler")

_GOLDEN_RATIO_FRACTION = (math.sqrt(5) - 1) / 2


def start_offset_s(target_id: int, interval_s: float) -> float:
    """Return the delay of a target's first probe, spread evenly across its interval."""
    return (target_id * _GOLDEN_RATIO_FRACTION) % 1.0 * interval_s


class Scheduler:
    """Runs and reconciles the probe loops of the active targets."""

    def __init__(
        self,
        prober: Prober,
        on_sample: Callable[[Sample], None],
        loop_lag: LoopLagMonitor,
        max_in_flight: int = 512,
    ) -> None:
        self._prober = prober
        self._on_sample = on_sample
        self._loop_lag = loop_lag
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: dict[int, tuple[Target, asyncio.Task[None]]] = {}
        self._slips_ms: deque[float] = deque(maxlen=2000)
        self.in_flight = 0

    def reconcile(self, stored_targets: Sequence[StoredTarget]) -> None:
        """Start, restart or stop probe loops so they match the targets given."""
        active = {stored.id: stored.target for stored in stored_targets if not stored.paused}

        for target_id, (target, task) in list(self._tasks.items()):
            if active.get(target_id) != target:
                task.cancel()
                del self._tasks[target_id]
                log.info("stopped probing %r", target.name)

        for target_id, target in active.items():
            if target_id not in self._tasks:
                task = asyncio.create_task(self._probe_loop(target_id, target))
                self._tasks[target_id] = (target, task)
                log.info("probing %r every %g s", target.name, target.interval_s)

    async def stop(self) -> None:
        """Cancel every probe loop and wait for them to end."""
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def slip_p99_ms(self) -> float | None:
        """Return the p99 of recent schedule slips (actual minus planned start)."""
        return percentile(list(self._slips_ms), 99)

    async def _probe_loop(self, target_id: int, target: Target) -> None:
        interval_ns = int(target.interval_s * 1e9)
        planned_ns = time.perf_counter_ns() + int(
            start_offset_s(target_id, target.interval_s) * 1e9
        )
        while True:
            await asyncio.sleep(max(0.0, (planned_ns - time.perf_counter_ns()) / 1e9))
            async with self._slots:
                slip_ms = (time.perf_counter_ns() - planned_ns) / 1e6
                self.in_flight += 1
                probe_start_ns = time.perf_counter_ns()
                try:
                    sample = await self._prober.probe(target, target_id)
                except Exception:
                    # A bug in the prober must not end this target's loop for good.
                    log.exception("probe of %r raised an unexpected error", target.name)
                    sample = None
                finally:
                    self.in_flight -= 1
            self._slips_ms.append(slip_ms)
            if sample is not None:
                sample.slip_ms = slip_ms
                sample.loop_lag_ms = self._loop_lag.max_since_ms(probe_start_ns)
                sample.suspect = sample.loop_lag_ms > SUSPECT_LAG_MS
                self._on_sample(sample)

            planned_ns += interval_ns
            now_ns = time.perf_counter_ns()
            if planned_ns <= now_ns:
                missed = (now_ns - planned_ns) // interval_ns + 1
                planned_ns += missed * interval_ns
                log.warning(
                    "skipped %d probe(s) of %r: the engine fell behind", missed, target.name
                )
