"""Test charter: the token claims of spec account.md §15, the plan mapping of §3.2 and the
proactive-refresh rule of §14.2, on tokens minted by the fake issuer and on hand-made JWTs
(unsigned ``alg: none`` tokens are accepted: nothing verifies a signature)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from chamberlain.fake_openai import Identity, Minter
from chamberlain.remote.claims import JwtFormatError, decode_payload, is_workspace_plan, needs_refresh
from chamberlain.store.auth_jwt import jwt_expiration, parse_id_token, plan_type_from_raw

NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


def jwt(payload: dict[str, Any]) -> str:
    def seg(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(payload)}.c2ln"


def access_expiring_in(seconds: float) -> str:
    return jwt({"exp": int(NOW.timestamp() + seconds), "https://api.openai.com/auth": {}})


@pytest.mark.parametrize(
    ("raw", "plan"),
    [("hc", "enterprise"), ("HC", "enterprise"), ("education", "edu"), ("Pro", "pro"), ("business", "business"),
     ("edu_plus", "edu_plus"), ("galactic", "unknown"), ("mystery_plan", "unknown"), (None, "unknown")],
)
def test_raw_plans_map_to_wire_plan_types(raw: str | None, plan: str) -> None:
    assert plan_type_from_raw(raw) == plan


@pytest.mark.parametrize(("plan", "workspace"), [
    ("business", True), ("enterprise", True), ("team", False), ("edu", True), ("sci_plus", True),
    ("self_serve_business_prolite", False), ("pro", False), ("plus", False), ("unknown", False),
])
def test_only_shared_workspace_plans_count_as_workspace_plans(plan: str, workspace: bool) -> None:
    assert is_workspace_plan(plan) is workspace


def test_id_token_of_the_fake_issuer_yields_every_claim() -> None:
    who = Identity(email="ada@example.com", user_id="user-9", account_id="ws-9", plan="hc", fedramp=True,
                   organization_id="org-9", project_id="proj-9", is_org_owner=True)
    token = Minter("https://issuer.test", "app_x").id_token(who, NOW.timestamp())
    claims = parse_id_token(token)
    assert (claims.email, claims.user_id, claims.account_id, plan_type_from_raw(claims.plan_type)) == (
        "ada@example.com", "user-9", "ws-9", "enterprise")
    assert (claims.is_fedramp, claims.organization_id, claims.project_id) == (True, "org-9", "proj-9")
    assert (claims.completed_platform_onboarding, claims.is_org_owner) == (True, True)
    assert jwt_expiration(token) == int(NOW.timestamp() + who.id_ttl_s)


def test_email_falls_back_to_the_profile_claim_and_user_id_to_user_id() -> None:
    token = jwt({"https://api.openai.com/profile": {"email": "p@example.com"},
                 "https://api.openai.com/auth": {"user_id": "legacy-user"}})
    claims = parse_id_token(token)
    assert (claims.email, claims.user_id, plan_type_from_raw(claims.plan_type), claims.account_id,
            claims.is_fedramp, jwt_expiration(token)) == ("p@example.com", "legacy-user", "unknown", None, False, None)


@pytest.mark.parametrize(
    ("token", "reason"),
    [("opaque-token", "segments"), ("a.b", "segments"), ("a..c", "segments"), ("a.b.", "segments"),
     ("a.!!!!.c", "base64"), ("a.bm90IGpzb24.c", "json"), ("a.WzFd.c", "object")],
)
def test_malformed_tokens_are_refused_without_echoing_them(token: str, reason: str) -> None:
    with pytest.raises(JwtFormatError) as caught:
        decode_payload(token)
    assert caught.value.reason == reason
    assert token not in str(caught.value)


def test_access_token_expiring_in_four_minutes_needs_a_proactive_refresh() -> None:
    assert needs_refresh(access_expiring_in(240), NOW, NOW) == "proactive_expiry"


def test_access_token_expiring_in_4_min_35_s_needs_a_proactive_refresh() -> None:
    assert needs_refresh(access_expiring_in(275), NOW, NOW) == "proactive_expiry"


def test_expired_access_token_needs_a_proactive_refresh() -> None:
    assert needs_refresh(access_expiring_in(-60), NOW, NOW) == "proactive_expiry"


def test_access_token_expiring_in_ten_minutes_needs_no_refresh() -> None:
    assert needs_refresh(access_expiring_in(600), NOW, NOW) is None


def test_old_last_refresh_alone_does_not_refresh_a_token_with_a_distant_exp() -> None:
    assert needs_refresh(access_expiring_in(3600), NOW - dt.timedelta(days=30), NOW) is None


@pytest.mark.parametrize("token", [jwt({"sub": "x"}), "opaque-token"])
def test_token_without_exp_is_refreshed_after_eight_days(token: str) -> None:
    assert needs_refresh(token, NOW - dt.timedelta(days=9), NOW) == "scheduled"
    assert needs_refresh(token, NOW - dt.timedelta(days=8, seconds=1), NOW) == "scheduled"


@pytest.mark.parametrize("token", [jwt({"sub": "x"}), "opaque-token"])
def test_token_without_exp_is_kept_within_eight_days(token: str) -> None:
    assert needs_refresh(token, NOW - dt.timedelta(days=7, hours=23), NOW) is None
    assert needs_refresh(token, None, NOW) is None
