"""Memory of `nocwatch serve` while it probes every hostile lab server once a second.

Starts the hostile lab in this process and `nocwatch serve` as a child on a
temporary database, then samples the child's resident memory (VmRSS) at a
fixed period and prints one line per reading and a summary at the end.

    python benchmarks/hostile_memory.py --minutes 60 --every 60
"""

import argparse
import asyncio
import json
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from nocwatch_tui.lab import Lab
from nocwatch_tui.lab.behaviours import HOSTILE_SERVERS

INTERVAL_S = 1.0
TIMEOUT_S = 0.9


def rss_kib(pid: int) -> int:
    """Return the resident set size of a process in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line for pid {pid}")


def sample_count(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM samples").fetchone()[0])


async def run(minutes: float, every_s: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="nocwatch-memory-"))
    db = folder / "memory.db"
    async with Lab(HOSTILE_SERVERS) as lab:
        targets = lab.targets(interval_s=INTERVAL_S, timeout_s=TIMEOUT_S)
        targets.append(
            {
                "name": "nowhere",
                "url": "http://nowhere.invalid/",
                "interval_s": INTERVAL_S,
                "timeout_s": TIMEOUT_S,
            }
        )
        targets_file = folder / "targets.json"
        targets_file.write_text(json.dumps(targets))
        process = await asyncio.create_subprocess_exec(
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
            stdout=asyncio.subprocess.DEVNULL,
            stderr=(folder / "serve.log").open("wb"),
        )
        print(f"# {len(targets)} targets, interval {INTERVAL_S} s, database {db}", flush=True)
        readings: list[tuple[float, int]] = []
        started = time.monotonic()
        await asyncio.sleep(min(every_s, 10.0))
        while (elapsed := time.monotonic() - started) < minutes * 60:
            readings.append((elapsed, rss_kib(process.pid)))
            print(
                f"{elapsed / 60:7.2f} min  rss {readings[-1][1] / 1024:7.1f} MiB"
                f"  samples {sample_count(db)}",
                flush=True,
            )
            await asyncio.sleep(every_s)
        process.send_signal(signal.SIGTERM)
        await process.wait()

    first = readings[0][1] / 1024
    settled = [kib for elapsed, kib in readings if elapsed >= 300] or [readings[-1][1]]
    print(
        f"# rss first {first:.1f} MiB, after 5 min min {min(settled) / 1024:.1f}"
        f" max {max(settled) / 1024:.1f} MiB, last {readings[-1][1] / 1024:.1f} MiB;"
        f" {sample_count(db)} samples; exit status {process.returncode}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=60.0, metavar="SECONDS")
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.every))


if __name__ == "__main__":
    main()
