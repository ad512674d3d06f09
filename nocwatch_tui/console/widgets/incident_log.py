"""The incident log: newest first, open and unacknowledged incidents marked."""

from collections.abc import Sequence
from enum import StrEnum

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from nocwatch_tui.console.status_style import theme_colour
from nocwatch_tui.engine.incident_list import format_peak
from nocwatch_tui.engine.incidents import Incident, Severity
from nocwatch_tui.i18n import _

NO_DATA = "—"
CELL_PADDING = 1
SCROLLBAR_WIDTH = 2
MARK_OPEN = "●"
MARK_ACKNOWLEDGED = "○"
MARK_RESOLVED = "✓"


class IncidentFilter(StrEnum):
    """The incidents the log lists, in the order that `f` cycles through."""

    ALL = "all"
    OPEN = "open"
    UNACKNOWLEDGED = "unacknowledged"

    def next(self) -> "IncidentFilter":
        """Return the filter that follows this one."""
        members = list(IncidentFilter)
        return members[(members.index(self) + 1) % len(members)]

    def label(self) -> str:
        """Return the translated name of the filter."""
        labels = {
            IncidentFilter.ALL: _("all"),
            IncidentFilter.OPEN: _("open"),
            IncidentFilter.UNACKNOWLEDGED: _("unacknowledged"),
        }
        return labels[self]

    def admits(self, incident: Incident) -> bool:
        """Tell whether the filter lists an incident."""
        if self is IncidentFilter.OPEN:
            return incident.is_open
        if self is IncidentFilter.UNACKNOWLEDGED:
            return incident.is_open and not incident.is_acknowledged
        return True


def format_duration(duration_ms: int) -> str:
    """Format a duration in two units at most, such as 45s, 4m12s or 2h05m."""
    seconds = max(0, duration_ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def incident_duration_ms(incident: Incident, now_ms: int) -> int:
    """Return how long an incident lasted, or has lasted so far."""
    end_ms = incident.resolved_at_ms if incident.resolved_at_ms is not None else now_ms
    return end_ms - incident.opened_at_ms


# Column key, label, width; the target column takes what is left.
def _columns() -> list[tuple[str, str, int]]:
    return [
        ("mark", "", 1),
        ("id", _("ID"), 4),
        ("target", _("Target"), 10),
        ("kind", _("Kind"), 7),
        ("severity", _("Severity"), 8),
        ("duration", _("Duration"), 8),
        ("peak", _("Peak"), 10),
        ("acknowledged_by", _("Ack by"), 8),
    ]


def column_widths(total_width: int) -> dict[str, int]:
    """Give every column its width and the target column the rest of `total_width`."""
    columns = _columns()
    widths = {key: width for key, _label, width in columns}
    usable = total_width - 2 * CELL_PADDING * len(columns) - SCROLLBAR_WIDTH - 1
    spare = max(0, usable - sum(widths.values()))
    widths["target"] += spare * 2 // 3
    widths["acknowledged_by"] += spare - spare * 2 // 3
    return widths


class IncidentTable(DataTable[Text]):
    """The rows of the incident log; the cursor row is the selected incident."""


class IncidentLog(Vertical):
    """A header with the filter and counts above the table of incidents."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._incidents: list[Incident] = []
        self._filter = IncidentFilter.ALL
        self._widths: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="incident-header")
        yield IncidentTable(cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)

    @property
    def table(self) -> IncidentTable:
        """Return the table of incidents."""
        return self.query_one(IncidentTable)

    @property
    def selected(self) -> Incident | None:
        """Return the incident under the cursor, if the log lists any."""
        table = self.table
        if not table.row_count:
            return None
        row_key, _column = table.coordinate_to_cell_key(table.cursor_coordinate)
        for incident in self._incidents:
            if str(incident.id) == row_key.value:
                return incident
        return None

    def show(
        self, incidents: Sequence[Incident], incident_filter: IncidentFilter, now_ms: int
    ) -> None:
        """List the incidents the filter admits, newest first as given, keeping the cursor."""
        self._filter = incident_filter
        self._incidents = [incident for incident in incidents if incident_filter.admits(incident)]
        self._show_header(incidents)

        table = self.table
        selected = self.selected
        widths = column_widths(self.size.width or self.app.size.width)
        if widths != self._widths or not table.columns:
            self._widths = widths
            table.clear(columns=True)
            for key, label, _width in _columns():
                table.add_column(Text(label), width=widths[key], key=key)
        else:
            table.clear()
        for incident in self._incidents:
            table.add_row(*self._cells(incident, now_ms).values(), key=str(incident.id))
        if selected is not None and str(selected.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected.id)))

    def tick(self, now_ms: int) -> None:
        """Update the durations of open incidents."""
        table = self.table
        for incident in self._incidents:
            if incident.is_open and str(incident.id) in table.rows:
                cell = self._cells(incident, now_ms)["duration"]
                table.update_cell(str(incident.id), "duration", cell)

    def _show_header(self, incidents: Sequence[Incident]) -> None:
        open_count = sum(1 for incident in incidents if incident.is_open)
        unacknowledged = sum(
            1 for incident in incidents if incident.is_open and not incident.is_acknowledged
        )
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(_("Incidents"), style="bold")
        header.append(f" · {self._filter.label()} · ")
        header.append(
            _("{open} open, {unacknowledged} unacknowledged").format(
                open=open_count, unacknowledged=unacknowledged
            )
        )
        self.query_one("#incident-header", Static).update(header)

    def _cells(self, incident: Incident, now_ms: int) -> dict[str, Text]:
        variables = self.app.theme_variables
        severity_name = "error" if incident.severity is Severity.CRITICAL else "warning"
        severity_colour = theme_colour(variables, severity_name)
        muted_colour = theme_colour(variables, "foreground-muted")
        if not incident.is_open:
            mark = MARK_RESOLVED
            mark_style = Style(color=muted_colour.rich_color if muted_colour else None)
            row_style = mark_style
        elif incident.is_acknowledged:
            mark = MARK_ACKNOWLEDGED
            mark_style = Style(color=severity_colour.rich_color if severity_colour else None)
            row_style = Style()
        else:
            mark = MARK_OPEN
            mark_style = Style(
                color=severity_colour.rich_color if severity_colour else None, bold=True
            )
            row_style = Style(bold=True)

        duration = format_duration(incident_duration_ms(incident, now_ms))
        return {
            "mark": Text(mark, style=mark_style),
            "id": Text(str(incident.id), style=row_style, justify="right"),
            "target": Text(incident.target, style=row_style, no_wrap=True, overflow="ellipsis"),
            "kind": Text(_(str(incident.kind)), style=row_style),
            "severity": Text(_(str(incident.severity)), style=mark_style),
            "duration": Text(duration, style=row_style, justify="right"),
            "peak": Text(format_peak(incident), style=row_style, justify="right"),
            "acknowledged_by": Text(
                incident.acknowledged_by or NO_DATA, style=row_style, no_wrap=True
            ),
        }
