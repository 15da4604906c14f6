"""The array forms of auth.json's objects that codex-cli 0.169.0 also reads.

Its decoder (serde) accepts a struct written as a JSON array of its members in declaration
order. Observed on the binary: the whole file as ``[auth_mode, OPENAI_API_KEY, tokens,
last_refresh, …]`` with 2 to 8 elements (1 or 9 are refused; element 4 is a string member);
``tokens`` as exactly 6 elements ``[id_token, access_token, refresh_token, oauth_provenance,
login_owner_id, account_id]``; ``oauth_provenance`` as ``[issuer, client_id]``. Which member
elements 4-7 are is not known, so a non-null value there is refused (the reference may read it).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["PositionalFormUnknown", "objectify"]

TOP_MEMBERS: Final = ("auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh")
TOP_LENGTHS: Final = range(2, 9)
TOKEN_MEMBERS: Final = ("id_token", "access_token", "refresh_token", "oauth_provenance", "login_owner_id", "account_id")
PROVENANCE_MEMBERS: Final = ("issuer", "client_id")


class PositionalFormUnknown(ValueError):
    """An array where the reference wants an object, of a length or content it refuses (or
    whose meaning is not known)."""


def _as_object(values: list[Any], members: tuple[str, ...], lengths: range, what: str) -> dict[str, Any]:
    if len(values) not in lengths:
        raise PositionalFormUnknown(f"{what}: an array of {len(values)} elements")
    if any(value is not None for value in values[len(members):]):
        raise PositionalFormUnknown(f"{what}: a value at a position whose member is not known")
    return dict(zip(members, values, strict=False))


def objectify(top: Any) -> tuple[Any, bool]:
    """``top`` (decoded auth.json) with array forms turned into objects, and whether there were
    any. Raises PositionalFormUnknown."""
    changed = False
    if isinstance(top, list):
        top, changed = _as_object(top, TOP_MEMBERS, TOP_LENGTHS, "auth.json"), True
    if not isinstance(top, dict):
        return top, changed
    tokens = top.get("tokens")
    if isinstance(tokens, list):
        tokens = _as_object(tokens, TOKEN_MEMBERS, range(6, 7), "tokens")
        top, changed = {**top, "tokens": tokens}, True
    if isinstance(tokens, dict) and isinstance(tokens.get("oauth_provenance"), list):
        provenance = _as_object(tokens["oauth_provenance"], PROVENANCE_MEMBERS, range(2, 3), "oauth_provenance")
        top, changed = {**top, "tokens": {**tokens, "oauth_provenance": provenance}}, True
    return top, changed
