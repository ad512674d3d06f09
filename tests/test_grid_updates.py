"""How the grid applies new samples: visible rows in batches, others when shown; suspect marks."""

from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.widgets.grid import TargetGrid, mark_suspect
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.targets import Target

from conftest import wait_for

TARGETS = 60


async def make_many_targets(db_path: Path) -> dict[str, int]:
    store = await Store.open(db_path)
    try:
        await store.add_targets(
            Target(name=f"t{index:02d}", url=f"http://127.0.0.1:9/{index}", interval_s=10)
            for index in range(TARGETS)
        )
        return {stored.target.name: stored.id for stored in await store.list_targets()}
    finally:
        await store.close()


async def add_samples(db_path: Path, samples: list[Sample]) -> None:
    store = await Store.open(db_path)
    try:
        await store.insert_samples(samples)
    finally:
        await store.close()


def last_cell(grid: TargetGrid, target_id: int) -> Text:
    return grid.get_row(str(target_id))[2]


async def test_offscreen_row_waits_until_scrolled_into_view(db_path: Path) -> None:
    ids = await make_many_targets(db_path)
    app = NocWatchApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen.query_one(TargetGrid)
        assert await wait_for(pilot, lambda: grid.row_count == TARGETS)
        await add_samples(
            db_path,
            [
                Sample(ids["t01"], now_ms(), latency_ms=41.0, status_code=200),
                Sample(ids["t55"], now_ms(), latency_ms=42.0, status_code=200),
            ],
        )
        assert await wait_for(pilot, lambda: str(last_cell(grid, ids["t01"])) == "41 ms")
        assert str(last_cell(grid, ids["t55"])) == "—"

        grid.move_cursor(row=grid.get_row_index(str(ids["t55"])))
        assert await wait_for(pilot, lambda: str(last_cell(grid, ids["t55"])) == "42 ms")


def drawn_line(grid: TargetGrid, name: str) -> Strip | None:
    """Return the line the grid draws for a target, as the screen shows it."""
    for y in range(grid.size.height):
        line = grid.render_line(y)
        if f" {name} " in line.text:
            return line
    return None


async def test_scrolled_grid_draws_rewritten_rows_and_cursor(db_path: Path) -> None:
    ids = await make_many_targets(db_path)
    app = NocWatchApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen.query_one(TargetGrid)
        assert await wait_for(pilot, lambda: grid.row_count == TARGETS)
        grid.move_cursor(row=grid.get_row_index(str(ids["t40"])))
        assert await wait_for(pilot, lambda: grid.scroll_y > 0)
        await pilot.pause()
        before = drawn_line(grid, "t40")
        assert before is not None
        assert "—" in before.text

        await add_samples(db_path, [Sample(ids["t40"], now_ms(), latency_ms=43.0)])
        assert await wait_for(pilot, lambda: "43 ms" in str(drawn_line(grid, "t40")))
        with_cursor = drawn_line(grid, "t40")
        assert with_cursor is not None

        grid.move_cursor(row=grid.get_row_index(str(ids["t39"])))
        await pilot.pause()
        without_cursor = drawn_line(grid, "t40")
        assert without_cursor is not None
        assert without_cursor.text == with_cursor.text
        assert list(without_cursor) != list(with_cursor)


async def test_suspect_sample_is_marked_in_the_last_cell(db_path: Path) -> None:
    ids = await make_many_targets(db_path)
    await add_samples(
        db_path,
        [
            Sample(ids["t00"], now_ms(), latency_ms=50.0, loop_lag_ms=30.0, suspect=True),
            Sample(ids["t02"], now_ms(), latency_ms=50.0, loop_lag_ms=0.2),
        ],
    )
    app = NocWatchApp(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        grid = app.screen.query_one(TargetGrid)
        assert await wait_for(pilot, lambda: grid.row_count == TARGETS)
        assert await wait_for(pilot, lambda: str(last_cell(grid, ids["t00"])) == "50 ms")
        assert await wait_for(pilot, lambda: str(last_cell(grid, ids["t02"])) == "50 ms")
        assert last_cell(grid, ids["t00"]).spans
        assert not last_cell(grid, ids["t02"]).spans


def test_mark_suspect_colours_only_suspect_bars() -> None:
    spark = Text("  ▁▅█")
    mark_suspect(spark, [False, True, False], Style(color="yellow"))
    assert [(span.start, span.end) for span in spark.spans] == [(3, 4)]


def test_mark_suspect_uses_the_newest_samples() -> None:
    spark = Text("▁▅")
    mark_suspect(spark, [True, False, True], Style(color="yellow"))
    assert [(span.start, span.end) for span in spark.spans] == [(1, 2)]
