"""Who sent a request: what an actor needs to know of the requesting connection.

A connection makes its ``Caller`` at ``initialize`` (and has an uninitialized one before). The
originator and user agent name the client on outbound HTTP (spec account.md §1); ``handle`` lets
an actor notify that connection alone or send it a server -> client request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from chamberlain.actors.reply import Reply
    from chamberlain.protocol.codec import Response

__all__ = ["DEFAULT_ORIGINATOR", "Caller", "ClientHandle"]

#: The originator of requests made before any client initialized (a refresh at start-up).
DEFAULT_ORIGINATOR: Final = "codex_cli_rs"


class ClientHandle(Protocol):
    """A connection as an actor sees it."""

    label: str

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification to this connection (if it wants that method)."""
        ...

    async def request_client(self, method: str, params: Any, *, deadline: float) -> Reply[Response]:
        """Send a server -> client request; the reply gives the client's response."""
        ...


@dataclass(frozen=True, slots=True)
class Caller:
    originator: str
    #: ``<originator>/<version> (<os>; <arch>) <terminal> (<name>; <client version>)``
    user_agent: str
    experimental_api: bool
    handle: ClientHandle | None = None
