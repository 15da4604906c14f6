"""``--listen``: which transport the CLI serves (config.md §11.1) and how it runs it.

``parse_listen`` turns the URL into a ``Listen`` (or raises ``ValueError`` with the message the
CLI prints); ``run_listener`` serves stdio, a WebSocket or a unix-socket listener until
SIGINT/SIGTERM (the first stops gracefully within ``SIGNAL_GRACE_S``, a second at once). The
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
    from collections.abc import AsyncIterator

    import trio
    from chamberlain.actors.server import Server
    from chamberlain.actors.ws_http import CheckUpgrade

__all__ = ["SIGNAL_GRACE_S", "Listen", "parse_listen", "run_listener", "websocket_banner"]

STDIO: Final = "stdio"
WEBSOCKET: Final = "ws"
UNIX: Final = "unix"
#: After a first SIGINT/SIGTERM, seconds to answer what was received before the rest is cancelled.
SIGNAL_GRACE_S: Final = 0.5

logger = logging.getLogger("chamberlain")


@dataclass(frozen=True, slots=True)
class Listen:
    kind: str  # STDIO, WEBSOCKET or UNIX
    host: str = ""
    port: int = 0
    path: Path | None = None  # UNIX; None = the default path under CODEX_HOME


class ListenUsageError(ValueError):
    """A ``--listen`` value that is not a URL the reference accepts: a usage error (exit 2), its
    text the reference's reason."""


def _host_port(rest: str, url: str) -> tuple[str, int]:
    host, sep, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        value = int(port)
    except ValueError:
        raise ListenUsageError(f"invalid websocket --listen URL `{url}`; expected `ws://IP:PORT`") from None
    if not sep or not 0 <= value <= 65535:
        raise ListenUsageError(f"invalid websocket --listen URL `{url}`; expected `ws://IP:PORT`")
    return host, value


def parse_listen(url: str) -> Listen:
    """``stdio://``/``stdio``, ``ws://IP:PORT`` (port 0 = any free port), ``unix://``, ``unix://PATH``.
    ListenUsageError for anything else, ValueError (a refused start) for ``off``."""
    if url in ("stdio://", "stdio"):
        return Listen(STDIO)
    if url.startswith("ws://"):
        host, port = _host_port(url.removeprefix("ws://").rstrip("/"), url)
        return Listen(WEBSOCKET, host, port)
    if url.startswith("unix://"):
        rest = url.removeprefix("unix://")
        return Listen(UNIX, path=Path(rest).absolute() if rest else None)
    if url == "off":  # the reference's only other transport is remote control (never enabled here)
        raise ValueError("no transport configured; use --listen or enable remote control")
    raise ListenUsageError(
        f"unsupported --listen URL `{url}`; expected `stdio://`, `unix://`, `unix://PATH`, `ws://IP:PORT`, or `off`"
    )


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
    """Serve ``listen`` (stdio too) until SIGINT/SIGTERM, or on stdio the end of input. Listener
    errors propagate (the caller maps them); ``check_upgrade``: the ``--ws-auth`` check of every
    WebSocket upgrade request (not of the unix socket's: as on the reference, its file mode guards
    it; ``unix_upgrade.py``).

    The first signal is a graceful stop: nothing more is read, what was received is answered and
    written, listeners close and the unix socket is removed — within ``SIGNAL_GRACE_S``, after
    which whatever is left is cancelled. A second signal cancels at once."""
    import trio

    trio.run(_serve, server, listen, codex_home, check_upgrade)


async def _serve(server: Server, listen: Listen, codex_home: Path, check_upgrade: CheckUpgrade | None) -> None:
    import trio

    # Before anything is bound: a signal that arrives once the banner is out always stops cleanly.
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(_run_server, server, nursery.cancel_scope)
            await _start_transport(nursery, server, listen, codex_home, check_upgrade)
            await _stop_on_signals(signals, server, nursery.cancel_scope)


async def _run_server(
    server: Server, scope: trio.CancelScope, *, task_status: trio.TaskStatus[Server],
) -> None:
    """``server.run``; once it returns (a graceful stop is complete) the listeners go too."""
    await server.run(task_status=task_status)
    scope.cancel(reason="server stopped")


async def _start_transport(
    nursery: trio.Nursery, server: Server, listen: Listen, codex_home: Path, check_upgrade: CheckUpgrade | None,
) -> None:
    if listen.kind == WEBSOCKET:
        from chamberlain.actors.ws_transport import serve_websocket

        serve = functools.partial(serve_websocket, check_upgrade=check_upgrade)
        host, port = await nursery.start(serve, server, listen.host, listen.port)
        print(websocket_banner(host, port), file=sys.stderr, flush=True)
    elif listen.kind == UNIX:
        from chamberlain.actors.unix_listener import default_socket_path, serve_unix

        await nursery.start(serve_unix, server, listen.path or default_socket_path(codex_home))
    else:
        await nursery.start(_stdio_until_end_of_input, server, nursery.cancel_scope)


async def _stdio_until_end_of_input(
    server: Server, scope: trio.CancelScope, *, task_status: trio.TaskStatus[str],
) -> None:
    from chamberlain.actors.stdio_transport import serve_stdio

    await serve_stdio(server, task_status=task_status)
    scope.cancel(reason="stdin closed")


async def _stop_on_signals(signals: AsyncIterator[int], server: Server, scope: trio.CancelScope) -> None:
    import trio

    stopping = False
    async for signum in signals:
        if stopping:
            logger.info("second signal %d: stopping now", signum)
            scope.cancel(reason=f"second signal {signum}")
            return
        logger.info("stopping on signal %d: answering what was received", signum)
        stopping = True
        server.stop()
        scope.deadline = min(scope.deadline, trio.current_time() + SIGNAL_GRACE_S)
