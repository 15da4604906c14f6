"""Test charter: ``account/rateLimits/read`` and ``account/sendAddCreditsNudgeEmail`` on the
backend side (spec account.md §9, §19) against the fake backend: the §9.2 mapping of the spec's
example payload compared whole, the edge cases the reference was seen to map, and the exact
status / decode / transport error texts. The decode texts of serde_json are checked on the bodies
the reference was probed with (its answers are recorded in the table below)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest
import trio
from chamberlain.fake_openai import Endpoint, FakeOpenAI, Reply
from chamberlain.remote.backend import BackendError, read_rate_limits, send_nudge
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.http import BackendAuth
from chamberlain.remote.serde_json_text import DecodeError
from chamberlain.remote.usage import parse_usage

JSON = (("content-type", "application/json"),)


def snapshot(limit_id: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"limitId": limit_id, "limitName": None, "normalModelSlug": None, "primary": None,
                            "secondary": None, "credits": None, "individualLimit": None,
                            "spendControlReached": None, "planType": "pro", "rateLimitReachedType": None}
    return {**base, **over}


CODEX = snapshot("codex", primary={"usedPercent": 42, "windowDurationMins": 300, "resetsAt": 1900000000},
                 secondary={"usedPercent": 5, "windowDurationMins": 10080, "resetsAt": 1900600000},
                 credits={"hasCredits": True, "unlimited": False, "balance": "12.50"})
SPARK = snapshot("codex_bengalfox", limitName="GPT-5 Codex Spark",
                 primary={"usedPercent": 7, "windowDurationMins": 300, "resetsAt": 1900000100})


def encoded(result: Any) -> Any:
    return json.loads(msgspec.json.encode(result))


async def test_spec_example_payload_maps_as_the_reference_maps_it(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    assert encoded(result) == {
        "ordinaryUsageAllowed": None, "rateLimits": CODEX,
        "rateLimitsByLimitId": {"codex": CODEX, "codex_bengalfox": SPARK},
        "rateLimitResetCredits": {"availableCount": 0, "credits": []}, "accountId": None, "rateLimitUpsell": None,
    }
    assert list(encoded(result)) == ["ordinaryUsageAllowed", "rateLimits", "rateLimitsByLimitId",
                                     "rateLimitResetCredits", "accountId", "rateLimitUpsell"]
    for endpoint, path in ((Endpoint.USAGE, "usage"), (Endpoint.RESET_CREDITS, "rate-limit-reset-credits")):
        (req,) = fake.requests_to(endpoint)
        assert req.target == f"/backend-api/wham/{path}"
        assert (req.headers["authorization"], req.headers["chatgpt-account-id"], req.headers["user-agent"]) == (
            f"Bearer {auth.access_token}", "acct-123", auth.user_agent)


async def test_both_requests_run_in_parallel(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
        autojump_clock: trio.testing.MockClock) -> None:
    fake.push(Endpoint.USAGE, Reply(200, fake.backend_settings.usage, delay_s=5))
    fake.push(Endpoint.RESET_CREDITS, Reply(200, {"credits": [], "available_count": 2}, delay_s=5))
    start = trio.current_time()
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    assert trio.current_time() - start == pytest.approx(5.0)
    assert result.rate_limit_reset_credits is not None and result.rate_limit_reset_credits.available_count == 2


async def test_excluded_reset_credits_are_not_fetched_and_null(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    assert result.rate_limit_reset_credits is None
    assert fake.requests_to(Endpoint.RESET_CREDITS) == []


async def test_failing_reset_credits_only_null_their_member(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.RESET_CREDITS, Reply(500, {"error": "x"}))
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    assert result.rate_limit_reset_credits is None
    assert encoded(result.rate_limits) == CODEX


async def test_reset_credit_entries_map_to_the_wire_shape(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    credit = {"id": "c1", "reset_type": "primary", "status": "available", "granted_at": "2030-01-01T00:00:00Z",
              "expires_at": None, "title": "t", "description": "d"}
    fake.push(Endpoint.RESET_CREDITS, Reply(200, {"credits": [credit], "available_count": 1, "total_earned_count": 1}))
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    assert encoded(result.rate_limit_reset_credits) == {"availableCount": 1, "credits": [
        {"id": "c1", "resetType": "unknown", "status": "available", "grantedAt": 1893456000, "expiresAt": None,
         "title": "t", "description": "d"}]}


async def test_zero_second_window_and_reached_type_map_as_observed(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.USAGE, Reply(200, {
        "plan_type": "team",
        "rate_limit": {"allowed": False, "limit_reached": True, "secondary_window": None,
                       "primary_window": {"used_percent": 100, "limit_window_seconds": 0,
                                          "reset_after_seconds": 5, "reset_at": 1900000000}},
        "rate_limit_reached_type": {"type": "workspace_member_credits_depleted"},
        "credits": {"has_credits": False, "unlimited": True, "balance": None}, "additional_rate_limits": None}))
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    expected = snapshot("codex", primary={"usedPercent": 100, "windowDurationMins": None, "resetsAt": 1900000000},
                        credits={"hasCredits": False, "unlimited": True, "balance": None}, planType="team",
                        rateLimitReachedType="workspace_member_credits_depleted")
    assert encoded(result)["rateLimitsByLimitId"] == {"codex": expected}


async def test_unknown_plan_and_reached_type_map_to_unknown_and_null(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.USAGE, Reply(200, {"plan_type": "mystery_plan", "rate_limit": None, "credits": None,
                                          "rate_limit_reached_type": {"type": "something_new"}}))
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    assert encoded(result.rate_limits) == snapshot("codex", planType="unknown")


async def test_partial_window_minutes_round_up_and_education_is_edu(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    window = {"used_percent": 1, "limit_window_seconds": 61, "reset_after_seconds": 1, "reset_at": 5}
    fake.push(Endpoint.USAGE, Reply(200, {"plan_type": "education", "rate_limit": {
        "allowed": True, "limit_reached": False, "primary_window": window,
        "secondary_window": {**window, "limit_window_seconds": -5}}}))
    result = await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    assert encoded(result.rate_limits)["primary"]["windowDurationMins"] == 2
    assert encoded(result.rate_limits)["secondary"]["windowDurationMins"] is None
    assert result.rate_limits.plan_type == "edu"


async def test_status_error_text_names_url_status_content_type_and_body(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.USAGE, Reply(500, {"error": "boom"}))
    with pytest.raises(BackendError) as caught:
        await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    url = f"{fake.chatgpt_base_url}/wham/usage"
    assert caught.value.message == (f"failed to fetch codex rate limits: GET {url} failed: 500 Internal Server Error; "
                                    'content-type=application/json; body={"error": "boom"}')
    assert (caught.value.code, caught.value.status) == (-32603, 500)


async def test_missing_allowed_is_a_decode_error_worded_as_serde(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    body = ('{"plan_type": "team", "rate_limit": {"primary_window": {"used_percent": 100, "limit_window_seconds": 0, '
            '"reset_after_seconds": 5, "reset_at": 1900000000}}, "rate_limit_reached_type": {"type": '
            '"workspace_member_credits_depleted"}, "credits": {"has_credits": false, "unlimited": true, '
            '"balance": null}}')
    fake.push(Endpoint.USAGE, Reply(200, text=body, headers=JSON))
    with pytest.raises(BackendError) as caught:
        await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    url = f"{fake.chatgpt_base_url}/wham/usage"
    assert caught.value.message == (f"failed to fetch codex rate limits: Decode error for {url}: missing field "
                                    f"`allowed` at line 1 column 300; content-type=application/json; body={body}")


async def test_body_that_is_not_json_is_a_decode_error(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.USAGE, Reply(200, text="not json", headers=(("content-type", "text/plain"),)))
    with pytest.raises(BackendError) as caught:
        await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=True)
    url = f"{fake.chatgpt_base_url}/wham/usage"
    assert caught.value.message == (f"failed to fetch codex rate limits: Decode error for {url}: expected ident "
                                    "at line 1 column 2; content-type=text/plain; body=not json")


async def test_transport_error_names_the_url(http: httpx.AsyncClient, auth: BackendAuth) -> None:
    endpoints = Endpoints(backend_base="http://127.0.0.1:1/backend-api")
    with pytest.raises(BackendError) as caught:
        await read_rate_limits(http, endpoints, auth, exclude_reset_credit_details=False)
    assert caught.value.message == ("failed to fetch codex rate limits: error sending request for url "
                                    "(http://127.0.0.1:1/backend-api/wham/usage)")


#: Bodies the reference (0.169.0) was given and the decoder message it answered with.
SERDE_CASES = {
    "": "EOF while parsing a value at line 1 column 0",
    "{}": "missing field `plan_type` at line 1 column 2",
    '{"rate_limit":null}': "missing field `plan_type` at line 1 column 19",
    '{"plan_type":"pro","rate_limit":{"allowed":"yes","limit_reached":false}}':
        'invalid type: string "yes", expected a boolean at line 1 column 72',
    '{"plan_type":"pro","rate_limit":{"allowed":true}}': "missing field `limit_reached` at line 1 column 49",
    '{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":42.5,'
    '"limit_window_seconds":60,"reset_after_seconds":1,"reset_at":5}}}':
        "invalid type: map, expected i32 at line 1 column 173",
    '{\n  "plan_type": "pro",\n  "rate_limit": {\n    "limit_reached": false\n  }\n}\n':
        "missing field `allowed` at line 6 column 1",
    '{"plan_type":"pro","additional_rate_limits":[{"limit_name":"x"}]}':
        "missing field `metered_feature` at line 1 column 63",
    '{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":1}}}':
        "missing field `limit_window_seconds` at line 1 column 107",
    '{"plan_type":"pro"} trailing': "trailing characters at line 1 column 21",
    '{"plan_type":"pro",}': "trailing comma at line 1 column 20",
    "[1]": "invalid type: sequence, expected struct RateLimitStatusWithResetCredits at line 1 column 0",
    '{"plan_type":"pro","credits":{"has_credits":true}}': "missing field `unlimited` at line 1 column 50",
    '{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":42,'
    '"limit_window_seconds":61,"reset_after_seconds":1,"reset_at":5},"secondary_window":{"used_percent":1,'
    '"limit_window_seconds":-5,"reset_after_seconds":1,"reset_at":6}}, "plan_type": "plus"}':
        "duplicate field `plan_type` at line 1 column 293",
    '{"plan_type":"pro","rate_limit":{"allowed":true,"limit_reached":false,"primary_window":{"used_percent":'
    '100000000000,"limit_window_seconds":61,"reset_after_seconds":1,"reset_at":5}}}':
        "invalid value: integer `100000000000`, expected i32 at line 1 column 181",
    '{"plan_type":"pro","rate_limit_reached_type":{"kind":"rate_limit_reached"}}':
        "missing field `type` at line 1 column 75",
    "not json": "expected ident at line 1 column 2",
    '{"plan_type":5}': "invalid type: integer `5`, expected string or map at line 1 column 15",
    '{"plan_type":"pro","additional_rate_limits":[{"limit_name":5,"metered_feature":"m"}]}':
        "invalid type: integer `5`, expected a string at line 1 column 83",
    '{"plan_type":"pro","additional_rate_limits":[{"limit_name":"n","metered_feature":"m","rate_limit":{"allowed":'
    'true,"limit_reached":false,"primary_window":{"used_percent":4.5,"limit_window_seconds":1,'
    '"reset_after_seconds":1,"reset_at":1}}}]}': "invalid type: map, expected i32 at line 1 column 237",
    '{"plan_type":"pro","additional_rate_limits":{"a":1}}':
        "invalid type: map, expected a sequence at line 1 column 44",
    '{"plan_type":"pro","rate_limit":"x"}':
        'invalid type: string "x", expected struct RateLimitStatusDetails at line 1 column 36',
    '{"plan_type":"pro","rate_limit_reached_type":{"type":5}}':
        "invalid type: integer `5`, expected string or map at line 1 column 56",
    '{"plan_type":"pro","rate_limit_reached_type":"rate_limit_reached"}':
        'invalid type: string "rate_limit_reached", expected struct RateLimitReachedType at line 1 column 66',
    '{"plan_type":"pro","credits":{"has_credits":true,"unlimited":false,"balance":5}}':
        "invalid type: integer `5`, expected a string at line 1 column 80",
}


@pytest.mark.parametrize(("body", "message"), SERDE_CASES.items())
def test_usage_decode_errors_are_worded_as_the_reference_words_them(body: str, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_usage(body)
    assert caught.value.text(body) == message


# --- nudge (§19)


@pytest.mark.parametrize("credit_type", ["credits", "usage_limit"])
async def test_nudge_is_sent_with_the_credit_type(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                                  auth: BackendAuth, credit_type: str) -> None:
    assert await send_nudge(http, endpoints, auth, credit_type) == "sent"
    (req,) = fake.requests_to(Endpoint.NUDGE)
    assert req.target == "/backend-api/wham/accounts/send_add_credits_nudge_email"
    assert req.body == f'{{"credit_type":"{credit_type}"}}'.encode()
    assert (req.headers["content-type"], req.headers["chatgpt-account-id"]) == ("application/json", "acct-123")


async def test_nudge_answered_429_is_a_cooldown(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.NUDGE, Reply(429, {"error": {"message": "slow down"}}))
    assert await send_nudge(http, endpoints, auth, "usage_limit") == "cooldown_active"


async def test_nudge_server_error_text(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.NUDGE, Reply(500, {"error": {"message": "slow down"}}))
    with pytest.raises(BackendError) as caught:
        await send_nudge(http, endpoints, auth, "credits")
    url = f"{fake.chatgpt_base_url}/wham/accounts/send_add_credits_nudge_email"
    assert caught.value.message == (f"failed to notify workspace owner: POST {url} failed: 500 Internal Server "
                                    'Error; content-type=application/json; body={"error": {"message": "slow down"}}')


async def test_nudge_uses_the_codex_api_path_off_chatgpt(
        fake: FakeOpenAI, http: httpx.AsyncClient, auth: BackendAuth) -> None:
    assert await send_nudge(http, Endpoints(backend_base=fake.base_url), auth, "credits") == "sent"
    assert fake.requests_to(Endpoint.NUDGE)[0].target == "/api/codex/accounts/send_add_credits_nudge_email"
