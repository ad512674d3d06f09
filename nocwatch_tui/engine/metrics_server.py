"""The HTTP endpoint of `nocwatch serve`: `/metrics` for Prometheus and `/health`.

The server runs in its own threads, one per request, beside the engine's event
loop. `/metrics` is prometheus_client's own WSGI exposition of the engine's
registry. A slow or silent client holds only its own thread, so it never stalls
the event loop, and each connection times out after REQUEST_TIMEOUT_S.
`/metrics` is rendered at most once per METRICS_MAX_AGE_S for each kind of
request (`_CachedApp`).
"""

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from nocwatch_tui.i18n import _

log = logging.getLogger("nocwatch.metrics")

REQUEST_TIMEOUT_S = 10.0
METRICS_MAX_AGE_S = 1.0

# The health check returns whether the engine is healthy and a small JSON body.
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ListenError(Exception):
    """The metrics address cannot be served; the message names it and what to do."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _CachedApp:
    """Serves each distinct request from one rendering for up to `max_age_s`.

    Rendering holds the GIL, 150 to 230 ms for 200 targets in
    docs/benchmarks.md, so scrapes that come faster than `max_age_s`, from
    several Prometheus servers or a loop of curl, share one rendering.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], max_age_s: float) -> None:
        self._app = app
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[float, str, list[tuple[str, str]], bytes]] = {}

    def __call__(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        key = tuple(
            str(environ.get(name, ""))
            for name in ("REQUEST_METHOD", "QUERY_STRING", "HTTP_ACCEPT", "HTTP_ACCEPT_ENCODING")
        )
        with self._lock:
            cached = self._cache.get(key)
            if cached is None or time.monotonic() - cached[0] > self._max_age_s:
                cached = self._render(environ, key)
        _, status, headers, body = cached
        start_response(status, headers)
        return [body]

    def _render(
        self, environ: dict[str, Any], key: tuple[str, ...]
    ) -> tuple[float, str, list[tuple[str, str]], bytes]:
        response: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]]) -> None:
            response.extend((status, headers))

        body = b"".join(self._app(environ, capture))
        rendered = (time.monotonic(), response[0], response[1], body)
        self._cache[key] = rendered
        return rendered


def make_app(
    registry: CollectorRegistry, health: HealthCheck, max_age_s: float = METRICS_MAX_AGE_S
) -> Callable[..., Iterable[bytes]]:
    """Build the WSGI application that routes `/metrics` and `/health`."""
    metrics_app = _CachedApp(make_wsgi_app(registry), max_age_s)

    def app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path == "/health":
            healthy, body = health()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: use /metrics or /health\n"]

    return app


class MetricsServer:
    """Serves the WSGI application on HOST:PORT in background threads."""

    def __init__(self, host: str, port: int, app: Callable[..., Iterable[bytes]]) -> None:
        server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
        try:
            self._server = make_server(
                host, port, app, server_class=server_class, handler_class=_QuietHandler
            )
        except OSError as error:
            raise ListenError(
                _(
                    "--listen {host}:{port}: cannot listen ({reason}); pass another"
                    " --listen HOST:PORT, or off"
                ).format(host=host, port=port, reason=error.strerror or error)
            ) from None
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def url(self) -> str:
        """Return the base URL of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()
        log.info("serving /metrics and /health on %s", self.url)

    def stop(self) -> None:
        """Stop serving and close the socket, which blocks for up to half a second."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
