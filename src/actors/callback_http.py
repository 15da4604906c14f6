"""The loopback side of the browser login (spec account.md §6.2.2): binding the callback port the
way the reference does, HTTP/1.1 with h11 (keep-alive until a reply ends the attempt), and the
two pages.

``bind_callback_listener`` binds ``127.0.0.1`` on the first free port of a list: a busy first port
gets one ``GET /cancel`` (a stale login server of ours gives way), then ten binds 200 ms apart; the
next port gets ten more without a cancel; then ``failed to start login server: Port
127.0.0.1:<last> is already in use``. Port 0 binds any free port (tests).
"""

from __future__ import annotations

import errno
import html
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, final

import h11
import trio
from chamberlain.errors import InternalError
from chamberlain.remote.status import reason_phrase

__all__ = [
    "LOOPBACK",
    "HttpReply",
    "bind_callback_listener",
    "error_page",
    "finish_request",
    "read_request_target",
    "success_page",
    "text_reply",
    "write_reply",
]

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
#: Binds per port before giving up on it, and the pause after each failed one, seconds.
BIND_ATTEMPTS: Final = 10
BIND_RETRY_DELAY_S: Final = 0.2
#: Connect, write and read bounds of the ``/cancel`` request sent to a stale server, seconds.
CANCEL_STEP_TIMEOUT_S: Final = 2.0
CANCEL_READ_BYTES: Final = 64
LISTEN_BACKLOG: Final = 128
READ_CHUNK_BYTES: Final = 16384
TEXT_PLAIN: Final = "text/plain; charset=UTF-8"
TEXT_HTML: Final = "text/html; charset=utf-8"


# --- binding


async def _listen(port: int) -> trio.SocketListener:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # as the reference's std listener does: a port in TIME_WAIT is free, a listening one is not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        await sock.bind((LOOPBACK, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


async def _send_cancel(port: int) -> None:
    """``GET /cancel`` to whatever holds ``port``; every failure and the reply are ignored."""
    request = f"GET /cancel HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nConnection: close\r\n\r\n".encode()
    stream: trio.SocketStream | None = None
    with trio.move_on_after(CANCEL_STEP_TIMEOUT_S):
        try:
            stream = await trio.open_tcp_stream(LOOPBACK, port)
        except OSError as exc:
            logger.debug("failed to cancel previous login server: %s", exc)
    if stream is None:
        return
    async with stream:
        try:
            with trio.move_on_after(CANCEL_STEP_TIMEOUT_S):
                await stream.send_all(request)
            with trio.move_on_after(CANCEL_STEP_TIMEOUT_S):
                await stream.receive_some(CANCEL_READ_BYTES)
        except (trio.BrokenResourceError, OSError) as exc:
            logger.debug("failed to cancel previous login server: %s", exc)


async def bind_callback_listener(ports: Sequence[int]) -> trio.SocketListener:
    """Bind the callback server (see the module text). Raises InternalError before any listener
    exists when every port stays busy. The 200 ms retries are the reference's bind schedule."""
    for index, port in enumerate(ports):
        for attempt in range(BIND_ATTEMPTS):
            try:
                return await _listen(port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    # Rust's io::Error wording: "<strerror> (os error <n>)"
                    reason = f"{exc.strerror} (os error {exc.errno})"
                    raise InternalError(f"failed to start login server: {reason}") from None
            if index == 0 and attempt == 0:
                await _send_cancel(port)
            await trio.sleep(BIND_RETRY_DELAY_S)
    raise InternalError(f"failed to start login server: Port {LOOPBACK}:{ports[-1]} is already in use")


# --- one request, one reply


@final
@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    location: str | None = None


async def read_request_target(stream: trio.abc.Stream, conn: h11.Connection) -> str | None:
    """The target of the first request on ``stream``, or None when the peer sends none."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(bytes(await stream.receive_some(READ_CHUNK_BYTES)))
            continue
        if isinstance(event, h11.Request):
            return event.target.decode("utf-8", "replace")
        return None


async def finish_request(stream: trio.abc.Stream, conn: h11.Connection) -> bool:
    """Read the rest of the current request (a body is ignored); True when the connection can
    carry another request."""
    while conn.their_state is h11.SEND_BODY:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(bytes(await stream.receive_some(READ_CHUNK_BYTES)))
        elif isinstance(event, h11.ConnectionClosed):
            return False
    return conn.our_state is h11.DONE and conn.their_state is h11.DONE


async def write_reply(stream: trio.abc.Stream, conn: h11.Connection, reply: HttpReply, *, close: bool) -> None:
    """Send ``reply``. A reply that ends the attempt says ``Connection: close`` (the caller then
    closes the stream); the others leave the connection open, as the reference's server does."""
    headers: list[tuple[str, str]] = []
    if reply.content_type is not None:
        headers.append(("Content-Type", reply.content_type))
    if reply.location is not None:
        headers.append(("Location", reply.location))
    headers.append(("Content-Length", str(len(reply.body))))
    if close:
        headers.append(("Connection", "close"))
    reason = (reason_phrase(reply.status) or "").encode()
    data = conn.send(h11.Response(status_code=reply.status, headers=headers, reason=reason)) or b""
    if reply.body:
        data += conn.send(h11.Data(data=reply.body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    await stream.send_all(data)


# --- pages (their HTML is cosmetic; the titles are the reference's)

_PAGE: Final = (
    "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
    "<body style=\"font-family: system-ui, sans-serif; max-width: 36em; margin: 4em auto\">\n"
    "<h1>{heading}</h1>\n<p>{text}</p>\n</body>\n</html>\n"
)


def success_page() -> HttpReply:
    body = _PAGE.format(
        title="Sign into Codex",
        heading="Signed in to Codex",
        text="You may now close this page and return to Codex.",
    )
    return HttpReply(200, body.encode(), TEXT_HTML)


def error_page(message: str) -> HttpReply:
    body = _PAGE.format(
        title="Codex Sign-in Error",
        heading="Sign-in could not be completed",
        text=html.escape(message),
    )
    return HttpReply(200, body.encode(), TEXT_HTML)


def text_reply(status: int, text: str, content_type: str | None = TEXT_PLAIN) -> HttpReply:
    return HttpReply(status, text.encode(), content_type)
