#!/usr/bin/env python3
"""The floor: a trivial Trio stdio server answering every request with an empty result.

Reads newline-delimited JSON on stdin; for each line carrying an "id" (``initialize`` included) it
writes ``{"id":<id>,"result":{}}`` on stdout. Lines without an id (notifications) are ignored, and
so are lines that are not JSON objects. Replies to the lines of one read are written in one write,
as any reasonable server would. Exits on end of input.

It is what ``bench/run.py`` compares Chamberlain with: the cost of a Python + Trio process doing
nothing but framing and JSON, measured by the same client.
"""
from __future__ import annotations

import sys
from typing import Final

import msgspec
import trio

READ_CHUNK_BYTES: Final = 1 << 16


class _Envelope(msgspec.Struct):
    id: int | str | None = None


_DECODER: Final = msgspec.json.Decoder(_Envelope)
_ENCODER: Final = msgspec.json.Encoder()


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
        out += b'{"id":'
        out += _ENCODER.encode(env.id)
        out += b',"result":{}}\n'
    return bytes(out)


async def main() -> int:
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
