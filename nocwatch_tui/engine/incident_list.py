"""The incident list of `nocwatch incidents`, as JSON and as a table."""

import json
from collections.abc import Sequence
from typing import Any

from nocwatch_tui.engine.incidents import Incident, peak_unit
from nocwatch_tui.engine.report import NO_DATA, iso_utc
from nocwatch_tui.i18n import _


def incident_object(incident: Incident) -> dict[str, Any]:
    """Return an incident with exactly the fields scripts rely on."""
    peak = None if incident.peak_value is None else round(incident.peak_value, 2)
    return {
        "id": incident.id,
        "target": incident.target,
        "kind": str(incident.kind),
        "severity": str(incident.severity),
        "opened_at": iso_utc(incident.opened_at_ms),
        "peak_value": peak,
        "acknowledged_at": iso_utc(incident.acknowledged_at_ms),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": iso_utc(incident.resolved_at_ms),
        "notes": list(incident.notes),
    }


def format_json(incidents: Sequence[Incident]) -> str:
    """Render incidents as `{"incidents": [...]}`, in the order given."""
    document = {"incidents": [incident_object(incident) for incident in incidents]}
    return json.dumps(document, indent=2, ensure_ascii=False)


def format_peak(incident: Incident) -> str:
    """Format an incident's peak value with its unit, or — when it has none."""
    if incident.peak_value is None:
        return NO_DATA
    unit = peak_unit(incident.kind)
    separator = "" if unit == "%" else " "
    return f"{incident.peak_value:.0f}{separator}{unit}"


def format_table(incidents: Sequence[Incident]) -> str:
    """Render incidents as an aligned plain-text table."""
    headings = [
        _("ID"),
        _("TARGET"),
        _("KIND"),
        _("SEVERITY"),
        _("OPENED"),
        _("RESOLVED"),
        _("PEAK"),
        _("ACKNOWLEDGED BY"),
        _("NOTES"),
    ]
    rows = [
        [
            str(incident.id),
            incident.target,
            _(str(incident.kind)),
            _(str(incident.severity)),
            iso_utc(incident.opened_at_ms) or NO_DATA,
            iso_utc(incident.resolved_at_ms) or _("open"),
            format_peak(incident),
            incident.acknowledged_by or NO_DATA,
            str(len(incident.notes)),
        ]
        for incident in incidents
    ]
    if not rows:
        return _("no incidents")
    widths = [max(len(row[column]) for row in [headings, *rows]) for column in range(len(headings))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headings, *rows]
    ]
    return "\n".join(lines)
