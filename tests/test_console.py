"""The console app against a real SQLite file, driven through Pilot."""

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.messages import IncidentsRead
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.widgets.grid import TargetGrid, column_widths
from nocwatch_tui.console.widgets.incident_log import IncidentTable
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import Store, now_ms

from conftest import wait_for
from console_data import make_console_database


def grid_of(app: NocWatchApp) -> TargetGrid:
    return app.screen.query_one(TargetGrid)


def incident_table(app: NocWatchApp) -> IncidentTable:
    return app.screen.query_one(IncidentTable)


async def wait_loaded(pilot: Pilot[None], app: NocWatchApp) -> None:
    """Wait until the grid has every fixture target with its samples, and the incidents."""

    def loaded() -> bool:
        return (
            grid_of(app).row_count == 5
            and row_text(app, "steady")[2] == "22 ms"
            and incident_table(app).row_count == 3
            and row_text(app, "down")[0] == "✖ down"
        )

    assert await wait_for(pilot, loaded)


def row_text(app: NocWatchApp, name: str) -> list[str]:
    grid = grid_of(app)
    for row_key in grid.rows:
        cells = [str(cell) for cell in grid.get_row(row_key)]
        if cells[1] == name:
            return cells
    raise AssertionError(f"no row for {name!r}")


@pytest.fixture
def console_db(tmp_path: Path) -> Path:
    return make_console_database(tmp_path / "console.db")


async def test_grid_lists_every_target(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: grid_of(app).row_count == 5)
        names = [str(grid_of(app).get_row(key)[1]) for key in grid_of(app).rows]
        assert names == ["[bold red]x[/]", "down", "idle", "jittery", "steady"]


async def test_grid_shows_status_latency_and_loss(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        # Loss comes from the window statistics feed, a moment after the rows.
        assert await wait_for(pilot, lambda: row_text(app, "down")[5] != "—")
        steady = row_text(app, "steady")
        assert steady[0] == "● up"
        assert steady[2] == "22 ms"
        assert steady[5] == "0%"
        down = row_text(app, "down")
        assert down[0] == "✖ down"
        assert down[2] == "—"
        assert down[5] == "100%"
        assert down[6] == "refused"
        jittery = row_text(app, "jittery")
        assert jittery[0] == "▲ degraded"
        assert jittery[5] == "20%"
        idle = row_text(app, "idle")
        assert idle[0] == "○ unknown"
        assert idle[5] == "—"


async def test_markup_in_name_shown_literally(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: grid_of(app).row_count == 5)
        assert row_text(app, "[bold red]x[/]")[1] == "[bold red]x[/]"


async def test_new_sample_appears_within_a_second(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: grid_of(app).row_count == 5)
        assert row_text(app, "idle")[2] == "—"

        store = await Store.open(console_db)
        try:
            ids = {stored.target.name: stored.id for stored in await store.list_targets()}
            await store.insert_samples(
                [Sample(ids["idle"], now_ms(), latency_ms=42.0, status_code=200)]
            )
        finally:
            await store.close()

        assert await wait_for(pilot, lambda: row_text(app, "idle")[2] == "42 ms", attempts=10)
        assert row_text(app, "idle")[0] == "● up"


async def test_summary_counts_statuses(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        text = str(app.screen.query_one(SummaryBar).render())
        assert "● 2 up" in text
        assert "▲ 1 degraded" in text
        assert "✖ 1 down" in text
        assert "engine stopped" in text


async def test_q_quits(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_grid_snapshot_80x24(console_db: Path, snap_compare) -> None:
    app = NocWatchApp(console_db)

    async def populated(pilot: Pilot[None]) -> None:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: row_text(app, "steady")[5] == "0%")

    assert snap_compare(app, terminal_size=(80, 24), run_before=populated)


async def test_columns_fit_grid_after_resize(console_db: Path) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        # From 80 to 200 columns the window panels move beside the grid, so the
        # grid ends narrower than the terminal.
        await pilot.resize_terminal(200, 50)
        grid = grid_of(app)

        def columns_fit() -> bool:
            widths = {str(key.value): column.width for key, column in grid.columns.items()}
            return widths == column_widths(grid.size.width, app.screen.sort_key)

        assert await wait_for(pilot, columns_fit)
        assert grid.size.width < 200


@pytest.mark.parametrize("refresh", ["incidents", "bindings"])
async def test_repeated_refresh_keeps_footer_keys(console_db: Path, refresh: str) -> None:
    app = NocWatchApp(console_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot, app)
        await pilot.pause(0.2)
        footer = app.screen.query_one(Footer)
        keys_before = list(footer.children)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for _ in range(5):
            if refresh == "incidents":
                # The incident feed posts the list again whenever the engine updates
                # any incident, often every second while targets are down.
                screen.post_message(IncidentsRead(list(screen.incidents)))
            else:
                # Textual itself refreshes the bindings on focus changes, for example.
                screen.refresh_bindings()
            await pilot.pause(0.1)
        keys_after = list(footer.children)
    assert keys_after == keys_before
