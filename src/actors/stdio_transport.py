"""The stdio transport as a trio task: newline-delimited JSON on a pair of byte streams.

``serve_stdio`` has the shape of ``serve_websocket`` and ``serve_unix``: a started server first,
``nursery.start`` returns once the connection is being served (its ``started`` value is the label,
``"stdio"``). It serves one client and returns at the end of its input, once every request
received was answered and written (``STOP_GRACE_S`` at most); ``Server.stop()`` ends it the same
way, and cancelling it closes the connection at once. Without streams it uses the process's
stdin and stdout (duplicated descriptors, closed when it returns; trio makes them non-blocking,
which the originals share).
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import AsyncExitStack, closing
from typing import TYPE_CHECKING, Final

import trio
import trio.lowlevel
from chamberlain.actors.transports import LineTransport

if TYPE_CHECKING:
    from chamberlain.actors.server import Server

__all__ = ["STDIO_LABEL", "serve_stdio"]

STDIO_LABEL: Final = "stdio"


async def serve_stdio(
    server: Server,
    receive: trio.abc.ReceiveStream | None = None,
    send: trio.abc.SendStream | None = None,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve one line-transport client on ``receive``/``send`` (default: the process's stdin and
    stdout) until its input ends; the server's ``max_frame_bytes`` bounds a line."""
    async with AsyncExitStack() as owned:
        if receive is None:
            receive = owned.enter_context(closing(trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))))
        if send is None:
            send = owned.enter_context(closing(trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))))
        transport = LineTransport(receive, send, max_frame_bytes=server.settings.max_frame_bytes)
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(server.serve_connection, transport, STDIO_LABEL))
            task_status.started(STDIO_LABEL)

