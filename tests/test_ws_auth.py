"""WebSocket upgrade auth (spec config.md §11.3-§11.4): start-up flags and texts, every 401 reply.

Charter: `check_upgrade` is pure, so these tests pass `now` explicitly and assert on the exact
response bytes; the flag tests assert on the exact `Error:` texts. The last tests run the real
codex (skipped where it is not installed) and compare its replies and start-up errors with ours.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from chamberlain.actors.ws_auth import (
    CapabilityTokenAuth,
    SignedBearerTokenAuth,
    WsAuth,
    WsAuthError,
    add_ws_auth_arguments,
    check_upgrade,
    refuse_unauthenticated,
    ws_auth_from_args,
)

NOW = 1_800_000_000
SECRET = "s" * 40
TOKEN = "tok-123"
# 02 Dec 2026 02:04:33 GMT, a Wednesday, as the reference printed it.
DATE_NOW = 1_796_177_073


def _parse(cwd: Path, *argv: str) -> WsAuth | None:
    parser = argparse.ArgumentParser()
    add_ws_auth_arguments(parser)
    return ws_auth_from_args(parser.parse_args(argv), cwd)


def _startup_error(cwd: Path, *argv: str) -> str:
    with pytest.raises(WsAuthError) as caught:
        _parse(cwd, *argv)
    return str(caught.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: str = SECRET) -> str:
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{_b64(head)}.{_b64(body)}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _jwt(**claims: Any) -> str:
    return _signed({"alg": "HS256", "typ": "JWT"}, claims)


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"x"), (b"authorization", b"Bearer " + token.encode())]


def _body(reply: bytes | None) -> str | None:
    return None if reply is None else reply.partition(b"\r\n\r\n")[2].decode()


CAPABILITY = CapabilityTokenAuth(hashlib.sha256(TOKEN.encode()).digest())
SIGNED = SignedBearerTokenAuth(SECRET.encode(), issuer="iss1", audience="aud1")
SIGNED_OPEN = SignedBearerTokenAuth(SECRET.encode())


# ---------------------------------------------------------------- start-up flags and texts


def test_no_ws_auth_flag_means_no_auth(tmp_path: Path) -> None:
    assert _parse(tmp_path) is None


@pytest.mark.parametrize(
    "argv",
    [
        ("--ws-token-file", "t"),
        ("--ws-token-sha256", "a" * 64),
        ("--ws-shared-secret-file", "s"),
        ("--ws-issuer", "i"),
        ("--ws-audience", "a"),
        ("--ws-max-clock-skew-seconds", "5"),
    ],
)
def test_an_auth_flag_without_ws_auth_refuses_the_start(tmp_path: Path, argv: tuple[str, ...]) -> None:
    assert _startup_error(tmp_path, *argv) == (
        "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
    )


def test_token_file_and_digest_are_mutually_exclusive(tmp_path: Path) -> None:
    argv = ("--ws-auth", "capability-token", "--ws-token-file", "t", "--ws-token-sha256", "a" * 64)
    assert _startup_error(tmp_path, *argv) == "`--ws-token-file` and `--ws-token-sha256` are mutually exclusive"


def test_capability_token_needs_a_file_or_a_digest(tmp_path: Path) -> None:
    assert _startup_error(tmp_path, "--ws-auth", "capability-token") == (
        "`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set"
    )


@pytest.mark.parametrize("digest", ["abc", "g" * 64, "a" * 63, "a" * 65, "é" * 32])
def test_a_bad_digest_refuses_the_start(tmp_path: Path, digest: str) -> None:
    argv = ("--ws-auth", "capability-token", "--ws-token-sha256", digest)
    assert _startup_error(tmp_path, *argv) == "--ws-token-sha256 must be a 64-character hex SHA-256 digest"


def test_a_digest_is_trimmed_and_case_free(tmp_path: Path) -> None:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest().upper()
    auth = _parse(tmp_path, "--ws-auth", "capability-token", "--ws-token-sha256", f"  {digest} ")
    assert check_upgrade(auth, _bearer(TOKEN), NOW) is None
    assert _body(check_upgrade(auth, _bearer("other"), NOW)) == "invalid websocket bearer token"


@pytest.mark.parametrize("flag", ["--ws-shared-secret-file", "--ws-issuer", "--ws-audience"])
def test_jwt_flags_refuse_capability_token_mode(tmp_path: Path, flag: str) -> None:
    argv = ("--ws-auth", "capability-token", "--ws-token-sha256", "a" * 64, flag, "x")
    assert _startup_error(tmp_path, *argv) == (
        "`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and `--ws-max-clock-skew-seconds` "
        "require `--ws-auth signed-bearer-token`"
    )


def test_token_flags_refuse_signed_mode(tmp_path: Path) -> None:
    argv = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s", "--ws-token-file", "t")
    assert _startup_error(tmp_path, *argv) == (
        "`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, not `signed-bearer-token`"
    )


def test_signed_mode_needs_a_secret_file(tmp_path: Path) -> None:
    assert _startup_error(tmp_path, "--ws-auth", "signed-bearer-token") == (
        "`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set"
    )


def test_a_secret_of_31_bytes_refuses_the_start_and_32_start(tmp_path: Path) -> None:
    (tmp_path / "short").write_text("  " + "x" * 31 + "\n")
    (tmp_path / "ok").write_text("\t" + "x" * 32 + "\n")
    argv = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file")
    assert _startup_error(tmp_path, *argv, "short") == (
        f"signed websocket bearer secret {tmp_path}/short must be at least 32 bytes"
    )
    auth = _parse(tmp_path, *argv, "ok")
    assert isinstance(auth, SignedBearerTokenAuth)
    assert auth.shared_secret == b"x" * 32
    assert auth.max_clock_skew_seconds == 30


@pytest.mark.parametrize("mode", ["capability-token", "signed-bearer-token"])
def test_unreadable_or_empty_files_refuse_the_start(tmp_path: Path, mode: str) -> None:
    flag = "--ws-token-file" if mode == "capability-token" else "--ws-shared-secret-file"
    (tmp_path / "empty").write_text(" \n\t")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\xfd")
    (tmp_path / "dir").mkdir()
    errors = {name: _startup_error(tmp_path, "--ws-auth", mode, flag, name) for name in ("missing", "empty")}
    errors["binary"] = _startup_error(tmp_path, "--ws-auth", mode, flag, "binary")
    errors["dir"] = _startup_error(tmp_path, "--ws-auth", mode, flag, "./dir/../dir")
    assert errors == {
        "missing": f"failed to read websocket auth secret {tmp_path}/missing: No such file or directory (os error 2)",
        "empty": f"websocket auth secret {tmp_path}/empty must not be empty",
        "binary": f"failed to read websocket auth secret {tmp_path}/binary: stream did not contain valid UTF-8",
        "dir": f"failed to read websocket auth secret {tmp_path}/dir: Is a directory (os error 21)",
    }


def test_a_relative_token_file_is_read_from_the_cwd_and_trimmed(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text(f"\n  {TOKEN} \r\n")
    auth = _parse(tmp_path, "--ws-auth", "capability-token", "--ws-token-file", "tok")
    assert check_upgrade(auth, _bearer(TOKEN), NOW) is None
    assert _body(check_upgrade(auth, _bearer(f" {TOKEN} "), NOW)) is None


def test_the_clock_skew_must_be_an_unsigned_integer_that_fits_i64(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET)
    argv = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s", "--ws-max-clock-skew-seconds")
    with pytest.raises(SystemExit) as exited:
        _parse(tmp_path, *argv, "-1")
    assert exited.value.code == 2
    assert _startup_error(tmp_path, *argv, str(2**63)) == (
        "websocket auth clock skew must fit in a signed 64-bit integer"
    )
    auth = _parse(tmp_path, *argv, str(2**63 - 1))
    assert isinstance(auth, SignedBearerTokenAuth)
    assert auth.max_clock_skew_seconds == 2**63 - 1


def test_blank_issuer_and_audience_mean_none(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET)
    argv = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s")
    auth = _parse(tmp_path, *argv, "--ws-issuer", "  ", "--ws-audience", "", "--ws-max-clock-skew-seconds", "0")
    assert isinstance(auth, SignedBearerTokenAuth)
    assert (auth.issuer, auth.audience, auth.max_clock_skew_seconds) == (None, None, 0)
    assert check_upgrade(auth, _bearer(_jwt(exp=NOW)), NOW) is None


def test_secrets_never_appear_in_repr_or_errors(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(SECRET)
    (tmp_path / "t").write_text(TOKEN)
    signed = _parse(tmp_path, "--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s", "--ws-issuer", "i")
    capability = _parse(tmp_path, "--ws-auth", "capability-token", "--ws-token-file", "t")
    digest = hashlib.sha256(TOKEN.encode())
    for text in (repr(signed), str(signed), repr(capability), str(capability)):
        assert SECRET not in text and TOKEN not in text
        assert digest.hexdigest() not in text and repr(digest.digest()) not in text
    assert repr(signed) == (
        "SignedBearerTokenAuth(shared_secret=<redacted>, issuer='i', audience=None, max_clock_skew_seconds=30)"
    )
    (tmp_path / "short").write_text("short-secret")
    error = _startup_error(tmp_path, "--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "short")
    assert "short-secret" not in error


# ---------------------------------------------------------------- non-loopback refusal


@pytest.mark.parametrize(
    ("host", "port", "shown"),
    [("0.0.0.0", 47902, "0.0.0.0:47902"), ("[::]", 5555, "[::]:5555"), ("::ffff:127.0.0.1", 0, "[::ffff:127.0.0.1]:0")],
)
def test_a_non_loopback_listener_without_auth_is_refused(host: str, port: int, shown: str) -> None:
    assert refuse_unauthenticated(host, port, None) == (
        f"refusing to start non-loopback websocket listener {shown} without auth; "
        "configure `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
    )
    assert refuse_unauthenticated(host, port, CAPABILITY) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]"])
def test_loopback_listeners_need_no_auth(host: str) -> None:
    assert refuse_unauthenticated(host, 0, None) is None


# ---------------------------------------------------------------- the Authorization header


def test_the_401_reply_is_the_reference_bytes() -> None:
    assert check_upgrade(CAPABILITY, [(b"host", b"x")], DATE_NOW + 0.7) == (
        b"HTTP/1.1 401 Unauthorized\r\n"
        b"content-type: text/plain; charset=utf-8\r\n"
        b"content-length: 30\r\n"
        b"date: Wed, 02 Dec 2026 02:04:33 GMT\r\n"
        b"\r\n"
        b"missing websocket bearer token"
    )


def test_without_auth_every_upgrade_is_allowed() -> None:
    assert check_upgrade(None, [], NOW) is None


@pytest.mark.parametrize(
    ("value", "body"),
    [
        (b"Bearer tok-123", None),
        (b"bearer tok-123", None),
        (b"BEARER   tok-123 \t", None),
        (b"Bearer wrong", "invalid websocket bearer token"),
        (b"Bearer tok-123 x", "invalid websocket bearer token"),
        (b"Basic tok-123", "invalid authorization header"),
        (b"Bearer", "invalid authorization header"),
        (b"Bearer   ", "invalid authorization header"),
        (b"", "invalid authorization header"),
        (b"Bearer\ttok-123", "invalid authorization header"),
        (b"Bearertok-123", "invalid authorization header"),
        ("Bearer é".encode(), "invalid authorization header"),
        (b"Bearer \xff\xfe", "invalid authorization header"),
        (b"Bearer tok\x01123", "invalid authorization header"),
    ],
)
def test_authorization_header_values(value: bytes, body: str | None) -> None:
    reply = check_upgrade(CAPABILITY, [(b"host", b"x"), (b"Authorization", value)], NOW)
    assert _body(reply) == body
    if reply is not None:
        assert reply.startswith(b"HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain; charset=utf-8\r\n")
        assert f"content-length: {len(body or '')}\r\n".encode() in reply


def test_only_the_first_authorization_header_counts() -> None:
    good, bad = (b"authorization", b"Bearer tok-123"), (b"authorization", b"Basic x")
    assert check_upgrade(CAPABILITY, [good, bad], NOW) is None
    assert _body(check_upgrade(CAPABILITY, [bad, good], NOW)) == "invalid authorization header"


def test_capability_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert _body(check_upgrade(CAPABILITY, _bearer("wrong"), NOW)) == "invalid websocket bearer token"
    assert calls == [(hashlib.sha256(b"wrong").digest(), CAPABILITY.token_sha256)]


# ---------------------------------------------------------------- signed bearer tokens


@pytest.mark.parametrize(
    ("now", "body"),
    [(NOW + 30, None), (NOW + 30.99, None), (NOW + 31, "expired websocket jwt")],
)
def test_expiry_allows_the_skew(now: float, body: str | None) -> None:
    assert _body(check_upgrade(SIGNED_OPEN, _bearer(_jwt(exp=NOW)), now)) == body


@pytest.mark.parametrize(
    ("now", "body"),
    [(NOW - 30, None), (NOW - 30.5, "websocket jwt is not valid yet"), (NOW - 31, "websocket jwt is not valid yet")],
)
def test_not_before_allows_the_skew(now: float, body: str | None) -> None:
    token = _jwt(exp=NOW + 1000, nbf=NOW)
    assert _body(check_upgrade(SIGNED_OPEN, _bearer(token), now)) == body


def test_a_configured_skew_replaces_the_default() -> None:
    auth = SignedBearerTokenAuth(SECRET.encode(), max_clock_skew_seconds=10)
    assert check_upgrade(auth, _bearer(_jwt(exp=NOW)), NOW + 10) is None
    assert _body(check_upgrade(auth, _bearer(_jwt(exp=NOW)), NOW + 11)) == "expired websocket jwt"


def test_expiry_is_checked_before_nbf_issuer_and_audience() -> None:
    token = _jwt(exp=NOW - 100, nbf=NOW + 100, iss="x", aud="x")
    assert _body(check_upgrade(SIGNED, _bearer(token), NOW)) == "expired websocket jwt"
    token = _jwt(exp=NOW + 100, nbf=NOW + 100, iss="x", aud="x")
    assert _body(check_upgrade(SIGNED, _bearer(token), NOW)) == "websocket jwt is not valid yet"
    token = _jwt(exp=NOW + 100, iss="x", aud="x")
    assert _body(check_upgrade(SIGNED, _bearer(token), NOW)) == "websocket jwt issuer mismatch"


def test_extreme_times_saturate() -> None:
    token = _jwt(exp=2**63 - 1, nbf=-(2**63))
    assert check_upgrade(SIGNED_OPEN, _bearer(token), NOW) is None


def _jwt_cases(t: int) -> dict[str, tuple[str, str | None]]:
    """Each case: a token whose times are relative to `t`, and the 401 body at `t` (None: allowed)."""
    cases = {
        "valid": (_jwt(exp=t + 100, iss="iss1", aud="aud1"), None),
        "iss other": (_jwt(exp=t + 100, iss="x", aud="aud1"), "websocket jwt issuer mismatch"),
        "iss missing": (_jwt(exp=t + 100, aud="aud1"), "websocket jwt issuer mismatch"),
        "iss null": (_jwt(exp=t + 100, iss=None, aud="aud1"), "websocket jwt issuer mismatch"),
        "aud other": (_jwt(exp=t + 100, iss="iss1", aud="x"), "websocket jwt audience mismatch"),
        "aud missing": (_jwt(exp=t + 100, iss="iss1"), "websocket jwt audience mismatch"),
        "aud null": (_jwt(exp=t + 100, iss="iss1", aud=None), "websocket jwt audience mismatch"),
        "aud array has": (_jwt(exp=t + 100, iss="iss1", aud=["z", "aud1"]), None),
        "aud array lacks": (_jwt(exp=t + 100, iss="iss1", aud=["z"]), "websocket jwt audience mismatch"),
        "aud array empty": (_jwt(exp=t + 100, iss="iss1", aud=[]), "websocket jwt audience mismatch"),
        "aud array mixed": (_jwt(exp=t + 100, iss="iss1", aud=["aud1", 1]), "invalid websocket jwt"),
        "aud number": (_jwt(exp=t + 100, iss="iss1", aud=5), "invalid websocket jwt"),
        "iss number": (_jwt(exp=t + 100, iss=5, aud="aud1"), "invalid websocket jwt"),
        "exp missing": (_jwt(iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "exp null": (_jwt(exp=None, iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "exp float": (_jwt(exp=t + 100.0, iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "exp string": (_jwt(exp=str(t + 100), iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "exp bool": (_jwt(exp=True, iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "exp beyond i64": (_jwt(exp=2**64, iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "nbf float": (_jwt(exp=t + 100, nbf=t - 5.0, iss="iss1", aud="aud1"), "invalid websocket jwt"),
        "nbf null": (_jwt(exp=t + 100, nbf=None, iss="iss1", aud="aud1"), None),
        "HS384": (jwt.encode({"exp": t + 100}, SECRET * 2, algorithm="HS384"), "invalid websocket jwt"),
        "none": (
            _b64(b'{"alg":"none"}') + "." + _b64(json.dumps({"exp": t + 100}).encode()) + ".",
            "invalid websocket jwt",
        ),
        "alg lower case": (_signed({"alg": "hs256"}, {"exp": t + 100}), "invalid websocket jwt"),
        "alg missing": (_signed({"typ": "JWT"}, {"exp": t + 100}), "invalid websocket jwt"),
        "alg twice": (_signed(b'{"alg":"HS256","alg":"HS256"}', {"exp": t + 100}), "invalid websocket jwt"),
        "header array": (_signed(b'["HS256"]', {"exp": t + 100}), "invalid websocket jwt"),
        "kid number": (_signed({"alg": "HS256", "kid": 5}, {"exp": t + 100}), "invalid websocket jwt"),
        "x5c number": (_signed({"alg": "HS256", "x5c": 5}, {"exp": t + 100}), "invalid websocket jwt"),
        "wrong key": (_signed({"alg": "HS256"}, {"exp": t + 100}, key="q" * 40), "invalid websocket jwt"),
        "malformed": ("abc", "invalid websocket jwt"),
        "four segments": (_jwt(exp=t + 100) + ".x", "invalid websocket jwt"),
        "empty signature": (_jwt(exp=t + 100).rpartition(".")[0] + ".", "invalid websocket jwt"),
        "dup exp": (_signed({"alg": "HS256"}, b'{"exp":1,"exp":1900000000}'), "invalid websocket jwt"),
        "payload array": (_signed({"alg": "HS256"}, b"[1]"), "invalid websocket jwt"),
        "payload NaN": (_signed({"alg": "HS256"}, b'{"exp":1900000000,"z":NaN}'), "invalid websocket jwt"),
        "payload trailing x": (_signed({"alg": "HS256"}, b'{"exp":1900000000}x'), "invalid websocket jwt"),
        "payload trailing space": (_signed({"alg": "HS256"}, b'{"exp":1900000000} '), None),
        "crit header": (_signed({"alg": "HS256", "crit": ["x"], "x": 1}, {"exp": t + 100}), None),
        "typ other": (_signed({"alg": "HS256", "typ": "foo"}, {"exp": t + 100}), None),
        "sub number, iat string": (_jwt(exp=t + 100, sub=5, iat="x"), None),
        "dup unknown claim": (_signed({"alg": "HS256"}, b'{"exp":1900000000,"z":1,"z":2}'), None),
    }
    cases["padded"] = (_padded(_jwt(exp=t + 100)), "invalid websocket jwt")
    cases["signature tweaked"] = (_tweaked_last_char(_jwt(exp=t + 100)), "invalid websocket jwt")
    cases["garbage in segment"] = (_jwt(exp=t + 100).replace(".", ".!", 1), "invalid websocket jwt")
    return cases


def _padded(token: str) -> str:
    return ".".join(part + "=" * (-len(part) % 4) for part in token.split("."))


def _tweaked_last_char(token: str) -> str:
    return token[:-1] + ("B" if token[-1] == "A" else chr(ord(token[-1]) ^ 1))


# For the cases without issuer/audience claims, the policy with neither configured:
_OPEN_CASES = {"crit header", "typ other", "sub number, iat string", "dup unknown claim", "payload trailing space"}


@pytest.mark.parametrize("name", sorted(_jwt_cases(NOW)))
def test_jwt_cases(name: str) -> None:
    token, body = _jwt_cases(NOW)[name]
    auth = SIGNED_OPEN if name in _OPEN_CASES else SIGNED
    assert _body(check_upgrade(auth, _bearer(token), NOW)) == body


def test_a_token_signed_with_the_untrimmed_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").write_text(f"  {SECRET}\n")
    auth = _parse(tmp_path, "--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s")
    assert check_upgrade(auth, _bearer(_jwt(exp=NOW)), NOW) is None
    untrimmed = _signed({"alg": "HS256"}, {"exp": NOW}, key=f"  {SECRET}\n")
    assert _body(check_upgrade(auth, _bearer(untrimmed), NOW)) == "invalid websocket jwt"


def test_a_pyjwt_token_is_accepted() -> None:
    token = jwt.encode({"exp": NOW + 5, "iss": "iss1", "aud": ["aud1"]}, SECRET, algorithm="HS256")
    assert check_upgrade(SIGNED, _bearer(token), NOW) is None


# ---------------------------------------------------------------- against the reference


def _ask(port: int, authorization: bytes | None) -> tuple[bytes, bytes]:
    """The reference's status line and body for one upgrade request."""
    request = (
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    if authorization is not None:
        request += b"Authorization: " + authorization + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + b"\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"content-length: (\d+)", head)
        while length and len(body) < int(length.group(1)):
            body += sock.recv(4096)
    return head.split(b"\r\n")[0], body


def _reference_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
    env["CODEX_HOME"] = str(home)
    return env


@pytest.fixture
def reference_ws(reference_binary: Path, tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> int:
        proc = subprocess.Popen(
            [str(reference_binary), "app-server", "--listen", "ws://127.0.0.1:0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_reference_env(tmp_path),
            cwd=tmp_path,
        )
        procs.append(proc)
        assert proc.stderr is not None
        for line in proc.stderr:
            found = re.search(rb"listening on: ws://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        raise AssertionError("the reference did not listen")

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def _ours(auth: WsAuth, authorization: bytes | None, now: float = NOW) -> tuple[bytes, bytes]:
    headers = [(b"host", b"x")] if authorization is None else [(b"host", b"x"), (b"authorization", authorization)]
    reply = check_upgrade(auth, headers, now)
    if reply is None:
        return b"HTTP/1.1 101 Switching Protocols", b""
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def test_capability_replies_match_the_reference(reference_ws: Any, tmp_path: Path) -> None:
    (tmp_path / "tok").write_text(f"  {TOKEN}\n")
    port = reference_ws("--ws-auth", "capability-token", "--ws-token-file", "tok")
    auth = _parse(tmp_path, "--ws-auth", "capability-token", "--ws-token-file", "tok")
    assert auth is not None
    values = [None, b"Bearer tok-123", b"bEaReR  tok-123 ", b"Bearer wrong", b"Basic x", b"Bearer", b"Bearer\tx"]
    for value in [*values, "Bearer é".encode()]:
        assert _ask(port, value) == _ours(auth, value), value


def test_jwt_replies_match_the_reference(reference_ws: Any, tmp_path: Path) -> None:
    """Every JWT case, timed from the real clock as the reference is (100 s of margin)."""
    (tmp_path / "s").write_text(SECRET)
    flags = ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s", "--ws-issuer", "iss1")
    port = reference_ws(*flags, "--ws-audience", "aud1")
    auth = _parse(tmp_path, *flags, "--ws-audience", "aud1")
    assert auth is not None
    now = time.time()
    cases = _jwt_cases(int(now))
    cases["expired"] = (_jwt(exp=int(now) - 100), "expired websocket jwt")
    cases["not yet"] = (_jwt(exp=int(now) + 900, nbf=int(now) + 100), "websocket jwt is not valid yet")
    for name, (token, _) in cases.items():
        value = b"Bearer " + token.encode()
        assert _ask(port, value) == _ours(auth, value, now), name


@pytest.mark.parametrize(
    "argv",
    [
        ("--ws-issuer", "x"),
        ("--ws-auth", "capability-token"),
        ("--ws-auth", "capability-token", "--ws-token-file", "t", "--ws-token-sha256", "a" * 64),
        ("--ws-auth", "capability-token", "--ws-token-sha256", "abc"),
        ("--ws-auth", "capability-token", "--ws-token-sha256", "a" * 64, "--ws-audience", "x"),
        ("--ws-auth", "capability-token", "--ws-token-file", "missing"),
        ("--ws-auth", "signed-bearer-token"),
        ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "short"),
        ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "empty"),
        ("--ws-auth", "signed-bearer-token", "--ws-shared-secret-file", "s", "--ws-token-sha256", "a" * 64),
    ],
)
def test_startup_errors_match_the_reference(reference_binary: Path, tmp_path: Path, argv: tuple[str, ...]) -> None:
    (tmp_path / "short").write_text("x" * 31)
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "s").write_text(SECRET)
    line = _reference_refusal(reference_binary, tmp_path, "ws://127.0.0.1:0", *argv)
    assert line == "Error: " + _startup_error(tmp_path, *argv)


def _reference_refusal(reference_binary: Path, tmp_path: Path, listen: str, *argv: str) -> str:
    """The ``Error: …`` line of a reference start that must be refused (exit 1)."""
    done = subprocess.run(
        [str(reference_binary), "app-server", "--listen", listen, *argv],
        input=b"", capture_output=True, env=_reference_env(tmp_path), cwd=tmp_path, timeout=30,
    )
    assert done.returncode == 1
    return next(text for text in done.stderr.decode().splitlines() if text.startswith("Error: "))


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "[::ffff:127.0.0.1]:0"])
def test_the_non_loopback_refusal_matches_the_reference(reference_binary: Path, tmp_path: Path, address: str) -> None:
    line = _reference_refusal(reference_binary, tmp_path, f"ws://{address}")
    host, _, port = address.rpartition(":")
    assert line == f"Error: {refuse_unauthenticated(host, int(port), None)}"
