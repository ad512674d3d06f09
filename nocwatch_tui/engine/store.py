"""The SQLite store: schema, migrations and the queries the engine and console share.

One database file in WAL mode contains targets, samples, incidents, the
engine's status, the lease that lets one engine at a time probe the
database's targets, and the outbox of webhook notifications.
Its schema version is `PRAGMA user_version`; opening a file migrates it
forward and rejects a file from a newer version.
"""

import asyncio
import contextlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiosqlite
from pydantic import ValidationError

from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.stats import Rollup, SampleRow
from nocwatch_tui.engine.stats.histogram import decode, encode
from nocwatch_tui.engine.stats.rollup import HISTOGRAMS
from nocwatch_tui.engine.targets import Target, first_error
from nocwatch_tui.i18n import _

BUSY_TIMEOUT_MS = 10_000

ROLLUP_TABLES = {"minute": "rollups_minute", "hour": "rollups_hour", "day": "rollups_day"}
"""The table of each rollup resolution; all three share one layout."""
_ROLLUP_TABLE = """
    CREATE TABLE {table} (
        target_id INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        responses INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        latency_count INTEGER NOT NULL,
        latency_sum_ms REAL NOT NULL,
        latency_min_ms REAL,
        latency_max_ms REAL,
        jitter_sum_ms REAL NOT NULL,
        jitter_pairs INTEGER NOT NULL,
        errors TEXT NOT NULL,
        latency_hist TEXT NOT NULL,
        dns_hist TEXT NOT NULL,
        connect_hist TEXT NOT NULL,
        tls_hist TEXT NOT NULL,
        ttfb_hist TEXT NOT NULL,
        transfer_hist TEXT NOT NULL,
        last_error TEXT,
        last_sample_at_ms INTEGER,
        suspect_samples INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (target_id, start_ms)
    ) WITHOUT ROWID;
"""

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE targets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        target_id INTEGER NOT NULL,
        started_at_ms INTEGER NOT NULL,
        error TEXT,
        error_detail TEXT,
        status_code INTEGER,
        latency_ms REAL,
        dns_ms REAL,
        connect_ms REAL,
        tls_ms REAL,
        ttfb_ms REAL,
        transfer_ms REAL,
        loop_lag_ms REAL,
        slip_ms REAL
    );
    CREATE INDEX samples_target_time ON samples (target_id, started_at_ms);
    CREATE TABLE engine (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pid INTEGER NOT NULL,
        started_at_ms INTEGER NOT NULL,
        heartbeat_at_ms INTEGER NOT NULL,
        stopped_at_ms INTEGER,
        loop_lag_ms REAL,
        slip_p99_ms REAL,
        in_flight INTEGER,
        queue_depth INTEGER
    );
    """,
    """
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        target_id INTEGER NOT NULL,
        target_name TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        opened_at_ms INTEGER NOT NULL,
        peak_value REAL,
        acknowledged_at_ms INTEGER,
        acknowledged_by TEXT,
        resolved_at_ms INTEGER,
        notes TEXT NOT NULL DEFAULT '[]',
        revision INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX incidents_one_open ON incidents (target_id, kind)
        WHERE resolved_at_ms IS NULL;
    CREATE INDEX incidents_revision ON incidents (revision);
    """,
    # Target ids become AUTOINCREMENT, so that a new target never takes the id
    # of a deleted one whose samples were kept. Targets gain a mute deadline.
    # Triggers raise a counter on every change of a target, and engines and
    # consoles poll it as the targets' revision.
    """
    CREATE TABLE targets_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        muted_until_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
    );
    INSERT INTO targets_v2 (id, name, spec, paused, created_at_ms, updated_at_ms)
        SELECT id, name, spec, paused, created_at_ms, updated_at_ms FROM targets;
    DROP TABLE targets;
    ALTER TABLE targets_v2 RENAME TO targets;
    CREATE TABLE targets_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    );
    INSERT INTO targets_revision (id, revision) VALUES (1, 0);
    CREATE TRIGGER targets_inserted AFTER INSERT ON targets
        BEGIN UPDATE targets_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER targets_updated AFTER UPDATE ON targets
        BEGIN UPDATE targets_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER targets_deleted AFTER DELETE ON targets
        BEGIN UPDATE targets_revision SET revision = revision + 1 WHERE id = 1; END;
    """,
    "ALTER TABLE samples ADD COLUMN suspect INTEGER NOT NULL DEFAULT 0;",
    """
    CREATE TABLE engine_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at_ms INTEGER NOT NULL,
        renewed_at_ms INTEGER NOT NULL
    );
    """,
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        webhook TEXT NOT NULL DEFAULT '',
        event TEXT NOT NULL,
        severity TEXT NOT NULL,
        target_name TEXT NOT NULL,
        target_tags TEXT NOT NULL DEFAULT '[]',
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        last_error TEXT,
        done_at_ms INTEGER,
        UNIQUE (webhook, idempotency_key)
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
    """,
    "".join(_ROLLUP_TABLE.format(table=table) for table in ROLLUP_TABLES.values())
    + """
    CREATE TABLE rollup_progress (
        kind TEXT PRIMARY KEY,
        done_until_ms INTEGER NOT NULL
    );
    """,
    """
    ALTER TABLE samples ADD COLUMN cert_days_left REAL;
    ALTER TABLE engine ADD COLUMN write_error TEXT;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

_SAMPLE_COLUMNS = (
    "target_id, started_at_ms, error, error_detail, status_code, latency_ms, dns_ms,"
    " connect_ms, tls_ms, ttfb_ms, transfer_ms, loop_lag_ms, slip_ms, suspect, cert_days_left"
)
_SAMPLE_PLACEHOLDERS = ", ".join("?" * len(_SAMPLE_COLUMNS.split(",")))
_WINDOW_COLUMNS = (
    "started_at_ms, error, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, suspect"
)

_HISTOGRAM_COLUMNS = {name: f"{name}_hist" for name in HISTOGRAMS}
_ROLLUP_COLUMNS = (
    "samples, responses, passed, latency_count, latency_sum_ms, latency_min_ms,"
    " latency_max_ms, jitter_sum_ms, jitter_pairs, errors, "
    + ", ".join(_HISTOGRAM_COLUMNS.values())
    + ", last_error, last_sample_at_ms, suspect_samples"
)
_ROLLUP_PLACEHOLDERS = ", ".join("?" * (2 + 10 + len(HISTOGRAMS) + 3))


class StoreError(Exception):
    """A database that cannot be opened or used as it is; the message names the fix."""


class DuplicateTargetError(StoreError):
    """A target name that another target already has."""


class TargetNotFoundError(StoreError):
    """A target id that the database no longer holds."""


@dataclass(frozen=True, slots=True)
class StoredTarget:
    """A target as stored in the database."""

    id: int
    target: Target
    paused: bool
    updated_at_ms: int
    muted_until_ms: int | None = None
    """UTC epoch ms until which the target opens no incident and sends no notification."""
    # NOTE: the detector opens no incident while muted; the notifier, once it
    # exists, must also check `muted_at` before sending.

    def muted_at(self, at_ms: int) -> bool:
        """Tell whether the target is muted at the given UTC epoch milliseconds."""
        return self.muted_until_ms is not None and at_ms < self.muted_until_ms


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Names of the targets an import added and updated."""

    added: list[str]
    updated: list[str]


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """The engine's latest heartbeat and self-measurements."""

    pid: int
    started_at_ms: int
    heartbeat_at_ms: int
    stopped_at_ms: int | None
    loop_lag_ms: float | None
    slip_p99_ms: float | None
    in_flight: int | None
    queue_depth: int | None
    write_error: str | None = None
    """Why the last batch of samples could not be written, while writing keeps failing."""


@dataclass(frozen=True, slots=True)
class EngineLease:
    """The row that names the one engine allowed to probe the database's targets."""

    holder: str
    pid: int
    host: str
    acquired_at_ms: int
    renewed_at_ms: int


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """A stored sample with its row id, as the console reads it."""

    id: int
    sample: Sample


@dataclass(frozen=True, slots=True)
class StoredRollup:
    """A target's rollup of the minute, hour or UTC day that starts at `start_ms`."""

    target_id: int
    start_ms: int
    rollup: Rollup


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """A failed probe as the detail screen lists it."""

    started_at_ms: int
    error: str
    error_detail: str | None
    status_code: int | None


def now_ms() -> int:
    """Return the current UTC time in epoch milliseconds."""
    return int(datetime.now(UTC).timestamp() * 1000)


def _is_read_only(path: Path) -> bool:
    """Tell whether an existing file is read-only, by its mode bits as well as by access.

    The mode is checked too because root may write any file, and a file that its owner
    made read-only must still be left unchanged.
    """
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def _create_private_file(path: Path) -> None:
    """Create an empty database file readable by its owner only, if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def _sample_from_row(row: Sequence[Any]) -> Sample:
    return Sample(
        target_id=row[0],
        started_at_ms=row[1],
        error=ErrorClass(row[2]) if row[2] is not None else None,
        error_detail=row[3],
        status_code=row[4],
        latency_ms=row[5],
        dns_ms=row[6],
        connect_ms=row[7],
        tls_ms=row[8],
        ttfb_ms=row[9],
        transfer_ms=row[10],
        loop_lag_ms=row[11],
        slip_ms=row[12],
        suspect=bool(row[13]),
        cert_days_left=row[14],
    )


def _rollup_values(stored: StoredRollup) -> tuple[Any, ...]:
    rollup = stored.rollup
    return (
        stored.target_id,
        stored.start_ms,
        rollup.samples,
        rollup.responses,
        rollup.passed,
        rollup.latency_count,
        rollup.latency_sum_ms,
        rollup.latency_min_ms,
        rollup.latency_max_ms,
        rollup.jitter_sum_ms,
        rollup.jitter_pairs,
        rollup.encoded_errors(),
        *(encode(rollup.histograms[name]) for name in HISTOGRAMS),
        rollup.last_error,
        rollup.last_sample_at_ms,
        rollup.suspect_samples,
    )


def _rollup_from_row(row: Sequence[Any]) -> StoredRollup:
    first_histogram = 12
    after_histograms = first_histogram + len(HISTOGRAMS)
    histograms = dict(
        zip(HISTOGRAMS, map(decode, row[first_histogram:after_histograms]), strict=True)
    )
    rollup = Rollup(
        samples=row[2],
        responses=row[3],
        passed=row[4],
        latency_count=row[5],
        latency_sum_ms=row[6],
        latency_min_ms=row[7],
        latency_max_ms=row[8],
        jitter_sum_ms=row[9],
        jitter_pairs=row[10],
        errors=Counter(json.loads(row[11])),
        histograms=histograms,
        last_error=row[after_histograms],
        last_sample_at_ms=row[after_histograms + 1],
        suspect_samples=row[after_histograms + 2],
    )
    return StoredRollup(row[0], row[1], rollup)


def _sample_values(sample: Sample) -> tuple[Any, ...]:
    return (
        sample.target_id,
        sample.started_at_ms,
        None if sample.error is None else str(sample.error),
        sample.error_detail,
        sample.status_code,
        sample.latency_ms,
        sample.dns_ms,
        sample.connect_ms,
        sample.tls_ms,
        sample.ttfb_ms,
        sample.transfer_ms,
        sample.loop_lag_ms,
        sample.slip_ms,
        int(sample.suspect),
        sample.cert_days_left,
    )


class Store:
    """An open database connection with the queries of NOC Watch."""

    def __init__(
        self, connection: aiosqlite.Connection, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> None:
        self._db = connection
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        # One connection runs one transaction at a time; writers from several
        # tasks (a console's feed and its edits) take turns.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path, *, create: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> Self:
        """Open (and create or migrate) the database, raising StoreError with a clear reason."""
        if path.is_dir():
            raise StoreError(
                _("{path}: is a folder, not a database file; pass a file path to --db").format(
                    path=path
                )
            )
        if not path.exists() and not create:
            raise StoreError(
                _("{path}: database not found; start `nocwatch serve` or pass --db").format(
                    path=path
                )
            )
        try:
            _create_private_file(path)
        except OSError as error:
            raise StoreError(
                _("{path}: cannot create the database: {reason}").format(
                    path=path, reason=error.strerror or error
                )
            ) from None
        if _is_read_only(path):
            raise StoreError(
                _(
                    "{path}: the database is read-only; make it writable or pass another --db"
                ).format(path=path)
            )

        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(cls._explain(path, error)) from None
        store = cls(connection, path, busy_timeout_ms)
        try:
            await store._prepare()
        except sqlite3.DatabaseError as error:
            await connection.close()
            raise StoreError(cls._explain(path, error)) from None
        except StoreError:
            await connection.close()
            raise
        return store

    @staticmethod
    def _explain(path: Path, error: sqlite3.Error) -> str:
        message = str(error)
        if "not a database" in message:
            return _("{path}: not a NOC Watch database (not SQLite); pass another --db").format(
                path=path
            )
        if "readonly" in message or "read-only" in message:
            return _(
                "{path}: the database is read-only; make it writable or pass another --db"
            ).format(path=path)
        return _("{path}: database error: {reason}").format(path=path, reason=message)

    async def _prepare(self) -> None:
        version = await self._user_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                _(
                    "{path}: database schema {found} is newer than this NOC Watch supports"
                    " ({supported}); upgrade NOC Watch"
                ).format(path=self.path, found=version, supported=SCHEMA_VERSION)
            )
        if version == 0 and await self._has_tables():
            # Another program's SQLite file: migrating it would add our tables to it.
            raise StoreError(
                _(
                    "{path}: an SQLite database of another program, not NOC Watch's;"
                    " pass another --db"
                ).format(path=self.path)
            )
        await self._db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        await self._db.execute("PRAGMA journal_mode = WAL")
        await self._db.execute("PRAGMA synchronous = NORMAL")
        for number in range(version, SCHEMA_VERSION):
            script = _MIGRATIONS[number]
            await self._db.executescript(
                f"BEGIN IMMEDIATE; {script} PRAGMA user_version = {number + 1}; COMMIT;"
            )

    async def _has_tables(self) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1"
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _user_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    @property
    def connection(self) -> aiosqlite.Connection:
        """Return the connection, for the queries that other engine modules own."""
        return self._db

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the statements of the block in one write transaction, rolled back on error."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                # A full disk can fail the COMMIT itself, which leaves the transaction open.
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        await self._db.execute("ROLLBACK")
                raise

    # Targets

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """Run the block in one write transaction, rolled back if it raises."""
        async with self.transaction():
            yield

    async def _next_stamp(self) -> int:
        """Return a change time above every target's, so that the revision always moves."""
        async with self._db.execute(
            "SELECT coalesce(max(updated_at_ms), 0) FROM targets"
        ) as cursor:
            row = await cursor.fetchone()
        latest = int(row[0]) if row else 0
        return max(now_ms(), latest + 1)

    async def list_targets(self) -> list[StoredTarget]:
        """Return every target, ordered by name."""
        async with self._db.execute(
            "SELECT id, spec, paused, updated_at_ms, muted_until_ms FROM targets ORDER BY name"
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            StoredTarget(
                row[0], self._target_from_spec(row[0], row[1]), bool(row[2]), row[3], row[4]
            )
            for row in rows
        ]

    def _target_from_spec(self, target_id: int, spec: str) -> Target:
        """Validate a stored target; the error names the field but never quotes the spec."""
        try:
            return Target.model_validate_json(spec)
        except ValidationError as error:
            raise StoreError(
                _(
                    "{path}: target {id} in the database is invalid: {reason};"
                    " correct or delete that row of the targets table, or pass another --db"
                ).format(path=self.path, id=target_id, reason=first_error(error))
            ) from None

    async def get_target(self, target_id: int) -> StoredTarget:
        """Return one target, raising TargetNotFoundError when it was deleted."""
        async with self._db.execute(
            "SELECT id, spec, paused, updated_at_ms, muted_until_ms FROM targets WHERE id = ?",
            (target_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise TargetNotFoundError(
                _("target {id} no longer exists; it was deleted").format(id=target_id)
            )
        return StoredTarget(
            row[0], self._target_from_spec(row[0], row[1]), bool(row[2]), row[3], row[4]
        )

    async def targets_revision(self) -> tuple[int, int, int]:
        """Return a value that changes whenever a target is added, changed or removed.

        Its last part is a counter that triggers on the targets table raise, so
        even a delete followed by an add of the same name gives a new value.
        """
        async with self._db.execute(
            "SELECT count(*), coalesce(max(updated_at_ms), 0),"
            " (SELECT revision FROM targets_revision WHERE id = 1) FROM targets"
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def count_targets(self) -> int:
        """Return how many targets the database holds."""
        return (await self.targets_revision())[0]

    def _duplicate(self, name: str) -> DuplicateTargetError:
        return DuplicateTargetError(
            _("a target named {name!r} already exists; choose another name").format(name=name)
        )

    async def add_targets(self, targets: Iterable[Target]) -> None:
        """Insert new targets in one transaction."""
        targets = list(targets)
        try:
            async with self._transaction():
                stamp = await self._next_stamp()
                await self._db.executemany(
                    "INSERT INTO targets (name, spec, created_at_ms, updated_at_ms)"
                    " VALUES (?, ?, ?, ?)",
                    [(t.name, t.model_dump_json(), stamp, stamp) for t in targets],
                )
        except sqlite3.IntegrityError:
            names = [t.name for t in targets]
            duplicate = next((n for n in names if names.count(n) > 1), None)
            existing = {stored.target.name for stored in await self.list_targets()}
            duplicate = duplicate or next((n for n in names if n in existing), names[0])
            raise self._duplicate(duplicate) from None

    async def add_target(self, target: Target) -> int:
        """Insert one new target and return its id."""
        try:
            async with self._transaction():
                stamp = await self._next_stamp()
                cursor = await self._db.execute(
                    "INSERT INTO targets (name, spec, created_at_ms, updated_at_ms)"
                    " VALUES (?, ?, ?, ?)",
                    (target.name, target.model_dump_json(), stamp, stamp),
                )
                target_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            raise self._duplicate(target.name) from None
        assert target_id is not None
        return target_id

    async def _update(self, target_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        async with self._transaction():
            stamp = await self._next_stamp()
            cursor = await self._db.execute(
                f"UPDATE targets SET {assignments}, updated_at_ms = ? WHERE id = ?",
                (*values, stamp, target_id),
            )
            if cursor.rowcount == 0:
                raise TargetNotFoundError(
                    _("target {id} no longer exists; it was deleted").format(id=target_id)
                )

    async def update_target(self, target_id: int, target: Target) -> None:
        """Replace a target's settings, its name included."""
        try:
            await self._update(
                target_id, "name = ?, spec = ?", (target.name, target.model_dump_json())
            )
        except sqlite3.IntegrityError:
            raise self._duplicate(target.name) from None

    async def set_paused(self, target_id: int, paused: bool) -> None:
        """Pause or resume a target; a paused target is not probed."""
        await self._update(target_id, "paused = ?", (int(paused),))

    async def set_muted_until(self, target_id: int, until_ms: int | None) -> None:
        """Mute a target until a UTC epoch ms, or unmute it with None."""
        await self._update(target_id, "muted_until_ms = ?", (until_ms,))

    async def delete_target(self, target_id: int, *, keep_samples: bool = True) -> None:
        """Delete a target, and its samples and incidents too unless `keep_samples`."""
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM targets WHERE id = ?", (target_id,))
            if cursor.rowcount == 0:
                raise TargetNotFoundError(
                    _("target {id} no longer exists; it was deleted").format(id=target_id)
                )
            if not keep_samples:
                await self._db.execute("DELETE FROM samples WHERE target_id = ?", (target_id,))
                await self._db.execute("DELETE FROM incidents WHERE target_id = ?", (target_id,))

    async def import_targets(self, targets: Sequence[Target]) -> ImportResult:
        """Add targets with new names and replace those whose name exists, in one transaction."""
        result = ImportResult(added=[], updated=[])
        async with self._transaction():
            stamp = await self._next_stamp()
            for target in targets:
                spec = target.model_dump_json()
                cursor = await self._db.execute(
                    "UPDATE targets SET spec = ?, updated_at_ms = ? WHERE name = ? AND spec != ?",
                    (spec, stamp, target.name, spec),
                )
                if cursor.rowcount:
                    result.updated.append(target.name)
                    continue
                cursor = await self._db.execute(
                    "INSERT OR IGNORE INTO targets (name, spec, created_at_ms, updated_at_ms)"
                    " VALUES (?, ?, ?, ?)",
                    (target.name, spec, stamp, stamp),
                )
                if cursor.rowcount:
                    result.added.append(target.name)
        return result

    # Samples

    async def insert_samples(self, samples: Sequence[Sample]) -> None:
        """Insert a batch of samples in one transaction, leaving out those of deleted targets.

        The engine stops probing a deleted target only at its next heartbeat, so
        samples may still come for it; dropping them keeps a delete without
        samples from leaving any behind.
        """
        async with self._transaction():
            await self._db.executemany(
                f"INSERT INTO samples ({_SAMPLE_COLUMNS})"
                f" SELECT {_SAMPLE_PLACEHOLDERS}"
                " WHERE EXISTS (SELECT 1 FROM targets WHERE id = ?)",
                [(*_sample_values(sample), sample.target_id) for sample in samples],
            )

    async def samples_after(self, last_id: int, limit: int = 10_000) -> list[SampleRecord]:
        """Return samples with a row id above `last_id`, oldest first."""
        async with self._db.execute(
            f"SELECT id, {_SAMPLE_COLUMNS} FROM samples WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [SampleRecord(row[0], _sample_from_row(row[1:])) for row in rows]

    async def recent_samples(self, since_ms: int) -> list[SampleRecord]:
        """Return every sample started at or after `since_ms`, oldest first."""
        async with self._db.execute(
            f"SELECT id, {_SAMPLE_COLUMNS} FROM samples WHERE started_at_ms >= ? ORDER BY id",
            (since_ms,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [SampleRecord(row[0], _sample_from_row(row[1:])) for row in rows]

    async def last_sample_id(self) -> int:
        """Return the highest sample row id, or 0 when there is none."""
        async with self._db.execute("SELECT coalesce(max(id), 0) FROM samples") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def window_rows(self, target_id: int, since_ms: int, until_ms: int) -> list[SampleRow]:
        """Return one target's samples in [since_ms, until_ms), oldest first, for statistics."""
        async with self._db.execute(
            f"SELECT {_WINDOW_COLUMNS} FROM samples"
            " WHERE target_id = ? AND started_at_ms >= ? AND started_at_ms < ?"
            " ORDER BY started_at_ms",
            (target_id, since_ms, until_ms),
        ) as cursor:
            rows = await cursor.fetchall()
        return [SampleRow._make((*row[:8], bool(row[8]))) for row in rows]

    async def samples_since(self, since_ms: int) -> list[Sample]:
        """Return every sample started at or after `since_ms`, in start order per target."""
        async with self._db.execute(
            f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE started_at_ms >= ?"
            " ORDER BY target_id, started_at_ms, id",
            (since_ms,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_sample_from_row(row) for row in rows]

    async def latest_errors(self, target_id: int, count: int) -> list[str | None]:
        """Return the error classes of a target's newest `count` samples, oldest first."""
        async with self._db.execute(
            "SELECT error FROM samples WHERE target_id = ? ORDER BY started_at_ms DESC LIMIT ?",
            (target_id, count),
        ) as cursor:
            rows = await cursor.fetchall()
        return [row[0] for row in reversed(list(rows))]

    async def sample_before(self, target_id: int, before_ms: int) -> SampleRow | None:
        """Return a target's newest sample started before `before_ms`, if any."""
        async with self._db.execute(
            f"SELECT {_WINDOW_COLUMNS} FROM samples WHERE target_id = ? AND started_at_ms < ?"
            " ORDER BY started_at_ms DESC LIMIT 1",
            (target_id, before_ms),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else SampleRow(*row)

    async def newest_samples(self, target_id: int, count: int) -> list[SampleRecord]:
        """Return a target's newest `count` samples, oldest first."""
        async with self._db.execute(
            f"SELECT id, {_SAMPLE_COLUMNS} FROM samples WHERE target_id = ?"
            " ORDER BY started_at_ms DESC LIMIT ?",
            (target_id, count),
        ) as cursor:
            rows = await cursor.fetchall()
        return [SampleRecord(row[0], _sample_from_row(row[1:])) for row in reversed(list(rows))]

    async def recent_error_records(self, target_id: int, count: int) -> list[ErrorRecord]:
        """Return a target's newest `count` failed probes, newest first."""
        async with self._db.execute(
            "SELECT started_at_ms, error, error_detail, status_code FROM samples"
            " WHERE target_id = ? AND error IS NOT NULL ORDER BY started_at_ms DESC LIMIT ?",
            (target_id, count),
        ) as cursor:
            rows = await cursor.fetchall()
        return [ErrorRecord(*row) for row in rows]

    async def first_sample_at_ms(self) -> int | None:
        """Return the start time of the oldest stored sample, or None without samples."""
        async with self._db.execute(
            "SELECT started_at_ms FROM samples ORDER BY id LIMIT 1"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def next_sample_at_ms(self, target_ids: Sequence[int], since_ms: int) -> int | None:
        """Return the earliest start time at or after `since_ms` among the targets' samples."""
        earliest: int | None = None
        for target_id in target_ids:
            async with self._db.execute(
                "SELECT min(started_at_ms) FROM samples WHERE target_id = ? AND started_at_ms >= ?",
                (target_id, since_ms),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] is not None:
                earliest = row[0] if earliest is None else min(earliest, row[0])
        return earliest

    async def purge_samples(self, before_ms: int, limit: int) -> int:
        """Delete at most `limit` samples started before `before_ms`, oldest rows first."""
        cursor = await self._db.execute(
            "DELETE FROM samples WHERE id IN"
            " (SELECT id FROM samples WHERE started_at_ms < ? ORDER BY id LIMIT ?)",
            (before_ms, limit),
        )
        return int(cursor.rowcount)

    # Rollups

    async def rollup_done_until(self, kind: str) -> int | None:
        """Return the time up to which `kind` rollups are complete, or None before the first."""
        async with self._db.execute(
            "SELECT done_until_ms FROM rollup_progress WHERE kind = ?", (kind,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def write_rollups(
        self, kind: str, rollups: Sequence[StoredRollup], done_until_ms: int
    ) -> None:
        """Store rollups and advance the progress of `kind` in one transaction."""
        table = ROLLUP_TABLES[kind]
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.executemany(
                f"INSERT OR REPLACE INTO {table} (target_id, start_ms, {_ROLLUP_COLUMNS})"
                f" VALUES ({_ROLLUP_PLACEHOLDERS})",
                [_rollup_values(stored) for stored in rollups],
            )
            await self._db.execute(
                "INSERT OR REPLACE INTO rollup_progress (kind, done_until_ms) VALUES (?, ?)",
                (kind, done_until_ms),
            )
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    async def rollups(
        self, kind: str, target_id: int, since_ms: int, until_ms: int
    ) -> list[StoredRollup]:
        """Return a target's `kind` rollups that start in [since_ms, until_ms), oldest first."""
        async with self._db.execute(
            f"SELECT target_id, start_ms, {_ROLLUP_COLUMNS} FROM {ROLLUP_TABLES[kind]}"
            " WHERE target_id = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms",
            (target_id, since_ms, until_ms),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_rollup_from_row(row) for row in rows]

    async def sum_rollups(self, kind: str, target_id: int, since_ms: int, until_ms: int) -> Rollup:
        """Add up a target's `kind` rollups that start in [since_ms, until_ms) inside SQLite."""
        table = ROLLUP_TABLES[kind]
        where = "WHERE target_id = ? AND start_ms >= ? AND start_ms < ?"
        span = (target_id, since_ms, until_ms)
        async with self._db.execute(
            "SELECT coalesce(sum(samples), 0), coalesce(sum(responses), 0),"
            " coalesce(sum(passed), 0), coalesce(sum(latency_count), 0),"
            " coalesce(sum(latency_sum_ms), 0.0), min(latency_min_ms), max(latency_max_ms),"
            " coalesce(sum(jitter_sum_ms), 0.0), coalesce(sum(jitter_pairs), 0),"
            " max(last_sample_at_ms), coalesce(sum(suspect_samples), 0)"
            f" FROM {table} {where}",
            span,
        ) as cursor:
            totals = await cursor.fetchone()
        assert totals is not None
        rollup = Rollup(
            samples=totals[0],
            responses=totals[1],
            passed=totals[2],
            latency_count=totals[3],
            latency_sum_ms=totals[4],
            latency_min_ms=totals[5],
            latency_max_ms=totals[6],
            jitter_sum_ms=totals[7],
            jitter_pairs=totals[8],
            last_sample_at_ms=totals[9],
            suspect_samples=totals[10],
        )
        if rollup.samples == 0:
            return rollup

        async with self._db.execute(
            f"SELECT last_error FROM {table} {where} AND last_error IS NOT NULL"
            " ORDER BY start_ms DESC LIMIT 1",
            span,
        ) as cursor:
            last = await cursor.fetchone()
        rollup.last_error = None if last is None else last[0]

        parts = [
            ("errors", "errors"),
            *((name, column) for name, column in _HISTOGRAM_COLUMNS.items()),
        ]
        union = " UNION ALL ".join(
            f"SELECT '{name}', entry.key, sum(entry.value)"
            f" FROM {table}, json_each({table}.{column}) AS entry {where} GROUP BY entry.key"
            for name, column in parts
        )
        # fetchall takes one trip to the database thread; iterating the cursor takes one per row.
        async with self._db.execute(union, span * len(parts)) as cursor:
            entries = await cursor.fetchall()
        for name, key, count in entries:
            if name == "errors":
                rollup.errors[key] = int(count)
            else:
                rollup.histograms[name][int(key)] = int(count)
        return rollup

    async def first_rollup_at_ms(self, kind: str, target_ids: Sequence[int]) -> int | None:
        """Return the start of the oldest `kind` rollup of the targets, or None without any."""
        earliest: int | None = None
        for target_id in target_ids:
            async with self._db.execute(
                f"SELECT min(start_ms) FROM {ROLLUP_TABLES[kind]} WHERE target_id = ?",
                (target_id,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row[0] is not None:
                earliest = row[0] if earliest is None else min(earliest, row[0])
        return earliest

    async def purge_rollups(self, kind: str, target_id: int, before_ms: int, limit: int) -> int:
        """Delete at most `limit` of a target's oldest `kind` rollups started before `before_ms`."""
        table = ROLLUP_TABLES[kind]
        cursor = await self._db.execute(
            f"DELETE FROM {table} WHERE target_id = ? AND start_ms IN"
            f" (SELECT start_ms FROM {table} WHERE target_id = ? AND start_ms < ?"
            " ORDER BY start_ms LIMIT ?)",
            (target_id, target_id, before_ms, limit),
        )
        return int(cursor.rowcount)

    # Engine status

    async def write_engine_status(self, status: EngineStatus) -> None:
        """Replace the engine's status row."""
        await self._db.execute(
            "INSERT OR REPLACE INTO engine (id, pid, started_at_ms, heartbeat_at_ms,"
            " stopped_at_ms, loop_lag_ms, slip_p99_ms, in_flight, queue_depth, write_error)"
            " VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                status.pid,
                status.started_at_ms,
                status.heartbeat_at_ms,
                status.stopped_at_ms,
                status.loop_lag_ms,
                status.slip_p99_ms,
                status.in_flight,
                status.queue_depth,
                status.write_error,
            ),
        )

    async def engine_status(self) -> EngineStatus | None:
        """Return the engine's last written status, or None if no engine ever ran."""
        async with self._db.execute(
            "SELECT pid, started_at_ms, heartbeat_at_ms, stopped_at_ms, loop_lag_ms,"
            " slip_p99_ms, in_flight, queue_depth, write_error FROM engine WHERE id = 1"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else EngineStatus(*row)

    # Engine lease

    async def read_lease(self) -> EngineLease | None:
        """Return the engine lease as stored, live or stale, or None if there is none."""
        async with self._db.execute(
            "SELECT holder, pid, host, acquired_at_ms, renewed_at_ms FROM engine_lease WHERE id = 1"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else EngineLease(*row)

    async def claim_lease(
        self, claim: EngineLease, can_replace: Callable[[EngineLease], bool]
    ) -> EngineLease | None:
        """Take the lease unless another holder keeps it; return that holder, or None if taken.

        The current lease is read and replaced in one write transaction, so two
        engines that claim at once cannot both win.
        """
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            current = await self.read_lease()
            if current is not None and current.holder != claim.holder and not can_replace(current):
                await self._db.execute("ROLLBACK")
                return current
            await self._db.execute(
                "INSERT OR REPLACE INTO engine_lease"
                " (id, holder, pid, host, acquired_at_ms, renewed_at_ms) VALUES (1, ?, ?, ?, ?, ?)",
                (claim.holder, claim.pid, claim.host, claim.acquired_at_ms, claim.renewed_at_ms),
            )
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")
        return None

    async def renew_lease(self, holder: str, renewed_at_ms: int) -> bool:
        """Renew the lease if `holder` still has it; return whether it did."""
        cursor = await self._db.execute(
            "UPDATE engine_lease SET renewed_at_ms = ? WHERE id = 1 AND holder = ?",
            (renewed_at_ms, holder),
        )
        renewed = cursor.rowcount == 1
        await cursor.close()
        return renewed

    async def release_lease(self, holder: str) -> None:
        """Give up the lease if `holder` has it."""
        await self._db.execute("DELETE FROM engine_lease WHERE id = 1 AND holder = ?", (holder,))
