"""The server side of RFC 6455 after the upgrade: WebSocket frames on a trio stream, no extension.

``WebSocketTransport`` is a ``FrameTransport``: a text message is a frame (its UTF-8 bytes), a
binary message is dropped, a ping is answered with a pong of the same payload, a close is
answered and ends the input, a message over ``max_message_bytes`` closes the connection with
``1009``, a protocol error (an unmasked client frame, reserved bits, a bad opcode or control
frame, a continuation out of place) with ``1002``, text that is not UTF-8 with ``1007``.

It reads and writes the stream in the connection's own tasks: no reader task, no message queue,
no per-message event objects (trio-websocket's, which cost a task switch and a few kilobytes per
connection). Writes are serialised by a lock taken without a checkpoint when free (the pong of
the read loop may meet the writer).
"""

from __future__ import annotations

import logging
import math
import struct
from typing import Final, final

import trio

__all__ = ["WebSocketTransport"]

logger = logging.getLogger(__name__)

_READ_BYTES: Final = 64 * 1024
#: Frames up to this size are sent with their header in one ``send_all``; larger ones in two
#: (saving a copy of the payload).
_JOIN_BYTES: Final = 64 * 1024
_CONT, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: How long a closing connection waits for the client to end it (shutdown must stay under 1 s).
_CLOSE_GRACE_S: Final = 0.5


class _Close(Exception):
    """End the connection with close ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _header(opcode: int, length: int) -> bytes:
    if length < 126:
        return bytes((0x80 | opcode, length))
    if length < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, length)
    return struct.pack("!BBQ", 0x80 | opcode, 127, length)


def _unmask(data: bytes | bytearray, mask: bytes) -> bytes:
    if mask == b"\0\0\0\0":
        return bytes(data)
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


@final
class WebSocketTransport:
    """A ``FrameTransport`` over an upgraded stream; ``buffered`` are bytes already read after
    the upgrade request."""

    #: a client whose outbox stays full is disconnected (§11.6; ``outbox.SLOW_CLIENT_S``)
    disconnects_slow_clients: Final = True

    def __init__(self, stream: trio.abc.Stream, buffered: bytes, max_message_bytes: int) -> None:
        self._stream = stream
        self._buf = bytearray(buffered)
        self._max = max_message_bytes
        self._lock = trio.StrictFIFOLock()
        self._parts: list[bytes] = []  # a fragmented message so far
        self._size = 0
        self._opcode = 0  # of the fragmented message (0: none under way)
        self.closed = False  # a close frame was sent: no more frames go out

    # -- input ---------------------------------------------------------------------------------

    async def receive_frame(self) -> bytes | None:
        """The next text message; None once the client closed (or broke) the connection."""
        try:
            while True:
                message = await self._next_message()
                if message is None:
                    return None
                if message[0] == _TEXT:
                    return message[1]
                logger.debug("dropping a binary websocket message of %d bytes", len(message[1]))
        except _Close as exc:
            logger.debug("closing websocket: %s", exc)
            await self.close(exc.code)
            return None
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("websocket stream ended: %r", exc)
            return None

    async def _next_message(self) -> tuple[int, bytes] | None:
        while True:
            frame = await self._next_frame()
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode >= _CLOSE:
                if await self._control(opcode, payload):
                    return None
                continue
            message = self._assemble(fin, opcode, payload)
            if message is not None:
                return message

    def _assemble(self, fin: bool, opcode: int, payload: bytes) -> tuple[int, bytes] | None:
        if opcode == _CONT:
            if not self._opcode:
                raise _Close(1002, "continuation frame without a message")
        elif opcode in (_TEXT, _BINARY):
            if self._opcode:
                raise _Close(1002, "new message inside a fragmented one")
            self._opcode = opcode
        else:
            raise _Close(1002, f"reserved opcode {opcode:#x}")
        self._parts.append(payload)
        if not fin:
            return None
        opcode, data = self._opcode, self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts, self._size, self._opcode = [], 0, 0
        if opcode == _TEXT:
            try:
                data.decode()
            except UnicodeDecodeError:
                raise _Close(1007, "text message is not UTF-8") from None
        return opcode, data

    async def _control(self, opcode: int, payload: bytes) -> bool:
        """Answer a control frame; True when it was a close."""
        if opcode == _PING:
            await self._send(_PONG, payload)
        elif opcode == _CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000
            valid = 1000 <= code < 5000 and code not in (1005, 1006, 1015)
            await self.close(code if valid else 1002, wait_for_client=False)  # the handshake is complete
            return True
        elif opcode != _PONG:
            raise _Close(1002, f"reserved control opcode {opcode:#x}")
        return False

    async def _next_frame(self) -> tuple[bool, int, bytes] | None:
        """(fin, opcode, unmasked payload); None at end of input."""
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            chunk = await self._stream.receive_some(_READ_BYTES)
            if not chunk:
                return None
            self._buf += chunk

    def _parse(self) -> tuple[bool, int, bytes] | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        opcode, length, offset = b0 & 0x0F, b1 & 0x7F, 2
        if b0 & 0x70:
            raise _Close(1002, "reserved bits set (no extension was negotiated)")
        if not b1 & 0x80:
            raise _Close(1002, "unmasked client frame")
        if opcode >= _CLOSE and (length > 125 or not b0 & 0x80):
            raise _Close(1002, "invalid control frame")
        if length == 126:
            if len(buf) < 4:
                return None
            length, offset = struct.unpack_from("!H", buf, 2)[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, offset = struct.unpack_from("!Q", buf, 2)[0], 10
        if opcode < _CLOSE and self._size + length > self._max:
            raise _Close(1009, f"Message too long: {self._size + length} > {self._max}")
        end = offset + 4 + length
        if len(buf) < end:
            return None
        payload = _unmask(buf[offset + 4:end], bytes(buf[offset:offset + 4]))
        del buf[:end]
        if opcode < _CLOSE:
            self._size += length
        return bool(b0 & 0x80), opcode, payload

    # -- output --------------------------------------------------------------------------------

    async def send_frame(self, frame: bytes) -> None:
        if self.closed:
            raise trio.BrokenResourceError("websocket closed")
        await self._send(_TEXT, frame)

    async def _send(self, opcode: int, payload: bytes) -> None:
        header = _header(opcode, len(payload))
        if self._lock.locked():
            await self._lock.acquire()
        else:
            self._lock.acquire_nowait()  # no checkpoint when nobody else writes
        try:
            if len(payload) <= _JOIN_BYTES:
                await self._stream.send_all(header + payload)
            else:
                await self._stream.send_all(header)
                await self._stream.send_all(payload)
        finally:
            self._lock.release()

    async def close(self, code: int = 1000, *, wait_for_client: bool = True) -> None:
        """Send a close frame (once); then, unless answering the client's close, read what the
        client still sends until it ends the connection (at most ``_CLOSE_GRACE_S``), so that
        closing the socket does not reset it before the client has read the close frame."""
        if self.closed:
            return
        self.closed = True
        if trio.current_effective_deadline() == -math.inf:
            # cancelled (the server is stopping at once): the close frame only, no reply awaited
            wait_for_client = False
        with trio.move_on_after(_CLOSE_GRACE_S) as scope:
            scope.shield = True
            try:
                await self._send(_CLOSE, struct.pack("!H", code))
                while wait_for_client and await self._stream.receive_some(_READ_BYTES):
                    pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
