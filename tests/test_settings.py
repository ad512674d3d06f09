"""The TOML settings file: defaults, validation and the command line's exit status."""

from pathlib import Path

import pytest

from nocwatch_tui.cli import main
from nocwatch_tui.engine.settings import Settings, SettingsError, load_settings

from conftest import run_nocwatch


def write(folder: Path, text: str) -> Path:
    path = folder / "settings.toml"
    path.write_text(text)
    return path


def test_defaults_follow_design() -> None:
    settings = Settings()
    assert settings.thresholds.down_after == 3
    assert settings.thresholds.latency_p95_warning_ms == 500
    assert settings.thresholds.latency_p95_critical_ms == 1000
    assert settings.thresholds.jitter_warning_ms == 100
    assert settings.thresholds.loss_warning_pct == 5
    assert settings.thresholds.loss_critical_pct == 20
    assert settings.thresholds.window_s == 300
    assert settings.metrics.listen == "127.0.0.1:9464"
    assert settings.retention.raw_days == 7


def test_every_table_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[defaults]
interval_s = 30
[thresholds]
loss_warning_pct = 2.5
[retention]
raw_days = 3
[metrics]
site = "lis1"
[console]
bell = false
[keymap]
quit = "ctrl+q"
[[webhooks]]
url = "http://127.0.0.1:9/hook"
format = "slack"
""",
    )
    settings = load_settings(path)
    assert settings.defaults.interval_s == 30
    assert settings.thresholds.loss_warning_pct == 2.5
    assert settings.retention.raw_days == 3
    assert settings.metrics.site == "lis1"
    assert settings.console.bell is False
    assert settings.keymap == {"quit": "ctrl+q"}
    assert settings.webhooks[0].format == "slack"


def test_missing_default_file_gives_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NOCWATCH_SETTINGS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_settings(None) == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\nloss_warn_pct = 3\n", "key thresholds.loss_warn_pct: Extra inputs"),
        ("[colours]\n", "key colours: Extra inputs"),
        ("[thresholds]\nopen_after = 0\n", "key thresholds.open_after"),
        ('[[webhooks]]\nformat = "json"\n', "key webhooks.0.url: Field required"),
        ("[console\n", "invalid TOML"),
    ],
)
def test_bad_settings_message(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_explicit_file_is_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "none.toml")


def test_serve_rejects_bad_settings_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, "[thresholds]\nloss_warn_pct = 3\n")
    result = run_nocwatch("serve", "--db", str(tmp_path / "x.db"), "--settings", str(path))
    assert result.returncode == 2
    assert "key thresholds.loss_warn_pct" in result.stderr
    assert "Traceback" not in result.stderr


WEBHOOK_SECRET = "T000/s3cr3t-path"


@pytest.mark.parametrize(
    "content",
    [
        f'[[webhooks]]\nurl = "https://hooks.example.net/{WEBHOOK_SECRET}"\nformat = "teams"\n',
        f'[[webhooks]]\nurl = "https://hooks.example.net/{WEBHOOK_SECRET}"\nextra = 1\n',
        f'[[webhooks]]\nurl = "https://hooks.example.net/{WEBHOOK_SECRET}\n',
    ],
)
def test_settings_error_hides_webhook_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(content)

    status = main(["report", "--settings", str(path), "--db", str(tmp_path / "none.db")])

    stderr = capsys.readouterr().err
    assert status == 2
    assert str(path) in stderr
    assert "s3cr3t" not in stderr
