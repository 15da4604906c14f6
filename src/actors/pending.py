"""Server -> client requests of one connection (spec §1.7): an id counter of its own, a table of
requests awaiting the client's response, each with its deadline.

``begin`` registers a request and gives the frame to send and a ``Reply`` to await; ``resolve``
routes a client response to its waiter (a late or unknown id is ignored, logged at DEBUG);
``run`` fails each waiter whose deadline passes with ``ClientRequestTimedOut``; ``close`` fails
the rest with ``ClientGone`` when the connection ends.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

import trio
from chamberlain.actors.reply import Reply
from chamberlain.errors import ClientGone, ClientRequestTimedOut
from chamberlain.protocol.codec import encode_request

if TYPE_CHECKING:
    from chamberlain.protocol.codec import Response

__all__ = ["PendingRequests"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Entry:
    method: str
    deadline: float
    reply: Reply[Response]


@final
class PendingRequests:
    def __init__(self, label: str = "stdio") -> None:
        self.label = label
        self._next_id = 0
        self._entries: dict[int, _Entry] = {}
        self._changed = trio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, method: str, params: Any, *, deadline: float) -> tuple[bytes, Reply[Response]]:
        """Register a request answered by ``deadline`` (trio clock); returns (frame, reply)."""
        if self._closed:
            raise ClientGone("connection closed")
        request_id, self._next_id = self._next_id, self._next_id + 1
        reply: Reply[Response] = Reply()
        self._entries[request_id] = _Entry(method, deadline, reply)
        self._wake()
        return encode_request(request_id, method, params), reply

    def resolve(self, response: Response) -> None:
        entry = self._entries.pop(response.id, None) if isinstance(response.id, int) else None
        if entry is None:
            logger.debug("%s: ignoring response %r matching no pending request", self.label, response.id)
            return
        entry.reply.set(response)
        self._wake()

    async def run(self) -> None:
        """Fail requests as their deadlines pass; returns after ``close``."""
        while not self._closed:
            now = trio.current_time()
            for request_id, entry in [(k, e) for k, e in self._entries.items() if e.deadline <= now]:
                del self._entries[request_id]
                logger.debug("%s: %s (request %d) timed out", self.label, entry.method, request_id)
                entry.reply.fail(ClientRequestTimedOut(entry.method, request_id))
            earliest = min((e.deadline for e in self._entries.values()), default=math.inf)
            self._changed = trio.Event()
            with trio.move_on_at(earliest):
                await self._changed.wait()

    def close(self) -> None:
        self._closed = True
        for entry in self._entries.values():
            entry.reply.fail(ClientGone(f"connection closed before the client answered {entry.method}"))
        self._entries.clear()
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
