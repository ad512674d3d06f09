"""Pure helpers of target management: mute, clone names, import plans, probe texts."""

from datetime import datetime, timedelta, timezone

import pytest

from nocwatch_tui.console.probe_once import describe_probe
from nocwatch_tui.console.screens.main import clone_name
from nocwatch_tui.console.screens.mute import MuteTimeError, parse_until
from nocwatch_tui.console.widgets.grid import format_remaining
from nocwatch_tui.engine.detector import Detector
from nocwatch_tui.engine.incidents import IncidentEvent
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.store import StoredTarget
from nocwatch_tui.engine.target_import import ChangeKind, plan_import
from nocwatch_tui.engine.targets import Target

NOW = datetime(2026, 12, 4, 20, 30, tzinfo=timezone(timedelta(hours=1)))


def test_until_clock_later_today() -> None:
    assert parse_until("21:15", NOW) == NOW.replace(hour=21, minute=15)


def test_until_clock_passed_means_tomorrow() -> None:
    assert parse_until("08:00", NOW) == NOW.replace(hour=8, minute=0) + timedelta(days=1)


def test_until_full_date() -> None:
    assert parse_until("2026-12-05 06:00", NOW) == datetime(2026, 12, 5, 6, 0, tzinfo=NOW.tzinfo)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "write HH:MM"),
        ("25:00", "not a valid time"),
        ("2026-12-01 10:00", "in the past"),
    ],
)
def test_until_rejects_bad_times(text: str, message: str) -> None:
    with pytest.raises(MuteTimeError, match=message):
        parse_until(text, NOW)


@pytest.mark.parametrize(
    ("remaining_ms", "text"),
    [(1, "1m"), (14 * 60_000 + 1, "15m"), (3_600_000, "1h00m"), (4 * 86_400_000, "4d")],
)
def test_format_remaining(remaining_ms: int, text: str) -> None:
    assert format_remaining(remaining_ms) == text


def test_clone_name_skips_taken_names() -> None:
    assert clone_name("api", {"api"}) == "api copy"
    assert clone_name("api", {"api", "api copy"}) == "api copy 2"


def test_clone_name_stays_within_100_characters() -> None:
    assert len(clone_name("x" * 100, set())) == 100


def test_plan_import_names_changed_fields() -> None:
    old = Target(name="api", url="http://127.0.0.1:9/", interval_s=10)
    new = Target(name="api", url="http://127.0.0.1:9/", interval_s=20, tags=["a"])
    added = Target(name="web", url="http://127.0.0.1:9/web")
    changes = plan_import([new, added], [old])
    assert changes[0].kind is ChangeKind.UPDATE
    assert changes[0].fields == ["interval_s", "tags"]
    assert changes[1].kind is ChangeKind.ADD


def test_describe_passed_probe_with_phases() -> None:
    sample = Sample(
        1, 0, status_code=200, latency_ms=12.34, dns_ms=0.5, connect_ms=1.0, ttfb_ms=10.0
    )
    text, severity = describe_probe(sample)
    assert text.startswith("passed: HTTP 200 in 12.3 ms")
    assert "dns 0.5 · connect 1.0 · tls — · ttfb 10.0 · transfer —" in text
    assert severity == "information"


def test_describe_failed_probe_names_error_class() -> None:
    sample = Sample(1, 0, error=ErrorClass.STATUS, error_detail="HTTP 503", status_code=503)
    sample.latency_ms = 3.0
    text, severity = describe_probe(sample)
    assert text.startswith("failed: status: HTTP 503 (HTTP 503 in 3.0 ms)")
    assert severity == "error"


def failed_sample(index: int) -> Sample:
    return Sample(1, 1_790_000_000_000 + index * 1000, error=ErrorClass.REFUSED)


def test_detector_opens_nothing_while_muted_and_opens_after() -> None:
    target = Target(name="api", url="http://127.0.0.1:9/api")
    mute_end_ms = failed_sample(5).started_at_ms
    detector = Detector(ThresholdSettings())
    detector.set_targets([StoredTarget(1, target, False, 0, mute_end_ms)])

    muted_events = [change.event for i in range(5) for change in detector.observe(failed_sample(i))]
    after_events = [change.event for change in detector.observe(failed_sample(5))]

    assert IncidentEvent.OPENED not in muted_events
    assert IncidentEvent.OPENED in after_events
