"""Target changes in the store: add, update, delete, pause, mute and the revision."""

import sqlite3
from pathlib import Path

import pytest

from nocwatch_tui.engine.incidents import list_incidents
from nocwatch_tui.engine.sample import Sample
from nocwatch_tui.engine.store import (
    _MIGRATIONS,
    SCHEMA_VERSION,
    DuplicateTargetError,
    Store,
    TargetNotFoundError,
    now_ms,
)
from nocwatch_tui.engine.targets import Target


def target(name: str, interval_s: float = 10) -> Target:
    return Target(name=name, url=f"http://127.0.0.1:9/{name}", interval_s=interval_s, timeout_s=1)


async def sample_count(store: Store, target_id: int) -> int:
    return len(await store.window_rows(target_id, 0, now_ms() + 1000))


async def test_add_returns_id_and_lists_target(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    stored = await store.get_target(target_id)
    assert stored.target.name == "api"
    assert stored.paused is False
    assert stored.muted_until_ms is None


async def test_add_duplicate_name_raises(store: Store) -> None:
    await store.add_target(target("api"))
    with pytest.raises(DuplicateTargetError, match="'api' already exists"):
        await store.add_target(target("api", interval_s=20))
    assert await store.count_targets() == 1


async def test_every_change_moves_the_revision(store: Store) -> None:
    revisions = [await store.targets_revision()]
    target_id = await store.add_target(target("api"))
    revisions.append(await store.targets_revision())
    await store.update_target(target_id, target("api", interval_s=20))
    revisions.append(await store.targets_revision())
    await store.set_paused(target_id, True)
    revisions.append(await store.targets_revision())
    await store.set_muted_until(target_id, now_ms() + 60_000)
    revisions.append(await store.targets_revision())
    await store.delete_target(target_id)
    revisions.append(await store.targets_revision())
    assert len(set(revisions)) == len(revisions)


async def test_update_replaces_spec_and_name(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.update_target(target_id, target("api-v2", interval_s=30))
    stored = await store.get_target(target_id)
    assert stored.target.name == "api-v2"
    assert stored.target.interval_s == 30


async def test_update_to_taken_name_raises(store: Store) -> None:
    await store.add_target(target("api"))
    other_id = await store.add_target(target("web"))
    with pytest.raises(DuplicateTargetError):
        await store.update_target(other_id, target("api"))
    assert (await store.get_target(other_id)).target.name == "web"


async def test_pause_and_resume(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.set_paused(target_id, True)
    assert (await store.get_target(target_id)).paused is True
    await store.set_paused(target_id, False)
    assert (await store.get_target(target_id)).paused is False


async def test_mute_until_and_unmute(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    until_ms = now_ms() + 3_600_000
    await store.set_muted_until(target_id, until_ms)
    muted = await store.get_target(target_id)
    assert muted.muted_until_ms == until_ms
    assert muted.muted_at(now_ms())
    assert not muted.muted_at(until_ms)
    await store.set_muted_until(target_id, None)
    assert not (await store.get_target(target_id)).muted_at(now_ms())


async def test_delete_keeps_samples_by_default(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.insert_samples([Sample(target_id, now_ms(), latency_ms=5.0, status_code=200)])
    await store.delete_target(target_id)
    assert await store.count_targets() == 0
    assert await sample_count(store, target_id) == 1


async def test_delete_with_samples_and_incidents(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.insert_samples([Sample(target_id, now_ms(), latency_ms=5.0, status_code=200)])
    await store.connection.execute(
        "INSERT INTO incidents (target_id, target_name, kind, severity, opened_at_ms, revision)"
        " VALUES (?, 'api', 'down', 'critical', 1, 1)",
        (target_id,),
    )
    await store.delete_target(target_id, keep_samples=False)
    assert await sample_count(store, target_id) == 0
    assert await list_incidents(store) == []


async def test_late_sample_of_deleted_target_dropped(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.delete_target(target_id, keep_samples=False)
    await store.insert_samples([Sample(target_id, now_ms(), latency_ms=5.0, status_code=200)])
    assert await sample_count(store, target_id) == 0


async def test_deleted_id_is_never_reused(store: Store) -> None:
    first_id = await store.add_target(target("api"))
    await store.delete_target(first_id)
    second_id = await store.add_target(target("api"))
    assert second_id > first_id


async def test_change_to_deleted_target_raises(store: Store) -> None:
    target_id = await store.add_target(target("api"))
    await store.delete_target(target_id)
    with pytest.raises(TargetNotFoundError):
        await store.set_paused(target_id, True)


async def test_import_adds_updates_and_skips_unchanged(store: Store) -> None:
    await store.add_targets([target("same"), target("changed")])
    result = await store.import_targets(
        [target("same"), target("changed", interval_s=30), target("new")]
    )
    assert result.added == ["new"]
    assert result.updated == ["changed"]
    names = {stored.target.name: stored.target for stored in await store.list_targets()}
    assert names["changed"].interval_s == 30


async def test_version_1_database_migrates_with_targets(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(_MIGRATIONS[0])
        connection.execute(
            "INSERT INTO targets (id, name, spec, created_at_ms, updated_at_ms)"
            " VALUES (7, 'api', ?, 1, 1)",
            (target("api").model_dump_json(),),
        )
        connection.execute("PRAGMA user_version = 1")
    store = await Store.open(path)
    try:
        stored = await store.list_targets()
        new_id = await store.add_target(target("web"))
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION
    assert [(item.id, item.target.name, item.muted_until_ms) for item in stored] == [
        (7, "api", None)
    ]
    assert new_id == 8


async def test_pre_rollup_database_migrates(tmp_path: Path) -> None:
    """A database at the schema before rollups keeps its samples and gains the rollup tables."""
    path = tmp_path / "before_rollups.db"
    before_rollups = _MIGRATIONS.index(
        next(step for step in _MIGRATIONS if "CREATE TABLE rollups_minute" in step)
    )
    with sqlite3.connect(path) as connection:
        for step in _MIGRATIONS[:before_rollups]:
            connection.executescript(step)
        connection.execute(f"PRAGMA user_version = {before_rollups}")
        connection.execute(
            "INSERT INTO targets (name, spec, created_at_ms, updated_at_ms)"
            " VALUES ('api', ?, 1, 1)",
            (target("api").model_dump_json(),),
        )
        connection.execute(
            "INSERT INTO samples (target_id, started_at_ms, latency_ms, suspect)"
            " VALUES (1, 1000, 12.5, 1)"
        )
    store = await Store.open(path)
    await store.close()
    with sqlite3.connect(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        samples = connection.execute("SELECT latency_ms, suspect FROM samples").fetchall()
        columns = [row[1] for row in connection.execute("PRAGMA table_info(rollups_minute)")]
    assert version == SCHEMA_VERSION
    assert samples == [(12.5, 1)]
    assert "suspect_samples" in columns
