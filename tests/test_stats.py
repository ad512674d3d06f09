"""Unit and property tests of the window statistics: percentiles, jitter, loss, availability."""

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nocwatch_tui.engine.sample import ErrorClass
from nocwatch_tui.engine.stats import (
    Rollup,
    SampleRow,
    WindowStats,
    mean_jitter,
    percentile,
    percentiles,
    rfc3550_jitter,
    rollup_rows,
    summarize,
    summarize_rollup,
)
from nocwatch_tui.engine.stats.histogram import (
    LOW_MS,
    RATIO,
    decode,
    encode,
    histogram_of,
    histogram_percentiles,
)

PHASE_NAMES = ("dns", "connect", "tls", "ttfb", "transfer")

# Finite values within ±1e9. Hypothesis also draws zeros, negatives and subnormals here.
finite_floats = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


def row(
    started_at_ms: int,
    latency_ms: float | None = None,
    error: str | None = None,
    **phases_ms: float | None,
) -> SampleRow:
    """Build a sample row with only the fields a test cares about."""
    return SampleRow(
        started_at_ms=started_at_ms,
        error=error,
        latency_ms=latency_ms,
        dns_ms=phases_ms.get("dns_ms"),
        connect_ms=phases_ms.get("connect_ms"),
        tls_ms=phases_ms.get("tls_ms"),
        ttfb_ms=phases_ms.get("ttfb_ms"),
        transfer_ms=phases_ms.get("transfer_ms"),
    )


# --- percentile ---------------------------------------------------------------------------

PERCENTILE_CASES = [
    pytest.param([10.0, 20.0, 30.0, 40.0], 50.0, 25.0, id="median-of-four"),
    pytest.param([40.0, 10.0, 30.0, 20.0], 50.0, 25.0, id="median-unsorted"),
    pytest.param([float(v) for v in range(1, 21)], 95.0, 19.05, id="p95-of-1-to-20"),
    pytest.param([float(v) for v in range(20, 0, -1)], 95.0, 19.05, id="p95-of-20-to-1"),
    pytest.param([7.0], 0.0, 7.0, id="single-p0"),
    pytest.param([7.0], 50.0, 7.0, id="single-p50"),
    pytest.param([7.0], 100.0, 7.0, id="single-p100"),
    pytest.param([3.0, 1.0, 2.0], 0.0, 1.0, id="p0-is-min"),
    pytest.param([3.0, 1.0, 2.0], 100.0, 3.0, id="p100-is-max"),
    pytest.param([1.0, 2.0], 25.0, 1.25, id="quarter-between-two"),
    pytest.param([5.0, 5.0, 5.0], 95.0, 5.0, id="equal-values"),
]


@pytest.mark.parametrize(("values", "q", "expected"), PERCENTILE_CASES)
def test_percentile_hand_computed(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected, rel=1e-12)


def test_percentile_empty_is_none() -> None:
    assert percentile([], 50.0) is None


@pytest.mark.parametrize("q", [-0.1, 100.1, -50.0, 1000.0, math.nan])
def test_percentile_rejects_invalid_q(q: float) -> None:
    with pytest.raises(ValueError, match="invalid percentile"):
        percentile([1.0, 2.0], q)


def test_percentile_rejects_invalid_q_when_empty() -> None:
    with pytest.raises(ValueError, match="invalid percentile"):
        percentile([], 101.0)


def test_percentiles_match_single_calls() -> None:
    values = [float(v) for v in range(1, 21)]
    result = percentiles(values, (50.0, 95.0, 99.0))

    assert list(result) == [50.0, 95.0, 99.0]
    assert result[50.0] == percentile(values, 50.0)
    assert result[95.0] == pytest.approx(19.05)
    assert result[99.0] == percentile(values, 99.0)


def test_percentiles_empty_maps_to_none() -> None:
    assert percentiles([], (50.0, 95.0)) == {50.0: None, 95.0: None}


def test_percentiles_rejects_invalid_q() -> None:
    with pytest.raises(ValueError, match="invalid percentile"):
        percentiles([1.0], (50.0, -1.0))


@settings(max_examples=200, deadline=None)
@given(st.lists(finite_floats, min_size=2, max_size=200))
def test_percentile_matches_statistics_quantiles(values: list[float]) -> None:
    expected = statistics.quantiles(values, n=100, method="inclusive")
    # The two formulas round differently, so the tolerance is relative to the data's
    # magnitude, because a percentile that interpolates to near 0 between values of opposite
    # sign has no meaningful relative error of its own.
    # Among subnormal values 1e-9 × scale underflows to 0, so a few ulps are allowed too.
    scale = max(abs(value) for value in values)
    abs_tol = max(1e-9 * scale, 4 * math.ulp(scale))
    for q in range(1, 100):
        actual = percentile(values, float(q))
        assert actual is not None
        assert math.isclose(actual, expected[q - 1], rel_tol=1e-9, abs_tol=abs_tol), q


@settings(max_examples=200, deadline=None)
@given(st.lists(finite_floats, min_size=1, max_size=200))
def test_percentiles_ordered_within_range(values: list[float]) -> None:
    result = percentiles(values, (50.0, 95.0, 99.0))
    p50, p95, p99 = result[50.0], result[95.0], result[99.0]
    assert p50 is not None
    assert p95 is not None
    assert p99 is not None

    assert min(values) <= p50
    assert p50 <= p95
    assert p95 <= p99
    assert p99 <= max(values)


# --- jitter -------------------------------------------------------------------------------

MEAN_JITTER_CASES = [
    pytest.param([10.0, 20.0], 10.0, id="one-pair"),
    pytest.param([10.0, 20.0, 15.0], 7.5, id="two-pairs"),
    pytest.param([10.0, None, 50.0], None, id="failure-breaks-only-pair"),
    pytest.param([10.0, 20.0, None, 50.0, 45.0], 7.5, id="failure-breaks-middle-pair"),
    pytest.param([None, 10.0, 12.0, None], 2.0, id="failures-at-both-ends"),
    pytest.param([10.0], None, id="single-sample"),
    pytest.param([], None, id="empty"),
    pytest.param([None, None], None, id="only-failures"),
    pytest.param([30.0, 30.0, 30.0], 0.0, id="steady-latency"),
]


@pytest.mark.parametrize(("latencies", "expected"), MEAN_JITTER_CASES)
def test_mean_jitter_hand_computed(latencies: list[float | None], expected: float | None) -> None:
    assert mean_jitter(latencies) == expected


def test_rfc3550_jitter_hand_computed() -> None:
    # The pairs give |D| = 10, 6, 0 and 16, because the failure breaks (14, None) and
    # (None, 30). From J = 0, each step adds (|D| - J)/16, which gives 0.625, 0.9609375,
    # 0.90087890625 and 1.844573974609375, all exact in binary.
    latencies: list[float | None] = [10.0, 20.0, 14.0, 14.0, None, 30.0, 46.0]

    assert rfc3550_jitter(latencies) == 1.844573974609375
    assert mean_jitter(latencies) == 8.0


@pytest.mark.parametrize(
    "latencies",
    [
        pytest.param([], id="empty"),
        pytest.param([10.0], id="single-sample"),
        pytest.param([10.0, None, 50.0], id="failure-breaks-only-pair"),
    ],
)
def test_rfc3550_jitter_without_pair_is_none(latencies: list[float | None]) -> None:
    assert rfc3550_jitter(latencies) is None


def test_rfc3550_jitter_first_pair_is_sixteenth() -> None:
    assert rfc3550_jitter([100.0, 132.0]) == 2.0


# --- window -------------------------------------------------------------------------------


def test_window_half_timeouts() -> None:
    passed = [
        row(i * 1000, latency) for i, latency in enumerate([113.0, 114.0, 114.0, 115.0, 113.0])
    ]
    timeouts = [row((5 + i) * 1000, error="timeout") for i in range(5)]
    stats = summarize(passed + timeouts)

    assert stats.samples == 10
    assert stats.responses == 5
    assert stats.passed == 5
    assert stats.loss_pct == pytest.approx(50.0)
    assert stats.availability_pct == pytest.approx(50.0)
    assert stats.latency_mean_ms == pytest.approx(113.8)
    assert stats.latency_min_ms == 113.0
    assert stats.latency_max_ms == 115.0
    assert stats.latency_mean_ms is not None
    assert stats.latency_mean_ms >= stats.latency_min_ms
    assert stats.latency_p50_ms == 114.0
    assert stats.jitter_ms == pytest.approx(1.0)
    assert stats.errors == {"timeout": 5}
    assert stats.last_error == "timeout"
    assert stats.last_sample_at_ms == 9000


def test_window_empty_is_all_none() -> None:
    stats = summarize([])

    assert stats.samples == 0
    assert stats.responses == 0
    assert stats.passed == 0
    for name in (
        "loss_pct",
        "availability_pct",
        "latency_mean_ms",
        "latency_min_ms",
        "latency_max_ms",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "jitter_ms",
        "jitter_rfc3550_ms",
        "last_error",
        "last_sample_at_ms",
    ):
        assert getattr(stats, name) is None, name
    assert stats.phases_p50_ms == dict.fromkeys(PHASE_NAMES)
    assert stats.errors == {}


def test_window_status_body_are_responses() -> None:
    rows = [
        row(1000, 100.0),
        row(2000, 80.0, error="status"),
        row(3000, 90.0, error="body"),
        row(4000, error="refused"),
    ]
    stats = summarize(rows)

    assert stats.samples == 4
    assert stats.responses == 3
    assert stats.passed == 1
    assert stats.loss_pct == pytest.approx(25.0)
    assert stats.availability_pct == pytest.approx(25.0)
    assert stats.errors == {"body": 1, "refused": 1, "status": 1}
    assert list(stats.errors) == ["body", "refused", "status"]
    assert stats.last_error == "refused"


def test_window_failed_latency_excluded() -> None:
    # The `status` failure carries a latency of 5 ms, below every passed sample.
    rows = [row(1000, 100.0), row(2000, 5.0, error="status"), row(3000, 110.0)]
    stats = summarize(rows)

    assert stats.latency_min_ms == 100.0
    assert stats.latency_mean_ms == pytest.approx(105.0)
    assert stats.latency_max_ms == 110.0


def test_window_mean_of_equal_latencies() -> None:
    # statistics.fmean([12.7] * 3) rounds to 12.699999999999998, below the minimum.
    stats = summarize([row(1000, 12.7), row(2000, 12.7), row(3000, 12.7)])

    assert stats.latency_mean_ms == 12.7
    assert stats.latency_min_ms == 12.7


def test_window_failure_breaks_jitter_pair() -> None:
    rows = [
        row(1000, 10.0),
        row(2000, 20.0),
        row(3000, 30.0, error="status"),
        row(4000, 50.0),
        row(5000, 45.0),
    ]
    stats = summarize(rows)

    assert stats.jitter_ms == pytest.approx(7.5)
    assert stats.jitter_rfc3550_ms == pytest.approx(10 / 16 + (5 - 10 / 16) / 16)


def test_window_single_failure_between_passes() -> None:
    stats = summarize([row(1000, 10.0), row(2000, error="timeout"), row(3000, 50.0)])

    assert stats.jitter_ms is None
    assert stats.jitter_rfc3550_ms is None
    assert stats.latency_mean_ms == pytest.approx(30.0)


def test_window_sorts_by_start_time() -> None:
    rows = [row(3000, 50.0), row(1000, 10.0), row(2000, error="dns"), row(4000, 45.0)]
    stats = summarize(rows)

    assert stats.jitter_ms == pytest.approx(5.0)
    assert stats.last_error == "dns"
    assert stats.last_sample_at_ms == 4000


def test_window_last_error_is_newest() -> None:
    rows = [row(1000, error="dns"), row(2000, error="tls"), row(3000, 20.0)]
    stats = summarize(rows)

    assert stats.last_error == "tls"
    assert stats.availability_pct == pytest.approx(100 / 3)


def test_window_phase_medians_use_passed() -> None:
    rows = [
        row(1000, 40.0, dns_ms=1.0, connect_ms=10.0, ttfb_ms=20.0, transfer_ms=0.5),
        row(2000, 42.0, dns_ms=3.0, ttfb_ms=22.0, transfer_ms=0.7),
        row(3000, error="connect_timeout", dns_ms=100.0, connect_ms=5000.0),
    ]
    stats = summarize(rows)

    assert stats.phases_p50_ms["dns"] == pytest.approx(2.0)
    assert stats.phases_p50_ms["connect"] == pytest.approx(10.0)
    assert stats.phases_p50_ms["tls"] is None
    assert stats.phases_p50_ms["ttfb"] == pytest.approx(21.0)
    assert stats.phases_p50_ms["transfer"] == pytest.approx(0.6)
    assert list(stats.phases_p50_ms) == list(PHASE_NAMES)


def test_window_stats_is_frozen() -> None:
    stats = summarize([row(1000, 10.0)])

    assert isinstance(stats, WindowStats)
    with pytest.raises(AttributeError):
        stats.samples = 2  # type: ignore[misc]


error_classes = st.sampled_from([None, *(error.value for error in ErrorClass)])
latencies = st.floats(min_value=0.0, max_value=60_000.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(error_classes, latencies), max_size=100))
def test_window_invariants(outcomes: list[tuple[str | None, float]]) -> None:
    rows = [row(i * 1000, latency, error) for i, (error, latency) in enumerate(outcomes)]
    stats = summarize(rows)

    assert stats.passed <= stats.responses
    assert stats.responses <= stats.samples
    assert sum(stats.errors.values()) == stats.samples - stats.passed
    if stats.latency_mean_ms is None:
        assert stats.passed == 0
        return
    assert stats.latency_min_ms is not None
    assert stats.latency_max_ms is not None
    assert stats.latency_min_ms <= stats.latency_mean_ms
    assert stats.latency_mean_ms <= stats.latency_max_ms
    assert stats.loss_pct is not None
    assert stats.availability_pct is not None
    assert stats.loss_pct + stats.availability_pct <= 100.0 + 1e-9


# --- histogram and rollups ----------------------------------------------------------------

positive_latencies = st.floats(min_value=0.05, max_value=60_000.0, allow_nan=False)


def relative_error(estimate: float | None, exact: float | None) -> float:
    assert estimate is not None
    assert exact is not None
    return abs(estimate - exact) / exact


HISTOGRAM_CASES = [
    pytest.param([10.0, 20.0, 30.0, 40.0], 50.0, 25.0, id="median-of-four"),
    pytest.param([float(v) for v in range(1, 21)], 95.0, 19.05, id="p95-of-1-to-20"),
    pytest.param([113.0, 114.0, 114.0, 115.0, 113.0], 50.0, 114.0, id="median-of-five"),
]


@pytest.mark.parametrize(("values", "q", "expected"), HISTOGRAM_CASES)
def test_histogram_percentile_within_two_percent(
    values: list[float], q: float, expected: float
) -> None:
    estimate = histogram_percentiles(histogram_of(values), (q,), min(values), max(values))[q]
    assert relative_error(estimate, expected) < 0.02


def test_histogram_keeps_min_and_max_exact() -> None:
    values = [12.3, 45.6, 78.9]
    result = histogram_percentiles(histogram_of(values), (0.0, 100.0), 12.3, 78.9)
    assert result[0.0] == 12.3
    assert result[100.0] == 78.9


def test_histogram_empty_is_none() -> None:
    assert histogram_percentiles(histogram_of([]), (95.0,)) == {95.0: None}


def test_histogram_encoding_round_trips() -> None:
    histogram = histogram_of([1.0, 1.0, 250.0, 30_000.0])
    assert decode(encode(histogram)) == histogram


def test_histogram_bucket_width_bounds_error() -> None:
    assert math.sqrt(RATIO) - 1 < 0.02


@settings(max_examples=200, deadline=None)
@given(st.lists(positive_latencies, min_size=1, max_size=300), st.sampled_from([50.0, 95.0, 99.0]))
def test_histogram_percentile_matches_exact_within_two_percent(
    values: list[float], q: float
) -> None:
    exact = percentile(values, q)
    estimate = histogram_percentiles(histogram_of(values), (q,), min(values), max(values))[q]
    assert relative_error(estimate, exact) < 0.02


outcomes_strategy = st.lists(
    st.tuples(st.sampled_from([None, None, None, "timeout", "status"]), positive_latencies),
    min_size=1,
    max_size=200,
)


def rows_of(outcomes: list[tuple[str | None, float]]) -> list[SampleRow]:
    return [
        row(i * 1000, latency, error, dns_ms=latency / 10, ttfb_ms=latency / 2)
        for i, (error, latency) in enumerate(outcomes)
    ]


@settings(max_examples=200, deadline=None)
@given(outcomes_strategy, st.integers(min_value=0, max_value=200))
def test_rollup_path_agrees_with_raw_path(
    outcomes: list[tuple[str | None, float]], split: int
) -> None:
    rows = rows_of(outcomes)
    exact = summarize(rows)
    # Two adjacent spans rolled up apart and merged, as minutes add up to hours.
    first = rollup_rows(rows[:split])
    first.merge(rollup_rows(rows[split:], rows[split - 1] if 0 < split <= len(rows) else None))
    estimate = summarize_rollup(first)

    assert estimate.samples == exact.samples
    assert estimate.responses == exact.responses
    assert estimate.passed == exact.passed
    assert estimate.loss_pct == exact.loss_pct
    assert estimate.availability_pct == exact.availability_pct
    assert estimate.errors == exact.errors
    assert estimate.last_error == exact.last_error
    assert estimate.last_sample_at_ms == exact.last_sample_at_ms
    assert estimate.latency_min_ms == exact.latency_min_ms
    assert estimate.latency_max_ms == exact.latency_max_ms
    if exact.latency_mean_ms is None:
        assert estimate.latency_mean_ms is None
        assert estimate.latency_p95_ms is None
        return
    assert estimate.latency_mean_ms == pytest.approx(exact.latency_mean_ms, rel=1e-9)
    assert relative_error(estimate.latency_p50_ms, exact.latency_p50_ms) < 0.02
    assert relative_error(estimate.latency_p95_ms, exact.latency_p95_ms) < 0.02
    assert relative_error(estimate.latency_p99_ms, exact.latency_p99_ms) < 0.02
    dns_estimate, dns_exact = estimate.phases_p50_ms["dns"], exact.phases_p50_ms["dns"]
    assert dns_estimate is not None
    assert dns_exact is not None
    # Durations under LOW_MS share the histogram's first bucket: their error is absolute.
    assert abs(dns_estimate - dns_exact) <= max(0.02 * dns_exact, LOW_MS / 2)
    assert estimate.phases_p50_ms["tls"] is None
    if exact.jitter_ms is None:
        assert estimate.jitter_ms is None
    else:
        assert estimate.jitter_ms == pytest.approx(exact.jitter_ms, rel=1e-9, abs=1e-9)


def test_rollup_failure_breaks_jitter_pair_across_spans() -> None:
    first = rollup_rows([row(0, 10.0), row(1000, error="timeout")])
    first.merge(rollup_rows([row(2000, 50.0), row(3000, 54.0)], row(1000, error="timeout")))
    assert summarize_rollup(first).jitter_ms == 4.0


def test_rollup_has_no_rfc3550_estimate() -> None:
    stats = summarize_rollup(rollup_rows([row(0, 10.0), row(1000, 20.0)]))
    assert stats.jitter_rfc3550_ms is None
    assert stats.jitter_ms == 10.0


def test_rollup_empty_is_all_none() -> None:
    stats = summarize_rollup(Rollup())
    assert stats.samples == 0
    assert stats.loss_pct is None
    assert stats.availability_pct is None
    assert stats.latency_mean_ms is None
    assert stats.latency_p95_ms is None
    assert stats.jitter_ms is None
    assert stats.phases_p50_ms["dns"] is None
