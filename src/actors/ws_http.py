"""The HTTP/1.1 side of the WebSocket listener, before any WebSocket frame (config.md §11.3).

``route_http`` reads requests with h11 and answers them the way codex-cli 0.169.0 does (measured on
the reference, status line, headers and body): ``GET``/``HEAD /readyz`` and ``/healthz`` -> ``200``
empty; any request with an ``Origin`` header -> ``403`` empty; another method on a probe path ->
``405`` with ``allow: GET,HEAD``; elsewhere the WebSocket upgrade checks in the reference's order
(``405 Request method must be `GET```, then ``400`` for the ``Connection``, ``Upgrade``,
``Sec-WebSocket-Version`` and ``Sec-WebSocket-Key`` headers). Connections stay alive between plain
requests. A request that passes every check is returned as bytes (its head, as received, plus what
followed it) for the WebSocket handshake to read again.

Authentication (§11.4) is the caller's: ``check_upgrade(headers)`` is asked about every request
that is not a health probe and returns ``None`` to accept or the complete HTTP response to send.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Final, TypeAlias, final

import h11
import trio

__all__ = ["CheckUpgrade", "Headers", "route_http", "PROBE_PATHS"]

logger = logging.getLogger(__name__)

Headers: TypeAlias = list[tuple[bytes, bytes]]
#: The auth hook: headers (lower-case names) -> None (accepted) or a complete HTTP response.
CheckUpgrade: TypeAlias = Callable[[Headers], "bytes | None"]

PROBE_PATHS: Final = frozenset({b"/readyz", b"/healthz"})
_READ_CHUNK_BYTES: Final = 64 * 1024
_MAX_HEAD_BYTES: Final = 64 * 1024
_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
#: A request line; checked as soon as one is buffered (h11 waits for the whole head, the
#: reference answers a first line that is not HTTP at once).
_REQUEST_LINE: Final = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP/\d\.\d\r?")
_BAD_REQUEST: Final = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n"


@final
class _Answer:
    """A plain HTTP response: status, extra headers before ``content-length``, body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: Headers | None = None, body: bytes = b"") -> None:
        self.status = status
        self.headers = headers or []
        self.body = body


def _text(status: int, body: str) -> _Answer:
    return _Answer(status, [_TEXT], body.encode())


def _tokens(headers: Headers, name: bytes) -> set[bytes]:
    return {t.strip().lower() for n, v in headers if n == name for t in v.split(b",")}


def _upgrade_problem(request: h11.Request) -> _Answer | None:
    """The first WebSocket upgrade check the request fails, as the reference answers it."""
    headers = list(request.headers)
    if request.method != b"GET":
        return _text(405, "Request method must be `GET`")
    if b"upgrade" not in _tokens(headers, b"connection"):
        return _text(400, "Connection header did not include 'upgrade'")
    if b"websocket" not in _tokens(headers, b"upgrade"):
        return _text(400, "`Upgrade` header did not include 'websocket'")
    if b"13" not in _tokens(headers, b"sec-websocket-version"):
        return _text(400, "`Sec-WebSocket-Version` header did not include '13'")
    if not any(n == b"sec-websocket-key" for n, _ in headers):
        return _text(400, "`Sec-WebSocket-Key` header missing")
    return None


def _decide(request: h11.Request, check_upgrade: CheckUpgrade | None) -> _Answer | bytes | None:
    """An answer, a complete response from the auth hook, or None to upgrade."""
    headers = list(request.headers)
    if any(n == b"origin" for n, _ in headers):
        return _Answer(403)
    path = request.target.partition(b"?")[0]
    if path in PROBE_PATHS:
        if request.method in (b"GET", b"HEAD"):
            return _Answer(200)
        return _Answer(405, [(b"allow", b"GET,HEAD")])
    if check_upgrade is not None:
        refusal = check_upgrade(headers)
        if refusal is not None:
            return refusal
    return _upgrade_problem(request)


def _date() -> tuple[bytes, bytes]:
    return (b"date", formatdate(usegmt=True).encode())


def _replay(request: h11.Request, rest: bytes) -> bytes:
    """The request head as the client sent it (names in its case), then the bytes after it."""
    lines = [b"%s %s HTTP/%s" % (request.method, request.target, request.http_version)]
    lines += [name + b": " + value for name, value in request.headers.raw_items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + rest


async def _next_event(stream: trio.abc.Stream, conn: h11.Connection) -> h11.Event | type[h11.PAUSED] | None:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]  # h11's sentinels are classes
        data = bytes(await stream.receive_some(_READ_CHUNK_BYTES))
        if not data and conn.their_state is h11.IDLE:
            return None
        conn.receive_data(data)
        _check_request_line(conn)


def _check_request_line(conn: h11.Connection) -> None:
    if conn.their_state is not h11.IDLE:
        return
    buffered = conn.trailing_data[0].lstrip(b"\r\n")
    line, newline, _ = buffered.partition(b"\n")
    if newline and not _REQUEST_LINE.fullmatch(line):
        raise h11.RemoteProtocolError("not an HTTP request line")


async def _send(stream: trio.abc.Stream, conn: h11.Connection, answer: _Answer) -> None:
    headers = [*answer.headers, (b"content-length", b"%d" % len(answer.body)), _date()]
    out = conn.send(h11.Response(status_code=answer.status, headers=headers,
                                 reason=HTTPStatus(answer.status).phrase.encode())) or b""
    if answer.body:
        out += conn.send(h11.Data(data=answer.body)) or b""
    out += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(out)


async def _finish_cycle(stream: trio.abc.Stream, conn: h11.Connection) -> bool:
    """Read the rest of the request just answered; True when the connection can serve another."""
    while conn.their_state is h11.SEND_BODY:
        event = await _next_event(stream, conn)
        if event is None or isinstance(event, h11.ConnectionClosed):
            return False
    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
        return False
    conn.start_next_cycle()
    return True


async def route_http(stream: trio.abc.Stream, check_upgrade: CheckUpgrade | None = None) -> bytes | None:
    """Answer plain HTTP requests on ``stream`` until one asks for a WebSocket upgrade and passes
    every check: return its bytes then. None when the client left or the connection must close."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD_BYTES)
    try:
        while True:
            event = await _next_event(stream, conn)
            if not isinstance(event, h11.Request):
                return None
            decision = _decide(event, check_upgrade)
            if decision is None:
                return _replay(event, conn.trailing_data[0])
            if isinstance(decision, bytes):
                await stream.send_all(decision)
                return None
            await _send(stream, conn, decision)
            if not await _finish_cycle(stream, conn):
                return None
    except h11.RemoteProtocolError as exc:
        logger.debug("malformed HTTP request: %s", exc)
        await stream.send_all(_BAD_REQUEST + b"%s: %s\r\n\r\n" % _date())
        return None
