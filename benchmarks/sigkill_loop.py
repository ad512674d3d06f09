"""Kill `nocwatch serve` with SIGKILL over and over while it writes, and count lost samples.

Each round starts `nocwatch serve` on the same database, waits a random time
(start-up, migration and steady writing all get hit), reads the ids of every
committed sample through a second connection, and kills the process. After
each kill the database must pass `PRAGMA integrity_check` and still hold every
id read before the kill. A sample is acknowledged once its transaction has
committed, because only then can another connection read it.

    python benchmarks/sigkill_loop.py --kills 50
"""

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from nocwatch_tui.lab import Lab

TARGETS = 40
INTERVAL_S = 0.2
TIMEOUT_S = 0.15


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


def integrity(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


async def run(kills: int, seed: int) -> int:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="nocwatch-sigkill-"))
    db = folder / "sigkill.db"
    acknowledged: set[int] = set()
    lost: set[int] = set()
    failed_checks = 0
    started = time.monotonic()
    async with Lab(["steady"], steady_delay_s=0.005) as lab:
        targets_file = folder / "targets.json"
        targets = [
            {
                "name": f"load-{i}",
                "url": lab.urls["steady"],
                "interval_s": INTERVAL_S,
                "timeout_s": TIMEOUT_S,
            }
            for i in range(TARGETS)
        ]
        targets_file.write_text(json.dumps(targets))
        command = [
            sys.executable,
            "-m",
            "nocwatch_tui",
            "serve",
            "--db",
            str(db),
            "--targets",
            str(targets_file),
            "--listen",
            "127.0.0.1:0",
        ]
        for round_number in range(1, kills + 1):
            process = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            wait_s = rng.uniform(0.3, 2.5)
            await asyncio.sleep(wait_s)
            visible = visible_sample_ids(db)
            acknowledged |= visible
            process.kill()
            await process.wait()

            after = visible_sample_ids(db)
            round_lost = acknowledged - after
            lost |= round_lost
            check = integrity(db)
            failed_checks += check != "ok"
            print(
                f"kill {round_number:3d} after {wait_s:4.2f} s: {len(visible):6d} samples"
                f" visible, {len(after):6d} after, lost {len(round_lost)}, integrity {check}",
                flush=True,
            )

    print(
        f"# {kills} kills in {time.monotonic() - started:.0f} s: {len(acknowledged)} samples"
        f" acknowledged, {len(lost)} lost, {failed_checks} failed integrity checks"
    )
    return 0 if not lost and not failed_checks else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.kills, args.seed)))


if __name__ == "__main__":
    main()
