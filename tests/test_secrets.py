"""Header values stay out of the engine's log and out of reports."""

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

from nocwatch_tui.lab import Lab

from conftest import ServeProcess, run_nocwatch, wait_until

SECRET = "Bearer s3cr3t-t0ken-value"


async def test_header_secret_not_logged_or_reported(
    lab: Lab, tmp_path: Path, serve_process: Callable[..., ServeProcess]
) -> None:
    db = tmp_path / "secret.db"
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [
                {
                    "name": name,
                    "url": lab.urls[name],
                    "interval_s": 0.5,
                    "timeout_s": 0.4,
                    "headers": {"Authorization": SECRET, "X-Api-Key": SECRET},
                }
                for name in ("steady", "close", "rate-limited", "redirect-loop")
            ]
        )
    )
    process = serve_process("-v", "--db", str(db), "--targets", str(targets))
    started = time.monotonic()
    assert wait_until(lambda: "probe of 'close' failed" in process.log_text(), 20)
    # Give every target a few probes, failing ones included, before stopping.
    time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    returncode = process.stop(signal.SIGTERM)

    report_json = run_nocwatch("report", "--db", str(db), "--format", "json")
    report_table = run_nocwatch("report", "--db", str(db))
    assert returncode == 0
    assert "s3cr3t" not in process.log_text()
    assert report_json.returncode == 0
    assert "s3cr3t" not in report_json.stdout + report_json.stderr
    assert "s3cr3t" not in report_table.stdout + report_table.stderr
