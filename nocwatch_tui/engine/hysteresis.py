"""Hysteresis: consecutive-evaluation counts that decide when an incident opens and resolves.

An incident opens after `open_after` consecutive breaching evaluations and
resolves after `close_after` consecutive healthy ones. An evaluation between
the clear level and the opening threshold is neither: it breaks both runs, so
a value that keeps crossing the threshold keeps its incident open.
"""

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """The result of comparing one evaluation with a threshold."""

    BREACHING = "breaching"
    """Above the opening threshold."""
    BETWEEN = "between"
    """At or below the opening threshold, but not below the clear level."""
    HEALTHY = "healthy"
    """Below the clear level."""
    NO_DATA = "no_data"
    """Nothing to compare; the runs are left as they are."""


class Transition(Enum):
    """The change an evaluation makes to the incident."""

    OPEN = "open"
    RESOLVE = "resolve"


@dataclass(slots=True)
class Hysteresis:
    """The runs of one target and kind, and whether its incident is open."""

    is_open: bool = False
    breaching: int = 0
    """Consecutive breaching evaluations, the newest included."""
    healthy: int = 0
    """Consecutive healthy evaluations, the newest included."""

    def step(
        self, verdict: Verdict, open_after: int, close_after: int, *, replay: bool = False
    ) -> Transition | None:
        """Count one evaluation and return the transition it causes, if any.

        With `replay`, the runs are counted but `is_open` is left alone and no
        transition is returned, to rebuild the counts from stored samples.
        """
        if verdict is Verdict.NO_DATA:
            return None
        self.breaching = self.breaching + 1 if verdict is Verdict.BREACHING else 0
        self.healthy = self.healthy + 1 if verdict is Verdict.HEALTHY else 0

        if replay:
            return None
        if not self.is_open and self.breaching >= open_after:
            self.is_open = True
            return Transition.OPEN
        if self.is_open and self.healthy >= close_after:
            self.is_open = False
            return Transition.RESOLVE
        return None
