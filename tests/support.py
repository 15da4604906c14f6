"""Helpers several test modules share (imported as ``support``: pytest puts ``tests/`` on the path)."""

from __future__ import annotations

import socket

import trio


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
