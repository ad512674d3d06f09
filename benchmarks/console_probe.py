"""Run the console headless on a database for a while and time key presses.

Usage: python -m benchmarks.console_probe DB SECONDS OUT_JSON

The console attaches to the engine that owns DB and renders the grid of every
target (Textual's `run_test`, 120x40). Every second it sends a `down` key (or
`up` at the bottom) and times from sending the key to the first screen update
that shows the moved cursor. Pilot's own `press` waits for the whole process to
go idle, which times the feed's work as well, so the key goes to the driver
directly and the screen's compositor refresh is wrapped to timestamp repaints
(benchmark instrumentation only). It writes the timings, its CPU seconds and
its peak RSS to OUT_JSON.
"""

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from textual import events

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.launch import yield_cpu_to_engine
from nocwatch_tui.console.widgets.grid import TargetGrid

PRESS_EVERY_S = 1.0
REPAINT_TIMEOUT_S = 5.0


async def _time_press(
    app: NocWatchApp, grid: TargetGrid, key: str, repaints: list[tuple[float, int]]
) -> float | None:
    """Send one key; return ms until a repaint shows the cursor moved, None if it never moves."""
    before = grid.cursor_row
    start = time.perf_counter()
    assert app._driver is not None
    app._driver.send_message(events.Key(key, None))
    while time.perf_counter() - start < REPAINT_TIMEOUT_S:
        await asyncio.sleep(0.001)
        for stamp, row in repaints:
            if stamp > start and row != before:
                return (stamp - start) * 1000
    return None


async def _run(db_path: Path, seconds: float, out_path: Path) -> None:
    yield_cpu_to_engine()  # as `nocwatch console` does
    app = NocWatchApp(db_path, engine_mode="attached")
    press_ms: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + seconds
        grid = app.screen.query_one(TargetGrid)
        while not grid.row_count and time.monotonic() < deadline:
            await pilot.pause(0.1)
        repaints: list[tuple[float, int]] = []
        screen = app.screen
        refresh = screen._compositor_refresh

        def timed_refresh() -> None:
            refresh()
            repaints.append((time.perf_counter(), grid.cursor_row))

        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        key = "down"
        while time.monotonic() < deadline:
            await asyncio.sleep(PRESS_EVERY_S)
            repaints.clear()
            elapsed_ms = await _time_press(app, grid, key, repaints)
            if elapsed_ms is None:
                key = "up" if key == "down" else "down"
            else:
                press_ms.append(elapsed_ms)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out_path.write_text(
        json.dumps(
            {
                "press_ms": press_ms,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "rss_peak_mb": usage.ru_maxrss / 1024,
                "rows": grid.row_count,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(_run(Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])))
