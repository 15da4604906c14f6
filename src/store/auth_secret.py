"""``Secret``: an API key, token or refresh token that never shows itself in ``repr``, ``str``,
f-strings, ``%`` formatting or log records. The value is reached only through :meth:`reveal`."""

from __future__ import annotations

import hmac
from typing import Final, final

__all__ = ["REDACTED", "Secret"]

#: what every rendering of a secret shows instead of its value.
REDACTED: Final = "***"


@final
class Secret:
    """A string secret. Not a ``str`` subclass on purpose: concatenation, ``json.dumps`` and
    ``str.join`` would otherwise copy the value out silently."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only for the wire, the file and outgoing HTTP."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        return (Secret, (self._value,))
