"""The detector and its hysteresis as pure functions: probe outcome sequences against incidents."""

import pytest

from nocwatch_tui.engine.detector import (
    Detector,
    WindowFigures,
    effective_thresholds,
    evaluate_window,
    window_figures,
)
from nocwatch_tui.engine.hysteresis import Hysteresis, Transition, Verdict
from nocwatch_tui.engine.incidents import (
    Incident,
    IncidentChange,
    IncidentEvent,
    Kind,
    Severity,
)
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.store import StoredTarget
from nocwatch_tui.engine.targets import Target, ThresholdOverrides

START_MS = 1_790_000_000_000
INTERVAL_MS = 10_000
TARGET_ID = 1


def stored_target(overrides: ThresholdOverrides | None = None) -> StoredTarget:
    target = Target(
        name="api",
        url="http://127.0.0.1:9/api",
        thresholds=overrides or ThresholdOverrides(),
    )
    return StoredTarget(TARGET_ID, target, False, 0)


def detector_for(**thresholds: object) -> Detector:
    detector = Detector(ThresholdSettings.model_validate(thresholds))
    detector.set_targets([stored_target()])
    return detector


def outcome_sample(index: int, outcome: str, latency_ms: float = 20.0) -> Sample:
    """S is a passed probe; F a probe that got HTTP 500, so it counts as failed, not lost."""
    started_at_ms = START_MS + index * INTERVAL_MS
    if outcome == "S":
        return Sample(TARGET_ID, started_at_ms, status_code=200, latency_ms=latency_ms)
    return Sample(TARGET_ID, started_at_ms, error=ErrorClass.STATUS, status_code=500)


def run_outcomes(
    detector: Detector, outcomes: str, first_index: int = 0
) -> list[tuple[int, IncidentChange]]:
    """Feed outcomes; return each incident event with its 1-based evaluation number."""
    events = []
    for offset, outcome in enumerate(outcomes.split()):
        evaluation = first_index + offset + 1
        for change in detector.observe(outcome_sample(first_index + offset, outcome)):
            if change.event is not None:
                events.append((evaluation, change))
    return events


def down_events(events: list[tuple[int, IncidentChange]]) -> list[tuple[int, IncidentEvent]]:
    return [
        (evaluation, change.event)
        for evaluation, change in events
        if change.incident.kind is Kind.DOWN and change.event is not None
    ]


# Outcome sequences of the `down` kind with open_after 3 and close_after 2.


def test_isolated_failures_open_nothing() -> None:
    detector = detector_for(down_after=3, down_close_after=2, open_after=3, close_after=2)

    events = run_outcomes(detector, "F S F F S F S S S")

    assert events == []
    assert detector.open_incident(TARGET_ID, Kind.DOWN) is None


def test_down_four_failures_two_successes() -> None:
    detector = detector_for(down_after=3, down_close_after=2, open_after=3, close_after=2)

    events = down_events(run_outcomes(detector, "F F F F S S"))

    assert events == [(3, IncidentEvent.OPENED), (6, IncidentEvent.RESOLVED)]
    assert detector.open_incident(TARGET_ID, Kind.DOWN) is None


def test_down_severity_and_peak() -> None:
    detector = detector_for(down_after=3, down_close_after=2)

    events = run_outcomes(detector, "F F F F F S S")

    opened = events[0][1]
    assert opened.severity is Severity.CRITICAL
    assert opened.peak_value == 3.0
    resolved = events[-1][1]
    assert resolved.event is IncidentEvent.RESOLVED
    assert resolved.peak_value == 5.0


def test_one_success_between_failures_keeps_the_incident_open() -> None:
    detector = detector_for(down_after=3, down_close_after=2)

    events = down_events(run_outcomes(detector, "F F F S F S F S F F S F"))

    assert events == [(3, IncidentEvent.OPENED)]
    assert detector.open_incident(TARGET_ID, Kind.DOWN) is not None


def test_second_outage_after_resolution_opens_a_second_incident() -> None:
    detector = detector_for(down_after=3, down_close_after=2)

    events = down_events(run_outcomes(detector, "F F F S S F F F"))

    assert events == [
        (3, IncidentEvent.OPENED),
        (5, IncidentEvent.RESOLVED),
        (8, IncidentEvent.OPENED),
    ]


def test_per_target_override_changes_down_after() -> None:
    detector = Detector(ThresholdSettings())
    detector.set_targets([stored_target(ThresholdOverrides(down_after=5))])

    events = down_events(run_outcomes(detector, "F F F F F"))

    assert events == [(5, IncidentEvent.OPENED)]


# Window kinds: thresholds, clear level and severity.


def latency_detector() -> Detector:
    detector = detector_for(open_after=3, close_after=3)
    return detector


def feed_latencies(
    detector: Detector, latencies: list[float], first_index: int = 0
) -> list[IncidentChange]:
    changes = []
    for offset, latency in enumerate(latencies):
        sample = outcome_sample(first_index + offset, "S", latency_ms=latency)
        changes.extend(c for c in detector.observe(sample) if c.incident.kind is Kind.LATENCY)
    return changes


def test_latency_warning_escalating_to_critical_stays_one_incident() -> None:
    detector = latency_detector()

    changes = feed_latencies(detector, [600.0] * 3 + [1500.0] * 30 + [600.0] * 3)

    events = [change.event for change in changes if change.event is not None]
    assert events == [IncidentEvent.OPENED, IncidentEvent.ESCALATED]
    assert changes[0].severity is Severity.WARNING
    assert len({id(change.incident) for change in changes}) == 1
    incident = detector.open_incident(TARGET_ID, Kind.LATENCY)
    assert incident is not None
    assert incident.severity is Severity.CRITICAL
    assert incident.peak_value == 1500.0


def test_latency_opening_at_critical_opens_critical() -> None:
    detector = latency_detector()

    changes = feed_latencies(detector, [1500.0] * 3)

    assert [change.event for change in changes] == [IncidentEvent.OPENED]
    assert changes[0].severity is Severity.CRITICAL


def test_severity_is_never_lowered_while_open() -> None:
    detector = latency_detector()
    feed_latencies(detector, [1500.0] * 3)

    # Six minutes of 450 ms: the window's p95 falls to the warning band, above the clear level.
    feed_latencies(detector, [450.0] * 36, first_index=3)

    incident = detector.open_incident(TARGET_ID, Kind.LATENCY)
    assert incident is not None
    assert incident.severity is Severity.CRITICAL


def test_latency_above_clear_level_stays_open() -> None:
    detector = latency_detector()
    feed_latencies(detector, [600.0] * 3)

    # 450 ms is below the 500 ms threshold but above the 400 ms clear level.
    changes = feed_latencies(detector, [450.0] * 60, first_index=3)

    assert [change.event for change in changes if change.event is not None] == []
    assert detector.open_incident(TARGET_ID, Kind.LATENCY) is not None


def test_latency_below_clear_level_resolves() -> None:
    detector = latency_detector()
    feed_latencies(detector, [600.0] * 3)

    # The 5-minute window contains 30 samples; the p95 falls below 400 ms once
    # nearly every 600 ms sample has left it.
    changes = feed_latencies(detector, [100.0] * 40, first_index=3)

    events = [change.event for change in changes if change.event is not None]
    assert events == [IncidentEvent.RESOLVED]
    assert detector.open_incident(TARGET_ID, Kind.LATENCY) is None


def test_refused_probes_open_down_only() -> None:
    detector = detector_for()
    kinds = []
    for index in range(6):
        sample = Sample(TARGET_ID, START_MS + index * INTERVAL_MS, error=ErrorClass.REFUSED)
        kinds.extend(change.incident.kind for change in detector.observe(sample))

    assert Kind.DOWN in kinds
    assert Kind.LOSS not in kinds
    assert detector.open_incident(TARGET_ID, Kind.LOSS) is None


def test_recovery_opens_no_loss_for_the_outage() -> None:
    detector = detector_for()
    kinds = []
    for index in range(6):
        sample = Sample(TARGET_ID, START_MS + index * INTERVAL_MS, error=ErrorClass.REFUSED)
        kinds.extend(change.incident.kind for change in detector.observe(sample))
    for index in range(6, 20):
        sample = Sample(TARGET_ID, START_MS + index * INTERVAL_MS, latency_ms=20.0, status_code=200)
        kinds.extend(change.incident.kind for change in detector.observe(sample))

    assert detector.open_incident(TARGET_ID, Kind.DOWN) is None
    assert Kind.LOSS not in kinds


def test_loss_without_outage_opens_critical() -> None:
    detector = detector_for()
    outcomes = ["S", "L", "S", "L", "S", "L", "S", "L"]
    for index, outcome in enumerate(outcomes):
        started_at_ms = START_MS + index * INTERVAL_MS
        if outcome == "S":
            sample = Sample(TARGET_ID, started_at_ms, latency_ms=20.0, status_code=200)
        else:
            sample = Sample(TARGET_ID, started_at_ms, error=ErrorClass.CLOSED)
        detector.observe(sample)

    loss = detector.open_incident(TARGET_ID, Kind.LOSS)
    assert loss is not None
    assert loss.severity is Severity.CRITICAL
    assert detector.open_incident(TARGET_ID, Kind.DOWN) is None


@pytest.mark.parametrize(
    ("value", "verdict", "severity"),
    [
        (None, Verdict.NO_DATA, Severity.WARNING),
        (399.0, Verdict.HEALTHY, Severity.WARNING),
        (400.0, Verdict.BETWEEN, Severity.WARNING),
        (500.0, Verdict.BETWEEN, Severity.WARNING),
        (500.1, Verdict.BREACHING, Severity.WARNING),
        (1000.1, Verdict.BREACHING, Severity.CRITICAL),
    ],
)
def test_latency_verdicts_against_default_thresholds(
    value: float | None, verdict: Verdict, severity: Severity
) -> None:
    figures = WindowFigures(latency_p95_ms=value, jitter_ms=None, loss_pct=None)

    evaluation = evaluate_window(Kind.LATENCY, figures, ThresholdSettings())

    assert evaluation.verdict is verdict
    assert evaluation.severity is severity


def test_jitter_is_only_ever_a_warning() -> None:
    figures = WindowFigures(latency_p95_ms=None, jitter_ms=5000.0, loss_pct=None)

    evaluation = evaluate_window(Kind.JITTER, figures, ThresholdSettings())

    assert evaluation.verdict is Verdict.BREACHING
    assert evaluation.severity is Severity.WARNING


def test_window_figures_of_no_samples_are_none() -> None:
    figures = window_figures([])

    assert figures.latency_p95_ms is None
    assert figures.jitter_ms is None
    assert figures.loss_pct is None


def test_effective_thresholds_apply_overrides_only_where_set() -> None:
    target = stored_target(ThresholdOverrides(latency_p95_warning_ms=200.0)).target

    thresholds = effective_thresholds(ThresholdSettings(latency_p95_critical_ms=900.0), target)

    assert thresholds.latency_p95_warning_ms == 200.0
    assert thresholds.latency_p95_critical_ms == 900.0


# Hysteresis alone.


def test_hysteresis_between_verdict_breaks_both_runs() -> None:
    runs = Hysteresis()
    for verdict in (Verdict.BREACHING, Verdict.BREACHING, Verdict.BETWEEN, Verdict.BREACHING):
        assert runs.step(verdict, open_after=3, close_after=3) is None

    assert runs.breaching == 1


def test_hysteresis_no_data_leaves_runs_alone() -> None:
    runs = Hysteresis()
    runs.step(Verdict.BREACHING, 3, 3)
    runs.step(Verdict.BREACHING, 3, 3)
    runs.step(Verdict.NO_DATA, 3, 3)

    assert runs.step(Verdict.BREACHING, 3, 3) is Transition.OPEN


def test_hysteresis_replay_counts_without_transitions() -> None:
    runs = Hysteresis()
    for _ in range(5):
        assert runs.step(Verdict.BREACHING, 3, 3, replay=True) is None

    assert runs.breaching == 5
    assert runs.is_open is False


# Restoring state from stored records.


def stored_down_incident(opened_index: int, peak: float) -> Incident:
    return Incident(
        id=7,
        target_id=TARGET_ID,
        target="api",
        kind=Kind.DOWN,
        severity=Severity.CRITICAL,
        opened_at_ms=START_MS + opened_index * INTERVAL_MS,
        peak_value=peak,
        acknowledged_at_ms=None,
        acknowledged_by=None,
        resolved_at_ms=None,
        notes=[],
    )


def test_restore_mid_incident_continues_without_a_new_opening() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    history = [outcome_sample(index, "F") for index in range(4)]
    detector.restore([stored_down_incident(2, 4.0)], history)

    events = down_events(run_outcomes(detector, "F F S S", first_index=4))

    assert events == [(8, IncidentEvent.RESOLVED)]


def test_restore_updates_the_stored_incident_by_its_id() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    history = [outcome_sample(index, "F") for index in range(4)]
    detector.restore([stored_down_incident(2, 4.0)], history)

    changes = [change for _, change in run_outcomes(detector, "S S", first_index=10)]

    assert [change.incident.id for change in changes] == [7]
    assert changes[0].peak_value == 4.0


def test_restore_after_recovery_while_stopped_resolves_once() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    history = [outcome_sample(index, "F") for index in range(5)]
    detector.restore([stored_down_incident(2, 5.0)], history)

    # The engine was stopped for an hour, and the target passes again.
    events = down_events(run_outcomes(detector, "S S S S S", first_index=400))

    assert events == [(402, IncidentEvent.RESOLVED)]


def test_restore_unwritten_incident_opens_next() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    # The engine stopped after writing three failures but before writing the incident.
    detector.restore([], [outcome_sample(index, "F") for index in range(3)])

    events = down_events(run_outcomes(detector, "F", first_index=3))

    assert events == [(4, IncidentEvent.OPENED)]


def test_restore_after_a_resolved_incident_opens_nothing() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    history = [outcome_sample(index, outcome) for index, outcome in enumerate("FFFFSS")]
    detector.restore([], history)

    events = down_events(run_outcomes(detector, "S F", first_index=6))

    assert events == []


def test_adopt_open_follows_the_database() -> None:
    detector = detector_for(down_after=3, down_close_after=2)
    run_outcomes(detector, "F F F")

    # Another writer stored its own open incident first, so this one was never written.
    detector.adopt_open([stored_down_incident(2, 3.0)])
    changes = [change for _, change in run_outcomes(detector, "S S", first_index=3)]

    assert [change.event for change in changes] == [IncidentEvent.RESOLVED]
    assert changes[0].incident.id == 7
