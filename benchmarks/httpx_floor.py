"""A plain httpx loop with no NOC Watch code: the CPU floor of httpx itself.

Usage: python -m benchmarks.httpx_floor URL RATE SECONDS

Opens a new connection for every request, as the prober does, at RATE
requests a second for SECONDS (after one second of warm-up), on the event loop
the engine would use. Prints one JSON object: latencies in ms in start order
and the process's CPU seconds over the measured part.
"""

import asyncio
import json
import resource
import sys
import time

import httpx

from nocwatch_tui.engine.runtime import event_loop_factory


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drive(client: httpx.AsyncClient, url: str, rate: float, seconds: float) -> list[float]:
    count = int(rate * seconds)
    latencies: list[float] = [0.0] * count

    async def one(index: int) -> None:
        start = time.perf_counter_ns()
        response = await client.get(url)
        await response.aread()
        latencies[index] = (time.perf_counter_ns() - start) / 1e6

    started = time.perf_counter()
    tasks = []
    for index in range(count):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return latencies


async def _main(url: str, rate: float, seconds: float) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=5) as client:
        await _drive(client, url, rate, 1.0)
        cpu_before = _cpu_s()
        latencies = await _drive(client, url, rate, seconds)
        cpu_s = _cpu_s() - cpu_before
    print(json.dumps({"latencies_ms": latencies, "cpu_s": cpu_s}))


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
