"""Event-loop lag: how late the loop wakes a task that asked to sleep a fixed time.

A late wake-up delays probe starts and inflates measured latencies, so the
engine measures its own lag all the time, stores the worst lag seen during
each probe with its sample, and flags the sample as suspect above
SUSPECT_LAG_MS.
"""

import asyncio
import time
from collections import deque

from nocwatch_tui.engine.stats import percentile

TICK_S = 0.05
# A sample taken while the loop ran this late may be off by as much, so it is
# flagged: the latency is then partly the engine's own delay, not the network's.
SUSPECT_LAG_MS = 10.0


class LoopLagMonitor:
    """Measures event-loop lag by sleeping TICK_S and timing the overshoot."""

    def __init__(self, history: int = 200) -> None:
        self.current_ms = 0.0
        # (wake-up time in perf_counter_ns, lag in ms) of the newest ticks
        self._ticks: deque[tuple[int, float]] = deque(maxlen=history)
        self._planned_ns: int | None = None
        # perf_counter of the latest tick, read by the health check from another thread.
        self.last_tick_s: float | None = None

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            self._planned_ns = time.perf_counter_ns() + int(TICK_S * 1e9)
            await asyncio.sleep(TICK_S)
            woke_ns = time.perf_counter_ns()
            self.current_ms = max(0.0, (woke_ns - self._planned_ns) / 1e6)
            self._ticks.append((woke_ns, self.current_ms))
            self.last_tick_s = time.perf_counter()

    def max_since_ms(self, start_ns: int) -> float:
        """Return the worst lag seen since `start_ns`, counting the pending tick's overshoot."""
        now_ns = time.perf_counter_ns()
        worst = 0.0
        if self._planned_ns is not None and now_ns > self._planned_ns:
            worst = (now_ns - self._planned_ns) / 1e6
        for woke_ns, lag_ms in reversed(self._ticks):
            if woke_ns < start_ns:
                break
            worst = max(worst, lag_ms)
        return worst

    def p99_ms(self) -> float | None:
        """Return the p99 lag over the last `history` ticks (10 s by default)."""
        return percentile([lag_ms for _woke_ns, lag_ms in self._ticks], 99)
