"""Loading and validating targets files, and the command line's handling of bad ones."""

import json
from pathlib import Path

import pytest

from nocwatch_tui.cli import main
from nocwatch_tui.engine.targets import Target, TargetsFileError, load_targets_file

from conftest import run_nocwatch

REPOSITORY = Path(__file__).resolve().parent.parent


def write_targets(folder: Path, content: object) -> Path:
    path = folder / "targets.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_sample_targets_file_loads() -> None:
    targets = load_targets_file(REPOSITORY / "sample_targets.json")
    assert len(targets) >= 6
    assert all(target.url.startswith("https://") for target in targets)


def test_defaults_follow_design() -> None:
    target = Target(name="api", url="https://api.example.net/health")
    assert target.method == "GET"
    assert target.interval_s == 10
    assert target.timeout_s == 5
    assert target.accepts_status(200)
    assert target.accepts_status(399)
    assert not target.accepts_status(400)
    assert target.verify_tls is True
    assert target.follow_redirects is True
    assert target.ip_family == "auto"


def test_status_ranges_parse() -> None:
    target = Target(name="api", url="http://x/", expected_status=[204, "300-302"])
    assert target.accepts_status(204)
    assert target.accepts_status(301)
    assert not target.accepts_status(200)


BAD_FILES = [
    ('[{"name": "a",}]', "invalid JSON at line 1, column 15"),
    ({"name": "a"}, "expected a JSON array"),
    ([{"name": "a", "url": "ftp://x/"}], "target 0 ('a'): field url: unsupported scheme 'ftp'"),
    ([{"name": "a", "url": "http://x/", "interval_s": 0}], "target 0 ('a'): field interval_s"),
    ([{"name": "a", "url": "http://x/", "interval_s": -5}], "field interval_s"),
    (
        [{"name": "a", "url": "http://x/", "interval_s": 2, "timeout_s": 2}],
        "timeout_s (2.0) must be below interval_s (2.0)",
    ),
    ([{"name": "a", "url": "http://x/", "colour": "red"}], "field colour: Extra inputs"),
    (
        [{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}],
        "target 1 ('a'): field name: duplicate of target 0",
    ),
    ([{"name": "a", "url": "http://u:p@x/"}], "the URL contains credentials"),
    ([{"name": "a", "url": "http://x/", "headers": {"X Bad": "1"}}], "invalid header name"),
    ([{"name": "a", "url": "http://x/", "headers": {"X": "a\nb"}}], "line break"),
    ([{"name": "a", "url": "http://x/", "expected_status": ["2xx"]}], "invalid status '2xx'"),
    ([{"name": "a", "url": "http://x/", "interval_s": "often"}], "field interval_s"),
    ([{"url": "http://x/"}], "target 0: field name: Field required"),
    ([{"name": "a", "url": "file:///etc/passwd"}], "unsupported scheme 'file': use http or https"),
    ([{"name": "a", "url": "http://x/", "headers": {"X\nY": "1"}}], "invalid header name 'X\\nY'"),
    ([{"name": "a", "url": "http://x/", "headers": ["X: 1"]}], "field headers: Input should be"),
    ([{"name": "a", "url": "http://x/", "timeout_s": 0}], "field timeout_s"),
    ([{"name": "a", "url": "http://x/", "interval_s": 5, "timeout_s": 9}], "must be below"),
    ([{"name": "a", "url": "http://x/", "thresholds": {"loss": 5}}], "field thresholds.loss"),
    ([{"name": "a", "url": "http://x/", "interval_s": "10"}], "field interval_s: Input should be"),
    ([{"name": "a", "url": "http://x/", "interval_s": True}], "field interval_s: Input should be"),
    ([{"name": "a", "url": "http://x/", "verify_tls": "no"}], "field verify_tls: Input should be"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_file_message(tmp_path: Path, content: object, message: str) -> None:
    path = write_targets(tmp_path, content)
    with pytest.raises(TargetsFileError) as caught:
        load_targets_file(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(TargetsFileError, match="file not found"):
        load_targets_file(tmp_path / "nope.json")


def test_serve_rejects_bad_file_with_status_2(tmp_path: Path) -> None:
    path = write_targets(tmp_path, [{"name": "a", "url": "http://x/", "interval_s": 0}])
    db = tmp_path / "x.db"
    result = run_nocwatch("serve", "--db", str(db), "--targets", str(path))
    assert result.returncode == 2
    assert "target 0 ('a'): field interval_s" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not db.exists()


def test_console_rejects_bad_file_with_status_2(tmp_path: Path) -> None:
    path = write_targets(tmp_path, "not json")
    db = tmp_path / "x.db"
    result = run_nocwatch("--db", str(db), "--targets", str(path))
    assert result.returncode == 2
    assert "invalid JSON at line 1, column 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


def test_unknown_option_exits_2() -> None:
    result = run_nocwatch("report", "--window", "2h")
    assert result.returncode == 2
    assert "invalid choice: '2h'" in result.stderr


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_file_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, message: str
) -> None:
    path = write_targets(tmp_path, content)
    db = tmp_path / "never.db"

    status = main(["serve", "--db", str(db), "--targets", str(path)])

    stderr = capsys.readouterr().err
    assert status == 2
    assert message in stderr
    assert str(path) in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr
    assert not db.exists()


SECRET = "s3cr3t-t0ken"


@pytest.mark.parametrize(
    "target",
    [
        {"name": "a", "url": f"http://user:{SECRET}@x/"},
        {"name": "a", "url": "http://x/", "headers": {"Authorization": f"Bearer {SECRET}\n"}},
        {"name": "a", "url": "http://x/", "headers": {"Authorization": f"Bearer\x01{SECRET}"}},
        {"name": "a", "url": "http://x/", "headers": {"Authorization": SECRET}, "interval_s": 0},
    ],
)
def test_bad_file_message_hides_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: dict[str, object]
) -> None:
    path = write_targets(tmp_path, [target])
    status = main(["serve", "--db", str(tmp_path / "x.db"), "--targets", str(path)])
    stderr = capsys.readouterr().err
    assert status == 2
    assert SECRET not in stderr


def test_settings_defaults_fill_missing_fields(tmp_path: Path) -> None:
    path = write_targets(tmp_path, [{"name": "a", "url": "http://x/", "interval_s": 3}])
    targets = load_targets_file(path, {"interval_s": 30, "timeout_s": 1})
    assert targets[0].interval_s == 3
    assert targets[0].timeout_s == 1


def test_import_applies_settings_defaults(tmp_path: Path) -> None:
    targets = write_targets(tmp_path, [{"name": "a", "url": "http://x/", "interval_s": 3}])
    settings = tmp_path / "settings.toml"
    settings.write_text("[defaults]\ntimeout_s = 1\n")
    db = tmp_path / "x.db"
    result = run_nocwatch(
        "targets", "import", str(targets), "--db", str(db), "--settings", str(settings)
    )
    assert result.returncode == 0, result.stderr
    assert "add" in result.stdout
