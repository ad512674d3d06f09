"""Start the console: prepare the database, start or attach to an engine, run the app."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import platformdirs

from nocwatch_tui.console.app import EngineMode, NocWatchApp, keymap_problems
from nocwatch_tui.console.themes import (
    default_theme_folders,
    initial_theme,
    load_themes,
    user_themes_dir,
)
from nocwatch_tui.engine.runtime import import_if_empty
from nocwatch_tui.engine.settings import Settings
from nocwatch_tui.engine.store import Store, now_ms
from nocwatch_tui.engine.targets import Target
from nocwatch_tui.i18n import _
from nocwatch_tui.parent_watch import child_environment

log = logging.getLogger("nocwatch.console")

ENGINE_STOP_TIMEOUT_S = 15.0
LAB_START_TIMEOUT_S = 15.0
LIVE_HEARTBEAT_MS = 5_000
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _prepare_database(db_path: Path, targets: Sequence[Target] | None) -> bool:
    """Create or migrate the database, import targets, and tell whether an engine owns it."""
    store = await Store.open(db_path)
    try:
        await import_if_empty(store, targets)
        status = await store.engine_status()
    finally:
        await store.close()
    return (
        status is not None
        and status.stopped_at_ms is None
        and now_ms() - status.heartbeat_at_ms < LIVE_HEARTBEAT_MS
        and _pid_alive(status.pid)
    )


def _python_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "nocwatch_tui", *arguments]


@contextmanager
def _engine_process(
    db_path: Path, settings_path: Path | None, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `nocwatch serve` on the database as a child process, stopping it on exit."""
    arguments = ["serve", "--db", str(db_path)]
    if settings_path is not None:
        arguments += ["--settings", str(settings_path)]
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
    look: ConsoleLook | None = None,
) -> int:
    """Run the console on a database, with its own engine unless one already runs there."""
    engine_running = asyncio.run(_prepare_database(db_path, targets))
    if log_path is None:
        log_path = platformdirs.user_log_path("nocwatch") / "engine.log"

    mode: EngineMode = "attached" if engine_running else "own"
    look = look or ConsoleLook(theme=settings.console.theme)
    app = NocWatchApp(
        db_path,
        window=window,
        operator=operator,
        engine_mode=mode,
        settings=settings,
        theme=look.theme,
        wall=look.wall,
    )
    if engine_running:
        yield_cpu_to_engine()
        app.run()
        return 0
    with _engine_process(db_path, settings_path, log_path):
        yield_cpu_to_engine()
        app.run()
    return 0


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
