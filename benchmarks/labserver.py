"""Run one steady lab server in its own process, for the benchmarks.

Prints the server's URL on one line, then serves until SIGTERM or SIGINT.
"""

import asyncio
import signal
import sys

from nocwatch_tui.lab import Lab


async def _serve(delay_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    async with Lab(["steady"], steady_delay_s=delay_s) as lab:
        print(lab.urls["steady"], flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_serve(float(sys.argv[1])))
