"""A typed one-shot answer between actors: the owner of a request gives it once (``set`` or
``fail``); the requester either awaits it (``wait``) or asks to be called when it is given
(``on_done``, then ``result``) — the connection does the latter, so answering a request costs
no task of its own.

``Waiter`` and ``Answer`` are its two read sides; both are covariant, so a
``Reply[ConfigWriteResponse]`` is an ``Answer[WireResult]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar, final

import trio

__all__ = ["Answer", "Reply", "Waiter"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Waiter(Protocol[T_co]):
    async def wait(self) -> T_co: ...


class Answer(Protocol[T_co]):
    def on_done(self, callback: Callable[[], None]) -> None: ...

    def result(self) -> T_co: ...


@final
class Reply(Generic[T]):
    """Given exactly once with ``set`` or ``fail``; ``wait``/``result`` return the value or raise
    the error."""

    __slots__ = ("_callback", "_error", "_event", "_given", "_value")

    def __init__(self) -> None:
        # The Event is made only when someone waits: most replies are given to a callback
        # (``on_done``), and an Event with its parking lot would be made per request for nothing.
        self._event: trio.Event | None = None
        self._given = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._callback: Callable[[], None] | None = None

    def set(self, value: T) -> None:
        self._give()
        self._value = value
        self._done()

    def fail(self, error: BaseException) -> None:
        self._give()
        self._error = error
        self._done()

    def on_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the reply is given — in the giver's task, so it must not
        raise or block — or at once if it already was."""
        if self._given:
            callback()
        else:
            self._callback = callback

    def result(self) -> T:
        """The value, or raise the error; only once given."""
        if not self._given:
            raise RuntimeError("reply not given yet")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set() stored a T

    async def wait(self) -> T:
        if self._given:
            await trio.lowlevel.checkpoint()
        else:
            if self._event is None:
                self._event = trio.Event()
            await self._event.wait()
        return self.result()

    def _give(self) -> None:
        if self._given:
            raise RuntimeError("reply already given")

    def _done(self) -> None:
        self._given = True
        if self._event is not None:
            self._event.set()
        callback, self._callback = self._callback, None
        if callback is not None:
            try:
                callback()
            except Exception:  # a requester's bug must not take the giving actor down
                logger.exception("reply callback failed")
