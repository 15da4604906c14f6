#!/usr/bin/env python3
"""The floor: a trivial Trio stdio server answering every request with a result of a given size.

Reads newline-delimited JSON on stdin; for each line carrying an "id" (``initialize`` included) it
writes ``{"id":<id>,"result":{"pad":"xxx…"}}`` on stdout, padded so that the line (newline
included) is as long as the size given for the request's method in the environment variable
``BENCH_ECHO_SIZES`` (a JSON object: method -> bytes; ``bench/run.py`` fills it with the length of
the reference's reply to that method on the same fixture). A method without a size gets
``{"result":{}}``. Lines without an id (notifications) are ignored, and so are lines that are not
JSON objects. Replies to the lines of one read are written in one write. Exits on end of input.

It is what ``bench/run.py`` compares Chamberlain with: the cost of a Python + Trio process doing
nothing but framing, JSON and writing reply-sized bytes, measured by the same client.

``--listen ws://127.0.0.1:0``: the same answers over WebSocket (trio-websocket, one reply per text
message), the bound address printed on stderr as ``listening on: ws://HOST:PORT``; stops on
SIGTERM.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from typing import Final

import msgspec
import trio

READ_CHUNK_BYTES: Final = 1 << 16


class _Envelope(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None


_DECODER: Final = msgspec.json.Decoder(_Envelope)
_ENCODER: Final = msgspec.json.Encoder()


def _sizes() -> dict[str, int]:
    raw = os.environ.get("BENCH_ECHO_SIZES")
    return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


SIZES: Final = _sizes()


def _reply(rid: bytes, method: str | None) -> bytes:
    head = b'{"id":' + rid + b',"result":{'
    size = SIZES.get(method or "")
    if size is None:
        return head + b"}}\n"
    pad = max(0, size - len(head) - len(b'"pad":""}}\n'))
    return head + b'"pad":"' + b"x" * pad + b'"}}\n'


def _replies(lines: list[bytes]) -> bytes:
    out = bytearray()
    for line in lines:
        if not line.strip():
            continue
        try:
            env = _DECODER.decode(line)
        except msgspec.DecodeError:
            continue
        if env.id is None:
            continue
        out += _reply(_ENCODER.encode(env.id), env.method)
    return bytes(out)


def _reply_to(message: str) -> str | None:
    try:
        env = _DECODER.decode(message)
    except msgspec.DecodeError:
        return None
    if env.id is None:
        return None
    return _reply(_ENCODER.encode(env.id), env.method)[:-1].decode()


async def serve_ws(host: str, port: int) -> int:
    import trio_websocket

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        while True:
            try:
                message = await ws.get_message()
                reply = _reply_to(message) if isinstance(message, str) else None
                if reply is not None:
                    await ws.send_message(reply)
            except trio_websocket.ConnectionClosed:
                return

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, host, port, None)
        print(f"listening on: ws://{host}:{server.port}", file=sys.stderr, flush=True)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                nursery.cancel_scope.cancel(reason="signal")
                break
    return 0


async def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--listen":
        host, _, port = sys.argv[2].removeprefix("ws://").rpartition(":")
        return await serve_ws(host, int(port))
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    stdout = trio.lowlevel.FdStream(sys.stdout.fileno())
    pending = b""
    async with stdin, stdout:
        while True:
            chunk = await stdin.receive_some(READ_CHUNK_BYTES)
            if not chunk:
                return 0
            *lines, pending = (pending + chunk).split(b"\n")
            out = _replies(lines)
            if out:
                try:
                    await stdout.send_all(out)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main))
