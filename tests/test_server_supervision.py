"""The server supervises its connections (issue 6 §2): a connection whose transport fails, or a
handler that fails unexpectedly, ends only what it must — the connection, or that one request —
and every other client keeps being served. Asserted on wire frames and on the log."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel
from chamberlain.store.config_store import ConfigStore

#: Upper bound for one test's I/O, seconds of the real clock (as in conftest).
IO_BOUND_S = 10


class ExplodingTransport:
    """Delivers its frames, then fails the way a buggy transport would (not a disconnect)."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.sent: list[bytes] = []

    async def receive_frame(self) -> bytes | None:
        await trio.lowlevel.checkpoint()
        if self.frames:
            return self.frames.pop(0)
        raise RuntimeError("transport bug")

    async def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)


async def test_a_connection_whose_transport_crashes_ends_alone_and_others_keep_serving(
    codex_home: Path, system_dir: Path, harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="chamberlain")
    settings = harness.Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, harness.connect(server) as healthy:
            await healthy.initialize()
            bad = ExplodingTransport([b'{"id":1,"method":"config/mcpServer/reload"}'])
            await server.serve_connection(bad, "exploding")  # returns: the crash ended it
            assert bad.sent == [b'{"error":{"code":-32600,"message":"Not initialized"},"id":1}']
            assert await healthy.call("config/mcpServer/reload", request_id="after") == {"id": "after", "result": {}}
            second = ExplodingTransport([])
            await server.serve_connection(second, "exploding-2")
            assert await healthy.call("config/mcpServer/reload", request_id="still") == {"id": "still", "result": {}}
    failures = [r for r in caplog.records if "connection failed and was closed" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in failures] == ["exploding", "exploding-2"]


async def test_an_unexpected_handler_failure_is_a_generic_internal_error_and_the_connection_serves_on(
    session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: ConfigStore, *args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ConfigStore, "read_requirements", broken)
    caplog.set_level(logging.ERROR, logger="chamberlain")
    async with session() as c:
        reply = await c.call("configRequirements/read", request_id=5)
        assert reply == {"error": {"code": -32603, "message": "internal error"}, "id": 5}
        assert await c.call("config/mcpServer/reload", request_id=6) == {"id": 6, "result": {}}
    logged = [r for r in caplog.records if r.exc_info and "unexpected failure" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert logged[0].exc_info[0] is ZeroDivisionError


async def test_an_unexpected_failure_never_names_the_exception_on_the_wire(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ConfigStore, *args: object) -> None:
        raise KeyError("secret-looking-detail")

    monkeypatch.setattr(ConfigStore, "prepare_read", broken)
    async with session() as c:
        reply = await c.call("config/read", {}, request_id=1)
    assert reply["error"] == {"code": -32603, "message": "internal error"}
    assert "KeyError" not in str(reply) and "secret" not in str(reply)


class VanishingTransport:
    """A client that disappears: its input breaks as a closed pipe does."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def receive_frame(self) -> bytes | None:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError("client went away")

    async def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)


async def test_a_client_that_disappears_ends_its_connection_quietly(
    codex_home: Path, system_dir: Path, harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="chamberlain")
    settings = harness.Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, harness.connect(server) as other:
            await server.serve_connection(VanishingTransport(), "vanishing")
            await other.initialize()
            assert await other.call("config/mcpServer/reload", request_id=1) == {"id": 1, "result": {}}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(r.getMessage().startswith("vanishing: connection closed") for r in caplog.records)
