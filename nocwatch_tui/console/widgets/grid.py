"""The target grid: one row per target with status, latency, sparklines, loss and cert days.

Wider terminals also get a p95 column and a tags column.

New samples only mark rows as changed. The changed rows that are on screen
are rewritten together, at most once every FLUSH_EVERY_S. The others are
rewritten when they scroll into view, so with thousands of targets the console
only works on the rows a person can see.

A DataTable keys its caches of rendered cells on a count of every update to
the whole table, so any cell update would render every visible cell again,
and so would the cursor scrolling the table by one row. The grid keeps its own
cache of rendered cells and lines, keyed on a version per row, so only the rows
that were rewritten or that the cursor enters or leaves are rendered again.
"""

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import PseudoClasses
from textual.widgets import DataTable

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.sparkline import FAILURE_MARK, latency_deltas, sparkline
from nocwatch_tui.console.status_style import status_text, theme_colour
from nocwatch_tui.console.view_order import SortKey
from nocwatch_tui.engine.printable import printable
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.store import now_ms
from nocwatch_tui.i18n import _

NO_DATA = "—"
CELL_PADDING = 1
DETAIL_MIN_CHARS = 12
"""Room the Error column needs beyond the error class before it shows the detail too."""
MAX_CERT_DAYS_SHOWN = 999  # longer validity shows as "999+" in the four-character Cert column
MUTED_MARK = "⊘"  # before the mute time left, in the name cell
FLUSH_EVERY_S = 1.0
RENDERED_CELLS_KEPT = 4000
"""Rendered cells the grid keeps: every visible cell a few times over (cursor, focus)."""
RENDERED_LINES_KEPT = 400


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
        # 13 fits a six-letter name and a mute mark such as "⊘1h00m" at 80 columns.
        _Column("name", _("Target"), 13, 4),
        _Column("last", _("Last"), 7, 0),
    ]
    if total_width >= P95_FROM_WIDTH:
        columns.append(_Column("p95", _("p95"), 8, 0))
    columns += [
        _Column("latency", _("Latency"), 9, 4),
        _Column("jitter", _("Jitter"), 6, 2),
        _Column("loss", _("Loss"), 6, 0),
        _Column("error", _("Error"), 8, 4),
        _Column("cert", _("Cert"), 4, 0),
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


def column_widths(total_width: int, sort_key: SortKey = SortKey.NAME) -> dict[str, int]:
    """Share a table width among the columns, giving each at least its minimum.

    The sorted column is widened to fit its label and sort mark, such as
    "Latency p95▼" at 80 columns, and the name column gives up that room.
    """
    columns = _columns(total_width)
    usable = total_width - 2 * CELL_PADDING * len(columns) - 1
    spare = max(0, usable - sum(column.min_width for column in columns))
    shares = sum(column.share for column in columns)
    widths = {column.key: column.min_width + spare * column.share // shares for column in columns}
    widths["name"] += max(0, usable - sum(widths.values()))

    sorted_key, mark = _sorted_column(sort_key, set(widths))
    label = next(column.label for column in columns if column.key == sorted_key) + mark
    shortfall = max(0, len(label) - widths[sorted_key])
    if sorted_key != "name":
        widths[sorted_key] += shortfall
        widths["name"] -= shortfall
    return widths


def format_ms(value: float | None) -> str:
    """Format a duration for a grid cell, with — for no data."""
    if value is None:
        return NO_DATA
    if value < 10:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms"


def format_days(value: float | None) -> str:
    """Format the days left on a certificate in four characters, with — for no data."""
    if value is None:
        return NO_DATA
    if value >= MAX_CERT_DAYS_SHOWN + 0.5:
        return f"{MAX_CERT_DAYS_SHOWN}+"
    return f"{value:.0f}d"


def format_pct(value: float | None) -> str:
    """Format a percentage for a grid cell, with — for no data."""
    if value is None:
        return NO_DATA
    return f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"


class TargetGrid(DataTable[Text]):
    """The main grid; every cell is a Text object, so names are never read as markup."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", _("Detail"), id="grid.detail"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING)
        self._widths: dict[str, int] = {}
        self._views: dict[str, TargetView] = {}
        self._changed: set[str] = set()
        self._flush_pending = False
        self._last_flush = 0.0
        self._sort_key = SortKey.NAME
        self._rendered_cells: LRUCache[tuple[object, ...], list[list[Segment]]] = LRUCache(
            RENDERED_CELLS_KEPT
        )
        self._rendered_lines: LRUCache[tuple[object, ...], Strip] = LRUCache(RENDERED_LINES_KEPT)
        self._row_versions: dict[int, int] = {}
        """How many times each row index was rewritten since the last build."""
        self._pseudo_classes: PseudoClasses | None = None

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def build(self, views: list[TargetView], sort_key: SortKey = SortKey.NAME) -> None:
        """Replace every row and size the columns to the current width."""
        total_width = self.size.width or self.app.size.width
        self._sort_key = sort_key
        self._widths = column_widths(total_width, sort_key)
        columns = _columns(total_width)
        sorted_column, mark = _sorted_column(sort_key, {column.key for column in columns})
        cursor_key = self._cursor_key()
        self._forget_rendered_cells()
        self.clear(columns=True)
        self._views = {str(view.stored.id): view for view in views}
        self._changed.clear()
        for column in columns:
            label = column.label + (mark if column.key == sorted_column else "")
            self.add_column(Text(label), width=self._widths[column.key], key=column.key)
        for key, view in self._views.items():
            self.add_row(*self._cells(view).values(), key=key)
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

    def on_resize(self) -> None:
        # The grid's width changes after the screen's own resize, such as when a
        # width breakpoint moves the window panels beside it, so it checks here.
        if self._widths and self.widths_changed():
            self.build(list(self._views.values()), self._sort_key)

    def widths_changed(self) -> bool:
        """Tell whether the current width gives other column widths than the last build."""
        total_width = self.size.width or self.app.size.width
        return column_widths(total_width, self._sort_key) != self._widths

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _column = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def refresh_target(self, view: TargetView) -> None:
        """Mark one target's row as changed; it is rewritten at the next flush."""
        row_key = str(view.stored.id)
        if row_key not in self.rows:
            return
        self._views[row_key] = view
        self._changed.add(row_key)
        if self._flush_pending:
            return
        self._flush_pending = True
        wait_s = self._last_flush + FLUSH_EVERY_S - time.monotonic()
        if wait_s > 0:
            self.set_timer(wait_s, self._flush)
        else:
            self.call_later(self._flush)

    def _flush(self) -> None:
        """Rewrite the changed rows that are on screen."""
        self._flush_pending = False
        self._last_flush = time.monotonic()
        self._write_visible_rows()

    def _scrolled(self) -> None:
        self._write_visible_rows()

    def _write_visible_rows(self) -> None:
        if not self._changed or not self.row_count:
            return
        # One row per line: the rows from the scroll offset to the bottom edge,
        # with one more on each side in case the header shifts them.
        first = max(0, int(self.scroll_y) - 1)
        last = min(self.row_count, first + self.size.height + 2)
        for index in range(first, last):
            row_key, _column = self.coordinate_to_cell_key(Coordinate(index, 0))
            key = row_key.value
            if key is not None and key in self._changed:
                self._changed.discard(key)
                self._rewrite_row(index, key)

    def _rewrite_row(self, index: int, key: str) -> None:
        """Update the cells of a row whose text or style changed; leave the row alone if none did.

        Window statistics arrive for every target every few seconds, mostly unchanged,
        and every update makes the DataTable work on the whole table.
        """
        changed = {
            column_key: cell
            for column_key, cell in self._cells(self._views[key]).items()
            if not same_cell(self.get_cell(key, column_key), cell)
        }
        if not changed:
            return
        self._row_versions[index] = self._row_versions.get(index, 0) + 1
        for column_key, cell in changed.items():
            self.update_cell(key, column_key, cell)

    # Rendering: the DataTable renders a cell or a line only when these caches lack it.

    def _forget_rendered_cells(self) -> None:
        self._rendered_cells.clear()
        self._rendered_lines.clear()
        self._row_versions.clear()

    def notify_style_update(self) -> None:
        self._forget_rendered_cells()
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Focus, hover and disabled change the cursor's colours; read once per render.
        self._pseudo_classes = self.get_pseudo_class_state()
        return super().render_lines(crop)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        # NOTE: overrides DataTable's private line renderer (Textual 8.2, pinned below
        # 8.3), whose cache is emptied by every update and every cursor move. The key
        # contains whether the cursor is on the line's row, not where it is, so a key press
        # renders the two rows the cursor leaves and enters and the row it scrolls into
        # view. Every grid row is one line high, so line y below the header is row
        # y - header_height. The hovered row is rendered by the DataTable every time.
        header_lines = self.header_height if self.show_header else 0
        row_index = -1 if y < header_lines else y - header_lines
        hovered = self.hover_coordinate.row == row_index
        if self.cursor_type != "row" or hovered or row_index >= self.row_count:
            return super()._render_line(y, x1, x2, base_style)

        key = (
            row_index,
            self._row_versions.get(row_index, 0),
            self.cursor_coordinate.row == row_index,
            x1,
            x2,
            self.size.width,
            base_style,
            self.show_cursor,
            self.zebra_stripes,
            self.cell_padding,
            header_lines,
            self._pseudo_classes,
        )
        line = self._rendered_lines.get(key)
        if line is None:
            line = super()._render_line(y, x1, x2, base_style)
            self._rendered_lines[key] = line
        return line

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        # NOTE: overrides DataTable's private cell renderer (Textual 8.2, pinned below 8.3),
        # whose own cache is emptied by every update anywhere in the table. Everything
        # the rendering depends on is in the key. The hovered row also depends on whether
        # the mouse was used last, so the DataTable renders it every time.
        if hover:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_index,
            self._row_versions.get(row_index, 0),
            column_index,
            base_style,
            width,
            cursor,
            self.cursor_type,
            self.show_cursor,
            self.cell_padding,
            self._pseudo_classes,
        )
        lines = self._rendered_cells.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor)
            self._rendered_cells[key] = lines
        return lines

    def _cells(self, view: TargetView) -> dict[str, Text]:
        variables = self.app.theme_variables
        last = view.last
        error_colour = theme_colour(variables, "error")
        error_style = Style(color=error_colour.rich_color if error_colour else None)
        warning_colour = theme_colour(variables, "warning")
        suspect_style = Style(color=warning_colour.rich_color if warning_colour else None)

        latencies = view.latencies()
        latency_width = self._widths.get("latency", 12)
        latency_spark = Text(sparkline(latencies, latency_width))
        jitter_spark = Text(sparkline(latency_deltas(latencies), self._widths.get("jitter", 7)))
        mark_suspect(latency_spark, view.suspects(), suspect_style)
        for spark in (latency_spark, jitter_spark):
            spark.highlight_words([FAILURE_MARK], style=error_style)

        error = self._error_cell(last, error_style)
        last_text = Text(format_ms(last.latency_ms if last else None), justify="right")
        if last is not None and last.suspect:
            last_text.stylize(suspect_style)
        cells = {
            "status": status_text(view.status, variables),
            "name": self._name_cell(view),
            "last": last_text,
            "p95": Text(format_ms(view.p95_ms), justify="right"),
            "latency": latency_spark,
            "jitter": jitter_spark,
            "loss": Text(format_pct(view.loss_pct), justify="right"),
            "error": error,
            "cert": self._cert_cell(view),
            "tags": Text(
                printable(", ".join(view.stored.target.tags)), no_wrap=True, overflow="ellipsis"
            ),
        }
        return {key: cells[key] for key in self._widths}

    def _name_cell(self, view: TargetView) -> Text:
        """Return the target's name, followed by the mute time left while it is muted."""
        name = printable(view.stored.target.name)
        until_ms = view.stored.muted_until_ms
        at_ms = now_ms()
        if until_ms is None or not view.stored.muted_at(at_ms):
            return Text(name, no_wrap=True, overflow="ellipsis")

        muted_colour = theme_colour(self.app.theme_variables, "warning")
        suffix = MUTED_MARK + format_remaining(until_ms - at_ms)
        room = self._widths.get("name", 13) - len(suffix) - 1
        if len(name) > room:
            name = name[: max(0, room - 1)] + "…"
        cell = Text(name, no_wrap=True)
        cell.append(" ")
        cell.append(suffix, style=Style(color=muted_colour.rich_color if muted_colour else None))
        return cell

    def _error_cell(self, last: Sample | None, style: Style) -> Text:
        """Show the error class, and its detail too where the column has room for it."""
        if last is None or last.error is None:
            return Text("")
        cell = Text(str(last.error), style=style, no_wrap=True, overflow="ellipsis")
        room = self._widths.get("error", 0) - len(cell)
        if last.error_detail and room >= DETAIL_MIN_CHARS:
            cell.append(" " + printable(last.error_detail), style="dim")
        return cell

    def _cert_cell(self, view: TargetView) -> Text:
        """Show the days left on an https target's certificate, coloured when they run low."""
        if not view.stored.target.url.lower().startswith("https:"):
            return Text("")
        days = view.cert_days_left
        cell = Text(format_days(days), justify="right")
        warning_days = self._cert_warning_days()
        if days is not None and days < warning_days:
            level = "error" if days < 0 else "warning"
            colour = theme_colour(self.app.theme_variables, level)
            cell.stylize(Style(color=colour.rich_color if colour else None, bold=days < 0))
        return cell

    def _cert_warning_days(self) -> float:
        settings = getattr(self.app, "settings", None)
        if settings is None:
            return ThresholdSettings().cert_warning_days
        return float(settings.thresholds.cert_warning_days)


def same_cell(shown: Text, new: Text) -> bool:
    """Tell whether two cells draw the same: Text equality compares only text and spans."""
    return (
        shown == new
        and shown.style == new.style
        and shown.justify == new.justify
        and shown.no_wrap == new.no_wrap
        and shown.overflow == new.overflow
    )


def mark_suspect(spark: Text, suspects: list[bool], style: Style) -> None:
    """Colour the bars of suspect samples in a right-aligned sparkline of the same samples."""
    shown = suspects[-len(spark) :] if len(spark) else []
    offset = len(spark) - len(shown)
    for index, suspect in enumerate(shown):
        if suspect:
            spark.stylize(style, offset + index, offset + index + 1)
