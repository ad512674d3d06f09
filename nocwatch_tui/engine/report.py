"""The per-target window report of `nocwatch report`, as JSON and as a table."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nocwatch_tui.engine.incidents import open_incidents
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


def _target_entry(name: str, url: str, status: str, stats: WindowStats) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "status": status,
        "samples": stats.samples,
        "responses": stats.responses,
        "passed": stats.passed,
        "loss_pct": _round(stats.loss_pct),
        "availability_pct": _round(stats.availability_pct),
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


async def window_entries(store: Store, window_s: int, end_ms: int) -> list[TargetWindow]:
    """Compute every target's status and statistics for the window that ends at `end_ms`.

    `nocwatch report` and the engine's metrics both use this, so their figures agree.
    """
    start_ms = end_ms - window_s * 1000
    open_kinds: dict[int, set[str]] = {}
    for incident in await open_incidents(store):
        open_kinds.setdefault(incident.target_id, set()).add(incident.kind)
    entries = []
    for stored in await store.list_targets():
        rows = await store.window_rows(stored.id, start_ms, end_ms)
        has_samples = bool(await store.latest_errors(stored.id, 1))
        status = target_status(stored.paused, has_samples, open_kinds.get(stored.id, set()))
        entries.append(TargetWindow(stored, status, summarize(rows)))
    return entries


async def build_report(store: Store, window_s: int, until_ms: int | None = None) -> dict[str, Any]:
    """Compute the report object for the window that ends at `until_ms` (default now)."""
    end_ms = now_ms() if until_ms is None else until_ms
    entries = [
        _target_entry(
            entry.stored.target.name, entry.stored.target.public_url(), entry.status, entry.stats
        )
        for entry in await window_entries(store, window_s, end_ms)
    ]
    return {"window_s": window_s, "generated_at": iso_utc(end_ms), "targets": entries}


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
