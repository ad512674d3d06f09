"""The console's in-memory view of targets and their recent samples."""

from collections import deque
from dataclasses import dataclass, field

from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import percentile
from nocwatch_tui.engine.status import TargetStatus, target_status
from nocwatch_tui.engine.store import StoredTarget

SPARK_HISTORY = 60


@dataclass
class TargetView:
    """A target and the samples the grid needs: the newest ones and the current window's."""

    stored: StoredTarget
    recent: deque[Sample] = field(default_factory=lambda: deque(maxlen=SPARK_HISTORY))
    window: deque[Sample] = field(default_factory=deque)
    open_kinds: frozenset[str] = frozenset()
    """Kinds of the target's open incidents."""

    def add(self, sample: Sample) -> None:
        """Add a new sample."""
        self.recent.append(sample)
        self.window.append(sample)

    def trim(self, since_ms: int) -> bool:
        """Drop window samples older than `since_ms`; tell whether any were dropped."""
        dropped = False
        while self.window and self.window[0].started_at_ms < since_ms:
            self.window.popleft()
            dropped = True
        return dropped

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
        """Return the window's loss %, or None for an empty window."""
        if not self.window:
            return None
        lost = sum(1 for sample in self.window if not sample.responded)
        return lost / len(self.window) * 100

    @property
    def p95_ms(self) -> float | None:
        """Return the p95 latency of the window's passed probes, or None without any."""
        return percentile(
            [
                sample.latency_ms
                for sample in self.window
                if sample.passed and sample.latency_ms is not None
            ],
            95,
        )

    def latencies(self) -> list[float | None]:
        """Return the newest samples' latencies, None for each failed probe."""
        return [sample.latency_ms if sample.passed else None for sample in self.recent]
