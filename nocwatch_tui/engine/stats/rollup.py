"""Rollups: the statistics of a span of samples in a fixed size, so they can be added up.

A rollup keeps counts, the latency sum, min and max, the sum of |ΔL| over its
jitter pairs, per-error counts and log-scale histograms of latency and of each
phase. Rollups of adjacent spans merge into the rollup of the whole span, so a
30-day window is computed from 720 hourly rollups instead of 259,200 samples.
"""

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nocwatch_tui.engine.sample import PHASES
from nocwatch_tui.engine.stats.histogram import Histogram, histogram_percentiles
from nocwatch_tui.engine.stats.histogram import bucket_of as _bucket_of
from nocwatch_tui.engine.stats.window import SampleRow, WindowStats

LATENCY = "latency"
HISTOGRAMS = (LATENCY, *PHASES)
"""The names of a rollup's histograms: latency, then each phase."""


def _empty_histograms() -> dict[str, Histogram]:
    return {name: Counter() for name in HISTOGRAMS}


@dataclass
class Rollup:
    """The mergeable statistics of one target's samples over a span of time.

    Jitter pairs are counted in the span of their second sample, so a pair that
    straddles two spans is counted once, and merged spans give the exact mean
    jitter of their samples.
    """

    samples: int = 0
    responses: int = 0
    passed: int = 0
    latency_count: int = 0
    latency_sum_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    jitter_sum_ms: float = 0.0
    jitter_pairs: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    histograms: dict[str, Histogram] = field(default_factory=_empty_histograms)
    last_error: str | None = None
    last_sample_at_ms: int | None = None
    suspect_samples: int = 0

    def add(self, row: SampleRow, previous: SampleRow | None) -> None:
        """Add one sample; `previous` is the target's sample just before it, if any."""
        self.samples += 1
        self.responses += row.responded
        self.suspect_samples += row.suspect
        self.last_sample_at_ms = row.started_at_ms
        if row.error is not None:
            self.errors[row.error] += 1
            self.last_error = row.error
            return

        self.passed += 1
        for phase, duration_ms in row.phases_ms().items():
            if duration_ms is not None:
                self.histograms[phase][_bucket_of(duration_ms)] += 1
        latency = row.latency_ms
        if latency is None:
            return
        self.latency_count += 1
        self.latency_sum_ms += latency
        self.latency_min_ms = (
            latency if self.latency_min_ms is None else min(self.latency_min_ms, latency)
        )
        self.latency_max_ms = (
            latency if self.latency_max_ms is None else max(self.latency_max_ms, latency)
        )
        self.histograms[LATENCY][_bucket_of(latency)] += 1
        if previous is not None and previous.passed and previous.latency_ms is not None:
            self.jitter_sum_ms += abs(latency - previous.latency_ms)
            self.jitter_pairs += 1

    def merge(self, later: "Rollup") -> None:
        """Add the rollup of a span that follows this one."""
        self.samples += later.samples
        self.suspect_samples += later.suspect_samples
        self.responses += later.responses
        self.passed += later.passed
        self.latency_count += later.latency_count
        self.latency_sum_ms += later.latency_sum_ms
        self.latency_min_ms = _merge_extreme(self.latency_min_ms, later.latency_min_ms, min)
        self.latency_max_ms = _merge_extreme(self.latency_max_ms, later.latency_max_ms, max)
        self.jitter_sum_ms += later.jitter_sum_ms
        self.jitter_pairs += later.jitter_pairs
        self.errors.update(later.errors)
        for name, histogram in later.histograms.items():
            self.histograms.setdefault(name, Counter()).update(histogram)
        if later.last_error is not None:
            self.last_error = later.last_error
        if later.last_sample_at_ms is not None:
            self.last_sample_at_ms = later.last_sample_at_ms

    def encoded_errors(self) -> str:
        """Return the error counts as a JSON object, for storage."""
        return json.dumps(dict(sorted(self.errors.items())), separators=(",", ":"))


def _merge_extreme(
    first: float | None, second: float | None, pick: Callable[[float, float], float]
) -> float | None:
    if first is None:
        return second
    if second is None:
        return first
    return pick(first, second)


def rollup_rows(rows: Iterable[SampleRow], previous: SampleRow | None = None) -> Rollup:
    """Roll up time-ordered samples; `previous` is the sample just before the first one."""
    rollup = Rollup()
    for row in rows:
        rollup.add(row, previous)
        previous = row
    return rollup


def summarize_rollup(rollup: Rollup) -> WindowStats:
    """Compute window statistics from a rollup.

    Percentiles come from the histograms, within 1.5 % of the exact ones; min,
    max, mean, counts and the mean jitter are exact. The RFC 3550 estimator
    depends on every sample's order and is None here.
    """
    loss_pct = None
    availability_pct = None
    if rollup.samples:
        loss_pct = (rollup.samples - rollup.responses) / rollup.samples * 100.0
        availability_pct = rollup.passed / rollup.samples * 100.0

    low, high = rollup.latency_min_ms, rollup.latency_max_ms
    latency = histogram_percentiles(rollup.histograms[LATENCY], (50.0, 95.0, 99.0), low, high)
    mean = None
    if rollup.latency_count and low is not None and high is not None:
        mean = min(max(rollup.latency_sum_ms / rollup.latency_count, low), high)
    phases = {
        phase: histogram_percentiles(rollup.histograms[phase], (50.0,))[50.0] for phase in PHASES
    }
    return WindowStats(
        samples=rollup.samples,
        responses=rollup.responses,
        passed=rollup.passed,
        loss_pct=loss_pct,
        availability_pct=availability_pct,
        latency_mean_ms=mean,
        latency_min_ms=low,
        latency_max_ms=high,
        latency_p50_ms=latency[50.0],
        latency_p95_ms=latency[95.0],
        latency_p99_ms=latency[99.0],
        jitter_ms=rollup.jitter_sum_ms / rollup.jitter_pairs if rollup.jitter_pairs else None,
        jitter_rfc3550_ms=None,
        phases_p50_ms=phases,
        errors=dict(sorted(rollup.errors.items())),
        last_error=rollup.last_error,
        last_sample_at_ms=rollup.last_sample_at_ms,
        suspect_samples=rollup.suspect_samples,
    )
