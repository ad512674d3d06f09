"""The bar above the grid: window, status counts, engine mode and event-loop lag."""

import os
from collections import Counter
from typing import Literal

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from nocwatch_tui.console.status_style import SYMBOLS, status_style, status_word, theme_colour
from nocwatch_tui.engine.lease import is_live, this_host
from nocwatch_tui.engine.printable import printable
from nocwatch_tui.engine.status import TargetStatus
from nocwatch_tui.engine.store import EngineLease, EngineStatus
from nocwatch_tui.i18n import _

EngineMode = Literal["own", "attached"]

# An engine whose heartbeat is older than this is reported as not responding or not writing.
STALE_HEARTBEAT_MS = 5_000


def is_stale(status: EngineStatus, now_ms: int) -> bool:
    """Tell whether a running engine's heartbeat is too old to trust."""
    return status.stopped_at_ms is None and now_ms - status.heartbeat_at_ms > STALE_HEARTBEAT_MS


def _process_alive(pid: int) -> bool:
    """Tell whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    if is_stale(status, now_ms):
        # A live process with a stale heartbeat is failing to write to the database, as
        # on a full disk. Its log says why.
        if _process_alive(status.pid):
            return _("engine not writing: see its log")
        return _("engine not responding")
    if status.write_error:
        # Checked before the lease: a full disk can stop its renewal too.
        return _("write failed: {reason}").format(reason=status.write_error)
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
        failing = engine is not None and (
            engine.write_error is not None or is_stale(engine, now_ms)
        )
        colour = theme_colour(variables, "error") if failing else None
        line.append(
            printable(engine_text(engine, mode, now_ms)),
            style=Style(color=colour.rich_color, bold=True) if colour else "",
        )
        # An unchanged line is not set again. The bar is one line high and as wide as the
        # screen whatever its text, so a new line needs no new layout of the screen.
        if line != self._shown:
            self._shown = line
            self.update(line, layout=False)
