"""The prober: one HTTP(S) request per probe on a new connection, timed by phase.

Name resolution runs as a separate, timed step, and the request then goes to
the resolved address with the original name in the `Host` header and in TLS
SNI, so that `dns` time is never blamed on the server. The other phases come
from httpcore's `trace` extension. One `asyncio.timeout` covers the whole
probe, redirects included, so a probe never outlives `timeout_s`.

Latency runs from the start of the probe to the last byte of the body read.
It leaves out the time the process spends building each request before its
connection opens (the `local` time between resolving and
`connect_tcp.started`), because that is the prober's own work, not the
network's, and it grows when the process is busy. The connection is closed
after latency ends.

`Prober.warm_up` makes one request to a loopback listener of its own before
any probe, because httpcore imports its async backend (anyio) on the first
request and a resolver thread starts on the first name lookup; without it the
first probe of a process reads tens of milliseconds high.
"""

import asyncio
import ipaddress
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from nocwatch_tui import __version__
from nocwatch_tui.engine.sample import ErrorClass, Sample
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


class ProbeFailure(Exception):
    """A probe that ended without passing, with its error class and a short reason."""

    def __init__(self, error: ErrorClass, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail
        self.status_code = status_code


@dataclass
class _PhaseClock:
    """Phase durations of one probe, collected from trace events in nanoseconds."""

    stage: str = "dns"
    marks: dict[str, int] = field(default_factory=dict)
    totals_ns: dict[str, int] = field(default_factory=dict)
    headers_at_ns: int | None = None
    body_end_ns: int | None = None
    prepare_start_ns: int | None = None

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
            self.add("ttfb", self.marks.get("request_sent", now), now)
            self.headers_at_ns = now
            self.stage = "body"


def _short(text: str) -> str:
    """Return one line of at most MAX_DETAIL_CHARS characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 1] + "…"


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


def _classify_connect_error(error: httpx.ConnectError) -> ProbeFailure:
    tls_error = _find_cause(error, ssl.SSLError)
    if tls_error is not None:
        reason = getattr(tls_error, "verify_message", None) or getattr(tls_error, "reason", None)
        return ProbeFailure(ErrorClass.TLS, _short(f"TLS handshake failed: {reason or tls_error}"))
    if _find_cause(error, ConnectionRefusedError) is not None:
        return ProbeFailure(ErrorClass.REFUSED, "connection refused")
    return ProbeFailure(ErrorClass.REFUSED, _short(f"connect failed: {error}"))


def _classify_protocol_error(error: httpx.RemoteProtocolError) -> ProbeFailure:
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
    """Probes targets with shared TLS settings and a new connection for every probe."""

    def __init__(self, resolver_threads: int = 32) -> None:
        self._resolver = ThreadPoolExecutor(resolver_threads, thread_name_prefix="nocwatch-dns")
        # Both transports are made up front: loading the CA bundle takes tens of
        # milliseconds, which must not land inside the first probe's latency.
        self._transports = {verify: self._make_transport(verify) for verify in (True, False)}

    @staticmethod
    def _make_transport(verify_tls: bool) -> httpx.AsyncHTTPTransport:
        # Requests go to the transport, not through an AsyncClient: the prober
        # needs none of a client's cookies, auth or redirect handling, and
        # skipping them takes CPU out of every probe. No connection is kept
        # alive, so every probe measures connect and TLS; asyncio.timeout
        # bounds the whole probe, so the transport has no timeouts of its own.
        return httpx.AsyncHTTPTransport(
            verify=httpx.create_ssl_context(verify=verify_tls, trust_env=False),
            trust_env=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        )

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
        """Close the HTTP transports and the resolver threads."""
        for transport in self._transports.values():
            await transport.aclose()
        self._transports.clear()
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
            if clock.headers_at_ns is not None:
                clock.add("transfer", clock.headers_at_ns, end_ns)
        sample.dns_ms = clock.ms("dns")
        sample.connect_ms = clock.ms("connect")
        sample.tls_ms = clock.ms("tls")
        sample.ttfb_ms = clock.ms("ttfb")
        sample.transfer_ms = clock.ms("transfer")
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
        url = httpx.URL(target.url)
        method = target.method
        for _hop in range(MAX_REDIRECTS + 1):
            status_code, location, body = await self._exchange(target, method, url, clock)
            if status_code in _REDIRECT_CODES and location and target.follow_redirects:
                url = self._next_url(url, location)
                if status_code == 303 or (status_code in (301, 302) and method == "POST"):
                    method = "GET"
                continue
            if not target.accepts_status(status_code):
                raise ProbeFailure(ErrorClass.STATUS, f"HTTP {status_code}", status_code)
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
        self, target: Target, method: str, url: httpx.URL, clock: _PhaseClock
    ) -> tuple[int, str | None, bytes]:
        """Make one request on a new connection and read at most MAX_BODY_BYTES of the body."""
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await self._resolve(url.host, port, target.ip_family, clock)
        clock.stage = "connect"
        clock.prepare_start_ns = time.perf_counter_ns()

        headers = {**_DEFAULT_HEADERS, **target.headers, "Host": url.netloc.decode()}
        extensions: dict[str, Any] = {"trace": clock.trace}
        if url.scheme == "https" and not _is_ip_literal(url.host):
            extensions["sni_hostname"] = url.host
        request = httpx.Request(
            method, url.copy_with(host=address), headers=headers, extensions=extensions
        )

        try:
            response = await self._transports[target.verify_tls].handle_async_request(request)
            try:
                body = bytearray()
                if method != "HEAD":
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= MAX_BODY_BYTES:
                            break
                clock.body_end_ns = time.perf_counter_ns()
            finally:
                await response.aclose()
        except httpx.ConnectError as error:
            raise _classify_connect_error(error) from None
        except httpx.RemoteProtocolError as error:
            raise _classify_protocol_error(error) from None
        except (httpx.ReadError, httpx.WriteError) as error:
            raise ProbeFailure(ErrorClass.CLOSED, _short(f"connection reset: {error}")) from None
        except (httpx.LocalProtocolError, httpx.DecodingError) as error:
            raise ProbeFailure(ErrorClass.PROTOCOL, _short(str(error))) from None
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as error:
            # Any other transport failure is a malformed or unusable exchange.
            raise ProbeFailure(
                ErrorClass.PROTOCOL, _short(f"{type(error).__name__}: {error}")
            ) from None
        return response.status_code, response.headers.get("location"), bytes(body[:MAX_BODY_BYTES])
