"""Messages from the database feed to the screens."""

from dataclasses import dataclass

from textual.message import Message

from nocwatch_tui.engine.incidents import Incident
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.engine.store import EngineLease, EngineStatus, SampleRecord, StoredTarget


@dataclass
class TargetsRead(Message, bubble=False):
    """The full list of targets, sent at start and whenever it changes."""

    targets: list[StoredTarget]


@dataclass
class SamplesRead(Message, bubble=False):
    """Samples written since the previous read, oldest first."""

    records: list[SampleRecord]


@dataclass
class EngineStatusRead(Message, bubble=False):
    """The engine's latest heartbeat and lease, each None when there is none."""

    status: EngineStatus | None
    lease: EngineLease | None


@dataclass
class WindowStatsRead(Message, bubble=False):
    """Every target's statistics over the current window, keyed by target id."""

    window_s: int
    stats: dict[int, WindowStats]


@dataclass
class IncidentsRead(Message, bubble=False):
    """Open incidents and the newest resolved ones, newest first, sent whenever one changes."""

    incidents: list[Incident]


@dataclass
class ProbeTested(Message, bubble=False):
    """The outcome of a one-off probe started from the console."""

    target_name: str
    sample: Sample
