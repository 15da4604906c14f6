"""``--listen``: which transport the CLI serves (config.md §11.1) and how it runs it.

``parse_listen`` turns the URL into a ``Listen`` (or raises ``ValueError`` with the message the
CLI prints); ``run_listener`` serves a WebSocket or unix-socket listener until SIGINT/SIGTERM. The
WebSocket banner on stderr is the reference's, word for word.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from chamberlain.actors.server import Server
    from chamberlain.actors.ws_http import CheckUpgrade

__all__ = ["Listen", "parse_listen", "run_listener", "websocket_banner"]

STDIO: Final = "stdio"
WEBSOCKET: Final = "ws"
UNIX: Final = "unix"


@dataclass(frozen=True, slots=True)
class Listen:
    kind: str  # STDIO, WEBSOCKET or UNIX
    host: str = ""
    port: int = 0
    path: Path | None = None  # UNIX; None = the default path under CODEX_HOME


def _host_port(rest: str, url: str) -> tuple[str, int]:
    host, sep, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        value = int(port)
    except ValueError:
        raise ValueError(f"invalid websocket --listen address `{url}`: expected ws://IP:PORT") from None
    if not sep or not 0 <= value <= 65535:
        raise ValueError(f"invalid websocket --listen address `{url}`: expected ws://IP:PORT")
    return host, value


def parse_listen(url: str) -> Listen:
    """``stdio://``/``stdio``, ``ws://IP:PORT`` (port 0 = any free port), ``unix://``, ``unix://PATH``."""
    if url in ("stdio://", "stdio"):
        return Listen(STDIO)
    if url.startswith("ws://"):
        host, port = _host_port(url.removeprefix("ws://").rstrip("/"), url)
        return Listen(WEBSOCKET, host, port)
    if url.startswith("unix://"):
        rest = url.removeprefix("unix://")
        return Listen(UNIX, path=Path(rest).absolute() if rest else None)
    raise ValueError(f"--listen {url} is not supported by this version of Chamberlain "
                     "(stdio://, ws://IP:PORT and unix://[PATH] are)")


def websocket_banner(host: str, port: int) -> str:
    """What the reference prints on stderr once its WebSocket listener is bound."""
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [
        "codex app-server (WebSockets)",
        f"  listening on: ws://{addr}",
        f"  readyz: http://{addr}/readyz",
        f"  healthz: http://{addr}/healthz",
    ]
    if ipaddress.ip_address(host).is_loopback:
        lines.append("  note: binds localhost only (use SSH port-forwarding for remote access)")
    return "\n".join(lines)


def run_listener(server: Server, listen: Listen, codex_home: Path, check_upgrade: CheckUpgrade | None = None) -> None:
    """Serve ``listen`` until SIGINT/SIGTERM (listener errors propagate: the caller maps them);
    ``check_upgrade``: the ``--ws-auth`` check of every WebSocket upgrade request (not of the unix
    socket's: as on the reference, its file mode guards it; ``unix_upgrade.py``)."""
    import trio
    from chamberlain.actors.unix_listener import default_socket_path, serve_unix
    from chamberlain.actors.ws_transport import serve_websocket

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            if listen.kind == WEBSOCKET:
                host, port = await nursery.start(
                    functools.partial(serve_websocket, check_upgrade=check_upgrade), server, listen.host, listen.port
                )
                print(websocket_banner(host, port), file=sys.stderr, flush=True)
            else:
                await nursery.start(serve_unix, server, listen.path or default_socket_path(codex_home))
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    logging.getLogger("chamberlain").info("stopping on signal %d", signum)
                    server.stop()
                    break
            nursery.cancel_scope.cancel(reason="stopped by signal")

    trio.run(serve)
