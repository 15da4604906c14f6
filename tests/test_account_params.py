"""Account params are read as the reference reads them: every text below was answered by
codex-cli 0.169.0 on stdio to the same frame after ``initialize`` (``LoginAccountParams`` is an
internally tagged serde enum: its tag may be a variant name or index, its params positional)."""

from __future__ import annotations

from typing import Any

import pytest

INVALID = "Invalid request: "
LOGIN = "account/login/start"
NUDGE = "account/sendAddCreditsNudgeEmail"
VARIANT = "struct variant LoginAccountParams"
VARIANTS = (
    "unknown variant `bogus`, expected one of `apiKey`, `chatgpt`, `chatgptDeviceCode`, `chatgptAuthTokens`, "
    "`amazonBedrock`, `amazonBedrockAccessKeys`"
)


@pytest.mark.parametrize(
    ("method", "params", "text"),
    [
        ("account/read", ..., "missing field `params`"),
        ("account/read", {"refreshToken": "x"}, 'invalid type: string "x", expected a boolean'),
        ("account/read", {"refreshToken": None}, "invalid type: null, expected a boolean"),
        ("getAuthStatus", ..., "missing field `params`"),
        ("getAuthStatus", {"includeToken": "x"}, 'invalid type: string "x", expected a boolean'),
        (LOGIN, {}, "missing field `type`"),
        (LOGIN, [], "missing field `type`"),
        (LOGIN, {"type": "bogus"}, VARIANTS),
        (LOGIN, ["bogus"], VARIANTS),
        (LOGIN, {"type": "apiKey"}, "missing field `apiKey`"),
        (LOGIN, {"type": 5}, "missing field `accessKeyId`"),
        (LOGIN, "s", 'invalid type: string "s", expected internally tagged enum LoginAccountParams'),
        (LOGIN, {"type": "apiKey", "apiKey": 5}, "invalid type: integer `5`, expected a string"),
        (LOGIN, {"type": "apiKey", "apiKey": None}, "invalid type: null, expected a string"),
        (LOGIN, {"type": "chatgpt", "appBrand": "x"}, "unknown variant `x`, expected `codex` or `chatgpt`"),
        (LOGIN, {"type": "chatgpt", "codexStreamlinedLogin": "x"}, 'invalid type: string "x", expected a boolean'),
        (LOGIN, {"type": True}, "invalid type: boolean `true`, expected variant identifier"),
        (LOGIN, {"type": None}, "invalid type: null, expected variant identifier"),
        (LOGIN, {"type": {"a": 1}}, "invalid type: map, expected variant identifier"),
        (LOGIN, {"type": 99}, "invalid value: integer `99`, expected variant index 0 <= i < 6"),
        (LOGIN, {"type": -1}, "invalid type: integer `-1`, expected variant identifier"),
        (LOGIN, {"type": 1.5}, "invalid type: floating point `1.5`, expected variant identifier"),
        (LOGIN, [5], f"invalid length 0, expected {VARIANT}::AmazonBedrockAccessKeys with 4 elements"),
        (LOGIN, ["apiKey"], f"invalid length 0, expected {VARIANT}::ApiKey with 1 element"),
        (LOGIN, ["apiKey", "x", "y"], "invalid length 2, expected 1 element in sequence"),
        (LOGIN, {"type": "amazonBedrock"}, "missing field `apiKey`"),
        (LOGIN, {"type": "chatgptAuthTokens"}, "missing field `accessToken`"),
        ("account/login/cancel", {}, "missing field `loginId`"),
        ("account/login/cancel", {"loginId": 5}, "invalid type: integer `5`, expected a string"),
        ("account/logout", {"a": 1}, "invalid type: map, expected unit"),
        ("account/logout", [], "invalid type: sequence, expected unit"),
        ("account/rateLimits/read", "x", 'invalid type: string "x", expected struct GetAccountRateLimitsParams'),
        ("account/rateLimits/read", {"excludeResetCreditDetails": 1}, "invalid type: integer `1`, expected a boolean"),
        (NUDGE, {}, "missing field `creditType`"),
        (NUDGE, {"creditType": "bogus"}, "unknown variant `bogus`, expected `credits` or `usage_limit`"),
        (NUDGE, {"creditType": 1}, "invalid type: integer `1`, expected string or map"),
    ],
)
async def test_account_params_that_do_not_decode_get_the_reference_text(
    session: Any, method: str, params: Any, text: str
) -> None:
    async with session() as client:
        reply = await client.call(method, params)
    assert reply["error"] == {"code": -32600, "message": INVALID + text}


@pytest.mark.parametrize(
    "params",
    [
        {"type": "chatgptAuthTokens", "accessToken": "x", "chatgptAccountId": "a"},
        {"type": "amazonBedrock", "apiKey": " ", "region": "us-east-1"},
        {"type": "amazonBedrockAccessKeys", "accessKeyId": "k", "secretAccessKey": "s", "region": "us-east-1"},
    ],
)
async def test_experimental_login_types_need_the_experimental_capability(session: Any, params: Any) -> None:
    async with session() as client:
        reply = await client.call(LOGIN, params)
    assert reply["error"] == {
        "code": -32600,
        "message": f"account/login/start.{params['type']} requires experimentalApi capability",
    }


async def test_account_methods_before_initialize_are_refused(session: Any) -> None:
    async with session(initialize=False) as client:
        reply = await client.call("account/read", {})
    assert reply["error"] == {"code": -32600, "message": "Not initialized"}


async def test_a_login_id_that_is_not_a_uuid_is_refused(session: Any) -> None:
    async with session() as client:
        reply = await client.call("account/login/cancel", {"loginId": "nope"})
    assert reply["error"] == {"code": -32600, "message": "invalid login id: nope"}


async def test_cancelling_a_login_that_does_not_exist_is_not_found(session: Any) -> None:
    async with session() as client:
        result = await client.result("account/login/cancel", {"loginId": "926c9eff-fe78-4429-87c0-0ab0c8e7c451"})
    assert result == {"status": "notFound"}
