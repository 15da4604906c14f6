"""Running a server inside another trio program, with what the command line does for you.

``open_server(home)`` takes a ``str`` or path for the Codex home, creates it when missing, runs the
start-up checks the CLI runs (invalid requirements raise ``RequirementsError`` where the CLI
exits 1), starts the server's actors and stops them when the block ends::

    async with open_server("/srv/codex-home") as server:
        await server.serve_connection(LineTransport(receive_stream, send_stream))

``serve_websocket`` and ``serve_unix`` put a started server on a WebSocket or unix-socket
listener; ``nursery.start`` returns the bound ``(host, port)`` or socket path, and cancelling the
enclosing scope stops the listener, closes its connections and removes the socket::

    async with open_server(home) as server, trio.open_nursery() as nursery:
        host, port = await nursery.start(serve_websocket, server, "127.0.0.1", 0)
        path = await nursery.start(serve_unix, server, default_socket_path(home))

A non-loopback ``host`` needs ``check_upgrade=`` (headers -> ``None`` to accept, or the complete
HTTP response to send): ``NonLoopbackWithoutAuth`` otherwise. ``ControlSocketInUse`` means a live
server holds the unix socket.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from chamberlain.actors.server import DEFAULT_SYSTEM_DIR, Server, Settings
from chamberlain.actors.transports import DEFAULT_MAX_FRAME_BYTES
from chamberlain.actors.unix_listener import ControlSocketInUse, default_socket_path, serve_unix
from chamberlain.actors.ws_http import CheckUpgrade
from chamberlain.actors.ws_transport import NonLoopbackWithoutAuth, serve_websocket

__all__ = [
    "CheckUpgrade",
    "ControlSocketInUse",
    "NonLoopbackWithoutAuth",
    "default_socket_path",
    "make_settings",
    "open_server",
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
) -> Settings:
    """``Settings`` as the CLI builds them: absolute paths, the home created (``OSError`` if it
    cannot be), a positive frame limit (``ValueError`` otherwise)."""
    if max_frame_bytes <= 0:
        raise ValueError(f"max_frame_bytes must be a positive number of bytes, got {max_frame_bytes}")
    home = Path(codex_home).expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if environ is None else environ)
    return Settings(home, Path(system_dir).expanduser().absolute(), tuple(session_flags), max_frame_bytes, env)


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
