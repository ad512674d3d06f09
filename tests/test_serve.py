"""`nocwatch serve` and `nocwatch report` as real processes against the lab."""

import asyncio
import json
import signal
import sqlite3
import statistics
from pathlib import Path

from nocwatch_tui.lab import Lab

from conftest import nocwatch_command

REPORT_FIELDS = {
    "name",
    "url",
    "status",
    "samples",
    "responses",
    "passed",
    "loss_pct",
    "availability_pct",
    "coverage_pct",
    "latency_ms",
    "jitter_ms",
    "jitter_rfc3550_ms",
    "phases_p50_ms",
    "errors",
    "last_error",
    "last_sample_at",
    "suspect_samples",
}


async def run_command(*arguments: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *nocwatch_command(*arguments),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def serve_for(db: Path, targets: Path, seconds: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *nocwatch_command(
            "serve", "--db", str(db), "--targets", str(targets), "--listen", "127.0.0.1:0"
        ),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(seconds)
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def lab_targets_file(lab: Lab, folder: Path, names: list[str]) -> Path:
    path = folder / "targets.json"
    targets = [
        {"name": name, "url": lab.urls[name], "interval_s": 0.5, "timeout_s": 0.4} for name in names
    ]
    path.write_text(json.dumps(targets))
    return path


async def test_serve_stores_samples_and_stops_on_sigterm(lab: Lab, tmp_path: Path) -> None:
    db = tmp_path / "serve.db"
    targets = lab_targets_file(lab, tmp_path, ["steady", "down", "failing", "close"])

    returncode, stderr = await serve_for(db, targets, 4.0)

    assert returncode == 0
    assert "engine stopped" in stderr
    with sqlite3.connect(db) as connection:
        counts = dict(
            connection.execute(
                "SELECT t.name, count(s.id) FROM targets t"
                " LEFT JOIN samples s ON s.target_id = t.id GROUP BY t.name"
            ).fetchall()
        )
        errors = dict(
            connection.execute(
                "SELECT t.name, group_concat(DISTINCT s.error) FROM targets t"
                " JOIN samples s ON s.target_id = t.id GROUP BY t.name"
            ).fetchall()
        )
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    for name in ("steady", "down", "failing", "close"):
        assert counts[name] >= 5, name
        assert counts[name] <= 9, name
    assert errors["steady"] is None
    assert errors["down"] == "refused"
    assert errors["failing"] == "status"
    assert errors["close"] == "closed"
    assert integrity == "ok"


async def test_report_json_matches_definitions(lab: Lab, tmp_path: Path) -> None:
    db = tmp_path / "report.db"
    targets = lab_targets_file(lab, tmp_path, ["steady", "lossy", "down"])
    await serve_for(db, targets, 4.0)

    returncode, stdout, stderr = await run_command(
        "report", "--db", str(db), "--window", "5m", "--format", "json"
    )

    assert returncode == 0, stderr
    report = json.loads(stdout)
    assert report["window_s"] == 300
    assert report["generated_at"].endswith("Z")
    entries = {entry["name"]: entry for entry in report["targets"]}
    assert set(entries) == {"steady", "lossy", "down"}
    for entry in entries.values():
        assert set(entry) == REPORT_FIELDS

    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT t.name, s.error, s.latency_ms FROM samples s JOIN targets t"
            " ON t.id = s.target_id ORDER BY s.started_at_ms"
        ).fetchall()
    lossy = [row for row in rows if row[0] == "lossy"]
    lossy_lost = sum(1 for row in lossy if row[1] is not None)
    lossy_latencies = [row[2] for row in lossy if row[1] is None]
    assert entries["lossy"]["samples"] == len(lossy)
    assert entries["lossy"]["loss_pct"] == round(lossy_lost / len(lossy) * 100, 2)
    assert entries["lossy"]["latency_ms"]["mean"] == round(statistics.fmean(lossy_latencies), 2)
    assert entries["lossy"]["latency_ms"]["min"] == round(min(lossy_latencies), 2)

    steady = entries["steady"]
    assert steady["status"] == "up"
    assert steady["loss_pct"] == 0.0
    assert steady["availability_pct"] == 100.0
    assert steady["latency_ms"]["p50"] >= 20.0
    assert steady["last_sample_at"].endswith("Z")

    down = entries["down"]
    assert down["status"] == "down"
    assert down["loss_pct"] == 100.0
    assert down["latency_ms"]["mean"] is None
    assert down["jitter_ms"] is None
    assert down["last_error"] == "refused"
    assert down["errors"] == {"refused": down["samples"]}


async def test_report_table_shows_dash_for_no_data(lab: Lab, tmp_path: Path) -> None:
    db = tmp_path / "table.db"
    targets = lab_targets_file(lab, tmp_path, ["down"])
    await serve_for(db, targets, 2.0)

    returncode, stdout, _ = await run_command("report", "--db", str(db), "--window", "5m")

    assert returncode == 0
    lines = stdout.splitlines()
    assert lines[0].startswith("TARGET")
    assert "—" in lines[1]
    assert "refused" in lines[1]


async def test_report_without_database_exits_2(tmp_path: Path) -> None:
    returncode, _, stderr = await run_command("report", "--db", str(tmp_path / "none.db"))
    assert returncode == 2
    assert "database not found" in stderr
