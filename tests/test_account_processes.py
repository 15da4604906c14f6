"""Several Chamberlain processes on one CODEX_HOME with an expired access token spend its
refresh token once: the first takes the auth lock and refreshes, the others re-read under the
lock and adopt the rotated tokens (the reference refreshes in every process, and all but one get
``refresh_token_reused``: openai/codex #10332). The fake issuer runs in the test's trio run; the
servers are real subprocesses, so the test runs on the real clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.fake_openai import Endpoint, FakeOpenAI

IO_BOUND_S = 60


def _command() -> list[str]:
    script = Path(sys.executable).with_name("chamberlain")
    return [str(script), "app-server"] if script.is_file() else [sys.executable, "-m", "chamberlain", "app-server"]


async def _status_of_one_process(home: Path, etc: Path, fake: FakeOpenAI, tokens: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_"))}
    env.update(fake.codex_env(), CODEX_HOME=str(home))
    frames = [
        {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "host", "version": "1"}}},
        {"method": "initialized"},
        {"id": 1, "method": "getAuthStatus", "params": {"includeToken": True}},
    ]
    payload = b"".join(json.dumps(f).encode() + b"\n" for f in frames)
    proc = await trio.lowlevel.open_process(
        [*_command(), "--system-config-dir", str(etc)], stdin=-1, stdout=-1, stderr=subprocess.DEVNULL, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        await proc.stdin.send_all(payload)
        buf = b""
        answer = None
        while answer is None:
            chunk = await proc.stdout.receive_some(65536)
            assert chunk, "server closed stdout before answering"
            buf += chunk
            answer = _answer(buf)
        tokens.append(answer["result"]["authToken"])
        await proc.stdin.aclose()
        assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await proc.stdout.aclose()


def _answer(buf: bytes) -> dict[str, Any] | None:
    for line in buf.split(b"\n"):
        if line.startswith(b"{"):
            msg: dict[str, Any] = json.loads(line)
            if msg.get("id") == 1:
                return msg
    return None


@pytest.mark.parametrize("processes", [2, 10])
async def test_processes_sharing_a_home_refresh_an_expired_token_once(tmp_path: Path, processes: int) -> None:
    home, etc = tmp_path / "home", tmp_path / "etc"
    home.mkdir()
    etc.mkdir()
    tokens: list[str] = []
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            seeded = fake.issue_tokens(expires_in_s=-60)
            (home / "config.toml").write_text(fake.config_toml())
            (home / "auth.json").write_text(json.dumps(fake.auth_json(seeded)))
            async with trio.open_nursery() as servers:
                for _ in range(processes):
                    servers.start_soon(_status_of_one_process, home, etc, fake, tokens)
            nursery.cancel_scope.cancel(reason="test finished")
    refreshes = fake.requests_to(Endpoint.TOKEN_REFRESH)
    assert len(refreshes) == 1
    assert refreshes[0].json()["refresh_token"] == seeded.refresh_token
    stored = json.loads((home / "auth.json").read_text())["tokens"]
    assert len(tokens) == processes
    assert set(tokens) == {stored["access_token"]}
    assert stored["access_token"] != seeded.access_token
