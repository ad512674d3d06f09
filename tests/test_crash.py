"""SIGKILL of a real `nocwatch serve` while it writes: nothing committed is lost.

A sample counts as acknowledged once its transaction has committed, which is
when another connection can read it. Before each kill the test reads every
sample id it can see; after the kill every one of them must still be there.
"""

import asyncio
import json
import random
import sqlite3
from pathlib import Path

from nocwatch_tui.lab import Lab

from conftest import nocwatch_command

KILLS = 4
TARGETS = 20


def visible_sample_ids(db: Path) -> set[int]:
    """Return the ids of every committed sample, or none before the schema exists."""
    if not db.exists():
        return set()
    connection = sqlite3.connect(db)
    try:
        return {row[0] for row in connection.execute("SELECT id FROM samples")}
    except sqlite3.OperationalError:
        return set()
    finally:
        connection.close()


async def wait_for_more_samples(db: Path, count: int, timeout_s: float = 20.0) -> None:
    """Poll until more than `count` samples are committed, or the time runs out."""
    for _attempt in range(int(timeout_s / 0.05)):
        if len(visible_sample_ids(db)) > count:
            return
        await asyncio.sleep(0.05)


def integrity(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def write_load_targets(lab: Lab, folder: Path) -> Path:
    path = folder / "targets.json"
    targets = [
        {"name": f"steady-{index}", "url": lab.urls["steady"], "interval_s": 0.2, "timeout_s": 0.15}
        for index in range(TARGETS)
    ]
    path.write_text(json.dumps(targets))
    return path


async def test_sigkill_loses_no_committed_sample(tmp_path: Path) -> None:
    rng = random.Random(4)
    db = tmp_path / "crash.db"
    async with Lab(["steady"], steady_delay_s=0.005) as lab:
        targets = write_load_targets(lab, tmp_path)
        command = nocwatch_command(
            "serve", "--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"
        )
        lost: list[int] = []
        checks: list[str] = []
        acknowledged: set[int] = set()
        seen_before_kill: list[int] = []
        for _kill in range(KILLS):
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            # Kill at a random moment once this process has committed about one
            # probe of each target: the engine warms up before its first probe,
            # so a kill right after the first commit would test little writing.
            await wait_for_more_samples(db, len(acknowledged) + TARGETS)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            visible = visible_sample_ids(db)
            acknowledged |= visible
            seen_before_kill.append(len(visible))
            process.kill()
            await process.wait()

            lost += sorted(acknowledged - visible_sample_ids(db))
            checks.append(integrity(db))

    assert lost == []
    assert checks == ["ok"] * KILLS
    assert len(acknowledged) > KILLS * TARGETS
    # Each restart reopened the database and went on writing.
    assert seen_before_kill == sorted(set(seen_before_kill))
