"""Test charter: workspace-routing discovery (spec account.md §12) and the cloud-requirements
bundle (§6.2.5) against the fake backend in the test's own trio run, on ``autojump_clock``.
Every row of the §12 table is one test: the answer the fake gives and the exact text a client
would see; the headers are checked in the fake's request log."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import httpx
import msgspec
import pytest
import trio
from chamberlain.fake_openai import FOREVER, Endpoint, FakeOpenAI, Reply, unauthorized
from chamberlain.remote import backend
from chamberlain.remote.backend import (
    CloudRequirementsError,
    RoutingError,
    discover_routing,
    load_cloud_requirements,
)
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.http import BackendAuth

CLOSED_PORT_BACKEND = "http://127.0.0.1:1/backend-api"


def entry(**over: Any) -> dict[str, Any]:
    return {"id": "acct-123", "name": "Probe Workspace", "workspace_backend_origin": "https://chatgpt.com",
            "account_routing_override": "NO_CONSTRAINT", **over}


async def routing_error(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
                        *answers: Reply) -> RoutingError:
    fake.push(Endpoint.ACCOUNTS_CHECK, *answers)
    with pytest.raises(RoutingError) as caught:
        await discover_routing(http, endpoints, auth)
    return caught.value


async def test_discovery_returns_the_selected_workspace_and_its_name(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    routing, name = await discover_routing(http, endpoints, auth)
    assert msgspec.json.encode(routing) == (b'{"chatgptAccountId":"acct-123","backendOrigin":"https://chatgpt.com",'
                                            b'"accountRoutingOverride":"NO_CONSTRAINT"}')
    assert name == "Fake Workspace"
    (req,) = fake.requests_to(Endpoint.ACCOUNTS_CHECK)
    assert req.target == "/backend-api/wham/accounts/check"
    assert req.headers["authorization"] == f"Bearer {auth.access_token}"
    assert (req.headers["chatgpt-account-id"], req.headers["user-agent"]) == ("acct-123", auth.user_agent)
    assert "originator" not in req.headers and "x-openai-fedramp" not in req.headers


async def test_fedramp_workspaces_send_the_fedramp_header(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    await discover_routing(http, endpoints, dataclasses.replace(auth, fedramp=True))
    assert fake.requests_to(Endpoint.ACCOUNTS_CHECK)[0].headers["x-openai-fedramp"] == "true"


async def test_residency_override_and_origin_are_returned_normalized(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.ACCOUNTS_CHECK, Reply(200, {"accounts": [
        entry(workspace_backend_origin="https://US.Chatgpt.Example:8443/", account_routing_override="us_cr",
              name=None)]}))
    routing, name = await discover_routing(http, endpoints, auth)
    assert (routing.backend_origin, routing.account_routing_override, name) == (
        "https://us.chatgpt.example:8443", "us_cr", None)


async def test_no_constraint_origin_means_the_configured_backends_origin_which_must_be_https(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    # the reference validates the configured origin like any other: this fake's is plain http
    fake.push(Endpoint.ACCOUNTS_CHECK, Reply(200, {"accounts": [entry(workspace_backend_origin="NO_CONSTRAINT")]}))
    with pytest.raises(RoutingError) as caught:
        await discover_routing(http, endpoints, auth)
    assert caught.value.message == "workspace backend must use an HTTPS origin without credentials"
    assert backend._origin("NO_CONSTRAINT", Endpoints(backend_base="https://chatgpt.com/backend-api/")) == (
        "https://chatgpt.com"
    )


async def test_codex_api_base_uses_the_api_codex_path(
        fake: FakeOpenAI, http: httpx.AsyncClient, auth: BackendAuth) -> None:
    await discover_routing(http, Endpoints(backend_base=fake.base_url), auth)
    assert fake.requests_to(Endpoint.ACCOUNTS_CHECK)[0].target == "/api/codex/accounts/check"


async def test_server_error_fails_discovery(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    err = await routing_error(fake, http, endpoints, auth, Reply(500, {"x": 1}))
    assert (err.message, err.code, err.unauthorized) == ("workspace routing discovery failed", -32603, False)


async def test_undecodable_answer_fails_discovery(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    err = await routing_error(fake, http, endpoints, auth, Reply(200, text="nope"))
    assert err.message == "workspace routing discovery failed"


async def test_entry_without_id_fails_discovery(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    body = {"accounts": [{"account_id": "acct-123", "workspace_backend_origin": "https://chatgpt.com",
                          "account_routing_override": "us"}]}
    err = await routing_error(fake, http, endpoints, auth, Reply(200, body))
    assert err.message == "workspace routing discovery failed"


async def test_transport_error_fails_discovery(http: httpx.AsyncClient, auth: BackendAuth) -> None:
    with pytest.raises(RoutingError) as caught:
        await discover_routing(http, Endpoints(backend_base=CLOSED_PORT_BACKEND), auth)
    assert caught.value.message == "workspace routing discovery failed"


async def test_unauthorized_answer_is_reported_for_recovery(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    err = await routing_error(fake, http, endpoints, auth, unauthorized())
    assert (err.message, err.unauthorized) == ("workspace routing discovery unauthorized (401)", True)


async def test_empty_account_id_is_refused_without_a_request(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    with pytest.raises(RoutingError) as caught:
        await discover_routing(http, endpoints, BackendAuth(auth.access_token, "", auth.user_agent))
    assert caught.value.message == "workspace routing requires a ChatGPT account id"
    assert fake.requests_to(Endpoint.ACCOUNTS_CHECK) == []


@pytest.mark.parametrize("body", [{"accounts": [entry(id="other")]}, {}])
async def test_missing_workspace_is_reported(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                             auth: BackendAuth, body: dict[str, Any]) -> None:
    err = await routing_error(fake, http, endpoints, auth, Reply(200, body))
    assert err.message == "selected workspace missing from routing discovery"


async def test_map_shaped_accounts_do_not_decode(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                                 auth: BackendAuth) -> None:
    # 0.169.0 (tests/scenarios/account-routing.jsonl): a map where the list belongs is a decode failure
    err = await routing_error(fake, http, endpoints, auth, Reply(200, {"accounts": {"acct-123": entry()}}))
    assert err.message == "workspace routing discovery failed"


async def test_duplicate_workspace_is_reported(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    err = await routing_error(fake, http, endpoints, auth, Reply(200, {"accounts": [entry(), entry()]}))
    assert err.message == "duplicate workspace in routing discovery"


@pytest.mark.parametrize("origin", [None, "absent"])
async def test_missing_backend_origin_is_reported(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                                  auth: BackendAuth, origin: str | None) -> None:
    workspace = entry(workspace_backend_origin=origin)
    if origin == "absent":
        del workspace["workspace_backend_origin"]
    err = await routing_error(fake, http, endpoints, auth, Reply(200, {"accounts": [workspace]}))
    assert err.message == "workspace routing discovery missing backend origin"


@pytest.mark.parametrize("override", ["eu", None])
async def test_unknown_routing_override_is_reported(fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints,
                                                    auth: BackendAuth, override: str | None) -> None:
    err = await routing_error(fake, http, endpoints, auth,
                              Reply(200, {"accounts": [entry(account_routing_override=override)]}))
    assert err.message == "workspace routing discovery has invalid account routing override"


@pytest.mark.parametrize("origin", ["http://insecure.example", "ftp://x.example", "https://u:p@x.example",
                                    " https://x.example", "https://x.example "])
async def test_origin_that_is_not_plain_https_is_refused(fake: FakeOpenAI, http: httpx.AsyncClient,
                                                         endpoints: Endpoints, auth: BackendAuth, origin: str) -> None:
    err = await routing_error(fake, http, endpoints, auth,
                              Reply(200, {"accounts": [entry(workspace_backend_origin=origin)]}))
    assert err.message == "workspace backend must use an HTTPS origin without credentials"


@pytest.mark.parametrize("origin", ["https://x.example/path", "https://x.example?q=1", "https://x.example#f"])
async def test_origin_with_path_query_or_fragment_is_refused(fake: FakeOpenAI, http: httpx.AsyncClient,
                                                             endpoints: Endpoints, auth: BackendAuth,
                                                             origin: str) -> None:
    err = await routing_error(fake, http, endpoints, auth,
                              Reply(200, {"accounts": [entry(workspace_backend_origin=origin)]}))
    assert err.message == "workspace routing discovery must return an origin"


async def test_origin_that_is_no_url_is_refused(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    err = await routing_error(fake, http, endpoints, auth,
                              Reply(200, {"accounts": [entry(workspace_backend_origin="not a url")]}))
    assert err.message == "invalid workspace backend URL"


async def test_discovery_gives_up_after_fifteen_seconds(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
        autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    err = await routing_error(fake, http, endpoints, auth, Reply(200, {"accounts": [entry()]}, delay_s=FOREVER))
    assert err.message == "workspace routing discovery timed out"
    assert trio.current_time() - start == pytest.approx(15.0)


# --- cloud requirements (§6.2.5)


async def test_cloud_requirements_bundle_is_returned(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.CONFIG_BUNDLE, Reply(200, {"x": 1}))
    assert await load_cloud_requirements(http, endpoints, auth) == {"x": 1}
    (req,) = fake.requests_to(Endpoint.CONFIG_BUNDLE)
    assert (req.target, req.headers["chatgpt-account-id"]) == ("/backend-api/wham/config/bundle", "acct-123")


async def test_cloud_requirements_retry_four_times_with_backoff_then_fail(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
        autojump_clock: trio.testing.MockClock) -> None:
    fake.push(Endpoint.CONFIG_BUNDLE, *[Reply(404, {"detail": "nf"})] * 5)
    with pytest.raises(CloudRequirementsError) as caught:
        await load_cloud_requirements(http, endpoints, auth)
    assert caught.value.message == "failed to load workspace requirements: cloud config: request failed (HTTP 404)"
    times = [req.at for req in fake.requests_to(Endpoint.CONFIG_BUNDLE)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([0.25, 0.45, 0.84, 1.59])


async def test_cloud_requirements_succeed_on_a_retry(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
        autojump_clock: trio.testing.MockClock) -> None:
    fake.push(Endpoint.CONFIG_BUNDLE, Reply(500, {"detail": "x"}), Reply(200, text="garbage"))
    assert await load_cloud_requirements(http, endpoints, auth) == {}
    assert len(fake.requests_to(Endpoint.CONFIG_BUNDLE)) == 3


async def test_undecodable_bundle_fails_without_a_status(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth,
        autojump_clock: trio.testing.MockClock) -> None:
    fake.push(Endpoint.CONFIG_BUNDLE, *[Reply(200, [1])] * 5)
    with pytest.raises(CloudRequirementsError) as caught:
        await load_cloud_requirements(http, endpoints, auth)
    assert caught.value.message == "failed to load workspace requirements: cloud config: request failed"


async def test_unauthorized_bundle_is_reported_at_once_for_recovery(
        fake: FakeOpenAI, http: httpx.AsyncClient, endpoints: Endpoints, auth: BackendAuth) -> None:
    fake.push(Endpoint.CONFIG_BUNDLE, unauthorized())
    with pytest.raises(CloudRequirementsError) as caught:
        await load_cloud_requirements(http, endpoints, auth)
    assert caught.value.unauthorized
    assert caught.value.message == ("failed to load workspace requirements: cloud config: authentication failed "
                                    "(HTTP 401)")
    assert len(fake.requests_to(Endpoint.CONFIG_BUNDLE)) == 1
