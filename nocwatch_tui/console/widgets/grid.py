"""The target grid: one row per target with status, latency, sparklines and loss.

Wider terminals also get a p95 column and a tags column.
"""

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.sparkline import FAILURE_MARK, latency_deltas, sparkline
from nocwatch_tui.console.status_style import status_text, theme_colour
from nocwatch_tui.console.view_order import SortKey
from nocwatch_tui.engine.store import now_ms
from nocwatch_tui.i18n import _

NO_DATA = "—"
CELL_PADDING = 1
MUTED_MARK = "⊘"  # before the mute time left, in the name cell


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    min_width: int
    share: int  # weight of the column in the width left after every minimum


# Table widths from which the optional columns appear.
TAGS_FROM_WIDTH = 92
P95_FROM_WIDTH = 102


def _columns(total_width: int) -> list[_Column]:
    columns = [
        _Column("status", _("Status"), 10, 0),
        _Column("name", _("Target"), 12, 4),
        _Column("last", _("Last"), 8, 0),
    ]
    if total_width >= P95_FROM_WIDTH:
        columns.append(_Column("p95", _("p95"), 8, 0))
    columns += [
        _Column("latency", _("Latency"), 12, 4),
        _Column("jitter", _("Jitter"), 7, 2),
        _Column("loss", _("Loss"), 6, 0),
        _Column("error", _("Error"), 9, 2),
    ]
    if total_width >= TAGS_FROM_WIDTH:
        columns.append(_Column("tags", _("Tags"), 10, 2))
    return columns


def _sorted_column(key: SortKey, column_keys: set[str]) -> tuple[str, str]:
    """Return the column that shows the sort, and the label suffix that marks it."""
    if key is SortKey.P95:
        return ("p95", " ▼") if "p95" in column_keys else ("latency", " p95▼")
    column = {
        SortKey.NAME: "name",
        SortKey.STATUS: "status",
        SortKey.LATENCY: "last",
        SortKey.LOSS: "loss",
    }[key]
    return column, " ▲" if key is SortKey.NAME else " ▼"


def format_remaining(remaining_ms: int) -> str:
    """Format a time left as minutes, hours and minutes, or days, rounded up."""
    minutes = max(1, -(-remaining_ms // 60_000))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}m"
    return f"{minutes // (24 * 60)}d"


def column_widths(total_width: int) -> dict[str, int]:
    """Share a table width among the columns, giving each at least its minimum."""
    columns = _columns(total_width)
    usable = total_width - 2 * CELL_PADDING * len(columns) - 1
    spare = max(0, usable - sum(column.min_width for column in columns))
    shares = sum(column.share for column in columns)
    widths = {column.key: column.min_width + spare * column.share // shares for column in columns}
    widths["name"] += max(0, usable - sum(widths.values()))
    return widths


def format_ms(value: float | None) -> str:
    """Format a duration for a grid cell, with — for no data."""
    if value is None:
        return NO_DATA
    if value < 10:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms"


def format_pct(value: float | None) -> str:
    """Format a percentage for a grid cell, with — for no data."""
    if value is None:
        return NO_DATA
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"


class TargetGrid(DataTable[Text]):
    """The main grid; every cell is a Text object, so names are never read as markup."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)
        self._widths: dict[str, int] = {}

    def build(self, views: list[TargetView], sort_key: SortKey = SortKey.NAME) -> None:
        """Replace every row and size the columns to the current width."""
        total_width = self.size.width or self.app.size.width
        self._widths = column_widths(total_width)
        columns = _columns(total_width)
        sorted_column, mark = _sorted_column(sort_key, {column.key for column in columns})
        cursor_key = self._cursor_key()
        self.clear(columns=True)
        for column in columns:
            label = column.label + (mark if column.key == sorted_column else "")
            self.add_column(Text(label), width=self._widths[column.key], key=column.key)
        for view in views:
            self.add_row(*self._cells(view).values(), key=str(view.stored.id))
        if cursor_key is not None and cursor_key in self.rows:
            self.move_cursor(row=self.get_row_index(cursor_key))

    def row_order(self) -> list[int]:
        """Return the target ids of the rows, top to bottom."""
        return [int(row.key.value or 0) for row in self.ordered_rows]

    def selected_id(self) -> int | None:
        """Return the id of the target under the cursor, or None for an empty grid."""
        key = self._cursor_key()
        return None if key is None else int(key)

    def select_target(self, target_id: int) -> None:
        """Move the cursor to a target's row, if the grid shows it."""
        key = str(target_id)
        if key in self.rows:
            self.move_cursor(row=self.get_row_index(key))

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _column = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def refresh_target(self, view: TargetView) -> None:
        """Rewrite the cells of one target's row."""
        row_key = str(view.stored.id)
        if row_key not in self.rows:
            return
        for column_key, cell in self._cells(view).items():
            self.update_cell(row_key, column_key, cell)

    def _cells(self, view: TargetView) -> dict[str, Text]:
        variables = self.app.theme_variables
        last = view.last
        error_colour = theme_colour(variables, "error")
        error_style = Style(color=error_colour.rich_color if error_colour else None)

        latencies = view.latencies()
        latency_spark = Text(sparkline(latencies, self._widths.get("latency", 12)))
        jitter_spark = Text(sparkline(latency_deltas(latencies), self._widths.get("jitter", 7)))
        for spark in (latency_spark, jitter_spark):
            spark.highlight_words([FAILURE_MARK], style=error_style)

        error = Text(
            "" if last is None or last.error is None else str(last.error), style=error_style
        )
        cells = {
            "status": status_text(view.status, variables),
            "name": self._name_cell(view),
            "last": Text(format_ms(last.latency_ms if last else None), justify="right"),
            "p95": Text(format_ms(view.p95_ms), justify="right"),
            "latency": latency_spark,
            "jitter": jitter_spark,
            "loss": Text(format_pct(view.loss_pct), justify="right"),
            "error": error,
            "tags": Text(", ".join(view.stored.target.tags), no_wrap=True, overflow="ellipsis"),
        }
        return {key: cells[key] for key in self._widths}

    def _name_cell(self, view: TargetView) -> Text:
        """Return the target's name, followed by the mute time left while it is muted."""
        name = view.stored.target.name
        until_ms = view.stored.muted_until_ms
        at_ms = now_ms()
        if until_ms is None or not view.stored.muted_at(at_ms):
            return Text(name, no_wrap=True, overflow="ellipsis")

        muted_colour = theme_colour(self.app.theme_variables, "warning")
        suffix = MUTED_MARK + format_remaining(until_ms - at_ms)
        room = self._widths.get("name", 12) - len(suffix) - 1
        if len(name) > room:
            name = name[: max(0, room - 1)] + "…"
        cell = Text(name, no_wrap=True)
        cell.append(" ")
        cell.append(suffix, style=Style(color=muted_colour.rich_color if muted_colour else None))
        return cell
