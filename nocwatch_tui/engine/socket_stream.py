"""An httpcore network backend on asyncio's own transports, with arrival times.

httpcore's default backend goes through anyio, which adds cancel scopes and
extra event-loop turns to connects, reads and writes. This backend hands
httpcore plain asyncio transports instead, and stamps every chunk of data with
the `perf_counter_ns` reading taken as the event loop receives it from the
socket. The prober reads those stamps for the first response byte and the last
body byte, so its figures leave out the time Python spends parsing and
scheduling after the bytes arrive.

It connects to addresses only: the prober resolves names itself.
"""

# httpcore's stream and backend interface passes each timeout as a parameter.
# ruff: noqa: ASYNC109

import asyncio
import collections
import ssl
import time
from collections.abc import Iterable
from typing import Any, cast

import httpcore

# Above this many unread bytes the transport stops reading from the socket.
_READ_AHEAD_LIMIT = 256 * 1024


class _Receiver(asyncio.Protocol):
    """Protocol that queues received data with its arrival time and wakes the waiting reader."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[tuple[bytes, int]] = collections.deque()
        self.buffered = 0
        self.first_data_ns: int | None = None
        self.eof = False
        self.lost: Exception | None = None
        self.closed = False
        self.paused_reading = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have asyncio.Transport's methods without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        if self.first_data_ns is None:
            self.first_data_ns = now
        self.chunks.append((data, now))
        self.buffered += len(data)
        if self.buffered > _READ_AHEAD_LIMIT and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_for_data(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def drained(self) -> None:
        if self._drain is not None and not self._drain.done():
            await self._drain


class AsyncioStream(httpcore.AsyncNetworkStream):
    """Connection whose reads return queued data and record when that data arrived."""

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self._transport = transport
        self._receiver = receiver
        self.last_read_arrived_ns: int | None = None
        """When the last byte handed out by `read` arrived from the socket."""

    @property
    def first_data_ns(self) -> int | None:
        """When the first byte of data (after any TLS handshake) arrived."""
        return self._receiver.first_data_ns

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        receiver = self._receiver
        if not receiver.chunks:
            if receiver.closed or receiver.eof:
                return self._end_of_data()
            try:
                async with asyncio.timeout(timeout):
                    await receiver.wait_for_data()
            except TimeoutError as error:
                raise httpcore.ReadTimeout(str(error)) from error
            if not receiver.chunks:
                return self._end_of_data()
        data, arrived_ns = receiver.chunks.popleft()
        if len(data) > max_bytes:
            receiver.chunks.appendleft((data[max_bytes:], arrived_ns))
            data = data[:max_bytes]
        receiver.buffered -= len(data)
        self.last_read_arrived_ns = arrived_ns
        if receiver.paused_reading and receiver.buffered <= _READ_AHEAD_LIMIT:
            receiver.paused_reading = False
            self._transport.resume_reading()
        return data

    def _end_of_data(self) -> bytes:
        lost = self._receiver.lost
        if lost is not None:
            raise httpcore.ReadError(str(lost) or type(lost).__name__) from lost
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._receiver.closed or self._transport.is_closing():
            lost = self._receiver.lost
            raise httpcore.WriteError("the connection is closed") from lost
        self._transport.write(buffer)
        try:
            async with asyncio.timeout(timeout):
                await self._receiver.drained()
        except TimeoutError as error:
            raise httpcore.WriteTimeout(str(error)) from error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        receiver = self._receiver
        if receiver.eof or receiver.closed or self._transport.is_closing():
            # uvloop logs a traceback when a TLS handshake starts on a closed transport.
            self._transport.abort()
            raise httpcore.ConnectError("the server closed the connection")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls_transport = await loop.start_tls(
                    self._transport, self._receiver, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as error:
            self._transport.abort()
            raise httpcore.ConnectTimeout(str(error)) from error
        except (OSError, ssl.SSLError) as error:
            self._transport.abort()
            raise httpcore.ConnectError(str(error)) from error
        except BaseException:
            self._transport.abort()
            raise
        if tls_transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._receiver.transport = tls_transport
        return AsyncioStream(tls_transport, self._receiver)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            receiver = self._receiver
            return bool(receiver.chunks) or receiver.eof or receiver.closed
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        return self._transport.get_extra_info(info)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Network backend that opens TCP connections to an address with `loop.create_connection`."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if socket_options:
            raise httpcore.ConnectError("socket options are not supported by this backend")
        loop = asyncio.get_running_loop()
        local_addr = None if local_address is None else (local_address, 0)
        try:
            async with asyncio.timeout(timeout):
                transport, receiver = await loop.create_connection(
                    _Receiver, host, port, local_addr=local_addr
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(str(error)) from error
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        return AsyncioStream(transport, receiver)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
