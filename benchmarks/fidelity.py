"""Measurement fidelity and scale benchmark: NOC Watch beside curl and blackbox_exporter.

Run from the repository root with the project's virtualenv:

    python -m benchmarks.fidelity               # the whole run, about 7.5 minutes
    python -m benchmarks.fidelity --quick       # a short smoke run
    python -m benchmarks.fidelity --only scale  # the scale run alone, about 2.5 minutes

Every server is a lab server on 127.0.0.1 that answers after a constant delay
(50 ms by default). One run measures, on that one target:

- curl (`time_starttransfer`, `time_total`), one process per probe;
- blackbox_exporter (`probe_duration_seconds`) at 100 probes/s, when the
  `prometheus-blackbox-exporter` binary is installed (skipped otherwise);
- `nocwatch serve` at 1, 100 and 200 probes/s, alone and with a headless
  console attached that renders the grid of every target;
- at 100 probes/s with the console, a second window in which curl and
  blackbox_exporter measure the same target at the same time as NOC Watch
  (the rows marked "alongside"): goals that compare with blackbox_exporter
  use these rows, so that all three tools meet the same machine load;
- the first probe of a fresh engine process against its later probes;
- the scale run: 2,000 targets every 10 s with the console attached.

It prints one table per part, the goals with a verdict each, and writes every
figure as JSON (`--out`). A run's notes follow the table; a run with a console
whose key timings are missing says why there (the console's error, or the last
line of its log). `--console-profile FILE` runs the scale run's console under
cProfile and writes its statistics to FILE (its key timings are then slower
than unprofiled ones).
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from nocwatch_tui.engine.runtime import event_loop_factory
from nocwatch_tui.engine.stats import mean_jitter, percentile

BLACKBOX_BINARIES = ("prometheus-blackbox-exporter", "blackbox_exporter")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARMUP_S = 4.0
CONSOLE_EXIT_S = 120.0  # after the measured seconds, for the console to write its figures and quit
REFERENCE_RATE = 100


# Process figures from /proc


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float | None:
    """Return a process's peak resident set size (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 20) -> None:
    """Stop a child with SIGTERM, then SIGKILL if it does not end in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Figures


@dataclass
class Figures:
    """The figures of one measured run; None where the run cannot tell."""

    name: str
    probes: int = 0
    median_ms: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    jitter_ms: float | None = None
    cpu_ms_per_probe: float | None = None
    console_cpu_ms_per_probe: float | None = None
    slip_p50_ms: float | None = None
    slip_p99_ms: float | None = None
    loop_lag_p99_ms: float | None = None
    peak_rss_mb: float | None = None
    console_rss_mb: float | None = None
    writes_per_s: float | None = None
    suspect_samples: int | None = None
    failed: int = 0
    keypress_p50_ms: float | None = None
    keypress_p99_ms: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def spread_ms(self) -> float | None:
        """Return p99 - p50."""
        if self.p99_ms is None or self.p50_ms is None:
            return None
        return self.p99_ms - self.p50_ms


def fill_latency(figures: Figures, latencies: Sequence[float]) -> None:
    """Set the latency figures from latencies in probe order."""
    figures.probes = len(latencies)
    figures.median_ms = percentile(list(latencies), 50)
    figures.p50_ms = figures.median_ms
    figures.p99_ms = percentile(list(latencies), 99)


# The lab


@contextlib.contextmanager
def lab_server(delay_s: float) -> Iterator[str]:
    """Run a steady lab server in its own process and yield its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.labserver", str(delay_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the lab server did not start (printed {url!r})")
        yield url
    finally:
        stop_process(process)


# curl


def run_curl(
    url: str, count: int, seconds: float | None = None, label: str = ""
) -> tuple[Figures, Figures]:
    """Probe `url` with one curl process per probe; return time_starttransfer and time_total.

    With `seconds`, stop after that long even if fewer than `count` probes ran.
    """
    ttfb = Figures(f"curl time_starttransfer{label}")
    total = Figures(f"curl time_total{label}")
    starts: list[float] = []
    totals: list[float] = []
    deadline = None if seconds is None else time.monotonic() + seconds
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(count):
        if deadline is not None and time.monotonic() >= deadline:
            break
        result = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{time_starttransfer} %{time_total}", url],
            capture_output=True,
            text=True,
            check=True,
        )
        first, whole = result.stdout.split()
        starts.append(float(first) * 1000)
        totals.append(float(whole) * 1000)
        time.sleep(0.05)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    for figures, values in ((ttfb, starts), (total, totals)):
        fill_latency(figures, values)
        figures.jitter_ms = mean_jitter(values)
        figures.cpu_ms_per_probe = cpu_s / max(1, len(values)) * 1000
        figures.notes.append("CPU includes starting one curl process per probe")
    return ttfb, total


# blackbox_exporter


def blackbox_binary() -> str | None:
    """Return the blackbox_exporter executable, or None when it is not installed."""
    for name in BLACKBOX_BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


async def _drive_blackbox(port: int, url: str, rate: int, seconds: float) -> list[float]:
    """Ask blackbox_exporter for `rate` probes a second; return durations in start order."""
    count = int(rate * seconds)
    durations: list[float | None] = [None] * count
    probe_url = f"http://127.0.0.1:{port}/probe"

    async def one(index: int, client: httpx.AsyncClient) -> None:
        response = await client.get(probe_url, params={"module": "http_get", "target": url})
        values = {}
        for line in response.text.splitlines():
            if line.startswith(("probe_duration_seconds ", "probe_success ")):
                key, value = line.split()
                values[key] = float(value)
        if values.get("probe_success") == 1.0:
            durations[index] = values["probe_duration_seconds"] * 1000

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    async with httpx.AsyncClient(timeout=10, limits=limits, trust_env=False) as client:
        started = time.perf_counter()
        tasks = []
        for index in range(count):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, client)))
        await asyncio.gather(*tasks)
    return [value for value in durations if value is not None]


class Blackbox:
    """A running blackbox_exporter that measures a URL at a given rate on request."""

    def __init__(self, process: subprocess.Popen[Any], port: int) -> None:
        self.process = process
        self.port = port

    def measure(self, url: str, rate: int, seconds: float, name: str) -> Figures:
        """Ask for `rate` probes a second over `seconds`; return their figures."""
        cpu_before = cpu_seconds(self.process.pid)
        durations = asyncio.run(_drive_blackbox(self.port, url, rate, seconds))
        cpu_s = cpu_seconds(self.process.pid) - cpu_before
        figures = Figures(name)
        fill_latency(figures, durations)
        figures.jitter_ms = mean_jitter(durations)
        figures.cpu_ms_per_probe = cpu_s / max(1, len(durations)) * 1000
        figures.peak_rss_mb = peak_rss_mb(self.process.pid)
        figures.failed = int(rate * seconds) - len(durations)
        return figures


@contextlib.contextmanager
def blackbox_exporter(url: str, workdir: Path) -> Iterator[Blackbox | None]:
    """Run blackbox_exporter on 127.0.0.1, warmed up on `url`; yield None if it is absent."""
    binary = blackbox_binary()
    if binary is None:
        yield None
        return
    config = workdir / "blackbox.yml"
    config.write_text(
        "modules:\n  http_get:\n    prober: http\n    timeout: 5s\n"
        "    http:\n      method: GET\n      preferred_ip_protocol: ip4\n"
    )
    port = free_port()
    log = (workdir / "blackbox.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log,
        stderr=log,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1, trust_env=False)
                break
            time.sleep(0.1)
        asyncio.run(_drive_blackbox(port, url, REFERENCE_RATE, 2.0))  # warm-up, not counted
        yield Blackbox(process, port)
    finally:
        stop_process(process)
        log.close()


# A plain httpx loop


def run_httpx_floor(url: str, rate: int, seconds: float) -> Figures:
    """Measure a plain httpx loop with no NOC Watch code in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.httpx_floor", url, str(rate), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout)
    latencies = seen["latencies_ms"]
    figures = Figures(f"plain httpx loop {rate}/s")
    fill_latency(figures, latencies)
    figures.jitter_ms = mean_jitter(latencies)
    figures.cpu_ms_per_probe = seen["cpu_s"] / max(1, len(latencies)) * 1000
    figures.notes.append("no NOC Watch code: the floor of httpx and the event loop")
    return figures


# NOC Watch


def write_targets(path: Path, url: str, count: int, interval_s: float) -> None:
    """Write a targets file of `count` targets on the same lab server."""
    timeout_s = min(5.0, interval_s * 0.9)
    targets = [
        {
            "name": f"t{index:04d}",
            "url": f"{url}?n={index}",
            "interval_s": interval_s,
            "timeout_s": timeout_s,
        }
        for index in range(count)
    ]
    path.write_text(json.dumps(targets))


def _query(db: Path, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
    connection = sqlite3.connect(db, timeout=30)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def _wait_for_samples(db: Path, process: subprocess.Popen[Any], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nocwatch serve exited with status {process.returncode}")
        with contextlib.suppress(sqlite3.Error):
            if db.exists() and _query(db, "SELECT count(*) FROM samples")[0][0] > 0:
                return
        time.sleep(0.1)
    raise RuntimeError("nocwatch serve wrote no sample in time")


def _max_rowid(db: Path) -> int:
    return int(_query(db, "SELECT coalesce(max(id), 0) FROM samples")[0][0])


def _has_column(db: Path, column: str) -> bool:
    return any(row[1] == column for row in _query(db, "PRAGMA table_info(samples)"))


def start_serve(db: Path, targets: Path, workdir: Path, tag: str) -> subprocess.Popen[Any]:
    """Start `nocwatch serve` on a fresh database."""
    log = (workdir / f"serve-{tag}.log").open("wb")
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "nocwatch_tui", "serve"),
            *("--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"),
        ],
        stdout=log,
        stderr=log,
        env={**os.environ, "XDG_CONFIG_HOME": str(workdir)},
    )


def run_engine(
    url: str,
    *,
    targets: int,
    interval_s: float,
    seconds: float,
    console: bool,
    workdir: Path,
    alongside: Blackbox | None = None,
    console_profile: Path | None = None,
) -> tuple[Figures, list[Figures]]:
    """Run `nocwatch serve` (and the console) and measure its samples over `seconds`.

    With `alongside`, a second window of `seconds` follows on the same engine,
    in which blackbox_exporter measures the same URL at the same rate and curl
    a few times a second, so that all three meet the same machine load. The
    first window has no other measuring tool running.
    """
    rate = targets / interval_s
    name = f"NOC Watch {rate:g}/s" + (" + console" if console else "")
    tag = f"{targets}-{interval_s:g}-{'console' if console else 'alone'}"
    db, targets_file = workdir / f"{tag}.db", workdir / f"{tag}.json"
    write_targets(targets_file, url, targets, interval_s)
    windows = 1 if alongside is None else 2

    serve = start_serve(db, targets_file, workdir, tag)
    viewer: subprocess.Popen[Any] | None = None
    console_out = workdir / f"console-{tag}.json"
    console_log = workdir / f"console-{tag}.log"
    console_problem: str | None = None
    beside: list[Figures] = []
    try:
        _wait_for_samples(db, serve, timeout_s=60)
        if console:
            viewer = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.console_probe",
                    str(db),
                    str(WARMUP_S + seconds * windows),
                    str(console_out),
                    *([str(console_profile)] if console_profile else []),
                ],
                stderr=console_log.open("wb"),
            )
        time.sleep(WARMUP_S)

        solo = _Window.open(db, serve)
        time.sleep(seconds)
        solo.close(db, serve)
        if alongside is not None:
            together = _Window.open(db, serve)
            with ThreadPoolExecutor(1) as pool:
                curl = pool.submit(run_curl, url, 10_000, seconds - 1, " alongside")
                blackbox = alongside.measure(
                    url, int(rate), seconds, f"blackbox_exporter {rate:g}/s alongside"
                )
                curl_rows = curl.result()
            time.sleep(max(0.0, together.start_ms / 1000 + seconds - time.time()))
            together.close(db, serve)
            beside = [*curl_rows, together.figures(db, f"{name} alongside"), blackbox]
        if viewer is not None:
            try:
                viewer.wait(timeout=CONSOLE_EXIT_S)
            except subprocess.TimeoutExpired:
                console_problem = f"the console did not exit within {CONSOLE_EXIT_S:g} s"
            else:
                if viewer.returncode:
                    console_problem = f"the console exited with status {viewer.returncode}"
    finally:
        if viewer is not None and viewer.poll() is None:
            viewer.kill()
        stop_process(serve)

    figures = solo.figures(db, name)
    if console:
        add_console_figures(figures, console_out, console_log, solo.end_row - solo.start_row)
        if console_problem:
            figures.notes.append(console_problem)
    return figures, beside


@dataclass
class _Window:
    """One measured span of an engine run: its bounds, the engine's CPU and its peak RSS."""

    start_ms: int
    start_row: int
    cpu_start_s: float
    end_ms: int = 0
    end_row: int = 0
    cpu_s: float = 0.0
    rss_mb: float | None = None

    @classmethod
    def open(cls, db: Path, serve: subprocess.Popen[Any]) -> "_Window":
        return cls(time.time_ns() // 1_000_000, _max_rowid(db), cpu_seconds(serve.pid))

    def close(self, db: Path, serve: subprocess.Popen[Any]) -> None:
        self.end_ms, self.end_row = time.time_ns() // 1_000_000, _max_rowid(db)
        self.cpu_s = cpu_seconds(serve.pid) - self.cpu_start_s
        self.rss_mb = peak_rss_mb(serve.pid)

    def figures(self, db: Path, name: str) -> Figures:
        """Compute a row of figures from the samples started within the window."""
        suspect_column = "suspect" if _has_column(db, "suspect") else "0"
        rows = _query(
            db,
            f"SELECT target_id, error, latency_ms, slip_ms, loop_lag_ms, {suspect_column}"
            " FROM samples WHERE started_at_ms >= ? AND started_at_ms < ? ORDER BY started_at_ms",
            (self.start_ms, self.end_ms),
        )
        figures = Figures(name)
        fill_latency(figures, [row[2] for row in rows if row[1] is None])
        figures.failed = sum(1 for row in rows if row[1] is not None)
        figures.probes = len(rows)
        by_target: dict[int, list[float | None]] = {}
        for row in rows:
            by_target.setdefault(row[0], []).append(row[2] if row[1] is None else None)
        jitters = [j for j in map(mean_jitter, by_target.values()) if j is not None]
        figures.jitter_ms = statistics.median(jitters) if jitters else None
        slips = [row[3] for row in rows if row[3] is not None]
        figures.slip_p50_ms = percentile(slips, 50)
        figures.slip_p99_ms = percentile(slips, 99)
        figures.loop_lag_p99_ms = percentile([row[4] for row in rows if row[4] is not None], 99)
        figures.suspect_samples = sum(1 for row in rows if row[5])
        figures.cpu_ms_per_probe = self.cpu_s / max(1, len(rows)) * 1000
        figures.peak_rss_mb = self.rss_mb
        seconds = (self.end_ms - self.start_ms) / 1000
        figures.writes_per_s = (self.end_row - self.start_row) / seconds
        return figures


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return "(empty)"


def add_console_figures(figures: Figures, out: Path, log: Path, samples: int) -> None:
    """Add the console probe's key timings, CPU and RSS, or a note on why they are missing."""
    if not out.exists():
        figures.notes.append(
            f"the console wrote no figures; the last line of its log: {_last_line(log)}"
        )
        return
    seen = json.loads(out.read_text())
    presses = seen["press_ms"]
    figures.keypress_p50_ms = percentile(presses, 50)
    figures.keypress_p99_ms = percentile(presses, 99)
    figures.console_rss_mb = seen["rss_peak_mb"]
    figures.console_cpu_ms_per_probe = seen["cpu_s"] / max(1, samples) * 1000
    figures.notes.append(
        f"console: {len(presses)} key presses timed, {seen['presses_missed']} not drawn within"
        f" {seen['repaint_timeout_s']:g} s; {seen['rows']} grid rows,"
        f" shown {_ms(seen['startup_s'])} s after the console started"
    )
    figures.notes.append(f"console CPU over its whole life: {seen['cpu_s']:.1f} s")
    if seen["press_cpu_s"] is not None and seen["press_s"]:
        share = seen["press_cpu_s"] / seen["press_s"] * 100
        figures.notes.append(
            f"console CPU while pressing keys: {seen['press_cpu_s']:.1f} s in"
            f" {seen['press_s']:.0f} s ({share:.0f} % of a core)"
        )
    if seen["error"]:
        figures.notes.append(f"console: {seen['error']}; its log ends: {_last_line(log)}")


def run_first_probe(url: str, starts: int, workdir: Path) -> dict[str, Any]:
    """Start fresh engines with one target; compare each first probe with the later ones."""
    deltas: list[float] = []
    firsts: list[float] = []
    for start in range(starts):
        tag = f"first-{start}"
        db, targets_file = workdir / f"{tag}.db", workdir / f"{tag}.json"
        write_targets(targets_file, url, 1, 0.25)
        serve = start_serve(db, targets_file, workdir, tag)
        try:
            _wait_for_samples(db, serve, timeout_s=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if _query(db, "SELECT count(*) FROM samples")[0][0] >= 21:
                    break
                time.sleep(0.2)
        finally:
            stop_process(serve)
        latencies = [row[0] for row in _query(db, "SELECT latency_ms FROM samples ORDER BY id")]
        later = statistics.median(latencies[1:21])
        firsts.append(latencies[0])
        deltas.append(latencies[0] - later)
    return {"first_ms": firsts, "delta_ms": deltas, "delta_max_ms": max(deltas)}


# Output


def _ms(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def figures_table(
    rows: Sequence[Figures], curl_ms: float | None, alongside: dict[str, float] | None = None
) -> str:
    """Render the figures as a Markdown table.

    Bias is against curl measured alone, or for the runs named in `alongside`
    against the curl median measured at the same time.
    """
    headings = [
        "run",
        "probes",
        "median ms",
        "bias vs curl ms",
        "p99−p50 ms",
        "jitter ms",
        "CPU ms/probe",
        "slip p50/p99 ms",
        "loop lag p99 ms",
        "peak RSS MB",
        "suspect",
        "key→repaint p50/p99 ms",
    ]
    lines = ["| " + " | ".join(headings) + " |", "|" + " --- |" * len(headings)]
    for row in rows:
        reference = (alongside or {}).get(row.name, curl_ms)
        bias = None if row.median_ms is None or reference is None else row.median_ms - reference
        cpu = _ms(row.cpu_ms_per_probe, 2)
        if row.console_cpu_ms_per_probe is not None:
            cpu += f" (+{row.console_cpu_ms_per_probe:.2f} console)"
        rss = _ms(row.peak_rss_mb, 0)
        if row.console_rss_mb is not None:
            rss += f" (+{row.console_rss_mb:.0f} console)"
        cells = [
            row.name,
            str(row.probes),
            _ms(row.median_ms, 2),
            _ms(bias, 2),
            _ms(row.spread_ms, 2),
            _ms(row.jitter_ms, 2),
            cpu,
            f"{_ms(row.slip_p50_ms)} / {_ms(row.slip_p99_ms)}",
            _ms(row.loop_lag_p99_ms),
            rss,
            "—" if row.suspect_samples is None else str(row.suspect_samples),
            f"{_ms(row.keypress_p50_ms)} / {_ms(row.keypress_p99_ms)}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return "not measured"
    return "met" if value <= limit else "NOT met"


def goals_table(
    curl_ms: float,
    engine: Figures,
    beside: Sequence[Figures],
    first: dict[str, Any],
    scale: Figures | None,
) -> str:
    """Render each goal with the measured value, the limit and a verdict.

    `engine` is NOC Watch at 100/s with the console and no other measuring
    tool running. `beside` contains curl's two rows, NOC Watch's and
    blackbox_exporter's, all measured at the same time. Without
    blackbox_exporter it is empty, so the goals that compare with it read
    "not measured".
    """
    if beside:
        _curl_ttfb, curl_beside, engine_beside, blackbox = beside
        reference_ms = curl_beside.median_ms
    else:
        engine_beside, blackbox, reference_ms = engine, None, curl_ms

    def bias(figures: Figures | None) -> float | None:
        if figures is None or figures.median_ms is None or reference_ms is None:
            return None
        return abs(figures.median_ms - reference_ms)

    def of_blackbox(figure: str) -> float | None:
        return None if blackbox is None else getattr(blackbox, figure)

    bb_bias = bias(blackbox)
    goals: list[Goal] = [
        (
            "median bias vs curl, absolute, 100/s + console (ms)",
            bias(engine_beside),
            1.0 if bb_bias is None else min(1.0, bb_bias),
            f"≤ 1 and ≤ blackbox's {_ms(bb_bias, 2)}",
        ),
        (
            "p99 − p50, same run (ms)",
            engine_beside.spread_ms,
            None if blackbox is None else blackbox.spread_ms,
            f"≤ blackbox ({_ms(None if blackbox is None else blackbox.spread_ms, 2)})",
        ),
        ("jitter of a constant target, 100/s + console (ms)", engine.jitter_ms, 0.5, "≤ 0.5"),
        (
            "jitter, same run (ms)",
            engine_beside.jitter_ms if beside else None,
            of_blackbox("jitter_ms"),
            f"≤ blackbox ({_ms(of_blackbox('jitter_ms'), 2)})",
        ),
        (
            "CPU per probe, same run (ms)",
            engine_beside.cpu_ms_per_probe if beside else None,
            of_blackbox("cpu_ms_per_probe"),
            f"≤ blackbox ({_ms(of_blackbox('cpu_ms_per_probe'), 2)})",
        ),
        ("first probe − later median, worst start (ms)", first["delta_max_ms"], 2.0, "≤ 2"),
        *scale_goals(scale),
    ]
    return render_goals(goals)


Goal = tuple[str, float | None, float | None, str]


def scale_goals(scale: Figures | None) -> list[Goal]:
    """Return the goals of the scale run: label, value, limit and the limit's text."""
    return [
        (
            "schedule slip p99 at scale (ms)",
            None if scale is None else scale.slip_p99_ms,
            100.0,
            "≤ 100",
        ),
        (
            "key press to repaint p99 at scale (ms)",
            None if scale is None else scale.keypress_p99_ms,
            100.0,
            "≤ 100",
        ),
        (
            "engine peak RSS at scale (MB)",
            None if scale is None else scale.peak_rss_mb,
            250.0,
            "≤ 250",
        ),
    ]


def render_goals(goals: Sequence[Goal]) -> str:
    """Render goals as a Markdown table with a verdict each."""
    lines = ["| goal | NOC Watch | limit | verdict |", "| --- | --- | --- | --- |"]
    for label, value, limit, text in goals:
        lines.append(f"| {label} | {_ms(value, 2)} | {text} | {_verdict(value, limit)} |")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """Describe the machine the run is on."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "blackbox_exporter": blackbox_binary() or "not installed",
        "engine event loop": "uvloop" if event_loop_factory() else "asyncio",
        "load average at start": load_average(),
    }


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages: other work on the machine moves every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# Main


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fidelity", description=__doc__)
    parser.add_argument("--delay", type=float, default=0.05, help="server delay, s (0.05)")
    parser.add_argument("--seconds", type=float, default=25, help="each rate's run, s (25)")
    parser.add_argument("--scale-seconds", type=float, default=120, help="scale run, s (120)")
    parser.add_argument("--scale-targets", type=int, default=2000, help="scale targets (2000)")
    parser.add_argument("--curl-probes", type=int, default=60, help="curl probes (60)")
    parser.add_argument("--first-starts", type=int, default=3, help="fresh engine starts (3)")
    parser.add_argument("--quick", action="store_true", help="short runs, for trying it out")
    parser.add_argument("--out", type=Path, help="write every figure as JSON here")
    parser.add_argument(
        "--only", choices=["scale"], help="run one part alone (scale: the scale run)"
    )
    parser.add_argument(
        "--console-profile", type=Path, help="profile the scale run's console into this file"
    )
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.seconds, arguments.scale_seconds, arguments.scale_targets = 6, 20, 200
        arguments.curl_probes, arguments.first_starts = 10, 1
    return arguments


def run_scale(url: str, arguments: argparse.Namespace, workdir: Path) -> Figures:
    """Run the scale run: many targets every 10 s, with the console attached."""
    scale, _none = run_engine(
        url,
        targets=arguments.scale_targets,
        interval_s=10.0,
        seconds=arguments.scale_seconds,
        console=True,
        workdir=workdir,
        console_profile=arguments.console_profile,
    )
    scale.name = f"scale: {arguments.scale_targets} targets / 10 s + console"
    return scale


def notes_text(runs: Sequence[Figures]) -> str:
    """List every run's notes, one line each."""
    return "\n".join(f"- {run.name}: {note}" for run in runs for note in run.notes)


def main_scale_only(arguments: argparse.Namespace, info: dict[str, str], started: float) -> None:
    """Run the scale run alone and print its figures, notes and goals."""
    with (
        tempfile.TemporaryDirectory(prefix="nocwatch-bench-") as folder,
        lab_server(arguments.delay) as url,
    ):
        print(f"lab server {url}, delay {arguments.delay * 1000:g} ms", flush=True)
        scale = run_scale(url, arguments, Path(folder))
    print()
    print(figures_table([scale], None))
    print()
    print(notes_text([scale]))
    print(f"scale run: {_ms(scale.writes_per_s, 0)} samples written/s")
    print()
    print(render_goals(scale_goals(scale)))
    print()
    print(
        f"whole run: {time.monotonic() - started:.0f} s; load average at the end {load_average()}"
    )
    if arguments.out:
        arguments.out.write_text(json.dumps({"machine": info, "runs": [asdict(scale)]}, indent=2))


def main(argv: Sequence[str] | None = None) -> None:
    """Run every part and print the tables."""
    arguments = parse_arguments(argv)
    started = time.monotonic()
    info = machine()
    print("machine: " + ", ".join(f"{key} {value}" for key, value in info.items()), flush=True)
    if arguments.only == "scale":
        main_scale_only(arguments, info, started)
        return

    with tempfile.TemporaryDirectory(prefix="nocwatch-bench-") as folder:
        workdir = Path(folder)
        with lab_server(arguments.delay) as url:
            print(f"lab server {url}, delay {arguments.delay * 1000:g} ms", flush=True)
            curl_ttfb, curl_total = run_curl(url, arguments.curl_probes)
            curl_ms = curl_total.median_ms
            assert curl_ms is not None
            floor = run_httpx_floor(url, REFERENCE_RATE, arguments.seconds)
            with blackbox_exporter(url, workdir) as exporter:
                blackbox = None
                beside: list[Figures] = []
                if exporter is None:
                    print("blackbox_exporter is not installed: its columns are skipped")
                else:
                    blackbox = exporter.measure(
                        url, REFERENCE_RATE, arguments.seconds, "blackbox_exporter 100/s alone"
                    )
                print("references done", flush=True)

                runs: list[Figures] = []
                for targets in (1, 100, 200):
                    for console in (False, True):
                        with_blackbox = targets == REFERENCE_RATE and console
                        figures, measured_beside = run_engine(
                            url,
                            targets=targets,
                            interval_s=1.0,
                            seconds=arguments.seconds,
                            console=console,
                            workdir=workdir,
                            alongside=exporter if with_blackbox else None,
                        )
                        runs.append(figures)
                        if measured_beside:
                            beside = measured_beside
                            runs.extend(beside)
                        print(f"{figures.name} done", flush=True)
            first = run_first_probe(url, arguments.first_starts, workdir)
            print("first probe done", flush=True)
            scale = run_scale(url, arguments, workdir)

    references = [curl_ttfb, curl_total, floor, *([blackbox] if blackbox else [])]
    at_reference = next(run for run in runs if run.name == "NOC Watch 100/s + console")
    print()
    same_time: dict[str, float] = {}
    if beside and beside[1].median_ms is not None:
        same_time = dict.fromkeys((figures.name for figures in beside), beside[1].median_ms)
    print(figures_table([*references, *runs, scale], curl_ms, same_time))
    print("(bias of the runs marked alongside is against curl alongside)")
    print()
    print(notes_text([*references, *runs, scale]))
    print()
    print(
        "first probe of a fresh engine: "
        + ", ".join(f"{value:.2f}" for value in first["first_ms"])
        + " ms; minus the median of the next 20: "
        + ", ".join(f"{value:+.2f}" for value in first["delta_ms"])
        + " ms"
    )
    print(f"scale run: {_ms(scale.writes_per_s, 0)} samples written/s")
    print()
    print(goals_table(curl_ms, at_reference, beside, first, scale))
    print()
    print(
        f"whole run: {time.monotonic() - started:.0f} s; load average at the end {load_average()}"
    )
    if arguments.out:
        arguments.out.write_text(
            json.dumps(
                {
                    "machine": info,
                    "runs": [asdict(run) for run in [*references, *runs, scale]],
                    "first_probe": first,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
