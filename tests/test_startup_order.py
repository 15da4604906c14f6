"""Start-up of a connection (issue 6 §4, spec §2.2): the initialize response is written first;
the configWarning work runs off the event loop, and its notifications still precede the answer
to any request pipelined after initialize."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.store.config_store import ConfigStore
from chamberlain.store.ops import StartupWarning


async def test_initialize_is_answered_while_the_warnings_are_still_being_computed(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    original = ConfigStore.warnings

    def slow_warnings(self: ConfigStore) -> list[StartupWarning]:
        # Blocks its thread until the test has seen the initialize response: were the warnings
        # computed on the event loop, that response could never be written and this test would
        # hit its fail_after bound.
        if not release.wait(timeout=10):
            raise AssertionError("initialize response never reached the client")
        return [*original(self), StartupWarning("slow warning")]

    monkeypatch.setattr(ConfigStore, "warnings", slow_warnings)
    async with session(initialize=False) as c:
        await c.send({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "a", "version": "1"}}})
        await c.send({"id": 1, "method": "config/mcpServer/reload"})
        first = await c.recv()
        assert first["id"] == 0 and "result" in first
        release.set()
        rest = [await c.recv() for _ in range(3)]
    assert [f.get("id", f.get("method")) for f in rest] == ["configWarning", "remoteControl/status/changed", 1]
    assert rest[0]["params"]["summary"] == "slow warning"


async def test_a_request_pipelined_after_initialize_waits_for_the_startup_notifications(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text("unknown_top = 1\n")
    async with session(initialize=False) as c:
        await c.send({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "a", "version": "1"}}})
        for i in range(1, 4):
            await c.send({"id": i, "method": "configRequirements/read"})
        with trio.fail_after(10):
            frames = [await c.recv() for _ in range(6)]
    assert [f.get("id", f.get("method")) for f in frames[:3]] == [0, "configWarning", "remoteControl/status/changed"]
    assert sorted(f["id"] for f in frames[3:]) == [1, 2, 3]  # answers to pipelined requests: any order
