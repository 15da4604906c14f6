"""The server side of RFC 6455 after the upgrade: wsproto's framing on a trio stream, no extension.

``WebSocketTransport`` is a ``FrameTransport``: a text message is a frame (its UTF-8 bytes), a
binary message is dropped, a ping is answered with a pong of the same payload, a close is
answered (its code and reason echoed, an empty close with an empty one, as the reference's
tungstenite) and ends the input, a message over ``max_message_bytes`` closes the connection with
``1009``; a protocol error (an unmasked client frame, reserved bits, a bad opcode or control
frame, a continuation out of place, a bad close code) closes it with ``1002``, text that is not
UTF-8 with ``1007`` (wsproto's codes).

The frames are parsed and built by wsproto's sans-IO ``Connection`` (the upgrade handshake is
ours, before this class: the connection starts open), driven from the connection's own tasks:
no reader task and no message queue (trio-websocket's, which cost a task switch per message and
a few kilobytes per connection). Writes are serialised by a lock taken without a checkpoint when
free (the pong of the read loop may meet the writer).
"""

from __future__ import annotations

import logging
import math
from typing import Final, cast, final

import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, TextMessage
from wsproto.frame_protocol import CloseReason

__all__ = ["WebSocketTransport"]

logger = logging.getLogger(__name__)

_READ_BYTES: Final = 64 * 1024
#: How long a closing connection waits for the client to end it (shutdown must stay under 1 s).
_CLOSE_GRACE_S: Final = 0.5


class _TooBig(Exception):
    """The message under way has passed the limit: close with 1009."""


@final
class WebSocketTransport:
    """A ``FrameTransport`` over an upgraded stream; ``buffered`` are bytes already read after
    the upgrade request."""

    #: a client whose outbox stays full is disconnected (§11.6; ``outbox.SLOW_CLIENT_S``)
    disconnects_slow_clients: Final = True

    def __init__(self, stream: trio.abc.Stream, buffered: bytes, max_message_bytes: int) -> None:
        self._stream = stream
        self._ws = Connection(ConnectionType.SERVER, trailing_data=buffered)
        self._events = self._ws.events()  # the events of the bytes received so far
        self._max = max_message_bytes
        self._lock = trio.StrictFIFOLock()
        self._parts: list[str] = []  # the text message under way, so far
        self._size = 0  # characters (text) or bytes (binary) of the message under way
        self.closed = False  # a close frame was sent: no more frames go out

    # -- input ---------------------------------------------------------------------------------

    async def receive_frame(self) -> bytes | None:
        """The next text message; None once the client closed (or broke) the connection."""
        try:
            while True:
                for event in self._events:
                    if isinstance(event, TextMessage):
                        message = self._text(event)
                        if message is not None:
                            return message
                    elif not await self._other(event):
                        return None
                chunk = await self._stream.receive_some(_READ_BYTES)
                if not chunk:
                    return None
                self._ws.receive_data(cast(bytes, chunk))  # a bytearray feeds it as well
                self._events = self._ws.events()
        except _TooBig as exc:
            logger.debug("closing websocket: message too long: %s > %d", exc, self._max)
            await self.close(CloseReason.MESSAGE_TOO_BIG)
            return None
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("websocket stream ended: %r", exc)
            return None

    def _text(self, event: TextMessage) -> bytes | None:
        """The whole message's bytes once ``event`` ends it (None before); a message over the
        limit raises ``_TooBig`` (its characters bound its bytes from below)."""
        self._size += len(event.data)
        if self._size > self._max:
            raise _TooBig(self._size)
        if not event.message_finished:
            self._parts.append(event.data)
            return None
        if self._parts:
            self._parts.append(event.data)
            data = "".join(self._parts).encode()
            self._parts.clear()
        else:
            data = event.data.encode()
        self._size = 0
        if len(data) > self._max:
            raise _TooBig(len(data))
        return data

    async def _other(self, event: Event) -> bool:
        """Handle an event that is not text; False when the input has ended (a close)."""
        if isinstance(event, BytesMessage):
            self._size += len(event.data)
            if self._size > self._max:
                raise _TooBig(self._size)
            if event.message_finished:
                logger.debug("dropping a binary websocket message of %d bytes", self._size)
                self._size = 0
        elif isinstance(event, Ping):
            if not self.closed:  # after our close frame wsproto sends nothing (nor would the RFC)
                await self._send(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            if self._ws.state is ConnectionState.REMOTE_CLOSING:  # the client's close: answer it
                await self._close(event.response(), wait_for_client=False)
            else:  # wsproto found a protocol error in the input
                logger.debug("closing websocket: %s", event.reason)
                await self.close(event.code)
            return False
        return True  # a pong

    # -- output --------------------------------------------------------------------------------

    async def send_frame(self, frame: bytes) -> None:
        if self.closed:
            raise trio.BrokenResourceError("websocket closed")
        await self._send(self._ws.send(TextMessage(data=frame.decode())))

    async def _send(self, data: bytes | bytearray) -> None:
        if self._lock.locked():
            await self._lock.acquire()
        else:
            self._lock.acquire_nowait()  # no checkpoint when nobody else writes
        try:
            await self._stream.send_all(data)
        finally:
            self._lock.release()

    async def close(self, code: int = 1000, *, wait_for_client: bool = True) -> None:
        """Send a close frame with ``code`` (once); then, unless answering the client's close,
        read what the client still sends until it ends the connection (at most
        ``_CLOSE_GRACE_S``), so that closing the socket does not reset it before the client has
        read the close frame."""
        await self._close(CloseConnection(code), wait_for_client=wait_for_client)

    async def _close(self, event: CloseConnection, *, wait_for_client: bool) -> None:
        if self.closed:
            return
        self.closed = True
        if trio.current_effective_deadline() == -math.inf:
            # cancelled (the server is stopping at once): the close frame only, no reply awaited
            wait_for_client = False
        with trio.move_on_after(_CLOSE_GRACE_S) as scope:
            scope.shield = True
            try:
                if self._ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                    await self._send(self._ws.send(event))
                while wait_for_client and await self._stream.receive_some(_READ_BYTES):
                    pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
