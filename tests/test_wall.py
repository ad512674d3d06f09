"""The wall display: layout, order, paging, and entering and leaving it from the keyboard."""

from pathlib import Path

import pytest
from textual.widgets import Static

from nocwatch_tui.cli import build_parser
from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.incident_text import worst_open
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.screens.wall import (
    WallGrid,
    WallScreen,
    page_indicator,
    wall_grid,
)
from nocwatch_tui.console.sparkline import FAILURE_MARK, sparkline, sparkline_rows
from nocwatch_tui.console.themes import shipped_themes_dir
from nocwatch_tui.console.widgets.wall_tile import WallTile, latency_digits
from nocwatch_tui.engine.incidents import Incident, Kind, Severity
from nocwatch_tui.engine.settings import ConsoleSettings, Settings

from conftest import wait_for
from console_data import make_console_database


def shown_names(app: NocWatchApp) -> list[str | None]:
    return [tile.target_name for tile in app.screen.query(WallTile) if tile.display]


def wall_app(db: Path, *, wall: bool = True, page_s: float = 10.0) -> NocWatchApp:
    settings = Settings(console=ConsoleSettings(wall_page_s=page_s))
    return NocWatchApp(db, settings=settings, wall=wall, theme_folders=[shipped_themes_dir()])


@pytest.fixture
def console_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db")


def test_wall_grid_80x24_one_page() -> None:
    assert wall_grid(7, 80, 22) == WallGrid(columns=4, rows=2, pages=1)


def test_wall_grid_80x24_two_pages() -> None:
    assert wall_grid(9, 80, 22) == WallGrid(columns=4, rows=2, pages=2)


def test_wall_grid_240x67_one_page() -> None:
    assert wall_grid(7, 240, 65) == WallGrid(columns=4, rows=2, pages=1)


def test_wall_grid_single_target() -> None:
    assert wall_grid(1, 240, 65) == WallGrid(columns=1, rows=1, pages=1)


def test_wall_grid_tiny_screen() -> None:
    assert wall_grid(3, 20, 5) == WallGrid(columns=1, rows=1, pages=3)


def test_page_indicator_marks_page() -> None:
    assert page_indicator(1, 3) == "page 2/3 ○●○"


def test_page_indicator_single_page_empty() -> None:
    assert page_indicator(0, 1) == ""


def test_latency_digits_no_data() -> None:
    assert latency_digits(None) == "-"


def test_latency_digits_below_10_ms() -> None:
    assert latency_digits(3.14) == "3.1"


def test_latency_digits_whole_ms() -> None:
    assert latency_digits(804.6) == "805"


def test_sparkline_rows_height_one() -> None:
    values = [1.0, None, 3.0, 7.0, 2.0]
    assert sparkline_rows(values, 8, 1) == [sparkline(values, 8)]


def test_sparkline_rows_highest_on_top() -> None:
    rows = sparkline_rows([0.0, 10.0], 2, 3)
    assert rows == [" █", " █", "▁█"]


def test_sparkline_rows_failure_at_bottom() -> None:
    rows = sparkline_rows([1.0, None, 2.0], 3, 2)
    assert [row[1] for row in rows] == [" ", FAILURE_MARK]


async def test_wall_w_enters_escape_leaves(console_db: Path) -> None:
    app = wall_app(console_db, wall=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("w")
        assert await wait_for(pilot, lambda: isinstance(app.screen, WallScreen))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_wall_has_no_footer(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, WallScreen))
        assert not app.screen.query("Footer")


async def test_wall_incidents_first(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: len(shown_names(app)) == 5)
        assert await wait_for(pilot, lambda: shown_names(app)[0] == "down")
        assert shown_names(app)[1:] == ["jittery", "idle", "[bold red]x[/]", "steady"]


async def test_wall_tile_down_class(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: "down" in shown_names(app))
        tile = next(tile for tile in app.screen.query(WallTile) if tile.target_name == "down")
        assert tile.has_class("-down")


async def test_wall_pages_rotate(console_db: Path) -> None:
    app = wall_app(console_db, page_s=0.3)
    async with app.run_test(size=(48, 24)) as pilot:

        def indicator() -> str:
            return str(app.screen.query_one("#wall-page", Static).render())

        assert await wait_for(pilot, lambda: indicator().startswith("page 1/2"))
        first_page = shown_names(app)
        assert await wait_for(pilot, lambda: indicator().startswith("page 2/2"))
        assert shown_names(app) != first_page


@pytest.mark.parametrize(
    "argv",
    [["--wall", "--theme", "mono"], ["demo", "--wall", "--theme", "mono"], ["console", "--wall"]],
)
def test_cli_wall_option(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.wall is True


def test_cli_wall_option_not_on_serve() -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["serve", "--wall"])
    assert caught.value.code == 2


async def test_wall_key_hidden_on_wall(console_db: Path) -> None:
    app = wall_app(console_db, wall=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.check_action("wall", ()) is True
        await pilot.press("w")
        assert await wait_for(pilot, lambda: isinstance(app.screen, WallScreen))
        assert app.check_action("wall", ()) is None


def tile_of(app: NocWatchApp, name: str) -> WallTile:
    return next(tile for tile in app.screen.query(WallTile) if tile.target_name == name)


def tile_bottom(app: NocWatchApp, name: str) -> str:
    """Return the incident line of a target's tile, or "" before the tile exists."""
    tiles = [tile for tile in app.screen.query(WallTile) if tile.target_name == name]
    if not tiles:
        return ""
    return str(tiles[0].query_one(".tile-incident", Static).render())


async def test_wall_tile_shows_open_incident(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(120, 30)) as pilot:
        assert await wait_for(pilot, lambda: "down critical" in tile_bottom(app, "down"))
        assert "2h30m" in tile_bottom(app, "down")
        assert tile_of(app, "down").has_class("-critical")


async def test_wall_tile_acknowledged_incident(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(120, 30)) as pilot:
        assert await wait_for(pilot, lambda: "loss warning" in tile_bottom(app, "jittery"))
        assert "ack alice" in tile_bottom(app, "jittery")
        assert tile_of(app, "jittery").has_class("-warning")


async def test_wall_tile_without_incident_shows_loss(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(120, 30)) as pilot:
        assert await wait_for(pilot, lambda: "steady" in shown_names(app))
        assert await wait_for(pilot, lambda: tile_bottom(app, "steady") == "0% loss")
        assert not tile_of(app, "steady").has_class("-warning")


async def test_wall_ticker_lists_newest_incidents(console_db: Path) -> None:
    app = wall_app(console_db)
    async with app.run_test(size=(200, 30)) as pilot:

        def ticker() -> str:
            return str(app.screen.query_one("#wall-ticker", Static).render())

        assert await wait_for(pilot, lambda: "down down critical" in ticker())
        text = ticker()
        assert "jittery loss warning for 2h30m" in text
        assert "steady latency warning resolved after 1h00m" in text
        assert text.index("down down") < text.index("steady latency")


def incident(
    incident_id: int, severity: Severity, opened_at_ms: int, resolved_at_ms: int | None = None
) -> Incident:
    return Incident(
        id=incident_id,
        target_id=1,
        target="api",
        kind=Kind.LATENCY,
        severity=severity,
        opened_at_ms=opened_at_ms,
        peak_value=700.0,
        acknowledged_at_ms=None,
        acknowledged_by=None,
        resolved_at_ms=resolved_at_ms,
        notes=[],
    )


def test_worst_open_prefers_critical() -> None:
    incidents = [incident(1, Severity.WARNING, 100), incident(2, Severity.CRITICAL, 200)]
    chosen = worst_open(incidents)
    assert chosen is not None
    assert chosen.id == 2


def test_worst_open_prefers_oldest_among_equals() -> None:
    incidents = [incident(1, Severity.WARNING, 200), incident(2, Severity.WARNING, 100)]
    chosen = worst_open(incidents)
    assert chosen is not None
    assert chosen.id == 2


def test_worst_open_ignores_resolved() -> None:
    assert worst_open([incident(1, Severity.CRITICAL, 100, resolved_at_ms=300)]) is None
