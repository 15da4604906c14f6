"""Login policy (spec account.md §16): config ``forced_login_method`` and
``forced_chatgpt_workspace_id``. Pure checks; reading the keys from the effective config is the
caller's. Rejections raise :class:`~chamberlain.errors.InvalidRequest` with the reference's text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

from chamberlain.errors import InvalidRequest
from chamberlain.store.auth_file import AuthDotJson

__all__ = [
    "ForcedLoginMethod",
    "LoginType",
    "check_external_workspace",
    "check_login_allowed",
    "forced_login_method",
    "forced_workspace_ids",
    "stored_auth_allowed",
    "workspace_restriction_message",
]

ForcedLoginMethod = Literal["chatgpt", "api"]
LoginType = Literal["apiKey", "chatgpt", "chatgptDeviceCode", "chatgptAuthTokens", "amazonBedrock"]

_REFUSALS: Final[dict[tuple[str, str], str]] = {
    ("chatgpt", "apiKey"): "API key login is disabled. Use ChatGPT login instead.",
    ("chatgpt", "amazonBedrock"): "Amazon Bedrock login is disabled. Use ChatGPT login instead.",
    ("api", "chatgpt"): "ChatGPT login is disabled. Use API key login instead.",
    ("api", "chatgptDeviceCode"): "ChatGPT login is disabled. Use API key login instead.",
    ("api", "chatgptAuthTokens"): "External ChatGPT auth is disabled. Use API key login instead.",
}


def forced_login_method(value: Any) -> ForcedLoginMethod | None:
    """The config value as a method; None when unset or not one of the two."""
    return value if value in ("chatgpt", "api") else None


def forced_workspace_ids(value: Any) -> tuple[str, ...] | None:
    """``forced_chatgpt_workspace_id``: a string or a list of strings (both observed); None when
    unset."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def check_login_allowed(forced: ForcedLoginMethod | None, login_type: LoginType) -> None:
    """Raise the ``-32600`` of §16 when ``forced`` disallows this ``account/login/start`` type."""
    if forced is None:
        return
    message = _REFUSALS.get((forced, login_type))
    if message is not None:
        raise InvalidRequest(message)


def _rust_debug(text: str) -> str:
    out = []
    for char in text:
        if char in "\"\\":
            out.append("\\" + char)
        elif char in "\n\r\t\0":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}[char])
        elif not char.isprintable():
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def check_external_workspace(allowed: Sequence[str] | None, account_id: str) -> None:
    """``chatgptAuthTokens`` whose ``chatgptAccountId`` is not in the allowed workspaces."""
    if allowed is None or account_id in allowed:
        return
    listed = "[" + ", ".join(_rust_debug(item) for item in allowed) + "]"
    received = _rust_debug(account_id)
    raise InvalidRequest(f"External auth must use one of workspace(s) {listed}, but received {received}.")


def workspace_restriction_message(allowed: Sequence[str]) -> str:
    """Why a browser/device login into another workspace fails (observed with one id and with
    two: ``ws-a, ws-b``); the browser flow's completion error carries it after
    ``Login server error: ``."""
    return f"Login is restricted to workspace id(s) {', '.join(allowed)}."


def stored_auth_allowed(
    auth: AuthDotJson, forced: ForcedLoginMethod | None, allowed: Sequence[str] | None
) -> bool:
    """Whether stored credentials may be used under the policy. The app-server ignores (never
    deletes) those that violate it: an API key (or Bedrock credentials) under ``chatgpt``, ChatGPT tokens under ``api``,
    tokens of a workspace not allowed (all three observed: ``account/read`` -> ``account: null``)."""
    mode = auth.resolved_mode()
    if forced == "chatgpt" and mode in ("apikey", "bedrockApiKey", "bedrockAccessKeys"):
        return False
    if forced == "api" and mode in ("chatgpt", "chatgptAuthTokens"):
        return False
    if allowed is not None and mode in ("chatgpt", "chatgptAuthTokens"):
        account = auth.tokens.account_id if auth.tokens is not None else None
        if account is None and auth.tokens is not None:
            account = auth.tokens.id_claims().account_id
        return account in allowed
    return True
