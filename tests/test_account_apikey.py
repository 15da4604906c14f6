"""API-key accounts end to end on the wire and on disk (spec account.md §4, §5, §6.1, §8, §13.1,
§16), as codex-cli 0.169.0 answers them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

COMPLETED_OK = {"loginId": None, "success": True, "error": None, "onboardingEntrypoint": None}


def _methods(client: Any) -> list[tuple[str, Any]]:
    return [(n["method"], n["params"]) for n in client.notifications if n["method"].startswith("account/")]


async def test_api_key_login_writes_the_reference_bytes_with_mode_0600(session: Any, codex_home: Path) -> None:
    async with session() as client:
        result = await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-one"})
        assert result == {"type": "apiKey"}
        await client.result("account/read", {})  # the notifications are written before this answer
        assert _methods(client) == [
            ("account/login/completed", COMPLETED_OK),
            ("account/updated", {"authMode": "apikey", "planType": None}),
        ]
    data = (codex_home / "auth.json").read_bytes()
    assert data == b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-one"\n}'
    assert len(data) == 57
    assert stat.S_IMODE((codex_home / "auth.json").stat().st_mode) == 0o600


async def test_an_api_key_account_reads_as_api_key_and_its_token_only_when_asked(session: Any) -> None:
    async with session() as client:
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-probe-0123456789"})
        account = await client.result("account/read", {})
        status = await client.result("getAuthStatus", {})
        with_token = await client.result("getAuthStatus", {"includeToken": True})
    assert account == {
        "account": {"type": "apiKey"}, "userId": None, "requiresOpenaiAuth": True, "workspaceRouting": None
    }
    assert status == {"authMethod": "apikey", "authToken": None, "requiresOpenaiAuth": True}
    assert with_token == {"authMethod": "apikey", "authToken": "sk-probe-0123456789", "requiresOpenaiAuth": True}


async def test_no_credentials_read_as_no_account(session: Any) -> None:
    async with session() as client:
        account = await client.result("account/read", {"refreshToken": True})
        status = await client.result("getAuthStatus", {"includeToken": True})
    assert account == {"account": None, "userId": None, "requiresOpenaiAuth": True, "workspaceRouting": None}
    assert status == {"authMethod": None, "authToken": None, "requiresOpenaiAuth": True}


async def test_logout_removes_the_file_and_always_announces_no_account(session: Any, codex_home: Path) -> None:
    async with session() as client:
        assert await client.result("account/logout") == {}
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-two"})
        await client.result("account/read", {})  # reads past the login's notifications
        client.notifications.clear()
        assert await client.result("account/logout", None) == {}
        account = await client.result("account/read", {})
        assert _methods(client) == [("account/updated", {"authMode": None, "planType": None})]
    assert not (codex_home / "auth.json").exists()
    assert account["account"] is None


async def test_credentials_survive_a_restart(session: Any) -> None:
    async with session() as client:
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-kept"})
    async with session() as client:
        status = await client.result("getAuthStatus", {"includeToken": True})
    assert status["authToken"] == "sk-kept"


async def test_an_unreadable_auth_file_is_no_account_and_left_alone(session: Any, codex_home: Path) -> None:
    (codex_home / "auth.json").write_text("{not json")
    async with session() as client:
        account = await client.result("account/read", {})
    assert account["account"] is None
    assert (codex_home / "auth.json").read_text() == "{not json"


async def test_a_legacy_file_with_only_a_key_is_an_api_key_login(session: Any, codex_home: Path) -> None:
    (codex_home / "auth.json").write_text(json.dumps({"OPENAI_API_KEY": "sk-legacy"}))
    async with session() as client:
        status = await client.result("getAuthStatus", {"includeToken": True})
    assert status == {"authMethod": "apikey", "authToken": "sk-legacy", "requiresOpenaiAuth": True}


async def test_forced_chatgpt_refuses_api_key_login_and_ignores_a_stored_key(session: Any, codex_home: Path) -> None:
    (codex_home / "auth.json").write_text(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-old"}))
    (codex_home / "config.toml").write_text('forced_login_method = "chatgpt"\n')
    async with session() as client:
        reply = await client.call("account/login/start", {"type": "apiKey", "apiKey": "sk-new"})
        account = await client.result("account/read", {})
    assert reply["error"] == {"code": -32600, "message": "API key login is disabled. Use ChatGPT login instead."}
    assert account["account"] is None
    assert json.loads((codex_home / "auth.json").read_text())["OPENAI_API_KEY"] == "sk-old"


async def test_a_provider_without_openai_auth_needs_none(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('model_provider = "ollama"\n')
    async with session() as client:
        account = await client.result("account/read", {})
        status = await client.result("getAuthStatus", {})
    assert account == {"account": None, "userId": None, "requiresOpenaiAuth": False, "workspaceRouting": None}
    assert status == {"authMethod": None, "authToken": None, "requiresOpenaiAuth": False}


async def test_ephemeral_storage_keeps_the_key_in_memory_only(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('cli_auth_credentials_store = "ephemeral"\n')
    async with session() as client:
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-mem"})
        status = await client.result("getAuthStatus", {"includeToken": True})
    assert status["authToken"] == "sk-mem"
    assert not any(name.startswith("auth") for name in os.listdir(codex_home))


async def test_rate_limits_and_nudge_need_chatgpt_credentials(session: Any) -> None:
    async with session() as client:
        none_limits = await client.call("account/rateLimits/read")
        none_nudge = await client.call("account/sendAddCreditsNudgeEmail", {"creditType": "credits"})
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-x"})
        key_limits = await client.call("account/rateLimits/read", None)
        key_nudge = await client.call("account/sendAddCreditsNudgeEmail", {"creditType": "usage_limit"})
    assert none_limits["error"]["message"] == "codex account authentication required to read rate limits"
    assert none_nudge["error"]["message"] == "codex account authentication required to notify workspace owner"
    assert key_limits["error"] == {"code": -32600, "message": "chatgpt authentication required to read rate limits"}
    assert key_nudge["error"]["message"] == "chatgpt authentication required to notify workspace owner"


async def test_credentials_changed_by_another_process_are_adopted_and_announced(session: Any, codex_home: Path) -> None:
    async with session() as client:
        await client.result("account/login/start", {"type": "apiKey", "apiKey": "sk-mine"})
        await client.result("account/read", {})
        client.notifications.clear()
        # a `codex login --with-api-key` in a terminal replaces the file
        (codex_home / "auth.json").write_text(json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-theirs"}))
        status = await client.result("getAuthStatus", {"includeToken": True})
        (codex_home / "auth.json").unlink()  # and a `codex logout`
        account = await client.result("account/read", {})
    assert status["authToken"] == "sk-theirs"
    assert account["account"] is None
    assert _methods(client) == [
        ("account/updated", {"authMode": "apikey", "planType": None}),
        ("account/updated", {"authMode": None, "planType": None}),
    ]
