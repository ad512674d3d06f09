"""Panel rows: the name, window statistics and thresholds of one target in the panels."""

from collections.abc import Callable
from dataclasses import dataclass

from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.stats import WindowStats
from nocwatch_tui.i18n import _


@dataclass(frozen=True, slots=True)
class PanelRow:
    """One target's line in the p95 and loss panels."""

    name: str
    stats: WindowStats | None
    thresholds: ThresholdSettings


class PanelRows:
    """The rows both panels show, built on first use and then kept."""

    def __init__(self, build: Callable[[], list[PanelRow]]) -> None:
        self._build = build
        self._rows: list[PanelRow] | None = None

    def get(self) -> list[PanelRow]:
        """Return the rows, building them the first time."""
        if self._rows is None:
            self._rows = self._build()
        return self._rows


def more_line(hidden: int) -> str:
    """Return the last line of a panel that cannot show every target."""
    return _("… {count} more").format(count=hidden)


def fit_name(name: str, width: int) -> str:
    """Pad a target name to `width` cells, ending it with … when it is longer."""
    if len(name) <= width:
        return name.ljust(width)
    return name[: max(0, width - 1)] + "…"
