"""The bar above the grid: window, status counts, engine mode and event-loop lag."""

from collections import Counter

from rich.text import Text
from textual.widgets import Static

from nocwatch_tui.console.status_style import SYMBOLS, status_style, status_word
from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.engine.store import EngineStatus
from nocwatch_tui.i18n import _

# An engine whose heartbeat is older than this is reported as not running.
STALE_HEARTBEAT_MS = 5_000


def engine_text(status: EngineStatus | None, mode: str, now_ms: int) -> str:
    """Describe the engine's state and lag in a few words."""
    if status is None or status.stopped_at_ms is not None:
        return _("engine stopped")
    if now_ms - status.heartbeat_at_ms > STALE_HEARTBEAT_MS:
        return _("engine not responding")
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
        mode: str,
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
