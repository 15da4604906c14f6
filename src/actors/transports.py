"""Transports that turn a byte stream into frames for a ConnectionActor.

``LineTransport`` speaks newline-delimited JSON over any trio stream (stdio, a socket, a memory
stream in tests). A line longer than ``max_frame_bytes`` is dropped with one warning and skipped
up to its newline: memory stays bounded whatever the client sends.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Final, final

import trio

__all__ = ["LineTransport", "DEFAULT_MAX_FRAME_BYTES"]

logger = logging.getLogger(__name__)

#: Largest frame accepted on a line transport, in bytes (``--max-frame-bytes``).
DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
_READ_CHUNK_BYTES: Final = 256 * 1024


@final
class LineTransport:
    #: a client that does not read blocks its connection (stdio), it is never disconnected
    disconnects_slow_clients: Final = False

    def __init__(
        self,
        receive: trio.abc.ReceiveStream,
        send: trio.abc.SendStream,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self._receive = receive
        self._send = send
        self._max = max_frame_bytes
        self._buffer = bytearray()
        self._frames: deque[bytes] = deque()
        self._skipping = False
        self._eof = False

    async def receive_frame(self) -> bytes | None:
        while not self._frames:
            if self._eof:
                return None
            chunk = await self._receive.receive_some(_READ_CHUNK_BYTES)
            if not chunk:
                self._eof = True
                if self._buffer and not self._skipping:
                    self._frames.append(bytes(self._buffer))
                self._buffer.clear()
                continue
            self._feed(chunk)
        return self._frames.popleft()

    def _feed(self, chunk: bytes | bytearray) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._take(chunk[start:])
                return
            self._take(chunk[start:nl])
            if self._skipping:
                self._skipping = False
            else:
                line = bytes(self._buffer).rstrip(b"\r")
                if line.strip():
                    self._frames.append(line)
            self._buffer.clear()
            start = nl + 1

    def _take(self, piece: bytes | bytearray) -> None:
        if self._skipping:
            return
        if len(self._buffer) + len(piece) > self._max:
            logger.warning(
                "dropping a frame larger than the maximum of %d bytes (--max-frame-bytes)", self._max
            )
            self._buffer.clear()
            self._skipping = True
            return
        self._buffer += piece

    async def send_frame(self, frame: bytes) -> None:
        await self._send.send_all(frame + b"\n")
