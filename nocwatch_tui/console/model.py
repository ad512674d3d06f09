"""The console's in-memory view of targets: their newest samples and window statistics."""

from collections import deque
from dataclasses import dataclass, field

from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.status import DOWN_AFTER, TargetStatus, status_from_recent
from nocwatch_tui.engine.store import StoredTarget

SPARK_HISTORY = 60


@dataclass
class TargetView:
    """A target, its newest samples for the sparklines and its current window's statistics."""

    stored: StoredTarget
    recent: deque[Sample] = field(default_factory=lambda: deque(maxlen=SPARK_HISTORY))
    stats: WindowStats | None = None

    def add(self, sample: Sample) -> None:
        """Add a new sample."""
        self.recent.append(sample)

    @property
    def status(self) -> TargetStatus:
        """Return the target's state from its newest samples."""
        errors = [sample.error for sample in list(self.recent)[-DOWN_AFTER:]]
        return status_from_recent(self.stored.paused, errors)

    @property
    def last(self) -> Sample | None:
        """Return the newest sample, if any."""
        return self.recent[-1] if self.recent else None

    @property
    def loss_pct(self) -> float | None:
        """Return the window's loss %, or None before it is computed or for an empty window."""
        return None if self.stats is None else self.stats.loss_pct

    def latencies(self) -> list[float | None]:
        """Return the newest samples' latencies, None for each failed probe."""
        return [sample.latency_ms if sample.passed else None for sample in self.recent]
