"""The unix socket's side of the WebSocket upgrade (config.md §11.5), as codex-cli 0.169.0 answers
it (measured with raw requests and with ``codex --remote unix://`` and ``codex app-server proxy``).

The reference's control socket is not its TCP listener: it has no health probes and no HTTP
answers. A ``GET`` with ``Connection: upgrade``, ``Upgrade: websocket``, ``Sec-WebSocket-Version:
13`` and a ``Sec-WebSocket-Key`` is upgraded whatever its path, ``Origin`` or ``Host`` (none
needed); anything else that is HTTP is closed without a byte. Its ``101`` is its own::

    HTTP/1.1 101 Switching Protocols
    connection: Upgrade
    upgrade: websocket
    sec-websocket-accept: <accept>
    x-codex-websocket-max-unfragmented-message-bytes: 16777216

(no ``date``). The socket's file mode (0600) is its guard: the reference does not ask for the
``--ws-auth`` token here; an embedding host may still pass ``check_upgrade``. A first line that is
not an HTTP request line is closed without a byte, as on the reference (docs/multi-client.md).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import TYPE_CHECKING, Final

import trio
from chamberlain.actors.ws_transport import MAX_MESSAGE_BYTES, serve_upgraded

if TYPE_CHECKING:
    from chamberlain.actors.server import Server
    from chamberlain.actors.ws_http import CheckUpgrade, Headers

__all__ = ["serve_unix_stream", "unix_switching_protocols"]

logger = logging.getLogger(__name__)

_MAX_HEAD_BYTES: Final = 64 * 1024
_RECEIVE_BYTES: Final = 64 * 1024
_WS_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_REQUEST_LINE: Final = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP/\d\.\d\r?")


def unix_switching_protocols(key: bytes) -> bytes:
    """The reference's unix-socket ``101`` for ``Sec-WebSocket-Key: key``."""
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())  # RFC 6455's hash
    return (b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
            b"sec-websocket-accept: %s\r\nx-codex-websocket-max-unfragmented-message-bytes: %d\r\n\r\n"
            % (accept, MAX_MESSAGE_BYTES))


async def _read_head(stream: trio.abc.Stream) -> tuple[bytes, bytes] | None:
    """The request head (up to its blank line) and what followed; None at end of input, a head
    too long or a first line that is not HTTP."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        first = data.split(b"\n", 1)
        if len(first) == 2 and not _REQUEST_LINE.fullmatch(first[0]):
            return None
        if len(data) > _MAX_HEAD_BYTES:
            return None
        chunk = await stream.receive_some(_RECEIVE_BYTES)
        if not chunk:
            return None
        data += chunk
    return data[:end], data[end + 4 :]


def _headers(head: bytes) -> tuple[bytes, Headers]:
    """The method and the headers (names lower-case) of a request head."""
    request_line, *lines = head.split(b"\r\n")
    headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)]
    return request_line.split(b" ", 1)[0], headers


def _tokens(headers: Headers, name: bytes) -> set[bytes]:
    return {t.strip().lower() for n, v in headers if n == name for t in v.split(b",")}


def _upgrade_key(method: bytes, headers: Headers) -> bytes | None:
    """The ``Sec-WebSocket-Key`` of a valid upgrade request, else None."""
    key = next((v for n, v in headers if n == b"sec-websocket-key"), None)
    valid = (method == b"GET" and b"upgrade" in _tokens(headers, b"connection")
             and b"websocket" in _tokens(headers, b"upgrade") and b"13" in _tokens(headers, b"sec-websocket-version"))
    return key if valid and key else None


async def serve_unix_stream(
    server: Server, stream: trio.abc.Stream, label: str, check_upgrade: CheckUpgrade | None = None,
) -> None:
    """Serve one accepted unix stream: the upgrade, then one JSON-RPC connection."""
    async with stream:
        try:
            read = await _read_head(stream)
            if read is None:
                return
            method, headers = _headers(read[0])
            key = _upgrade_key(method, headers)
            if key is None:
                logger.debug("%s: not a WebSocket upgrade; closed", label)
                return
            refusal = check_upgrade(headers) if check_upgrade is not None else None
            if refusal is not None:
                await stream.send_all(refusal)
                return
            await serve_upgraded(server, stream, unix_switching_protocols(key), read[1], label)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("%s: client went away: %r", label, exc)
