"""The engine's Prometheus metrics: per-target probe figures and the engine's own health.

Every series has a `site` label (`[metrics] site`), and per-target series a
`target` label with the target's name. Durations are in seconds and shares are
ratios from 0 to 1, as Prometheus conventions ask. Probe counters and
histograms are updated on every sample. Window gauges cover the detection
window (`[thresholds] window`) and are recomputed every WINDOW_REFRESH_S by the
same function as `nocwatch report`. A window with no data has no series, never 0.
"""

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as CounterMetric
from prometheus_client.metrics import MetricWrapperBase

from nocwatch_tui.engine.incidents import Incident, Kind, open_incidents
from nocwatch_tui.engine.report import TargetWindow, window_entries
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.engine.store import Store, StoredTarget, now_ms

log = logging.getLogger("nocwatch.metrics")

WINDOW_REFRESH_S = 5.0
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PHASE_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
SLIP_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

_TARGET = ("target", "site")

# A label child of one metric: the metric and its label values, kept so that
# every series of a removed or renamed target can be dropped.
_Series = tuple[MetricWrapperBase, tuple[str, ...]]
_Metric = TypeVar("_Metric", bound=MetricWrapperBase)


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


def _ratio(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


class EngineMetrics:
    """The registry that `/metrics` exposes, and the updates the engine makes to it."""

    def __init__(self, site: str, window_s: int) -> None:
        self.site = site
        self.window_s = window_s
        self.registry = CollectorRegistry(auto_describe=True)
        self._names: dict[int, str] = {}
        # Each target's labelled series, with the child metric that updates it.
        self._series: dict[str, dict[_Series, MetricWrapperBase]] = {}
        registry = self.registry

        self.latency = Histogram(
            "nocwatch_probe_latency_seconds",
            "Latency of passed probes, from the start of name resolution to the end of the body.",
            _TARGET,
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.last_latency = Gauge(
            "nocwatch_probe_last_latency_seconds",
            "Latency of the target's latest passed probe.",
            _TARGET,
            registry=registry,
        )
        # Phases are window medians rather than histograms: five histograms per
        # target would multiply the size, and the cost, of every scrape.
        self.window_phase_p50 = Gauge(
            "nocwatch_window_phase_p50_seconds",
            "Median duration of each phase (dns, connect, tls, ttfb, transfer) of the"
            " window's passed probes.",
            (*_TARGET, "phase"),
            registry=registry,
        )
        self.probes = CounterMetric(
            "nocwatch_probes",
            "Probes made, by result (passed or failed) and error class (none when passed).",
            (*_TARGET, "result", "error"),
            registry=registry,
        )
        self.up = Gauge(
            "nocwatch_target_up",
            "1 while the target is up or degraded, 0 while it is down; absent when"
            " paused or never probed.",
            _TARGET,
            registry=registry,
        )
        self.window_samples = Gauge(
            "nocwatch_window_samples",
            "Probes attempted in the current window.",
            _TARGET,
            registry=registry,
        )
        self.window_loss = Gauge(
            "nocwatch_window_loss_ratio",
            "Share of the window's probes that got no HTTP response.",
            _TARGET,
            registry=registry,
        )
        self.window_availability = Gauge(
            "nocwatch_window_availability_ratio",
            "Share of the window's probes that passed every check.",
            _TARGET,
            registry=registry,
        )
        self.window_latency_p95 = Gauge(
            "nocwatch_window_latency_p95_seconds",
            "p95 latency of the window's passed probes.",
            _TARGET,
            registry=registry,
        )
        self.window_jitter = Gauge(
            "nocwatch_window_jitter_seconds",
            "Mean absolute difference of consecutive latencies in the window.",
            _TARGET,
            registry=registry,
        )
        self.open_incidents = Gauge(
            "nocwatch_open_incidents",
            "Open incidents of the target, by kind (down, latency, jitter, loss).",
            (*_TARGET, "kind"),
            registry=registry,
        )
        self.window_length = Gauge(
            "nocwatch_window_length_seconds",
            "Length of the window of the nocwatch_window_* gauges.",
            ("site",),
            registry=registry,
        )
        self.window_length.labels(site).set(window_s)

        self.slip = Histogram(
            "nocwatch_schedule_slip_seconds",
            "Delay of each probe's start after its planned time.",
            ("site",),
            buckets=SLIP_BUCKETS_S,
            registry=registry,
        )
        self.loop_lag = Gauge(
            "nocwatch_event_loop_lag_seconds",
            "p99 event-loop lag of the engine over the last 10 seconds.",
            ("site",),
            registry=registry,
        )
        self.in_flight = Gauge(
            "nocwatch_probes_in_flight",
            "Probes running now.",
            ("site",),
            registry=registry,
        )
        self.write_queue = Gauge(
            "nocwatch_write_queue_depth",
            "Samples waiting to be written to the database.",
            ("site",),
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "nocwatch_outbox_backlog",
            "Webhook notifications waiting to be sent.",
            ("site",),
            registry=registry,
        )

    def bind_engine(
        self,
        loop_lag_s: Callable[[], float | None],
        in_flight: Callable[[], int],
        write_queue: Callable[[], int],
    ) -> None:
        """Read the engine's own figures at each scrape, from the scraping thread."""

        def or_nan(read: Callable[[], float | None]) -> Callable[[], float]:
            return lambda: float("nan") if (value := read()) is None else value

        self.loop_lag.labels(self.site).set_function(or_nan(loop_lag_s))
        self.in_flight.labels(self.site).set_function(lambda: float(in_flight()))
        self.write_queue.labels(self.site).set_function(lambda: float(write_queue()))
        self.outbox_backlog.labels(self.site).set(0)

    def set_targets(self, stored_targets: Sequence[StoredTarget]) -> None:
        """Follow the database's targets, dropping every series of a removed or renamed one."""
        self._names = {stored.id: stored.target.name for stored in stored_targets}
        current = set(self._names.values())
        for name in list(self._series):
            if name not in current:
                self._forget(name)

    def observe(self, sample: Sample) -> None:
        """Count one probe and record its latency and schedule slip."""
        if sample.slip_ms is not None:
            self.slip.labels(self.site).observe(sample.slip_ms / 1000)
        name = self._names.get(sample.target_id)
        if name is None:
            return

        error = "none" if sample.error is None else str(sample.error)
        result = "passed" if sample.passed else "failed"
        self._child(self.probes, name, result, error).inc()
        if not sample.passed or sample.latency_ms is None:
            return

        latency_s = sample.latency_ms / 1000
        self._child(self.latency, name).observe(latency_s)
        self._child(self.last_latency, name).set(latency_s)

    def set_outbox_backlog(self, count: int) -> None:
        """Publish how many notifications wait to be sent."""
        self.outbox_backlog.labels(self.site).set(count)

    def set_open_incidents(
        self, entries: Sequence[TargetWindow], incidents: Sequence[Incident]
    ) -> None:
        """Publish each target's count of open incidents of every kind, zeros included."""
        counts = Counter((incident.target_id, str(incident.kind)) for incident in incidents)
        for entry in entries:
            for kind in Kind:
                count = counts[(entry.stored.id, str(kind))]
                self._child(self.open_incidents, entry.stored.target.name, str(kind)).set(count)

    def set_windows(self, entries: Sequence[TargetWindow]) -> None:
        """Publish each target's window statistics and up state."""
        for entry in entries:
            name = entry.stored.target.name
            stats = entry.stats
            self._set(self.window_samples, name, float(stats.samples) if stats.samples else None)
            self._set(self.window_loss, name, _ratio(stats.loss_pct))
            self._set(self.window_availability, name, _ratio(stats.availability_pct))
            self._set(self.window_latency_p95, name, _seconds(stats.latency_p95_ms))
            self._set(self.window_jitter, name, _seconds(stats.jitter_ms))
            for phase, median_ms in stats.phases_p50_ms.items():
                self._set(self.window_phase_p50, name, _seconds(median_ms), phase)
            up = {TargetStatus.UP: 1.0, TargetStatus.DEGRADED: 1.0, TargetStatus.DOWN: 0.0}
            self._set(self.up, name, up.get(entry.status))

    async def refresh_windows(self, store: Store, every_s: float = WINDOW_REFRESH_S) -> None:
        """Recompute the window gauges every `every_s` until cancelled."""
        while True:
            try:
                entries = await window_entries(store, self.window_s, now_ms())
                self.set_windows(entries)
                self.set_open_incidents(entries, await open_incidents(store))
            except sqlite3.OperationalError as error:
                log.warning("computing the window metrics failed: %s", error)
            await asyncio.sleep(every_s)

    def _child(self, metric: _Metric, name: str, *extra: str) -> _Metric:
        series = self._series.setdefault(name, {})
        key = (metric, (name, self.site, *extra))
        cached = series.get(key)
        if cached is not None:
            return cast(_Metric, cached)
        child = series[key] = metric.labels(*key[1])
        return child

    def _set(self, gauge: Gauge, name: str, value: float | None, *extra: str) -> None:
        if value is not None:
            self._child(gauge, name, *extra).set(value)
            return
        values = (name, self.site, *extra)
        if self._series.get(name, {}).pop((gauge, values), None) is not None:
            gauge.remove(*values)

    def _forget(self, name: str) -> None:
        for metric, values in self._series.pop(name, {}):
            try:
                metric.remove(*values)
            except KeyError:
                log.debug("series %s of %r was already gone", metric, name)
