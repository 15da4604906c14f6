"""``chamberlain app-server`` / ``python -m chamberlain app-server``.

Only argparse is imported before the arguments are read; trio, msgspec and tomlkit load when the
server starts (start-up time is dominated by imports).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chamberlain", description="codex app-server compatible config server")
    sub = parser.add_subparsers(dest="command", required=True)
    app = sub.add_parser("app-server", help="run the JSON-RPC server")
    app.add_argument("--listen", default="stdio://", metavar="URL",
                     help="transport endpoint (default stdio://; the only one served so far)")
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
    app.add_argument("--max-frame-bytes", type=int, default=64 * 1024 * 1024, metavar="N",
                     help="largest incoming message in bytes; larger ones are dropped (default 64 MiB)")
    return parser


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


def _configure_logging(env: dict[str, str]) -> None:
    spec = env.get("CHAMBERLAIN_LOG") or env.get("RUST_LOG") or "warn"
    level = logging.WARNING
    for part in spec.split(","):
        target, _, value = part.strip().rpartition("=")
        if target in ("", "chamberlain") and value.lower() in _LEVELS:
            level = _LEVELS[value.lower()]
    handler = logging.StreamHandler(sys.stderr)
    if env.get("LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("chamberlain")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = dict(os.environ)
    _configure_logging(env)
    if args.listen not in ("stdio://", "stdio"):
        print(f"Error: --listen {args.listen} is not supported by this version of Chamberlain "
              "(stdio:// is)", file=sys.stderr)
        return 1
    codex_home = Path(env.get("CODEX_HOME") or Path.home() / ".codex").expanduser().absolute()
    system_dir = Path(args.system_config_dir or env.get(ENV_SYSTEM_DIR) or "/etc/codex").absolute()
    try:
        session_flags = _session_flags(args)
        codex_home.mkdir(parents=True, exist_ok=True)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Error: cannot create CODEX_HOME {codex_home}: {exc}", file=sys.stderr)
        return 1
    print(f"chamberlain app-server: CODEX_HOME={codex_home} (listening on stdio)", file=sys.stderr, flush=True)

    from chamberlain.actors.server import Server, Settings
    from chamberlain.errors import RequirementsError

    settings = Settings(codex_home, system_dir, session_flags, args.max_frame_bytes, env)
    server = Server(settings)
    try:
        server.check_startup()
    except RequirementsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return _run_stdio(server, args.max_frame_bytes)


def _run_stdio(server: Any, max_frame_bytes: int) -> int:
    import signal

    import trio
    from chamberlain.actors.transports import LineTransport

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)

            async def stop_on_signal() -> None:
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        logging.getLogger("chamberlain").info("stopping on signal %d", signum)
                        nursery.cancel_scope.cancel(reason=f"signal {signum}")
                        return

            nursery.start_soon(stop_on_signal)
            stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
            stdout = trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))
            async with stdin, stdout:
                await server.serve_connection(LineTransport(stdin, stdout, max_frame_bytes=max_frame_bytes))
            nursery.cancel_scope.cancel(reason="stdin closed")

    trio.run(serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
