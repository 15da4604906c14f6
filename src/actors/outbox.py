"""The outbox of one connection: frames for its client, in order, written by one task (spec §11.6).

At most ``OUTBOX_SIZE`` frames wait in it. Producers that may wait (the connection's own task)
``put``; those that must not (an actor answering, the hub broadcasting) ``put_nowait`` or
``put_soon`` (a task waits for room). While ``full`` the connection stops reading its client
(``wait_room``), so a client that does not read costs a bounded amount of memory.

A transport that can drop its client (WebSocket, unix socket) is given ``slow_after``: a
watchdog task looks every quarter of it at the write under way (the writer's, or a direct one of
the connection's task); one that has not finished after ``slow_after`` seconds means the client
has not read for that long with the socket's buffers full (a write waits only then), and the
connection stops reading once its output is stuck: the client is disconnected as slow (a warning,
and the connection is cancelled). Nothing else waits for a connection's writes, so one slow client
never slows another. Without ``slow_after`` (stdio) the writer just blocks, as the reference's.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Final, final

import trio
from chamberlain.actors.transports import LineTransport

if TYPE_CHECKING:
    from chamberlain.actors.connection import FrameTransport

__all__ = ["OUTBOX_SIZE", "SLOW_CLIENT_S", "WRITE_BATCH_BYTES", "WRITE_BATCH_FRAMES", "Outbox"]

logger = logging.getLogger(__name__)

#: Frames queued for the client before the connection stops reading (stdio blocks, as the reference).
OUTBOX_SIZE: Final = 128
#: Seconds a write may make no progress while the outbox is full before a WebSocket or unix
#: client is disconnected as slow (docs/decisions.md "Backpressure").
SLOW_CLIENT_S: Final = 10.0
#: At most this many queued frames, or about this many bytes, are written together.
WRITE_BATCH_FRAMES: Final = 128
WRITE_BATCH_BYTES: Final = 1024 * 1024


@final
class Outbox:
    def __init__(self, transport: FrameTransport, label: str, *, slow_after: float | None) -> None:
        self._transport = transport
        self._label = label
        self._slow_after = slow_after
        self._send, self._receive = trio.open_memory_channel[bytes](OUTBOX_SIZE)
        #: frames queued (or waiting for room, or being written by the writer), not yet written;
        #: while it is 0 and nobody writes, a frame may be written by the task that made it
        self.unwritten = 0
        self._writing = False
        self._in_batch = 0  # frames the writer has taken out of the channel and is writing
        self._frame_began = 0.0  # trio time the frame being written began (while ``_writing``)
        self._room: trio.Event | None = None  # set when ``full`` ends
        self._idle: trio.Event | None = None  # set when a direct write ends
        #: where ``put_soon`` starts its waiting tasks (the connection's; None once it ended)
        self.later: trio.Nursery | None = None

    @property
    def slow_disconnect(self) -> bool:
        """True when a client that stays behind is disconnected (not blocked)."""
        return self._slow_after is not None

    @property
    def full(self) -> bool:
        """The channel is full (or frames wait for room in it): beyond the batch being written."""
        return self.unwritten - self._in_batch >= OUTBOX_SIZE

    def close(self) -> None:
        """No more frames: the writer writes what is queued, then returns."""
        self._send.close()

    # -- producers ------------------------------------------------------------------------------

    def put_nowait(self, frame: bytes) -> bool:
        """Queue ``frame`` without waiting; False when full or closed."""
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        self.unwritten += 1
        return True

    def put_soon(self, frame: bytes) -> bool:
        """Queue ``frame``; when full, a task waits for room (nothing may overtake it meanwhile).
        False when the connection has finished (nobody will read it)."""
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            pass
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return False
        else:
            self.unwritten += 1
            return True
        if self.later is None:
            return False
        try:
            self.later.start_soon(functools.partial(self.put, frame, counted=True))
        except RuntimeError:  # the connection's nursery has closed
            return False
        self.unwritten += 1  # waiting for room already: nothing may overtake it
        return True

    async def put(self, frame: bytes, *, counted: bool = False) -> None:
        """Queue ``frame``, waiting only while the outbox is full (``send`` would yield every
        time). ``counted``: already in ``unwritten`` (see ``put_soon``)."""
        if not counted:
            self.unwritten += 1  # counted while waiting for room too: nothing may overtake it
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            try:
                await self._send.send(frame)
            except BaseException:
                self.unwritten -= 1
                raise
        except BaseException:
            self.unwritten -= 1
            raise

    async def wait_room(self) -> None:
        """Return once the outbox is no longer full."""
        while self.full:
            if self._room is None:
                self._room = trio.Event()
            await self._room.wait()

    async def write_direct(self, frame: bytes) -> bool:
        """Write ``frame`` in this task when nothing is queued or being written (sparing the writer
        a wake-up); False when it must be queued behind what is."""
        if self.unwritten or self._writing:
            return False
        await self._guarded([frame])
        return True

    # -- the writer -----------------------------------------------------------------------------

    async def run(self, nursery: trio.Nursery) -> None:
        """Write frames until the outbox is closed and empty, then cancel the connection's
        ``nursery`` (nothing else of it needs to run); at once when the client went away."""
        if self._slow_after is not None:
            nursery.start_soon(self._watch, self._slow_after, nursery.cancel_scope)
        async with self._receive:
            try:
                async for frame in self._receive:
                    frames = _take_queued(self._receive, frame)
                    while self._writing:  # a direct write is under way
                        self._idle = trio.Event()
                        await self._idle.wait()
                    self._in_batch = len(frames)
                    try:
                        await self._guarded(frames)
                    finally:
                        self._in_batch = 0
                        self._done(len(frames))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                logger.debug("%s: client went away while writing: %r", self._label, exc)
                nursery.cancel_scope.cancel(reason="client output closed")
        nursery.cancel_scope.cancel(reason="connection done")

    async def _guarded(self, frames: list[bytes]) -> None:
        self._writing = True
        try:
            await self._write(frames)
        finally:
            self._writing = False
            if self._idle is not None:
                self._idle.set()
                self._idle = None

    async def _write(self, frames: list[bytes]) -> None:
        """Frames queued together leave together: on a line transport one write of the lines
        (the bytes of one write per frame, without a system call and a yield per frame)."""
        if len(frames) > 1 and isinstance(self._transport, LineTransport):
            await self._transport.send_frame(b"\n".join(frames))
            return
        for frame in frames:
            self._frame_began = trio.current_time()
            await self._transport.send_frame(frame)

    async def _watch(self, slow_after: float, connection: trio.CancelScope) -> None:
        """Disconnect the client once a frame's write has waited ``slow_after`` seconds."""
        while True:
            await trio.sleep(slow_after / 4)
            if self._writing and trio.current_time() - self._frame_began >= slow_after:
                logger.warning("%s: disconnecting slow client: a frame could not be written for %.0f s "
                               "(%d more waiting)", self._label, slow_after, self.unwritten)
                connection.cancel(reason="slow client")
                return

    def _done(self, count: int) -> None:
        self.unwritten -= count
        if self._room is not None and not self.full:
            self._room.set()
            self._room = None


def _take_queued(receive: trio.MemoryReceiveChannel[bytes], first: bytes) -> list[bytes]:
    """``first`` and the frames queued behind it, up to the batch bounds, without waiting."""
    frames = [first]
    size = len(first)
    while len(frames) < WRITE_BATCH_FRAMES and size < WRITE_BATCH_BYTES:
        try:
            frame = receive.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            break
        frames.append(frame)
        size += len(frame)
    return frames
