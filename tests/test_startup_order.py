"""Start-up of a connection (issue 6 §4, spec §2.2): the initialize response is written first;
the configWarning work runs off the event loop, and its notifications still precede the answer
to any request pipelined after initialize."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.store import filecache
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


async def _warnings_at_initialize(harness: Any, server: Any) -> list[str]:
    async with harness.connect(server) as c:
        await c.initialize()
        await c.call("config/mcpServer/reload")  # answered after the start-up notifications
    return [n["params"]["summary"] for n in c.notifications if n["method"] == "configWarning"]


async def test_each_later_connection_is_warned_about_the_files_as_they_are_when_it_initializes(
    harness: Any, codex_home: Path, system_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/multi-client.md: warnings are computed for the files as they are at each initialize;
    while none of them changed, clients initializing one after another cost one computation."""
    computed = 0
    original = ConfigStore._compute_warnings

    def counted(self: ConfigStore) -> list[StartupWarning]:
        nonlocal computed
        computed += 1
        return original(self)

    monkeypatch.setattr(ConfigStore, "_compute_warnings", counted)
    # every timestamp is trusted at once (in real use, a file a few ms old): no test waits it out
    monkeypatch.setattr(filecache, "RACY_WINDOW_NS", 0)
    config = codex_home / "config.toml"
    config.write_text("unknown_top = 1\n")
    settings = harness.Settings(codex_home, system_dir, (), environ={"TERM": "xterm"})
    with trio.fail_after(10):
        async with harness.open_server(settings) as server:
            first = await _warnings_at_initialize(harness, server)
            async with harness.connect(server) as writer:
                await writer.initialize()
                wrote = await writer.result("config/value/write", {"keyPath": "second_unknown", "value": 2,
                                                                    "mergeStrategy": "replace"})
            after_write = await _warnings_at_initialize(harness, server)
            config.write_text(config.read_text() + "third_unknown = 3\n")  # an external edit
            after_edit = await _warnings_at_initialize(harness, server)
            computed_before_repeats = computed
            repeats = [await _warnings_at_initialize(harness, server) for _ in range(5)]
    assert wrote["status"] == "ok"
    assert len(first) == 1 and "`unknown_top`" in first[0] and "second_unknown" not in first[0]
    assert "`second_unknown`" in after_write[0] and "third_unknown" not in after_write[0]
    assert "`third_unknown`" in after_edit[0]
    assert all(r == after_edit for r in repeats)
    assert computed == computed_before_repeats  # five more clients, no change: nothing recomputed
