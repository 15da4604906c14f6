"""The whole requirements document as one Struct, walked once in document order before the
tables are read: serde reports the first wrong member in the order the file lists them (checked
against codex-cli 0.169.0). Members whose reading is not modelled as a type (hooks, model
providers and the opaque tables) are free data here and read by their own readers.
Internal to `chamberlain.store.requirements`."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeAlias

import msgspec
from chamberlain.serde_walk import first_error, positional_to_map, toml_enum, type_info, unknown_fields
from chamberlain.store.requirements_structs import (
    APPROVAL,
    PATH_STRING,
    ApplicationRequirementsToml,
    AutoReviewRequirementsToml,
    BrowserUseRequirementsToml,
    ComputerUseRequirementsToml,
    FeedbackConfigToml,
    InAppBrowserRequirementsToml,
    ModelsRequirementsToml,
    OtelRequirementsToml,
    _SerdeError,
)
from chamberlain.store.requirements_tables import RawNetworkRequirementsToml
from msgspec import Meta

REVIEWER_VARIANTS: Final = ("user", "auto_review", "guardian_subagent")
SANDBOX_VARIANTS: Final = ("read-only", "workspace-write", "danger-full-access", "external-sandbox")
WEB_SEARCH_VARIANTS: Final = ("disabled", "cached", "indexed", "live")

_Reviewer: TypeAlias = Annotated[Literal["user", "auto_review", "guardian_subagent"], toml_enum(REVIEWER_VARIANTS)]
_Sandbox: TypeAlias = Annotated[
    Literal["read-only", "workspace-write", "danger-full-access", "external-sandbox"], toml_enum(SANDBOX_VARIANTS)
]
_WebSearch: TypeAlias = Annotated[Literal["disabled", "cached", "indexed", "live"], toml_enum(WEB_SEARCH_VARIANTS)]
_Login: TypeAlias = Annotated[Literal["chatgpt", "api"], toml_enum(("chatgpt", "api"))]
_CliStore: TypeAlias = Annotated[
    Literal["file", "keyring", "auto", "ephemeral"], toml_enum(("file", "keyring", "auto", "ephemeral"))
]
_WindowsSandbox: TypeAlias = Annotated[Literal["elevated", "unelevated"], toml_enum(("elevated", "unelevated"))]
_Residency: TypeAlias = Annotated[Literal["us"], toml_enum(("us",))]
#: Read through a buffer: errors inside are reported at the member itself.
_Features: TypeAlias = Annotated[
    dict[str, bool], Meta(extra={"expected": "struct FeatureRequirementsInput", "cap": True})
]


class WindowsRequirementsToml(msgspec.Struct, frozen=True):
    allowed_sandbox_implementations: list[_WindowsSandbox] | None = None


class ConfigRequirementsToml(msgspec.Struct, frozen=True):
    """Declared in wire order (``configRequirements/read``); never read positionally (the root)."""

    model_provider: str | None = None
    model_providers: Any = None  # read by `requirements_tables._model_providers`
    allowed_login_methods: list[_Login] | None = None
    cli_auth_credentials_store: _CliStore | None = None
    chatgpt_base_url: str | None = None
    additional_developer_instructions: str | None = None
    allowed_approval_policies: list[APPROVAL] | None = None
    allowed_approvals_reviewers: list[_Reviewer] | None = None
    allowed_sandbox_modes: list[_Sandbox] | None = None
    windows: WindowsRequirementsToml | None = None
    allowed_permission_profiles: dict[str, bool] | None = None
    default_permissions: str | None = None
    allowed_web_search_modes: list[_WebSearch] | None = None
    allow_managed_hooks_only: bool | None = None
    allow_browser_and_computer_use: bool | None = None
    allow_appshots: bool | None = None
    allow_remote_control: bool | None = None
    computer_use: ComputerUseRequirementsToml | None = None
    browser_use: BrowserUseRequirementsToml | None = None
    in_app_browser: InAppBrowserRequirementsToml | None = None
    features: _Features | None = None
    feature_requirements: _Features | None = None
    hooks: Any = None  # read by `requirements_tables._hooks`
    enforce_residency: _Residency | None = None
    experimental_network: RawNetworkRequirementsToml | None = None
    application: ApplicationRequirementsToml | None = None
    auto_review: AutoReviewRequirementsToml | None = None
    models: ModelsRequirementsToml | None = None
    sqlite_home: PATH_STRING | None = None
    log_dir: PATH_STRING | None = None
    model_catalog_json: PATH_STRING | None = None
    check_for_update_on_startup: bool | None = None
    allow_login_shell: bool | None = None
    feedback: FeedbackConfigToml | None = None
    otel: OtelRequirementsToml | None = None
    # accepted without being modelled:
    mcp_servers: Any = None
    plugins: Any = None
    apps: Any = None
    rules: Any = None
    permissions: Any = None
    remote_sandbox_config: Any = None
    guardian_policy_config: Any = None


def read_document(raw: dict[str, Any], unknown: list[str]) -> ConfigRequirementsToml:
    """``raw`` as the requirements document, or the `_SerdeError` serde reports first (members in
    file order); the dotted paths of the keys it ignores are appended to ``unknown``."""
    info = type_info(ConfigRequirementsToml)
    err = first_error(raw, info)
    if err is not None:
        raise _SerdeError(err.detail, err.path)
    unknown_fields(raw, info, "", unknown)
    try:  # serde's other spellings: a struct as a sequence, a variant as a one-entry table
        return msgspec.convert(positional_to_map(raw, info), ConfigRequirementsToml)
    except msgspec.ValidationError as exc:  # a rule the walk does not model
        raise _SerdeError(str(exc), None) from None
