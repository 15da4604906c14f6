"""Running servers inside another trio program: the typed embedding API (docs/embedding.md).

``open_server(home)`` takes a ``str`` or path for the Codex home (or ready ``Settings``), creates
it when missing, runs the start-up checks the CLI runs (invalid requirements raise
``RequirementsError`` where the CLI exits 1), starts the server's actors and stops them when the
block ends. Servers share nothing: several, on different homes, run in one process.

The three transports are trio tasks of one shape, for ``nursery.start``: a started ``Server``
(or ``Settings``, for a server of the task's own) first; ``started`` gives the address::

    async with open_server(home) as server, trio.open_nursery() as nursery:
        host, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        path = await nursery.start(serve_unix, server)       # default: under the Codex home
        label = await nursery.start(serve_stdio, server)     # the process's stdin/stdout

Cancelling the enclosing scope stops them at once: listeners closed, connections closed, the unix
socket removed, a pending browser login's callback port released. ``Server.stop()`` is the
graceful stop: connections answer what they received, then ``Server.run`` returns.

``memory_connection(server)`` is a client on memory channels for host tests (a real connection,
no socket). A non-loopback ``host`` needs ``check_upgrade=`` (headers -> ``None`` to accept, or
the complete HTTP response to send): ``NonLoopbackWithoutAuth`` otherwise.
``ControlSocketInUse`` means a live server holds the unix socket.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from chamberlain.actors import stdio_transport, unix_listener, ws_transport
from chamberlain.actors.memory_transport import MemoryClient, ResponseError, memory_connection
from chamberlain.actors.server import DEFAULT_SYSTEM_DIR, Server, Settings
from chamberlain.actors.transports import DEFAULT_MAX_FRAME_BYTES
from chamberlain.actors.unix_listener import ControlSocketInUse, default_socket_path
from chamberlain.actors.ws_http import CheckUpgrade
from chamberlain.actors.ws_transport import NonLoopbackWithoutAuth

__all__ = [
    "CheckUpgrade",
    "ControlSocketInUse",
    "MemoryClient",
    "NonLoopbackWithoutAuth",
    "ResponseError",
    "Server",
    "Settings",
    "default_socket_path",
    "make_settings",
    "memory_connection",
    "open_server",
    "serve_stdio",
    "serve_unix",
    "serve_websocket",
]


def make_settings(
    codex_home: str | os.PathLike[str],
    *,
    system_dir: str | os.PathLike[str] = DEFAULT_SYSTEM_DIR,
    session_flags: tuple[tuple[str, str], ...] = (),
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    environ: Mapping[str, str] | None = None,
    login_callback_port: int | None = None,
) -> Settings:
    """``Settings`` as the CLI builds them: absolute paths, the home created (``OSError`` if it
    cannot be), a positive frame limit (``ValueError`` otherwise)."""
    if max_frame_bytes <= 0:
        raise ValueError(f"max_frame_bytes must be a positive number of bytes, got {max_frame_bytes}")
    home = Path(codex_home).expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if environ is None else environ)
    system = Path(system_dir).expanduser().absolute()
    return Settings(home, system, tuple(session_flags), max_frame_bytes, env, login_callback_port)


@asynccontextmanager
async def open_server(
    codex_home: str | os.PathLike[str] | Settings,
    *,
    system_dir: str | os.PathLike[str] = DEFAULT_SYSTEM_DIR,
    session_flags: tuple[tuple[str, str], ...] = (),
) -> AsyncIterator[Server]:
    """A started server for the block; its actors are cancelled when the block ends."""
    settings = (
        codex_home if isinstance(codex_home, Settings)
        else make_settings(codex_home, system_dir=system_dir, session_flags=session_flags)
    )
    server = Server(settings)
    server.check_startup()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        yield server
        nursery.cancel_scope.cancel(reason="embedding block ended")


@asynccontextmanager
async def _running(server: Server | Settings) -> AsyncIterator[Server]:
    """``server`` itself, or a server of its own on those settings for the block."""
    if isinstance(server, Server):
        yield server
        return
    async with open_server(server) as started:
        yield started


async def serve_websocket(
    server: Server | Settings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    check_upgrade: CheckUpgrade | None = None,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """WebSocket listener on ``host:port`` (0 = a free port) until cancelled; ``started`` gives
    the bound ``(host, port)``. ``NonLoopbackWithoutAuth`` (before binding) for a non-loopback
    ``host`` without ``check_upgrade``."""
    async with _running(server) as running, trio.open_nursery() as nursery:
        serve = functools.partial(ws_transport.serve_websocket, check_upgrade=check_upgrade)
        task_status.started(await nursery.start(serve, running, host, port))


async def serve_unix(
    server: Server | Settings,
    path: str | os.PathLike[str] | None = None,
    *,
    check_upgrade: CheckUpgrade | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """WebSocket over the unix socket ``path`` (default: ``default_socket_path`` of the server's
    home) until cancelled; ``started`` gives the absolute path; the socket is removed when it
    stops. ``ControlSocketInUse`` (before ``started``) when a live server holds it."""
    async with _running(server) as running, trio.open_nursery() as nursery:
        where = default_socket_path(running.settings.codex_home) if path is None else path
        serve = functools.partial(unix_listener.serve_unix, check_upgrade=check_upgrade)
        task_status.started(await nursery.start(serve, running, where))


async def serve_stdio(
    server: Server | Settings,
    receive: trio.abc.ReceiveStream | None = None,
    send: trio.abc.SendStream | None = None,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """One newline-delimited JSON client on ``receive``/``send`` (default: the process's stdin
    and stdout); ``started`` gives its label, ``"stdio"``. Returns at the end of its input once
    what it sent is answered."""
    async with _running(server) as running, trio.open_nursery() as nursery:
        task_status.started(await nursery.start(stdio_transport.serve_stdio, running, receive, send))
