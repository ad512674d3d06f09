"""The detector: evaluates each target's detection window after every sample.

It keeps the samples of the window in memory per target, so evaluating costs no
query, and turns the verdicts of `down`, `latency`, `jitter` and `loss` into
incident changes through the hysteresis of each kind. The detector does no I/O;
the engine writes the changes it returns.
"""

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nocwatch_tui.engine.hysteresis import Hysteresis, Transition, Verdict
from nocwatch_tui.engine.incidents import (
    Incident,
    IncidentChange,
    IncidentEvent,
    Kind,
    OpenIncident,
    Severity,
)
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.stats import mean_jitter, percentile
from nocwatch_tui.engine.store import StoredTarget
from nocwatch_tui.engine.targets import Target

WINDOW_KINDS = (Kind.LATENCY, Kind.JITTER, Kind.LOSS)


def effective_thresholds(defaults: ThresholdSettings, target: Target) -> ThresholdSettings:
    """Return the global thresholds with the target's own overrides applied."""
    overrides = target.thresholds.model_dump(exclude_none=True)
    return defaults.model_copy(update=overrides) if overrides else defaults


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One kind's verdict on a window, with the severity and value it measured."""

    verdict: Verdict
    severity: Severity
    value: float | None


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """The figures of a detection window that thresholds apply to."""

    latency_p95_ms: float | None
    jitter_ms: float | None
    loss_pct: float | None


def window_figures(samples: Iterable[Sample]) -> WindowFigures:
    """Compute p95 latency, jitter and loss of a window's samples, in start order."""
    rows = list(samples)
    if not rows:
        return WindowFigures(None, None, None)

    latencies = [s.latency_ms for s in rows if s.passed and s.latency_ms is not None]
    jitter_sequence = [s.latency_ms if s.passed else None for s in rows]
    lost = sum(1 for s in rows if not s.responded)
    return WindowFigures(
        latency_p95_ms=percentile(latencies, 95.0),
        jitter_ms=mean_jitter(jitter_sequence),
        loss_pct=lost / len(rows) * 100.0,
    )


def _judge(
    value: float | None, warning: float, critical: float | None, clear_ratio: float
) -> Evaluation:
    if value is None:
        return Evaluation(Verdict.NO_DATA, Severity.WARNING, None)
    severity = Severity.CRITICAL if critical is not None and value > critical else Severity.WARNING
    if value > warning:
        return Evaluation(Verdict.BREACHING, severity, value)
    if value < warning * clear_ratio:
        return Evaluation(Verdict.HEALTHY, severity, value)
    return Evaluation(Verdict.BETWEEN, severity, value)


def evaluate_window(
    kind: Kind, figures: WindowFigures, thresholds: ThresholdSettings
) -> Evaluation:
    """Compare one window figure with the thresholds of its kind."""
    ratio = thresholds.clear_ratio
    match kind:
        case Kind.LATENCY:
            return _judge(
                figures.latency_p95_ms,
                thresholds.latency_p95_warning_ms,
                thresholds.latency_p95_critical_ms,
                ratio,
            )
        case Kind.JITTER:
            return _judge(figures.jitter_ms, thresholds.jitter_warning_ms, None, ratio)
        case Kind.LOSS:
            return _judge(
                figures.loss_pct, thresholds.loss_warning_pct, thresholds.loss_critical_pct, ratio
            )
    raise ValueError(f"{kind} is not evaluated on a window")


def evaluate_probe(sample: Sample) -> Evaluation:
    """Judge one probe for the `down` kind: a failure breaches, a pass is healthy."""
    verdict = Verdict.HEALTHY if sample.passed else Verdict.BREACHING
    return Evaluation(verdict, Severity.CRITICAL, None)


def _worse(old: float | None, new: float | None) -> float | None:
    """Return the worse of two values; every kind's metric is worse when higher."""
    if new is None:
        return old
    if old is None:
        return new
    return max(old, new)


@dataclass(slots=True)
class TargetState:
    """One target's detection window, hysteresis runs and open incidents."""

    target_id: int
    name: str
    thresholds: ThresholdSettings
    window: deque[Sample] = field(default_factory=deque)
    runs: dict[Kind, Hysteresis] = field(
        default_factory=lambda: {kind: Hysteresis() for kind in Kind}
    )
    open: dict[Kind, OpenIncident] = field(default_factory=dict)
    muted_until_ms: int | None = None
    """UTC epoch ms until which no incident opens for the target."""
    down_resolved_at_ms: int | None = None
    """UTC epoch ms when the target's last `down` incident resolved."""

    def _admit(self, sample: Sample) -> None:
        self.window.append(sample)
        since_ms = sample.started_at_ms - self.thresholds.window_s * 1000
        while self.window and self.window[0].started_at_ms < since_ms:
            self.window.popleft()

    def _limits(self, kind: Kind) -> tuple[int, int]:
        if kind is Kind.DOWN:
            return self.thresholds.down_after, self.thresholds.down_close_after
        return self.thresholds.open_after, self.thresholds.close_after

    def observe(self, sample: Sample, *, replay: bool = False) -> list[IncidentChange]:
        """Admit a sample, evaluate every kind, and return the incident changes it causes."""
        self._admit(sample)
        figures = window_figures(self.window)
        changes: list[IncidentChange] = []
        # `down` goes first, so the window kinds see whether an outage is open.
        for kind in sorted(Kind, key=lambda kind: kind is not Kind.DOWN):
            if kind is Kind.DOWN:
                evaluation = evaluate_probe(sample)
            else:
                evaluation = evaluate_window(kind, figures, self.thresholds)
            run = self.runs[kind]
            open_after, close_after = self._limits(kind)
            transition = run.step(evaluation.verdict, open_after, close_after, replay=replay)
            if replay:
                continue
            if transition is Transition.OPEN and (
                self._muted(sample.started_at_ms)
                or (kind is not Kind.DOWN and self._in_outage(sample.started_at_ms))
            ):
                # The run stays breaching, so the incident opens once the mute
                # or the outage's shadow ends, if the condition is still true then.
                run.is_open = False
                transition = None
            value = float(run.breaching) if kind is Kind.DOWN else evaluation.value
            change = self._apply(kind, transition, evaluation, value, sample.started_at_ms)
            if change is not None:
                changes.append(change)
        return changes

    def _muted(self, at_ms: int) -> bool:
        return self.muted_until_ms is not None and at_ms < self.muted_until_ms

    def _in_outage(self, at_ms: int) -> bool:
        """Tell whether a `down` incident is open or its failures are still in the window.

        Loss, latency and jitter of those failures belong to the outage, so they
        open no second incident (and send no second alert) for it.
        """
        if Kind.DOWN in self.open:
            return True
        resolved_ms = self.down_resolved_at_ms
        return resolved_ms is not None and at_ms - resolved_ms < self.thresholds.window_s * 1000

    def _apply(
        self,
        kind: Kind,
        transition: Transition | None,
        evaluation: Evaluation,
        value: float | None,
        at_ms: int,
    ) -> IncidentChange | None:
        if transition is Transition.OPEN:
            opened = OpenIncident(
                self.target_id, self.name, kind, evaluation.severity, at_ms, value
            )
            self.open[kind] = opened
            return IncidentChange(IncidentEvent.OPENED, opened, opened.severity, value, at_ms)

        incident = self.open.get(kind)
        if incident is None:
            return None
        if transition is Transition.RESOLVE:
            del self.open[kind]
            if kind is Kind.DOWN:
                self.down_resolved_at_ms = at_ms
            return IncidentChange(
                IncidentEvent.RESOLVED, incident, incident.severity, incident.peak_value, at_ms
            )

        event: IncidentEvent | None = None
        if (
            evaluation.verdict is Verdict.BREACHING
            and evaluation.severity.rank > incident.severity.rank
        ):
            incident.severity = evaluation.severity
            event = IncidentEvent.ESCALATED
        peak = _worse(incident.peak_value, value)
        if event is None and peak == incident.peak_value:
            return None
        incident.peak_value = peak
        return IncidentChange(event, incident, incident.severity, peak, at_ms)


class Detector:
    """The detection state of every target, fed one sample at a time."""

    def __init__(self, thresholds: ThresholdSettings) -> None:
        self.thresholds = thresholds
        self._states: dict[int, TargetState] = {}

    def set_targets(self, targets: Sequence[StoredTarget]) -> None:
        """Take the current targets' names and thresholds; state of kept targets stays."""
        states: dict[int, TargetState] = {}
        for stored in targets:
            thresholds = effective_thresholds(self.thresholds, stored.target)
            state = self._states.get(stored.id)
            if state is None:
                state = TargetState(stored.id, stored.target.name, thresholds)
            state.name = stored.target.name
            state.thresholds = thresholds
            state.muted_until_ms = stored.muted_until_ms
            states[stored.id] = state
        self._states = states

    def restore(self, open_incidents: Iterable[Incident], samples: Iterable[Sample]) -> None:
        """Rebuild open incidents and hysteresis runs from the database's records.

        `samples` are replayed in start order per target to count the runs, without
        opening or resolving anything; the next live sample applies the rules.
        """
        self.adopt_open(open_incidents)
        for sample in samples:
            state = self._states.get(sample.target_id)
            if state is not None:
                state.observe(sample, replay=True)

    def adopt_open(self, open_incidents: Iterable[Incident]) -> None:
        """Replace the detector's open incidents with the database's, keeping the runs."""
        for state in self._states.values():
            state.open.clear()
            for run in state.runs.values():
                run.is_open = False
        for incident in open_incidents:
            owner = self._states.get(incident.target_id)
            if owner is None:
                continue
            owner.open[incident.kind] = OpenIncident(
                incident.target_id,
                owner.name,
                incident.kind,
                incident.severity,
                incident.opened_at_ms,
                incident.peak_value,
                id=incident.id,
            )
            owner.runs[incident.kind].is_open = True

    def observe(self, sample: Sample) -> list[IncidentChange]:
        """Evaluate a new sample of a known target and return the incident changes."""
        state = self._states.get(sample.target_id)
        if state is None:
            return []
        return state.observe(sample)

    def open_incident(self, target_id: int, kind: Kind) -> OpenIncident | None:
        """Return a target's open incident of a kind, if any."""
        state = self._states.get(target_id)
        return None if state is None else state.open.get(kind)
