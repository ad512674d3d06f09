"""`/metrics` and `/health` of `nocwatch serve`, against the lab and `nocwatch report`."""

import asyncio
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from nocwatch_tui.engine.metrics_server import MetricsServer, make_app
from nocwatch_tui.engine.runtime import LOOP_STALL_S, Engine
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.lab import Lab

from conftest import ServeProcess, run_nocwatch, wait_until

TARGET_METRICS = {
    "nocwatch_probe_latency_seconds",
    "nocwatch_probe_last_latency_seconds",
    "nocwatch_window_phase_p50_seconds",
    "nocwatch_probes",
    "nocwatch_target_up",
    "nocwatch_window_samples",
    "nocwatch_window_loss_ratio",
    "nocwatch_window_availability_ratio",
    "nocwatch_window_latency_p95_seconds",
    "nocwatch_window_jitter_seconds",
    "nocwatch_open_incidents",
}
ENGINE_METRICS = {
    "nocwatch_window_length_seconds",
    "nocwatch_schedule_slip_seconds",
    "nocwatch_event_loop_lag_seconds",
    "nocwatch_probes_in_flight",
    "nocwatch_write_queue_depth",
    "nocwatch_outbox_backlog",
}
NAMES = ["steady", "down", "failing", "lossy"]


def http_get(url: str, timeout_s: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def served_url(serve: ServeProcess) -> str:
    found: list[str] = []

    def logged() -> bool:
        match = re.search(r"serving /metrics and /health on (http://\S+)", serve.log_text())
        if match:
            found.append(match.group(1))
        return bool(match)

    assert wait_until(logged, 15), serve.log_text()
    return found[0]


def scrape(base_url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Return {sample name: {sorted labels: value}} from one scrape."""
    status, body = http_get(base_url + "/metrics")
    assert status == 200
    values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            values.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return values


def families(base_url: str) -> set[str]:
    _, body = http_get(base_url + "/metrics")
    return {family.name for family in text_string_to_metric_families(body)}


def per_target(values: dict, name: str) -> dict[str, float]:
    return {dict(labels)["target"]: value for labels, value in values.get(name, {}).items()}


def write_targets(lab: Lab, folder: Path) -> Path:
    path = folder / "targets.json"
    path.write_text(
        json.dumps(
            [
                {"name": name, "url": lab.urls[name], "interval_s": 0.5, "timeout_s": 0.4}
                for name in NAMES
            ]
        )
    )
    return path


def write_settings(folder: Path) -> Path:
    path = folder / "settings.toml"
    path.write_text('[metrics]\nsite = "lab1"\n[thresholds]\nwindow = "5m"\n')
    return path


def pause_all(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE targets SET paused = 1, updated_at_ms = ?", (now_ms(),))


def stored_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT t.name, count(s.id) FROM targets t JOIN samples s ON s.target_id = t.id"
            " GROUP BY t.name"
        ).fetchall()
    return dict(rows)


@pytest.fixture
async def serving(lab: Lab, tmp_path: Path, serve_process):
    db = tmp_path / "metrics.db"
    serve = serve_process(
        "--db",
        str(db),
        "--targets",
        str(write_targets(lab, tmp_path)),
        "--settings",
        str(write_settings(tmp_path)),
        "--listen",
        "127.0.0.1:0",
    )
    base_url = await asyncio.to_thread(served_url, serve)
    return db, base_url, serve


async def test_metrics_parse_and_agree_with_report(serving) -> None:
    db, base_url, _ = serving
    # A client that connects and never sends a request holds only its own thread.
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    silent = socket.create_connection((host, int(port)))
    try:
        up: dict[str, float] = {}

        def up_known() -> bool:
            up.update(per_target(scrape(base_url), "nocwatch_target_up"))
            return {"steady", "down", "failing"} <= set(up)

        assert await asyncio.to_thread(wait_until, up_known, 20, 0.5)
        assert up["steady"] == 1.0
        assert up["down"] == 0.0
        assert up["failing"] == 0.0

        pause_all(db)
        history: list[dict[str, int]] = []

        def stopped_probing() -> bool:
            history.append(stored_counts(db))
            return len(history) > 1 and history[-1] == history[-2]

        # The engine reconciles targets every second, so two equal counts 1.5 s apart
        # mean that no probe is left in flight.
        assert await asyncio.to_thread(wait_until, stopped_probing, 15, 1.5)

        def settled() -> bool:
            counts = stored_counts(db)
            window = per_target(scrape(base_url), "nocwatch_window_samples")
            return len(counts) == len(NAMES) and window == {k: float(v) for k, v in counts.items()}

        assert await asyncio.to_thread(wait_until, settled, 20, 0.5)
        values = await asyncio.to_thread(scrape, base_url)
    finally:
        silent.close()

    result = await asyncio.to_thread(
        run_nocwatch, "report", "--db", str(db), "--window", "5m", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    report = {entry["name"]: entry for entry in json.loads(result.stdout)["targets"]}

    loss = per_target(values, "nocwatch_window_loss_ratio")
    availability = per_target(values, "nocwatch_window_availability_ratio")
    p95 = per_target(values, "nocwatch_window_latency_p95_seconds")
    jitter = per_target(values, "nocwatch_window_jitter_seconds")
    samples = per_target(values, "nocwatch_window_samples")
    phases: dict[tuple[str, str], float] = {}
    for labels, value in values.get("nocwatch_window_phase_p50_seconds", {}).items():
        label = dict(labels)
        phases[(label["target"], label["phase"])] = value
    for name in NAMES:
        entry = report[name]
        assert samples[name] == entry["samples"], name
        assert round(loss[name] * 100, 2) == entry["loss_pct"], name
        assert round(availability[name] * 100, 2) == entry["availability_pct"], name
        if entry["latency_ms"]["p95"] is None:
            assert name not in p95, name
        else:
            assert round(p95[name] * 1000, 2) == entry["latency_ms"]["p95"], name
        for phase, median_ms in entry["phases_p50_ms"].items():
            if median_ms is None:
                assert (name, phase) not in phases, (name, phase)
            else:
                assert round(phases[(name, phase)] * 1000, 2) == median_ms, (name, phase)
        if entry["jitter_ms"] is None:
            assert name not in jitter, name
        else:
            assert round(jitter[name] * 1000, 2) == entry["jitter_ms"], name

    probes = values["nocwatch_probes_total"]
    counted = {}
    for labels, value in probes.items():
        label = dict(labels)
        assert label["site"] == "lab1"
        counted[label["target"]] = counted.get(label["target"], 0) + value
    assert counted == {name: float(count) for name, count in stored_counts(db).items()}
    down_errors = {dict(labels)["error"] for labels in probes if dict(labels)["target"] == "down"}
    assert down_errors == {"refused"}

    listed = await asyncio.to_thread(
        run_nocwatch, "incidents", "--db", str(db), "--open", "--format", "json"
    )
    assert listed.returncode == 0, listed.stderr
    open_pairs = {(i["target"], i["kind"]) for i in json.loads(listed.stdout)["incidents"]}
    exposed = values["nocwatch_open_incidents"]
    assert {(dict(k)["target"], dict(k)["kind"]) for k, v in exposed.items() if v} == open_pairs
    assert ("down", "down") in open_pairs
    assert len(exposed) == len(NAMES) * 4


async def test_metrics_has_every_family_and_passes_promtool(serving) -> None:
    _, base_url, _ = serving
    await asyncio.sleep(2.0)

    names = await asyncio.to_thread(families, base_url)

    assert names >= TARGET_METRICS, TARGET_METRICS - names
    assert names >= ENGINE_METRICS, ENGINE_METRICS - names
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    _, body = await asyncio.to_thread(http_get, base_url + "/metrics")
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=body, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr


async def test_health_answers_200_with_json(serving) -> None:
    _, base_url, _ = serving

    answers: list[tuple[int, str]] = []

    def healthy() -> bool:
        answers.append(http_get(base_url + "/health"))
        return answers[-1][0] == 200

    # The engine restores its incidents before it starts its writer, and is "starting" until then.
    assert await asyncio.to_thread(wait_until, healthy, 10, 0.2)
    body = answers[-1][1]
    health = json.loads(body)
    assert health["status"] == "ok"
    assert health["loop"] == "ok"
    assert health["writer"] == "ok"


async def test_unknown_path_answers_404(serving) -> None:
    _, base_url, _ = serving
    status, _ = await asyncio.to_thread(http_get, base_url + "/nothing")
    assert status == 404


async def test_health_answers_503_when_engine_not_running(store: Store) -> None:
    engine = Engine(store)

    def health_later() -> tuple[bool, dict[str, object]]:
        return engine.health(at_s=time.perf_counter() + LOOP_STALL_S)

    server = MetricsServer("127.0.0.1", 0, make_app(engine.metrics.registry, health_later))
    server.start()
    try:
        status, body = await asyncio.to_thread(http_get, server.url + "/health")
    finally:
        await asyncio.to_thread(server.stop)
        await engine.prober.aclose()

    assert status == 503
    health = json.loads(body)
    assert health["status"] == "unhealthy"
    assert health["loop"] == "stalled"
    assert health["writer"] == "starting"


def test_busy_port_exits_2_and_releases_lease(db_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_nocwatch("serve", "--db", str(db_path), "--listen", f"127.0.0.1:{port}")

    assert result.returncode == 2
    assert f"127.0.0.1:{port}: cannot listen" in result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM engine_lease").fetchone()[0] == 0


@pytest.mark.parametrize("value", ["9464", "localhost:", "127.0.0.1:99999", ":9464"])
def test_invalid_listen_exits_2(db_path: Path, value: str) -> None:
    result = run_nocwatch("serve", "--db", str(db_path), "--listen", value)
    assert result.returncode == 2
    assert f"--listen {value!r}: expected HOST:PORT" in result.stderr


async def test_scrapes_within_max_age_share_one_rendering() -> None:
    registry = CollectorRegistry()
    probes = Counter("probes", "Probes made.", registry=registry)
    app = make_app(registry, lambda: (True, {}), max_age_s=0.3)
    server = MetricsServer("127.0.0.1", 0, app)
    server.start()
    try:
        first = await asyncio.to_thread(scrape, server.url)
        probes.inc()
        cached = await asyncio.to_thread(scrape, server.url)
        await asyncio.sleep(0.4)
        fresh = await asyncio.to_thread(scrape, server.url)
    finally:
        await asyncio.to_thread(server.stop)

    assert first["probes_total"][()] == 0.0
    assert cached["probes_total"][()] == 0.0
    assert fresh["probes_total"][()] == 1.0
