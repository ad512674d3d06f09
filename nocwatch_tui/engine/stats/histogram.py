"""A fixed log-scale histogram of durations, from which percentiles are estimated.

Bucket i (i >= 1) contains values in [LOW_MS·R^(i-1), LOW_MS·R^i); bucket 0 holds
everything below LOW_MS. A value is estimated by the geometric middle of its
bucket, at most √R − 1 (1.49 % for R = 1.03) away from it in relative terms
(values in bucket 0 read as LOW_MS / 2, at most 5 µs away). A type-7 percentile
interpolates between two such estimates, so the same bound holds for every
percentile computed from a histogram. The buckets never change, so histograms
of any minutes and hours add up bucket by bucket.
"""

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping

from nocwatch_tui.engine.stats.percentile import _validate_q

LOW_MS = 0.01
RATIO = 1.03
_LOG_RATIO = math.log(RATIO)

Histogram = Counter[int]
"""Counts of values per bucket index."""


def bucket_of(value_ms: float) -> int:
    """Return the index of the bucket that contains a duration."""
    if value_ms < LOW_MS:
        return 0
    return int(math.log(value_ms / LOW_MS) / _LOG_RATIO) + 1


def bucket_value(index: int) -> float:
    """Return the estimate of every duration in a bucket: its geometric middle."""
    if index <= 0:
        return LOW_MS / 2
    return float(LOW_MS * RATIO ** (index - 0.5))


def histogram_of(values_ms: Iterable[float]) -> Histogram:
    """Count durations per bucket."""
    return Counter(bucket_of(value) for value in values_ms)


def encode(histogram: Mapping[int, int]) -> str:
    """Write a histogram as a JSON object from bucket index to count, which SQLite can sum."""
    pairs = ",".join(f'"{index}":{count}' for index, count in sorted(histogram.items()) if count)
    return "{" + pairs + "}"


def decode(text: str | None) -> Histogram:
    """Read a histogram written by `encode`; empty or None gives an empty histogram."""
    if not text:
        return Counter()
    return Counter({int(index): int(count) for index, count in json.loads(text).items()})


def _value_at_rank(sorted_buckets: list[tuple[int, int]], rank: int) -> float:
    """Return the estimate of the value at a zero-based rank of the histogram's values."""
    seen = 0
    for index, count in sorted_buckets:
        seen += count
        if rank < seen:
            return bucket_value(index)
    return bucket_value(sorted_buckets[-1][0])


def histogram_percentiles(
    histogram: Mapping[int, int],
    qs: Iterable[float],
    low_ms: float | None = None,
    high_ms: float | None = None,
) -> dict[float, float | None]:
    """Estimate type-7 percentiles of the values counted in a histogram.

    `low_ms` and `high_ms` are the exact minimum and maximum when known; estimates
    are kept within them, so p0 and p100 are exact. An empty histogram gives None.
    """
    requested = list(qs)
    for q in requested:
        _validate_q(q)
    sorted_buckets = sorted((index, count) for index, count in histogram.items() if count > 0)
    total = sum(count for _index, count in sorted_buckets)
    if total == 0:
        return dict.fromkeys(requested)

    def estimate(rank: int) -> float:
        # The lowest and highest ranks are the exact minimum and maximum when known.
        if rank == 0 and low_ms is not None:
            return low_ms
        if rank == total - 1 and high_ms is not None:
            return high_ms
        return _value_at_rank(sorted_buckets, rank)

    result: dict[float, float | None] = {}
    for q in requested:
        rank = (total - 1) * q / 100.0
        lower_rank = math.floor(rank)
        fraction = rank - lower_rank
        value = estimate(lower_rank)
        if fraction > 0.0 and lower_rank + 1 < total:
            value += (estimate(lower_rank + 1) - value) * fraction
        if low_ms is not None:
            value = max(value, low_ms)
        if high_ms is not None:
            value = min(value, high_ms)
        result[q] = value
    return result
