"""The broadcast hub (issue 6 §2): a notification published once reaches every initialized
connection that did not opt out of it — and no other. Asserted on each client's wire frames."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
import trio.testing

#: Upper bound for one test's I/O, seconds of the real clock (as in conftest).
IO_BOUND_S = 10


@asynccontextmanager
async def _two_clients(harness: Any, codex_home: Path, system_dir: Path) -> AsyncIterator[tuple[Any, Any, Any]]:
    """A server and two connected (not yet initialized) clients, bounded by ``IO_BOUND_S``."""
    settings = harness.Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, harness.connect(server) as a, harness.connect(server) as b:
            yield server, a, b


async def _drain_startup(*clients: Any) -> None:
    """A round trip on each client: its startup notifications are behind it."""
    for c in clients:
        await c.call("config/mcpServer/reload", request_id="sync")


async def _next_notification(client: Any) -> dict[str, Any]:
    """The next frame the client gets, which must be a notification."""
    frame: dict[str, Any] = await client.recv()
    assert "id" not in frame, frame
    return frame


async def test_a_published_notification_reaches_every_initialized_connection_once(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    async with _two_clients(harness, codex_home, system_dir) as (server, a, b):
        await a.initialize()
        await b.initialize()
        await _drain_startup(a, b)
        delivered = server.hub.publish("account/updated", {"authMode": "apikey", "planType": None})
        assert delivered == 2
        for c in (a, b):
            frame = await _next_notification(c)
            assert list(frame) == ["method", "params", "emittedAtMs"]
            assert (frame["method"], frame["params"]) == (
                "account/updated", {"authMode": "apikey", "planType": None})
            # nothing else was queued before the next answer
            assert await c.call("config/mcpServer/reload", request_id="probe") == {
                "id": "probe", "result": {}}


async def test_a_connection_that_opted_out_does_not_get_the_notification(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    async with _two_clients(harness, codex_home, system_dir) as (server, keen, quiet):
        await keen.initialize()
        await quiet.initialize(optOutNotificationMethods=["account/updated"])
        await _drain_startup(keen, quiet)
        assert server.hub.publish("account/updated", {"authMode": None}) == 1
        assert server.hub.publish("skills/changed", {}) == 2
        assert (await _next_notification(keen))["method"] == "account/updated"
        assert (await _next_notification(keen))["method"] == "skills/changed"
        assert (await _next_notification(quiet))["method"] == "skills/changed"


async def test_a_connection_before_initialize_gets_no_broadcast(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    async with _two_clients(harness, codex_home, system_dir) as (server, early, ready):
        await ready.initialize()
        await _drain_startup(ready)
        await trio.testing.wait_all_tasks_blocked()
        assert server.hub.publish("account/updated", {"authMode": None}) == 1
        assert (await _next_notification(ready))["method"] == "account/updated"
        # the first frame the early client ever gets is the answer to its initialize
        reply = await early.call("initialize", {"clientInfo": {"name": "e", "version": "1"}}, request_id=0)
        assert "result" in reply and early.notifications == []
        first = await _next_notification(early)
        assert first["method"] == "remoteControl/status/changed"


async def test_a_closed_connection_is_no_longer_a_subscriber(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    settings = harness.Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, harness.connect(server) as stays:
            await stays.initialize()
            async with harness.connect(server) as leaves:
                await leaves.initialize()
                await leaves.call("config/mcpServer/reload", request_id="sync")
            await stays.call("config/mcpServer/reload", request_id="sync")
            await trio.testing.wait_all_tasks_blocked()
            assert server.hub.publish("account/updated", {"authMode": None}) == 1
            assert (await _next_notification(stays))["method"] == "account/updated"
