"""Hostile text, certificate expiry and write errors as the console shows them."""

import os
from pathlib import Path

from rich.text import Text
from textual.pilot import Pilot

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.console.widgets.summary_bar import SummaryBar
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.store import EngineStatus, Store, now_ms
from nocwatch_tui.engine.targets import Target

ESCAPE_DETAIL = "\x1b[2J\x1b[31mboom[/] [@click=app.quit]x[/]"
TARGETS = [
    Target(name="[bold red]x[/]", url="http://127.0.0.1:9/a", interval_s=2, timeout_s=1),
    Target(name="[@click=app.quit]q[/]", url="http://127.0.0.1:9/b", interval_s=2, timeout_s=1),
    Target(name="escape", url="http://127.0.0.1:9/c", interval_s=2, timeout_s=1),
    Target(name="expiring", url="https://127.0.0.1:9/d", interval_s=2, timeout_s=1),
    Target(name="fresh", url="https://127.0.0.1:9/e", interval_s=2, timeout_s=1),
    Target(name="untested", url="https://127.0.0.1:9/f", interval_s=2, timeout_s=1),
]


async def fill(
    db: Path, write_error: str | None = None, pid: int = 1, heartbeat_age_ms: int = 0
) -> None:
    store = await Store.open(db)
    try:
        await store.add_targets(TARGETS)
        ids = {stored.target.name: stored.id for stored in await store.list_targets()}
        start_ms = now_ms() - 10_000
        await store.insert_samples(
            [
                Sample(ids["[bold red]x[/]"], start_ms, latency_ms=5.0, status_code=200),
                Sample(ids["[@click=app.quit]q[/]"], start_ms, latency_ms=5.0, status_code=200),
                Sample(
                    ids["escape"],
                    start_ms,
                    error=ErrorClass.PROTOCOL,
                    error_detail=ESCAPE_DETAIL,
                ),
                Sample(ids["expiring"], start_ms, latency_ms=9.0, cert_days_left=5.2),
                Sample(ids["fresh"], start_ms, latency_ms=9.0, cert_days_left=80.4),
            ]
        )
        if write_error is not None or heartbeat_age_ms:
            stamp = now_ms() - heartbeat_age_ms
            await store.write_engine_status(
                EngineStatus(pid, stamp, stamp, None, 0.1, 0.1, 0, 0, write_error)
            )
    finally:
        await store.close()


def cells(app: NocWatchApp, name: str) -> dict[str, Text]:
    """Return a target's row by column key, since the columns shown depend on the width."""
    grid = app.screen.query_one(TargetGrid)
    keys = [str(column.key.value) for column in grid.ordered_columns]
    for row_key in grid.rows:
        row = dict(zip(keys, grid.get_row(row_key), strict=True))
        if row["name"].plain == name:
            return row
    raise AssertionError(f"no row for {name!r}")


def samples_shown(app: NocWatchApp) -> bool:
    """Tell whether every row is there and the samples have reached the grid."""
    if not app.screen.query(TargetGrid) or app.screen.query_one(TargetGrid).row_count != 6:
        return False
    # All samples arrive in one message, so one filled cell means all of them are in.
    return cells(app, "escape")["error"].plain != ""


async def wait_for_rows(pilot: Pilot[None], app: NocWatchApp) -> bool:
    for _attempt in range(50):
        if samples_shown(app):
            return True
        await pilot.pause(0.1)
    return False


async def test_markup_names_shown_literally(tmp_path: Path) -> None:
    db = tmp_path / "markup.db"
    await fill(db)
    app = NocWatchApp(db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        bold = cells(app, "[bold red]x[/]")["name"]
        click = cells(app, "[@click=app.quit]q[/]")["name"]
        await pilot.click(TargetGrid, offset=(16, 2))
        await pilot.pause()
        still_running = app.is_running
    assert bold.plain == "[bold red]x[/]"
    assert bold.spans == []
    assert click.plain == "[@click=app.quit]q[/]"
    assert click.spans == []
    assert still_running


async def test_escape_sequence_in_error_shown_escaped(tmp_path: Path) -> None:
    db = tmp_path / "escape.db"
    await fill(db)
    app = NocWatchApp(db)
    # Wide enough for the error detail in the grid beside the window panels.
    async with app.run_test(size=(240, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        error = cells(app, "escape")["error"]
    assert error.plain.startswith("protocol ")
    assert "\x1b" not in error.plain
    assert "\\x1b[2J\\x1b[31mboom[/] [@click=app.quit]x[/]" in error.plain


async def test_certificate_days_and_warning(tmp_path: Path) -> None:
    db = tmp_path / "cert.db"
    await fill(db)
    app = NocWatchApp(db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        expiring = cells(app, "expiring")["cert"]
        fresh = cells(app, "fresh")["cert"]
        untested = cells(app, "untested")["cert"]
        plain_http = cells(app, "escape")["cert"]
        warning = app.theme_variables["warning"]
    assert expiring.plain == "5d"
    assert [span.style.color.name for span in expiring.spans] == [warning.lower()]
    assert fresh.plain == "80d"
    assert fresh.spans == []
    assert untested.plain == "—"
    assert plain_http.plain == ""


async def test_write_error_shown_in_header(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    await fill(db, write_error="database or disk is full")
    app = NocWatchApp(db)
    async with app.run_test(size=(120, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        header = await header_text(pilot, app)
    assert "write failed: database or disk is full" in header


async def header_text(pilot: Pilot[None], app: NocWatchApp) -> str:
    header = ""
    for _attempt in range(30):
        header = str(app.screen.query_one(SummaryBar).render())
        if "engine stopped" not in header:
            break
        await pilot.pause(0.1)
    return header


async def test_live_engine_without_heartbeat_points_to_log(tmp_path: Path) -> None:
    db = tmp_path / "silent.db"
    await fill(db, pid=os.getpid(), heartbeat_age_ms=60_000)
    app = NocWatchApp(db)
    async with app.run_test(size=(120, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        header = await header_text(pilot, app)
    assert "engine not writing: see its log" in header


async def test_dead_engine_without_heartbeat_not_responding(tmp_path: Path) -> None:
    db = tmp_path / "dead.db"
    # Above Linux's largest possible pid (2**22), so no process has it.
    await fill(db, pid=2**22 + 12345, heartbeat_age_ms=60_000)
    app = NocWatchApp(db)
    async with app.run_test(size=(120, 24)) as pilot:
        assert await wait_for_rows(pilot, app)
        header = await header_text(pilot, app)
    assert "engine not responding" in header
