"""Stop a child process of the console when the console itself goes away.

The console starts the engine and the lab in their own sessions, so a hang-up
of the terminal does not reach them. If the console dies without stopping them
(SIGHUP, SIGKILL), this watch sends SIGTERM to its own process, so the child
stops cleanly instead of running on as an orphan.
"""

import os
import signal
import threading
import time

PARENT_ENV = "NOCWATCH_EXIT_WITH_PARENT"
POLL_S = 1.0


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)


def start_parent_watch() -> None:
    """Start the watch if the environment names a parent process id."""
    value = os.environ.get(PARENT_ENV, "")
    if value.isdigit():
        threading.Thread(
            target=_watch, args=(int(value),), daemon=True, name="parent-watch"
        ).start()


def child_environment() -> dict[str, str]:
    """Return the environment for a child process that must stop with this one."""
    return {**os.environ, PARENT_ENV: str(os.getpid())}
