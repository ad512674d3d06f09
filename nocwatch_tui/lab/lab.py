"""A set of scripted HTTP/1.1 servers on ephemeral local ports, for demos, tests and benchmarks."""

import asyncio
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import Self

import h11

from nocwatch_tui.lab.behaviours import (
    ALL_SERVERS,
    DEMO_SERVERS,
    IPV6_SERVERS,
    TLS_SERVERS,
    BehaviourSettings,
    build_behaviour,
)
from nocwatch_tui.lab.certificates import LabCertificates
from nocwatch_tui.lab.connection import Behaviour, HttpConnection, serve_connection

logger = logging.getLogger("nocwatch.lab")


class Lab:
    """Named lab servers on `host`, each on its own ephemeral port, from start() to stop()."""

    def __init__(
        self,
        names: Sequence[str] = DEMO_SERVERS,
        host: str = "127.0.0.1",
        *,
        steady_delay_s: float = 0.02,
        flap_period_s: float = 60.0,
    ) -> None:
        self._names = _validate_names(names)
        self._host = _validate_host(host)
        if steady_delay_s < 0:
            raise ValueError(f"steady_delay_s must be >= 0, got {steady_delay_s}")
        if flap_period_s <= 0:
            raise ValueError(f"flap_period_s must be > 0, got {flap_period_s}")

        self._steady_delay_s = steady_delay_s
        self._flap_period_s = flap_period_s
        self._servers: dict[str, asyncio.Server] = {}
        self._reserved_sockets: dict[str, socket.socket] = {}
        self._ports: dict[str, int] = {}
        self._certificates: LabCertificates | None = None
        self._connections: set[asyncio.Task[object]] = set()
        self._started = False
        self._stopping = False

    async def start(self) -> None:
        """Bind every server, and anchor the flapping phases at this call."""
        if self._started:
            raise RuntimeError("this Lab has already been started; create a new Lab")
        self._started = True

        settings = BehaviourSettings(
            steady_delay_s=self._steady_delay_s,
            flap_period_s=self._flap_period_s,
            started_at_s=time.monotonic(),
            rng=random.Random(),
        )
        if any(name in TLS_SERVERS for name in self._names):
            self._certificates = LabCertificates()
        try:
            for name in self._names:
                self._ports[name] = await self._open(name, settings)
        except BaseException:
            await self.stop()
            raise

        logger.info(
            "lab started on %s: %s",
            self._host,
            ", ".join(f"{name}={port}" for name, port in self._ports.items()),
        )

    async def stop(self) -> None:
        """Close every server and every open client connection, hung and trickling ones too."""
        if self._stopping:
            return
        self._stopping = True

        for server in self._servers.values():
            server.close()
        for reserved in self._reserved_sockets.values():
            reserved.close()

        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

        for server in self._servers.values():
            await server.wait_closed()
        if self._started:
            logger.info("lab stopped on %s", self._host)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def urls(self) -> dict[str, str]:
        """URL of each server, in the order of the names given."""
        if not self._started:
            raise RuntimeError("the Lab has no ports yet; await start() first")

        urls = {}
        for name in self._names:
            host = self._host_of(name)
            url_host = f"[{host}]" if ":" in host else host
            scheme = "https" if name in TLS_SERVERS else "http"
            urls[name] = f"{scheme}://{url_host}:{self._ports[name]}/{name}"
        return urls

    @property
    def ca_pem(self) -> bytes | None:
        """Return the certificate of the lab's authority, or None when no TLS server runs."""
        return None if self._certificates is None else self._certificates.ca_pem

    def _host_of(self, name: str) -> str:
        """Return the address a server listens on: its own for the IPv6-only one."""
        return "::1" if name in IPV6_SERVERS else self._host

    def targets(self, interval_s: float = 2.0, timeout_s: float = 1.5) -> list[dict[str, object]]:
        """Build targets-file objects for every server, ready for `nocwatch targets import`."""
        if not 0 < timeout_s < interval_s:
            raise ValueError(
                f"timeout_s must be > 0 and < interval_s, got timeout_s={timeout_s}, "
                f"interval_s={interval_s}"
            )
        return [
            {
                "name": name,
                "url": url,
                "interval_s": interval_s,
                "timeout_s": timeout_s,
                "tags": ["lab"],
            }
            for name, url in self.urls.items()
        ]

    async def _open(self, name: str, settings: BehaviourSettings) -> int:
        """Start the server `name` and return its port."""
        if name == "down":
            return self._reserve_port(name)

        behaviour = build_behaviour(name, settings)
        tls = (
            None
            if self._certificates is None or name not in TLS_SERVERS
            else (self._certificates.context_for(name))
        )
        server = await asyncio.start_server(
            partial(self._serve, name, behaviour), self._host_of(name), 0, ssl=tls
        )
        self._servers[name] = server
        port: int = server.sockets[0].getsockname()[1]
        return port

    def _reserve_port(self, name: str) -> int:
        """Bind a socket without listening, so connecting is refused and the port stays taken."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        reserved = socket.socket(family, socket.SOCK_STREAM)
        try:
            reserved.bind((self._host, 0))
        except OSError:
            reserved.close()
            raise

        self._reserved_sockets[name] = reserved
        port: int = reserved.getsockname()[1]
        return port

    async def _serve(
        self,
        name: str,
        behaviour: Behaviour,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Serve one accepted connection, tracked so that stop() can end it."""
        connection = HttpConnection(name, reader, writer)
        task = asyncio.current_task()
        if self._stopping or task is None:
            # The connection was accepted just before stop() closed the listener.
            await connection.close(abort=True)
            return

        self._connections.add(task)
        try:
            await serve_connection(connection, behaviour)
        except (OSError, h11.LocalProtocolError) as error:
            logger.debug("lab server %s: connection failed: %r", name, error)
        except asyncio.CancelledError:
            # NOTE: the task ends normally because Python 3.11's StreamReaderProtocol calls
            # exception() on a finished connection task, and logs a cancelled one as an error.
            logger.debug("lab server %s: connection cancelled", name)
        finally:
            self._connections.discard(task)
            await connection.close(abort=self._stopping)


def _validate_names(names: Sequence[str]) -> tuple[str, ...]:
    """Return the names as a tuple, raising ValueError on an unknown, repeated or missing name."""
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of server names, not the string {names!r}")
    if not names:
        raise ValueError(f"no lab server named; valid names: {', '.join(ALL_SERVERS)}")

    for name in names:
        if name not in ALL_SERVERS:
            raise ValueError(f"unknown lab server {name!r}; valid names: {', '.join(ALL_SERVERS)}")

    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"lab server named more than once: {', '.join(repeated)}")
    return tuple(names)


def _validate_host(host: str) -> str:
    """Return `host` if it is a literal IP address, because a name could resolve to several."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"lab host must be an IP address such as 127.0.0.1 or ::1, got {host!r}"
        ) from None
    return host
