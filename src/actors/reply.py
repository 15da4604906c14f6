"""A typed one-shot answer between actors: the owner of a request sets it once, the requester
awaits it. ``Waiter`` is its read side (covariant), so a ``Reply[ConfigWriteResponse]`` can be
awaited wherever a ``Waiter[WireResult]`` is expected."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar, final

import trio

__all__ = ["Reply", "Waiter"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Waiter(Protocol[T_co]):
    async def wait(self) -> T_co: ...


@final
class Reply(Generic[T]):
    """Set exactly once with ``set`` or ``fail``; ``wait`` returns the value or raises the error."""

    __slots__ = ("_error", "_event", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def set(self, value: T) -> None:
        if self._event.is_set():
            raise RuntimeError("reply already given")
        self._value = value
        self._event.set()

    def fail(self, error: BaseException) -> None:
        if self._event.is_set():
            raise RuntimeError("reply already given")
        self._error = error
        self._event.set()

    async def wait(self) -> T:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set() stored a T
