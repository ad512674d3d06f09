"""The operations examples in docs/ stay valid and agree with the code."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nocwatch_tui.engine import outbox
from nocwatch_tui.engine.incident_list import incident_object
from nocwatch_tui.engine.incidents import Incident, Kind, Severity
from nocwatch_tui.engine.targets import Target

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    return subprocess.run(
        ["promtool", *arguments], capture_output=True, text=True, check=False, cwd=EXAMPLES
    )


def test_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerting_rules_are_valid() -> None:
    result = promtool("check", "rules", "nocwatch-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_payload_schema_lists_the_fields_sent() -> None:
    schema = json.loads((EXAMPLES / "webhook-payload.schema.json").read_text())
    incident = Incident(1, 1, "api", Kind.DOWN, Severity.CRITICAL, 0, 3.0, None, None, None, [])
    target = Target(name="api", url="https://api.example.net/", interval_s=10)
    payload = outbox.event_payload("opened", incident_object(incident), target, "api")

    assert set(schema["required"]) == {*payload, "site", "sent_at"}
    assert set(schema["properties"]["incident"]["required"]) == set(payload["incident"])
    assert set(schema["properties"]["target"]["required"]) == set(payload["target"])
    assert schema["properties"]["event"]["enum"] == list(outbox.EVENTS)
