"""The scripted behaviour of each lab server, so that probes meet known conditions."""

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from functools import partial

from nocwatch_tui.lab.connection import Behaviour, HttpConnection
from nocwatch_tui.lab.hostile import (
    bad_status_line,
    drip_body,
    endless_chunked,
    huge_body,
    rate_limited,
    redirect_loop,
    reset_mid_body,
)

logger = logging.getLogger("nocwatch.lab")

DEMO_SERVERS: tuple[str, ...] = (
    "steady",
    "jittery",
    "lossy",
    "slow",
    "flapping",
    "failing",
    "down",
)
TLS_SERVERS: tuple[str, ...] = ("tls-self-signed", "tls-expired", "tls-wrong-host", "tls-expiring")
IPV6_SERVERS: tuple[str, ...] = ("ipv6-only",)
HOSTILE_SERVERS: tuple[str, ...] = (
    "hang",
    "trickle",
    "close",
    "reset",
    "drip",
    "huge",
    "endless",
    "redirect-loop",
    "bad-status-line",
    "rate-limited",
    *TLS_SERVERS,
    *IPV6_SERVERS,
)
ALL_SERVERS: tuple[str, ...] = (*DEMO_SERVERS, *HOSTILE_SERVERS)

JITTERY_DELAY_RANGE_S = (0.02, 0.12)
LOSSY_DELAY_S = 0.03
SLOW_DELAY_S = 0.8
TRICKLE_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class BehaviourSettings:
    """Settings shared by the behaviours of one lab."""

    steady_delay_s: float
    flap_period_s: float
    started_at_s: float
    """`time.monotonic()` at lab start, where the first healthy flapping phase begins."""
    rng: random.Random


class DropSchedule:
    """Order of the lossy server's drops: `drops` of every `run` requests, shuffled.

    Loss is then exactly drops/run over each run and varies within it, so a test of
    50 requests gets drops without depending on luck.
    """

    def __init__(self, rng: random.Random, drops: int = 2, run: int = 10) -> None:
        self._rng = rng
        self._drops = drops
        self._run = run
        self._pending: list[bool] = []

    def next_is_drop(self) -> bool:
        """Draw the fate of the next request, reshuffling a new run when one is used up."""
        if not self._pending:
            self._pending = [True] * self._drops + [False] * (self._run - self._drops)
            self._rng.shuffle(self._pending)
        return self._pending.pop()


async def answer_after(
    connection: HttpConnection, delay_s: float, status_code: int, body: bytes
) -> bool:
    """Send a response once `delay_s` has passed since the request was read."""
    await asyncio.sleep(delay_s)
    await connection.send_response(status_code, body)
    return True


async def answer_jittery(connection: HttpConnection, rng: random.Random) -> bool:
    """Send 200 after a delay drawn uniformly from JITTERY_DELAY_RANGE_S."""
    return await answer_after(
        connection, rng.uniform(*JITTERY_DELAY_RANGE_S), 200, b"jittery: ok\n"
    )


async def answer_lossy(connection: HttpConnection, schedule: DropSchedule) -> bool:
    """Close the connection without a response when the schedule draws a drop, else send 200."""
    if schedule.next_is_drop():
        logger.debug("lab server %s: dropping the connection", connection.server_name)
        return False
    return await answer_after(connection, LOSSY_DELAY_S, 200, b"lossy: ok\n")


async def answer_flapping(connection: HttpConnection, started_at_s: float, period_s: float) -> bool:
    """Send 200 in even phases since lab start and 503 in odd ones."""
    phase = int((time.monotonic() - started_at_s) // period_s)
    if phase % 2 == 0:
        await connection.send_response(200, b"flapping: healthy phase\n")
    else:
        await connection.send_response(503, b"flapping: failing phase\n")
    return True


async def hang(connection: HttpConnection) -> bool:
    """Send nothing, and hold the connection until the client or the lab closes it."""
    await connection.wait_for_peer_close()
    return False


async def trickle(connection: HttpConnection) -> bool:
    """Send a valid 200 response one byte per TRICKLE_INTERVAL_S, then close."""
    data = connection.encode_response(200, b"trickle: ok\n")
    for index in range(len(data)):
        if index > 0:
            await asyncio.sleep(TRICKLE_INTERVAL_S)
        await connection.write_raw(data[index : index + 1])
    return False


async def close_at_once(connection: HttpConnection) -> bool:
    """Close the connection right after the request, without a response."""
    return False


def build_behaviour(name: str, settings: BehaviourSettings) -> Behaviour:
    """Return the behaviour of the server `name`, which `down` lacks because it never accepts."""
    match name:
        case "steady":
            return partial(
                answer_after, delay_s=settings.steady_delay_s, status_code=200, body=b"steady: ok\n"
            )
        case "jittery":
            return partial(answer_jittery, rng=settings.rng)
        case "lossy":
            return partial(answer_lossy, schedule=DropSchedule(settings.rng))
        case "slow":
            return partial(answer_after, delay_s=SLOW_DELAY_S, status_code=200, body=b"slow: ok\n")
        case "flapping":
            return partial(
                answer_flapping, started_at_s=settings.started_at_s, period_s=settings.flap_period_s
            )
        case "failing":
            return partial(
                answer_after,
                delay_s=0.0,
                status_code=500,
                body=b"failing: scripted internal server error\n",
            )
        case "hang":
            return hang
        case "trickle":
            return trickle
        case "close":
            return close_at_once
        case "reset":
            return reset_mid_body
        case "drip":
            return drip_body
        case "huge":
            return huge_body
        case "endless":
            return endless_chunked
        case "redirect-loop":
            return redirect_loop
        case "bad-status-line":
            return bad_status_line
        case "rate-limited":
            return rate_limited
        case _ if name in TLS_SERVERS or name in IPV6_SERVERS:
            # These differ in transport only: each answers like the steady server.
            return partial(
                answer_after, delay_s=settings.steady_delay_s, status_code=200, body=b"ok\n"
            )
    raise ValueError(
        f"lab server {name!r} has no behaviour; servers with one: "
        f"{', '.join(n for n in ALL_SERVERS if n != 'down')}"
    )
