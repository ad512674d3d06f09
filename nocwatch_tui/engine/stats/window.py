"""Statistics of one target's samples over a window: loss, availability, latency, jitter."""

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from nocwatch_tui.engine.sample import PHASES, ErrorClass
from nocwatch_tui.engine.stats.jitter import mean_jitter, rfc3550_jitter
from nocwatch_tui.engine.stats.percentile import percentile, percentiles

# Error classes of probes that still received an HTTP response, so they count
# as responses in loss even though they did not pass. An error string outside
# the vocabulary counts as no response.
_RESPONSE_ERRORS = frozenset(error.value for error in ErrorClass if error.got_response)


class SampleRow(NamedTuple):
    """One stored sample, with times in ms and `started_at_ms` in UTC epoch milliseconds."""

    started_at_ms: int
    error: str | None
    latency_ms: float | None
    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None
    ttfb_ms: float | None
    transfer_ms: float | None
    suspect: bool = False

    @property
    def passed(self) -> bool:
        """Whether the probe passed every check."""
        return self.error is None

    @property
    def responded(self) -> bool:
        """Whether the probe received an HTTP response, passing or not."""
        return self.error is None or self.error in _RESPONSE_ERRORS

    def phases_ms(self) -> dict[str, float | None]:
        """Return the phase durations keyed by phase name, in the order of PHASES."""
        durations = (self.dns_ms, self.connect_ms, self.tls_ms, self.ttfb_ms, self.transfer_ms)
        return dict(zip(PHASES, durations, strict=True))


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Statistics of a window of samples, with None for every figure that has no data.

    Counts are probes attempted (`samples`), probes with an HTTP response
    (`responses`) and probes that passed every check (`passed`). Percentages run
    from 0 to 100 and are not rounded. Latency, jitter and phase figures use
    only passed samples. `errors` maps each error class seen to its count, sorted
    by class name. `suspect_samples` counts the samples taken while the engine's
    event loop lagged (see `loop_lag.SUSPECT_LAG_MS`).
    """

    samples: int
    responses: int
    passed: int
    loss_pct: float | None
    availability_pct: float | None
    latency_mean_ms: float | None
    latency_min_ms: float | None
    latency_max_ms: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    jitter_ms: float | None
    jitter_rfc3550_ms: float | None
    phases_p50_ms: dict[str, float | None]
    errors: dict[str, int]
    last_error: str | None
    last_sample_at_ms: int | None
    suspect_samples: int = 0


def _count_errors(rows: Iterable[SampleRow]) -> dict[str, int]:
    """Count failed samples per error class, sorted by class name for stable output."""
    counts = Counter(row.error for row in rows if row.error is not None)
    return dict(sorted(counts.items()))


def _phase_medians(passed_rows: Iterable[SampleRow]) -> dict[str, float | None]:
    """Compute each phase's median over the samples that measured that phase."""
    durations: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for row in passed_rows:
        for phase, duration_ms in row.phases_ms().items():
            if duration_ms is not None:
                durations[phase].append(duration_ms)
    return {phase: percentile(values, 50.0) for phase, values in durations.items()}


def _mean_latency(latencies: list[float]) -> float | None:
    """Compute the mean latency, kept within [min, max] so the mean is never below the minimum."""
    if not latencies:
        return None

    # Rounding can put the mean below the minimum, because statistics.fmean([12.7] * 3)
    # returns 12.699999999999998, for example.
    mean = statistics.fmean(latencies)
    return min(max(mean, min(latencies)), max(latencies))


def _last_error(rows: list[SampleRow]) -> str | None:
    """Find the error class of the newest failed sample in time-ordered rows."""
    for row in reversed(rows):
        if row.error is not None:
            return row.error
    return None


def summarize(samples: Iterable[SampleRow]) -> WindowStats:
    """Compute the window statistics of one target's samples.

    The samples are sorted by `started_at_ms` here, because jitter depends on their order.
    """
    rows = sorted(samples, key=lambda row: row.started_at_ms)
    attempted = len(rows)
    responses = sum(1 for row in rows if row.responded)
    passed_rows = [row for row in rows if row.passed]

    loss_pct = None
    availability_pct = None
    if attempted:
        loss_pct = (attempted - responses) / attempted * 100.0
        availability_pct = len(passed_rows) / attempted * 100.0

    # Failed probes never enter latency statistics, even a `status` or `body`
    # failure that carries a latency. In the jitter sequence they are None, so
    # each failure breaks the pair around it.
    latencies = [row.latency_ms for row in passed_rows if row.latency_ms is not None]
    jitter_sequence = [row.latency_ms if row.passed else None for row in rows]
    latency_percentiles = percentiles(latencies, (50.0, 95.0, 99.0))

    return WindowStats(
        samples=attempted,
        responses=responses,
        passed=len(passed_rows),
        loss_pct=loss_pct,
        availability_pct=availability_pct,
        latency_mean_ms=_mean_latency(latencies),
        latency_min_ms=min(latencies, default=None),
        latency_max_ms=max(latencies, default=None),
        latency_p50_ms=latency_percentiles[50.0],
        latency_p95_ms=latency_percentiles[95.0],
        latency_p99_ms=latency_percentiles[99.0],
        jitter_ms=mean_jitter(jitter_sequence),
        jitter_rfc3550_ms=rfc3550_jitter(jitter_sequence),
        phases_p50_ms=_phase_medians(passed_rows),
        errors=_count_errors(rows),
        last_error=_last_error(rows),
        last_sample_at_ms=rows[-1].started_at_ms if rows else None,
        suspect_samples=sum(1 for row in rows if row.suspect),
    )
