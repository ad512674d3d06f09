"""Managing targets from the console: the form, the grid keys, and the engine following them."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Collapsible, Input, Static
from textual.widgets._toast import Toast

from nocwatch_tui.console.app import NocWatchApp
from nocwatch_tui.console.screens.confirm_delete import ConfirmDelete
from nocwatch_tui.console.screens.main import MainScreen
from nocwatch_tui.console.screens.mute import MuteDialog
from nocwatch_tui.console.screens.target_form import TargetForm
from nocwatch_tui.console.widgets.grid import TargetGrid
from nocwatch_tui.engine.incidents import open_incidents
from nocwatch_tui.engine.runtime import Engine
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import Store, StoredTarget, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.lab import Lab

from conftest import ServeProcess

POLL_S = 0.1


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> bool:
    for _ in range(int(seconds / POLL_S)):
        if condition():
            return True
        await pilot.pause(POLL_S)
    return condition()


async def wait_for_async(pilot: Pilot[None], condition, seconds: float = 5) -> bool:
    for _ in range(int(seconds / POLL_S)):
        if await condition():
            return True
        await pilot.pause(POLL_S)
    return bool(await condition())


def grid_names(app: NocWatchApp) -> list[str]:
    grid = app.screen.query_one(TargetGrid)
    return [str(grid.get_row(key)[1]) for key in grid.rows]


def row_cells(app: NocWatchApp, name: str) -> list[str]:
    grid = app.screen.query_one(TargetGrid)
    for key in grid.rows:
        cells = [str(cell) for cell in grid.get_row(key)]
        if cells[1].startswith(name):
            return cells
    raise AssertionError(f"no row for {name!r}")


def column_label(grid: TargetGrid, key: str) -> str:
    return next(str(column.label) for column in grid.columns.values() if column.key.value == key)


def field_error(app: NocWatchApp, key: str) -> str:
    label = app.screen.query_one(f"#error-{key}", Static)
    return str(label.render()) if label.has_class("shown") else ""


def toast_text(app: NocWatchApp) -> str:
    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


async def select_row(pilot: Pilot[None], app: NocWatchApp, name: str) -> None:
    grid = app.screen.query_one(TargetGrid)
    for index, key in enumerate(grid.ordered_rows):
        if str(grid.get_row(key.key)[1]).startswith(name):
            grid.move_cursor(row=index)
            await pilot.pause()
            return
    raise AssertionError(f"no row for {name!r}")


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)


async def paste_text(pilot: Pilot[None], text: str) -> None:
    """Paste into the focused field, as an operator does with a URL from a ticket."""
    focused = pilot.app.focused
    assert focused is not None
    focused.post_message(events.Paste(text))
    await pilot.pause()


async def replace_field(pilot: Pilot[None], text: str) -> None:
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)


async def targets_by_name(db: Path) -> dict[str, StoredTarget]:
    store = await Store.open(db)
    try:
        return {stored.target.name: stored for stored in await store.list_targets()}
    finally:
        await store.close()


async def sample_count(db: Path, name: str) -> int:
    store = await Store.open(db)
    try:
        targets = {stored.target.name: stored.id for stored in await store.list_targets()}
        if name not in targets:
            return 0
        return len(await store.window_rows(targets[name], 0, now_ms() + 60_000))
    finally:
        await store.close()


async def make_database(db: Path, targets: list[Target]) -> Path:
    store = await Store.open(db)
    try:
        await store.add_targets(targets)
    finally:
        await store.close()
    return db


@pytest.fixture
async def lab_db(lab: Lab, tmp_path: Path) -> Path:
    steady = Target(name="steady", url=lab.urls["steady"], interval_s=0.5, timeout_s=0.4)
    down = Target(name="down", url=lab.urls["down"], interval_s=0.5, timeout_s=0.4, tags=["edge"])
    return await make_database(tmp_path / "targets.db", [steady, down])


@pytest.fixture
async def engine(lab_db: Path) -> AsyncIterator[Engine]:
    """Run a real engine on the test's event loop, as `nocwatch serve` would."""
    store = await Store.open(lab_db)
    stop = asyncio.Event()
    running = Engine(store)
    task = asyncio.create_task(running.run(stop))
    try:
        yield running
    finally:
        stop.set()
        await task
        await store.close()


async def started(pilot: Pilot[None], app: NocWatchApp, rows: int = 2) -> None:
    assert await wait_for(pilot, lambda: app.screen.query_one(TargetGrid).row_count == rows)


# The form


async def test_new_target_is_saved_and_probed(lab: Lab, lab_db: Path, engine: Engine) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        assert isinstance(app.screen, TargetForm)

        await type_text(pilot, "api")
        await pilot.press("tab")
        await paste_text(pilot, lab.urls["steady"])
        await pilot.press("tab", "tab")
        await replace_field(pilot, "0.5")
        await pilot.press("tab")
        await replace_field(pilot, "0.4")
        await pilot.press("enter")

        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert await wait_for(pilot, lambda: "api" in grid_names(app))
        assert await wait_for(pilot, lambda: row_cells(app, "api")[2].endswith("ms"))
        saved = (await targets_by_name(lab_db))["api"].target
        assert saved.interval_s == 0.5
        assert saved.timeout_s == 0.4


async def test_serve_process_probes_target_added_in_console(
    lab: Lab, lab_db: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    serve = serve_process("--db", str(lab_db))
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "api")
        await pilot.press("tab")
        await paste_text(pilot, lab.urls["steady"])
        await pilot.press("tab", "tab")
        await replace_field(pilot, "0.5")
        await pilot.press("tab")
        await replace_field(pilot, "0.4")
        await pilot.press("ctrl+s")

        assert await wait_for(pilot, lambda: "api" in grid_names(app))
        assert await wait_for(pilot, lambda: row_cells(app, "api")[2].endswith("ms"), seconds=8)
    assert serve.stop() == 0
    assert "probing 'api' every 0.5 s" in serve.log_text()


def test_form_snapshot_80x24(lab_db: Path, snap_compare) -> None:
    app = NocWatchApp(lab_db)

    async def open_form(pilot: Pilot[None]) -> None:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "api")
        await pilot.press("tab")
        await paste_text(pilot, "ftp://x")
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_form)


async def test_invalid_url_shows_message_and_saves_nothing(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "bad")
        await pilot.press("tab")
        await paste_text(pilot, "ftp://127.0.0.1/")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert isinstance(app.screen, TargetForm)
        assert "unsupported scheme 'ftp'" in field_error(app, "url")
        assert field_error(app, "name") == ""
    assert set(await targets_by_name(lab_db)) == {"steady", "down"}


async def test_timeout_not_below_interval_is_rejected(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "slow")
        await pilot.press("tab")
        await paste_text(pilot, "http://127.0.0.1:9/")
        await pilot.press("tab", "tab")
        await replace_field(pilot, "2")
        await pilot.press("tab")
        await replace_field(pilot, "2")
        await pilot.press("enter")
        await pilot.pause()

        assert isinstance(app.screen, TargetForm)
        assert "must be below interval_s" in field_error(app, "timeout_s")
    assert "slow" not in await targets_by_name(lab_db)


async def test_duplicate_name_is_rejected(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "steady")
        await pilot.press("tab")
        await paste_text(pilot, "http://127.0.0.1:9/other")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert isinstance(app.screen, TargetForm)
        assert "already exists" in field_error(app, "name")
    targets = await targets_by_name(lab_db)
    assert targets["steady"].target.url != "http://127.0.0.1:9/other"
    assert len(targets) == 2


async def test_threshold_error_shown_beside_threshold(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, TargetForm)
        form.query_one("#thresholds", Collapsible).collapsed = False
        await pilot.pause()
        form.query_one("#thresholds-loss_warning_pct", Input).focus()
        await type_text(pilot, "150")
        await pilot.press("enter")
        await pilot.pause()

        assert isinstance(app.screen, TargetForm)
        assert "less than or equal to 100" in field_error(app, "thresholds-loss_warning_pct")
    assert (await targets_by_name(lab_db))["steady"].target.thresholds.loss_warning_pct is None


async def test_escape_closes_form_without_saving(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "draft")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    assert "draft" not in await targets_by_name(lab_db)


async def test_headers_are_saved_and_values_hidden(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(100, 40)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, TargetForm)
        form.query_one(".header-name", Input).focus()
        await type_text(pilot, "X-Key")
        await pilot.press("tab")
        await type_text(pilot, "s3cret-token")
        value_field = form.query_one(".header-value", Input)
        assert value_field.password is True
        assert "s3cret-token" not in app.export_screenshot()
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    assert (await targets_by_name(lab_db))["steady"].target.headers == {"X-Key": "s3cret-token"}


async def test_form_test_probes_without_saving(lab: Lab, lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "trial")
        await pilot.press("tab")
        await paste_text(pilot, lab.urls["down"])
        await pilot.press("ctrl+t")
        assert await wait_for(pilot, lambda: "failed: refused" in toast_text(app))
        assert "dns" in toast_text(app)
        assert isinstance(app.screen, TargetForm)
    assert "trial" not in await targets_by_name(lab_db)


async def test_t_types_in_text_fields_and_tests_elsewhere(lab: Lab, lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot, app)
        await pilot.press("n")
        await type_text(pilot, "trial")
        assert app.screen.query_one("#name", Input).value == "trial"
        await pilot.press("tab")
        await paste_text(pilot, lab.urls["steady"])
        await pilot.press("tab")
        await pilot.press("t")
        assert await wait_for(pilot, lambda: "passed: HTTP 200" in toast_text(app))


# Grid keys


async def test_t_tests_selected_target(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("t")
        assert await wait_for(pilot, lambda: "passed: HTTP 200" in toast_text(app))
        assert "ttfb" in toast_text(app)


async def test_edit_changes_interval_and_engine_follows(
    lab: Lab, lab_db: Path, engine: Engine
) -> None:
    steady_id = (await targets_by_name(lab_db))["steady"].id
    store = await Store.open(lab_db)
    try:
        await store.update_target(
            steady_id, Target(name="steady", url=lab.urls["steady"], interval_s=5, timeout_s=0.4)
        )
    finally:
        await store.close()

    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("e")
        assert isinstance(app.screen, TargetForm)
        app.screen.query_one("#interval_s", Input).focus()
        await replace_field(pilot, "0.2")
        await pilot.press("tab")
        await replace_field(pilot, "0.1")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))

        before = await sample_count(lab_db, "steady")

        async def probed_often() -> bool:
            return await sample_count(lab_db, "steady") >= before + 6

        # At the old interval of 5 s, six probes would take half a minute.
        assert await wait_for_async(pilot, probed_often, seconds=4)
    assert (await targets_by_name(lab_db))["steady"].target.interval_s == 0.2


async def test_delete_asks_first_and_keeps_samples(lab_db: Path, engine: Engine) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)

        async def has_samples() -> bool:
            return await sample_count(lab_db, "down") > 0

        assert await wait_for_async(pilot, has_samples)
        down_id = (await targets_by_name(lab_db))["down"].id
        await select_row(pilot, app, "down")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDelete)
        assert "down" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert "down" in await targets_by_name(lab_db)

        await pilot.press("d", "y")
        assert await wait_for(pilot, lambda: grid_names(app) == ["steady"])
    assert "down" not in await targets_by_name(lab_db)
    store = await Store.open(lab_db)
    try:
        kept = await store.window_rows(down_id, 0, now_ms())
    finally:
        await store.close()
    assert kept


async def test_delete_with_samples_ticked(lab_db: Path) -> None:
    store = await Store.open(lab_db)
    try:
        down_id = (await targets_by_name(lab_db))["down"].id
        await store.insert_samples([Sample(down_id, now_ms(), latency_ms=1.0, status_code=200)])
    finally:
        await store.close()

    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "down")
        await pilot.press("d", "shift+tab", "shift+tab", "space", "y")
        assert await wait_for(pilot, lambda: grid_names(app) == ["steady"])
    assert await sample_count(lab_db, "down") == 0
    store = await Store.open(lab_db)
    try:
        assert await store.window_rows(down_id, 0, now_ms() + 1000) == []
    finally:
        await store.close()


async def test_pause_stops_probes_and_resume_restarts(lab_db: Path, engine: Engine) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("p")
        assert await wait_for(pilot, lambda: row_cells(app, "steady")[0] == "‖ paused")
        assert (await targets_by_name(lab_db))["steady"].paused is True

        # One heartbeat (1 s) lets the engine stop the loop; then no probe may start.
        await pilot.pause(1.2)
        paused_count = await sample_count(lab_db, "steady")
        await pilot.pause(1.0)
        assert await sample_count(lab_db, "steady") == paused_count

        await select_row(pilot, app, "steady")
        await pilot.press("p")

        async def probed_again() -> bool:
            return await sample_count(lab_db, "steady") > paused_count

        assert await wait_for_async(pilot, probed_again, seconds=4)
    assert (await targets_by_name(lab_db))["steady"].paused is False


async def test_mute_shows_time_left_and_keeps_probing(lab_db: Path, engine: Engine) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "steady")
        await pilot.press("m")
        assert isinstance(app.screen, MuteDialog)
        await pilot.press("down", "enter")
        assert await wait_for(pilot, lambda: "⊘1h00m" in row_cells(app, "steady")[1])

        muted = (await targets_by_name(lab_db))["steady"]
        assert muted.muted_until_ms is not None
        assert abs(muted.muted_until_ms - (now_ms() + 3_600_000)) < 10_000
        assert muted.paused is False
        count = await sample_count(lab_db, "steady")

        async def still_probed() -> bool:
            return await sample_count(lab_db, "steady") > count

        assert await wait_for_async(pilot, still_probed, seconds=3)


async def test_muted_target_probed_without_incident(lab: Lab, tmp_path: Path) -> None:
    targets = [
        Target(name=name, url=lab.urls["down"], interval_s=0.2, timeout_s=0.1)
        for name in ("loud", "muted")
    ]
    db = await make_database(tmp_path / "mute.db", targets)
    ids = {name: stored.id for name, stored in (await targets_by_name(db)).items()}
    store = await Store.open(db)
    await store.set_muted_until(ids["muted"], now_ms() + 3_600_000)
    stop = asyncio.Event()
    task = asyncio.create_task(Engine(store).run(stop))

    app = NocWatchApp(db)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await started(pilot, app)
            assert "⊘" in row_cells(app, "muted")[1]

            async def loud_incident_open() -> bool:
                return any(i.target_id == ids["loud"] for i in await open_incidents(store))

            assert await wait_for_async(pilot, loud_incident_open, seconds=5)
            assert await sample_count(db, "muted") >= 3
            assert not any(i.target_id == ids["muted"] for i in await open_incidents(store))
            assert row_cells(app, "muted")[0] != "✖ down"
    finally:
        stop.set()
        await task
        await store.close()


async def test_unmute_clears_the_mute(lab_db: Path) -> None:
    steady_id = (await targets_by_name(lab_db))["steady"].id
    store = await Store.open(lab_db)
    try:
        await store.set_muted_until(steady_id, now_ms() + 600_000)
    finally:
        await store.close()

    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert "⊘10m" in row_cells(app, "steady")[1]
        await select_row(pilot, app, "steady")
        await pilot.press("m", "end", "enter")
        assert await wait_for(pilot, lambda: "⊘" not in row_cells(app, "steady")[1])
    assert (await targets_by_name(lab_db))["steady"].muted_until_ms is None


async def test_target_keys_greyed_without_targets(tmp_path: Path) -> None:
    db = await make_database(tmp_path / "empty.db", [])
    app = NocWatchApp(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for action in ("edit_target", "delete_target", "pause_target", "test_target"):
            assert screen.check_action(action, ()) is None, action
        assert screen.check_action("new_target", ()) is True
        await pilot.press("e")
        assert isinstance(app.screen, MainScreen)


async def test_clone_opens_form_with_free_name(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select_row(pilot, app, "down")
        await pilot.press("c")
        assert isinstance(app.screen, TargetForm)
        assert app.screen.query_one("#name", Input).value == "down copy"
        assert app.screen.query_one("#tags", Input).value == "edge"
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: "down copy" in grid_names(app))
        selected = app.screen.query_one(TargetGrid).selected_id()
        assert selected == (await targets_by_name(lab_db))["down copy"].id


# Filter and sort


async def test_filter_matches_name_url_and_tag(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("slash")
        await type_text(pilot, "edg")
        assert await wait_for(pilot, lambda: grid_names(app) == ["down"])
        await pilot.press("ctrl+u")
        await type_text(pilot, "/STEADY")
        assert await wait_for(pilot, lambda: grid_names(app) == ["steady"])
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: grid_names(app) == ["down", "steady"])


async def test_s_cycles_sort_and_marks_column(lab_db: Path, engine: Engine) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        assert await wait_for(pilot, lambda: row_cells(app, "down")[0] == "✖ down", seconds=5)
        grid = app.screen.query_one(TargetGrid)
        assert column_label(grid, "name") == "Target ▲"

        await pilot.press("s")
        assert column_label(grid, "status") == "Status ▼"
        assert grid_names(app) == ["down", "steady"]
        await pilot.press("s")
        assert column_label(grid, "last") == "Last ▼"
        assert grid_names(app) == ["steady", "down"]
        await pilot.press("s")
        assert column_label(grid, "latency") == "Latency p95▼"
        await pilot.press("s")
        assert column_label(grid, "loss") == "Loss ▼"
        assert grid_names(app) == ["down", "steady"]
        await pilot.press("s")
        assert column_label(grid, "name") == "Target ▲"


async def test_wide_grid_shows_tags_and_p95(lab_db: Path) -> None:
    app = NocWatchApp(lab_db)
    async with app.run_test(size=(120, 24)) as pilot:
        await started(pilot, app)
        grid = app.screen.query_one(TargetGrid)
        assert "tags" in grid.columns
        assert "p95" in grid.columns
        assert row_cells(app, "down")[-1] == "edge"
