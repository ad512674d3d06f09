"""The bar above the grid: window, status counts, engine mode and event-loop lag."""

from collections import Counter
from typing import Literal

from rich.text import Text
from textual.widgets import Static

from nocwatch_tui.console.status_style import SYMBOLS, status_style, status_word
from nocwatch_tui.engine.lease import is_live, this_host
from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.engine.store import EngineLease, EngineStatus
from nocwatch_tui.i18n import _

EngineMode = Literal["own", "attached"]

# An engine whose heartbeat is older than this is reported as not running.
STALE_HEARTBEAT_MS = 5_000


def engine_mode(
    lease: EngineLease | None, engine_pid: int | None, now_ms: int
) -> EngineMode | None:
    """Tell whether the console owns the engine that holds the lease, is attached, or neither.

    `engine_pid` is the process id of the engine the console started itself, if any.
    """
    if lease is None or not is_live(lease, now_ms):
        return None
    if engine_pid is not None and lease.pid == engine_pid and lease.host == this_host():
        return "own"
    return "attached"


def engine_text(status: EngineStatus | None, mode: EngineMode | None, now_ms: int) -> str:
    """Describe the engine's state and lag in a few words."""
    if status is None or status.stopped_at_ms is not None:
        return _("engine stopped")
    if now_ms - status.heartbeat_at_ms > STALE_HEARTBEAT_MS:
        return _("engine not responding")
    if mode is None:
        return _("engine stopped")
    lag = "—" if status.loop_lag_ms is None else f"{status.loop_lag_ms:.1f} ms"
    label = _("own engine") if mode == "own" else _("attached")
    return _("{mode} · loop lag {lag}").format(mode=label, lag=lag)


class SummaryBar(Static):
    """Counts of targets by status and the engine's health, on one line."""

    _shown: Text | None = None

    def show(
        self,
        window_label: str,
        statuses: list[TargetStatus],
        engine: EngineStatus | None,
        mode: EngineMode | None,
        now_ms: int,
    ) -> None:
        """Redraw the bar."""
        counts = Counter(statuses)
        variables = self.app.theme_variables
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(_("NOC Watch"), style="bold")
        line.append(f"  {window_label}  ")
        for status in (TargetStatus.UP, TargetStatus.DEGRADED, TargetStatus.DOWN):
            line.append(
                f"{SYMBOLS[status]} {counts[status]} {status_word(status)}  ",
                style=status_style(status, variables),
            )
        line.append(engine_text(engine, mode, now_ms))
        # An unchanged line is not set again: every update lays the screen out anew.
        if line != self._shown:
            self._shown = line
            self.update(line)
