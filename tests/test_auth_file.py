"""auth.json bytes and reading tolerance, pinned to what codex-cli 0.169.0 wrote and read.

Fixtures in tests/fixtures/auth/ were captured from the real binary (apiKey logins, a browser
login and its refresh through the probe's fake issuer); tolerance.json holds 73 files fed to
the binary with whether it could read them (the account it reported)."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from chamberlain.errors import InvalidRequest
from chamberlain.store.auth_file import (
    AuthDotJson,
    AuthFileInvalid,
    Timestamp,
    TokenData,
    decode_auth,
    encode_auth_compact,
    encode_auth_file,
)
from chamberlain.store.auth_jwt import JwtError, jwt_expiration, parse_id_token, plan_type_from_raw
from chamberlain.store.auth_policy import (
    check_external_workspace,
    check_login_allowed,
    forced_workspace_ids,
    stored_auth_allowed,
    workspace_restriction_message,
)
from chamberlain.store.auth_secret import Secret

FIXTURES = Path(__file__).parent / "fixtures" / "auth"
OBSERVED = sorted(p.name for p in FIXTURES.glob("*.json") if p.name != "tolerance.json")
TOLERANCE: list[dict[str, Any]] = json.loads((FIXTURES / "tolerance.json").read_text())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(payload: dict[str, Any]) -> str:
    return f"{b64(b'{}')}.{b64(json.dumps(payload).encode())}.c2ln"


@pytest.mark.parametrize("name", OBSERVED)
def test_file_written_by_the_reference_reencodes_to_the_same_bytes(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert encode_auth_file(decode_auth(data)) == data


def test_api_key_login_writes_the_references_58_bytes() -> None:
    auth = AuthDotJson.for_api_key(Secret("sk-test"))
    assert encode_auth_file(auth) == (FIXTURES / "apikey.json").read_bytes()
    assert encode_auth_file(auth) == b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-test"\n}'


def test_chatgpt_tokens_built_from_values_give_the_references_bytes() -> None:
    seen = decode_auth((FIXTURES / "chatgpt_browser.json").read_bytes())
    assert seen.tokens is not None and seen.last_refresh is not None
    built = AuthDotJson(
        auth_mode="chatgpt",
        openai_api_key=seen.api_key,
        tokens=TokenData(
            id_token=seen.tokens.id_token,
            access_token=seen.tokens.access_token,
            refresh_token=Secret("refresh-1"),
            oauth_provenance=seen.tokens.oauth_provenance,
            login_owner_id=seen.tokens.login_owner_id,
            account_id="acct-123",
        ),
        last_refresh=Timestamp.parse("2026-12-02T00:23:33.186037547Z"),
    )
    assert encode_auth_file(built) == (FIXTURES / "chatgpt_browser.json").read_bytes()


def test_keyring_value_is_the_same_object_compact() -> None:
    auth = decode_auth((FIXTURES / "apikey.json").read_bytes())
    assert encode_auth_compact(auth) == b'{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test"}'


def test_unknown_members_are_read_and_dropped_on_write_as_the_reference_does() -> None:
    data = b'{"OPENAI_API_KEY":"sk-x","extra_top":[1,2],"agent_identity":null}'
    assert encode_auth_file(decode_auth(data)) == b'{\n  "OPENAI_API_KEY": "sk-x"\n}'


def test_account_id_and_api_key_are_written_as_null_when_absent() -> None:
    data = json.dumps({"tokens": {"id_token": jwt({}), "access_token": "a", "refresh_token": "r"}}).encode()
    text = encode_auth_file(decode_auth(data)).decode()
    assert '"OPENAI_API_KEY": null' in text and '"account_id": null' in text


@pytest.mark.parametrize("case", TOLERANCE, ids=[c["name"] for c in TOLERANCE])
def test_file_is_readable_exactly_when_the_reference_could_read_it(case: dict[str, Any]) -> None:
    data = base64.b64decode(case["bytes_b64"])
    if case["readable"]:
        decode_auth(data)
    else:
        with pytest.raises(AuthFileInvalid):
            decode_auth(data)


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ('{"OPENAI_API_KEY":"sk-x","zz":{"OPENAI_API_KEY":1,"OPENAI_API_KEY":2}}', True),
        ('{"OPENAI_API_KEY":"sk-x","OPENAI_API_KEY":"sk-y"}', False),
        ('{"tokens":{"id_token":"ID","access_token":"a","refresh_token":"r","refresh_token":"s"}}', False),
        ('{"tokens":{"id_token":"ID","access_token":"a","refresh_token":"r","zz":[1],"zz":[2]}}', True),
        (
            '{"tokens":{"id_token":"ID","access_token":"a","refresh_token":"r",'
            '"oauth_provenance":{"issuer":"i","client_id":"c","issuer":"j"}}}',
            False,
        ),
    ],
)
def test_only_repeated_known_members_make_the_file_unreadable(text: str, readable: bool) -> None:
    text = text.replace('"ID"', json.dumps(jwt({})))
    if readable:
        decode_auth(text.encode())
    else:
        with pytest.raises(AuthFileInvalid, match="duplicate"):
            decode_auth(text.encode())


def test_missing_auth_mode_resolves_from_the_key() -> None:
    assert decode_auth(b'{"OPENAI_API_KEY":"sk-legacy"}').resolved_mode() == "apikey"
    assert decode_auth(b'{"OPENAI_API_KEY":null}').resolved_mode() == "chatgpt"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z"),
        ("2026-11-30 02:00:00.5+02:00", "2026-11-30T00:00:00.500Z"),
        ("2026-11-30t00:00:00.000250z", "2026-11-30T00:00:00.000250Z"),
        ("2026-12-02T00:23:33.186037547Z", "2026-12-02T00:23:33.186037547Z"),
        ("2026-11-30T00:00:00.1234567891-0130", "2026-11-30T01:30:00.123456789Z"),
        ("2026-12-31T23:59:60Z", "2026-12-31T23:59:60Z"),
    ],
)
def test_last_refresh_is_written_back_in_utc_with_autosi_fraction(text: str, written: str) -> None:
    assert Timestamp.parse(text).format() == written


def test_timestamp_now_has_nanoseconds_and_orders() -> None:
    early, late = Timestamp.parse("2020-01-01T00:00:00Z"), Timestamp.now()
    assert early < late and late.format().endswith("Z")


def test_jwt_claims_follow_the_specs_fallbacks() -> None:
    token = jwt({
        "https://api.openai.com/profile": {"email": "p@x"},
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "HC", "user_id": "u-1", "chatgpt_account_id": "ws-1",
            "chatgpt_account_is_fedramp": True, "organization_id": "org", "is_org_owner": False,
        },
        "exp": 1900000000,
    })
    claims = parse_id_token(token)
    assert (claims.email, claims.user_id, claims.account_id) == ("p@x", "u-1", "ws-1")
    assert claims.is_fedramp and claims.organization_id == "org" and claims.is_org_owner is False
    assert plan_type_from_raw(claims.plan_type) == "enterprise"
    assert jwt_expiration(token) == 1900000000


@pytest.mark.parametrize("raw", ["Education", "galactic", None])
def test_plan_mapping(raw: str | None) -> None:
    assert plan_type_from_raw(raw) == {"Education": "edu"}.get(raw or "", "unknown")


def test_payload_padding_is_optional_but_never_partial() -> None:
    body = b64(b'{"email":"a@xy"}')  # 22 characters: two "=" when padded
    assert parse_id_token(f"h.{body}.s").email == parse_id_token(f"h.{body}==.s").email == "a@xy"
    for bad in (f"h.{body}=.s", f"h.{body}===.s", f"h.{body[:5]}=={body[5:]}.s"):
        with pytest.raises(JwtError):
            parse_id_token(bad)


def test_a_token_that_is_not_a_jwt_has_the_references_message() -> None:
    with pytest.raises(JwtError, match=r"^invalid ID token format$"):
        parse_id_token("not-a-jwt")
    assert TokenData(Secret("x"), Secret("opaque"), Secret("r")).access_expiration() is None


def secrets_of(auth: AuthDotJson) -> list[str]:
    found = [s.reveal() for s in (auth.api_key, auth.agent_identity, auth.personal_access_token) if s]
    if auth.tokens is not None:
        found += [auth.tokens.id_token.reveal(), auth.tokens.access_token.reveal(), auth.tokens.refresh_token.reveal()]
    return found


@pytest.mark.parametrize("name", OBSERVED)
def test_no_rendering_of_a_struct_shows_a_secret(name: str) -> None:
    auth = decode_auth((FIXTURES / name).read_bytes())
    stream = io.StringIO()
    log = logging.getLogger("test_auth_redaction")
    handler = logging.StreamHandler(stream)
    log.addHandler(handler)
    try:
        log.warning("auth %s %r tokens %s", auth, auth, auth.tokens)
    finally:
        log.removeHandler(handler)
    renderings = [repr(auth), str(auth), f"{auth}", f"{auth.tokens!r}", "%s" % auth.api_key, stream.getvalue()]  # noqa: UP031
    for secret in secrets_of(auth):
        assert secret and not any(secret in text for text in renderings)
    assert "Secret('***')" in repr(auth)


def test_secret_is_not_a_str_and_compares_by_value() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b") and f"{Secret('a'):>5}" == "  ***"
    with pytest.raises(TypeError):
        json.dumps(Secret("sk-hidden"))
    with pytest.raises(TypeError):
        Secret(5)  # type: ignore[arg-type]


def test_msgspec_validation_errors_do_not_quote_secret_values() -> None:
    with pytest.raises(AuthFileInvalid) as info:
        decode_auth(b'{"OPENAI_API_KEY":"sk-secret","tokens":{"id_token":"sk-secret-id"}}')
    assert "sk-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("forced", "login", "message"),
    [
        ("chatgpt", "apiKey", "API key login is disabled. Use ChatGPT login instead."),
        ("chatgpt", "amazonBedrock", "Amazon Bedrock login is disabled. Use ChatGPT login instead."),
        ("api", "chatgpt", "ChatGPT login is disabled. Use API key login instead."),
        ("api", "chatgptDeviceCode", "ChatGPT login is disabled. Use API key login instead."),
        ("api", "chatgptAuthTokens", "External ChatGPT auth is disabled. Use API key login instead."),
    ],
)
def test_forced_login_method_refuses_with_the_references_text(forced: Any, login: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_login_allowed(forced, login)
    assert info.value.message == message and info.value.code == -32600


def test_allowed_logins_pass() -> None:
    check_login_allowed("chatgpt", "chatgptDeviceCode")
    check_login_allowed("api", "apiKey")
    check_login_allowed(None, "apiKey")


def test_external_workspace_refusal_lists_ids_as_the_reference() -> None:
    allowed = forced_workspace_ids(["ws-a", "ws-b"])
    check_external_workspace(allowed, "ws-a")
    with pytest.raises(InvalidRequest) as info:
        check_external_workspace(allowed, "ws-c")
    assert info.value.message == 'External auth must use one of workspace(s) ["ws-a", "ws-b"], but received "ws-c".'
    assert forced_workspace_ids("ws-allowed") == ("ws-allowed",) and forced_workspace_ids(None) is None


def test_workspace_restriction_message_joins_ids_as_the_reference() -> None:
    assert workspace_restriction_message(["ws-a", "ws-b"]) == "Login is restricted to workspace id(s) ws-a, ws-b."


def test_stored_credentials_violating_policy_are_not_usable() -> None:
    api = AuthDotJson.for_api_key(Secret("sk"))
    chat = decode_auth((FIXTURES / "chatgpt_browser.json").read_bytes())
    assert not stored_auth_allowed(api, "chatgpt", None) and stored_auth_allowed(api, "api", None)
    assert not stored_auth_allowed(chat, "api", None) and stored_auth_allowed(chat, "chatgpt", None)
    assert stored_auth_allowed(chat, None, ("acct-123",)) and not stored_auth_allowed(chat, None, ("ws-other",))


def test_struct_fields_are_immutable() -> None:
    auth = AuthDotJson.for_api_key(Secret("sk"))
    with pytest.raises(AttributeError):
        auth.auth_mode = "chatgpt"  # type: ignore[misc]
    assert msgspec.structs.replace(auth, auth_mode="chatgpt").resolved_mode() == "chatgpt"
