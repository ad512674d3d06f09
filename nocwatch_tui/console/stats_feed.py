"""The window statistics feed: every target's figures over the current window, refreshed.

Short windows are recomputed often from raw samples; long windows are summed
from rollups inside SQLite and change slowly, so they are recomputed less often.
With thousands of targets a refresh takes a noticeable share of a core, so the
pause after a refresh is also at least REST_PER_BUSY times the refresh's own
duration. The console never keeps a long window's samples in memory.
"""

import asyncio
import time
from collections.abc import Callable, Iterable

from textual.message_pump import MessagePump

from nocwatch_tui.console.messages import WindowStatsRead
from nocwatch_tui.engine.history import window_stats
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.store import Store

REFRESH_S = ((15 * 60, 2.0), (60 * 60, 5.0), (24 * 60 * 60, 15.0))
LONG_REFRESH_S = 60.0
REST_PER_BUSY = 9.0
"""Seconds of pause per second of refresh, so the feed works about a tenth of the time at most."""


def refresh_s(window_s: int) -> float:
    """Return how often the figures of a window are recomputed."""
    for longest_s, period_s in REFRESH_S:
        if window_s <= longest_s:
            return period_s
    return LONG_REFRESH_S


async def read_window_stats(
    store: Store, target_ids: Iterable[int], window_s: int, now_ms: int, raw_days: int
) -> dict[int, WindowStats]:
    """Compute each listed target's statistics over the window that ends at `now_ms`."""
    since_ms = now_ms - window_s * 1000
    result = {}
    for target_id in target_ids:
        result[target_id] = await window_stats(
            store, target_id, since_ms, now_ms, now_ms=now_ms, raw_days=raw_days
        )
    return result


async def run_window_stats(
    store: Store,
    window_s: int,
    clock: Callable[[], int],
    raw_days: int,
    receiver: MessagePump,
) -> None:
    """Post the window's statistics to `receiver` now and after every refresh period.

    The target list is read again only when the targets' revision moves:
    validating thousands of stored targets at every refresh would hold the
    console's event loop for a noticeable time.
    """
    revision: tuple[int, int, int] | None = None
    target_ids: list[int] = []
    while True:
        current = await store.targets_revision()
        if current != revision:
            revision = current
            target_ids = [stored.id for stored in await store.list_targets()]
        started = time.monotonic()
        stats = await read_window_stats(store, target_ids, window_s, clock(), raw_days)
        receiver.post_message(WindowStatsRead(window_s, stats))
        busy_s = time.monotonic() - started
        await asyncio.sleep(max(refresh_s(window_s), REST_PER_BUSY * busy_s))
