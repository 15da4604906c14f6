"""An in-memory connection for host tests: a real ``ConnectionActor`` on trio memory channels.

``memory_connection(server)`` serves one client in the server's handler nursery, exactly as a
socket would be served, with no socket: each ``send`` is one frame (one JSON-RPC message, as on a
WebSocket: two messages in one frame are dropped, a frame over the server's ``max_frame_bytes`` is
dropped with a warning), each ``receive`` is the next frame the server wrote::

    async with open_server(home) as server, memory_connection(server) as client:
        await client.initialize()
        config = await client.request("config/read", {})

``close()`` is end of input (the connection answers what it received, then ends; ``receive``
then raises ``trio.EndOfChannel``). Leaving the block disconnects the client at once, as closing
a socket does: answers not read yet are dropped.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, final

import trio

if TYPE_CHECKING:
    from chamberlain.actors.connection import ConnectionActor
    from chamberlain.actors.server import Server

__all__ = ["CHANNEL_FRAMES", "MemoryClient", "MemoryTransport", "ResponseError", "memory_connection"]

logger = logging.getLogger(__name__)

#: Frames each direction buffers before the writer waits (the WebSocket queue size, §11.6).
CHANNEL_FRAMES: Final = 128
_CLIENT_INFO: Final = {"name": "memory", "title": "Memory", "version": "1.0.0"}


class ResponseError(Exception):
    """The server answered a ``request`` with a JSON-RPC error."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        error = response["error"]
        self.response = dict(response)
        self.code: int = error["code"]
        self.message: str = error["message"]
        self.data: Any = error.get("data")
        super().__init__(f"{self.code}: {self.message}")


@final
class MemoryTransport:
    """The server's side: a ``FrameTransport`` over two memory channels."""

    def __init__(
        self, receive: trio.MemoryReceiveChannel[bytes], send: trio.MemorySendChannel[bytes], max_frame_bytes: int,
    ) -> None:
        self._receive = receive
        self._send = send
        self._max = max_frame_bytes

    async def receive_frame(self) -> bytes | None:
        while True:
            try:
                frame = await self._receive.receive()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                return None
            if len(frame) <= self._max:
                return frame
            logger.warning("dropping a frame larger than the maximum of %d bytes (max_frame_bytes)", self._max)

    async def send_frame(self, frame: bytes) -> None:
        await self._send.send(frame)


@final
class MemoryClient:
    """The host's side of one in-memory connection."""

    def __init__(
        self, send: trio.MemorySendChannel[bytes], receive: trio.MemoryReceiveChannel[bytes], actor: ConnectionActor,
    ) -> None:
        self._send = send
        self._receive = receive
        #: the server's actor for this connection (e.g. to send it server -> client requests)
        self.actor = actor
        self._held: deque[dict[str, Any]] = deque()
        self._next_id = 0

    async def send(self, message: Mapping[str, Any] | bytes | str) -> None:
        """Send one frame: a mapping is encoded as JSON; bytes and str go as they are."""
        if isinstance(message, bytes):
            frame = message
        elif isinstance(message, str):
            frame = message.encode()
        else:
            frame = json.dumps(message).encode()
        await self._send.send(frame)

    async def receive(self) -> dict[str, Any]:
        """The next message from the server (frames set aside by ``call`` first, in order);
        ``trio.EndOfChannel`` once the connection has ended and everything was read."""
        if self._held:
            return self._held.popleft()
        frame = await self._receive.receive()
        message: dict[str, Any] = json.loads(frame)
        return message

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        """Send a request (a fresh integer id; ``params`` omitted when None) and return its
        response frame. Frames met on the way (notifications, server -> client requests) are kept
        for ``receive``."""
        request_id = self._next_id
        self._next_id += 1
        frame: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            frame["params"] = params
        await self.send(frame)
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                message = json.loads(await self._receive.receive())
                if message.get("id") == request_id and "method" not in message:
                    return dict(message)
                skipped.append(message)
        finally:
            self._held.extend(skipped)

    async def request(self, method: str, params: Any = None) -> Any:
        """``call``, returning the result; a JSON-RPC error raises ``ResponseError``."""
        response = await self.call(method, params)
        if "error" in response:
            raise ResponseError(response)
        return response["result"]

    async def initialize(self, client_info: Mapping[str, str] | None = None, **capabilities: Any) -> Any:
        """``initialize`` (capabilities as keyword arguments, e.g. ``experimentalApi=True``), then
        the ``initialized`` notification; returns the initialize result."""
        params: dict[str, Any] = {"clientInfo": dict(client_info or _CLIENT_INFO)}
        if capabilities:
            params["capabilities"] = capabilities
        result = await self.request("initialize", params)
        await self.send({"method": "initialized"})
        return result

    def close(self) -> None:
        """End of input: the server answers what it received, then ends the connection."""
        self._send.close()


@asynccontextmanager
async def memory_connection(server: Server, label: str = "memory") -> AsyncIterator[MemoryClient]:
    """One client of ``server`` (started: ``Server.run`` is running) on memory channels, for the
    block. ``label`` names it in logs."""
    c2s_send, c2s_receive = trio.open_memory_channel[bytes](CHANNEL_FRAMES)
    s2c_send, s2c_receive = trio.open_memory_channel[bytes](CHANNEL_FRAMES)
    transport = MemoryTransport(c2s_receive, s2c_send, server.settings.max_frame_bytes)

    async def serve(*, task_status: trio.TaskStatus[ConnectionActor] = trio.TASK_STATUS_IGNORED) -> None:
        with c2s_receive, s2c_send:  # the server's ends, closed when its connection ends
            await server.serve_connection(transport, label, task_status=task_status)

    with c2s_send, s2c_receive:
        async with trio.open_nursery() as nursery:
            actor: ConnectionActor = await nursery.start(serve)
            yield MemoryClient(c2s_send, s2c_receive, actor)
            nursery.cancel_scope.cancel(reason="memory client left")
