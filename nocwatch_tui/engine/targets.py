"""Targets: the pydantic model of a target and the loader of targets files."""

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from nocwatch_tui.i18n import _

# RFC 9110 token characters, the only ones allowed in a header name.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS_RANGE = re.compile(r"^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$")

# What an export without secrets writes instead of each header value.
MASKED_VALUE = "********"


class TargetsFileError(Exception):
    """A targets file that cannot be read or does not validate."""


class ThresholdOverrides(BaseModel):
    """Per-target degradation thresholds; a field left out takes the global default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    down_after: int | None = Field(default=None, gt=0)
    """Consecutive failed probes that open a `down` incident."""
    latency_p95_warning_ms: float | None = Field(default=None, gt=0)
    """Window p95 above which a `latency` incident opens as a warning."""
    latency_p95_critical_ms: float | None = Field(default=None, gt=0)
    """Window p95 above which a `latency` incident is critical."""
    jitter_warning_ms: float | None = Field(default=None, gt=0)
    """Window jitter above which a `jitter` incident opens."""
    loss_warning_pct: float | None = Field(default=None, gt=0, le=100)
    """Window loss above which a `loss` incident opens as a warning."""
    loss_critical_pct: float | None = Field(default=None, gt=0, le=100)
    """Window loss above which a `loss` incident is critical."""
    open_after: int | None = Field(default=None, gt=0)
    """Consecutive breaching evaluations that open an incident."""
    close_after: int | None = Field(default=None, gt=0)
    """Consecutive healthy evaluations that resolve an incident."""


def _parse_status_range(value: int | str) -> tuple[int, int]:
    if isinstance(value, int):
        low = high = value
    else:
        match = _STATUS_RANGE.match(value)
        if match is None:
            raise ValueError(
                _("invalid status {value!r}: use a code like 200 or a range like '200-299'").format(
                    value=value
                )
            )
        low = int(match.group(1))
        high = int(match.group(2) or low)
    if not 100 <= low <= high <= 599:
        raise ValueError(
            _("invalid status {value!r}: codes run from 100 to 599, low to high").format(
                value=value
            )
        )
    return low, high


class Target(BaseModel):
    """An HTTP(S) endpoint to probe, as written in a targets file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    """Unique name shown everywhere."""
    url: str
    """http or https URL; credentials belong in a header, not in the URL."""
    method: Literal["GET", "HEAD", "POST"] = "GET"
    """HTTP method of the probe."""
    interval_s: float = Field(default=10.0, gt=0, le=86400)
    """Seconds between probe starts."""
    timeout_s: float = Field(default=5.0, gt=0)
    """Whole-probe deadline in seconds, name resolution and body read included."""
    expected_status: list[int | str] = Field(
        default_factory=lambda: list[int | str](["200-399"]), min_length=1
    )
    """Status codes or ranges such as "200-299" that pass."""
    body_contains: str | None = None
    """Text that the first 64 KiB of the body must contain."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Request headers; the values are secrets."""
    verify_tls: bool = True
    """Verify the server's certificate chain and host name."""
    follow_redirects: bool = True
    """Follow up to 10 redirects."""
    ip_family: Literal["auto", "ipv4", "ipv6"] = "auto"
    """Address family used to connect."""
    tags: list[str] = Field(default_factory=list)
    """Labels for filtering and grouping."""
    thresholds: ThresholdOverrides = Field(default_factory=ThresholdOverrides)
    """Degradation thresholds that differ from the global defaults."""

    @field_validator("name")
    @classmethod
    def _name_is_printable(cls, name: str) -> str:
        if not name.strip():
            raise ValueError(_("name is blank"))
        if any(ord(char) < 32 or ord(char) == 127 for char in name):
            raise ValueError(_("name contains control characters"))
        return name

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as error:
            raise ValueError(_("invalid URL: {error}").format(error=error)) from None
        if parsed.scheme not in ("http", "https"):
            raise ValueError(
                _("unsupported scheme {scheme!r}: use http or https").format(
                    scheme=parsed.scheme or ""
                )
            )
        if not parsed.host:
            raise ValueError(_("the URL has no host"))
        if parsed.userinfo:
            raise ValueError(
                _("the URL contains credentials: send them in an Authorization header instead")
            )
        return url

    @field_validator("expected_status")
    @classmethod
    def _statuses_parse(cls, statuses: list[int | str]) -> list[int | str]:
        for status in statuses:
            _parse_status_range(status)
        return statuses

    @field_validator("headers")
    @classmethod
    def _headers_are_valid(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(
                    _("invalid header name {name!r}: use letters, digits and - only").format(
                        name=name
                    )
                )
            if any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in value):
                raise ValueError(
                    _(
                        "the value of header {name!r} contains a line break or another control"
                        " character; remove it"
                    ).format(name=name)
                )
        return headers

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> Self:
        if self.timeout_s >= self.interval_s:
            raise ValueError(
                _("timeout_s ({timeout}) must be below interval_s ({interval})").format(
                    timeout=self.timeout_s, interval=self.interval_s
                )
            )
        return self

    def status_ranges(self) -> list[tuple[int, int]]:
        """Return the accepted status codes as inclusive (low, high) pairs."""
        return [_parse_status_range(status) for status in self.expected_status]

    def accepts_status(self, status_code: int) -> bool:
        """Tell whether a response status passes the target's status check."""
        return any(low <= status_code <= high for low, high in self.status_ranges())

    def with_masked_headers(self) -> "Target":
        """Return a copy whose header values are replaced by MASKED_VALUE."""
        return self.model_copy(update={"headers": dict.fromkeys(self.headers, MASKED_VALUE)})

    def public_url(self) -> str:
        """Return the URL without credentials, fit for logs and the screen."""
        return str(httpx.URL(self.url).copy_with(username=None, password=None))


def _describe_location(path: Path | str, index: int, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    label = f"{path}: target {index}"
    if isinstance(name, str):
        label += f" ({name!r})"
    return label


def first_error(error: ValidationError) -> str:
    """Describe the first validation error by field and message, never quoting the input."""
    return _first_error(error)


def _first_error(error: ValidationError) -> str:
    detail = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in detail["loc"]) or _("(target)")
    message = str(detail["msg"]).removeprefix("Value error, ")
    return _("field {field}: {message}").format(field=field, message=message)


def parse_targets(
    data: object, source: Path | str, defaults: Mapping[str, Any] | None = None
) -> list[Target]:
    """Validate decoded JSON as a list of targets with unique names.

    `defaults` fills fields that a target leaves out, such as the settings
    file's `[defaults]`. Types are checked strictly, so "10" is not a number
    and `true` is not an interval.
    """
    if not isinstance(data, list):
        raise TargetsFileError(
            _("{source}: expected a JSON array of targets, found {kind}").format(
                source=source, kind=type(data).__name__
            )
        )

    targets: list[Target] = []
    first_index_of: dict[str, int] = {}
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise TargetsFileError(
                _("{location}: expected an object, found {kind}").format(
                    location=_describe_location(source, index, raw), kind=type(raw).__name__
                )
            )
        try:
            target = Target.model_validate({**(defaults or {}), **raw}, strict=True)
        except ValidationError as error:
            raise TargetsFileError(
                f"{_describe_location(source, index, raw)}: {_first_error(error)}"
            ) from None
        if target.name in first_index_of:
            raise TargetsFileError(
                _("{location}: field name: duplicate of target {other}").format(
                    location=_describe_location(source, index, raw),
                    other=first_index_of[target.name],
                )
            )
        first_index_of[target.name] = index
        targets.append(target)
    return targets


def load_targets_file(path: Path, defaults: Mapping[str, Any] | None = None) -> list[Target]:
    """Read and validate a targets file, raising TargetsFileError with a one-line reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetsFileError(
            _("{path}: file not found; check the path given to --targets").format(path=path)
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TargetsFileError(
            _("{path}: cannot be read: {error}").format(path=path, error=error)
        ) from None

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TargetsFileError(
            _("{path}: invalid JSON at line {line}, column {column}: {reason}").format(
                path=path, line=error.lineno, column=error.colno, reason=error.msg
            )
        ) from None
    return parse_targets(data, path, defaults)


def dump_targets(targets: Sequence[Target]) -> list[dict[str, Any]]:
    """Return targets as targets-file objects, leaving out fields at their defaults."""
    return [target.model_dump(mode="json", exclude_defaults=True) for target in targets]
