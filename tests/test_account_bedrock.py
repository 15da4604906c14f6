"""Amazon Bedrock logins end to end on the wire and on disk (spec account.md §6.5, §4, §5, §8,
§13.1, §16), as codex-cli 0.169.0 answers them (each case observed with refpeer)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import trio
from chamberlain.store.auth_file import AuthDotJson, BedrockAccessKeys
from chamberlain.store.auth_secret import Secret

LOGIN = "account/login/start"
COMPLETED_OK = {"loginId": None, "success": True, "error": None, "onboardingEntrypoint": None}
API_KEY = {"type": "amazonBedrock", "apiKey": "bk-1", "region": "us-east-1"}
ACCESS_KEYS = {"type": "amazonBedrockAccessKeys", "accessKeyId": "AKIA1", "secretAccessKey": "s", "region": "us-east-1"}
BEDROCK_ACCOUNT = {
    "account": {"type": "amazonBedrock", "usesCodexManagedCredentials": True},
    "userId": None, "requiresOpenaiAuth": False, "workspaceRouting": None,
}
UNMANAGED = {**BEDROCK_ACCOUNT, "account": {"type": "amazonBedrock", "usesCodexManagedCredentials": False}}


def _methods(client: Any) -> list[tuple[str, Any]]:
    return [(n["method"], n["params"]) for n in client.notifications if n["method"].startswith("account/")]


def _error(reply: dict[str, Any]) -> dict[str, Any]:
    assert "error" in reply, reply
    error: dict[str, Any] = reply["error"]
    return error


async def test_api_key_login_writes_the_reference_bytes_and_selects_the_provider(
    session: Any, codex_home: Path
) -> None:
    async with session(experimentalApi=True) as client:
        assert await client.result(LOGIN, API_KEY) == {"type": "amazonBedrock"}
        account = await client.result("account/read", {})
        assert _methods(client) == [
            ("account/login/completed", COMPLETED_OK),
            ("account/updated", {"authMode": "bedrockApiKey", "planType": None}),
        ]
    data = (codex_home / "auth.json").read_bytes()
    assert data == (
        b'{\n  "auth_mode": "bedrockApiKey",\n  "OPENAI_API_KEY": null,\n  "bedrock_api_key": {\n'
        b'    "api_key": "bk-1",\n    "region": "us-east-1"\n  }\n}'
    )
    assert len(data) == 137
    assert stat.S_IMODE((codex_home / "auth.json").stat().st_mode) == 0o600
    assert (codex_home / "config.toml").read_bytes() == b'model_provider = "amazon-bedrock"\n'
    assert account == BEDROCK_ACCOUNT


async def test_access_keys_login_stores_the_keys_and_the_region_in_the_config(session: Any, codex_home: Path) -> None:
    params = {**ACCESS_KEYS, "accessKeyId": " AKIA2 ", "secretAccessKey": " sec ", "sessionToken": " tok ",
              "region": " eu-north-1 "}
    async with session(experimentalApi=True) as client:
        assert await client.result(LOGIN, params) == {"type": "amazonBedrock"}
        await client.result("account/read", {})
        assert _methods(client)[-1] == ("account/updated", {"authMode": "bedrockAccessKeys", "planType": None})
    assert (codex_home / "auth.json").read_bytes() == (
        b'{\n  "auth_mode": "bedrockAccessKeys",\n  "OPENAI_API_KEY": null,\n  "bedrock_access_keys": {\n'
        b'    "access_key_id": "AKIA2",\n    "secret_access_key": "sec",\n    "session_token": "tok"\n  }\n}'
    )
    assert (codex_home / "config.toml").read_bytes() == (
        b'model_provider = "amazon-bedrock"\n\n[model_providers.amazon-bedrock.aws]\nregion = "eu-north-1"\n'
    )


async def test_a_blank_session_token_is_not_stored(session: Any, codex_home: Path) -> None:
    async with session(experimentalApi=True) as client:
        await client.result(LOGIN, {**ACCESS_KEYS, "sessionToken": "  "})
    assert b"session_token" not in (codex_home / "auth.json").read_bytes()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**API_KEY, "apiKey": "", "region": "mars-1"}, "Amazon Bedrock API key must not be empty."),
        ({**API_KEY, "apiKey": " \t\u0085\u3000"}, "Amazon Bedrock API key must not be empty."),
        ({**API_KEY, "apiKey": "\x1c", "region": "mars-1"}, "Amazon Bedrock does not support region `mars-1`"),
        ({**API_KEY, "region": "mars-1"}, "Amazon Bedrock does not support region `mars-1`"),
        ({**API_KEY, "region": "US-EAST-1"}, "Amazon Bedrock does not support region `US-EAST-1`"),
        ({**API_KEY, "region": " us-west-1 "}, "Amazon Bedrock does not support region `us-west-1`"),
        ({**ACCESS_KEYS, "accessKeyId": " ", "region": "mars-1"},
         "AWS access key ID and secret access key must not be empty."),
        ({**ACCESS_KEYS, "secretAccessKey": ""}, "AWS access key ID and secret access key must not be empty."),
        ({**ACCESS_KEYS, "region": "mars-1"}, "Amazon Bedrock does not support region `mars-1`"),
    ],
)
async def test_invalid_credentials_or_region_are_refused_and_change_nothing(
    session: Any, codex_home: Path, params: dict[str, Any], message: str
) -> None:
    async with session(experimentalApi=True) as client:
        reply = await client.call(LOGIN, params)
        await client.result("account/read", {})
        assert _methods(client) == []
    assert _error(reply) == {"code": -32600, "message": message}
    assert not (codex_home / "auth.json").exists()
    assert not (codex_home / "config.toml").exists()


@pytest.mark.parametrize("region", ["us-gov-west-1", "ap-southeast-3", "sa-east-1"])
async def test_every_supported_region_is_accepted(session: Any, region: str) -> None:
    async with session(experimentalApi=True) as client:
        assert await client.result(LOGIN, {**API_KEY, "region": region}) == {"type": "amazonBedrock"}


async def test_forced_chatgpt_refuses_bedrock_before_looking_at_the_key(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('forced_login_method = "chatgpt"\n')
    async with session(experimentalApi=True) as client:
        reply = await client.call(LOGIN, {**ACCESS_KEYS, "accessKeyId": ""})
    assert _error(reply) == {"code": -32600, "message": "Amazon Bedrock login is disabled. Use ChatGPT login instead."}


async def test_a_session_flag_provider_refuses_the_login_and_nothing_is_written(
    session: Any, codex_home: Path
) -> None:
    async with session(flags=(("model_provider", '"openai"'),), experimentalApi=True) as client:
        reply = await client.call(LOGIN, API_KEY)
    assert _error(reply) == {
        "code": -32600, "data": {"config_write_error_code": "configLayerReadonly"},
        "message": "Cannot configure `model_provider`: Overridden by session flags",
    }
    assert not (codex_home / "config.toml").exists()
    assert not (codex_home / "auth.json").exists()


async def test_account_read_and_status_after_a_restart(session: Any) -> None:
    async with session(experimentalApi=True) as client:
        await client.result(LOGIN, API_KEY)
    async with session() as client:
        account = await client.result("account/read", {})
        status = await client.result("getAuthStatus", {"includeToken": True})
        limits = await client.call("account/rateLimits/read")
    assert account == BEDROCK_ACCOUNT
    assert status == {"authMethod": None, "authToken": None, "requiresOpenaiAuth": False}
    assert _error(limits)["message"] == "chatgpt authentication required to read rate limits"


async def test_a_bedrock_provider_without_bedrock_credentials_is_not_codex_managed(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text('model_provider = "amazon-bedrock-runtime"\n')
    (codex_home / "auth.json").write_text('{"auth_mode":"apikey","OPENAI_API_KEY":"sk-x"}')
    async with session() as client:
        account = await client.result("account/read", {})
    assert account == UNMANAGED


async def test_bedrock_credentials_under_another_provider_are_an_error(session: Any, codex_home: Path) -> None:
    (codex_home / "auth.json").write_text('{"bedrock_access_keys":{"access_key_id":"A","secret_access_key":"S"}}')
    async with session() as client:
        reply = await client.call("account/read", {})
        status = await client.result("getAuthStatus", {"includeToken": True})
    assert _error(reply) == {
        "code": -32600, "message": "Bedrock API key auth is only supported by the Amazon Bedrock model provider"
    }
    assert status == {"authMethod": None, "authToken": None, "requiresOpenaiAuth": True}


async def test_forced_chatgpt_ignores_stored_bedrock_credentials(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('forced_login_method = "chatgpt"\nmodel_provider = "amazon-bedrock"\n')
    (codex_home / "auth.json").write_text(
        '{"auth_mode":"bedrockApiKey","bedrock_api_key":{"api_key":"k","region":"r"}}'
    )
    async with session() as client:
        account = await client.result("account/read", {})
    assert account == UNMANAGED
    assert (codex_home / "auth.json").exists()


async def test_logout_removes_the_credentials_and_what_selected_the_provider(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text(
        '# top comment\nmodel = "o3"\nmodel_reasoning_effort = "high"\n\n[model_providers.amazon-bedrock]\n'
        'http_headers = { X-Existing = "preserved" }\n\n[model_providers.amazon-bedrock.aws]\n'
        'profile = "stale-profile"\nregion = "us-east-1"\nauth_refresh = { command = "aws" }\n'
    )
    async with session(experimentalApi=True) as client:
        await client.result(LOGIN, {**ACCESS_KEYS, "region": "eu-west-1"})
        after_login = (codex_home / "config.toml").read_text()
        await client.result("account/read", {})  # reads past the login's notifications
        client.notifications.clear()
        assert await client.result("account/logout") == {}
        account = await client.result("account/read", {})
        assert _methods(client) == [("account/updated", {"authMode": None, "planType": None})]
    assert after_login == (
        '# top comment\nmodel = "o3"\nmodel_reasoning_effort = "high"\nmodel_provider = "amazon-bedrock"\n\n'
        '[model_providers.amazon-bedrock]\nhttp_headers = { X-Existing = "preserved" }\n\n'
        '[model_providers.amazon-bedrock.aws]\nregion = "eu-west-1"\nauth_refresh = { command = "aws" }\n'
    )
    assert (codex_home / "config.toml").read_text() == (
        'model_reasoning_effort = "high"\n\n[model_providers.amazon-bedrock]\n'
        'http_headers = { X-Existing = "preserved" }\n'
    )
    assert not (codex_home / "auth.json").exists()
    assert account == {"account": None, "userId": None, "requiresOpenaiAuth": True, "workspaceRouting": None}


async def test_logout_keeps_the_config_when_only_a_session_flag_selects_bedrock(
    session: Any, codex_home: Path
) -> None:
    async with session(flags=(("model_provider", '"amazon-bedrock"'),), experimentalApi=True) as client:
        await client.result(LOGIN, API_KEY)
        (codex_home / "config.toml").write_text('model = "o3"\n')
        assert await client.result("account/read", {}) == BEDROCK_ACCOUNT
        assert await client.result("account/logout") == {}
    assert (codex_home / "config.toml").read_text() == 'model = "o3"\n'
    assert not (codex_home / "auth.json").exists()


async def test_a_bedrock_login_replaces_a_pending_browser_login(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    settings = harness.Settings(codex_home, system_dir, (), environ={"TERM": "xterm"}, login_callback_port=0)
    with trio.fail_after(20):
        async with harness.open_server(settings) as server, harness.connect(server) as client:
            await client.initialize(experimentalApi=True)
            started = await client.result(LOGIN, {"type": "chatgpt"})
            reply = await client.call(LOGIN, API_KEY)
            await client.result("account/read", {})
    assert reply["result"] == {"type": "amazonBedrock"}
    assert _methods(client)[0] == ("account/login/completed", {
        "loginId": started["loginId"], "success": False, "error": "Login server error: Login was not completed",
        "onboardingEntrypoint": None,
    })
    assert _methods(client)[1:] == [
        ("account/login/completed", COMPLETED_OK),
        ("account/updated", {"authMode": "bedrockApiKey", "planType": None}),
    ]


async def test_the_ephemeral_store_keeps_bedrock_credentials_in_memory(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('cli_auth_credentials_store = "ephemeral"\n')
    async with session(experimentalApi=True) as client:
        await client.result(LOGIN, API_KEY)
        account = await client.result("account/read", {})
    assert account == BEDROCK_ACCOUNT
    assert not (codex_home / "auth.json").exists()


async def test_no_secret_reaches_logs_or_errors(session: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    secret = "bk-very-secret-0123"
    async with session(experimentalApi=True) as client:
        await client.result(LOGIN, {**API_KEY, "apiKey": secret})
        await client.result(LOGIN, {**ACCESS_KEYS, "secretAccessKey": secret, "sessionToken": secret})
        bad = await client.call(LOGIN, {**ACCESS_KEYS, "secretAccessKey": secret, "region": "mars-1"})
        await client.result("account/logout")
    assert secret not in caplog.text
    assert secret not in str(bad)
    stored = AuthDotJson.for_bedrock(BedrockAccessKeys(Secret(secret), Secret(secret), Secret(secret)))
    assert secret not in repr(stored)


async def test_the_user_config_may_adjust_only_some_bedrock_provider_fields(session: Any, codex_home: Path) -> None:
    def write(key: str, value: Any) -> dict[str, Any]:
        return {"keyPath": key, "value": value, "mergeStrategy": "replace"}

    async with session() as client:
        ok = await client.call("config/value/write", write("model_providers.amazon-bedrock.aws.region", "us-west-2"))
        named = await client.call("config/value/write", write("model_providers.amazon-bedrock.name", "N"))
        typed = await client.call("config/value/write", write("model_providers.amazon-bedrock.aws.region", 5))
        other = await client.call("config/value/write", write("model_providers.openai.aws.region", "us-west-2"))
        read = await client.result("config/read", {})
    assert ok["result"]["status"] == "ok"
    assert _error(named)["message"] == (
        "Invalid configuration: model_providers.amazon-bedrock only supports changing `base_url`, `auth`, "
        "`http_headers`, `aws.profile`, `aws.region`, `aws.credential_export`, and `aws.auth_refresh`; other "
        "non-default provider fields are not supported\nin `model_providers`\n"
    )
    assert _error(typed)["message"] == (
        "Invalid configuration: invalid type: integer `5`, expected a string\n"
        "in `model_providers.amazon-bedrock.aws.region`\n"
    )
    assert "reserved built-in provider IDs: `openai`" in _error(other)["message"]
    assert read["config"]["model_providers"]["amazon-bedrock"]["aws"] == {
        "auth_refresh": None, "credential_export": None, "profile": None, "region": "us-west-2"
    }


@pytest.mark.parametrize(
    ("stored", "managed"),
    [
        ('{"OPENAI_API_KEY":"sk-1","bedrock_api_key":{"api_key":"k","region":"r"}}', True),
        ('{"bedrock_access_keys":{"access_key_id":"A","secret_access_key":"S","extra":1}}', True),
        ('{"auth_mode":"bedrockAccessKeys","bedrock_access_keys":{"access_key_id":"A","secret_access_key":"S",'
         '"session_token":null}}', True),
        ('{"auth_mode":"bedrockAccessKeys","bedrock_api_key":{"api_key":"k","region":"r"}}', False),
        ('{"auth_mode":"bedrockApiKey","OPENAI_API_KEY":null}', False),
        ('{"auth_mode":"bedrockAccessKeys","bedrock_access_keys":{"access_key_id":"A"}}', False),
        ('{"auth_mode":"bedrockAccessKeys","bedrock_access_keys":{"access_key_id":"A","access_key_id":"B",'
         '"secret_access_key":"S"}}', False),
    ],
)
async def test_stored_bedrock_credentials_are_read_as_the_reference_reads_them(
    session: Any, codex_home: Path, stored: str, managed: bool
) -> None:
    (codex_home / "config.toml").write_text('model_provider = "amazon-bedrock"\n')
    (codex_home / "auth.json").write_text(stored)
    async with session() as client:
        account = await client.result("account/read", {})
    assert account == (BEDROCK_ACCOUNT if managed else UNMANAGED)
    assert (codex_home / "auth.json").read_text() == stored
