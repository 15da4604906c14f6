"""``$CODEX_HOME/auth.json``: its shapes, the reference's reading tolerance and its exact bytes.

Written by codex-cli 0.169.0 as pretty JSON (2-space indent, ``": "``, no trailing newline),
members in this order, absent optional members omitted, ``OPENAI_API_KEY`` and
``tokens.account_id`` always present (``null`` when unset), non-ASCII as raw UTF-8, control
characters escaped as ``\\n``/``\\u0001`` (the escaping msgspec shares with serde_json). Members
it does not know are accepted on read and dropped on the next write (observed: a refresh
rewrote a file with ``extra_top``/``tokens.extra_token_member`` without them).

Read as the reference reads (each point observed on the binary):

* strict JSON (no BOM, nothing after the object but whitespace, UTF-8, no lone surrogates);
  a known member given twice, or of the wrong type, makes the whole file unreadable;
* ``auth_mode`` is one of the eight wire ``AuthMode`` strings, exactly (``apiKey`` is refused);
* ``tokens`` needs ``id_token`` (a JWT whose claims parse, :mod:`auth_jwt`), ``access_token``
  (any string) and ``refresh_token``; ``oauth_provenance`` needs both of its members;
* ``last_refresh`` is RFC 3339 with an offset (``T``, ``t`` or a space; ``Z``/``z``; any
  fraction; second 60) and is written back in UTC, with 0, 3, 6 or 9 fraction digits.

The array forms of these objects that the reference also reads: :mod:`auth_positional`.

An unreadable file means "no credentials" to callers; it is never rewritten or removed by a read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final, Literal, final

import msgspec
from chamberlain.store.auth_jwt import IdTokenClaims, JsonObject, JwtError, json_object, jwt_expiration, parse_id_token
from chamberlain.store.auth_positional import PositionalFormUnknown, objectify
from chamberlain.store.auth_secret import Secret
from msgspec import UNSET, UnsetType

__all__ = [
    "AuthDotJson",
    "AuthFileInvalid",
    "AuthMode",
    "BedrockAccessKeys",
    "BedrockApiKey",
    "OAuthProvenance",
    "Timestamp",
    "TokenData",
    "decode_auth",
    "encode_auth_compact",
    "encode_auth_file",
]

AuthMode = Literal[
    "apikey", "chatgpt", "chatgptAuthTokens", "headers", "agentIdentity", "personalAccessToken",
    "bedrockApiKey", "bedrockAccessKeys",
]


class AuthFileInvalid(ValueError):
    """auth.json (or a keyring value) the reference would not read."""


@final
class Timestamp:
    """A UTC instant with nanoseconds (Python's datetime stops at microseconds). ``nanos`` is in
    ``[0, 2e9)``: a leap second keeps ``:60`` as ``:59`` plus 1e9 ns, as chrono does."""

    __slots__ = ("nanos", "seconds")

    def __init__(self, seconds: int, nanos: int = 0) -> None:
        self.seconds = seconds
        self.nanos = nanos

    def _key(self) -> tuple[int, int]:
        return (self.seconds, self.nanos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and self._key() == other._key()

    def __lt__(self, other: Timestamp) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Timestamp({self.format()!r})"

    @classmethod
    def now(cls) -> Timestamp:
        import time

        ns = time.time_ns()
        return cls(ns // 1_000_000_000, ns % 1_000_000_000)

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise AuthFileInvalid(f"invalid RFC 3339 timestamp {text!r}")
        year, month, day, hour, minute, second, frac, zone = match.groups()
        leap = second == "60"
        try:
            base = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second),
                               tzinfo=dt.UTC)
        except ValueError as exc:
            raise AuthFileInvalid(f"invalid RFC 3339 timestamp {text!r}: {exc}") from None
        offset = 0
        if zone not in ("Z", "z"):
            digits = zone[1:].replace(":", "")
            offset = (int(digits[:2]) * 60 + int(digits[2:])) * 60 * (-1 if zone[0] == "-" else 1)
        nanos = int((frac[1:] + "000000000")[:9]) if frac else 0
        return cls(int(base.timestamp()) - offset, nanos + (1_000_000_000 if leap else 0))

    def format(self) -> str:
        """RFC 3339 in UTC with a ``Z``, fraction digits as chrono's ``AutoSi``."""
        extra, nanos = divmod(self.nanos, 1_000_000_000)
        stamp = dt.datetime.fromtimestamp(self.seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if extra:
            stamp = stamp[:-2] + "60"
        if nanos == 0:
            frac = ""
        elif nanos % 1_000_000 == 0:
            frac = f".{nanos // 1_000_000:03d}"
        elif nanos % 1_000 == 0:
            frac = f".{nanos // 1_000:06d}"
        else:
            frac = f".{nanos:09d}"
        return f"{stamp}{frac}Z"


_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})", re.ASCII
)


class OAuthProvenance(msgspec.Struct, frozen=True):
    """Where a ChatGPT login was made: refresh and revoke go back there (spec §14.1)."""

    issuer: str
    client_id: str


class TokenData(msgspec.Struct, frozen=True, omit_defaults=True):
    """``tokens`` of a managed ChatGPT login."""

    id_token: Secret
    access_token: Secret
    refresh_token: Secret
    oauth_provenance: OAuthProvenance | None = None
    login_owner_id: str | None = None
    #: always written; UNSET only while decoding a file without it
    account_id: str | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        if self.account_id is UNSET:
            msgspec.structs.force_setattr(self, "account_id", None)

    def id_claims(self) -> IdTokenClaims:
        """The id token's claims (validated when the file was read)."""
        return parse_id_token(self.id_token.reveal())

    def access_expiration(self) -> int | None:
        """The access token's ``exp``; None when it has none or is not a JWT (spec §14.2)."""
        try:
            return jwt_expiration(self.access_token.reveal())
        except JwtError:
            return None


class BedrockApiKey(msgspec.Struct, frozen=True):
    """``bedrock_api_key`` of an ``amazonBedrock`` login."""

    api_key: Secret
    region: str


class BedrockAccessKeys(msgspec.Struct, frozen=True, omit_defaults=True):
    """``bedrock_access_keys`` of an ``amazonBedrockAccessKeys`` login (no session token: the
    member is omitted)."""

    access_key_id: Secret
    secret_access_key: Secret
    session_token: Secret | None = None


class AuthDotJson(msgspec.Struct, frozen=True, omit_defaults=True, rename={"openai_api_key": "OPENAI_API_KEY"}):
    """The whole file (also the keyring value, compact)."""

    auth_mode: AuthMode | None = None
    #: always written; UNSET only while decoding a file without it
    openai_api_key: Secret | UnsetType | None = UNSET
    tokens: TokenData | None = None
    last_refresh: Timestamp | None = None
    bedrock_api_key: BedrockApiKey | None = None
    bedrock_access_keys: BedrockAccessKeys | None = None
    agent_identity: Secret | None = None
    personal_access_token: Secret | None = None

    def __post_init__(self) -> None:
        if self.openai_api_key is UNSET:
            msgspec.structs.force_setattr(self, "openai_api_key", None)

    @property
    def api_key(self) -> Secret | None:
        key = self.openai_api_key
        return None if isinstance(key, UnsetType) else key

    def resolved_mode(self) -> AuthMode:
        """``auth_mode``, or for a file without it: a Bedrock mode when its member is stored
        (even beside an ``OPENAI_API_KEY``; observed), ``apikey`` when a key is stored, else
        ``chatgpt`` (spec §13.1)."""
        if self.auth_mode is not None:
            return self.auth_mode
        if self.bedrock_api_key is not None:
            return "bedrockApiKey"
        if self.bedrock_access_keys is not None:
            return "bedrockAccessKeys"
        return "apikey" if self.api_key is not None else "chatgpt"

    @classmethod
    def for_api_key(cls, key: Secret) -> AuthDotJson:
        """What an ``apiKey`` login writes."""
        return cls(auth_mode="apikey", openai_api_key=key)

    @classmethod
    def for_bedrock(cls, credentials: BedrockApiKey | BedrockAccessKeys) -> AuthDotJson:
        """What an ``amazonBedrock`` / ``amazonBedrockAccessKeys`` login writes."""
        if isinstance(credentials, BedrockApiKey):
            return cls(auth_mode="bedrockApiKey", openai_api_key=None, bedrock_api_key=credentials)
        return cls(auth_mode="bedrockAccessKeys", openai_api_key=None, bedrock_access_keys=credentials)


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return obj.reveal()
    if isinstance(obj, Timestamp):
        return obj.format()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def _dec_hook(kind: type, obj: Any) -> Any:
    if kind is Secret and isinstance(obj, str):
        return Secret(obj)
    if kind is Timestamp and isinstance(obj, str):
        try:
            return Timestamp.parse(obj)
        except AuthFileInvalid as exc:
            raise ValueError(str(exc)) from None
    raise TypeError(f"expected a string for {kind.__name__}")


_DECODER: Final = msgspec.json.Decoder(AuthDotJson, dec_hook=_dec_hook)
_ENCODER: Final = msgspec.json.Encoder(enc_hook=_enc_hook)
_KNOWN_TOP: Final = frozenset(f.encode_name for f in msgspec.structs.fields(AuthDotJson))
_KNOWN_TOKENS: Final = frozenset(f.encode_name for f in msgspec.structs.fields(TokenData))
_KNOWN_NESTED: Final = frozenset(
    f.encode_name
    for kind in (OAuthProvenance, BedrockApiKey, BedrockAccessKeys)
    for f in msgspec.structs.fields(kind)
)


def decode_auth(data: bytes) -> AuthDotJson:
    """Parse auth.json bytes (or a keyring value). Raises AuthFileInvalid."""
    try:
        auth = _DECODER.decode(data)
    except msgspec.ValidationError as exc:  # (a DecodeError subclass: first)
        auth = _decode_positional(data, exc)
    except msgspec.DecodeError as exc:
        raise AuthFileInvalid(str(exc)) from None
    _check_duplicates(data)
    if auth.tokens is not None:
        try:
            auth.tokens.id_claims()
        except JwtError as exc:
            raise AuthFileInvalid(f"tokens.id_token: {exc}") from None
    return auth


def _decode_positional(data: bytes, error: msgspec.ValidationError) -> AuthDotJson:
    """The file again, with the array forms the reference reads (:mod:`auth_positional`)."""
    try:
        plain, changed = objectify(msgspec.json.decode(data))
    except PositionalFormUnknown as exc:
        raise AuthFileInvalid(str(exc)) from None
    if not changed:
        raise AuthFileInvalid(str(error)) from None
    try:
        return msgspec.convert(plain, AuthDotJson, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise AuthFileInvalid(str(exc)) from None


def _repeats_known(obj: Any, known: frozenset[str]) -> bool:
    return isinstance(obj, JsonObject) and bool(obj.repeated & known)


def _check_duplicates(data: bytes) -> None:
    """A known member given twice is an error to the reference (msgspec keeps the last one);
    repeats inside unknown members are not (observed)."""
    if not any(data.count(b'"' + name.encode() + b'"') > 1 for name in _KNOWN_TOP | _KNOWN_TOKENS | _KNOWN_NESTED):
        return  # the common case: no known name even appears twice
    import json

    try:
        top, _ = objectify(json.loads(data, object_pairs_hook=json_object))
    except (ValueError, PositionalFormUnknown) as exc:  # pragma: no cover - decoded once already
        raise AuthFileInvalid(str(exc)) from None
    tokens = top.get("tokens")
    nested = [
        top.get("bedrock_api_key"),
        top.get("bedrock_access_keys"),
        tokens.get("oauth_provenance") if isinstance(tokens, dict) else None,
    ]
    if (
        _repeats_known(top, _KNOWN_TOP)
        or _repeats_known(tokens, _KNOWN_TOKENS)
        or any(_repeats_known(obj, _KNOWN_NESTED) for obj in nested)
    ):
        raise AuthFileInvalid("duplicate member in auth.json")


def encode_auth_file(auth: AuthDotJson) -> bytes:
    """The exact bytes codex-cli 0.169.0 writes to auth.json."""
    return msgspec.json.format(_ENCODER.encode(auth), indent=2)


def encode_auth_compact(auth: AuthDotJson) -> bytes:
    """The keyring value: the same object, compact."""
    return _ENCODER.encode(auth)
