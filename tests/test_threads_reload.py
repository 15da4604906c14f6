"""Hot reload of loaded threads (spec config.md §10.1, §7): ``reloadUserConfig`` and an effective
``experimentalFeature/enablement/set`` replace only the user layer (and the runtime enablement) of
every loaded thread before the response; ``chamberlain/thread/effectiveConfig`` shows the
snapshot; ``experimentalFeature/list`` with a ``threadId`` re-reads that thread's cwd. The bounds
(concurrency, deadline) are checked on the actor with trio's MockClock."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from chamberlain.actors import thread_config as tcfg
from chamberlain.actors.caller import Caller
from chamberlain.actors.config_actor import ConfigActor
from chamberlain.actors.reply import Reply
from chamberlain.actors.thread_registry import (
    ReloadOutcome,
    ReloadThreads,
    StartThread,
    ThreadMsg,
    ThreadRegistryActor,
)
from chamberlain.errors import ConfigModelError
from chamberlain.store.config_store import ConfigStore
from chamberlain.store.layers import Layer

INVALID = -32600
DIAG = "chamberlain/thread/effectiveConfig"


async def start(c: Any, params: dict[str, Any]) -> dict[str, Any]:
    """thread/start, and the thread/started notification that follows its response."""
    result: dict[str, Any] = await c.result("thread/start", params)
    assert (await c.recv())["method"] == "thread/started"
    return result


def repo(path: Path, project_config: str) -> Path:
    """A git repository at ``path`` with a project layer."""
    (path / ".git").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / ".codex").mkdir()
    (path / ".codex" / "config.toml").write_text(project_config)
    return path


def batch(*edits: tuple[str, Any], reload: bool = True) -> dict[str, Any]:
    return {
        "edits": [{"keyPath": k, "value": v, "mergeStrategy": "replace"} for k, v in edits],
        "reloadUserConfig": reload,
    }


def user_layer(snapshot: dict[str, Any]) -> dict[str, Any]:
    layers: list[dict[str, Any]] = snapshot["layers"]
    return next(layer for layer in layers if layer["name"]["type"] == "user")


# -- through the wire ---------------------------------------------------------------------------


async def test_reload_replaces_only_the_user_layer_of_every_loaded_thread(
    session: Any, codex_home: Path, tmp_path: Path
) -> None:
    one = repo(tmp_path / "one", 'model_reasoning_effort = "low"\n')
    two = repo(tmp_path / "two", 'model_verbosity = "high"\n')
    (codex_home / "config.toml").write_text(
        f'[projects."{one}"]\ntrust_level = "trusted"\n[projects."{two}"]\ntrust_level = "trusted"\n'
    )
    async with session(flags=(("review_model", '"r1"'),)) as c:
        a = (await start(c, {"cwd": str(one), "ephemeral": True, "config": {"compact_prompt": "x"}}))["thread"]["id"]
        b = (await start(c, {"cwd": str(two), "ephemeral": True}))["thread"]["id"]
        before = await c.result(DIAG, {"threadId": a})
        assert (await c.result("config/batchWrite", batch(("model_context_window", 1234))))["status"] == "ok"
        after_a = await c.result(DIAG, {"threadId": a})
        after_b = await c.result(DIAG, {"threadId": b})
    assert before["config"]["model_context_window"] is None
    for snap in (after_a, after_b):
        assert snap["config"]["model_context_window"] == 1234
        assert snap["origins"]["model_context_window"]["name"]["type"] == "user"
        assert user_layer(snap)["config"]["model_context_window"] == 1234
        assert snap["config"]["review_model"] == "r1"  # the session flags stay
    assert after_a["config"]["model_reasoning_effort"] == "low" and after_a["config"]["compact_prompt"] == "x"
    assert after_b["config"]["model_verbosity"] == "high" and after_b["config"]["compact_prompt"] is None
    # only the user layer changed: every other layer is the one the thread started with
    assert [x for x in after_a["layers"] if x["name"]["type"] != "user"] == [
        x for x in before["layers"] if x["name"]["type"] != "user"
    ]


async def test_without_reload_a_loaded_thread_keeps_its_snapshot(session: Any) -> None:
    async with session() as c:
        a = (await start(c, {"ephemeral": True}))["thread"]["id"]
        await c.result("config/batchWrite", batch(("model_context_window", 99), reload=False))
        snap = await c.result(DIAG, {"threadId": a})
        b = (await start(c, {"ephemeral": True}))["thread"]["id"]
        fresh = await c.result(DIAG, {"threadId": b})
    assert snap["config"]["model_context_window"] is None
    assert fresh["config"]["model_context_window"] == 99


async def test_the_model_stays_while_a_new_thread_gets_the_new_one(session: Any) -> None:
    async with session() as c:
        a = (await start(c, {}))["thread"]["id"]
        await c.result("config/batchWrite", batch(("model", "o3")))
        read = await c.result("thread/read", {"threadId": a})
        snap = await c.result(DIAG, {"threadId": a})
        new = await start(c, {"ephemeral": True})
    assert read["thread"]["model"] == "gpt-6.1-sol"  # session-static (§10.1)
    assert snap["config"]["model"] == "o3"  # the snapshot has the new user layer
    assert new["model"] == "o3" and new["thread"]["model"] == "o3"


async def test_an_effective_enablement_change_reloads_every_thread(session: Any) -> None:
    async with session() as c:
        a = (await start(c, {"ephemeral": True}))["thread"]["id"]
        assert (await c.result(DIAG, {"threadId": a}))["config"]["features"]["memories"] is False
        ignored = await c.result("experimentalFeature/enablement/set", {"enablement": {"apps": True}})
        accepted = await c.result("experimentalFeature/enablement/set", {"enablement": {"memories": True}})
        snap = await c.result(DIAG, {"threadId": a})
    assert ignored == {"enablement": {}} and accepted == {"enablement": {"memories": True}}
    assert snap["config"]["features"]["memories"] is True


async def test_feature_list_with_a_thread_id_reads_that_threads_project_layers(
    session: Any, codex_home: Path, tmp_path: Path
) -> None:
    proj = repo(tmp_path / "proj", "[features]\nmemories = true\n")
    (codex_home / "config.toml").write_text(f'[projects."{proj}"]\ntrust_level = "trusted"\n')
    page = {"cursor": "53", "limit": 1}  # memories
    async with session() as c:
        a = (await start(c, {"cwd": str(proj), "ephemeral": True}))["thread"]["id"]
        b = (await start(c, {"ephemeral": True, "cwd": str(tmp_path)}))["thread"]["id"]
        in_a = await c.result("experimentalFeature/list", {**page, "threadId": a})
        in_b = await c.result("experimentalFeature/list", {**page, "threadId": b})
        agnostic = await c.result("experimentalFeature/list", page)
        (proj / ".codex" / "config.toml").write_text("[features]\nmemories = false\n")
        edited = await c.result("experimentalFeature/list", {**page, "threadId": a})
    assert in_a["data"][0]["name"] == "memories" and in_a["data"][0]["enabled"] is True
    assert in_b["data"][0]["enabled"] is False and agnostic["data"][0]["enabled"] is False
    assert edited["data"][0]["enabled"] is False  # from disk, never hot-reloaded (§7.1)


async def test_feature_list_with_a_thread_id_applies_that_threads_overrides(session: Any) -> None:
    async with session(flags=(("features.tool_suggest", "false"),)) as c:
        a = (await start(c, {"ephemeral": True, "config": {"features.memories": True}}))["thread"]["id"]
        memories = await c.result("experimentalFeature/list", {"threadId": a, "cursor": "53", "limit": 1})
        tool = await c.result("experimentalFeature/list", {"threadId": a, "cursor": "121", "limit": 1})
    assert (memories["data"][0]["name"], memories["data"][0]["enabled"]) == ("memories", True)
    assert (tool["data"][0]["name"], tool["data"][0]["enabled"]) == ("tool_suggest", False)


async def test_feature_list_refuses_an_unknown_thread(session: Any) -> None:
    unknown = "01a20b69-a400-7e51-8f8e-735ae5b06ba0"
    async with session() as c:
        reply = await c.call("experimentalFeature/list", {"threadId": unknown})
    assert reply["error"] == {"code": INVALID, "message": f"thread not found: {unknown}"}


async def test_the_diagnostics_method_refuses_unknown_threads_and_needs_no_experimental_api(session: Any) -> None:
    async with session() as c:
        bad = await c.call(DIAG, {"threadId": "nope"})
        unknown = await c.call(DIAG, {"threadId": "01a20b69-a400-7e51-8f8e-735ae5b06ba0"})
        a = (await start(c, {"ephemeral": True}))["thread"]["id"]
        snap = await c.result(DIAG, {"threadId": a})
    assert bad["error"]["message"].startswith("invalid thread id: invalid character")
    assert unknown["error"]["message"] == "thread not loaded: 01a20b69-a400-7e51-8f8e-735ae5b06ba0"
    assert sorted(snap) == ["config", "layers", "origins"]
    assert [x["name"]["type"] for x in snap["layers"]] == ["user", "system"]


# -- bounds, on the actors (MockClock) -----------------------------------------------------------


class Registry:
    """A ConfigActor and a ThreadRegistryActor on a Codex home, without connections."""

    def __init__(self, store: ConfigStore, inbox: trio.MemorySendChannel[ThreadMsg]) -> None:
        self.store = store
        self.inbox = inbox

    async def start_threads(self, n: int, cwd: str) -> list[str]:
        ids = []
        for _ in range(n):
            reply: Reply[Any] = Reply()
            await self.inbox.send(StartThread(tcfg.StartRequest(cwd, ephemeral=True), Caller("t", "t/1", False), reply))
            ids.append((await reply.wait()).thread.id)
        return ids

    async def reload(self) -> tuple[ReloadOutcome, float]:
        """Send the current user layer; the outcome and the virtual seconds it took."""
        began = trio.current_time()
        reply: Reply[ReloadOutcome] = Reply()
        await self.inbox.send(ReloadThreads(self.store.prepare_read(None).stack.user, {}, reply))
        outcome = await reply.wait()
        return outcome, trio.current_time() - began


async def _registry(
    nursery: trio.Nursery, codex_home: Path, system_dir: Path, **options: Any
) -> tuple[Registry, ThreadRegistryActor]:
    store = ConfigStore(codex_home, system_dir)
    config_inbox = await nursery.start(ConfigActor(lambda: store).run)
    actor = ThreadRegistryActor(codex_home, config_inbox, lambda: store, **options)
    inbox = await nursery.start(actor.run)
    return Registry(store, inbox), actor


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_reload_runs_at_most_its_concurrency_of_threads_at_once(
    autojump_clock: trio.testing.MockClock, codex_home: Path, system_dir: Path, concurrency: int
) -> None:
    running = {"now": 0, "max": 0}

    async def slow(thread: tcfg.LoadedThread, user: Layer, runtime: Mapping[str, bool]) -> None:
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        await trio.sleep(1)
        running["now"] -= 1
        await actor.reload_one(thread, user, runtime)

    async with trio.open_nursery() as nursery:
        registry, actor = await _registry(
            nursery, codex_home, system_dir, reload_concurrency=concurrency, reload_deadline_s=60, reload_step=slow
        )
        await registry.start_threads(7, "/")
        outcome, took = await registry.reload()
        nursery.cancel_scope.cancel(reason="test done")
    assert outcome == ReloadOutcome(7, 0, 0)
    assert running["max"] == concurrency
    assert took == pytest.approx(-(-7 // concurrency))  # ceil(7 / concurrency) rounds of 1 s


async def test_reload_answers_at_its_deadline_and_late_threads_keep_their_snapshot(
    autojump_clock: trio.testing.MockClock, codex_home: Path, system_dir: Path
) -> None:
    stuck: set[str] = set()

    async def step(thread: tcfg.LoadedThread, user: Layer, runtime: Mapping[str, bool]) -> None:
        if thread.id in stuck:
            await trio.sleep_forever()
        await actor.reload_one(thread, user, runtime)

    async with trio.open_nursery() as nursery:
        registry, actor = await _registry(
            nursery, codex_home, system_dir, reload_deadline_s=2.5, reload_step=step
        )
        ids = await registry.start_threads(4, "/")
        stuck.update(ids[:2])
        (codex_home / "config.toml").write_text("model_context_window = 7\n")
        outcome, took = await registry.reload()
        snapshots = {t.id: t.config.effective["model_context_window"] for t in actor.loaded()}
        nursery.cancel_scope.cancel(reason="test done")
    assert took == pytest.approx(2.5)
    assert outcome == ReloadOutcome(2, 0, 2)
    assert snapshots == {ids[0]: None, ids[1]: None, ids[2]: 7, ids[3]: 7}


async def test_a_failing_thread_reload_is_counted_and_the_others_proceed(
    autojump_clock: trio.testing.MockClock, codex_home: Path, system_dir: Path
) -> None:
    async def step(thread: tcfg.LoadedThread, user: Layer, runtime: Mapping[str, bool]) -> None:
        if thread.id == ids[0]:
            raise ConfigModelError("invalid type: integer `5`, expected a string", "model")
        await actor.reload_one(thread, user, runtime)

    async with trio.open_nursery() as nursery:
        registry, actor = await _registry(nursery, codex_home, system_dir, reload_step=step)
        ids = await registry.start_threads(3, "/")
        (codex_home / "config.toml").write_text("model_context_window = 8\n")
        outcome, took = await registry.reload()
        snapshots = {t.id: t.config.effective["model_context_window"] for t in actor.loaded()}
        nursery.cancel_scope.cancel(reason="test done")
    assert outcome == ReloadOutcome(2, 1, 0) and took == 0
    assert snapshots == {ids[0]: None, ids[1]: 8, ids[2]: 8}
