"""Window statistics of samples: percentiles, jitter, loss and availability.

Pure functions over in-memory values, with no I/O, so the engine, the report and
the tests compute every figure the same way. Empty input gives None, never 0.
"""

from nocwatch_tui.engine.stats.jitter import mean_jitter, rfc3550_jitter
from nocwatch_tui.engine.stats.percentile import percentile, percentiles
from nocwatch_tui.engine.stats.rollup import Rollup, rollup_rows, summarize_rollup
from nocwatch_tui.engine.stats.window import SampleRow, WindowStats, summarize

__all__ = [
    "Rollup",
    "SampleRow",
    "WindowStats",
    "mean_jitter",
    "percentile",
    "percentiles",
    "rfc3550_jitter",
    "rollup_rows",
    "summarize",
    "summarize_rollup",
]
