"""HTTP/1.1 on a trio stream with h11: one request at a time per connection, keep-alive honoured."""

from __future__ import annotations

import contextlib
import http
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, final
from urllib.parse import parse_qsl, urlsplit

import h11
import trio

__all__ = ["HttpRequest", "HttpResponse", "json_response", "text_response", "serve_http"]

logger = logging.getLogger(__name__)

#: Bound on one request (head + body), bytes.
MAX_REQUEST_BYTES: Final = 1 << 20
_REASONS: Final = {status.value: status.phrase for status in http.HTTPStatus}
#: Read size from the socket, bytes.
READ_CHUNK_BYTES: Final = 65536


@final
@dataclass
class HttpRequest:
    """A request as the fake received it; header names are lower-case (last value wins)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    #: trio time at arrival (virtual under MockClock)
    at: float
    #: the fake's name for what was asked (``Endpoint`` value), None for an unknown route
    endpoint: str | None = None
    #: status of the answer, None while it is being delayed
    status: int | None = None

    def __repr__(self) -> str:
        # headers and body carry bearer tokens, codes and refresh tokens: never in a repr
        return (f"HttpRequest({self.method} {self.path}, endpoint={self.endpoint!r}, status={self.status!r}, "
                f"<{len(self.body)} body bytes>)")

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; None when empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def fields(self) -> dict[str, Any]:
        """Body members whatever the encoding: a JSON object, else a form."""
        data = self.json()
        if isinstance(data, dict):
            return data
        return dict(self.form())

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@final
@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())


def json_response(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    body = json.dumps(obj).encode()
    return HttpResponse(status, body, (("content-type", "application/json"), *headers))


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
    return HttpResponse(status, text.encode(), (("content-type", content_type),))


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def _read_request(conn: h11.Connection, stream: trio.abc.Stream) -> HttpRequest | None:
    """The next complete request, or None when the peer closed the connection between requests."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(READ_CHUNK_BYTES)
            conn.receive_data(bytes(data))
            continue
        if isinstance(event, h11.ConnectionClosed):
            return None
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REQUEST_BYTES:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in head.headers}
            return HttpRequest(head.method.decode(), head.target.decode("latin-1"), headers, bytes(body),
                               trio.current_time())


async def _send(conn: h11.Connection, stream: trio.abc.Stream, resp: HttpResponse) -> None:
    headers = [*resp.headers, ("content-length", str(len(resp.body)))]
    reason = _REASONS.get(resp.status, "").encode()
    out = conn.send(h11.Response(status_code=resp.status, headers=headers, reason=reason)) or b""
    if resp.body:
        out += conn.send(h11.Data(data=resp.body)) or b""
    out += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(out)


async def _answer_protocol_error(conn: h11.Connection, stream: trio.abc.Stream, exc: h11.RemoteProtocolError) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    with contextlib.suppress(h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        await _send(conn, stream, text_response(exc.error_status_hint, "Bad Request"))


async def serve_http(stream: trio.abc.Stream, handler: Handler) -> None:
    """Serve requests on one connection until the peer closes it or asks to close; closes ``stream``."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
    async with stream:
        try:
            while True:
                req = await _read_request(conn, stream)
                if req is None:
                    return
                await _send(conn, stream, await handler(req))
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:
            logger.debug("bad HTTP from a client: %s", exc)
            await _answer_protocol_error(conn, stream, exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            logger.debug("client went away")
