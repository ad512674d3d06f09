"""The per-target window report of `nocwatch report`, as JSON, CSV and a table."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nocwatch_tui.engine.history import coverage_pct, window_stats
from nocwatch_tui.engine.incidents import open_incidents
from nocwatch_tui.engine.sample import ErrorClass
from nocwatch_tui.engine.settings import RetentionSettings
from nocwatch_tui.engine.stats import WindowStats, summarize
from nocwatch_tui.engine.status import TargetStatus, target_status
from nocwatch_tui.engine.store import Store, StoredTarget, now_ms
from nocwatch_tui.i18n import _

NO_DATA = "—"


def iso_utc(epoch_ms: int | None) -> str | None:
    """Format epoch milliseconds as ISO 8601 UTC with a `Z`, to the second."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _target_entry(
    name: str, url: str, status: str, stats: WindowStats, coverage: float
) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "status": status,
        "samples": stats.samples,
        "responses": stats.responses,
        "passed": stats.passed,
        "loss_pct": _round(stats.loss_pct),
        "availability_pct": _round(stats.availability_pct),
        "coverage_pct": _round(coverage),
        "latency_ms": {
            "mean": _round(stats.latency_mean_ms),
            "min": _round(stats.latency_min_ms),
            "max": _round(stats.latency_max_ms),
            "p50": _round(stats.latency_p50_ms),
            "p95": _round(stats.latency_p95_ms),
            "p99": _round(stats.latency_p99_ms),
        },
        "jitter_ms": _round(stats.jitter_ms),
        "jitter_rfc3550_ms": _round(stats.jitter_rfc3550_ms),
        "phases_p50_ms": {phase: _round(value) for phase, value in stats.phases_p50_ms.items()},
        "errors": stats.errors,
        "last_error": stats.last_error,
        "last_sample_at": iso_utc(stats.last_sample_at_ms),
        "suspect_samples": stats.suspect_samples,
    }


@dataclass(frozen=True, slots=True)
class TargetWindow:
    """One target's state now and its statistics over a window, unrounded."""

    stored: StoredTarget
    status: TargetStatus
    stats: WindowStats


async def window_entries(
    store: Store,
    window_s: int,
    end_ms: int,
    retention: RetentionSettings | None = None,
    generated_ms: int | None = None,
) -> list[TargetWindow]:
    """Compute every target's status and statistics for the window that ends at `end_ms`.

    `nocwatch report` and the engine's metrics both use this, so their figures agree.
    `generated_ms` (default now) decides which part of the window raw samples still cover.
    """
    generated_ms = now_ms() if generated_ms is None else generated_ms
    start_ms = end_ms - window_s * 1000
    raw_days = (retention or RetentionSettings()).raw_days
    open_kinds: dict[int, set[str]] = {}
    for incident in await open_incidents(store):
        open_kinds.setdefault(incident.target_id, set()).add(incident.kind)
    entries = []
    for stored in await store.list_targets():
        stats = await window_stats(
            store, stored.id, start_ms, end_ms, now_ms=generated_ms, raw_days=raw_days
        )
        has_samples = bool(await store.latest_errors(stored.id, 1))
        status = target_status(stored.paused, has_samples, open_kinds.get(stored.id, set()))
        entries.append(TargetWindow(stored, status, stats))
    return entries


async def build_report(
    store: Store,
    window_s: int,
    until_ms: int | None = None,
    retention: RetentionSettings | None = None,
) -> dict[str, Any]:
    """Compute the report object for the window that ends at `until_ms` (default now).

    `coverage_pct` is the share of the window that the target's samples account
    for, as defined by `nocwatch_tui.engine.history.coverage_pct`. Time without
    samples is unknown, so it is never counted as down.
    """
    generated_ms = now_ms()
    end_ms = generated_ms if until_ms is None else until_ms
    entries = [
        _target_entry(
            entry.stored.target.name,
            entry.stored.target.public_url(),
            entry.status,
            entry.stats,
            coverage_pct(entry.stats.samples, entry.stored.target.interval_s, window_s),
        )
        for entry in await window_entries(store, window_s, end_ms, retention, generated_ms)
    ]
    return {
        "window_s": window_s,
        "from": iso_utc(end_ms - window_s * 1000),
        "to": iso_utc(end_ms),
        "generated_at": iso_utc(generated_ms),
        "targets": entries,
    }


def _flat_key(parent: str, child: str) -> str:
    """Name a nested field as one column: `latency_ms` and `p95` give `latency_p95_ms`."""
    if parent.endswith("_ms"):
        return f"{parent.removesuffix('_ms')}_{child}_ms"
    return f"{parent}_{child}"


def flatten_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Flatten one target's report entry into CSV columns.

    Error counts get one column per error class of the fixed vocabulary, so every
    row has the same columns.
    """
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "errors":
            for error in ErrorClass:
                flat[_flat_key(key, error.value)] = value.get(error.value, 0)
        elif isinstance(value, dict):
            for child, child_value in value.items():
                flat[_flat_key(key, child)] = child_value
        else:
            flat[key] = value
    return flat


def format_csv(report: dict[str, Any]) -> str:
    """Render the report as CSV with a header and one row per target; null is an empty cell."""
    rows = [flatten_entry(entry) for entry in report["targets"]]
    header = list(flatten_entry(_target_entry("", "", "", summarize([]), 0.0)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue().rstrip("\n")


def format_json(report: dict[str, Any]) -> str:
    """Render the report as indented JSON."""
    return json.dumps(report, indent=2, ensure_ascii=False)


def _cell(value: object, suffix: str = "") -> str:
    if value is None:
        return NO_DATA
    if isinstance(value, float):
        return f"{value:.1f}{suffix}"
    return f"{value}{suffix}"


def format_table(report: dict[str, Any]) -> str:
    """Render the report as an aligned plain-text table."""
    headings = [
        _("TARGET"),
        _("STATUS"),
        _("SAMPLES"),
        _("LOSS %"),
        _("AVAIL %"),
        _("COVER %"),
        _("MEAN ms"),
        _("P50 ms"),
        _("P95 ms"),
        _("P99 ms"),
        _("JITTER ms"),
        _("LAST ERROR"),
    ]
    rows = [
        [
            entry["name"],
            _(entry["status"]),
            _cell(entry["samples"]),
            _cell(entry["loss_pct"]),
            _cell(entry["availability_pct"]),
            _cell(entry["coverage_pct"]),
            _cell(entry["latency_ms"]["mean"]),
            _cell(entry["latency_ms"]["p50"]),
            _cell(entry["latency_ms"]["p95"]),
            _cell(entry["latency_ms"]["p99"]),
            _cell(entry["jitter_ms"]),
            _cell(entry["last_error"]),
        ]
        for entry in report["targets"]
    ]
    widths = [max(len(row[column]) for row in [headings, *rows]) for column in range(len(headings))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headings, *rows]
    ]
    return "\n".join(lines)
