"""Helpers several test modules share (imported as ``support``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio_websocket


def port_is_free(port: int) -> bool:
    """``port`` can be listened on again at once, as the next login's bind would (SO_REUSEADDR:
    connections in TIME_WAIT do not count, a listener does)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


class GatedTransport:
    """Hands over its frames, then end of input; writes wait until the test opens the gate (a
    client that does not read for a while)."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.gate = trio.Event()
        self.input_done = trio.Event()
        self.sent: list[bytes] = []

    async def receive_frame(self) -> bytes | None:
        await trio.lowlevel.checkpoint()
        if self.frames:
            return self.frames.pop(0)
        self.input_done.set()
        return None

    async def send_frame(self, frame: bytes) -> None:
        await self.gate.wait()
        self.sent.append(frame)


@asynccontextmanager
async def unix_websocket(path: str) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """trio-websocket's client on the unix socket ``path`` (closed, with its tasks, at the end)."""
    real = await trio.Path(path).resolve()  # a symlink to a short path: sun_path is 108 bytes
    stream = await trio.open_unix_socket(str(real))
    async with stream, trio.open_nursery() as nursery:
        ws = await trio_websocket.wrap_client_stream(nursery, stream, "localhost", "/")
        yield ws
        await ws.aclose()
        nursery.cancel_scope.cancel(reason="client finished")


async def ws_call(ws: trio_websocket.WebSocketConnection, request_id: int, method: str, params: Any) -> Any:
    """Send one request on ``ws``; its reply (notifications and other replies met are dropped)."""
    await ws.send_message(json.dumps({"id": request_id, "method": method, "params": params}))
    while True:
        reply = json.loads(await ws.get_message())
        if reply.get("id") == request_id:
            return reply
