"""The `nocwatch` command line: console, demo, lab, serve and report."""

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

from nocwatch_tui import __version__
from nocwatch_tui.engine.settings import Settings, SettingsError, load_settings
from nocwatch_tui.engine.store import StoreError
from nocwatch_tui.engine.targets import Target, TargetsFileError, load_targets_file
from nocwatch_tui.engine.windows import DEFAULT_WINDOW, WINDOWS_S
from nocwatch_tui.i18n import _
from nocwatch_tui.parent_watch import start_parent_watch

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger("nocwatch")


class UsageError(Exception):
    """Invalid usage or configuration; the message names the value and the fix."""


def default_db_path() -> Path:
    """Return the database path from NOCWATCH_DB or the XDG data folder."""
    from_env = os.environ.get("NOCWATCH_DB")
    if from_env:
        return Path(from_env)
    return platformdirs.user_data_path("nocwatch") / "nocwatch.db"


def default_operator() -> str:
    """Return the login name of the person running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _common_options() -> argparse.ArgumentParser:
    # Defaults are SUPPRESS so that an option given before the command is not
    # overwritten by the command's own copy of it; `_fill_defaults` sets them.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help=_("SQLite database file (default: $NOCWATCH_DB or the XDG data folder)"),
    )
    common.add_argument(
        "--targets",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help=_("JSON targets file, imported when the database has no targets yet"),
    )
    common.add_argument(
        "--settings",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help=_("TOML settings file (default: $NOCWATCH_SETTINGS or the XDG config folder)"),
    )
    common.add_argument(
        "--window",
        choices=list(WINDOWS_S),
        default=argparse.SUPPRESS,
        help=_("statistics window (default: {default})").format(default=DEFAULT_WINDOW),
    )
    common.add_argument(
        "--operator",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help=_("name recorded on acknowledgements (default: your login name)"),
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("log debug messages"),
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="nocwatch",
        description=_("Probe HTTP(S) targets and watch latency, jitter, loss and availability."),
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"nocwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "console", parents=[common], help=_("open the console (the default command)")
    )
    commands.add_parser(
        "demo",
        parents=[common],
        help=_("start the local lab and open the console on it with a temporary database"),
    )
    lab = commands.add_parser("lab", parents=[common], help=_("run the lab servers alone"))
    lab.add_argument(
        "--format", choices=["text", "json"], default="text", help=_("how to print the URLs")
    )
    lab.add_argument(
        "--only", metavar="NAMES", help=_("comma-separated lab servers to run (default: all)")
    )
    lab.add_argument(
        "--flap-period",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help=_("length of each healthy and failing period of the flapping server"),
    )
    commands.add_parser("serve", parents=[common], help=_("run the engine without a console"))
    report = commands.add_parser(
        "report", parents=[common], help=_("print per-target window statistics")
    )
    report.add_argument(
        "--format", choices=["table", "json", "csv"], default="table", help=_("output format")
    )
    report.add_argument(
        "--from",
        dest="from_time",
        metavar="TIME",
        help=_("start of a past window, ISO 8601 in UTC such as 2026-12-01T00:00:00Z"),
    )
    report.add_argument(
        "--to",
        dest="to_time",
        metavar="TIME",
        help=_("end of the window, ISO 8601 in UTC (default: --from plus --window, or now)"),
    )
    return parser


def _fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    defaults = {
        "command": "console",
        "db": None,
        "targets": None,
        "settings": None,
        "window": DEFAULT_WINDOW,
        "operator": None,
        "verbose": False,
    }
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.db is None:
        args.db = default_db_path()
    if args.operator is None:
        args.operator = default_operator()
    return args


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.settings)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO with its URL; the engine logs what matters itself.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load_targets(path: Path | None) -> list[Target] | None:
    return None if path is None else load_targets_file(path)


def _run_serve(args: argparse.Namespace) -> int:
    from nocwatch_tui.engine.runtime import serve

    _configure_logging(args.verbose)
    targets = _load_targets(args.targets)
    asyncio.run(serve(args.db, targets, _settings(args)))
    return EXIT_OK


def parse_utc(text: str, option: str) -> int:
    """Parse an ISO 8601 time into UTC epoch milliseconds; no offset means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            _(
                "{option} {value!r}: not an ISO 8601 time; use a form like 2026-12-01T00:00:00Z"
            ).format(option=option, value=text)
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def report_span(args: argparse.Namespace, now: int) -> tuple[int, int]:
    """Return the report window's length in seconds and its end, from --window, --from and --to."""
    window_s = WINDOWS_S[args.window]
    from_ms = None if args.from_time is None else parse_utc(args.from_time, "--from")
    to_ms = None if args.to_time is None else parse_utc(args.to_time, "--to")
    if from_ms is not None and to_ms is not None:
        if to_ms <= from_ms:
            raise UsageError(
                _("--to {to} is not after --from {start}; swap them or pick other times").format(
                    to=args.to_time, start=args.from_time
                )
            )
        return (to_ms - from_ms) // 1000, from_ms + (to_ms - from_ms) // 1000 * 1000
    if from_ms is not None:
        return window_s, from_ms + window_s * 1000
    return window_s, now if to_ms is None else to_ms


def _run_report(args: argparse.Namespace) -> int:
    from nocwatch_tui.engine.report import build_report, format_csv, format_json, format_table
    from nocwatch_tui.engine.store import Store, now_ms

    settings = _settings(args)
    window_s, until_ms = report_span(args, now_ms())
    if window_s <= 0:
        raise UsageError(_("--from and --to are less than a second apart; widen the window"))
    formats = {"json": format_json, "csv": format_csv, "table": format_table}
    if not args.db.exists():
        raise UsageError(
            _("{path}: database not found; pass --db or run `nocwatch serve` first").format(
                path=args.db
            )
        )

    async def report_text() -> str:
        store = await Store.open(args.db, create=False)
        try:
            report = await build_report(store, window_s, until_ms, settings.retention)
        finally:
            await store.close()
        return formats[args.format](report)

    print(asyncio.run(report_text()))
    return EXIT_OK


def _run_lab(args: argparse.Namespace) -> int:
    from nocwatch_tui.lab import ALL_SERVERS, serve_lab

    names = list(ALL_SERVERS)
    if args.only:
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in names if name not in ALL_SERVERS]
        if unknown:
            raise UsageError(
                _("unknown lab server {name!r}; choose from: {choices}").format(
                    name=unknown[0], choices=", ".join(ALL_SERVERS)
                )
            )
    _configure_logging(args.verbose)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_lab(names, sys.stdout, args.format, flap_period_s=args.flap_period))
    return EXIT_OK


def _run_console(args: argparse.Namespace) -> int:
    from nocwatch_tui.console.launch import run_console

    return run_console(
        db_path=args.db,
        targets=_load_targets(args.targets),
        window=args.window,
        operator=args.operator,
        settings=_settings(args),
        settings_path=args.settings,
    )


def _run_demo(args: argparse.Namespace) -> int:
    from nocwatch_tui.console.launch import run_demo

    return run_demo(
        window=args.window,
        operator=args.operator,
        settings=_settings(args),
        settings_path=args.settings,
    )


_COMMANDS = {
    "console": _run_console,
    "demo": _run_demo,
    "lab": _run_lab,
    "serve": _run_serve,
    "report": _run_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = _fill_defaults(build_parser().parse_args(argv))
    start_parent_watch()
    try:
        return _COMMANDS[args.command](args)
    except (UsageError, TargetsFileError, SettingsError, StoreError) as error:
        print(_("nocwatch: error: {message}").format(message=error), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
