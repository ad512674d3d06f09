"""Jitter: variation of latency between consecutive samples.

A None latency marks a failed probe. It breaks the pair on either side of it,
so a failure is never counted as a jump in latency.
"""

import itertools
import statistics
from collections.abc import Sequence


def _consecutive_deltas(latencies: Sequence[float | None]) -> list[float]:
    """List |L(i) - L(i-1)| for each pair of consecutive samples that both have a latency."""
    deltas: list[float] = []
    for previous, current in itertools.pairwise(latencies):
        if previous is not None and current is not None:
            deltas.append(abs(current - previous))
    return deltas


def mean_jitter(latencies: Sequence[float | None]) -> float | None:
    """Compute the mean absolute latency change between consecutive samples, in the input's unit.

    Returns None when no two consecutive samples both have a latency.
    """
    deltas = _consecutive_deltas(latencies)
    if not deltas:
        return None

    return statistics.fmean(deltas)


def rfc3550_jitter(latencies: Sequence[float | None]) -> float | None:
    """Compute the RFC 3550 interarrival jitter estimate J += (|D| - J) / 16, starting at 0.

    D is the latency change of each consecutive pair, and pairs broken by a failed
    probe are skipped. The result is J in the input's unit, not the integer form
    scaled by 16 that RFC 3550 appendix A.8 offers. Returns None when there is no pair.
    """
    deltas = _consecutive_deltas(latencies)
    if not deltas:
        return None

    jitter = 0.0
    for delta in deltas:
        jitter += (delta - jitter) / 16.0
    return jitter
