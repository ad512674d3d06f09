"""The wall display: one large tile per target, failing targets first, pages that rotate."""

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.screen import Screen
from textual.widgets import Static

from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.status_style import SYMBOLS, DisplayStatus, status_style
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.console.widgets.wall_tile import WallTile
from nocwatch_tui.engine.store import EngineStatus, now_ms
from nocwatch_tui.engine.windows import window_label
from nocwatch_tui.i18n import _

# The smallest tile that still shows every line: border, head, three rows of
# digits, one sparkline row and the incident line.
TILE_MIN_WIDTH = 20
TILE_MIN_HEIGHT = 8
REFRESH_S = 0.5
# Failing first; within a rank, by name.
STATUS_RANK: dict[str, int] = {
    DisplayStatus.DOWN: 0,
    DisplayStatus.DEGRADED: 1,
    DisplayStatus.MUTED: 2,
    DisplayStatus.UNKNOWN: 3,
    DisplayStatus.PAUSED: 4,
    DisplayStatus.UP: 5,
}

FAILING = frozenset({DisplayStatus.DOWN, DisplayStatus.DEGRADED})


@dataclass(frozen=True)
class WallGrid:
    """The arrangement of tiles: columns and rows of one page, and the number of pages."""

    columns: int
    rows: int
    pages: int

    @property
    def per_page(self) -> int:
        """Return the number of tiles on one page."""
        return self.columns * self.rows


def wall_grid(count: int, width: int, height: int) -> WallGrid:
    """Arrange `count` tiles in a width x height area, as large as fits, paging when needed.

    When every tile fits on one page, the chosen arrangement is the one whose
    tiles are largest relative to the minimum tile. Otherwise each page has as
    many minimum-sized tiles as fit.
    """
    max_columns = max(1, width // TILE_MIN_WIDTH)
    max_rows = max(1, height // TILE_MIN_HEIGHT)
    if count > max_columns * max_rows:
        pages = math.ceil(count / (max_columns * max_rows))
        return WallGrid(max_columns, max_rows, pages)

    best = WallGrid(1, max(1, count), 1)
    best_scale = -1.0
    for columns in range(1, max_columns + 1):
        rows = max(1, math.ceil(count / columns))
        if rows > max_rows:
            continue
        scale = min(width / columns / TILE_MIN_WIDTH, height / rows / TILE_MIN_HEIGHT)
        if scale > best_scale:
            best, best_scale = WallGrid(columns, rows, 1), scale
    return best


def wall_order(views: Iterable[TargetView]) -> list[TargetView]:
    """Sort targets failing first, then by name."""
    return sorted(
        views,
        key=lambda view: (STATUS_RANK[view.status], view.stored.target.name.casefold()),
    )


def page_indicator(page: int, pages: int) -> str:
    """Describe the page shown, such as `page 2/3 ○●○`; empty when there is one page."""
    if pages <= 1:
        return ""
    dots = "".join("●" if index == page else "○" for index in range(pages))
    return _("page {page}/{pages}").format(page=page + 1, pages=pages) + f" {dots}"


class WallScreen(Screen[None]):
    """Large tiles for a screen read from across the room; no footer and no inputs."""

    CSS_PATH = "wall.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", _("Back"), id="wall.leave"),
    ]

    def __init__(
        self,
        views: Callable[[], Iterable[TargetView]],
        engine: Callable[[], EngineStatus | None],
        page_s: float,
    ) -> None:
        super().__init__()
        self._views = views
        self._engine = engine
        self.page_s = page_s
        self.page = 0
        self.grid = WallGrid(1, 1, 1)
        # The timers and resizes all refresh; one at a time, so a layout is never interleaved.
        self._refreshing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal(id="wall-header"):
            yield SummaryBar(id="wall-summary")
            yield Static(id="wall-page")
        yield Grid(id="wall-tiles")
        yield Static(id="wall-ticker")

    def on_mount(self) -> None:
        self.set_interval(REFRESH_S, self.refresh_tiles)
        self.set_interval(self.page_s, self.next_page)
        self.call_after_refresh(self.refresh_tiles)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_tiles)

    def action_leave(self) -> None:
        """Go back to the main screen."""
        self.dismiss()

    async def next_page(self) -> None:
        """Show the next page of tiles, wrapping after the last."""
        self.page = (self.page + 1) % max(1, self.grid.pages)
        await self.refresh_tiles()

    def ordered_views(self) -> list[TargetView]:
        """Return every target in wall order."""
        return wall_order(self._views())

    async def refresh_tiles(self) -> None:
        """Lay the tiles out for the current size and fill them with the current page."""
        async with self._refreshing:
            await self._refresh_tiles()

    async def _refresh_tiles(self) -> None:
        views = self.ordered_views()
        area = self.query_one("#wall-tiles", Grid)
        width, height = area.size
        if width == 0 or height == 0:
            return
        grid = wall_grid(len(views), width, height)
        if grid != self.grid:
            await self._layout(area, grid)
        self.page = min(self.page, grid.pages - 1)

        page_views = views[self.page * grid.per_page : (self.page + 1) * grid.per_page]
        for index, tile in enumerate(area.query(WallTile)):
            tile.display = index < len(page_views)
            if index < len(page_views):
                tile.show(page_views[index])

        self.query_one("#wall-page", Static).update(Text(page_indicator(self.page, grid.pages)))
        self._refresh_summary(views)
        self._refresh_ticker(views)

    async def _layout(self, area: Grid, grid: WallGrid) -> None:
        self.grid = grid
        area.styles.grid_size_columns = grid.columns
        area.styles.grid_size_rows = grid.rows
        await area.remove_children()
        await area.mount_all([WallTile() for _index in range(grid.per_page)])

    def _refresh_summary(self, views: list[TargetView]) -> None:
        self.query_one(SummaryBar).show(
            window_label(int(getattr(self.app, "window_s", 900))),
            [view.status for view in views],
            self._engine(),
            getattr(self.app, "engine_mode", "attached"),
            now_ms(),
        )

    def _refresh_ticker(self, views: list[TargetView]) -> None:
        # TODO: list the newest incidents (opened, escalated, resolved) once
        # incidents are stored; until then the ticker names the failing targets.
        variables = self.app.theme_variables
        failing = [
            view for view in views if STATUS_RANK[view.status] < STATUS_RANK[DisplayStatus.MUTED]
        ]
        line = Text(no_wrap=True, overflow="ellipsis")
        if not failing:
            line.append(_("no target failing"))
        for index, view in enumerate(failing):
            if index:
                line.append("  ·  ")
            line.append(f"{SYMBOLS[view.status]} ", style=status_style(view.status, variables))
            line.append(view.stored.target.name)
            last = view.last
            if last is not None and last.error is not None:
                line.append(f" {last.error}")
        self.query_one("#wall-ticker", Static).update(line)
