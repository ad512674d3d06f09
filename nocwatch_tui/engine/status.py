"""A target's state now: up, degraded, down, paused or unknown."""

from collections.abc import Collection
from enum import StrEnum


class TargetStatus(StrEnum):
    """The state shown for a target in the grid and the report."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"
    UNKNOWN = "unknown"


def target_status(paused: bool, has_samples: bool, open_kinds: Collection[str]) -> TargetStatus:
    """Derive a target's state from its open incidents' kinds.

    A target is down with an open `down` incident, degraded with any other open
    incident, and unknown until its first sample.
    """
    if paused:
        return TargetStatus.PAUSED
    if "down" in open_kinds:
        return TargetStatus.DOWN
    if open_kinds:
        return TargetStatus.DEGRADED
    if not has_samples:
        return TargetStatus.UNKNOWN
    return TargetStatus.UP
