"""WebSocket transport: one JSON-RPC message per text message (config.md §11.3, §11.5).

Every accepted stream (TCP or unix) first goes through ``ws_http.route_http``, the h11 pre-router
that answers the probes and refusals; an upgrade request that passes them is answered with the
reference's ``101`` bytes (``switching_protocols``), offered extensions ignored (no
``permessage-deflate``, as the reference). The connection is then served by
``Server.serve_connection`` with a ``ws_frames.WebSocketTransport`` (RFC 6455 framing in the
connection's own tasks): binary messages are dropped, a message over 16 MiB closes the
connection (1009), pings are answered. Two JSON messages in one text message reach the codec,
which drops the frame as not a message (the reference logs ``trailing characters``).

``serve_websocket`` and ``serve_unix`` (in ``unix_listener``) are trio tasks for
``nursery.start``; their ``started`` value is the bound address.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from email.utils import formatdate
from typing import TYPE_CHECKING, Final

import trio
from chamberlain.actors.ws_frames import WebSocketTransport
from chamberlain.actors.ws_http import CheckUpgrade, route_http

if TYPE_CHECKING:
    from chamberlain.actors.server import Server

__all__ = [
    "MAX_MESSAGE_BYTES",
    "NonLoopbackWithoutAuth",
    "WebSocketTransport",
    "check_bind",
    "serve_stream",
    "serve_websocket",
]

logger = logging.getLogger(__name__)

#: Largest incoming WebSocket message, in bytes (the reference's 16 MiB).
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
_WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class NonLoopbackWithoutAuth(Exception):
    """A WebSocket listener on a non-loopback address with no auth hook (§11.3); str() is the
    reference's start-up error, without its ``Error: `` prefix."""


def _socket_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_bind(host: str, port: int, check_upgrade: CheckUpgrade | None) -> None:
    """Raise ``NonLoopbackWithoutAuth`` when ``host`` is not loopback and there is no auth hook
    (the loopback rule and the text are ``ws_auth.refuse_unauthenticated``'s)."""
    if check_upgrade is not None:
        return
    from chamberlain.actors.ws_auth import refuse_unauthenticated

    refusal = refuse_unauthenticated(host, port, None)
    if refusal is not None:
        raise NonLoopbackWithoutAuth(refusal)


def switching_protocols(request: bytes) -> bytes:
    """The reference's ``101`` for an upgrade request (names lower-case, in its order, a date)."""
    key = next(line.partition(b":")[2].strip() for line in request.partition(b"\r\n\r\n")[0].split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())  # RFC 6455's hash
    return (b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
            b"sec-websocket-accept: %s\r\ndate: %s\r\n\r\n" % (accept, formatdate(usegmt=True).encode()))


async def serve_upgraded(
    server: Server, stream: trio.abc.Stream, switching: bytes, buffered: bytes, label: str,
) -> None:
    """Answer an upgrade with ``switching`` (the ``101`` head of the listener: TCP's or the unix
    socket's) and serve one JSON-RPC connection on the stream; ``buffered``: bytes the client sent
    after its request head."""
    await stream.send_all(switching)
    transport = WebSocketTransport(stream, buffered, MAX_MESSAGE_BYTES)
    try:
        await server.serve_connection(transport, label=label)
    finally:
        await transport.close()


async def serve_stream(
    server: Server, stream: trio.abc.Stream, label: str, check_upgrade: CheckUpgrade | None = None,
) -> None:
    """Serve one accepted stream: HTTP until an upgrade, then one JSON-RPC connection."""
    async with stream:
        try:
            request = await route_http(stream, check_upgrade)
            if request is not None:
                buffered = request.partition(b"\r\n\r\n")[2]
                await serve_upgraded(server, stream, switching_protocols(request), buffered, label)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("%s: client went away: %r", label, exc)


def _bound(listeners: list[trio.SocketListener]) -> tuple[str, int]:
    host, port, *_ = listeners[0].socket.getsockname()
    return str(host), int(port)


async def serve_websocket(
    server: Server,
    host: str,
    port: int,
    *,
    check_upgrade: CheckUpgrade | None = None,
    task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on ``host:port`` (0 = a free port) until cancelled; ``started`` gives the bound
    ``(host, port)``. Without ``check_upgrade`` only a loopback ``host`` is allowed
    (``NonLoopbackWithoutAuth`` otherwise, before binding)."""
    check_bind(host, port, check_upgrade)
    listeners = await trio.open_tcp_listeners(port, host=host)
    address = _bound(listeners)
    logger.info("websocket listener on %s", _socket_addr(*address))

    async def handle(stream: trio.SocketStream) -> None:
        peer_host, peer_port, *_ = stream.socket.getpeername()
        await serve_stream(server, stream, f"ws {_socket_addr(str(peer_host), int(peer_port))}", check_upgrade)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handle, listeners)
        task_status.started(address)
