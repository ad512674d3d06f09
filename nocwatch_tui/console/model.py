"""The console's in-memory view of targets: their newest samples and window statistics."""

from collections import deque
from dataclasses import dataclass, field

from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.status import TargetStatus, target_status
from nocwatch_tui.engine.store import StoredTarget

SPARK_HISTORY = 60


@dataclass
class TargetView:
    """A target, its newest samples for the sparklines and its current window's statistics."""

    stored: StoredTarget
    recent: deque[Sample] = field(default_factory=lambda: deque(maxlen=SPARK_HISTORY))
    stats: WindowStats | None = None
    open_kinds: frozenset[str] = frozenset()
    """Kinds of the target's open incidents."""

    def add(self, sample: Sample) -> None:
        """Add a new sample."""
        self.recent.append(sample)

    @property
    def status(self) -> TargetStatus:
        """Return the target's state from its open incidents."""
        return target_status(self.stored.paused, bool(self.recent), self.open_kinds)

    @property
    def last(self) -> Sample | None:
        """Return the newest sample, if any."""
        return self.recent[-1] if self.recent else None

    @property
    def loss_pct(self) -> float | None:
        """Return the window's loss %, or None before it is computed or for an empty window."""
        return None if self.stats is None else self.stats.loss_pct

    @property
    def cert_days_left(self) -> float | None:
        """Return the days left on the certificate in the newest sample that recorded them."""
        for sample in reversed(self.recent):
            if sample.cert_days_left is not None:
                return sample.cert_days_left
        return None

    @property
    def p95_ms(self) -> float | None:
        """Return the window's p95 latency, or None before it is computed or without any."""
        return None if self.stats is None else self.stats.latency_p95_ms

    def suspects(self) -> list[bool]:
        """Return, for each of the newest samples, whether the engine flagged it suspect."""
        return [sample.suspect for sample in self.recent]

    def latencies(self) -> list[float | None]:
        """Return the newest samples' latencies, None for each failed probe."""
        return [sample.latency_ms if sample.passed else None for sample in self.recent]
