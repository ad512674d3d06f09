"""One probe's result, and the fixed vocabulary of error classes."""

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """The reason a probe failed, from a fixed vocabulary."""

    DNS = "dns"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TLS = "tls"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    PROTOCOL = "protocol"
    REDIRECTS = "redirects"
    STATUS = "status"
    BODY = "body"

    @property
    def got_response(self) -> bool:
        """Tell whether a probe failing with this class received an HTTP response."""
        return self in (ErrorClass.STATUS, ErrorClass.BODY)


PHASES = ("dns", "connect", "tls", "ttfb", "transfer")


@dataclass(slots=True)
class Sample:
    """A probe's outcome; times in ms, `started_at_ms` in UTC epoch milliseconds."""

    target_id: int
    started_at_ms: int
    error: ErrorClass | None = None
    error_detail: str | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    ttfb_ms: float | None = None
    transfer_ms: float | None = None
    loop_lag_ms: float | None = None
    slip_ms: float | None = None
    cert_days_left: float | None = None
    """Days until the leaf certificate of an https target expires, negative once expired."""
    suspect: bool = False  # the event loop lagged more than SUSPECT_LAG_MS during the probe

    @property
    def passed(self) -> bool:
        """Tell whether the probe passed every check."""
        return self.error is None

    @property
    def responded(self) -> bool:
        """Tell whether the probe received an HTTP response."""
        return self.error is None or self.error.got_response
