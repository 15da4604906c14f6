"""Frames in and out: classify an incoming JSON text as request / notification / response, and
write the reference's output shapes (no ``jsonrpc`` member, its member order, ``emittedAtMs``).

Classification follows the reference's untagged ``JSONRPCMessage`` (serde, ``arbitrary_precision``):
a frame is a *request* when ``id`` is a string or a 64-bit integer, ``method`` a string and
``trace`` absent, null, a W3C trace object or a number serde keeps as text (a float, or an integer
beyond 64 bits); failing that, any object with a string ``method`` is a *notification* (so
``"id":null`` or a malformed ``trace`` makes a request a notification, which is then dropped);
then responses. Anything else is not a message. A member that occurs twice fails each variant
that has it as a field, as serde's derived structs do.

``classify`` never raises: a frame that is not UTF-8, nests 128 or more arrays/objects (serde's
recursion limit, counted over the whole frame), or has numbers beyond any range in its routing
members is a ``NotAMessage`` or a request whose raw ``params`` is handed on undecoded.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Final

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

__all__ = [
    "RequestId",
    "Request",
    "Notification",
    "Response",
    "NotAMessage",
    "classify",
    "encode_result",
    "encode_error",
    "encode_notification",
    "encode_request",
    "RECURSION_LIMIT",
    "NOT_UTF8",
]

RequestId = str | int

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1
_U64_MAX: Final = 2**64 - 1
#: serde_json's nesting limit: opening the 128th array/object of a frame is an error.
RECURSION_LIMIT: Final = 128
#: The reason given for a frame that is not UTF-8 (the reference's text for its stdin).
NOT_UTF8: Final = "stream did not contain valid UTF-8"
_NO_VARIANT: Final = "data did not match any variant of untagged enum JSONRPCMessage"


class _Envelope(Struct):
    """Routing fields only; ``params`` stays raw bytes until the method is known."""

    id: Any = UNSET
    method: Any = UNSET
    params: Raw | UnsetType = UNSET
    trace: Any = UNSET
    result: Raw | UnsetType = UNSET
    error: Raw | UnsetType = UNSET


class _RawEnvelope(Struct):
    """The same members, all raw: for frames whose routing members hold numbers beyond any range."""

    id: Raw | UnsetType = UNSET
    method: Raw | UnsetType = UNSET
    params: Raw | UnsetType = UNSET
    trace: Raw | UnsetType = UNSET
    result: Raw | UnsetType = UNSET
    error: Raw | UnsetType = UNSET


_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)
_RAW_ENVELOPE: Final = msgspec.json.Decoder(_RawEnvelope)
_ENC: Final = msgspec.json.Encoder()


class _BigNumber:
    """A number msgspec cannot hold (``1e400``, 5,000 digits); serde keeps it as text."""


_BIG: Final = _BigNumber()


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    method: str
    #: raw JSON of ``params``; None when the member was absent.
    params: bytes | None


@dataclass(frozen=True, slots=True)
class Notification:
    method: str


@dataclass(frozen=True, slots=True)
class Response:
    id: RequestId
    result: bytes | None
    error: bytes | None


@dataclass(frozen=True, slots=True)
class NotAMessage:
    """Not one of the four shapes; ``reason`` is logged as a warning, nothing is answered."""

    reason: str


Frame = Request | Notification | Response | NotAMessage

# -- frame-wide checks (run before the envelope is decoded) ----------------------------------------

_TOKEN: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'[]{}"\\')
_UNIFORM: Final = bytes.maketrans(b"{}", b"[]")
_OPENERS: Final = frozenset(b"[{")
_CLOSERS: Final = frozenset(b"]}")


def _may_be_too_deep(data: bytes) -> bool:
    """Cheap and exact in the common case: brackets outside strings, strings removed in C."""
    if len(data) < RECURSION_LIMIT:
        return False
    skeleton = data.translate(None, _NOT_STRUCTURE)
    if b"\\" in skeleton:  # drop escaped backslashes and quotes so every quote left delimits a string
        skeleton = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    # A string without brackets becomes two adjacent quotes; removing them keeps every other
    # bracket's inside/outside status (quotes are indistinguishable); backslashes left escape letters.
    skeleton = skeleton.replace(b"\\", b"").replace(b'""', b"")
    if b'"' in skeleton:
        return True  # brackets inside strings: let the exact scan decide
    skeleton = skeleton.translate(_UNIFORM)
    if skeleton.count(b"[") < RECURSION_LIMIT:
        return False
    rounds = 0  # each round removes the innermost pairs: a balanced skeleton empties in depth rounds
    while b"[]" in skeleton and rounds < RECURSION_LIMIT:
        skeleton = skeleton.replace(b"[]", b"")
        rounds += 1
    return rounds + skeleton.count(b"[") >= RECURSION_LIMIT


def _recursion_column(data: bytes) -> int | None:
    """1-based column of the bracket that opens the 128th nesting level, as serde reports it;
    None when the frame stays below the limit (or breaks the grammar before reaching it)."""
    if not _may_be_too_deep(data):
        return None
    depth = 0
    for match in _TOKEN.finditer(data):
        char = data[match.start()]
        if char in _OPENERS:
            depth += 1
            if depth >= RECURSION_LIMIT:
                return match.start() + 1
        elif char in _CLOSERS:
            depth -= 1
            if depth <= 0:  # the top-level value ended: what follows is a syntax error of its own
                return None
    return None


def _not_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


#: Below this size a params value is simply counted with the rest of the frame, in bytes.
_COUNT_INSIDE_BYTES: Final = 4096


def _without(data: bytes, raw: Raw) -> bytes:
    """``data`` minus the text of a large array/object member ``raw`` (where it first occurs)."""
    if len(raw) <= _COUNT_INSIDE_BYTES or bytes(memoryview(raw)[:1]) not in (b"{", b"["):
        return data
    value = bytes(raw)
    head = value[:256]
    start = data.find(head)
    while start >= 0 and not data.startswith(value, start):
        start = data.find(head, start + 1)
    return data if start < 0 else data[:start] + data[start + len(value):]


def _zero(_text: str) -> int:
    return 0


def _duplicated_members(data: bytes, env: _Envelope | _RawEnvelope) -> frozenset[str]:
    """Routing members that occur more than once at the top level. Rare: the exact (slow) check
    runs only when a count says it is possible. A large ``params`` is left out of the count (a
    top-level key is never inside a member's value)."""
    outside = data if env.params is UNSET else _without(data, env.params)
    if (
        b"\\u" not in outside
        and outside.count(b'"id"') <= 1
        and outside.count(b'"method"') <= 1
        and outside.count(b'"params"') <= 1
        and (env.trace is UNSET or outside.count(b'"trace"') <= 1)
        and (env.result is UNSET or outside.count(b'"result"') <= 1)
        and (env.error is UNSET or outside.count(b'"error"') <= 1)
    ):
        return frozenset()
    try:
        pairs = json.loads(data, object_pairs_hook=list, parse_int=_zero, parse_float=_zero, parse_constant=_zero)
    except ValueError:
        return frozenset()
    seen: set[str] = set()
    dups: set[str] = set()
    for key, _ in pairs:
        (dups if key in seen else seen).add(key)
    return frozenset(dups)


# -- the envelope ---------------------------------------------------------------------------------


def _valid_id(v: Any) -> bool:
    if isinstance(v, str):
        return True
    return isinstance(v, int) and not isinstance(v, bool) and _I64_MIN <= v <= _I64_MAX


def _valid_trace(v: Any) -> bool:
    if v is UNSET or v is None or v is _BIG or isinstance(v, float):
        return True  # serde's arbitrary-precision numbers arrive as a map: an empty trace object
    if isinstance(v, int) and not isinstance(v, bool):
        return not _I64_MIN <= v <= _U64_MAX
    if not isinstance(v, dict):
        return False
    return all(isinstance(v.get(k), (str, type(None))) for k in ("traceparent", "tracestate"))


def _lenient(raw: Raw | UnsetType) -> Any:
    if raw is UNSET:
        return UNSET
    try:
        return msgspec.json.decode(raw)
    except msgspec.ValidationError:  # a number beyond any range somewhere in this member
        if bytes(memoryview(raw)[:1]) == b"{":
            return {k: _lenient(v) for k, v in msgspec.json.decode(raw, type=dict[str, Raw]).items()}
        return _BIG


_REQUEST_FIELDS: Final = frozenset({"id", "method", "params", "trace"})
_NOTIFICATION_FIELDS: Final = frozenset({"method", "params"})


def _variant(env: _Envelope | _RawEnvelope, id_: Any, method: Any, trace: Any, dups: frozenset[str]) -> Frame:
    if isinstance(method, str):
        if _valid_id(id_) and _valid_trace(trace) and not dups & _REQUEST_FIELDS:
            return Request(id_, method, None if env.params is UNSET else bytes(env.params))
        if not dups & _NOTIFICATION_FIELDS:
            return Notification(method)
    if _valid_id(id_) and "id" not in dups:
        if env.result is not UNSET and "result" not in dups:
            return Response(id_, bytes(env.result), None)
        if env.error is not UNSET and "error" not in dups:
            return Response(id_, None, bytes(env.error))
    return NotAMessage(_NO_VARIANT)


def classify(data: bytes | str) -> Frame:
    """What the frame is; never raises (a frame that is no message is a ``NotAMessage``)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            return NotAMessage(NOT_UTF8)
    elif _not_utf8(data):
        return NotAMessage(NOT_UTF8)
    column = _recursion_column(data)
    if column is not None:
        return NotAMessage(f"recursion limit exceeded at line 1 column {column}")
    try:
        env = _ENVELOPE.decode(data)
    except msgspec.ValidationError:  # not an object, or a routing member beyond any number range
        return _classify_raw(data)
    except msgspec.DecodeError as exc:
        return NotAMessage(str(exc))
    except RecursionError:  # cannot happen below the limit checked above; kept as a last guard
        return NotAMessage("recursion limit exceeded")
    return _variant(env, env.id, env.method, env.trace, _duplicated_members(data, env))


def _classify_raw(data: bytes) -> Frame:
    try:
        env = _RAW_ENVELOPE.decode(data)
    except msgspec.DecodeError:
        return NotAMessage(_NO_VARIANT)
    return _variant(env, _lenient(env.id), _lenient(env.method), _lenient(env.trace), _duplicated_members(data, env))


def encode_result(request_id: RequestId, result: Any) -> bytes:
    """``{"id":…,"result":…}``; ``result`` may be a Struct, builtins, or pre-encoded ``Raw``."""
    return b'{"id":' + _ENC.encode(request_id) + b',"result":' + _ENC.encode(result) + b"}"


def encode_error(request_id: RequestId, code: int, message: str, data: Any | None = None) -> bytes:
    """``{"error":{"code":…,"data":…,"message":…},"id":…}``; ``data`` omitted when None."""
    parts = [b'{"error":{"code":', str(code).encode()]
    if data is not None:
        parts += [b',"data":', _ENC.encode(data)]
    parts += [b',"message":', _ENC.encode(message), b'},"id":', _ENC.encode(request_id), b"}"]
    return b"".join(parts)


def encode_notification(method: str, params: Any, *, now_ms: int | None = None) -> bytes:
    """``{"method":…,"params":…,"emittedAtMs":<unix ms>}``."""
    ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    return (
        b'{"method":' + _ENC.encode(method) + b',"params":' + _ENC.encode(params)
        + b',"emittedAtMs":' + str(ms).encode() + b"}"
    )


def encode_request(request_id: int, method: str, params: Any) -> bytes:
    """Server → client request: ``{"method":…,"id":…,"params":…}``."""
    return (
        b'{"method":' + _ENC.encode(method) + b',"id":' + str(request_id).encode()
        + b',"params":' + _ENC.encode(params) + b"}"
    )
