"""The one place where exceptions become JSON-RPC errors (httpcore's ``map_exceptions`` shape).

Handlers raise typed errors: the :mod:`chamberlain.errors` hierarchy, whose classes carry their
code, or the few foreign exceptions mapped below. ``map_exceptions`` turns the foreign ones into
the hierarchy; anything else is a bug: it is logged with its traceback and answered ``-32603``
with a generic text, and the connection goes on serving. No exception name ever reaches a
client. ``error_frame`` writes the reference's error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, Literal, final

from chamberlain.errors import ChamberlainError, InternalError, InvalidRequest
from chamberlain.protocol.codec import encode_error
from chamberlain.protocol.decode import ParamsError

if TYPE_CHECKING:
    from types import TracebackType

    from chamberlain.protocol.codec import RequestId

__all__ = ["GENERIC_INTERNAL_TEXT", "error_frame", "map_exceptions"]

logger = logging.getLogger(__name__)

#: The answer to a request whose handler failed unexpectedly.
GENERIC_INTERNAL_TEXT: Final = "internal error"

#: Foreign exceptions a handler may raise on client input, and what they mean on the wire.
_MAPPING: Final[Mapping[type[Exception], Callable[[Exception], ChamberlainError]]] = {
    ParamsError: lambda exc: InvalidRequest(f"Invalid request: {exc}"),
}


@final
class map_exceptions:
    """``with map_exceptions(method):`` re-raises what the body raises as a ChamberlainError
    (``method`` names the request in the log). A class rather than a generator: it wraps every
    request, and this costs a fraction of ``@contextmanager``'s overhead."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is None or isinstance(exc, ChamberlainError) or not isinstance(exc, Exception):
            return False  # no error, already typed, or not ours to map (Cancelled, KeyboardInterrupt)
        for foreign, make in _MAPPING.items():
            if isinstance(exc, foreign):
                raise make(exc) from None
        logger.error("%s: unexpected failure, answered %r", self.method, GENERIC_INTERNAL_TEXT, exc_info=exc)
        raise InternalError(GENERIC_INTERNAL_TEXT) from None


def error_frame(request_id: RequestId, exc: ChamberlainError) -> bytes:
    return encode_error(request_id, exc.code, exc.message, exc.data)
