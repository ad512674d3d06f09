"""One accepted lab connection, with h11 parsing requests and framing responses."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

import h11

logger = logging.getLogger("nocwatch.lab")

READ_SIZE = 65_536
"""Maximum bytes taken from the socket in one read."""

SERVER_HEADER = b"nocwatch-lab"

Behaviour = Callable[["HttpConnection"], Awaitable[bool]]
"""Coroutine that serves one request that has been read in full, and returns whether the
connection may carry another request."""


class HttpConnection:
    """Server side of one TCP connection, so that behaviours never touch HTTP framing."""

    def __init__(
        self, server_name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server_name = server_name
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER)
        self._request_method: bytes | None = None
        self.request_target: bytes | None = None
        """Path and query of the request being served."""

    async def read_request(self) -> h11.Request | None:
        """Read one whole request, body included, so that a later close sends FIN, not RST.

        Returns None when the client closed the connection or sent a malformed request,
        which gets an error response first.
        """
        request: h11.Request | None = None
        self._request_method = None
        try:
            while True:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    self._h11.receive_data(await self._reader.read(READ_SIZE))
                elif isinstance(event, h11.Request):
                    request = event
                    self._request_method = event.method
                    self.request_target = event.target
                elif isinstance(event, h11.EndOfMessage):
                    return request
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return None
        except h11.RemoteProtocolError as error:
            logger.debug("lab server %s: malformed request: %s", self.server_name, error)
            await self._reject(error.error_status_hint)
            return None

    def encode_response(self, status_code: int, body: bytes, *, close: bool = False) -> bytes:
        """Frame a whole text/plain response without sending it, for callers that pace bytes."""
        headers = [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode("ascii")),
            (b"Server", SERVER_HEADER),
        ]
        if close:
            headers.append((b"Connection", b"close"))
        reason = HTTPStatus(status_code).phrase.encode("ascii")
        data = self._encode(h11.Response(status_code=status_code, headers=headers, reason=reason))

        # A response to HEAD declares the body's length but carries no body.
        if self._request_method != b"HEAD":
            data += self._encode(h11.Data(data=body))

        return data + self._encode(h11.EndOfMessage())

    async def send_response(self, status_code: int, body: bytes) -> None:
        """Send a complete text/plain response at once."""
        await self.write_raw(self.encode_response(status_code, body))

    async def write_raw(self, data: bytes) -> None:
        """Send bytes as they are, bypassing h11, for the behaviours that break HTTP on purpose."""
        self._writer.write(data)
        await self._writer.drain()

    def set_socket_option(self, level: int, option: int, value: bytes) -> None:
        """Set an option on the connection's socket, such as SO_LINGER before a reset."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(level, option, value)

    async def wait_for_peer_close(self) -> None:
        """Read and discard whatever the client sends until it closes its side."""
        while await self._reader.read(READ_SIZE):
            pass

    def start_next_request(self) -> bool:
        """Prepare h11 for another request, and return whether keep-alive allows one."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    async def close(self, *, abort: bool = False) -> None:
        """Close the connection, with `abort` dropping unsent bytes so that stopping never waits."""
        if abort:
            self._writer.transport.abort()
        else:
            self._writer.close()

        try:
            await self._writer.wait_closed()
        except OSError as error:
            logger.debug("lab server %s: close failed: %r", self.server_name, error)
        except asyncio.CancelledError:
            self._writer.transport.abort()
            raise

    async def _reject(self, status_code: int) -> None:
        """Send the error status that h11 suggests for a malformed request, if still allowed."""
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return

        body = f"{status_code} {HTTPStatus(status_code).phrase}\n".encode("ascii")
        data = self.encode_response(status_code, body, close=True)
        try:
            await self.write_raw(data)
        except OSError as error:
            logger.debug("lab server %s: error response failed: %r", self.server_name, error)

    def _encode(self, event: h11.Event) -> bytes:
        """Return the bytes for `event`, where h11 returns None only for ConnectionClosed."""
        return self._h11.send(event) or b""


async def serve_connection(connection: HttpConnection, behaviour: Behaviour) -> None:
    """Run `behaviour` for each request on the connection until either side ends it."""
    while True:
        request = await connection.read_request()
        if request is None:
            return

        logger.debug(
            "lab server %s: %s %s",
            connection.server_name,
            request.method.decode("ascii", "replace"),
            request.target.decode("ascii", "replace"),
        )
        if not await behaviour(connection):
            return

        if not connection.start_next_request():
            return
