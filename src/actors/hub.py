"""The broadcast hub: any actor publishes a server notification once; every connection that has
completed ``initialize`` and has not opted out of that method gets it (spec §1.6, §2.4).

Publishing never waits for a client: the frame is encoded once and offered to each connection's
outbox without blocking — one slow client must not stall the publisher or the other clients. A
full outbox on a WebSocket or unix connection keeps the frame waiting for room (the client gets
it or is disconnected as slow, spec §11.6); a stdio connection whose outbox is full misses it
(logged as a warning).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, final

from chamberlain.protocol.codec import encode_notification

__all__ = ["Hub", "Subscriber"]

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    """A connection as the hub sees it."""

    label: str

    def wants(self, method: str) -> bool:
        """True when initialized and ``method`` is not opted out."""
        ...

    def offer(self, frame: bytes) -> bool:
        """Queue ``frame`` without waiting; False when it will not be delivered (closed, or a
        full outbox that does not wait)."""
        ...


@final
class Hub:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    @contextmanager
    def subscribe(self, subscriber: Subscriber) -> Iterator[None]:
        self._subscribers.append(subscriber)
        try:
            yield
        finally:
            self._subscribers.remove(subscriber)

    def publish(self, method: str, params: Any) -> int:
        """Send ``method`` to every subscriber that wants it; returns how many got it."""
        frame: bytes | None = None
        delivered = 0
        for sub in tuple(self._subscribers):
            if not sub.wants(method):
                continue
            if frame is None:
                frame = encode_notification(method, params)
            if sub.offer(frame):
                delivered += 1
            else:
                logger.warning("%s: outbox full or closed, %s notification dropped", sub.label, method)
        return delivered
