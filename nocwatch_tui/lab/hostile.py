"""Behaviours of the hostile lab servers, which break HTTP in the ways real servers do."""

import asyncio
import socket
import struct

from nocwatch_tui.lab.connection import SERVER_HEADER, HttpConnection

DRIP_INTERVAL_S = 1.0
HUGE_BODY_BYTES = 1024**3
RESET_DECLARED_BYTES = 100_000
RESET_SENT_BYTES = 1_000
RETRY_AFTER_S = 120
_CHUNK = b"x" * 16_384
_DRIP_BODY = b"drip: one byte per second\n"


def _head(status_line: bytes, *headers: tuple[bytes, bytes]) -> bytes:
    """Frame a response head by hand, for responses that h11 would refuse to produce."""
    lines = [status_line, b"Server: " + SERVER_HEADER, b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def reset_mid_body(connection: HttpConnection) -> bool:
    """Declare a long body, send part of it, then reset the connection with RST."""
    head = _head(
        b"HTTP/1.1 200 OK",
        (b"Content-Type", b"text/plain"),
        (b"Content-Length", str(RESET_DECLARED_BYTES).encode("ascii")),
    )
    await connection.write_raw(head + b"r" * RESET_SENT_BYTES)
    # A zero linger time makes close() send RST instead of FIN.
    connection.set_socket_option(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await connection.close(abort=True)
    return False


async def drip_body(connection: HttpConnection) -> bool:
    """Send the head at once and then the body one byte per DRIP_INTERVAL_S."""
    head = _head(
        b"HTTP/1.1 200 OK",
        (b"Content-Type", b"text/plain"),
        (b"Content-Length", str(len(_DRIP_BODY)).encode("ascii")),
    )
    await connection.write_raw(head)
    for index in range(len(_DRIP_BODY)):
        await asyncio.sleep(DRIP_INTERVAL_S)
        await connection.write_raw(_DRIP_BODY[index : index + 1])
    return False


async def huge_body(connection: HttpConnection) -> bool:
    """Send a 200 with a body of HUGE_BODY_BYTES, as fast as the client reads it."""
    head = _head(
        b"HTTP/1.1 200 OK",
        (b"Content-Type", b"application/octet-stream"),
        (b"Content-Length", str(HUGE_BODY_BYTES).encode("ascii")),
    )
    await connection.write_raw(head)
    sent = 0
    while sent < HUGE_BODY_BYTES:
        chunk = _CHUNK[: HUGE_BODY_BYTES - sent]
        await connection.write_raw(chunk)
        sent += len(chunk)
    return False


async def endless_chunked(connection: HttpConnection) -> bool:
    """Send a chunked 200 whose chunks never end, until the client goes away."""
    head = _head(
        b"HTTP/1.1 200 OK",
        (b"Content-Type", b"text/plain"),
        (b"Transfer-Encoding", b"chunked"),
    )
    await connection.write_raw(head)
    framed = f"{len(_CHUNK):x}\r\n".encode("ascii") + _CHUNK + b"\r\n"
    while True:
        await connection.write_raw(framed)


async def redirect_loop(connection: HttpConnection) -> bool:
    """Redirect every request to its own path, so following the redirects never ends."""
    await connection.write_raw(
        _head(
            b"HTTP/1.1 302 Found",
            (b"Location", connection.request_target or b"/"),
            (b"Content-Length", b"0"),
        )
    )
    return False


async def bad_status_line(connection: HttpConnection) -> bool:
    """Send a status line that is not valid HTTP."""
    await connection.write_raw(b"HTTP/1.1 TWO HUNDRED ALRIGHT\r\nContent-Length: 0\r\n\r\n")
    return False


async def rate_limited(connection: HttpConnection) -> bool:
    """Send 429 Too Many Requests with a Retry-After header."""
    body = b"rate-limited: slow down\n"
    await connection.write_raw(
        _head(
            b"HTTP/1.1 429 Too Many Requests",
            (b"Retry-After", str(RETRY_AFTER_S).encode("ascii")),
            (b"Content-Type", b"text/plain"),
            (b"Content-Length", str(len(body)).encode("ascii")),
        )
        + body
    )
    return False
