"""The prober: one HTTP(S) request per probe on a new connection, timed by phase.

Name resolution runs as a separate, timed step, and the request then goes to
the resolved address with the original name in the `Host` header and in TLS
SNI, so that `dns` time is never blamed on the server. The other phases come
from httpcore's `trace` extension. One `asyncio.timeout` covers the whole
probe, redirects included, so a probe never outlives `timeout_s`. A redirect
to another origin (scheme, host or port) gets none of the target's configured
headers, since their values are secrets meant for the target's own server.

Latency runs from the start of the probe to the arrival of the last byte of the
body read, and `ttfb` ends at the arrival of the first response byte. Both
arrival times are taken as the event loop receives the data from the socket
(see `socket_stream`), not after httpcore has parsed it. Latency leaves out
the time the process spends building each request before its connection opens
(the `local` time between resolving and `connect_tcp.started`), because that
is the prober's own work, not the network's, and it grows when the process is
busy. The connection is closed after latency ends.

Each request goes to an `httpcore.AsyncHTTPConnection`, the connection class
under httpx's transport, rather than through httpx's client and connection
pool: a probe never reuses a connection, so the pool's bookkeeping and
httpx's request and response wrappers would only add CPU to every probe.
httpx still parses and joins the URLs and builds the TLS contexts.

`Prober.warm_up` makes one request to a loopback listener of its own before
any probe, because httpcore imports its async backend (anyio) on the first
request and a resolver thread starts on the first name lookup; without it the
first probe of a process reads tens of milliseconds high.
"""

import asyncio
import functools
import ipaddress
import logging
import os
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
from cryptography import x509

from nocwatch_tui import __version__
from nocwatch_tui.engine.printable import printable
from nocwatch_tui.engine.sample import ErrorClass, Sample
from nocwatch_tui.engine.socket_stream import AsyncioBackend, AsyncioStream
from nocwatch_tui.engine.targets import Target

log = logging.getLogger("nocwatch.prober")

MAX_BODY_BYTES = 64 * 1024
MAX_REDIRECTS = 10
MAX_DETAIL_CHARS = 200
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_FAMILIES = {"auto": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
WARM_UP_PROBES = 3
_DEFAULT_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "identity",
    "User-Agent": f"nocwatch/{__version__}",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SECONDS_PER_DAY = 86_400
# Parsed target URLs kept; above it the least recently probed are parsed again.
_PARSED_URLS = 8192

# OpenSSL verification codes (X509_V_ERR_*), grouped by the check that failed.
_TLS_CHECKS = {
    9: "validity dates",  # certificate is not yet valid
    10: "validity dates",  # certificate has expired
    62: "host name",  # host name mismatch
    64: "host name",  # IP address mismatch
}
_TLS_CHAIN_CHECK = "chain"


class ProbeFailure(Exception):
    """A probe that ended without passing, with its error class and a short reason."""

    def __init__(self, error: ErrorClass, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail
        self.status_code = status_code


@dataclass
class _PhaseClock:
    """Phase durations of one probe in nanoseconds, from trace events and arrival times."""

    stage: str = "dns"
    marks: dict[str, int] = field(default_factory=dict)
    totals_ns: dict[str, int] = field(default_factory=dict)
    body_end_ns: int | None = None
    prepare_start_ns: int | None = None
    cert_days_left: float | None = None

    def add(self, phase: str, start_ns: int, end_ns: int) -> None:
        self.totals_ns[phase] = self.totals_ns.get(phase, 0) + (end_ns - start_ns)

    def ms(self, phase: str) -> float | None:
        total = self.totals_ns.get(phase)
        return None if total is None else total / 1e6

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        """Record httpcore trace events as phase boundaries."""
        now = time.perf_counter_ns()
        if event == "connection.connect_tcp.started":
            if self.prepare_start_ns is not None:
                self.add("local", self.prepare_start_ns, now)
                self.prepare_start_ns = None
            self.stage = "connect"
            self.marks["connect"] = now
        elif event == "connection.connect_tcp.complete":
            self.add("connect", self.marks["connect"], now)
            self.stage = "request"
        elif event == "connection.start_tls.started":
            self.stage = "tls"
            self.marks["tls"] = now
        elif event == "connection.start_tls.complete":
            self.add("tls", self.marks["tls"], now)
            self.stage = "request"
        elif event == "http11.send_request_body.complete":
            self.marks["request_sent"] = now
            self.stage = "response headers"
        elif event == "http11.receive_response_headers.complete":
            self.stage = "body"

    def received(self, stream: AsyncioStream) -> None:
        """Add the `ttfb` and `transfer` phases of one exchange from the stream's arrival times."""
        first_ns, last_ns = stream.first_data_ns, stream.last_read_arrived_ns
        if first_ns is None or last_ns is None:
            return
        self.add("ttfb", min(self.marks.get("request_sent", first_ns), first_ns), first_ns)
        self.add("transfer", first_ns, last_ns)
        self.body_end_ns = last_ns


def _short(text: str) -> str:
    """Return one printable line of at most MAX_DETAIL_CHARS characters."""
    line = printable(" ".join(text.split()))
    return line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 1] + "…"


def _cert_days_left(stream: httpcore.AsyncNetworkStream) -> float | None:
    """Return the days until the server's leaf certificate expires, if the probe used TLS."""
    ssl_object = stream.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    try:
        not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None
    return (not_after - datetime.now(UTC)).total_seconds() / _SECONDS_PER_DAY


@functools.lru_cache(maxsize=_PARSED_URLS)
def _parse_url(text: str) -> httpx.URL:
    """Parse a target's URL once rather than on every probe (httpx.URL is immutable)."""
    return httpx.URL(text)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _find_cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """Return the first exception of `kind` in the cause and context chain of `error`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _classify_connect_error(error: httpcore.ConnectError, stage: str) -> ProbeFailure:
    verify_error = _find_cause(error, ssl.SSLCertVerificationError)
    if isinstance(verify_error, ssl.SSLCertVerificationError):
        check = _TLS_CHECKS.get(verify_error.verify_code, _TLS_CHAIN_CHECK)
        reason = verify_error.verify_message or verify_error.reason
        return ProbeFailure(ErrorClass.TLS, _short(f"{check} check failed: {reason}"))
    tls_error = _find_cause(error, ssl.SSLError)
    if tls_error is not None:
        handshake_reason = getattr(tls_error, "reason", None) or tls_error
        return ProbeFailure(ErrorClass.TLS, _short(f"TLS handshake failed: {handshake_reason}"))
    if _find_cause(error, ConnectionRefusedError) is not None:
        return ProbeFailure(ErrorClass.REFUSED, "connection refused")
    if stage == "tls" or _find_cause(error, ConnectionResetError) is not None:
        # The server accepted the TCP connection, then closed or reset it
        # before the event loop saw the connect or the TLS handshake complete.
        reason = _os_reason(error, str(error) or "the server closed the connection")
        return ProbeFailure(ErrorClass.CLOSED, _short(f"connection closed: {reason}"))
    return ProbeFailure(ErrorClass.REFUSED, _short(f"connect failed: {error}"))


def _os_reason(error: httpcore.NetworkError, fallback: str) -> str:
    """Name the operating system's error behind a network error, or return `fallback`."""
    os_error = _find_cause(error, OSError)
    # asyncio puts "Connect call failed" in strerror, so name the errno instead.
    if isinstance(os_error, OSError) and os_error.errno:
        return os.strerror(os_error.errno)
    return fallback


def _classify_protocol_error(error: httpcore.RemoteProtocolError) -> ProbeFailure:
    message = str(error)
    closed_markers = ("disconnected", "peer closed", "incomplete", "connection closed")
    if any(marker in message.lower() for marker in closed_markers):
        return ProbeFailure(ErrorClass.CLOSED, _short(message))
    return ProbeFailure(ErrorClass.PROTOCOL, _short(f"malformed response: {message}"))


def _classify_timeout(stage: str, timeout_s: float) -> ProbeFailure:
    if stage == "dns":
        return ProbeFailure(ErrorClass.DNS, f"name resolution timed out after {timeout_s:g} s")
    if stage == "connect":
        return ProbeFailure(ErrorClass.CONNECT_TIMEOUT, f"connect timed out after {timeout_s:g} s")
    return ProbeFailure(ErrorClass.TIMEOUT, f"timed out after {timeout_s:g} s during {stage}")


@dataclass(frozen=True, slots=True)
class _Reply:
    """The status, redirect target, Retry-After and body that one request received."""

    status_code: int
    location: str | None
    retry_after: str | None
    body: bytes


def _header_text(value: bytes) -> str:
    """Decode a response header value as UTF-8, or as Latin-1 when it is not valid UTF-8.

    Servers write non-ASCII redirect targets as raw UTF-8. Read as Latin-1,
    each such character would be percent-encoded twice.
    """
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _status_detail(status_code: int, retry_after: str | None) -> str:
    """Describe an unexpected status, with the server's Retry-After when it sent one."""
    if retry_after is None:
        return f"HTTP {status_code}"
    return _short(f"HTTP {status_code}, Retry-After {retry_after}")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Return the scheme, host and port that decide whether two URLs share an origin."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


async def _answer_no_content(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one request with 204 and close: the warm-up's loopback listener."""
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


class Prober:
    """Probes targets with shared TLS settings and a new connection for every probe.

    `extra_ca_pem` adds certificate authorities to the system's, such as the lab's.
    """

    def __init__(self, resolver_threads: int = 32, *, extra_ca_pem: bytes | None = None) -> None:
        self._resolver = ThreadPoolExecutor(resolver_threads, thread_name_prefix="nocwatch-dns")
        self._network = AsyncioBackend()
        # Both contexts are made up front: loading the CA bundle takes tens of
        # milliseconds, which must not land inside the first probe's latency.
        self._ssl_contexts = {
            verify: self._make_ssl_context(verify, extra_ca_pem) for verify in (True, False)
        }

    @staticmethod
    def _make_ssl_context(verify_tls: bool, extra_ca_pem: bytes | None) -> ssl.SSLContext:
        context = httpx.create_ssl_context(verify=verify_tls, trust_env=False)
        if verify_tls and extra_ca_pem is not None:
            context.load_verify_locations(cadata=extra_ca_pem.decode("ascii"))
        return context

    async def warm_up(self) -> None:
        """Make a few requests to a loopback listener of its own and start a resolver thread.

        This loads and runs, outside any timed probe, what httpx and httpcore
        load lazily on the first request. NOTE: the TLS handshake code is not
        warmed, since that needs a server certificate.
        """
        server = await asyncio.start_server(_answer_no_content, "127.0.0.1", 0)
        try:
            port = server.sockets[0].getsockname()[1]
            target = Target.model_validate(
                {"name": "warm-up", "url": f"http://127.0.0.1:{port}/", "timeout_s": 2}
            )
            for _ in range(WARM_UP_PROBES):
                sample = await self.probe(target, 0)
                if sample.error is not None:
                    log.warning("warm-up probe failed: %s", sample.error_detail)
            await asyncio.get_running_loop().run_in_executor(
                self._resolver, socket.getaddrinfo, "127.0.0.1", port
            )
        finally:
            server.close()
            await server.wait_closed()

    async def aclose(self) -> None:
        """Stop the resolver threads. Each probe has closed its own connection."""
        self._resolver.shutdown(wait=False, cancel_futures=True)

    async def probe(self, target: Target, target_id: int) -> Sample:
        """Probe a target once and return the sample, with the failure recorded in it."""
        started_at_ms = time.time_ns() // 1_000_000
        start_ns = time.perf_counter_ns()
        clock = _PhaseClock()
        sample = Sample(target_id=target_id, started_at_ms=started_at_ms)

        try:
            async with asyncio.timeout(target.timeout_s):
                response_code = await self._request_chain(target, clock)
            sample.status_code = response_code
        except ProbeFailure as failure:
            sample.error, sample.error_detail = failure.error, failure.detail
            sample.status_code = failure.status_code
        except TimeoutError:
            timeout = _classify_timeout(clock.stage, target.timeout_s)
            sample.error, sample.error_detail = timeout.error, timeout.detail
        end_ns = clock.body_end_ns or time.perf_counter_ns()

        if sample.responded:
            sample.latency_ms = (end_ns - start_ns - clock.totals_ns.get("local", 0)) / 1e6
        sample.dns_ms = clock.ms("dns")
        sample.connect_ms = clock.ms("connect")
        sample.tls_ms = clock.ms("tls")
        sample.ttfb_ms = clock.ms("ttfb")
        sample.transfer_ms = clock.ms("transfer")
        sample.cert_days_left = clock.cert_days_left
        if sample.error is not None:
            log.debug("probe of %r failed: %s (%s)", target.name, sample.error, sample.error_detail)
        return sample

    async def _resolve(self, host: str, port: int, ip_family: str, clock: _PhaseClock) -> str:
        """Resolve a host name to one address, timing the step as the `dns` phase."""
        if _is_ip_literal(host):
            return host
        clock.stage = "dns"
        loop = asyncio.get_running_loop()
        start_ns = time.perf_counter_ns()
        try:
            addresses = await loop.run_in_executor(
                self._resolver,
                lambda: socket.getaddrinfo(
                    host, port, _FAMILIES[ip_family], socket.SOCK_STREAM, socket.IPPROTO_TCP
                ),
            )
        except (socket.gaierror, UnicodeError) as error:
            raise ProbeFailure(ErrorClass.DNS, _short(f"cannot resolve {host}: {error}")) from None
        finally:
            clock.add("dns", start_ns, time.perf_counter_ns())
        # NOTE: only the first address is tried, as getaddrinfo orders them (RFC 6724).
        return str(addresses[0][4][0])

    async def _request_chain(self, target: Target, clock: _PhaseClock) -> int:
        """Send the request and follow redirects; return the final status code."""
        url = _parse_url(target.url)
        target_origin = _origin(url)
        method = target.method
        for _hop in range(MAX_REDIRECTS + 1):
            same_origin = _origin(url) == target_origin
            reply = await self._exchange(target, method, url, clock, same_origin=same_origin)
            status_code, body = reply.status_code, reply.body
            location, retry_after = reply.location, reply.retry_after
            if status_code in _REDIRECT_CODES and location and target.follow_redirects:
                url = self._next_url(url, location)
                if status_code == 303 or (status_code in (301, 302) and method == "POST"):
                    method = "GET"
                continue
            if not target.accepts_status(status_code):
                raise ProbeFailure(
                    ErrorClass.STATUS, _status_detail(status_code, retry_after), status_code
                )
            if target.body_contains is not None and target.body_contains.encode() not in body:
                raise ProbeFailure(
                    ErrorClass.BODY,
                    f"the first {MAX_BODY_BYTES // 1024} KiB of the body lack the expected text",
                    status_code,
                )
            return status_code
        raise ProbeFailure(ErrorClass.REDIRECTS, f"more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _next_url(url: httpx.URL, location: str) -> httpx.URL:
        try:
            next_url = url.join(location)
        except httpx.InvalidURL as error:
            raise ProbeFailure(ErrorClass.REDIRECTS, _short(f"invalid redirect: {error}")) from None
        if next_url.scheme not in ("http", "https") or not next_url.host:
            raise ProbeFailure(
                ErrorClass.REDIRECTS,
                _short(f"redirect to unsupported URL scheme {next_url.scheme!r}"),
            )
        return next_url.copy_with(username=None, password=None)

    async def _exchange(
        self,
        target: Target,
        method: str,
        url: httpx.URL,
        clock: _PhaseClock,
        *,
        same_origin: bool,
    ) -> _Reply:
        """Make one request on a new connection and read at most MAX_BODY_BYTES of the body.

        The target's configured headers go only to the target's own origin.
        """
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await self._resolve(url.host, port, target.ip_family, clock)
        clock.stage = "connect"
        clock.prepare_start_ns = time.perf_counter_ns()

        configured = target.headers if same_origin else {}
        headers = {**_DEFAULT_HEADERS, **configured, "Host": url.netloc.decode("ascii")}
        if method == "POST":
            # A probe sends no body. Many servers reject a POST without
            # Content-Length with 411 Length Required.
            headers["Content-Length"] = "0"
        extensions: dict[str, Any] = {"trace": clock.trace}
        if url.scheme == "https" and not _is_ip_literal(url.host):
            extensions["sni_hostname"] = url.host
        # The connection goes to the resolved address; the name travels in
        # the Host header and in SNI.
        origin = httpcore.Origin(url.raw_scheme, address.encode("ascii"), port)
        request = httpcore.Request(
            method,
            httpcore.URL(scheme=origin.scheme, host=origin.host, port=port, target=url.raw_path),
            headers=[(name.encode("ascii"), value.encode()) for name, value in headers.items()],
            extensions=extensions,
        )
        connection = httpcore.AsyncHTTPConnection(
            origin,
            ssl_context=self._ssl_contexts[target.verify_tls],
            network_backend=self._network,
        )
        try:
            response = await connection.handle_async_request(request)
            stream = response.extensions["network_stream"]
            if clock.cert_days_left is None:
                clock.cert_days_left = _cert_days_left(stream)
            try:
                body = bytearray()
                if method != "HEAD":
                    async for chunk in response.aiter_stream():
                        body += chunk
                        if len(body) >= MAX_BODY_BYTES:
                            break
                if isinstance(stream, AsyncioStream):
                    clock.received(stream)
            finally:
                await response.aclose()
        except httpcore.ConnectError as error:
            raise _classify_connect_error(error, clock.stage) from None
        except httpcore.RemoteProtocolError as error:
            raise _classify_protocol_error(error) from None
        except (httpcore.ReadError, httpcore.WriteError) as error:
            reason = str(error) or _os_reason(error, "the server reset the connection")
            raise ProbeFailure(ErrorClass.CLOSED, _short(f"connection reset: {reason}")) from None
        except httpcore.LocalProtocolError:
            # The message can quote a header value, which is a secret.
            raise ProbeFailure(
                ErrorClass.PROTOCOL, "the request was rejected before sending: check its headers"
            ) from None
        except httpcore.TimeoutException:
            raise TimeoutError from None
        except (httpcore.UnsupportedProtocol, httpcore.ProxyError, httpcore.PoolTimeout) as error:
            # Any other transport failure is a malformed or unusable exchange.
            raise ProbeFailure(
                ErrorClass.PROTOCOL, _short(f"{type(error).__name__}: {error}")
            ) from None
        finally:
            await connection.aclose()
        reply_headers = {
            name.decode("latin-1").lower(): _header_text(value) for name, value in response.headers
        }
        return _Reply(
            status_code=response.status,
            location=reply_headers.get("location"),
            retry_after=reply_headers.get("retry-after"),
            body=bytes(body[:MAX_BODY_BYTES]),
        )
