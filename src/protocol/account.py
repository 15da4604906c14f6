"""Wire Structs of the account methods (spec account.md §3-§11, §19), named after the reference's
Rust types where their names appear in serde errors.

Params decode with the reference's texts (``decode_login_params`` reads the internally tagged
``LoginAccountParams`` as serde does: the tag may be a variant name or its index, the params may
be positional). Results and notifications encode in the reference's member order. Params that
carry a secret never show it in their ``repr``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from chamberlain.protocol.decode import ParamsError, decode_value, load_params
from chamberlain.serde_text import invalid_type, missing_field, unknown_variant
from chamberlain.serde_walk import variants
from msgspec import Struct

__all__ = [
    "LOGIN_VARIANTS",
    "Account",
    "AccountLoginCompletedNotification",
    "AccountUpdatedNotification",
    "AmazonBedrockAccessKeysLogin",
    "AmazonBedrockAccount",
    "AmazonBedrockLogin",
    "ApiKeyAccount",
    "ApiKeyLogin",
    "ApiKeyLoginResponse",
    "CancelLoginAccountParams",
    "CancelLoginAccountResponse",
    "ChatgptAccount",
    "ChatgptAuthTokensLogin",
    "ChatgptAuthTokensLoginResponse",
    "ChatgptAuthTokensRefreshParams",
    "ChatgptAuthTokensRefreshResponse",
    "ChatgptDeviceCodeLogin",
    "ChatgptDeviceCodeLoginResponse",
    "ChatgptLogin",
    "ChatgptLoginResponse",
    "CreditsSnapshot",
    "GetAccountParams",
    "GetAccountRateLimitsParams",
    "GetAccountRateLimitsResponse",
    "GetAccountResponse",
    "GetAuthStatusParams",
    "GetAuthStatusResponse",
    "LoginParams",
    "LogoutAccountResponse",
    "RateLimitResetCredits",
    "RateLimitSnapshot",
    "RateLimitWindow",
    "SendAddCreditsNudgeEmailParams",
    "SendAddCreditsNudgeEmailResponse",
    "WorkspaceRouting",
    "decode_login_params",
    "decode_optional_params",
]


class _Params(Struct, rename="camel"):
    """Request params: camelCase members, unknown members ignored."""


class _SecretParams(_Params):
    """Params holding a key or token: ``repr`` names the type only (STYLE rule 15)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"


# --- params -----------------------------------------------------------------------------------


class GetAccountParams(_Params):
    refresh_token: bool = False


class GetAuthStatusParams(_Params):
    include_token: bool | None = None
    refresh_token: bool | None = None


class CancelLoginAccountParams(_Params):
    login_id: str


class GetAccountRateLimitsParams(_Params):
    exclude_reset_credit_details: bool = False
    supports_luna_reserve: bool = False


class SendAddCreditsNudgeEmailParams(_Params):
    credit_type: variants(("credits", "usage_limit"), "string or map")  # type: ignore[valid-type]


class ApiKeyLogin(_SecretParams):
    serde_name: ClassVar[str] = "struct variant LoginAccountParams::ApiKey"
    api_key: str


class ChatgptLogin(_Params):
    serde_name: ClassVar[str] = "struct variant LoginAccountParams::Chatgpt"
    codex_streamlined_login: bool = False
    use_hosted_login_success_page: bool = False
    app_brand: variants(("codex", "chatgpt")) | None = None  # type: ignore[valid-type]


class ChatgptDeviceCodeLogin(_Params):
    serde_name: ClassVar[str] = "unit variant LoginAccountParams::ChatgptDeviceCode"


class ChatgptAuthTokensLogin(_SecretParams):
    serde_name: ClassVar[str] = "struct variant LoginAccountParams::ChatgptAuthTokens"
    access_token: str
    chatgpt_account_id: str
    chatgpt_plan_type: str | None = None


class AmazonBedrockLogin(_SecretParams):
    serde_name: ClassVar[str] = "struct variant LoginAccountParams::AmazonBedrock"
    api_key: str
    region: str


class AmazonBedrockAccessKeysLogin(_SecretParams, kw_only=True):
    serde_name: ClassVar[str] = "struct variant LoginAccountParams::AmazonBedrockAccessKeys"
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None  # an Option: absent is None
    region: str


LoginParams = (
    ApiKeyLogin
    | ChatgptLogin
    | ChatgptDeviceCodeLogin
    | ChatgptAuthTokensLogin
    | AmazonBedrockLogin
    | AmazonBedrockAccessKeysLogin
)

#: The variants of ``LoginAccountParams`` in declaration order (serde's variant indices).
LOGIN_VARIANTS: Final[tuple[tuple[str, type[Any]], ...]] = (
    ("apiKey", ApiKeyLogin),
    ("chatgpt", ChatgptLogin),
    ("chatgptDeviceCode", ChatgptDeviceCodeLogin),
    ("chatgptAuthTokens", ChatgptAuthTokensLogin),
    ("amazonBedrock", AmazonBedrockLogin),
    ("amazonBedrockAccessKeys", AmazonBedrockAccessKeysLogin),
)
_LOGIN_NAMES: Final = tuple(name for name, _ in LOGIN_VARIANTS)


def decode_login_params(raw: bytes | None) -> LoginParams:
    """``account/login/start`` params as serde reads ``#[serde(tag = "type")] LoginAccountParams``."""
    value = load_params(raw)
    rest: Any
    if isinstance(value, list):
        if not value:
            raise ParamsError(missing_field("type"))
        tag, rest = value[0], value[1:]
    elif isinstance(value, dict):
        if "type" not in value:
            raise ParamsError(missing_field("type"))
        tag, rest = value["type"], {k: v for k, v in value.items() if k != "type"}
    else:
        raise ParamsError(invalid_type(value, "internally tagged enum LoginAccountParams"))
    tp = LOGIN_VARIANTS[_variant_index(tag)][1]
    if tp is ChatgptDeviceCodeLogin:  # a unit variant: whatever follows the tag is ignored
        return ChatgptDeviceCodeLogin()
    result: LoginParams = decode_value(rest, tp)
    return result


def _variant_index(tag: Any) -> int:
    if isinstance(tag, str):
        if tag not in _LOGIN_NAMES:
            raise ParamsError(unknown_variant(tag, _LOGIN_NAMES))
        return _LOGIN_NAMES.index(tag)
    if isinstance(tag, int) and not isinstance(tag, bool) and tag >= 0:
        if tag >= len(_LOGIN_NAMES):
            raise ParamsError(f"invalid value: integer `{tag}`, expected variant index 0 <= i < {len(_LOGIN_NAMES)}")
        return tag
    raise ParamsError(invalid_type(tag, "variant identifier"))


def decode_optional_params(raw: bytes | None, tp: type[Any]) -> Any:
    """Params that may be absent or ``null`` (``Option<Params>``): then the defaults."""
    if raw is None or raw == b"null":
        return tp()
    return decode_value(load_params(raw), tp)


# --- shared values ----------------------------------------------------------------------------


class _Result(Struct, rename="camel", omit_defaults=False):
    """What the server encodes: camelCase members, every member written."""


class _Tagged(_Result, tag_field="type"):
    pass


class ApiKeyAccount(_Tagged, tag="apiKey"):
    pass


class ChatgptAccount(_Tagged, tag="chatgpt"):
    email: str | None
    plan_type: str
    workspace_name: str | None


class AmazonBedrockAccount(_Tagged, tag="amazonBedrock"):
    uses_codex_managed_credentials: bool


Account = ApiKeyAccount | ChatgptAccount | AmazonBedrockAccount


class WorkspaceRouting(_Result):
    chatgpt_account_id: str
    backend_origin: str
    account_routing_override: str


# --- results ----------------------------------------------------------------------------------


class GetAccountResponse(_Result):
    account: Account | None
    user_id: str | None
    requires_openai_auth: bool
    workspace_routing: WorkspaceRouting | None


class GetAuthStatusResponse(_Result):
    auth_method: str | None
    auth_token: str | None
    requires_openai_auth: bool | None

    def __repr__(self) -> str:
        shown = None if self.auth_token is None else "<redacted>"
        return f"GetAuthStatusResponse({self.auth_method!r}, {shown}, {self.requires_openai_auth!r})"


class ApiKeyLoginResponse(_Tagged, tag="apiKey"):
    pass


class ChatgptLoginResponse(_Tagged, tag="chatgpt"):
    login_id: str
    auth_url: str


class ChatgptDeviceCodeLoginResponse(_Tagged, tag="chatgptDeviceCode"):
    login_id: str
    verification_url: str
    user_code: str


class ChatgptAuthTokensLoginResponse(_Tagged, tag="chatgptAuthTokens"):
    pass


class AmazonBedrockLoginResponse(_Tagged, tag="amazonBedrock"):
    pass


class CancelLoginAccountResponse(_Result):
    status: str  # "canceled" | "notFound"


class LogoutAccountResponse(_Result):
    pass


class SendAddCreditsNudgeEmailResponse(_Result):
    status: str  # "sent" | "cooldown_active"


class RateLimitWindow(_Result):
    used_percent: int | float
    window_duration_mins: int | None
    resets_at: int | None


class CreditsSnapshot(_Result):
    has_credits: bool
    unlimited: bool
    balance: str | None


class RateLimitSnapshot(_Result):
    limit_id: str
    limit_name: str | None
    normal_model_slug: str | None
    primary: RateLimitWindow | None
    secondary: RateLimitWindow | None
    credits: CreditsSnapshot | None
    individual_limit: None
    spend_control_reached: None
    plan_type: str | None
    rate_limit_reached_type: str | None


class RateLimitResetCredits(_Result):
    available_count: int
    credits: list[Any]


class GetAccountRateLimitsResponse(_Result):
    ordinary_usage_allowed: None
    rate_limits: RateLimitSnapshot
    rate_limits_by_limit_id: dict[str, RateLimitSnapshot]
    rate_limit_reset_credits: RateLimitResetCredits | None
    account_id: None
    rate_limit_upsell: None


# --- notifications and the server -> client request ------------------------------------------


class AccountLoginCompletedNotification(_Result):
    login_id: str | None
    success: bool
    error: str | None
    #: ``"life_sciences"`` when the browser login's state asked for that onboarding
    onboarding_entrypoint: str | None = None


class AccountUpdatedNotification(_Result):
    auth_mode: str | None
    plan_type: str | None


class ChatgptAuthTokensRefreshParams(_Result):
    reason: str  # always "unauthorized"
    previous_account_id: str | None


class ChatgptAuthTokensRefreshResponse(_SecretParams):
    """The client's answer to ``account/chatgptAuthTokens/refresh`` (decoded leniently)."""

    access_token: str
    chatgpt_account_id: str
    chatgpt_plan_type: str | None = None
