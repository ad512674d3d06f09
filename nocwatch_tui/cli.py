"""The `nocwatch` command line: console, demo, lab, serve, report, incidents and targets."""

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
from typing import TYPE_CHECKING

import platformdirs

from nocwatch_tui import __version__
from nocwatch_tui.engine.lease import LeaseLostError
from nocwatch_tui.engine.metrics_server import ListenError
from nocwatch_tui.engine.settings import (
    Settings,
    SettingsError,
    load_settings,
    target_defaults,
)
from nocwatch_tui.engine.store import StoreError
from nocwatch_tui.engine.targets import Target, TargetsFileError, load_targets_file
from nocwatch_tui.engine.windows import DEFAULT_WINDOW, WINDOWS_S
from nocwatch_tui.i18n import _
from nocwatch_tui.parent_watch import start_parent_watch

if TYPE_CHECKING:
    from nocwatch_tui.console.launch import ConsoleLook

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


def _console_options() -> argparse.ArgumentParser:
    console = argparse.ArgumentParser(add_help=False)
    console.add_argument(
        "--theme",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help=_(
            "console theme: noc-dark, noc-light, wall, mono or one of yours "
            "(default: the settings file's, or mono when NO_COLOR is set)"
        ),
    )
    console.add_argument(
        "--wall",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("start in the wall display"),
    )
    return console


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    common = _common_options()
    console = _console_options()
    parser = argparse.ArgumentParser(
        prog="nocwatch",
        description=_("Probe HTTP(S) targets and watch latency, jitter, loss and availability."),
        parents=[common, console],
    )
    parser.add_argument("--version", action="version", version=f"nocwatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "console", parents=[common, console], help=_("open the console (the default command)")
    )
    commands.add_parser(
        "demo",
        parents=[common, console],
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
        "--ca-file",
        type=Path,
        metavar="FILE",
        help=_("write the certificate authority of the TLS servers to FILE (PEM)"),
    )
    lab.add_argument(
        "--flap-period",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help=_("length of each healthy and failing period of the flapping server"),
    )
    serve = commands.add_parser(
        "serve", parents=[common], help=_("run the engine without a console")
    )
    serve.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=_(
            "address of /metrics and /health (default: [metrics] listen of the settings,"
            " 127.0.0.1:9464); `off` serves nothing"
        ),
    )
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
    incidents = commands.add_parser(
        "incidents", parents=[common], help=_("list incidents, newest first")
    )
    incidents.add_argument(
        "--open", action="store_true", help=_("list only incidents that are not resolved")
    )
    incidents.add_argument(
        "--format", choices=["table", "json"], default="table", help=_("output format")
    )
    incident_commands = incidents.add_subparsers(dest="incidents_command", metavar="ACTION")
    ack = incident_commands.add_parser(
        "ack", parents=[common], help=_("acknowledge an incident as --operator")
    )
    ack.add_argument("incident_id", type=int, metavar="ID", help=_("incident id"))
    ack.add_argument("--note", metavar="TEXT", help=_("note added to the incident"))
    _add_targets_parser(commands, common)
    return parser


def _add_targets_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
) -> None:
    targets = commands.add_parser(
        "targets", parents=[common], help=_("import, export or list the database's targets")
    )
    actions = targets.add_subparsers(dest="targets_action", metavar="ACTION", required=True)
    importing = actions.add_parser(
        "import",
        parents=[common],
        help=_("add the file's new targets and update those with the same name"),
    )
    importing.add_argument("file", type=Path, metavar="FILE", help=_("JSON targets file"))
    importing.add_argument(
        "--dry-run", action="store_true", help=_("report what would change, write nothing")
    )
    exporting = actions.add_parser(
        "export", parents=[common], help=_("write the targets as a JSON targets file")
    )
    exporting.add_argument(
        "file",
        type=Path,
        nargs="?",
        metavar="FILE",
        help=_("file to write, readable by its owner only (default: standard output)"),
    )
    exporting.add_argument(
        "--with-secrets",
        action="store_true",
        help=_("write header values as they are instead of masking them"),
    )
    actions.add_parser("list", parents=[common], help=_("print one line per target"))


def _fill_defaults(args: argparse.Namespace) -> argparse.Namespace:
    defaults = {
        "command": "console",
        "db": None,
        "targets": None,
        "settings": None,
        "window": DEFAULT_WINDOW,
        "operator": None,
        "verbose": False,
        "theme": None,
        "wall": False,
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
    # httpx logs every request at INFO with its URL, and aiosqlite logs every statement at
    # DEBUG with its parameters, target specs and their header values included. The engine
    # logs what matters itself.
    for noisy in ("httpx", "httpcore", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parse_listen(value: str, source: str) -> tuple[str, int] | None:
    """Parse HOST:PORT (`[::1]:9464` for IPv6), or `off`, into an address or None.

    `source` names where the value came from, for the error message.
    """
    if value.strip().lower() == "off":
        return None
    host, separator, port_text = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not separator or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(
            _("{source} {value!r}: expected HOST:PORT such as 127.0.0.1:9464, or off").format(
                source=source, value=value
            )
        )
    return host, int(port_text)


def _load_targets(path: Path | None, settings: Settings) -> list[Target] | None:
    if path is None:
        return None
    return load_targets_file(path, target_defaults(settings.defaults))


def _run_serve(args: argparse.Namespace) -> int:
    from nocwatch_tui.engine.runtime import run_serve

    _configure_logging(args.verbose)
    settings = _settings(args)
    targets = _load_targets(args.targets, settings)
    if args.listen is not None:
        listen = parse_listen(args.listen, "--listen")
    else:
        listen = parse_listen(settings.metrics.listen, "[metrics] listen")
    run_serve(args.db, targets, settings, listen)
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
    _require_db(args.db)

    async def report_text() -> str:
        store = await Store.open(args.db, create=False)
        try:
            report = await build_report(store, window_s, until_ms, settings.retention)
        finally:
            await store.close()
        return formats[args.format](report)

    print(asyncio.run(report_text()))
    return EXIT_OK


def _require_db(path: Path) -> None:
    if not path.exists():
        raise UsageError(
            _("{path}: database not found; pass --db or run `nocwatch serve` first").format(
                path=path
            )
        )


def _run_incidents(args: argparse.Namespace) -> int:
    from nocwatch_tui.engine import incident_list
    from nocwatch_tui.engine.incidents import list_incidents
    from nocwatch_tui.engine.store import Store

    _settings(args)
    _require_db(args.db)
    if getattr(args, "incidents_command", None) == "ack":
        return _run_acknowledge(args)

    async def incidents_text() -> str:
        store = await Store.open(args.db, create=False)
        try:
            incidents = await list_incidents(store, open_only=args.open)
        finally:
            await store.close()
        if args.format == "json":
            return incident_list.format_json(incidents)
        return incident_list.format_table(incidents)

    print(asyncio.run(incidents_text()))
    return EXIT_OK


def _run_acknowledge(args: argparse.Namespace) -> int:
    from nocwatch_tui.engine.incidents import IncidentNotFoundError, acknowledge
    from nocwatch_tui.engine.store import Store, now_ms

    note = args.note.strip() if args.note else None

    async def acknowledge_incident() -> str:
        store = await Store.open(args.db, create=False)
        try:
            incident, done = await acknowledge(
                store, args.incident_id, args.operator, now_ms(), note=note
            )
        except IncidentNotFoundError:
            raise UsageError(
                _("incident {id} not found; list them with `nocwatch incidents`").format(
                    id=args.incident_id
                )
            ) from None
        finally:
            await store.close()
        if done:
            message = _("incident {id} acknowledged by {operator}")
        else:
            message = _("incident {id} was already acknowledged by {operator}")
        lines = [message.format(id=incident.id, operator=incident.acknowledged_by)]
        if note:
            lines.append(_("note added to incident {id}").format(id=incident.id))
        return "\n".join(lines)

    print(asyncio.run(acknowledge_incident()))
    return EXIT_OK


def _run_lab(args: argparse.Namespace) -> int:
    from nocwatch_tui.lab import ALL_SERVERS, serve_lab

    names = list(ALL_SERVERS)
    if args.flap_period <= 0:
        raise UsageError(
            _("invalid --flap-period {value:g}: use a number of seconds above 0").format(
                value=args.flap_period
            )
        )
    if args.only is not None:
        names = [name.strip() for name in args.only.split(",") if name.strip()]
        if not names:
            raise UsageError(
                _("--only names no lab server; choose from: {choices}").format(
                    choices=", ".join(ALL_SERVERS)
                )
            )
        unknown = [name for name in names if name not in ALL_SERVERS]
        if unknown:
            raise UsageError(
                _("unknown lab server {name!r}; choose from: {choices}").format(
                    name=unknown[0], choices=", ".join(ALL_SERVERS)
                )
            )
    _configure_logging(args.verbose)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_lab(
                names,
                sys.stdout,
                args.format,
                flap_period_s=args.flap_period,
                ca_file=args.ca_file,
            )
        )
    return EXIT_OK


def _console_look(args: argparse.Namespace, settings: Settings) -> "ConsoleLook":
    """Check the theme and the keymap before the console starts, and return the look."""
    from nocwatch_tui.console.launch import ConsoleLookError, check_console_look

    try:
        return check_console_look(args.theme, settings, os.environ, wall=args.wall)
    except ConsoleLookError as error:
        raise UsageError(str(error)) from None


def _run_console(args: argparse.Namespace) -> int:
    from nocwatch_tui.console.launch import run_console

    settings = _settings(args)
    return run_console(
        db_path=args.db,
        targets=_load_targets(args.targets, settings),
        window=args.window,
        operator=args.operator,
        settings=settings,
        settings_path=args.settings,
        look=_console_look(args, settings),
    )


def _run_demo(args: argparse.Namespace) -> int:
    from nocwatch_tui.console.launch import run_demo

    settings = _settings(args)
    return run_demo(
        window=args.window,
        operator=args.operator,
        settings=settings,
        settings_path=args.settings,
        look=_console_look(args, settings),
    )


def _run_targets(args: argparse.Namespace) -> int:
    from nocwatch_tui import targets_cli

    _settings(args)
    if args.targets_action == "import":
        asyncio.run(
            targets_cli.import_targets(
                args.db,
                args.file,
                dry_run=args.dry_run,
                out=sys.stdout,
                defaults=target_defaults(_settings(args).defaults),
            )
        )
    elif args.targets_action == "export":
        count = asyncio.run(
            targets_cli.export_targets(args.db, args.file, with_secrets=args.with_secrets)
        )
        if args.file is not None:
            print(
                _("exported {count} targets to {path}").format(count=count, path=args.file),
                file=sys.stderr,
            )
    else:
        asyncio.run(targets_cli.list_targets(args.db, sys.stdout))
    return EXIT_OK


_COMMANDS = {
    "console": _run_console,
    "demo": _run_demo,
    "lab": _run_lab,
    "serve": _run_serve,
    "report": _run_report,
    "incidents": _run_incidents,
    "targets": _run_targets,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = _fill_defaults(build_parser().parse_args(argv))
    start_parent_watch()
    try:
        return _COMMANDS[args.command](args)
    except (UsageError, TargetsFileError, SettingsError, StoreError, ListenError) as error:
        print(_("nocwatch: error: {message}").format(message=error), file=sys.stderr)
        return EXIT_USAGE
    except LeaseLostError as error:
        print(_("nocwatch: error: {message}").format(message=error), file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of stdout (such as `head`) has gone; point stdout at /dev/null
        # so that the interpreter's final flush does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
