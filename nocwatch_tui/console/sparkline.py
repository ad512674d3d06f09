"""Text sparklines for grid cells, with failed probes marked instead of drawn as zero."""

from collections.abc import Sequence
from itertools import pairwise

BARS = "▁▂▃▄▅▆▇█"
FAILURE_MARK = "×"


def sparkline(values: Sequence[float | None], width: int) -> str:
    """Draw the newest `width` values as bars scaled between their min and max.

    None stands for a probe without a value and is drawn as FAILURE_MARK; the
    result is right-aligned and padded to `width` with spaces.
    """
    visible = list(values[-width:]) if width > 0 else []
    numbers = [value for value in visible if value is not None]
    low = min(numbers, default=0.0)
    span = max(numbers, default=0.0) - low

    bars = []
    for value in visible:
        if value is None:
            bars.append(FAILURE_MARK)
        elif span <= 0:
            bars.append(BARS[0])
        else:
            level = round((value - low) / span * (len(BARS) - 1))
            bars.append(BARS[level])
    return "".join(bars).rjust(width)


def latency_deltas(latencies: Sequence[float | None]) -> list[float | None]:
    """Return |L(i) − L(i−1)| for each consecutive pair; a failure breaks the pair."""
    deltas: list[float | None] = []
    for previous, current in pairwise(latencies):
        if previous is None or current is None:
            deltas.append(None)
        else:
            deltas.append(abs(current - previous))
    return deltas


def sparkline_rows(values: Sequence[float | None], width: int, height: int) -> list[str]:
    """Draw the newest `width` values as bars `height` rows tall, top row first.

    Each row adds eight levels of resolution; with `height` 1 the result is
    `sparkline()`. A probe without a value is FAILURE_MARK on the bottom row.
    """
    if height <= 1:
        return [sparkline(values, width)]
    visible = list(values[-width:]) if width > 0 else []
    numbers = [value for value in visible if value is not None]
    low = min(numbers, default=0.0)
    span = max(numbers, default=0.0) - low
    levels = len(BARS) * height

    columns = []
    for value in visible:
        if value is None:
            columns.append(FAILURE_MARK + " " * (height - 1))
            continue
        filled = 1 if span <= 0 else 1 + round((value - low) / span * (levels - 1))
        columns.append("".join(_cell(filled - row * len(BARS)) for row in range(height)))

    padding = " " * height
    columns = [padding] * (width - len(columns)) + columns
    return ["".join(column[row] for column in columns) for row in reversed(range(height))]


def _cell(eighths: int) -> str:
    if eighths <= 0:
        return " "
    return BARS[min(eighths, len(BARS)) - 1]
