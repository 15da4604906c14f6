"""Frames in and out: classify an incoming JSON text as request / notification / response, and
write the reference's output shapes (no ``jsonrpc`` member, its member order, ``emittedAtMs``).

Classification follows the reference's untagged ``JSONRPCMessage``: a frame is a *request* when
``id`` is a string or a 64-bit integer, ``method`` a string and ``trace`` absent, null or a W3C
trace object; failing that, any object with a string ``method`` is a *notification* (so
``"id":null`` or a malformed ``trace`` makes a request a notification, which is then dropped);
then responses. Anything else is not a message.
"""

from __future__ import annotations

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
]

RequestId = str | int

_I64_MIN: Final = -(2**63)
_I64_MAX: Final = 2**63 - 1


class _Envelope(Struct):
    """Routing fields only; ``params`` stays raw bytes until the method is known."""

    id: Any = UNSET
    method: Any = UNSET
    params: Raw | UnsetType = UNSET
    trace: Any = UNSET
    result: Raw | UnsetType = UNSET
    error: Raw | UnsetType = UNSET


_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)
_ENC: Final = msgspec.json.Encoder()


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


def _valid_id(v: Any) -> bool:
    if isinstance(v, str):
        return True
    return isinstance(v, int) and not isinstance(v, bool) and _I64_MIN <= v <= _I64_MAX


def _valid_trace(v: Any) -> bool:
    if v is UNSET or v is None:
        return True
    if not isinstance(v, dict):
        return False
    return all(isinstance(v.get(k), (str, type(None))) for k in ("traceparent", "tracestate"))


def classify(data: bytes | str) -> Frame:
    try:
        env = _ENVELOPE.decode(data)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError too (e.g. an array)
        return NotAMessage(str(exc))
    method = env.method
    if isinstance(method, str):
        if env.id is not UNSET and _valid_id(env.id) and _valid_trace(env.trace):
            params = None if env.params is UNSET else bytes(env.params)
            return Request(env.id, method, params)
        return Notification(method)
    if env.id is not UNSET and _valid_id(env.id):
        if env.result is not UNSET:
            return Response(env.id, bytes(env.result), None)
        if env.error is not UNSET:
            return Response(env.id, None, bytes(env.error))
    return NotAMessage("data did not match any variant of untagged enum JSONRPCMessage")


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
