"""`nocwatch targets import|export|list`: move targets between the database and a JSON file."""

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from nocwatch_tui.engine.store import Store, StoredTarget, StoreError, now_ms
from nocwatch_tui.engine.target_import import ChangeKind, plan_import, unmask_headers
from nocwatch_tui.engine.targets import Target, dump_targets, load_targets_file
from nocwatch_tui.i18n import _


async def import_targets(
    db_path: Path,
    path: Path,
    *,
    dry_run: bool,
    out: TextIO,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Add the file's new targets, update those whose name exists, and print what changed."""
    incoming = load_targets_file(path, defaults)
    store = await Store.open(db_path)
    try:
        existing = [stored.target for stored in await store.list_targets()]
        incoming = unmask_headers(incoming, existing, path)
        changes = plan_import(incoming, existing)
        if not dry_run:
            await store.import_targets(incoming)
    finally:
        await store.close()

    for change in changes:
        if change.kind is ChangeKind.ADD:
            print(_("add     {name}").format(name=change.name), file=out)
        elif change.kind is ChangeKind.UPDATE:
            print(
                _("update  {name}: {fields}").format(
                    name=change.name, fields=", ".join(change.fields)
                ),
                file=out,
            )
    added = sum(1 for change in changes if change.kind is ChangeKind.ADD)
    updated = sum(1 for change in changes if change.kind is ChangeKind.UPDATE)
    unchanged = len(changes) - added - updated
    summary = _("{added} added, {updated} updated, {unchanged} unchanged").format(
        added=added, updated=updated, unchanged=unchanged
    )
    if dry_run:
        summary += _(" (dry run: nothing written)")
    print(summary, file=out)


async def _read_targets(db_path: Path) -> list[StoredTarget]:
    if not db_path.exists():
        raise StoreError(
            _("{path}: database not found; pass --db or import targets first").format(path=db_path)
        )
    store = await Store.open(db_path, create=False)
    try:
        return await store.list_targets()
    finally:
        await store.close()


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (mkstemp makes it 0600), replacing any file there."""
    folder = path.parent
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    except OSError as error:
        raise StoreError(
            _("{path}: cannot write the export: {reason}").format(
                path=path, reason=error.strerror or error
            )
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise StoreError(
            _("{path}: cannot write the export: {reason}").format(
                path=path, reason=error.strerror or error
            )
        ) from None


async def export_targets(db_path: Path, path: Path | None, *, with_secrets: bool) -> int:
    """Write every target in the targets file format to `path`, or to stdout without one."""
    targets: list[Target] = [stored.target for stored in await _read_targets(db_path)]
    if not with_secrets:
        targets = [target.with_masked_headers() for target in targets]
    text = json.dumps(dump_targets(targets), indent=2, ensure_ascii=False) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        _write_private(path, text)
    return len(targets)


def _state(stored: StoredTarget, at_ms: int) -> str:
    if stored.paused:
        return _("paused")
    if stored.muted_at(at_ms):
        assert stored.muted_until_ms is not None
        minutes = (stored.muted_until_ms - at_ms + 59_999) // 60_000
        return _("muted {minutes} min").format(minutes=minutes)
    return _("active")


async def list_targets(db_path: Path, out: TextIO) -> None:
    """Print one line per target: name, state, interval, method, URL and tags."""
    stored_targets = await _read_targets(db_path)
    at_ms = now_ms()
    headings = [_("NAME"), _("STATE"), _("INTERVAL"), _("METHOD"), _("URL"), _("TAGS")]
    rows = [
        [
            stored.target.name,
            _state(stored, at_ms),
            f"{stored.target.interval_s:g} s",
            stored.target.method,
            stored.target.public_url(),
            ",".join(stored.target.tags),
        ]
        for stored in stored_targets
    ]
    widths = [max(len(row[column]) for row in [headings, *rows]) for column in range(len(headings))]
    for row in [headings, *rows]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(line.rstrip(), file=out)
