"""Panel rows: the name, window statistics and thresholds of one target in the panels."""

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


def more_line(hidden: int) -> str:
    """Return the last line of a panel that cannot show every target."""
    return _("… {count} more").format(count=hidden)


def fit_name(name: str, width: int) -> str:
    """Pad a target name to `width` cells, ending it with … when it is longer."""
    if len(name) <= width:
        return name.ljust(width)
    return name[: max(0, width - 1)] + "…"
