"""The reader of requirement values (`_read`: ``msgspec.convert``, and the shared walker's serde
text when it refuses) and the nested requirement tables as msgspec Structs (field order is serde's
declaration order: it words ``missing field`` and ``unknown field … expected``; a class is named
as its Rust type: ``expected struct <Name>``), read as members of
`requirements_document.ConfigRequirementsToml`, and their wire forms. Internal to
`chamberlain.store.requirements`.

Observed on codex-cli 0.169.0: an error path extends by struct members and map keys, not by
sequence elements (``computer_use.windows.exes.product_name``); an unknown-key path extends by
sequence indices too (``computer_use.windows.exes.0.zork``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Final, Literal, TypeAlias

import msgspec
from chamberlain.serde_text import invalid_type
from chamberlain.serde_walk import first_error, positional_to_map, toml_enum, type_info
from msgspec import Meta

APPROVAL_VARIANTS: Final = ("untrusted", "on-failure", "on-request", "granular", "never")


class _SerdeError(Exception):
    def __init__(self, detail: str, path: str | None) -> None:
        super().__init__(detail, path)
        self.detail = detail
        self.path = path

    def render(self, prefix: str) -> str:
        if self.path is None:
            return f"{prefix}{self.detail}"
        return f"{prefix}{self.detail}\nin `{self.path}`\n"


def _read(v: Any, tp: Any, path: str) -> Any:
    """``v`` as type ``tp`` (msgspec), or the `_SerdeError` the shared serde walker words."""
    try:
        return msgspec.convert(v, tp)
    except msgspec.ValidationError:
        err = first_error(v, type_info(tp), path)
        raise _SerdeError(err.detail if err else invalid_type(v, "a value"), err.path if err else path) from None


class GranularApprovalConfig(msgspec.Struct, frozen=True, kw_only=True):
    sandbox_approval: bool
    rules: bool
    skill_approval: bool = False
    request_permissions: bool = False
    mcp_elicitations: bool


#: ``AskForApproval``: unit variants and the ``granular`` struct variant, read from TOML.
APPROVAL: TypeAlias = Annotated[
    str | dict[str, Any], toml_enum(APPROVAL_VARIANTS, {"granular": GranularApprovalConfig})
]


def _approval_policy(v: Any, path: str) -> Any:
    """An approval policy as config/read shows it (``on-failure`` reads as ``on-request``)."""
    err = first_error(v, type_info(APPROVAL), path)
    if err is not None:
        raise _SerdeError(err.detail, err.path)
    name = next(iter(v)) if isinstance(v, dict) else v
    if name == "granular":
        granular = msgspec.convert(v["granular"], GranularApprovalConfig)
        return {"granular": msgspec.structs.asdict(granular)}
    return "on-request" if name == "on-failure" else name


ALLOW_DENY: Final = ("allow", "deny")
_ACCESS: TypeAlias = Annotated[Literal["allow", "deny"], toml_enum(ALLOW_DENY)]
_LIFETIME: TypeAlias = Annotated[Literal["turn", "thread"], toml_enum(("turn", "thread"))]
PATH_STRING: TypeAlias = Annotated[str, Meta(extra={"expected": "path string"})]


class ComputerUseMacosRequirementsToml(msgspec.Struct, frozen=True):
    bundle_ids: dict[str, _ACCESS] | None = None


class ComputerUseWindowsExeRequirementsToml(msgspec.Struct, frozen=True, kw_only=True):
    publisher_name: str
    product_name: str
    binary_name: str | None = None
    access: _ACCESS


class ComputerUseWindowsRequirementsToml(msgspec.Struct, frozen=True):
    aumids: dict[str, _ACCESS] | None = None
    exes: list[ComputerUseWindowsExeRequirementsToml] | None = None


class ComputerUseRequirementsToml(msgspec.Struct, frozen=True):
    allow_locked_computer_use: bool | None = None
    allow_persistent_approval: bool | None = None
    default_app_access: _ACCESS | None = None
    macos: ComputerUseMacosRequirementsToml | None = None
    windows: ComputerUseWindowsRequirementsToml | None = None


class BrowserUseRequestHeaderToml(msgspec.Struct, frozen=True):
    name: str
    value: str


class BrowserUseExtensionRequirementsToml(msgspec.Struct, frozen=True):
    request_headers: list[BrowserUseRequestHeaderToml] | None = None


class BrowserUseOriginPolicyToml(msgspec.Struct, frozen=True):
    access: _ACCESS | None = None
    downloads: _ACCESS | None = None
    uploads: _ACCESS | None = None
    full_cdp_access: _ACCESS | None = None
    auto_review: _ACCESS | None = None
    persistent_approval: bool | None = None
    access_approval_lifetime: _LIFETIME | None = None


class BrowserUseRequirementsToml(msgspec.Struct, frozen=True):
    extension: BrowserUseExtensionRequirementsToml | None = None
    allow_webmcp: bool | None = None
    allow_history_access: bool | None = None
    disable_auto_review: bool | None = None
    allow_global_persistent_approval: bool | None = None
    default_origin_policy: BrowserUseOriginPolicyToml | None = None
    origins: dict[str, BrowserUseOriginPolicyToml] | None = None


class ApplicationNetworkRequirementsToml(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = True
    domains: dict[str, _ACCESS] = msgspec.field(default_factory=dict)


class ApplicationStorageRequirementsToml(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default_project_parent: PATH_STRING | None = None
    projectless_workspace_root: PATH_STRING | None = None


class ApplicationRequirementsToml(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    network: ApplicationNetworkRequirementsToml | None = None
    storage: ApplicationStorageRequirementsToml | None = None


class FeedbackConfigToml(msgspec.Struct, frozen=True):
    enabled: bool | None = None


class InAppBrowserRequirementsToml(msgspec.Struct, frozen=True):
    allow_external_browser_settings_import: bool | None = None


class AutoReviewRequirementsToml(msgspec.Struct, frozen=True):
    required_on_models: list[str] | None = None
    ignore_rules: list[str] | None = None


class NewThreadModelDefaultsToml(msgspec.Struct, frozen=True):
    model: str | None = None
    model_reasoning_effort: str | None = None
    service_tier: str | None = None


class ModelsRequirementsToml(msgspec.Struct, frozen=True):
    new_thread: NewThreadModelDefaultsToml | None = None


class ToolResultLogConfig(msgspec.Struct, frozen=True):
    max_bytes: Annotated[int, Meta(ge=0, extra={"expected": "usize"})]


_TLS_PATH: TypeAlias = PATH_STRING | None


class OtelTlsConfig(msgspec.Struct, frozen=True):
    ca_certificate: _TLS_PATH = msgspec.field(default=None, name="ca-certificate")
    client_certificate: _TLS_PATH = msgspec.field(default=None, name="client-certificate")
    client_private_key: _TLS_PATH = msgspec.field(default=None, name="client-private-key")


class OtlpHttpExporter(msgspec.Struct, frozen=True, kw_only=True):
    serde_name: ClassVar[str] = "struct variant OtelExporterKind::OtlpHttp"
    endpoint: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    protocol: Annotated[Literal["binary", "json"], toml_enum(("binary", "json"))]
    tls: OtelTlsConfig | None = None


class OtlpGrpcExporter(msgspec.Struct, frozen=True):
    serde_name: ClassVar[str] = "struct variant OtelExporterKind::OtlpGrpc"
    endpoint: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    tls: OtelTlsConfig | None = None


_EXPORTERS: Final[dict[str, type[OtlpHttpExporter | OtlpGrpcExporter]]] = {
    "otlp-http": OtlpHttpExporter,
    "otlp-grpc": OtlpGrpcExporter,
}
_EXPORTER: TypeAlias = Annotated[
    str | dict[str, Any], toml_enum(("none", "statsig", "otlp-http", "otlp-grpc"), _EXPORTERS)
]


class OtelRequirementsToml(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tool_result: ToolResultLogConfig | None = None
    log_sse_deltas: bool | None = None
    log_user_prompt: bool | None = None
    log_agent_responses: bool | None = None
    log_guardian_assessments: bool | None = None
    environment: str | None = None
    exporter: _EXPORTER | None = None
    trace_exporter: _EXPORTER | None = None
    metrics_exporter: _EXPORTER | None = None
    span_attributes: dict[str, str] | None = None
    tracestate: dict[str, dict[str, str]] | None = None


def otel_wire(otel: OtelRequirementsToml, resolve: Callable[[str], str]) -> dict[str, Any]:
    """The ``otel`` member (snake_case, as the reference shows it): header values redacted (their
    order is a hash map's on the reference; kept in document order here), TLS paths resolved with
    ``resolve``, tracestate entries sorted and the empty ones left out."""
    out: dict[str, Any] = {f: getattr(otel, f) for f in otel.__struct_fields__}
    if otel.tool_result is not None:
        out["tool_result"] = {"max_bytes": otel.tool_result.max_bytes}
    for key in ("exporter", "trace_exporter", "metrics_exporter"):
        if isinstance(out[key], dict):
            ((kind, body),) = out[key].items()
            out[key] = _exporter_wire(kind, body, resolve) if kind in _EXPORTERS else kind
    if otel.tracestate is not None:
        out["tracestate"] = {k: dict(sorted(v.items())) for k, v in otel.tracestate.items() if v}
    return out


def _exporter_wire(kind: str, body: Any, resolve: Callable[[str], str]) -> dict[str, Any]:
    tp = _EXPORTERS[kind]
    out: dict[str, Any] = msgspec.to_builtins(msgspec.convert(positional_to_map(body, type_info(tp)), tp))
    out["headers"] = dict.fromkeys(out["headers"], "[redacted]")
    if out["tls"] is not None:
        out["tls"] = {name: None if raw is None else resolve(raw) for name, raw in out["tls"].items()}
    return {kind: out}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_wire(value: Any) -> Any:
    """A decoded table as the wire shows it: camelCase members in declaration order, maps sorted
    by key (the reference keeps them in a ``BTreeMap``)."""
    if isinstance(value, msgspec.Struct):
        return {_camel(f): to_wire(getattr(value, f)) for f in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value
