"""What the read fast paths must not change (issue 6 §4): answers given at once when the config
actor is idle, answers cached per file content, replies written together. Each test pipelines
frames in one write, so the server reads them in one chunk — the case those paths serve."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import trio


def _frames(*frames: dict[str, Any]) -> bytes:
    return b"\n".join(json.dumps(f).encode() for f in frames)


async def _responses(c: Any, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < count:
        frame = await c.recv()
        if "id" in frame:
            out.append(frame)
    return out


def _age(path: Path) -> None:
    """Past the file cache's racy window (the cache trusts its stat signature)."""
    old = time.time() - 60
    os.utime(path, (old, old))


async def test_a_read_pipelined_behind_a_write_sees_the_write(session: Any, codex_home: Path) -> None:
    config = codex_home / "config.toml"
    config.write_text('model = "before"\n')
    _age(config)
    edit = {"edits": [{"keyPath": "model", "value": "after", "mergeStrategy": "replace"}]}
    async with session() as c:
        await c.send_raw(_frames(
            {"id": 1, "method": "config/read", "params": {}},
            {"id": 2, "method": "config/batchWrite", "params": edit},
            {"id": 3, "method": "config/read", "params": {}},
        ))
        with trio.fail_after(10):
            replies = {r["id"]: r for r in await _responses(c, 3)}
    assert replies[1]["result"]["config"]["model"] == "before"
    assert replies[2]["result"]["status"] == "ok"
    assert replies[3]["result"]["config"]["model"] == "after"


async def test_two_hundred_pipelined_reads_are_each_answered_once_with_the_same_result(
    session: Any, codex_home: Path
) -> None:
    config = codex_home / "config.toml"
    config.write_text('model = "o3"\n')
    _age(config)
    async with session() as c:
        await c.send_raw(_frames(*({"id": i, "method": "config/read", "params": {}} for i in range(200))))
        with trio.fail_after(10):
            replies = await _responses(c, 200)
    assert sorted(r["id"] for r in replies) == list(range(200))
    assert len({json.dumps(r["result"], sort_keys=True) for r in replies}) == 1


async def test_cached_requirements_and_feature_answers_follow_a_changed_file(
    session: Any, codex_home: Path, system_dir: Path
) -> None:
    config = codex_home / "config.toml"
    config.write_text("[features]\nmemories = false\n")
    _age(config)
    requirements = system_dir / "requirements.toml"
    requirements.write_text('allowed_approval_policies = ["never"]\n')
    _age(requirements)
    async with session() as c:
        before = await c.result("experimentalFeature/list", {})
        reqs_before = await c.result("configRequirements/read")
        config.write_text("[features]\nmemories = true\n")
        requirements.write_text('allowed_approval_policies = ["on-request"]\n')
        after = await c.result("experimentalFeature/list", {})
        reqs_after = await c.result("configRequirements/read")
    memories = {page: next(f["enabled"] for f in r["data"] if f["name"] == "memories")
                for page, r in (("before", before), ("after", after))}
    assert memories == {"before": False, "after": True}
    assert reqs_before["requirements"]["allowedApprovalPolicies"] == ["never"]
    assert reqs_after["requirements"]["allowedApprovalPolicies"] == ["on-request"]
