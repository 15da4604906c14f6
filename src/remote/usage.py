"""The backend's usage and reset-credit payloads (spec account.md §9.1) read as the reference reads
them, and mapped to the ``account/rateLimits/read`` result (§9.2).

``parse_usage`` raises ``DecodeError`` with serde's wording and position, as probed on 0.169.0: the
reference decodes the usage body through a buffered (flattened) struct, so an error that is not a
JSON syntax error is reported at the end of the top-level value (``missing field `allowed` at
line 1 column 300``), except inside ``additional_rate_limits``, whose entries are each buffered
and so reported at the end of their entry; a number with a fraction reads as serde_json's
arbitrary-precision ``map`` there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from chamberlain.protocol import account as acct
from chamberlain.serde_text import missing_field

from .claims import PLAN_TYPES
from .serde_json_text import DecodeError, Node, check_trailing, load, locate, unexpected

__all__ = ["parse_reset_credits", "parse_usage", "rate_limits_response"]

#: ``rate_limit_reached_type.type`` values the reference knows; others read as null.
REACHED_TYPES: Final = frozenset({
    "rate_limit_reached", "workspace_owner_credits_depleted", "workspace_member_credits_depleted",
    "workspace_owner_usage_limit_reached", "workspace_member_usage_limit_reached",
})
_RESET_TYPES: Final = {"codex_rate_limits": "codexRateLimits"}
_RESET_STATUSES: Final = frozenset({"available", "redeeming", "redeemed"})
_TOP_STRUCT: Final = "struct RateLimitStatusWithResetCredits"

#: A check reads a located value; ``direct`` says serde read it straight from the text (its
#: errors carry their own position) rather than from the buffered copy (positioned at the end).
Check = Callable[[Node, bool], Any]


class _Invalid(Exception):
    """A schema error at ``index`` (None: at the end of the top-level value, the buffered case)."""

    def __init__(self, message: str, index: int | None) -> None:
        super().__init__(message)
        self.index = index


def _type_error(node: Node, direct: bool, expected: str) -> _Invalid:
    if not direct:
        return _Invalid(f"invalid type: {unexpected(node.value)}, expected {expected}", None)
    # serde refuses a map or sequence at its opening character, a scalar once read
    at = node.start if node.pairs is not None or node.items is not None else node.end
    return _Invalid(f"invalid type: {unexpected(node.value, buffered=False)}, expected {expected}", at)


# --- value checks, each returning the checked value -------------------------------------------


def _bool(node: Node, direct: bool) -> bool:
    if not isinstance(node.value, bool):
        raise _type_error(node, direct, "a boolean")
    return node.value


def _str(node: Node, direct: bool) -> str:
    if not isinstance(node.value, str):
        raise _type_error(node, direct, "a string")
    return node.value


def _variant(node: Node, direct: bool) -> str:
    """An enum with a catch-all variant: any string."""
    if not isinstance(node.value, str):
        raise _type_error(node, direct, "string or map")
    return node.value


def _integer(bits: int) -> Check:
    name, low, high = f"i{bits}", -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def read(node: Node, direct: bool) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(node, direct, name)
        if not low <= value <= high:
            raise _Invalid(f"invalid value: integer `{value}`, expected {name}", node.end if direct else None)
        return value

    return read


_i32: Final = _integer(32)
_i64: Final = _integer(64)


def _timestamp(node: Node, direct: bool) -> int:
    """An RFC 3339 date-time, as Unix seconds."""
    text = _str(node, direct)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid("input contains invalid characters", node.end if direct else None) from None
    if when.tzinfo is None:
        raise _Invalid("premature end of input", node.end if direct else None)
    return int(when.timestamp())


def _optional(check: Check) -> Check:
    """``null`` (or, in `_struct`, absence) reads as None."""
    return lambda node, direct: None if node.value is None else check(node, direct)


def _list(check: Check) -> Check:
    def read(node: Node, direct: bool) -> list[Any]:
        if node.items is None:
            raise _type_error(node, direct, "a sequence")
        return [check(item, direct) for item in node.items]

    return read


def _struct(name: str, fields: dict[str, tuple[Check, bool]]) -> Check:
    """A serde struct: members checked in document order (a repeated known member is a duplicate
    field), then the first absent required member in declaration order; unknown members ignored."""

    def read(node: Node, direct: bool) -> dict[str, Any]:
        if node.pairs is None:
            raise _type_error(node, direct, f"struct {name}")
        out: dict[str, Any] = {}
        for key, key_end, item in node.pairs:
            spec = fields.get(key)
            if spec is None:
                continue
            if key in out:
                raise _Invalid(f"duplicate field `{key}`", key_end if direct else None)
            out[key] = spec[0](item, direct)
        for key, (_check, required) in fields.items():
            if key not in out:
                if required:
                    raise _Invalid(missing_field(key), node.end if direct else None)
                out[key] = None
        return out

    return read


_WINDOW: Final = _struct("RateLimitWindowSnapshot", {
    "used_percent": (_i32, True), "limit_window_seconds": (_i32, True),
    "reset_after_seconds": (_i32, True), "reset_at": (_i32, True),
})
_DETAILS: Final = _struct("RateLimitStatusDetails", {
    "allowed": (_bool, True), "limit_reached": (_bool, True),
    "primary_window": (_optional(_WINDOW), False), "secondary_window": (_optional(_WINDOW), False),
})
_CREDITS: Final = _struct("CreditStatusDetails", {
    "has_credits": (_bool, True), "unlimited": (_bool, True), "balance": (_optional(_str), False),
})
_ADDITIONAL_ENTRY: Final = _struct("AdditionalRateLimitDetails", {
    "limit_name": (_str, True), "metered_feature": (_str, True), "rate_limit": (_optional(_DETAILS), False),
})
_REACHED: Final = _struct("RateLimitReachedType", {"type": (_variant, True)})
#: The members the reference reads through its buffered (flattened) copy of the body.
_BUFFERED: Final = _struct(_TOP_STRUCT.removeprefix("struct "), {
    "plan_type": (_variant, True),
    "rate_limit": (_optional(_DETAILS), False),
    "credits": (_optional(_CREDITS), False),
    "rate_limit_reached_type": (_optional(_REACHED), False),
})


def _additional(node: Node) -> list[dict[str, Any]] | None:
    """``additional_rate_limits`` as the reference reads it (observed): the list straight from the
    text, each entry through a buffered copy, so an entry's error lies at the end of that entry."""
    if node.value is None:
        return None
    if node.items is None:
        at = node.start if node.pairs is not None else node.end
        raise _Invalid(f"invalid type: {unexpected(node.value, buffered=False)}, expected a sequence", at)
    entries = []
    for item in node.items:
        try:
            entries.append(_ADDITIONAL_ENTRY(item, False))
        except _Invalid as exc:
            raise _Invalid(str(exc), item.end if exc.index is None else exc.index) from None
    return entries


def _payload(node: Node, direct: bool) -> dict[str, Any]:
    """The usage payload: ``additional_rate_limits`` is read while the object is scanned (so its
    errors come first, at their own position), the other members afterwards from the buffer."""
    if node.pairs is None:
        raise _type_error(node, False, _TOP_STRUCT)
    additional: Any = None
    seen = False
    for key, key_end, item in node.pairs:
        if key == "additional_rate_limits":
            if seen:
                raise _Invalid("duplicate field `additional_rate_limits`", key_end)
            additional, seen = _additional(item), True
    out: dict[str, Any] = _BUFFERED(node, False)
    out["additional_rate_limits"] = additional
    return out


_RESET_CREDIT: Final = _struct("RateLimitResetCreditDetails", {
    "id": (_str, True), "reset_type": (_variant, True), "status": (_variant, True),
    "granted_at": (_timestamp, True), "expires_at": (_optional(_timestamp), False),
    "title": (_optional(_str), False), "description": (_optional(_str), False),
})
_RESET_CREDITS: Final = _struct("RateLimitResetCreditsDetails", {
    "credits": (_list(_RESET_CREDIT), True), "available_count": (_i64, True),
})


def _decode(body: str, check: Check, struct: str, direct: bool) -> dict[str, Any]:
    value, end = load(body)
    start = len(body) - len(body.lstrip(" \t\n\r"))
    if isinstance(value, list):  # serde refuses a sequence before reading it
        raise DecodeError(f"invalid type: sequence, expected {struct}", start)
    try:
        result: dict[str, Any] = check(locate(body, start), direct)
    except _Invalid as exc:
        raise DecodeError(str(exc), end if exc.index is None else exc.index) from None
    check_trailing(body, end)
    return result


def parse_usage(body: str) -> dict[str, Any]:
    """The checked usage payload (plain dicts of the §9.1 members); raises ``DecodeError``."""
    return _decode(body, _payload, _TOP_STRUCT, False)


def parse_reset_credits(body: str) -> acct.RateLimitResetCredits:
    """The reset-credits answer as the result's ``rateLimitResetCredits``; raises ``DecodeError``."""
    data = _decode(body, _RESET_CREDITS, "struct RateLimitResetCreditsDetails", True)
    credits = [
        {
            "id": c["id"],
            "resetType": _RESET_TYPES.get(c["reset_type"], "unknown"),
            "status": c["status"] if c["status"] in _RESET_STATUSES else "unknown",
            "grantedAt": c["granted_at"],
            "expiresAt": c["expires_at"],
            "title": c["title"],
            "description": c["description"],
        }
        for c in data["credits"]
    ]
    return acct.RateLimitResetCredits(available_count=data["available_count"], credits=credits)


# --- mapping (§9.2) -----------------------------------------------------------------------------


def _backend_plan(raw: str) -> str:
    """The backend's plan enum: exact names (``education`` is ``edu``); anything else unknown."""
    plan = "edu" if raw == "education" else raw
    return plan if plan in PLAN_TYPES else "unknown"


def _window(window: dict[str, Any] | None) -> acct.RateLimitWindow | None:
    if window is None:
        return None
    seconds = window["limit_window_seconds"]
    minutes = None if seconds <= 0 else (seconds + 59) // 60
    return acct.RateLimitWindow(used_percent=window["used_percent"], window_duration_mins=minutes,
                                resets_at=window["reset_at"])


def _snapshot(limit_id: str, limit_name: str | None, details: dict[str, Any] | None,
              credits: dict[str, Any] | None, plan: str, reached: str | None) -> acct.RateLimitSnapshot:
    primary = secondary = None
    if details is not None:
        primary, secondary = _window(details["primary_window"]), _window(details["secondary_window"])
    snapshot_credits = None
    if credits is not None:
        snapshot_credits = acct.CreditsSnapshot(has_credits=credits["has_credits"], unlimited=credits["unlimited"],
                                                balance=credits["balance"])
    return acct.RateLimitSnapshot(
        limit_id=limit_id, limit_name=limit_name, normal_model_slug=None, primary=primary, secondary=secondary,
        credits=snapshot_credits, individual_limit=None, spend_control_reached=None, plan_type=plan,
        rate_limit_reached_type=reached,
    )


def rate_limits_response(usage: dict[str, Any],
                         reset_credits: acct.RateLimitResetCredits | None) -> acct.GetAccountRateLimitsResponse:
    """§9.2: one ``codex`` snapshot plus one per additional limit, keyed by limit id."""
    plan = _backend_plan(usage["plan_type"])
    reached_obj = usage["rate_limit_reached_type"]
    reached = reached_obj["type"] if reached_obj is not None and reached_obj["type"] in REACHED_TYPES else None
    snapshots = [_snapshot("codex", None, usage["rate_limit"], usage["credits"], plan, reached)]
    for extra in usage["additional_rate_limits"] or ():
        snapshots.append(_snapshot(extra["metered_feature"], extra["limit_name"], extra["rate_limit"],
                                   None, plan, None))
    main = next((s for s in snapshots if s.limit_id == "codex"), snapshots[0])
    by_id = {s.limit_id: s for s in snapshots}
    return acct.GetAccountRateLimitsResponse(
        ordinary_usage_allowed=None, rate_limits=main, rate_limits_by_limit_id=by_id,
        rate_limit_reset_credits=reset_credits, account_id=None, rate_limit_upsell=None,
    )
