"""The wall display: one large tile per target, incidents first, pages that rotate."""

import asyncio
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.screen import Screen
from textual.widgets import Static

from nocwatch_tui.console.incident_text import ticker_item, worst_open
from nocwatch_tui.console.model import TargetView
from nocwatch_tui.console.status_style import DisplayStatus
from nocwatch_tui.console.widgets.summary_bar import EngineMode, SummaryBar
from nocwatch_tui.console.widgets.wall_tile import WallTile
from nocwatch_tui.engine.incidents import Incident
from nocwatch_tui.engine.store import EngineStatus, now_ms
from nocwatch_tui.engine.windows import window_label
from nocwatch_tui.i18n import _

# The smallest tile that still shows every line: border, head, three rows of
# digits, one sparkline row and the incident line.
TILE_MIN_WIDTH = 20
TILE_MIN_HEIGHT = 8
REFRESH_S = 0.5
# More than fit on the widest screen; the line ends with an ellipsis.
TICKER_ITEMS = 12
# Failing targets first. Targets of equal rank are sorted by name.
STATUS_RANK: dict[str, int] = {
    DisplayStatus.DOWN: 0,
    DisplayStatus.DEGRADED: 1,
    DisplayStatus.MUTED: 2,
    DisplayStatus.UNKNOWN: 3,
    DisplayStatus.PAUSED: 4,
    DisplayStatus.UP: 5,
}


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


def wall_order(views: Iterable[TargetView], worst: Mapping[int, Incident]) -> list[TargetView]:
    """Sort targets with open incidents first, critical before warning, then failing, then name.

    `worst` maps a target id to its worst open incident.
    """

    def key(view: TargetView) -> tuple[int, int, str]:
        incident = worst.get(view.stored.id)
        severity_rank = incident.severity.rank if incident is not None else 0
        return (-severity_rank, STATUS_RANK[view.status], view.stored.target.name.casefold())

    return sorted(views, key=key)


def worst_open_by_target(incidents: Iterable[Incident]) -> dict[int, Incident]:
    """Return each target's worst open incident, by target id."""
    by_target: dict[int, list[Incident]] = {}
    for incident in incidents:
        if incident.is_open:
            by_target.setdefault(incident.target_id, []).append(incident)
    worst: dict[int, Incident] = {}
    for target_id, open_incidents in by_target.items():
        chosen = worst_open(open_incidents)
        if chosen is not None:
            worst[target_id] = chosen
    return worst


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
        incidents: Callable[[], Sequence[Incident]],
        engine: Callable[[], EngineStatus | None],
        page_s: float,
        mode: Callable[[int], EngineMode | None] = lambda _at_ms: None,
    ) -> None:
        super().__init__()
        self._views = views
        self._incidents = incidents
        self._engine = engine
        self._mode = mode
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

    async def refresh_tiles(self) -> None:
        """Lay the tiles out for the current size and fill them with the current page."""
        async with self._refreshing:
            await self._refresh_tiles()

    async def _refresh_tiles(self) -> None:
        incidents = self._incidents()
        worst = worst_open_by_target(incidents)
        views = wall_order(self._views(), worst)
        now = now_ms()
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
                view = page_views[index]
                tile.show(view, worst.get(view.stored.id), now)

        self.query_one("#wall-page", Static).update(Text(page_indicator(self.page, grid.pages)))
        self._refresh_summary(views)
        self._refresh_ticker(incidents, now)

    async def _layout(self, area: Grid, grid: WallGrid) -> None:
        self.grid = grid
        area.styles.grid_size_columns = grid.columns
        area.styles.grid_size_rows = grid.rows
        await area.remove_children()
        await area.mount_all([WallTile() for _index in range(grid.per_page)])

    def _refresh_summary(self, views: list[TargetView]) -> None:
        stamp = now_ms()
        self.query_one(SummaryBar).show(
            window_label(int(getattr(self.app, "window_s", 900))),
            [view.status for view in views],
            self._engine(),
            self._mode(stamp),
            stamp,
        )

    def _refresh_ticker(self, incidents: Sequence[Incident], now: int) -> None:
        """Show the newest incidents, open or resolved, as many as the line has room for."""
        variables = self.app.theme_variables
        line = Text(no_wrap=True, overflow="ellipsis")
        if not incidents:
            line.append(_("no incidents"))
        for index, incident in enumerate(incidents[:TICKER_ITEMS]):
            if index:
                line.append("   ")
            line.append_text(ticker_item(incident, variables, now))
        self.query_one("#wall-ticker", Static).update(line)
