"""The target grid: one row per target with status, latency, sparklines and loss."""

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.sparkline import FAILURE_MARK, latency_deltas, sparkline
from nocwatch_tui.console.status_style import status_text, theme_colour
from nocwatch_tui.i18n import _

NO_DATA = "—"
CELL_PADDING = 1


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    min_width: int
    share: int  # weight of the column in the width left after every minimum


def _columns() -> list[_Column]:
    return [
        _Column("status", _("Status"), 10, 0),
        _Column("name", _("Target"), 12, 4),
        _Column("last", _("Last"), 8, 0),
        _Column("latency", _("Latency"), 12, 4),
        _Column("jitter", _("Jitter"), 7, 2),
        _Column("loss", _("Loss"), 6, 0),
        _Column("error", _("Error"), 9, 2),
    ]


def column_widths(total_width: int) -> dict[str, int]:
    """Share a table width among the columns, giving each at least its minimum."""
    columns = _columns()
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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", _("Detail"), id="detail"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)
        self._widths: dict[str, int] = {}

    def build(self, views: list[TargetView]) -> None:
        """Replace every row and size the columns to the current width."""
        self._widths = column_widths(self.size.width or self.app.size.width)
        cursor_key = self._cursor_key()
        self.clear(columns=True)
        for column in _columns():
            self.add_column(Text(column.label), width=self._widths[column.key], key=column.key)
        for view in views:
            self.add_row(*self._cells(view).values(), key=str(view.stored.id))
        if cursor_key is not None and cursor_key in self.rows:
            self.move_cursor(row=self.get_row_index(cursor_key))

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
        name = Text(view.stored.target.name, no_wrap=True, overflow="ellipsis")
        return {
            "status": status_text(view.status, variables),
            "name": name,
            "last": Text(format_ms(last.latency_ms if last else None), justify="right"),
            "latency": latency_spark,
            "jitter": jitter_spark,
            "loss": Text(format_pct(view.loss_pct), justify="right"),
            "error": error,
        }
