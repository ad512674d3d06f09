"""Start the console: prepare the database, start or attach to an engine, run the app."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

from nocwatch_tui.console.app import NocWatchApp, keymap_problems
from nocwatch_tui.console.themes import (
    default_theme_folders,
    initial_theme,
    load_themes,
    user_themes_dir,
)
from nocwatch_tui.engine.lease import is_live
from nocwatch_tui.engine.runtime import import_if_empty
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import EngineLease, Store, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.i18n import _
from nocwatch_tui.parent_watch import child_environment

log = logging.getLogger("nocwatch.console")

ENGINE_STOP_TIMEOUT_S = 15.0
LAB_START_TIMEOUT_S = 15.0
ENGINE_START_TIMEOUT_S = 15.0
ENGINE_POLL_S = 0.1
OWN_ENGINE_LISTEN = "127.0.0.1:0"
DEMO_INTERVAL_S = 2.0
DEMO_TIMEOUT_S = 1.5
# The console runs at this much lower CPU priority than the engine, so that on
# a busy machine the kernel runs a probe's wake-up before a repaint.
CONSOLE_NICENESS = 10


class ConsoleLookError(Exception):
    """A theme or keymap that the console cannot use; the message names it and the fix."""


@dataclass(frozen=True)
class ConsoleLook:
    """The theme the console starts with and whether it starts in the wall display."""

    theme: str
    wall: bool = False


def check_console_look(
    requested_theme: str | None,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    wall: bool = False,
) -> ConsoleLook:
    """Choose the starting theme and check it and the keymap before the console starts.

    A theme whose file exists but does not load is accepted: the console
    reports the file and falls back to the default theme.
    """
    from textual.theme import BUILTIN_THEMES

    name = initial_theme(requested_theme, settings.console, environ)
    themes = load_themes(default_theme_folders())
    known = set(themes.themes) | set(BUILTIN_THEMES)
    if name not in known and name not in themes.broken_names:
        raise ConsoleLookError(
            _("theme {name!r} not found; choose from {choices}, or add {path}").format(
                name=name,
                choices=", ".join(sorted(themes.themes)),
                path=user_themes_dir() / f"{name}.toml",
            )
        )
    problems = keymap_problems(settings.keymap)
    if problems:
        raise ConsoleLookError(problems[0])
    return ConsoleLook(theme=name, wall=wall)


async def _prepare_database(db_path: Path, targets: Sequence[Target] | None) -> EngineLease | None:
    """Create or migrate the database, import targets, and return the live engine lease if any."""
    store = await Store.open(db_path)
    try:
        await import_if_empty(store, targets)
        lease = await store.read_lease()
    finally:
        await store.close()
    return lease if lease is not None and is_live(lease, now_ms()) else None


async def _wait_for_engine(
    db_path: Path, child: subprocess.Popen[bytes], timeout_s: float
) -> EngineLease | None:
    """Wait until an engine holds the lease: the child, or another one that won the race.

    Returns None when the child stopped or the time ran out with no live lease.
    """
    store = await Store.open(db_path, create=False)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            lease = await store.read_lease()
            live = lease is not None and is_live(lease, now_ms())
            if live and lease is not None and (lease.pid == child.pid or child.poll() is not None):
                return lease
            if child.poll() is not None and not live:
                return None
            await asyncio.sleep(ENGINE_POLL_S)
    finally:
        await store.close()
    return None


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _python_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "nocwatch_tui", *arguments]


@contextmanager
def _engine_process(
    db_path: Path, settings_path: Path | None, log_path: Path, listen: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `nocwatch serve` on the database as a child process, stopping it on exit."""
    arguments = ["serve", "--db", str(db_path)]
    if settings_path is not None:
        arguments += ["--settings", str(settings_path)]
    arguments += ["--listen", listen]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        # A new session keeps the terminal's ctrl+c away from the engine, which
        # the console stops itself so that pending samples are written.
        child = subprocess.Popen(
            _python_command(*arguments),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            env=child_environment(),
        )
    try:
        yield child
    finally:
        _stop_process(child)


def _stop_process(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=ENGINE_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        log.error(
            "process %d did not stop within %g s; killing it", child.pid, ENGINE_STOP_TIMEOUT_S
        )
        child.kill()
        child.wait()


def yield_cpu_to_engine() -> None:
    """Lower this process's CPU priority; call it after starting the engine, which keeps its own."""
    try:
        os.nice(CONSOLE_NICENESS)
    except OSError as error:
        log.warning("cannot lower the console's CPU priority: %s", error)


def run_console(
    db_path: Path,
    targets: Sequence[Target] | None,
    window: str,
    operator: str,
    settings: Settings,
    settings_path: Path | None = None,
    log_path: Path | None = None,
    listen: str = OWN_ENGINE_LISTEN,
    look: ConsoleLook | None = None,
) -> int:
    """Run the console on a database, attached to its engine or with an engine of its own.

    `listen` is the metrics address of an engine the console starts. By default
    it is any free loopback port, because that engine stops with the console
    and must not take the fixed port of a `nocwatch serve` on another database.
    """
    holder = asyncio.run(_prepare_database(db_path, targets))
    if holder is not None:
        log.info("attaching to the engine of %s (pid %d on %s)", db_path, holder.pid, holder.host)
        yield_cpu_to_engine()
        _app(db_path, window, operator, settings, look, engine_pid=None).run()
        return 0

    if log_path is None:
        log_path = platformdirs.user_log_path("nocwatch") / "engine.log"
    with _engine_process(db_path, settings_path, log_path, listen) as child:
        holder = asyncio.run(_wait_for_engine(db_path, child, ENGINE_START_TIMEOUT_S))
        if holder is None:
            print(
                _("nocwatch: the engine did not start ({reason}); see {log}").format(
                    reason=_last_line(log_path) or _("no message"), log=log_path
                ),
                file=sys.stderr,
            )
            return 1
        engine_pid = child.pid if holder.pid == child.pid else None
        yield_cpu_to_engine()
        _app(db_path, window, operator, settings, look, engine_pid=engine_pid).run()
    return 0


def _app(
    db_path: Path,
    window: str,
    operator: str,
    settings: Settings,
    look: ConsoleLook | None,
    engine_pid: int | None,
) -> NocWatchApp:
    look = look or ConsoleLook(theme=settings.console.theme)
    return NocWatchApp(
        db_path,
        window=window,
        operator=operator,
        engine_pid=engine_pid,
        settings=settings,
        theme=look.theme,
        wall=look.wall,
    )


def _read_lab_urls(lab: subprocess.Popen[str]) -> dict[str, str]:
    """Read the lab's one-line JSON of URLs, failing if it does not come in time."""
    assert lab.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(_first_line(lab.stdout)), daemon=True)
    reader.start()
    reader.join(LAB_START_TIMEOUT_S)
    if not lines or not lines[0].strip():
        raise RuntimeError(
            _("the lab did not start within {seconds:g} s").format(seconds=LAB_START_TIMEOUT_S)
        )
    urls = json.loads(lines[0])
    assert isinstance(urls, dict)
    return {str(name): str(url) for name, url in urls.items()}


def _first_line(stream: IO[str] | None) -> str:
    return stream.readline() if stream is not None else ""


def lab_targets(urls: dict[str, str]) -> list[Target]:
    """Return one demo target per lab server."""
    return [
        Target(
            name=name,
            url=url,
            interval_s=DEMO_INTERVAL_S,
            timeout_s=DEMO_TIMEOUT_S,
            tags=["lab"],
        )
        for name, url in urls.items()
    ]


def run_demo(
    window: str,
    operator: str,
    settings: Settings,
    settings_path: Path | None = None,
    look: ConsoleLook | None = None,
) -> int:
    """Start the lab, then run the console on it with a temporary database."""
    from nocwatch_tui.lab import DEMO_SERVERS

    with tempfile.TemporaryDirectory(prefix="nocwatch-demo-") as folder:
        workdir = Path(folder)
        with (workdir / "lab.log").open("w") as lab_log:
            lab = subprocess.Popen(
                _python_command("lab", "--format", "json", "--only", ",".join(DEMO_SERVERS)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=lab_log,
                text=True,
                start_new_session=True,
                env=child_environment(),
            )
        try:
            targets = lab_targets(_read_lab_urls(lab))
            return run_console(
                workdir / "demo.db",
                targets,
                window,
                operator,
                settings,
                settings_path,
                log_path=workdir / "engine.log",
                look=look,
            )
        finally:
            if lab.poll() is None:
                lab.terminate()
                lab.wait(timeout=ENGINE_STOP_TIMEOUT_S)
