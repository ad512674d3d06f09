"""Event-loop lag: how late the loop wakes a task that asked to sleep a fixed time.

A late wake-up delays probe starts and inflates measured latencies, so the
engine measures its own lag all the time and reports it beside its numbers.
"""

import asyncio
import time
from collections import deque

from nocwatch_tui.engine.stats import percentile

TICK_S = 0.05


class LoopLagMonitor:
    """Measures event-loop lag by sleeping TICK_S and timing the overshoot."""

    def __init__(self, history: int = 200) -> None:
        self.current_ms = 0.0
        # perf_counter of the latest tick, read by the health check from another thread.
        self.last_tick_s: float | None = None
        self._recent: deque[float] = deque(maxlen=history)

    async def run(self) -> None:
        """Measure until cancelled."""
        while True:
            planned_ns = time.perf_counter_ns() + int(TICK_S * 1e9)
            await asyncio.sleep(TICK_S)
            self.current_ms = max(0.0, (time.perf_counter_ns() - planned_ns) / 1e6)
            self._recent.append(self.current_ms)
            self.last_tick_s = time.perf_counter()

    def p99_ms(self) -> float | None:
        """Return the p99 lag over the last `history` ticks (10 s by default)."""
        return percentile(list(self._recent), 99)
