"""The settings file: TOML validated with pydantic, where unknown keys are errors."""

import os
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nocwatch_tui.engine.windows import WINDOWS_S
from nocwatch_tui.i18n import _

SETTINGS_ENV = "NOCWATCH_SETTINGS"


class SettingsError(Exception):
    """A settings file that cannot be read or does not validate."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsSettings(_Table):
    """Defaults for target fields that a targets file leaves out."""

    interval_s: float | None = Field(default=None, gt=0)
    """Seconds between probe starts."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Whole-probe deadline in seconds."""
    verify_tls: bool | None = None
    """Verify certificates."""
    follow_redirects: bool | None = None
    """Follow up to 10 redirects."""
    ip_family: Literal["auto", "ipv4", "ipv6"] | None = None
    """Address family used to connect."""


def target_defaults(defaults: DefaultsSettings) -> dict[str, object]:
    """Return the `[defaults]` fields that are set, as targets-file fields."""
    return defaults.model_dump(exclude_none=True)


class ThresholdSettings(_Table):
    """Global degradation thresholds and hysteresis."""

    window: Literal["1m", "5m", "15m", "1h"] = "5m"
    """Detection window evaluated after every sample."""
    down_after: int = Field(default=3, gt=0)
    """Consecutive failed probes that open a `down` incident."""
    latency_p95_warning_ms: float = Field(default=500.0, gt=0)
    """Window p95 above which a `latency` warning opens."""
    latency_p95_critical_ms: float = Field(default=1000.0, gt=0)
    """Window p95 above which a `latency` incident is critical."""
    jitter_warning_ms: float = Field(default=100.0, gt=0)
    """Window jitter above which a `jitter` warning opens."""
    loss_warning_pct: float = Field(default=5.0, gt=0, le=100)
    """Window loss above which a `loss` warning opens."""
    loss_critical_pct: float = Field(default=20.0, gt=0, le=100)
    """Window loss above which a `loss` incident is critical."""
    open_after: int = Field(default=3, gt=0)
    """Consecutive breaching evaluations that open an incident."""
    close_after: int = Field(default=3, gt=0)
    """Consecutive healthy evaluations that resolve an incident."""
    down_close_after: int = Field(default=2, gt=0)
    """Consecutive passed probes that resolve a `down` incident."""
    clear_ratio: float = Field(default=0.8, gt=0, le=1)
    """Fraction of the opening threshold below which an evaluation counts as healthy."""
    cert_warning_days: float = Field(default=14.0, gt=0)
    """Days left on an https target's certificate below which the console warns."""

    @property
    def window_s(self) -> int:
        """Return the detection window in seconds."""
        return WINDOWS_S[self.window]


class RetentionSettings(_Table):
    """How long samples are kept."""

    raw_days: int = Field(default=7, gt=0)
    """Days raw samples are kept before only their rollups remain."""
    rollup_days: int = Field(default=400, gt=0)
    """Days per-minute and per-hour rollups are kept."""


class MetricsSettings(_Table):
    """The Prometheus endpoint of `nocwatch serve`."""

    listen: str = "127.0.0.1:9464"
    """HOST:PORT for `/metrics` and `/health`."""
    site: str = ""
    """Value of the `site` label, naming this probing location."""


class ConsoleSettings(_Table):
    """The console's look and behaviour."""

    theme: str = "noc-dark"
    """Theme name."""
    bell: bool = True
    """Ring the terminal bell once when a critical incident opens."""
    wall_page_s: float = Field(default=10.0, gt=0)
    """Seconds between pages of the wall display."""


class WebhookSettings(_Table):
    """One webhook that receives incident notifications."""

    url: str
    """Endpoint URL; a secret, never logged or shown in full."""
    format: Literal["json", "slack", "discord"] = "json"
    """Payload format."""
    min_severity: Literal["warning", "critical"] = "warning"
    """Lowest severity that is sent."""
    tags: list[str] = Field(default_factory=list)
    """Only targets with one of these tags are sent; with `targets` too, either one matches."""
    targets: list[str] = Field(default_factory=list)
    """Only the targets of these names are sent; empty, like `tags`, sends all."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The message leaves the value out, because a webhook URL is a secret.
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(_("must be an http or https URL with a host"))
        return value


class Settings(_Table):
    """Everything the settings file can set."""

    defaults: DefaultsSettings = Field(default_factory=DefaultsSettings)
    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    keymap: dict[str, str] = Field(default_factory=dict)
    webhooks: list[WebhookSettings] = Field(default_factory=list)


def default_settings_path() -> Path:
    """Return the settings path from NOCWATCH_SETTINGS or the XDG config folder."""
    from_env = os.environ.get(SETTINGS_ENV)
    if from_env:
        return Path(from_env)
    return platformdirs.user_config_path("nocwatch") / "settings.toml"


def _describe(error: ValidationError) -> str:
    detail = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in detail["loc"])
    message = str(detail["msg"]).removeprefix("Value error, ")
    return _("key {key}: {message}").format(key=location or "(top)", message=message)


def load_settings(path: Path | None) -> Settings:
    """Load a settings file; without a path, the default file if it exists, else defaults."""
    explicit = path is not None
    path = path if path is not None else default_settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit or os.environ.get(SETTINGS_ENV):
            raise SettingsError(
                _("{path}: settings file not found; check --settings or NOCWATCH_SETTINGS").format(
                    path=path
                )
            ) from None
        return Settings()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(
            _("{path}: cannot be read: {error}").format(path=path, error=error)
        ) from None

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(
            _("{path}: invalid TOML: {reason}").format(path=path, reason=error)
        ) from None
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(f"{path}: {_describe(error)}") from None
