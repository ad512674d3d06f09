"""Window keys, the p95 and loss panels and the target detail screen, through Pilot."""

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.screens.detail import DetailScreen, suspect_buckets
from nocwatch_tui.console.screens.main import WIDE_FROM, MainScreen
from nocwatch_tui.console.widgets.incident_log import IncidentLog
from nocwatch_tui.console.widgets.loss_panel import LossPanel
from nocwatch_tui.console.widgets.p95_panel import P95Panel, bar
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.console.widgets.window_panels import WindowPanels
from nocwatch_tui.engine.history import SeriesPoint
from nocwatch_tui.engine.report import iso_utc

from conftest import wait_for
from console_data import make_console_database
from test_console import grid_of, row_text

# A fixed clock, so that charts and panels draw the same in every snapshot.
FIXED_NOW_MS = 1_780_000_000_000


@pytest.fixture
def fixed_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db", at_ms=FIXED_NOW_MS)


def fixed_app(db: Path) -> NocWatchApp:
    return NocWatchApp(db, clock=lambda: FIXED_NOW_MS)


def summary_text(app: NocWatchApp) -> str:
    return str(app.screen.query_one(SummaryBar).render())


def panel_text(app: NocWatchApp, panel: type[P95Panel] | type[LossPanel]) -> str:
    return str(app.screen.query_one(panel).render())


async def stats_shown(pilot: Pilot[None], app: NocWatchApp) -> bool:
    assert await wait_for(pilot, lambda: grid_of(app).row_count == 5)
    assert await wait_for(pilot, lambda: cell_text(app, "down", "loss") == "100%")
    # Statuses come from the open incidents, and the grid rewrites rows at most once a second.
    assert await wait_for(pilot, lambda: cell_text(app, "down", "status") == "✖ down")
    return await wait_for(pilot, lambda: cell_text(app, "jittery", "status") == "▲ degraded")


def cell_text(app: NocWatchApp, name: str, column: str) -> str:
    """Return the text of a target's cell in the grid column with key `column`."""
    grid = grid_of(app)
    for row_key in grid.rows:
        if str(grid.get_cell(row_key, "name")) == name:
            return str(grid.get_cell(row_key, column))
    raise AssertionError(f"no row for {name!r}")


def select_row(app: NocWatchApp, name: str) -> None:
    grid = grid_of(app)
    row = next(key for key in grid.rows if str(grid.get_row(key)[1]) == name)
    grid.move_cursor(row=grid.get_row_index(row))


def detail_stat(app: NocWatchApp, label: str) -> str:
    table = app.screen.query_one("#stats-table", DataTable)
    for row_key in table.rows:
        cells = [str(cell) for cell in table.get_row(row_key)]
        if cells[0] == label:
            return cells[1]
    raise AssertionError(f"no statistic {label!r}")


async def test_brackets_change_window(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        assert "15m" in summary_text(app)

        await pilot.press("right_square_bracket")
        assert app.window_s == 3600
        assert await wait_for(pilot, lambda: "1h" in summary_text(app))

        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert app.window_s == 60
        assert await wait_for(pilot, lambda: "1m" in summary_text(app))
        assert await wait_for(pilot, lambda: row_text(app, "down")[5] == "100%")

        await pilot.press("left_square_bracket")
        assert app.window_s == 60


async def test_longest_window_reads_rollups(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        await pilot.press(*["right_square_bracket"] * 6)
        assert app.window_s == 30 * 24 * 3600
        assert await wait_for(pilot, lambda: "30d" in summary_text(app))
        # No rollups exist yet, so the raw edge of the window carries every sample.
        assert await wait_for(pilot, lambda: row_text(app, "jittery")[5] == "20%")


async def test_p95_panel_ranks_worst_first(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        await pilot.press("g")
        assert await wait_for(pilot, lambda: app.screen.query_one(WindowPanels).display)
        lines = panel_text(app, P95Panel).splitlines()
        assert lines[0] == "p95 latency · 15m"
        assert lines[1].startswith("jittery")
        assert lines[2].startswith("[bold red]x")


async def test_loss_panel_lists_loss_and_availability(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        await pilot.press("g")
        assert await wait_for(pilot, lambda: app.screen.query_one(WindowPanels).display)
        lines = panel_text(app, LossPanel).splitlines()
        assert lines[0] == "Loss · availability · 15m"
        assert lines[2].startswith("down")
        assert lines[2].split()[-2:] == ["100%", "0%"]
        assert lines[3].split()[-2:] == ["20%", "80%"]


def test_bar_fills_in_eighths() -> None:
    assert bar(10.0, 10.0, 4) == "████"
    assert bar(5.0, 10.0, 4) == "██  "
    assert bar(1.0, 16.0, 2) == "▏ "
    assert bar(3.0, 0.0, 4) == ""


async def test_enter_opens_detail_and_escape_returns(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        select_row(app, "steady")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert await wait_for(
            pilot, lambda: app.screen.query_one("#stats-table", DataTable).row_count > 0
        )

        assert detail_stat(app, "samples") == "10"
        assert detail_stat(app, "suspect samples") == "0"
        assert detail_stat(app, "loss") == "0.00 %"
        assert detail_stat(app, "latency min") == "20.80 ms"
        assert detail_stat(app, "latency p50") == "21.85 ms"
        assert detail_stat(app, "jitter RFC 3550") != "—"
        assert detail_stat(app, "dns p50") == "1.09 ms"
        assert detail_stat(app, "tls p50") == "—"

        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_detail_counts_suspect_samples(fixed_db: Path) -> None:
    with sqlite3.connect(fixed_db) as connection:
        connection.execute(
            "UPDATE samples SET suspect = 1 WHERE latency_ms IS NOT NULL AND target_id ="
            " (SELECT id FROM targets WHERE name = 'steady')"
        )
    connection.close()
    app = fixed_app(fixed_db)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_detail(pilot, app, "steady")
        assert detail_stat(app, "suspect samples") == "10"


def test_suspect_bucket_selection() -> None:
    def point(start_ms: int, mean_ms: float | None, suspect: int) -> SeriesPoint:
        return SeriesPoint(start_ms, 1, 0, mean_ms, mean_ms, mean_ms, mean_ms, None, suspect)

    series = [point(0, 20.0, 0), point(1, 21.0, 2), point(2, None, 1)]
    assert suspect_buckets(series) == [series[1]]


async def test_detail_lists_last_errors(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        select_row(app, "down")
        await pilot.press("enter")
        errors = lambda: app.screen.query_one("#errors-table", DataTable)  # noqa: E731
        assert await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert await wait_for(pilot, lambda: errors().row_count == 10)
        first = [str(cell) for cell in errors().get_row_at(0)]
        # The newest of ten samples two seconds apart that start a minute before now.
        assert first[0] == iso_utc(FIXED_NOW_MS - 60_000 + 9 * 2000)
        assert first[1] == "refused"
        assert first[3] == "connection refused"


async def open_detail(pilot: Pilot[None], app: NocWatchApp, name: str) -> None:
    await stats_shown(pilot, app)
    select_row(app, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
    await wait_for(pilot, lambda: app.screen.query_one("#stats-table", DataTable).row_count > 0)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_main_with_panels_snapshot(fixed_db: Path, snap_compare, size: tuple[int, int]) -> None:
    app = fixed_app(fixed_db)

    async def populated(pilot: Pilot[None]) -> None:
        await stats_shown(pilot, app)
        if size[0] < WIDE_FROM:
            await pilot.press("g")
            await wait_for(pilot, lambda: app.screen.query_one(WindowPanels).display)

    assert snap_compare(app, terminal_size=size, run_before=populated)


async def test_panels_hidden_when_narrow_until_toggled(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await stats_shown(pilot, app)
        panels = app.screen.query_one(WindowPanels)
        assert not panels.display
        await pilot.press("g")
        assert await wait_for(pilot, lambda: panels.display)
        assert app.screen.query_one(IncidentLog).region.height > 0
        await pilot.press("g")
        assert await wait_for(pilot, lambda: not panels.display)


async def test_panels_beside_grid_when_wide(fixed_db: Path) -> None:
    app = fixed_app(fixed_db)
    async with app.run_test(size=(WIDE_FROM, 40)) as pilot:
        assert await stats_shown(pilot, app)
        panels = app.screen.query_one(WindowPanels)
        assert panels.display
        assert panels.region.x > 0


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_detail_snapshot(fixed_db: Path, snap_compare, size: tuple[int, int]) -> None:
    app = fixed_app(fixed_db)

    async def detail(pilot: Pilot[None]) -> None:
        await open_detail(pilot, app, "jittery")

    assert snap_compare(app, terminal_size=size, run_before=detail)
