"""``chamberlain app-server`` / ``python -m chamberlain app-server``.

Only argparse is imported before the arguments are read; trio, msgspec and tomlkit load when the
server starts (start-up time is dominated by imports).

Exit status: 0 normal stop, 1 refused start, 2 usage error (``EXIT_*``). With ``LOG_FORMAT=json``
every line this process writes on stderr is one JSON object, argparse's errors included (``--help``
and ``--version`` print plain text on stdout).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NoReturn

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE"]

#: Exit statuses: a normal stop (EOF on stdin, SIGINT, SIGTERM), a refused start (invalid
#: requirements, malformed ``-c``, an unsupported transport), a usage error (argparse's own).
EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2

ENV_SYSTEM_DIR = "CHAMBERLAIN_SYSTEM_CONFIG_DIR"
_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
    "off": logging.CRITICAL + 10,
}


class _UsageError(Exception):
    """A start-up error that is the user's to fix in the command or environment (exit 2)."""


def _json_output(env: Mapping[str, str]) -> bool:
    return env.get("LOG_FORMAT", "").lower() == "json"


def _record(level: str, message: str, target: str = "chamberlain") -> str:
    out = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"), "level": level, "target": target, "message": message}
    return json.dumps(out)


def _say(level: str, message: str) -> None:
    """One line on stderr from the CLI itself: plain text, or a JSON record with LOG_FORMAT=json."""
    text = _record(level, message) if _json_output(os.environ) else message
    print(text, file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors are JSON records when LOG_FORMAT=json (exit 2 either way)."""

    def error(self, message: str) -> NoReturn:
        if _json_output(os.environ):
            text = f"{self.prog}: error: {message}"
            print(_record("ERROR", text, "chamberlain.cli"), file=sys.stderr)
            print(_record("INFO", self.format_usage().strip(), "chamberlain.cli"), file=sys.stderr)
            sys.exit(EXIT_USAGE)
        super().error(message)


def _frame_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port (0 = any free port), got {value}")
    return value


def _version() -> str:
    from chamberlain import REFERENCE_VERSION, __version__

    return f"chamberlain {__version__} (codex-cli {REFERENCE_VERSION} wire protocol)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chamberlain", description="codex app-server compatible config server")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    app = sub.add_parser("app-server", help="run the JSON-RPC server")
    app.add_argument("--listen", default="stdio://", metavar="URL",
                     help="transport endpoint: stdio:// (default), ws://IP:PORT (port 0 = any free port), "
                          "unix:// or unix://PATH")
    app.add_argument("--stdio", action="store_const", const="stdio://", dest="listen",
                     help="use stdio (same as --listen stdio://)")
    app.add_argument("-c", "--config", action="append", default=[], metavar="key=value", dest="overrides",
                     help="override a config value for this server (the sessionFlags layer); value parsed as TOML")
    app.add_argument("--enable", action="append", default=[], metavar="FEATURE", dest="enable",
                     help="same as -c features.FEATURE=true (repeatable)")
    app.add_argument("--disable", action="append", default=[], metavar="FEATURE", dest="disable",
                     help="same as -c features.FEATURE=false (repeatable)")
    app.add_argument("--system-config-dir", metavar="DIR", default=None,
                     help=f"directory of config.toml, managed_config.toml and requirements.toml "
                          f"(default: ${ENV_SYSTEM_DIR}, else /etc/codex)")
    app.add_argument("--max-frame-bytes", type=_frame_limit, default=64 * 1024 * 1024, metavar="N",
                     help="largest incoming message in bytes (> 0); larger ones are dropped (default 64 MiB)")
    app.add_argument("--login-callback-port", type=_port, default=None, metavar="PORT",
                     help="port of the browser login's loopback callback (0 = any free port; "
                          "default: 1455, then 1457, as codex)")
    from chamberlain.actors.ws_auth import add_ws_auth_arguments

    add_ws_auth_arguments(app)  # --ws-auth and its flags (config.md §11.4)
    return parser


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse; an unknown argument after ``app-server`` is reported with the ``app-server`` usage."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[command]
    return found


def _app_server_error(message: str) -> NoReturn:
    """A usage error of ``app-server`` (its usage, then the message; exit 2)."""
    _command_parser(build_parser(), "app-server").error(message)


def _session_flags(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    flags: list[tuple[str, str]] = []
    for raw in args.overrides:
        key, sep, value = raw.partition("=")
        if not sep:
            raise SystemExit(f"Error: error parsing -c overrides: Invalid override (missing '='): {raw}")
        if not key.strip():
            raise SystemExit(f"Error: error parsing -c overrides: Empty key in override: {raw}")
        flags.append((key.strip(), value))
    flags += [(f"features.{name}", "true") for name in args.enable]
    flags += [(f"features.{name}", "false") for name in args.disable]
    return tuple(flags)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "target": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out)


def _log_levels(env: Mapping[str, str]) -> dict[str, int]:
    """Logger name -> level from CHAMBERLAIN_LOG (strict: an unknown level is a usage error), else
    RUST_LOG (lenient: it is shared with other programs, so directives for them are skipped)."""
    strict = bool(env.get("CHAMBERLAIN_LOG"))
    spec = env.get("CHAMBERLAIN_LOG") or env.get("RUST_LOG") or "warn"
    levels = {"chamberlain": logging.WARNING}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        target, _, value = part.rpartition("=")
        target = target or "chamberlain"
        level = _LEVELS.get(value.lower())
        known = target == "chamberlain" or target.startswith("chamberlain.")
        if strict and (level is None or not known):
            raise _UsageError(
                f"Error: CHAMBERLAIN_LOG: cannot use `{part}`: expected [chamberlain[.module]=]LEVEL, "
                f"LEVEL one of {', '.join(_LEVELS)}"
            )
        if level is not None and known:
            levels[target] = level
    return levels


def _configure_logging(env: Mapping[str, str]) -> None:
    levels = _log_levels(env)
    handler = logging.StreamHandler(sys.stderr)
    if _json_output(env):
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("chamberlain")
    root.handlers[:] = [handler]
    root.propagate = False
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    try:
        _configure_logging(env)
    except _UsageError as exc:
        _say("ERROR", str(exc))
        return EXIT_USAGE
    args = _parse(argv)
    from chamberlain.actors.ws_auth import WsAuthError, ws_auth_from_args
    from chamberlain.cli_listen import STDIO, ListenUsageError, parse_listen

    try:
        listen = parse_listen(args.listen)
        ws_auth = ws_auth_from_args(args, Path.cwd())  # reads the token or secret file now
    except ListenUsageError as exc:
        _app_server_error(f"argument --listen: {exc}")
    except (ValueError, WsAuthError) as exc:
        _say("ERROR", f"Error: {exc}")
        return EXIT_REFUSED
    codex_home = Path(env.get("CODEX_HOME") or Path.home() / ".codex").expanduser().absolute()
    system_dir = Path(args.system_config_dir or env.get(ENV_SYSTEM_DIR) or "/etc/codex").absolute()
    try:
        session_flags = _session_flags(args)
        codex_home.mkdir(parents=True, exist_ok=True)
    except SystemExit as exc:
        _say("ERROR", str(exc))
        return EXIT_REFUSED
    except OSError as exc:
        _say("ERROR", f"Error: cannot create CODEX_HOME {codex_home}: {exc}")
        return EXIT_REFUSED

    from chamberlain.actors.server import Server, Settings
    from chamberlain.errors import RequirementsError

    settings = Settings(codex_home, system_dir, session_flags, args.max_frame_bytes, env,
                        login_callback_port=args.login_callback_port)
    server = Server(settings)
    try:
        server.check_startup()
    except RequirementsError as exc:
        _say("ERROR", f"Error: {exc}")
        return EXIT_REFUSED
    if listen.kind != STDIO:
        return _run_listener(server, listen, codex_home, _upgrade_check(ws_auth))
    _say("INFO", f"chamberlain app-server: CODEX_HOME={codex_home} (listening on stdio)")
    from chamberlain.cli_listen import run_listener

    run_listener(server, listen, codex_home)
    return EXIT_OK


def _upgrade_check(ws_auth: Any) -> Any:
    """The listener's auth hook for ``--ws-auth`` (None without it: loopback only)."""
    if ws_auth is None:
        return None
    import time

    from chamberlain.actors.ws_auth import check_upgrade

    return lambda headers: check_upgrade(ws_auth, headers, time.time())


def _run_listener(server: Any, listen: Any, codex_home: Path, upgrade_check: Any) -> int:
    from chamberlain.actors.unix_listener import ControlSocketInUse
    from chamberlain.actors.ws_transport import NonLoopbackWithoutAuth
    from chamberlain.cli_listen import run_listener

    refusals: list[BaseException] = []
    try:
        run_listener(server, listen, codex_home, upgrade_check)
    except* (NonLoopbackWithoutAuth, ControlSocketInUse, OSError) as group:
        refusals += group.exceptions
    for exc in refusals:
        _say("ERROR", f"Error: {exc}")
    return EXIT_REFUSED if refusals else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
