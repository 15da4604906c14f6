"""Login deadlines on trio's virtual clock (STYLE "Deterministic time"): the fake issuer and the
server run in the test's trio run; the server's few worker-thread calls (start-up warnings) are
covered by an autojump threshold above zero. A browser login is abandoned 10 minutes after its
start, a device-code login after 15 minutes of polling (spec account.md §6.2.5, §6.3)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from chamberlain.actors.server import Settings
from chamberlain.fake_openai import FakeOpenAI


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.05)


async def _completion(client: Any) -> dict[str, Any]:
    while True:
        msg = await client.recv()
        if msg.get("method") == "account/login/completed":
            return msg["params"]  # type: ignore[no-any-return]


async def _login_ends_after(
    harness: Any, home: Path, etc: Path, fake: FakeOpenAI, login: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    (home / "config.toml").write_text(fake.config_toml())
    settings = Settings(home, etc, (), environ={"TERM": "xterm", **fake.codex_env()}, login_callback_port=0)
    async with harness.open_server(settings) as server, harness.connect(server) as client:
        await client.initialize()
        started = await client.result("account/login/start", login)
        t0 = trio.current_time()
        completed = await _completion(client)
        elapsed = trio.current_time() - t0
    assert completed["loginId"] == started["loginId"]
    return completed, elapsed


async def test_a_browser_login_nobody_finishes_times_out_after_ten_minutes(
    harness: Any, codex_home: Path, system_dir: Path, clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
        completed, elapsed = await _login_ends_after(harness, codex_home, system_dir, fake, {"type": "chatgpt"})
        nursery.cancel_scope.cancel(reason="test finished")
    assert completed == {"loginId": completed["loginId"], "success": False, "error": "Login timed out",
                         "onboardingEntrypoint": None}
    assert 599 <= elapsed <= 601


async def test_a_device_code_nobody_approves_times_out_after_fifteen_minutes(
    harness: Any, codex_home: Path, system_dir: Path, clock: trio.testing.MockClock
) -> None:
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(
            FakeOpenAI(auto_approve_device=False, device_lifetime_s=3600.0, device_interval_s=30).run
        )
        completed, elapsed = await _login_ends_after(
            harness, codex_home, system_dir, fake, {"type": "chatgptDeviceCode"}
        )
        polls = [r.at for r in fake.requests if r.path.endswith("/deviceauth/token")]
        nursery.cancel_scope.cancel(reason="test finished")
    assert completed["error"] == "device auth timed out after 15 minutes"
    assert 895 <= elapsed <= 906
    gaps = {round(b - a) for a, b in itertools.pairwise(polls)}
    assert gaps == {30}  # polled at the issuer's interval, never faster
