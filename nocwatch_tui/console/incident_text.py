"""Incidents in a few words, for the wall tiles and the ticker."""

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text

from nocwatch_tui.console.status_style import theme_colour
from nocwatch_tui.console.widgets.incident_log import (
    MARK_ACKNOWLEDGED,
    MARK_OPEN,
    MARK_RESOLVED,
    format_duration,
    incident_duration_ms,
)
from nocwatch_tui.engine.incident_list import format_peak
from nocwatch_tui.engine.incidents import Incident, Severity
from nocwatch_tui.i18n import _


def severity_variable(severity: Severity) -> str:
    """Return the theme variable that colours a severity."""
    return "error" if severity is Severity.CRITICAL else "warning"


def worst_open(incidents: Iterable[Incident]) -> Incident | None:
    """Return the most severe open incident, the oldest among equals, or None."""
    open_incidents = [incident for incident in incidents if incident.is_open]
    if not open_incidents:
        return None
    return min(
        open_incidents, key=lambda incident: (-incident.severity.rank, incident.opened_at_ms)
    )


def incident_mark(incident: Incident, theme_variables: dict[str, str]) -> Text:
    """Return the incident log's mark of an incident, coloured by its severity.

    The style covers the mark only, so text appended after it keeps its own style.
    """
    text = Text()
    if not incident.is_open:
        colour = theme_colour(theme_variables, "foreground-muted")
        text.append(MARK_RESOLVED, style=Style(color=colour.rich_color if colour else None))
        return text
    colour = theme_colour(theme_variables, severity_variable(incident.severity))
    mark = MARK_ACKNOWLEDGED if incident.is_acknowledged else MARK_OPEN
    style = Style(color=colour.rich_color if colour else None, bold=not incident.is_acknowledged)
    text.append(mark, style=style)
    return text


def incident_line(incident: Incident, theme_variables: dict[str, str], now_ms: int) -> Text:
    """Describe an incident without its target: mark, kind, severity, duration and peak."""
    line = incident_mark(incident, theme_variables)
    line.append(" ")
    colour = theme_colour(theme_variables, severity_variable(incident.severity))
    line.append(
        f"{incident.kind} {incident.severity}",
        style=Style(color=colour.rich_color if colour else None, bold=True),
    )
    line.append(f" {format_duration(incident_duration_ms(incident, now_ms))}")
    line.append(" · ")
    line.append(_("peak {peak}").format(peak=format_peak(incident)))
    if incident.acknowledged_by is not None:
        line.append(" · ")
        line.append(_("ack {operator}").format(operator=incident.acknowledged_by))
    return line


def ticker_item(incident: Incident, theme_variables: dict[str, str], now_ms: int) -> Text:
    """Describe an incident with its target, for the wall's ticker."""
    item = incident_mark(incident, theme_variables)
    item.append(" ")
    item.append(incident.target, style="bold")
    item.append(f" {incident.kind} {incident.severity}")
    duration = format_duration(incident_duration_ms(incident, now_ms))
    if incident.is_open:
        item.append(" " + _("for {duration}").format(duration=duration))
    else:
        item.append(" " + _("resolved after {duration}").format(duration=duration))
    return item
