"""Run the console headless on a database for a while and time key presses.

Usage: python -m benchmarks.console_probe DB SECONDS OUT_JSON [PROFILE_OUT]

The console attaches to the engine that owns DB and renders the grid of every
target (Textual's `run_test`, 120x40). Once the grid shows its rows, it sends a
`down` key (or `up` at the bottom) every second until SECONDS after its own
start, and times from sending the key to the first screen update that shows the
moved cursor. Pilot's own `press` waits for the whole process to go idle, which
times the feed's work as well, so the key goes to the driver directly and the
screen's compositor refresh is wrapped to timestamp repaints (benchmark
instrumentation only).

It writes OUT_JSON before the console shuts down, and again from a `finally`
block if anything fails, so the caller always finds a file that either holds
the figures or says why there are none:

- `press_ms`: one time per key whose repaint came, in order;
- `presses_missed`: keys whose moved cursor was not drawn within
  REPAINT_TIMEOUT_S;
- `startup_s`: from the start of the process until the grid had rows;
- `cpu_s`, `rss_peak_mb`: over the process's whole life;
- `press_cpu_s`, `press_s`: CPU seconds and wall seconds of the pressing part
  alone, without start-up;
- `rows`: the grid's rows at the end;
- `error`: null, or why the figures are missing or short;
- `repaint_timeout_s`: REPAINT_TIMEOUT_S.

With PROFILE_OUT, the pressing part runs under cProfile and its statistics are
written there (`python -m pstats PROFILE_OUT` reads them); the profiler slows
the console, so its press times are not comparable with an unprofiled run.
"""

import asyncio
import cProfile
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from textual import events

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.launch import yield_cpu_to_engine
from nocwatch_tui.console.widgets.grid import TargetGrid

PRESS_EVERY_S = 1.0
REPAINT_TIMEOUT_S = 5.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def _write(out_path: Path, seen: dict[str, Any]) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    seen["cpu_s"] = usage.ru_utime + usage.ru_stime
    seen["rss_peak_mb"] = usage.ru_maxrss / 1024
    out_path.write_text(json.dumps(seen))


async def _press_until(
    app: NocWatchApp, grid: TargetGrid, deadline: float, seen: dict[str, Any]
) -> None:
    """Press keys every PRESS_EVERY_S until `deadline` (monotonic), adding to `seen`."""
    repaints: list[tuple[float, int]] = []
    screen = app.screen
    refresh = screen._compositor_refresh

    def timed_refresh() -> None:
        refresh()
        repaints.append((time.perf_counter(), grid.cursor_row))

    screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
    key = "down"
    while time.monotonic() + PRESS_EVERY_S < deadline:
        await asyncio.sleep(PRESS_EVERY_S)
        repaints.clear()
        elapsed_ms = await _time_press(app, grid, key, repaints)
        if elapsed_ms is None:
            seen["presses_missed"] += 1
            key = "up" if key == "down" else "down"
        else:
            seen["press_ms"].append(elapsed_ms)


async def _run(db_path: Path, seconds: float, out_path: Path, profile_path: Path | None) -> None:
    started = time.monotonic()
    deadline = started + seconds
    seen: dict[str, Any] = {
        "press_ms": [],
        "presses_missed": 0,
        "startup_s": None,
        "press_cpu_s": None,
        "press_s": None,
        "rows": 0,
        "error": None,
        "repaint_timeout_s": REPAINT_TIMEOUT_S,
    }
    try:
        yield_cpu_to_engine()  # as `nocwatch console` does
        app = NocWatchApp(db_path)  # no engine process id: the console attaches
        async with app.run_test(size=(120, 40)) as pilot:
            grid = app.screen.query_one(TargetGrid)
            while not grid.row_count and time.monotonic() < deadline:
                await pilot.pause(0.1)
            seen["rows"] = grid.row_count
            if not grid.row_count:
                seen["error"] = f"the grid showed no rows within {seconds:g} s"
                return
            seen["startup_s"] = time.monotonic() - started

            cpu_before, press_start = _cpu_s(), time.monotonic()
            profiler = cProfile.Profile() if profile_path else None
            if profiler is not None:
                profiler.enable()
            await _press_until(app, grid, deadline, seen)
            if profiler is not None and profile_path is not None:
                profiler.disable()
                profiler.dump_stats(profile_path)
            seen["press_cpu_s"] = _cpu_s() - cpu_before
            seen["press_s"] = time.monotonic() - press_start
            seen["rows"] = grid.row_count

            if not seen["press_ms"] and not seen["presses_missed"]:
                seen["error"] = (
                    f"no time left to press keys: the grid showed its rows after"
                    f" {seen['startup_s']:.1f} s of a {seconds:g} s run"
                )
            elif not seen["press_ms"]:
                seen["error"] = f"the cursor never moved on screen within {REPAINT_TIMEOUT_S:g} s"
            # Written before shutting down, which can be slow with many rows.
            _write(out_path, seen)
    except Exception as error:
        traceback.print_exc()
        seen["error"] = f"the console failed: {type(error).__name__}: {error}"
        raise
    finally:
        _write(out_path, seen)


if __name__ == "__main__":
    profile = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    asyncio.run(_run(Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]), profile))
