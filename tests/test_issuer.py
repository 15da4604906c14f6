"""Test charter: the issuer calls of the login flows (spec account.md §6.2.1, §6.2.3, §6.3 step 1)
against the fake issuer over real loopback HTTP. Assertions are on the exact texts a client would
see (``LoginFailed.message``, JSON-RPC error messages), the exact bytes the fake received, and the
authorize URL the client is given. Every test is bounded by a trio ``fail_after``."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import trio
from chamberlain.errors import InternalError, InvalidRequest
from chamberlain.fake_openai import CLIENT_ID, Endpoint, FakeOpenAI, Identity, Reply, oauth_error
from chamberlain.remote import issuer
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.errors import LoginFailed
from chamberlain.remote.id_token import id_token_problem
from chamberlain.remote.status import status_text

IO_BOUND_S = 10
B64URL = re.compile(r"[A-Za-z0-9_-]+")
BLANK_ERRORS = '{"error":"","error_description":" "}'


#: Observed on the reference (0.169.0): user-code bodies and the decode error after
#: ``failed to request device code: ``.
USER_CODE_DECODE_ERRORS = [
    ('{"device_auth_id": "d1", "user_code": "U-1", "interval": 5}',
     'invalid type: integer `5`, expected a string at line 1 column 58'),
    ('{"device_auth_id": "d1", "user_code": "U-1", "interval": null}',
     'invalid type: null, expected a string at line 1 column 61'),
    ('{"device_auth_id": "d1", "user_code": "U-1", "interval": "abc"}',
     'invalid digit found in string at line 1 column 63'),
    ('{"device_auth_id": "d1", "user_code": "U-1", "interval": {"a":1}}',
     'invalid type: map, expected a string at line 1 column 57'),
    ('{"device_auth_id": "d1", "user_code": "U-1", "interval": [1]}',
     'invalid type: sequence, expected a string at line 1 column 57'),
    ('{"device_auth_id": "d1"}',
     'missing field `user_code` at line 1 column 24'),
    ('not json',
     'expected ident at line 1 column 2'),
    ('',
     'EOF while parsing a value at line 1 column 0'),
    ('[1,2]',
     'invalid type: integer `1`, expected a string at line 1 column 2'),
    ('{"device_auth_id": "d1",\n "user_code": 7}',
     'invalid type: integer `7`, expected a string at line 2 column 15'),
    ('{"device_auth_id": "d1", "user_code": "U", "usercode": "V"}',
     'duplicate field `user_code` at line 1 column 53'),
    ('{"device_auth_id": "d1", "user_code": "U"} trailing',
     'trailing characters at line 1 column 44'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": ""}',
     'cannot parse integer from empty string at line 1 column 58'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": "99999999999999999999999"}',
     'number too large to fit in target type at line 1 column 81'),
    ('{"device_auth_id": true, "user_code": "U"}',
     'invalid type: boolean `true`, expected a string at line 1 column 23'),
    ('{"device_auth_id": 1.5, "user_code": "U"}',
     'invalid type: number, expected a string at line 1 column 22'),
    ('"str"',
     'invalid type: string "str", expected struct UserCodeResp at line 1 column 5'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": "-1"}',
     'invalid digit found in string at line 1 column 60'),
    ('  {"device_auth_id": "d1"  }  ',
     'missing field `user_code` at line 1 column 28'),
    ('{"device_auth_id": "d1", "device_auth_id": "d2", "user_code": "U"}',
     'duplicate field `device_auth_id` at line 1 column 41'),
    ('{"device_auth_id": "d1", "user_code": "U",}',
     'trailing comma at line 1 column 43'),
    ('{}',
     'missing field `device_auth_id` at line 1 column 2'),
    ('null',
     'invalid type: null, expected struct UserCodeResp at line 1 column 4'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": "abc"  }',
     'invalid digit found in string at line 1 column 63'),
    ('{"interval": "abc" , "device_auth_id": "d1", "user_code": "U"}',
     'invalid digit found in string at line 1 column 19'),
    ('{"interval": "abc"\n, "device_auth_id": "d1", "user_code": "U"}',
     'invalid digit found in string at line 2 column 0'),
    ('["d"]',
     'invalid length 1, expected struct UserCodeResp with 3 elements at line 1 column 5'),
    ('["d","U","3","x"]',
     'trailing characters at line 1 column 14'),
    ('["d","U","x"]',
     'invalid digit found in string at line 1 column 13'),
    ('[]',
     'invalid length 0, expected struct UserCodeResp with 3 elements at line 1 column 2'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval":  {"a":1}}',
     'invalid type: map, expected a string at line 1 column 56'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": -5}',
     'invalid type: integer `-5`, expected a string at line 1 column 57'),
    ('{"device_auth_id": "d1", "user_code": "U", "interval": 1e3}',
     'invalid type: number, expected a string at line 1 column 58'),
    ('{"device_auth_id": "d1"  ,  "user_code"  "U"}',
     'expected `:` at line 1 column 42'),
    ('{"device_auth_id": "d1", 5: "U"}',
     'key must be a string at line 1 column 26'),
    ('{"device_auth_id": "d1", "user_code": "U", "extra": nope}',
     'expected ident at line 1 column 54'),
    ('{"device_auth_id": "d1", "user_code": "U"',
     'EOF while parsing an object at line 1 column 41'),
    ('hello',
     'expected value at line 1 column 1'),
    ('tru',
     'EOF while parsing a value at line 1 column 3'),
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # defaults a shared client may carry; issuer calls must not send them (§6.2.3, §17)
    async with httpx.AsyncClient(headers={"User-Agent": "probe/1.0", "originator": "probe"}) as http:
        yield http


def endpoints_for(fake: FakeOpenAI) -> Endpoints:
    return Endpoints(issuer=fake.issuer, callback_ports=(0,))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def unsigned_jwt(payload: dict[str, Any]) -> str:
    """An ``alg: none`` token with a dummy signature segment (the reference wants three non-empty parts)."""
    return jwt.encode(payload, key="", algorithm="none") + "sig"


# --- PKCE, state, authorize URL


def test_pkce_verifier_is_86_base64url_chars_and_challenge_is_its_s256() -> None:
    pkce = issuer.new_pkce()
    assert len(pkce.verifier) == 86 and B64URL.fullmatch(pkce.verifier)
    digest = hashlib.sha256(pkce.verifier.encode("ascii")).digest()
    assert pkce.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce.verifier not in repr(pkce)


def test_state_is_43_base64url_chars_and_fresh_each_time() -> None:
    first, second = issuer.new_state(), issuer.new_state()
    assert len(first) == 43 and B64URL.fullmatch(first)
    assert first != second


def test_authorize_url_has_the_reference_members_in_order_form_encoded() -> None:
    url = issuer.authorize_url(
        Endpoints(), "CHAL", "STATE", "refpeer_probe", None, callback_uri=issuer.redirect_uri(1455)
    )
    assert url == (
        "https://auth.openai.com/oauth/authorize?response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7hrann"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback&code_challenge=CHAL"
        "&code_challenge_method=S256&state=STATE"
        "&scope=openid+profile+email+offline_access+api.connectors.read+api.connectors.invoke"
        "&id_token_add_organizations=true&codex_cli_simplified_flow=true&originator=refpeer_probe"
    )


def test_authorize_url_joins_allowed_workspaces_with_an_encoded_comma() -> None:
    url = issuer.authorize_url(
        Endpoints(issuer="http://127.0.0.1:9"), "C", "S", "probe", ["ws-a", "ws-b"],
        callback_uri=issuer.redirect_uri(1457),
    )
    assert url.startswith("http://127.0.0.1:9/oauth/authorize?")
    assert url.endswith("&originator=probe&allowed_workspace_id=ws-a%2Cws-b")
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A1457%2Fauth%2Fcallback" in url


def test_originator_is_encoded_as_the_reference_form_encoder_does() -> None:
    url = issuer.authorize_url(Endpoints(), "C", "S", "my app~1*/é", None, callback_uri="x")
    assert url.endswith("&originator=my+app%7E1*%2F%C3%A9")


# --- claims and the workspace restriction


def test_workspace_check_accepts_an_allowed_account_id() -> None:
    token = unsigned_jwt({issuer.AUTH_CLAIM: {"chatgpt_account_id": "ws-b"}})
    issuer.check_workspace(token, ["ws-a", "ws-b"])
    issuer.check_workspace("not a jwt", None)


def test_workspace_check_names_the_allowed_ids() -> None:
    token = unsigned_jwt({issuer.AUTH_CLAIM: {"chatgpt_account_id": "ws-other"}})
    with pytest.raises(LoginFailed) as caught:
        issuer.check_workspace(token, ["ws-a", "ws-b"])
    assert caught.value.message == "Login is restricted to workspace id(s) ws-a, ws-b."


@pytest.mark.parametrize(
    "token",
    [unsigned_jwt({"sub": "u"}), unsigned_jwt({issuer.AUTH_CLAIM: {"chatgpt_account_id": "ws-a"}})[:-3], "a.b", "a..c",
     "x.!!!.y"],
)
def test_workspace_check_without_a_readable_claim_says_so(token: str) -> None:
    with pytest.raises(LoginFailed) as caught:
        issuer.check_workspace(token, ["ws-a"])
    assert caught.value.message == (
        "Login is restricted to a specific workspace, but the token did not include an chatgpt_account_id claim."
    )


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("a.e30.c", None),
        ("a.e31.c", "Invalid last symbol 49, offset 2."),
        ("a.x.c", "Invalid input length: 1"),
        ("a.eB.c", "Invalid last symbol 66, offset 1."),
        ("a.e3=0.c", "Invalid symbol 61, offset 2."),
        ("a.abcd!.c", "Invalid symbol 33, offset 4."),
        ("a.\u00e9.c", "Invalid symbol 195, offset 0."),
        ("a..c", "invalid ID token format"),
    ],
)
def test_id_token_problems_are_worded_as_the_reference_parser_words_them(token: str, problem: str | None) -> None:
    assert id_token_problem(token) == problem


def test_status_text_uses_the_rust_http_reason_phrases() -> None:
    assert status_text(400) == "400 Bad Request"
    assert status_text(410) == "410 Gone"
    assert status_text(413) == "413 Payload Too Large"
    assert status_text(418) == "418 I'm a teapot"
    assert status_text(425) == "425 Too Early"
    assert status_text(499) == "499 <unknown status code>"


# --- authorization-code exchange


async def test_code_exchange_sends_the_reference_form_and_returns_the_tokens(
    fake: FakeOpenAI, client: httpx.AsyncClient
) -> None:
    pkce = issuer.new_pkce()
    callback = issuer.redirect_uri(1455)
    auth_url = issuer.authorize_url(endpoints_for(fake), pkce.challenge, "st", "probe", None, callback_uri=callback)
    code = dict(httpx.URL(fake.authorize(auth_url)).params)["code"]
    with trio.fail_after(IO_BOUND_S):
        tokens = await issuer.exchange_code(client, endpoints_for(fake), code, callback, pkce.verifier)
    [request] = fake.requests_to(Endpoint.TOKEN_CODE)
    assert request.body.decode() == (
        f"grant_type=authorization_code&client_id={CLIENT_ID}&code={code}"
        f"&redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback&code_verifier={pkce.verifier}"
    )
    # the reference's header set: no User-Agent, originator, Accept-Encoding or Connection
    assert set(request.headers) == {"host", "accept", "content-type", "content-length"}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert jwt.decode(tokens.id_token, options={"verify_signature": False})["email"] == "user@example.com"
    assert tokens.refresh_token and tokens.api_key is None
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


async def test_code_exchange_with_a_bad_code_reports_status_and_description(
    fake: FakeOpenAI, client: httpx.AsyncClient
) -> None:
    with trio.fail_after(IO_BOUND_S), pytest.raises(LoginFailed) as caught:
        await issuer.exchange_code(client, endpoints_for(fake), "bogus", issuer.redirect_uri(1455), "v")
    assert caught.value.message == (
        "Token exchange failed: token endpoint returned status 400 Bad Request: Invalid authorization code"
    )


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (Reply(401, {"error": {"message": "proxy says no", "code": "proxy_auth"}}), "401 Unauthorized: proxy says no"),
        (Reply(400, {"error": "temporarily_unavailable"}), "400 Bad Request: temporarily_unavailable"),
        (Reply(400, {"error": {"code": "only_code"}}), "400 Bad Request: only_code"),
        (Reply(503, text="  service unavailable \n"), "503 Service Unavailable: service unavailable"),
        (Reply(500, text=""), "500 Internal Server Error: unknown error"),
        (Reply(400, text=BLANK_ERRORS), f"400 Bad Request: {BLANK_ERRORS}"),
    ],
)
async def test_code_exchange_failure_detail_follows_the_reference_preference(
    fake: FakeOpenAI, client: httpx.AsyncClient, reply: Reply, detail: str
) -> None:
    fake.push(Endpoint.TOKEN_CODE, reply)
    with trio.fail_after(IO_BOUND_S), pytest.raises(LoginFailed) as caught:
        await issuer.exchange_code(client, endpoints_for(fake), "c", issuer.redirect_uri(1455), "v")
    assert caught.value.message == f"Token exchange failed: token endpoint returned status {detail}"


async def test_code_exchange_without_a_listener_names_the_url(client: httpx.AsyncClient) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with trio.fail_after(IO_BOUND_S), pytest.raises(LoginFailed) as caught:
        await issuer.exchange_code(client, Endpoints(issuer=base), "c", "r", "v")
    assert caught.value.message == f"Token exchange failed: error sending request for url ({base}/oauth/token)"


async def test_code_exchange_success_without_tokens_is_an_invalid_response(
    fake: FakeOpenAI, client: httpx.AsyncClient
) -> None:
    fake.push(Endpoint.TOKEN_CODE, Reply(200, {"id_token": "x", "access_token": "y"}))
    with trio.fail_after(IO_BOUND_S), pytest.raises(LoginFailed) as caught:
        await issuer.exchange_code(client, endpoints_for(fake), "c", "r", "v")
    assert caught.value.message == "Token exchange failed: OAuth token response is invalid"


# --- API-key exchange


async def test_api_key_exchange_sends_the_token_exchange_form(fake: FakeOpenAI, client: httpx.AsyncClient) -> None:
    tokens = fake.issue_tokens(Identity(api_key="sk-from-exchange"))
    with trio.fail_after(IO_BOUND_S):
        key = await issuer.exchange_api_key(client, endpoints_for(fake), tokens.id_token)
    assert key == "sk-from-exchange"
    [request] = fake.requests_to(Endpoint.TOKEN_API_KEY)
    assert request.body.decode() == (
        f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&client_id={CLIENT_ID}"
        f"&requested_token=openai-api-key&subject_token={tokens.id_token}"
        "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token"
    )


@pytest.mark.parametrize("reply", [oauth_error(400, "invalid_grant"), Reply(200, {"nope": 1}), Reply(200, text="x")])
async def test_api_key_exchange_failure_gives_no_key(
    fake: FakeOpenAI, client: httpx.AsyncClient, reply: Reply
) -> None:
    fake.push(Endpoint.TOKEN_API_KEY, reply)
    with trio.fail_after(IO_BOUND_S):
        assert await issuer.exchange_api_key(client, endpoints_for(fake), "id") is None


async def test_api_key_exchange_without_a_listener_gives_no_key(client: httpx.AsyncClient) -> None:
    endpoints = Endpoints(issuer=f"http://127.0.0.1:{closed_port()}")
    with trio.fail_after(IO_BOUND_S):
        assert await issuer.exchange_api_key(client, endpoints, "id") is None


# --- device user code


async def test_user_code_request_posts_the_client_id_as_json(fake: FakeOpenAI, client: httpx.AsyncClient) -> None:
    with trio.fail_after(IO_BOUND_S):
        code = await issuer.request_user_code(client, endpoints_for(fake))
    [request] = fake.requests_to(Endpoint.DEVICE_USERCODE)
    assert request.body == f'{{"client_id":"{CLIENT_ID}"}}'.encode()
    assert request.headers["content-type"] == "application/json"
    assert set(request.headers) == {"host", "accept", "content-type", "content-length"}
    assert code.interval_s == 1 and code.user_code
    assert code.device_auth_id not in repr(code)


@pytest.mark.parametrize(
    ("body", "user_code", "interval"),
    [
        ({"device_auth_id": "d", "user_code": "AB-12", "interval": " 7 "}, "AB-12", 7),
        ({"device_auth_id": "d", "usercode": "CD-34"}, "CD-34", 0),
        ({"device_auth_id": "d", "user_code": "EF-56", "interval": "+3"}, "EF-56", 3),
        ({"device_auth_id": "d", "user_code": "GH-78", "extra": [1, {"x": None}], "interval": " 4 "}, "GH-78", 4),
    ],
)
async def test_user_code_answer_reads_the_alias_and_a_string_interval(
    fake: FakeOpenAI, client: httpx.AsyncClient, body: dict[str, str], user_code: str, interval: int
) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(200, body))
    with trio.fail_after(IO_BOUND_S):
        code = await issuer.request_user_code(client, endpoints_for(fake))
    assert (code.user_code, code.interval_s) == (user_code, interval)


@pytest.mark.parametrize("body", ['["d","U"]', '[ "d" , "U" , "2" ]', '{"device_auth_id": "d", "user_code": "U"}  '])
async def test_user_code_answer_may_be_a_sequence_or_end_in_whitespace(
    fake: FakeOpenAI, client: httpx.AsyncClient, body: str
) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(200, text=body))
    with trio.fail_after(IO_BOUND_S):
        code = await issuer.request_user_code(client, endpoints_for(fake))
    assert code.user_code == "U" and code.interval_s in (0, 2)


async def test_user_code_404_means_device_login_is_not_enabled(fake: FakeOpenAI, client: httpx.AsyncClient) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(404, text="Not Found"))
    with trio.fail_after(IO_BOUND_S), pytest.raises(InvalidRequest) as caught:
        await issuer.request_user_code(client, endpoints_for(fake))
    assert caught.value.message == (
        "device code login is not enabled for this Codex server. Use the browser login or verify the server URL."
    )


async def test_user_code_other_status_is_an_internal_error(fake: FakeOpenAI, client: httpx.AsyncClient) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(500, {"error": "boom"}))
    with trio.fail_after(IO_BOUND_S), pytest.raises(InternalError) as caught:
        await issuer.request_user_code(client, endpoints_for(fake))
    assert caught.value.message == (
        "failed to request device code: device code request failed with status 500 Internal Server Error"
    )


async def test_user_code_without_a_listener_names_the_url(client: httpx.AsyncClient) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with trio.fail_after(IO_BOUND_S), pytest.raises(InternalError) as caught:
        await issuer.request_user_code(client, Endpoints(issuer=base))
    assert caught.value.message == (
        f"failed to request device code: error sending request for url ({base}/api/accounts/deviceauth/usercode)"
    )


@pytest.mark.parametrize(("body", "error"), USER_CODE_DECODE_ERRORS)
async def test_user_code_answer_that_does_not_decode_gives_serde_json_text(
    fake: FakeOpenAI, client: httpx.AsyncClient, body: str, error: str
) -> None:
    fake.push(Endpoint.DEVICE_USERCODE, Reply(200, text=body))
    with trio.fail_after(IO_BOUND_S), pytest.raises(InternalError) as caught:
        await issuer.request_user_code(client, endpoints_for(fake))
    assert caught.value.message == f"failed to request device code: {error}"
