"""No secret shows itself (issue 7), from outside and from inside: the installed ``chamberlain
app-server`` at its most verbose (``CHAMBERLAIN_LOG=trace``) through an API-key login, a logout,
a failed refresh and a revoking logout, its stderr and stdout scanned; and ``repr``/``str`` of
every value that holds a key or a token, built with a known secret."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from chamberlain.actors.auth_messages import GetAuthStatus, StartLogin
from chamberlain.actors.caller import Caller
from chamberlain.actors.credentials import Active, external_tokens
from chamberlain.actors.reply import Reply
from chamberlain.actors.server import Settings
from chamberlain.fake_openai import Endpoint, FakeOpenAI, HttpRequest, refresh_reused
from chamberlain.protocol import account as acct
from chamberlain.remote.http import BackendAuth
from chamberlain.remote.issuer import DeviceGrant, IssuedTokens, Pkce, UserCode
from chamberlain.remote.refresh import RefreshedTokens
from chamberlain.store.auth_file import AuthDotJson, OAuthProvenance, Timestamp, TokenData
from chamberlain.store.auth_secret import Secret

IO_BOUND_S = 60
API_KEY = "sk-proj-cli-" + secrets.token_urlsafe(24)
ENV_KEY = "sk-in-the-environment-" + secrets.token_urlsafe(24)


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("chamberlain")
    return [str(script), "app-server"] if script.is_file() else [sys.executable, "-m", "chamberlain", "app-server"]


class Stdio:
    """A host on the process's pipes; every stdout line is kept."""

    def __init__(self, proc: trio.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.stdin, self.stdout = proc.stdin, proc.stdout
        self.lines: list[bytes] = []
        self._buf = b""
        self._next = 0

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        self._next += 1
        frame = {"id": self._next, "method": method, **({} if params is None else {"params": params})}
        await self.stdin.send_all(json.dumps(frame).encode() + b"\n")
        while True:
            while b"\n" not in self._buf:
                chunk = await self.stdout.receive_some(65536)
                assert chunk, "the server closed its stdout"
                self._buf += chunk
            line, _, self._buf = self._buf.partition(b"\n")
            self.lines.append(line)
            msg: dict[str, Any] = json.loads(line)
            if msg.get("id") == self._next and "method" not in msg:
                return msg


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_cli_at_trace_level_never_prints_a_secret(tmp_path: Path, log_format: str) -> None:
    home, etc = tmp_path / "home", tmp_path / "etc"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_", "RUST_LOG", "OPENAI_"))}
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
            (home / "config.toml").write_text(fake.config_toml())
            env.update(CODEX_HOME=str(home), CHAMBERLAIN_LOG="trace", LOG_FORMAT=log_format, OPENAI_API_KEY=ENV_KEY,
                       **fake.codex_env())
            proc = await trio.lowlevel.open_process(
                [*server_command(), "--system-config-dir", str(etc)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            )
            host = Stdio(proc)
            assert proc.stderr is not None
            stderr = bytearray()

            async def drain() -> None:
                assert proc.stderr is not None
                while chunk := await proc.stderr.receive_some(65536):
                    stderr.extend(chunk)

            nursery.start_soon(drain)
            await host.call("initialize", {"clientInfo": {"name": "t", "version": "1"}})
            assert "result" in await host.call("account/login/start", {"type": "apiKey", "apiKey": API_KEY})
            status = await host.call("getAuthStatus", {"includeToken": True})
            allowed = {status["id"]}
            assert status["result"]["authToken"] == API_KEY
            assert "result" in await host.call("account/logout")
            (home / "auth.json").write_text(json.dumps(fake.auth_json(fake.issue_tokens())))
            fake.push(Endpoint.TOKEN_REFRESH, refresh_reused())
            assert (await host.call("account/read", {"refreshToken": True}))["result"]["account"] is None
            assert "result" in await host.call("account/logout")
            await host.stdin.aclose()
            assert await proc.wait() == 0
            nursery.cancel_scope.cancel(reason="server exited")
    log = stderr.decode("utf-8", "replace")
    assert "forced token refresh failed" in log  # the INFO/DEBUG records are there
    assert len(fake.requests_to(Endpoint.REVOKE)) == 1
    frames = [line.decode() for line in host.lines if json.loads(line).get("id") not in allowed]
    shown = [log, *frames]
    needles = set(fake.minted_secrets()) | {API_KEY, ENV_KEY}
    assert len(needles) >= 4
    assert not [s[:8] for s in needles if any(s in text for text in shown)]


def holders(s: str, jwt: str) -> list[object]:
    """Every value that carries a key or a token, built around ``s`` (and a JWT ``jwt``)."""
    tokens = TokenData(Secret(jwt), Secret(s), Secret(s + "r"), OAuthProvenance("https://i", "c"), "o", "a")
    stored = AuthDotJson("chatgpt", Secret(s + "k"), tokens, Timestamp.now())
    external = external_tokens(jwt, "acct", "plus")
    caller = Caller("codex_cli_rs", "ua", experimental_api=True, handle=None)
    return [
        Secret(s), tokens, stored, AuthDotJson.for_api_key(Secret(s)), external,
        Active("chatgpt", stored), Active("chatgptAuthTokens", external=external),
        acct.ApiKeyLogin(api_key=s), acct.ChatgptAuthTokensLogin(access_token=s, chatgpt_account_id="a"),
        acct.AmazonBedrockLogin(api_key=s, region="r"),
        acct.AmazonBedrockAccessKeysLogin(access_key_id=s, secret_access_key=s, session_token=s, region="r"),
        acct.ChatgptAuthTokensRefreshResponse(access_token=s, chatgpt_account_id="a"),
        acct.GetAuthStatusResponse("apikey", s, True),
        StartLogin(acct.ApiKeyLogin(api_key=s), caller, Reply()),
        GetAuthStatus(True, False, caller, Reply()),
        IssuedTokens(jwt, s, s, s), RefreshedTokens(jwt, s, s), BackendAuth(s, "acct", "ua"),
        Pkce(s, "challenge"), UserCode(s, "ABCD-1234", 5), DeviceGrant(s, s, s),
        HttpRequest("POST", f"/oauth/token?code={s}", {"authorization": f"Bearer {s}"}, s.encode(), 0.0),
        Settings(Path("/nonexistent"), environ={"OPENAI_API_KEY": s}),
    ]


@pytest.mark.parametrize("show", [repr, str, "{}".format, "%s".__mod__, "%r".__mod__])
async def test_every_holder_of_a_secret_hides_it_when_shown(show: Any) -> None:
    async with trio.open_nursery() as nursery:
        fake: FakeOpenAI = await nursery.start(FakeOpenAI().run)
        jwt = fake.mint_access_token()
        nursery.cancel_scope.cancel(reason="token minted")
    s = "sk-holder-" + secrets.token_urlsafe(24)
    signature = jwt.rsplit(".", 1)[1]
    shown = {type(h).__name__: show((h,) if show in ("%s".__mod__, "%r".__mod__) else h) for h in holders(s, jwt)}
    assert not [name for name, text in shown.items() if s in text or signature in text]
    assert msgspec.json.decode(msgspec.json.encode(acct.GetAuthStatusResponse("apikey", s, True)))["authToken"] == s
