"""`nocwatch targets import|export|list` as real processes on real databases."""

import json
import stat
from pathlib import Path

from nocwatch_tui.engine.targets import MASKED_VALUE, load_targets_file

from conftest import run_nocwatch

REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLE_FILE = REPOSITORY / "sample_targets.json"


def imported_database(tmp_path: Path) -> Path:
    db = tmp_path / "targets.db"
    result = run_nocwatch("targets", "import", str(SAMPLE_FILE), "--db", str(db))
    assert result.returncode == 0, result.stderr
    return db


def test_import_reports_each_added_target(tmp_path: Path) -> None:
    db = tmp_path / "targets.db"
    result = run_nocwatch("targets", "import", str(SAMPLE_FILE), "--db", str(db))
    count = len(load_targets_file(SAMPLE_FILE))
    assert result.returncode == 0
    assert result.stdout.count("add ") == count
    assert f"{count} added, 0 updated, 0 unchanged" in result.stdout


def test_export_with_secrets_round_trips_sample_file(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    exported = tmp_path / "export.json"
    result = run_nocwatch("targets", "export", str(exported), "--with-secrets", "--db", str(db))
    assert result.returncode == 0, result.stderr
    original = sorted(load_targets_file(SAMPLE_FILE), key=lambda target: target.name)
    assert load_targets_file(exported) == original


def test_masked_export_imports_unchanged(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    exported = tmp_path / "export.json"
    run_nocwatch("targets", "export", str(exported), "--db", str(db))
    text = exported.read_text()
    assert "application/dns-json" not in text
    assert MASKED_VALUE in text

    result = run_nocwatch("targets", "import", str(exported), "--dry-run", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "0 added, 0 updated" in result.stdout
    assert "dry run" in result.stdout


def test_export_file_is_private(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    exported = tmp_path / "export.json"
    exported.write_text("old")
    exported.chmod(0o644)
    run_nocwatch("targets", "export", str(exported), "--db", str(db))
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600


def test_export_to_stdout(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    result = run_nocwatch("targets", "export", "--db", str(db))
    names = [entry["name"] for entry in json.loads(result.stdout)]
    assert "cloudflare-doh" in names


def test_import_updates_same_name_and_names_fields(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    changed = tmp_path / "changed.json"
    changed.write_text(
        json.dumps(
            [
                {"name": "pypi", "url": "https://pypi.org/simple/pip/", "interval_s": 45},
                {"name": "lab", "url": "http://127.0.0.1:9/"},
            ]
        )
    )
    dry = run_nocwatch("targets", "import", str(changed), "--dry-run", "--db", str(db))
    assert "update  pypi: method, interval_s, tags" in dry.stdout
    assert "add     lab" in dry.stdout
    listed_before = run_nocwatch("targets", "list", "--db", str(db)).stdout
    assert "lab " not in listed_before

    applied = run_nocwatch("targets", "import", str(changed), "--db", str(db))
    assert "1 added, 1 updated, 0 unchanged" in applied.stdout
    listed = run_nocwatch("targets", "list", "--db", str(db)).stdout
    assert any(line.startswith("pypi ") and "45 s" in line for line in listed.splitlines())
    assert any(line.startswith("lab ") for line in listed.splitlines())


def test_import_masked_new_header_exits_2(tmp_path: Path) -> None:
    masked = tmp_path / "masked.json"
    masked.write_text(
        json.dumps(
            [{"name": "a", "url": "http://127.0.0.1:9/", "headers": {"X-Key": MASKED_VALUE}}]
        )
    )
    result = run_nocwatch("targets", "import", str(masked), "--db", str(tmp_path / "m.db"))
    assert result.returncode == 2
    assert "headers.X-Key: the value is masked" in result.stderr


def test_import_bad_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "a", "url": "ftp://127.0.0.1/"}]))
    result = run_nocwatch("targets", "import", str(bad), "--db", str(tmp_path / "b.db"))
    assert result.returncode == 2
    assert "target 0 ('a'): field url: unsupported scheme 'ftp'" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_without_database_exits_2(tmp_path: Path) -> None:
    result = run_nocwatch("targets", "export", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 2
    assert "database not found" in result.stderr


def test_list_shows_state_and_tags(tmp_path: Path) -> None:
    db = imported_database(tmp_path)
    result = run_nocwatch("targets", "list", "--db", str(db))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "INTERVAL", "METHOD", "URL", "TAGS"]
    doh = next(line for line in lines if line.startswith("cloudflare-doh"))
    assert "active" in doh
    assert "dns,resolver" in doh
