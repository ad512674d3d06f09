"""How much scraping /metrics delays probes: schedule slip and loop lag, quiet versus scraped.

Runs the lab's steady server and `nocwatch serve` with TARGETS targets probed
every second, then measures two phases of PHASE_S seconds each from the stored
samples: one with no HTTP client, and one where a client fetches /metrics (back
to back, or every `--every-s`) while another holds a silent connection open. Everything stays on
127.0.0.1.

    .venv/bin/python benchmarks/metrics_scrape.py --targets 200 --phase-s 20
"""

import argparse
import json
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def nocwatch(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "nocwatch_tui", *arguments]


def start_lab() -> tuple[subprocess.Popen[str], str]:
    lab = subprocess.Popen(
        nocwatch("lab", "--only", "steady", "--format", "json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert lab.stdout is not None
    return lab, json.loads(lab.stdout.readline())["steady"]


def wait_for_url(log_path: Path, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        match = re.search(r"serving /metrics and /health on (http://\S+)", log_path.read_text())
        if match:
            return match.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"serve did not start; see {log_path}")


def phase_figures(db: Path, since_ms: int, until_ms: int) -> dict[str, float]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT slip_ms, loop_lag_ms, latency_ms FROM samples"
            " WHERE started_at_ms >= ? AND started_at_ms < ?",
            (since_ms, until_ms),
        ).fetchall()
    slips = [row[0] for row in rows if row[0] is not None]
    lags = [row[1] for row in rows if row[1] is not None]
    latencies = [row[2] for row in rows if row[2] is not None]

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[98]

    return {
        "samples": len(rows),
        "slip_p50_ms": statistics.median(slips),
        "slip_p99_ms": p99(slips),
        "loop_lag_p99_ms": p99(lags),
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": p99(latencies),
    }


def scrape_until(
    url: str, every_s: float, stop: threading.Event, durations_s: list[float], sizes: list[int]
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
            sizes.append(len(response.read()))
        durations_s.append(time.perf_counter() - started)
        stop.wait(max(0.0, every_s - durations_s[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--phase-s", type=float, default=20.0)
    parser.add_argument(
        "--every-s", type=float, default=0.0, help="seconds between scrape starts; 0: back to back"
    )
    args = parser.parse_args()

    lab, steady_url = start_lab()
    with tempfile.TemporaryDirectory(prefix="nocwatch-bench-") as folder:
        workdir = Path(folder)
        targets = [
            {"name": f"t{index:04d}", "url": steady_url, "interval_s": 1, "timeout_s": 0.8}
            for index in range(args.targets)
        ]
        (workdir / "targets.json").write_text(json.dumps(targets))
        log_path = workdir / "serve.log"
        with log_path.open("w") as log_file:
            serve = subprocess.Popen(
                nocwatch(
                    "serve",
                    "--db",
                    str(workdir / "bench.db"),
                    "--targets",
                    str(workdir / "targets.json"),
                    "--listen",
                    "127.0.0.1:0",
                ),
                stdout=log_file,
                stderr=log_file,
            )
        try:
            url = wait_for_url(log_path)
            time.sleep(5)  # every target has started its schedule

            quiet_start = int(time.time() * 1000)
            time.sleep(args.phase_s)
            quiet_end = int(time.time() * 1000)

            host, port = url.removeprefix("http://").rsplit(":", 1)
            silent = socket.create_connection((host, int(port)))
            stop = threading.Event()
            durations_s: list[float] = []
            sizes: list[int] = []
            scraper = threading.Thread(
                target=scrape_until, args=(url, args.every_s, stop, durations_s, sizes)
            )
            scraper.start()
            scraped_start = int(time.time() * 1000)
            time.sleep(args.phase_s)
            scraped_end = int(time.time() * 1000)
            stop.set()
            scraper.join()
            silent.close()
            time.sleep(1.5)  # the last samples of the phase are written
        finally:
            serve.terminate()
            serve.wait(timeout=30)
            lab.terminate()
            lab.wait(timeout=10)

        db = workdir / "bench.db"
        quiet = phase_figures(db, quiet_start, quiet_end)
        scraped = phase_figures(db, scraped_start, scraped_end)

    every = f"every {args.every_s:g} s" if args.every_s else "back to back"
    print(f"targets {args.targets}, interval 1 s, phases of {args.phase_s:g} s, scrapes {every}")
    print(
        f"scrapes {len(durations_s)}, median {statistics.median(durations_s) * 1000:.1f} ms,"
        f" body {statistics.median(sizes) / 1024:.0f} KiB"
    )
    print(f"{'figure':<16}{'quiet':>10}{'scraped':>10}")
    for name in quiet:
        print(f"{name:<16}{quiet[name]:>10.1f}{scraped[name]:>10.1f}")


if __name__ == "__main__":
    main()
