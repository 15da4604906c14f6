"""WebSocket upgrade authentication (shared/spec/config.md §11.3-§11.4).

Pure code: the only I/O is reading the token or secret file once, at start-up
(`ws_auth_from_args`). The listener calls `check_upgrade` on every upgrade request and
writes the returned 401 response as is; health probes never come here.

Measured on codex-cli 0.169.0 (see tests/test_ws_auth.py for the byte-exact replies):
the first `Authorization` header counts, its value must be visible ASCII, the scheme is
split at the first space and matched case-insensitively, the token is trimmed. JWTs are
checked as the reference's `jsonwebtoken` does: strict unpadded base64url segments, a
header object whose `alg` is exactly `HS256`, the HMAC-SHA256 signature (PyJWT's
`HMACAlgorithm`), then the claims in the order exp, nbf, iss, aud.

`jwt.decode` itself is not used because it differs from the reference in ways a client
can see: it refuses `crit` headers and non-string `sub`/`jti`/`iat` claims, accepts
padded or garbage-laden base64 and float `exp`/`nbf`, lets a duplicated claim win silently,
checks `nbf` before `exp`, expires a token one second early (`exp <= now - leeway`, where the
reference has `now > exp + skew`), and refuses PEM-looking secrets.
"""

from __future__ import annotations

import argparse
import binascii
import functools
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from jwt.algorithms import HMACAlgorithm

CAPABILITY_TOKEN: Final = "capability-token"
SIGNED_BEARER_TOKEN: Final = "signed-bearer-token"
DEFAULT_MAX_CLOCK_SKEW_S: Final = 30
MIN_SIGNED_BEARER_SECRET_BYTES: Final = 32
I64_MAX: Final = 2**63 - 1
I64_MIN: Final = -(2**63)
U64_LIMIT: Final = 2**64

MISSING_TOKEN: Final = "missing websocket bearer token"
INVALID_HEADER: Final = "invalid authorization header"
INVALID_TOKEN: Final = "invalid websocket bearer token"
EXPIRED_JWT: Final = "expired websocket jwt"
NOT_YET_VALID_JWT: Final = "websocket jwt is not valid yet"
ISSUER_MISMATCH: Final = "websocket jwt issuer mismatch"
AUDIENCE_MISMATCH: Final = "websocket jwt audience mismatch"
INVALID_JWT: Final = "invalid websocket jwt"

# Rust's `str::trim` (Unicode White_Space), which is not Python's `str.strip()`.
_RUST_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")
_HEX: Final = re.compile(r"[0-9A-Fa-f]{64}")
# jsonwebtoken's `Header` fields that must be strings when present (null = absent).
_HEADER_STRINGS: Final = ("typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256")
_CLAIMS: Final = frozenset({"exp", "nbf", "iss", "aud"})
_HEADER_FIELDS: Final = frozenset({"alg", "jwk", "x5c", *_HEADER_STRINGS})


class WsAuthError(Exception):
    """A start-up error; `str()` is the text after `Error: ` (exit status 1)."""


@final
@dataclass(frozen=True, repr=False, eq=False)
class CapabilityTokenAuth:
    """`--ws-auth capability-token`: the SHA-256 digest of the one accepted token."""

    token_sha256: bytes

    def __repr__(self) -> str:
        return "CapabilityTokenAuth(token_sha256=<redacted>)"


@final
@dataclass(frozen=True, repr=False, eq=False)
class SignedBearerTokenAuth:
    """`--ws-auth signed-bearer-token`: HS256 JWTs signed with the shared secret."""

    shared_secret: bytes
    issuer: str | None = None
    audience: str | None = None
    max_clock_skew_seconds: int = DEFAULT_MAX_CLOCK_SKEW_S

    def __repr__(self) -> str:
        return (
            f"SignedBearerTokenAuth(shared_secret=<redacted>, issuer={self.issuer!r}, "
            f"audience={self.audience!r}, max_clock_skew_seconds={self.max_clock_skew_seconds})"
        )


WsAuth = CapabilityTokenAuth | SignedBearerTokenAuth


# ---------------------------------------------------------------- start-up flags


def _u64(text: str) -> int:
    """clap's `u64` value parser: digits only (a leading `-` is refused)."""
    if not text.isascii() or not text.isdigit() or int(text) >= U64_LIMIT:
        raise argparse.ArgumentTypeError(f"invalid value '{text}': expected an unsigned 64-bit integer")
    return int(text)


def add_ws_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the seven `--ws-*` flags of §11.4 to `parser` (all default to None)."""
    group = parser.add_argument_group("websocket authentication")
    group.add_argument("--ws-auth", choices=(CAPABILITY_TOKEN, SIGNED_BEARER_TOKEN), metavar="MODE")
    group.add_argument("--ws-token-file", metavar="PATH")
    group.add_argument("--ws-token-sha256", metavar="HEX")
    group.add_argument("--ws-shared-secret-file", metavar="PATH")
    group.add_argument("--ws-issuer", metavar="ISSUER")
    group.add_argument("--ws-audience", metavar="AUDIENCE")
    group.add_argument("--ws-max-clock-skew-seconds", type=_u64, metavar="SECONDS")


def ws_auth_from_args(namespace: argparse.Namespace, cwd: Path) -> WsAuth | None:
    """The auth policy for the parsed flags, files read now; None without `--ws-auth`.

    Raises WsAuthError with the reference's start-up text (checks in its order: flag
    combinations first, then the files).
    """
    return load_ws_auth(
        mode=namespace.ws_auth,
        token_file=namespace.ws_token_file,
        token_sha256=namespace.ws_token_sha256,
        shared_secret_file=namespace.ws_shared_secret_file,
        issuer=namespace.ws_issuer,
        audience=namespace.ws_audience,
        max_clock_skew_seconds=namespace.ws_max_clock_skew_seconds,
        cwd=cwd,
    )


def load_ws_auth(
    *,
    mode: str | None,
    cwd: Path,
    token_file: str | None = None,
    token_sha256: str | None = None,
    shared_secret_file: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
    max_clock_skew_seconds: int | None = None,
) -> WsAuth | None:
    """`ws_auth_from_args` without argparse (relative paths resolved against `cwd`)."""
    jwt_flags = (shared_secret_file, issuer, audience, max_clock_skew_seconds)
    token_flags = (token_file, token_sha256)
    if mode is None:
        if any(flag is not None for flag in (*token_flags, *jwt_flags)):
            raise WsAuthError(
                "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
            )
        return None
    if mode == CAPABILITY_TOKEN:
        if any(flag is not None for flag in jwt_flags):
            raise WsAuthError(
                "`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and "
                "`--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`"
            )
        return _capability_token(token_file, token_sha256, cwd)
    if mode == SIGNED_BEARER_TOKEN:
        if any(flag is not None for flag in token_flags):
            raise WsAuthError(
                "`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, "
                "not `signed-bearer-token`"
            )
        if shared_secret_file is None:
            raise WsAuthError("`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set")
        return _signed_bearer_token(_absolute(shared_secret_file, cwd), issuer, audience, max_clock_skew_seconds)
    raise WsAuthError(f"invalid value '{mode}' for '--ws-auth <MODE>'")


def _capability_token(token_file: str | None, token_sha256: str | None, cwd: Path) -> CapabilityTokenAuth:
    if token_file is not None and token_sha256 is not None:
        raise WsAuthError("`--ws-token-file` and `--ws-token-sha256` are mutually exclusive")
    if token_file is not None:
        token = _read_trimmed_secret(_absolute(token_file, cwd))
        return CapabilityTokenAuth(hashlib.sha256(token.encode()).digest())
    if token_sha256 is not None:
        digest = token_sha256.strip(_RUST_WHITESPACE)
        if _HEX.fullmatch(digest) is None:
            raise WsAuthError("--ws-token-sha256 must be a 64-character hex SHA-256 digest")
        return CapabilityTokenAuth(bytes.fromhex(digest))
    raise WsAuthError("`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set")


def _signed_bearer_token(
    path: str, issuer: str | None, audience: str | None, skew: int | None
) -> SignedBearerTokenAuth:
    secret = _read_trimmed_secret(path).encode()
    if len(secret) < MIN_SIGNED_BEARER_SECRET_BYTES:
        raise WsAuthError(
            f"signed websocket bearer secret {path} must be at least {MIN_SIGNED_BEARER_SECRET_BYTES} bytes"
        )
    skew = DEFAULT_MAX_CLOCK_SKEW_S if skew is None else skew
    if skew > I64_MAX:
        raise WsAuthError("websocket auth clock skew must fit in a signed 64-bit integer")
    return SignedBearerTokenAuth(secret, _normalize(issuer), _normalize(audience), skew)


def _normalize(value: str | None) -> str | None:
    trimmed = None if value is None else value.strip(_RUST_WHITESPACE)
    return trimmed or None


def _absolute(path: str, cwd: Path) -> str:
    """Made absolute against `cwd` and normalized lexically, as the reference prints it."""
    return os.path.normpath(os.path.join(cwd, path))


def _read_trimmed_secret(path: str) -> str:
    try:
        with open(path, "rb") as file:
            raw = file.read()
        text = raw.decode("utf-8")
    except OSError as exc:
        reason = f"{os.strerror(exc.errno)} (os error {exc.errno})" if exc.errno else str(exc.strerror)
        raise WsAuthError(f"failed to read websocket auth secret {path}: {reason}") from None
    except UnicodeDecodeError:
        raise WsAuthError(f"failed to read websocket auth secret {path}: stream did not contain valid UTF-8") from None
    trimmed = text.strip(_RUST_WHITESPACE)
    if not trimmed:
        raise WsAuthError(f"websocket auth secret {path} must not be empty")
    return trimmed


def refuse_unauthenticated(host: str, port: int, auth: WsAuth | None) -> str | None:
    """The §11.3 refusal (text after `Error: `) for a non-loopback bind without auth, else None.

    Only 127.0.0.0/8 and `::1` are loopback (`::ffff:127.0.0.1` is not, as in Rust).
    """
    if auth is not None:
        return None
    address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    if isinstance(address, ipaddress.IPv4Address):
        if address.is_loopback:
            return None
        shown = f"{address}:{port}"
    else:
        if address == ipaddress.IPv6Address("::1"):
            return None
        mapped = address.ipv4_mapped  # Rust prints these as `::ffff:a.b.c.d`
        shown = f"[{address}]:{port}" if mapped is None else f"[::ffff:{mapped}]:{port}"
    return (
        f"refusing to start non-loopback websocket listener {shown} without auth; "
        "configure `--ws-auth capability-token` or `--ws-auth signed-bearer-token`"
    )


# ---------------------------------------------------------------- the upgrade check


def check_upgrade(auth: WsAuth | None, headers: Sequence[tuple[bytes, bytes]], now: float) -> bytes | None:
    """None if the upgrade may proceed, else the complete 401 response (`now`: Unix seconds)."""
    if auth is None:
        return None
    failure = _failure(auth, headers, now)
    return None if failure is None else unauthorized_response(failure, now)


def unauthorized_response(message: str, now: float) -> bytes:
    """The reference's 401 reply, byte for byte (its `date` header is taken from `now`)."""
    body = message.encode()
    return (
        b"HTTP/1.1 401 Unauthorized\r\n"
        b"content-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\n"
        b"date: %s\r\n"
        b"\r\n%s"
    ) % (len(body), formatdate(now, usegmt=True).encode(), body)


def _failure(auth: WsAuth, headers: Sequence[tuple[bytes, bytes]], now: float) -> str | None:
    raw = next((value for name, value in headers if name.lower() == b"authorization"), None)
    if raw is None:
        return MISSING_TOKEN
    token = _bearer_token(raw)
    if token is None:
        return INVALID_HEADER
    if isinstance(auth, CapabilityTokenAuth):
        presented = hashlib.sha256(token.encode()).digest()
        return None if hmac.compare_digest(presented, auth.token_sha256) else INVALID_TOKEN
    return jwt_failure(auth, token, math.floor(now))


def _bearer_token(raw: bytes) -> str | None:
    """The trimmed token of `Bearer <token>`, or None for an invalid header."""
    if any(not (32 <= byte < 127 or byte == 9) for byte in raw):
        return None
    scheme, space, token = raw.decode("ascii").partition(" ")
    if not space or scheme.lower() != "bearer":
        return None
    return token.strip(_RUST_WHITESPACE) or None


# ---------------------------------------------------------------- signed bearer tokens


class _Invalid(Exception):
    """The token is not a well-formed HS256 JWT with well-typed claims."""


@functools.cache
def _hs256() -> HMACAlgorithm:
    """PyJWT's HS256, imported on the first JWT checked: PyJWT brings ``cryptography`` (tens of
    ms and several MiB) into every start otherwise, and most listeners never check a JWT."""
    from jwt.algorithms import HMACAlgorithm

    return HMACAlgorithm(HMACAlgorithm.SHA256)


def jwt_failure(auth: SignedBearerTokenAuth, token: str, now: int) -> str | None:
    """The 401 body for a JWT presented at Unix second `now`, or None if it is accepted."""
    try:
        exp, nbf, iss, aud = _verified_claims(token, auth.shared_secret)
    except _Invalid:
        return INVALID_JWT
    skew = auth.max_clock_skew_seconds
    if now > min(exp + skew, I64_MAX):
        return EXPIRED_JWT
    if nbf is not None and now < max(nbf - skew, I64_MIN):
        return NOT_YET_VALID_JWT
    if auth.issuer is not None and iss != auth.issuer:
        return ISSUER_MISMATCH
    if auth.audience is not None and not (aud == auth.audience or (isinstance(aud, list) and auth.audience in aud)):
        return AUDIENCE_MISMATCH
    return None


_Claims = tuple[int, int | None, str | None, str | list[str] | None]


def _verified_claims(token: str, secret: bytes) -> _Claims:
    segments = token.split(".")
    if len(segments) != 3:
        raise _Invalid
    header_b64, payload_b64, signature_b64 = segments
    header = _json_object(_b64decode(header_b64), _HEADER_FIELDS)
    if header.get("alg") != "HS256":
        raise _Invalid
    _check_header_types(header)
    signing_input = f"{header_b64}.{payload_b64}".encode()
    if not _hs256().verify(signing_input, secret, _b64decode(signature_b64)):
        raise _Invalid
    claims = _json_object(_b64decode(payload_b64), _CLAIMS)
    exp = claims.get("exp")
    if exp is None:
        raise _Invalid
    return _i64(exp), _optional_i64(claims.get("nbf")), _optional_str(claims.get("iss")), _audience(claims.get("aud"))


def _b64decode(segment: str) -> bytes:
    """Strict unpadded base64url, canonical trailing bits (Rust's `URL_SAFE_NO_PAD`)."""
    if _B64URL.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise _Invalid
    try:
        data = urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        raise _Invalid from None
    if urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise _Invalid
    return data


def _json_object(data: bytes, typed_fields: frozenset[str]) -> dict[str, object]:
    """A JSON object as serde reads it into a struct: a repeated *known* field is an error."""

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in items:
            if key in result and key in typed_fields:
                raise _Invalid
            result[key] = value
        return result

    def no_constants(_name: str) -> object:
        raise _Invalid

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Invalid from None
    if not isinstance(value, dict):
        raise _Invalid
    return value


def _check_header_types(header: dict[str, object]) -> None:
    for name in _HEADER_STRINGS:
        _optional_str(header.get(name))
    x5c = header.get("x5c")
    if x5c is not None and not (isinstance(x5c, list) and all(isinstance(item, str) for item in x5c)):
        raise _Invalid
    if header.get("jwk") is not None and not isinstance(header.get("jwk"), dict):
        raise _Invalid


def _i64(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not I64_MIN <= value <= I64_MAX:
        raise _Invalid
    return value


def _optional_i64(value: object) -> int | None:
    return None if value is None else _i64(value)


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid
    try:
        value.encode("utf-8")  # a lone surrogate escape is not a Rust String
    except UnicodeEncodeError:
        raise _Invalid from None
    return value


def _audience(value: object) -> str | list[str] | None:
    if isinstance(value, list):
        return [_str(item) for item in value]
    return _optional_str(value)


def _str(value: object) -> str:
    text = _optional_str(value)
    if text is None:
        raise _Invalid
    return text
