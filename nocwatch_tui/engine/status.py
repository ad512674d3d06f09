"""A target's state now: up, degraded, down, paused or unknown."""

from collections.abc import Sequence
from enum import StrEnum

DOWN_AFTER = 3


class TargetStatus(StrEnum):
    """The state shown for a target in the grid and the report."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"
    UNKNOWN = "unknown"


def status_from_recent(
    paused: bool, recent_errors: Sequence[str | None], down_after: int = DOWN_AFTER
) -> TargetStatus:
    """Derive a target's state from its newest samples' errors, oldest first.

    A target is down after `down_after` consecutive failed probes, the rule that
    opens a `down` incident.
    """
    # TODO: derive `degraded` and `down` from open incidents once the detector stores them.
    if paused:
        return TargetStatus.PAUSED
    if not recent_errors:
        return TargetStatus.UNKNOWN
    tail = recent_errors[-down_after:]
    if len(tail) == down_after and all(error is not None for error in tail):
        return TargetStatus.DOWN
    return TargetStatus.UP
