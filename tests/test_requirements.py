# ruff: noqa: E501  (expected texts are verbatim reference output; kept on one line for grep)
"""Requirements (``requirements.toml`` + legacy ``managed_config.toml``), checked against codex 0.169.0.

Every expected value below was observed on the reference binary with a private ``/etc/codex``
(``unshare -m`` + ``mount --bind``): ``codex app-server --print-startup-config`` for wire shapes,
``codex app-server`` (stdin closed) for refuse-to-start texts, and a stdio session
(``configRequirements/read``, ``config/read``, ``configWarning``) for warnings and pins. In those
transcripts the file was ``/etc/codex/requirements.toml``; here it is ``<tmp_path>/requirements.toml``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chamberlain.errors import RequirementsError, TomlParseError
from chamberlain.store.requirements import (
    Requirements,
    RequirementsParseError,
    load_requirements,
    unrecognized_settings_warning,
)

NETWORK_NULLS: dict[str, Any] = {
    "enabled": None,
    "httpPort": None,
    "socksPort": None,
    "allowUpstreamProxy": None,
    "dangerouslyAllowNonLoopbackProxy": None,
    "dangerouslyAllowAllUnixSockets": None,
    "domains": None,
    "reviewDomains": None,
    "managedAllowedDomainsOnly": None,
    "allowedDomains": None,
    "deniedDomains": None,
    "unixSockets": None,
    "allowUnixSockets": None,
    "allowLocalBinding": None,
}
HOOK_EVENTS = (
    "PreModelRequest",
    "PostModelRequest",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PreCompact",
    "PostCompact",
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "Interrupt",
)


def _load(tmp_path: Path, text: str | None, managed: dict[str, Any] | None = None) -> Requirements:
    if text is not None:
        (tmp_path / "requirements.toml").write_text(text, encoding="utf-8")
    return load_requirements(tmp_path, managed)


def _set(
    tmp_path: Path,
    text: str | None,
    managed: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The non-null members of the wire object (None when requirements are null)."""
    wire = _load(tmp_path, text, managed).wire(config or {})
    return None if wire is None else {k: v for k, v in wire.items() if v is not None}


def _error(tmp_path: Path, text: str, managed: dict[str, Any] | None = None) -> str:
    with pytest.raises(RequirementsError) as info:
        _load(tmp_path, text, managed)
    return str(info.value)


def _layer_error(tmp_path: Path, detail: str, key: str) -> str:
    return f"failed to parse requirements layer {tmp_path / 'requirements.toml'}: {detail}\nin `{key}`\n"


# ---------------------------------------------------------------------------- presence and order


def test_absent_file_means_null_requirements(tmp_path: Path) -> None:
    assert _load(tmp_path, None).wire({}) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "foo = 1",
        "[features]",
        "[hooks]",
        "[hooks]\nStop = []",
        "[computer_use]",
        "[computer_use.macos]",
        "[computer_use.macos]\nbundle_ids = {}",
        "[computer_use.windows]\nexes = []",
        "[browser_use]",
        "[browser_use.origins]",
        '[browser_use.origins."https://a"]',
        "[browser_use.default_origin_policy]",
        "[feedback]",
        "[auto_review]",
        "[auto_review]\nrequired_on_models = []",
        "[models]",
        "[models.new_thread]",
        "[in_app_browser]",
        "[application]",
        "[otel]",
        "[model_providers]",
        "[windows]\nfoo = 1",
        "[network]\nenabled = true",
    ],
)
def test_tables_without_a_requirement_leave_requirements_null(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text).wire({}) is None


def test_every_member_is_present_in_the_observed_order(tmp_path: Path) -> None:
    wire = _load(tmp_path, 'allowed_approval_policies = ["on-request"]').wire({})
    assert wire is not None
    assert list(wire) == [
        "modelProvider",
        "modelProviders",
        "allowedLoginMethods",
        "cliAuthCredentialsStore",
        "chatgptBaseUrl",
        "additionalDeveloperInstructions",
        "allowedApprovalPolicies",
        "allowedApprovalsReviewers",
        "allowedSandboxModes",
        "allowedWindowsSandboxImplementations",
        "allowedPermissionProfiles",
        "defaultPermissions",
        "allowedWebSearchModes",
        "allowManagedHooksOnly",
        "allowBrowserAndComputerUse",
        "allowAppshots",
        "allowRemoteControl",
        "computerUse",
        "browserUse",
        "inAppBrowser",
        "featureRequirements",
        "hooks",
        "enforceResidency",
        "network",
        "application",
        "autoReview",
        "models",
        "sqliteHome",
        "logDir",
        "modelCatalogJson",
        "checkForUpdateOnStartup",
        "allowLoginShell",
        "feedback",
        "otel",
    ]
    assert {k: v for k, v in wire.items() if v is not None} == {
        "allowedLoginMethods": ["api", "chatgpt"],
        "allowedApprovalPolicies": ["on-request"],
    }


def test_mcp_servers_rules_and_apps_define_requirements_without_a_wire_member(tmp_path: Path) -> None:
    assert _set(tmp_path, '[mcp_servers.foo.identity]\ncommand = "x"') == {
        "allowedLoginMethods": ["api", "chatgpt"]
    }


# ---------------------------------------------------------------------------- simple mappings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'allowed_approval_policies = ["untrusted","never"]',
            {"allowedApprovalPolicies": ["untrusted", "never"]},
        ),
        ('allowed_approval_policies = ["on-failure"]', {"allowedApprovalPolicies": ["on-request"]}),
        (
            "allowed_approval_policies = [{granular = {sandbox_approval=true, rules=false, mcp_elicitations=true}}]",
            {
                "allowedApprovalPolicies": [
                    {
                        "granular": {
                            "sandbox_approval": True,
                            "rules": False,
                            "skill_approval": False,
                            "request_permissions": False,
                            "mcp_elicitations": True,
                        }
                    }
                ]
            },
        ),
        (
            'allowed_approvals_reviewers = ["guardian_subagent"]',
            {"allowedApprovalsReviewers": ["auto_review"]},
        ),
        (
            'allowed_sandbox_modes = ["read-only","external-sandbox","danger-full-access"]',
            {"allowedSandboxModes": ["read-only", "danger-full-access"]},
        ),
        ('allowed_web_search_modes = ["cached"]', {"allowedWebSearchModes": ["cached", "disabled"]}),
        ("allowed_web_search_modes = []", {"allowedWebSearchModes": ["disabled"]}),
        (
            'allowed_web_search_modes = ["live","disabled","cached"]',
            {"allowedWebSearchModes": ["live", "disabled", "cached"]},
        ),
        (
            'allowed_web_search_modes = ["live","live"]',
            {"allowedWebSearchModes": ["live", "live", "disabled"]},
        ),
        (
            "[features]\nmemories = false\napps = true\nzeta = true",
            {"featureRequirements": {"apps": True, "memories": False, "zeta": True}},
        ),
        ("[feature_requirements]\nmemories = false", {"featureRequirements": {"memories": False}}),
        ('enforce_residency = "us"', {"enforceResidency": "us"}),
        (
            "allow_managed_hooks_only = false\nallow_appshots = true\nallow_remote_control = false\n"
            "allow_browser_and_computer_use = false\nallow_login_shell = true\ncheck_for_update_on_startup = false",
            {
                "allowManagedHooksOnly": False,
                "allowBrowserAndComputerUse": False,
                "allowAppshots": True,
                "allowRemoteControl": False,
                "checkForUpdateOnStartup": False,
                "allowLoginShell": True,
            },
        ),
        (
            'chatgpt_base_url = "https://x/"\nmodel_provider = "openai"\ncli_auth_credentials_store = "keyring"\n'
            'additional_developer_instructions = "be nice"',
            {
                "modelProvider": "openai",
                "cliAuthCredentialsStore": "keyring",
                "chatgptBaseUrl": "https://x/",
                "additionalDeveloperInstructions": "be nice",
            },
        ),
        ('model_provider = "amazon-bedrock"', {"modelProvider": "amazon-bedrock"}),
        (
            'sqlite_home = "/var/lib/codex"\nlog_dir = "/var/log/co dex"',
            {"sqliteHome": "file:///var/lib/codex", "logDir": "file:///var/log/co%20dex"},
        ),
        ('allowed_login_methods = ["api","chatgpt","api"]', {}),
        ('allowed_login_methods = ["chatgpt","api"]', {}),
        (
            'allowed_permission_profiles = { ":read-only" = true, ":workspace" = false }\ndefault_permissions = ":read-only"',
            {
                "allowedPermissionProfiles": {":read-only": True, ":workspace": False},
                "defaultPermissions": ":read-only",
            },
        ),
        (
            '[windows]\nallowed_sandbox_implementations = ["unelevated","elevated"]',
            {"allowedWindowsSandboxImplementations": ["unelevated", "elevated"]},
        ),
    ],
)
def test_key_maps_to_wire_member(tmp_path: Path, text: str, expected: dict[str, Any]) -> None:
    assert _set(tmp_path, text) == {"allowedLoginMethods": ["api", "chatgpt"], **expected}


def test_relative_path_resolves_against_the_system_directory(tmp_path: Path) -> None:
    got = _set(tmp_path, 'sqlite_home = "rel/dir"')
    assert got is not None and got["sqliteHome"] == f"file://{tmp_path}/rel/dir"


def test_tilde_path_expands_to_home(tmp_path: Path) -> None:
    got = _set(tmp_path, 'log_dir = "~/logs"')
    assert got is not None and got["logDir"] == f"file://{Path.home()}/logs"


# ---------------------------------------------------------------------------- login methods


def test_allowed_login_methods_narrowed_by_forced_login_method(tmp_path: Path) -> None:
    got = _set(
        tmp_path, 'allowed_login_methods = ["api","chatgpt"]', config={"forced_login_method": "chatgpt"}
    )
    assert got == {"allowedLoginMethods": ["chatgpt"]}


def test_forced_login_method_alone_narrows_the_default(tmp_path: Path) -> None:
    got = _set(tmp_path, 'enforce_residency = "us"', config={"forced_login_method": "api"})
    assert got == {"allowedLoginMethods": ["api"], "enforceResidency": "us"}


def test_forced_login_method_outside_the_allowed_list_refuses_to_start(tmp_path: Path) -> None:
    req = _load(tmp_path, 'allowed_login_methods = ["api"]')
    with pytest.raises(
        RequirementsError, match=r"^authentication requirements do not permit any usable login method$"
    ):
        req.wire({"forced_login_method": "chatgpt"})


# ---------------------------------------------------------------------------- nested objects


def test_network_members_and_derived_lists(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            "[experimental_network]\nenabled = true\nhttp_port = 8080\nsocks_port = 1080\nallow_upstream_proxy = false\n"
            "dangerously_allow_non_loopback_proxy = true\ndangerously_allow_all_unix_sockets = false\n"
            'domains = { "b.example" = "deny", "a.example" = "allow", "c" = "allow" }\n'
            'unix_sockets = { "/run/x.sock" = "allow", "/run/y" = "deny" }\nmanaged_allowed_domains_only = true\n'
            'allow_local_binding = true\nreview_domains = ["q","a"]'
        ),
    )
    assert got is not None
    assert json.dumps(got["network"]) == json.dumps(
        {
            "enabled": True,
            "httpPort": 8080,
            "socksPort": 1080,
            "allowUpstreamProxy": False,
            "dangerouslyAllowNonLoopbackProxy": True,
            "dangerouslyAllowAllUnixSockets": False,
            "domains": {"a.example": "allow", "b.example": "deny", "c": "allow"},
            "reviewDomains": ["q", "a"],
            "managedAllowedDomainsOnly": True,
            "allowedDomains": ["a.example", "c"],
            "deniedDomains": ["b.example"],
            "unixSockets": {"/run/x.sock": "allow", "/run/y": "deny"},
            "allowUnixSockets": ["/run/x.sock"],
            "allowLocalBinding": True,
        }
    )


def test_network_legacy_lists_become_domain_maps(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        '[experimental_network]\nallowed_domains = ["z.com","a.com"]\ndenied_domains = ["d.com"]\n'
        'allow_unix_sockets = ["/s"]',
    )
    assert got is not None and got["network"] == {
        **NETWORK_NULLS,
        "domains": {"a.com": "allow", "d.com": "deny", "z.com": "allow"},
        "allowedDomains": ["a.com", "z.com"],
        "deniedDomains": ["d.com"],
        "unixSockets": {"/s": "allow"},
        "allowUnixSockets": ["/s"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "[experimental_network]",
        "[experimental_network]\nallowed_domains = []",
        "[experimental_network]\nbogus = 1",
    ],
)
def test_empty_network_table_is_present_with_all_members_null(tmp_path: Path, text: str) -> None:
    got = _set(tmp_path, text)
    assert got is not None and got["network"] == NETWORK_NULLS


def test_network_deny_only_unix_socket_has_no_allow_list(tmp_path: Path) -> None:
    got = _set(tmp_path, '[experimental_network]\nunix_sockets = {"/a"="deny"}')
    assert got is not None and got["network"] == {**NETWORK_NULLS, "unixSockets": {"/a": "deny"}}


def test_hooks_have_every_event_and_camel_case_handlers(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            '[hooks]\nmanaged_dir = "/etc/codex/hooks"\n[[hooks.PreToolUse]]\nmatcher = "Bash"\n'
            '[[hooks.PreToolUse.hooks]]\ntype = "command"\ncommand = "echo hi"\ntimeout = 5'
        ),
    )
    assert got is not None
    assert list(got["hooks"]) == [
        "PreModelRequest",
        "PostModelRequest",
        "managedDir",
        "windowsManagedDir",
        *HOOK_EVENTS[2:],
    ]
    assert got["hooks"]["managedDir"] == "/etc/codex/hooks"
    assert got["hooks"]["PreToolUse"] == [
        {
            "matcher": "Bash",
            "hooks": [
                {
                    "type": "command",
                    "command": "echo hi",
                    "commandWindows": None,
                    "timeoutSec": 5,
                    "async": False,
                    "statusMessage": None,
                    "additionalContextLimit": None,
                }
            ],
        }
    ]
    assert all(got["hooks"][e] == [] for e in HOOK_EVENTS if e != "PreToolUse")


def test_hook_handler_field_spellings(tmp_path: Path) -> None:
    base = (
        '[hooks]\nmanaged_dir = "/d"\n[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\ncommand = "x"\n'
    )
    camel = _set(
        tmp_path, base + 'timeoutSec = 3\nstatusMessage = "s"\nadditionalContextLimit = 4\ncommandWindows="w"'
    )
    assert camel is not None and camel["hooks"]["Stop"][0]["hooks"][0] == {
        "type": "command",
        "command": "x",
        "commandWindows": "w",
        "timeoutSec": None,
        "async": False,
        "statusMessage": "s",
        "additionalContextLimit": 4,
    }
    snake = _set(
        tmp_path,
        base + 'status_message = "s"\nadditional_context_limit = 4\ntimeout = 7\ncommand_windows = "y"',
    )
    assert snake is not None and snake["hooks"]["Stop"][0]["hooks"][0] == {
        "type": "command",
        "command": "x",
        "commandWindows": "y",
        "timeoutSec": 7,
        "async": False,
        "statusMessage": None,
        "additionalContextLimit": None,
    }


def test_mcp_tool_prompt_and_agent_hook_handlers(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            '[[hooks.Stop]]\nmatcher = "m"\n[[hooks.Stop.hooks]]\ntype = "mcp_tool"\nserver = "s"\ntool = "t"\n'
            'timeout = 4\nstatusMessage = "m"\n[[hooks.Stop.hooks]]\ntype = "prompt"\nprompt = "x"\n'
            '[[hooks.Stop.hooks]]\ntype = "agent"'
        ),
    )
    assert got is not None and got["hooks"]["managedDir"] is None
    assert got["hooks"]["Stop"] == [
        {
            "matcher": "m",
            "hooks": [
                {
                    "type": "mcp_tool",
                    "server": "s",
                    "tool": "t",
                    "input": {},
                    "timeoutSec": 4,
                    "statusMessage": "m",
                },
                {"type": "prompt"},
                {"type": "agent"},
            ],
        }
    ]


def test_computer_use_nested_objects(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            '[computer_use]\nallow_locked_computer_use = false\nallow_persistent_approval = true\ndefault_app_access = "deny"\n'
            '[computer_use.macos]\nbundle_ids = {"com.b" = "allow", "com.a" = "deny"}\n[computer_use.windows]\n'
            'aumids = {"x"="allow"}\nexes = [{access="deny", product_name="P", publisher_name="Pub", binary_name="b.exe"}, '
            '{access="allow", product_name="Q", publisher_name="R"}]'
        ),
    )
    assert got is not None
    assert json.dumps(got["computerUse"]) == json.dumps(
        {
            "allowLockedComputerUse": False,
            "allowPersistentApproval": True,
            "defaultAppAccess": "deny",
            "macos": {"bundleIds": {"com.a": "deny", "com.b": "allow"}},
            "windows": {
                "aumids": {"x": "allow"},
                "exes": [
                    {"publisherName": "Pub", "productName": "P", "binaryName": "b.exe", "access": "deny"},
                    {"publisherName": "R", "productName": "Q", "binaryName": None, "access": "allow"},
                ],
            },
        }
    )


def test_browser_use_nested_objects(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            "[browser_use]\nallow_history_access = false\ndisable_auto_review = true\nallow_global_persistent_approval = false\n"
            'allow_webmcp = true\n[browser_use.default_origin_policy]\naccess = "deny"\ndownloads = "allow"\nuploads = "deny"\n'
            'full_cdp_access = "allow"\nauto_review = "deny"\npersistent_approval = false\naccess_approval_lifetime = "turn"\n'
            '[browser_use.origins."https://example.com"]\naccess = "allow"\n[browser_use.extension]\n'
            'request_headers = [{name="X-A", value="1"}]'
        ),
    )
    assert got is not None
    assert json.dumps(got["browserUse"]) == json.dumps(
        {
            "extension": {"requestHeaders": [{"name": "X-A", "value": "1"}]},
            "allowWebmcp": True,
            "allowHistoryAccess": False,
            "disableAutoReview": True,
            "allowGlobalPersistentApproval": False,
            "defaultOriginPolicy": {
                "access": "deny",
                "downloads": "allow",
                "uploads": "deny",
                "fullCdpAccess": "allow",
                "autoReview": "deny",
                "persistentApproval": False,
                "accessApprovalLifetime": "turn",
            },
            "origins": {
                "https://example.com": {
                    "access": "allow",
                    "downloads": None,
                    "uploads": None,
                    "fullCdpAccess": None,
                    "autoReview": None,
                    "persistentApproval": None,
                    "accessApprovalLifetime": None,
                }
            },
        }
    )


def test_browser_use_extension_with_empty_headers_still_defines_requirements(tmp_path: Path) -> None:
    got = _set(tmp_path, "[browser_use.extension]\nrequest_headers = []")
    assert got is not None and got["browserUse"]["extension"] == {"requestHeaders": []}


@pytest.mark.parametrize(
    ("text", "member", "expected"),
    [
        ("[feedback]\nenabled = false", "feedback", {"enabled": False}),
        (
            '[auto_review]\nrequired_on_models = ["gpt-5"]\nignore_rules = ["r1"]',
            "autoReview",
            {"requiredOnModels": ["gpt-5"], "ignoreRules": ["r1"]},
        ),
        (
            '[models.new_thread]\nmodel = "m"',
            "models",
            {"newThread": {"model": "m", "modelReasoningEffort": None, "serviceTier": None}},
        ),
        (
            "[in_app_browser]\nallow_external_browser_settings_import = false",
            "inAppBrowser",
            {"allowExternalBrowserSettingsImport": False},
        ),
        (
            '[application.storage]\ndefault_project_parent = "/p"',
            "application",
            {"network": None, "storage": {"defaultProjectParent": "/p", "projectlessWorkspaceRoot": None}},
        ),
        (
            "[application.network]\nenabled = false",
            "application",
            {"network": {"enabled": False, "domains": {}}, "storage": None},
        ),
        (
            '[application.network]\ndomains = {"a"="deny"}',
            "application",
            {"network": {"enabled": True, "domains": {"a": "deny"}}, "storage": None},
        ),
        (
            '[otel]\nenvironment = "x"',
            "otel",
            {
                "tool_result": None,
                "log_sse_deltas": None,
                "log_user_prompt": None,
                "log_agent_responses": None,
                "log_guardian_assessments": None,
                "environment": "x",
                "exporter": None,
                "trace_exporter": None,
                "metrics_exporter": None,
                "span_attributes": None,
                "tracestate": None,
            },
        ),
    ],
)
def test_small_nested_objects_have_every_member(
    tmp_path: Path, text: str, member: str, expected: dict[str, Any]
) -> None:
    got = _set(tmp_path, text)
    assert got is not None and got[member] == expected


def test_otel_exporter_headers_are_redacted(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        (
            '[otel]\nenvironment = "prod"\nlog_user_prompt = false\nexporter = "none"\n'
            '[otel.trace_exporter.otlp-http]\nendpoint = "https://o/"\nprotocol = "json"\n'
            'headers = {Authorization = "secret"}'
        ),
    )
    assert got is not None
    assert got["otel"]["exporter"] == "none"
    assert got["otel"]["trace_exporter"] == {
        "otlp-http": {
            "endpoint": "https://o/",
            "headers": {"Authorization": "[redacted]"},
            "protocol": "json",
            "tls": None,
        }
    }


def test_model_providers_are_listed_with_config_field_names_and_defaults(tmp_path: Path) -> None:
    got = _set(
        tmp_path, '[model_providers.corp]\nname = "Corp"\nbase_url = "https://corp/v1"\nenv_key = "CORP_KEY"'
    )
    assert got is not None
    corp = got["modelProviders"]["corp"]
    assert list(corp)[:4] == ["name", "base_url", "model_catalog_url", "env_key"]
    assert (
        corp["name"],
        corp["base_url"],
        corp["env_key"],
        corp["wire_api"],
        corp["requires_openai_auth"],
    ) == ("Corp", "https://corp/v1", "CORP_KEY", "responses", False)
    assert len(corp) == 24


# ---------------------------------------------------------------------------- legacy managed_config.toml


def test_managed_config_approval_policy_wins_over_requirements_file(tmp_path: Path) -> None:
    got = _set(tmp_path, 'allowed_approval_policies = ["on-request"]', {"approval_policy": "never"})
    assert got == {"allowedLoginMethods": ["api", "chatgpt"], "allowedApprovalPolicies": ["never"]}


@pytest.mark.parametrize(
    ("managed", "member", "expected"),
    [
        ({"approvals_reviewer": "auto_review"}, "allowedApprovalsReviewers", ["auto_review", "user"]),
        ({"approvals_reviewer": "guardian_subagent"}, "allowedApprovalsReviewers", ["auto_review", "user"]),
        ({"approvals_reviewer": "user"}, "allowedApprovalsReviewers", ["user"]),
        ({"sandbox_mode": "workspace-write"}, "allowedSandboxModes", ["read-only", "workspace-write"]),
        ({"sandbox_mode": "read-only"}, "allowedSandboxModes", ["read-only"]),
        ({"sandbox_mode": "danger-full-access"}, "allowedSandboxModes", ["read-only", "danger-full-access"]),
        ({"approval_policy": "on-failure"}, "allowedApprovalPolicies", ["on-request"]),
    ],
)
def test_managed_config_key_becomes_requirement(
    tmp_path: Path, managed: dict[str, Any], member: str, expected: list[str]
) -> None:
    got = _set(tmp_path, None, managed)
    assert got == {"allowedLoginMethods": ["api", "chatgpt"], member: expected}


def test_managed_config_wins_per_field_only(tmp_path: Path) -> None:
    got = _set(
        tmp_path,
        'allowed_sandbox_modes = ["read-only","danger-full-access"]\nallowed_approvals_reviewers=["user"]',
        {"sandbox_mode": "workspace-write"},
    )
    assert got == {
        "allowedLoginMethods": ["api", "chatgpt"],
        "allowedApprovalsReviewers": ["user"],
        "allowedSandboxModes": ["read-only", "workspace-write"],
    }


def test_managed_config_without_requirement_keys_defines_nothing(tmp_path: Path) -> None:
    assert _load(tmp_path, None, {"model": "x"}).wire({}) is None


@pytest.mark.parametrize(
    ("managed", "expected"),
    [
        (
            {"approval_policy": "bogus"},
            "unknown variant `bogus`, expected one of `untrusted`, `on-failure`, `on-request`, `granular`, `never`\nin `approval_policy`\n",
        ),
        (
            {"sandbox_mode": "bogus"},
            "unknown variant `bogus`, expected one of `read-only`, `workspace-write`, `danger-full-access`\nin `sandbox_mode`\n",
        ),
        (
            {"approvals_reviewer": "bogus"},
            "unknown variant `bogus`, expected one of `user`, `auto_review`, `guardian_subagent`\nin `approvals_reviewer`\n",
        ),
        ({"sandbox_mode": 5}, "invalid type: unit variant, expected string only\nin `sandbox_mode`\n"),
        ({"approval_policy": 5}, "invalid type: unit variant, expected string only\nin `approval_policy`\n"),
    ],
)
def test_invalid_managed_config_requirement_refuses_to_start(
    tmp_path: Path, managed: dict[str, Any], expected: str
) -> None:
    assert _error(tmp_path, "", managed) == "Failed to parse config requirements as TOML: " + expected


# ---------------------------------------------------------------------------- refuse-to-start errors


@pytest.mark.parametrize(
    ("text", "detail", "key"),
    [
        (
            'allowed_approval_policies = "x"',
            'invalid type: string "x", expected a sequence',
            "allowed_approval_policies",
        ),
        (
            'allowed_approval_policies = ["bogus"]',
            "unknown variant `bogus`, expected one of `untrusted`, `on-failure`, `on-request`, `granular`, `never`",
            "allowed_approval_policies",
        ),
        (
            "allowed_approval_policies = [{granular = {sandbox_approval=true}}]",
            "missing field `rules`",
            "allowed_approval_policies",
        ),
        (
            'allowed_approvals_reviewers = ["x"]',
            "unknown variant `x`, expected one of `user`, `auto_review`, `guardian_subagent`",
            "allowed_approvals_reviewers",
        ),
        (
            'allowed_sandbox_modes = ["read-only","x"]',
            "unknown variant `x`, expected one of `read-only`, `workspace-write`, `danger-full-access`, `external-sandbox`",
            "allowed_sandbox_modes",
        ),
        (
            'allowed_web_search_modes = ["x"]',
            "unknown variant `x`, expected one of `disabled`, `cached`, `indexed`, `live`",
            "allowed_web_search_modes",
        ),
        ('[features]\nmemories = "x"', 'invalid type: string "x", expected a boolean', "features"),
        ("features = 5", "invalid type: integer `5`, expected struct FeatureRequirementsInput", "features"),
        ('enforce_residency = "eu"', "unknown variant `eu`, expected `us`", "enforce_residency"),
        ('allow_appshots = "yes"', 'invalid type: string "yes", expected a boolean', "allow_appshots"),
        (
            'cli_auth_credentials_store = "x"',
            "unknown variant `x`, expected one of `file`, `keyring`, `auto`, `ephemeral`",
            "cli_auth_credentials_store",
        ),
        (
            'allowed_login_methods = ["x"]',
            "unknown variant `x`, expected `chatgpt` or `api`",
            "allowed_login_methods",
        ),
        (
            '[windows]\nallowed_sandbox_implementations = ["mxc"]',
            "unknown variant `mxc`, expected `elevated` or `unelevated`",
            "windows.allowed_sandbox_implementations",
        ),
        ("windows = 5", "invalid type: integer `5`, expected struct WindowsRequirementsToml", "windows"),
        (
            '[experimental_network]\nunix_sockets = {"/a"="none"}',
            "unknown variant `none`, expected `allow` or `deny`",
            "experimental_network.unix_sockets",
        ),
        (
            '[experimental_network]\ndomains = {a="maybe"}',
            "unknown variant `maybe`, expected `allow` or `deny`",
            "experimental_network.domains",
        ),
        (
            "[experimental_network]\nhttp_port = 70000",
            "invalid value: integer `70000`, expected u16",
            "experimental_network.http_port",
        ),
        (
            '[experimental_network]\nenabled = "x"',
            'invalid type: string "x", expected a boolean',
            "experimental_network.enabled",
        ),
        (
            "experimental_network = 5",
            "invalid type: integer `5`, expected struct RawNetworkRequirementsToml",
            "experimental_network",
        ),
        (
            '[experimental_network]\ndomains = {a="allow"}\nallowed_domains = ["x"]',
            "`domains` cannot be combined with legacy `allowed_domains` or `denied_domains` in managed network requirements",
            "experimental_network",
        ),
        (
            '[experimental_network]\nunix_sockets = {"/a"="allow"}\nallow_unix_sockets = ["/x"]',
            "`unix_sockets` cannot be combined with legacy `allow_unix_sockets` in managed network requirements",
            "experimental_network",
        ),
        (
            '[hooks]\nmanaged_dir = "/d"\n[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "bogus"',
            "unknown variant `bogus`, expected one of `command`, `mcp_tool`, `prompt`, `agent`",
            "hooks",
        ),
        ('[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"', "missing field `command`", "hooks"),
        ('[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ncommand="x"', "missing field `type`", "hooks"),
        ("[hooks]\nStop = 5", "invalid type: integer `5`, expected a sequence", "hooks"),
        (
            '[[hooks.Stop]]\n[[hooks.Stop.hooks]]\ntype = "command"\ncommand = "x"\ntimeout = "x"',
            'invalid type: string "x", expected u64',
            "hooks",
        ),
        ("[hooks]\nmanaged_dir = 5", "invalid type: integer `5`, expected path string", "hooks.managed_dir"),
        (
            '[computer_use]\ndefault_app_access = "x"',
            "unknown variant `x`, expected `allow` or `deny`",
            "computer_use.default_app_access",
        ),
        (
            '[browser_use.default_origin_policy]\naccess_approval_lifetime = "forever"',
            "unknown variant `forever`, expected `turn` or `thread`",
            "browser_use.default_origin_policy.access_approval_lifetime",
        ),
        (
            "[otel]\nbar = 1",
            "unknown field `bar`, expected one of `tool_result`, `log_sse_deltas`, `log_user_prompt`, `log_agent_responses`, `log_guardian_assessments`, `environment`, `exporter`, `trace_exporter`, `metrics_exporter`, `span_attributes`, `tracestate`",
            "otel",
        ),
    ],
)
def test_invalid_requirement_value_refuses_to_start_with_serde_text(
    tmp_path: Path, text: str, detail: str, key: str
) -> None:
    assert _error(tmp_path, text) == _layer_error(tmp_path, detail, key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("allowed_approval_policies = []", "field `allowed_approval_policies` cannot be empty"),
        ("allowed_approvals_reviewers = []", "field `allowed_approvals_reviewers` cannot be empty"),
        (
            "[windows]\nallowed_sandbox_implementations = []",
            "field `windows.allowed_sandbox_implementations` cannot be empty",
        ),
        ("allowed_login_methods = []", "authentication requirements do not permit any usable login method"),
        ('model_provider = "oss"', "Model provider `oss` not found"),
        (
            'allowed_permission_profiles = { ":read-only" = true }',
            "requirements.toml default_permissions must be set unless allowed_permission_profiles allows both `:workspace` and `:read-only`",
        ),
        (
            'default_permissions = ":read-only"',
            "requirements.toml default_permissions requires allowed_permission_profiles",
        ),
        (
            'allowed_permission_profiles = { "custom" = true }',
            "requirements.toml allowed_permission_profiles refers to undefined profile `custom`",
        ),
        (
            'allowed_permission_profiles = { ":read-only" = true, ":workspace" = false }\ndefault_permissions = ":workspace"',
            "requirements.toml default_permissions `:workspace` must be allowed by allowed_permission_profiles",
        ),
        (
            'allowed_permission_profiles = { ":read-only" = true }\ndefault_permissions = ":danger-full-access"',
            "requirements.toml default_permissions `:danger-full-access` must be allowed by allowed_permission_profiles",
        ),
        ('model_catalog_json = "/nonexistent.json"', "No such file or directory (os error 2)"),
        (
            '[model_providers.openai]\nname = "X"',
            "model_providers contains reserved built-in provider IDs: `openai`. Built-in providers cannot be overridden. "
            "Rename your custom provider (for example, `openai-custom`).",
        ),
        ("[model_providers.corp]\nfoo = 1", "model_providers.corp: provider name must not be empty"),
    ],
)
def test_semantic_requirement_error_refuses_to_start(tmp_path: Path, text: str, expected: str) -> None:
    assert _error(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("modes", "listed"),
    [
        ('["workspace-write"]', "[WorkspaceWrite]"),
        ("[]", "[]"),
        ('["danger-full-access","workspace-write"]', "[DangerFullAccess, WorkspaceWrite]"),
    ],
)
def test_sandbox_modes_without_read_only_refuse_to_start(tmp_path: Path, modes: str, listed: str) -> None:
    assert _error(tmp_path, f"allowed_sandbox_modes = {modes}") == (
        f"invalid value for `allowed_sandbox_modes`: `{listed}` is not in the allowed set must include "
        f"'read-only' to allow any PermissionProfile (set by {tmp_path / 'requirements.toml'})"
    )


def test_empty_model_catalog_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "cat.json").write_text('{"models": []}', encoding="utf-8")
    assert _error(tmp_path, f'model_catalog_json = "{tmp_path}/cat.json"') == (
        f"model_catalog_json path `{tmp_path}/cat.json` must contain at least one model"
    )


# ---------------------------------------------------------------------------- degraded start


def test_requirements_file_that_is_not_toml_is_a_parse_error_with_toml_rs_snippet(tmp_path: Path) -> None:
    with pytest.raises(TomlParseError) as info:
        _load(tmp_path, "allowed_approval_policies = [\nfoo")
    detail = str(info.value)
    assert isinstance(info.value, RequirementsParseError)
    assert detail.startswith(
        f"failed to parse requirements layer {tmp_path / 'requirements.toml'}: TOML parse error at line 2, column "
    )
    assert "\n  |\n2 | foo\n  |" in detail and detail.endswith("\n")


def test_unknown_application_key_is_a_degraded_start_not_a_refusal(tmp_path: Path) -> None:
    with pytest.raises(RequirementsParseError) as info:
        _load(tmp_path, "[application.storage]\nfoo = 1")
    assert str(info.value) == _layer_error(
        tmp_path,
        "unknown field `foo`, expected `default_project_parent` or `projectless_workspace_root`",
        "application.storage",
    )


# ---------------------------------------------------------------------------- pins


def test_exact_pins_use_config_form_values(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        (
            'model_provider = "ollama"\nchatgpt_base_url = "https://e/"\ncli_auth_credentials_store="keyring"\n'
            'allow_login_shell = false\ncheck_for_update_on_startup = false\nlog_dir="/l"\nsqlite_home="/s"\n'
            'additional_developer_instructions="z"'
        ),
    )
    src = str(tmp_path / "requirements.toml")
    assert {k: (p.value, p.source_path) for k, p in req.exact_pins.items()} == {
        "chatgpt_base_url": ("https://e/", src),
        "model_provider": ("ollama", src),
        "cli_auth_credentials_store": ("keyring", src),
        "allow_login_shell": (False, src),
        "check_for_update_on_startup": (False, src),
        "sqlite_home": ("/s", src),
        "log_dir": ("/l", src),
    }


def test_apply_pins_overrides_config_values_and_replaces_model_providers(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        'chatgpt_base_url = "https://e/"\n[model_providers.corp]\nname="C"\n[features]\nmemories = false',
    )
    out = req.apply_pins(
        {
            "chatgpt_base_url": "https://u/",
            "model_providers": {"mine": {"name": "M"}},
            "features": {"memories": True, "apps": False},
        }
    )
    assert out["chatgpt_base_url"] == "https://e/"
    assert list(out["model_providers"]) == ["corp"]
    assert out["features"] == {"memories": False, "apps": False}


def test_feature_pin_violation_lists_pins_in_file_order(tmp_path: Path) -> None:
    req = _load(tmp_path, "[features]\nmemories = false\napps = true")
    assert req.feature_pins() == {"memories": False, "apps": True}
    assert req.check_features({"memories": True}) == (
        "invalid value for `features`: `features.memories=true` is not in the allowed set "
        f"[memories=false, apps=true] (set by {tmp_path / 'requirements.toml'})"
    )
    assert req.check_features({"memories": False, "other": True}) is None


# ---------------------------------------------------------------------------- warnings


def test_unknown_requirement_keys_become_sorted_lines(tmp_path: Path) -> None:
    req = _load(tmp_path, "zeta=1\nalpha=2")
    src = tmp_path / "requirements.toml"
    assert req.unknown_setting_lines() == [
        f"  requirements ({src}): `alpha` is ignored.",
        f"  requirements ({src}): `zeta` is ignored.",
    ]


def test_single_unknown_key_summary(tmp_path: Path) -> None:
    req = _load(tmp_path, "unknown_requirement = 1")
    assert unrecognized_settings_warning(req.unknown_setting_lines()) == (
        "Codex is ignoring 1 unrecognized configuration setting. Check for typos or deprecated settings.\n"
        f"  requirements ({tmp_path / 'requirements.toml'}): `unknown_requirement` is ignored."
    )


def test_unknown_keys_merge_with_config_layer_lines_sorted_and_capped_at_three(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        (
            'a=1\n[experimental_network]\nbogus = 1\n[hooks]\nmanaged_dir="/d"\nweird=1\n[computer_use]\nfoo=1\n'
            "[browser_use]\nbar=1\n[feedback]\nbaz=1\n[auto_review]\nq=1\n[windows]\nw=1\n[features]\n"
            "memories=false\n[models]\nm=1\n[in_app_browser]\ni=1"
        ),
    )
    src = tmp_path / "requirements.toml"
    lines = req.unknown_setting_lines()
    assert len(lines) == 9
    assert unrecognized_settings_warning(lines) == (
        "Codex is ignoring 9 unrecognized configuration settings. Check for typos or deprecated settings.\n"
        f"  requirements ({src}): `a` is ignored.\n  requirements ({src}): `auto_review.q` is ignored.\n"
        f"  requirements ({src}): `browser_use.bar` is ignored.\n  ... and 6 more ignored settings."
    )
    user = "  user (/home/u/config.toml): `u1` is ignored."
    managed = "  legacy managed_config.toml (/etc/codex/managed_config.toml): `bogus_key` is ignored."
    summary = unrecognized_settings_warning(
        [user, managed, *_load(tmp_path, "x_unknown = 1").unknown_setting_lines()]
    )
    assert summary is not None and summary.splitlines()[1:] == [
        managed,
        f"  requirements ({src}): `x_unknown` is ignored.",
        user,
    ]


def test_allowed_permissions_key_is_ignored_with_migration_hint(tmp_path: Path) -> None:
    req = _load(tmp_path, 'guardian_policy_config = "x"\nallowed_permissions=["a"]')
    assert req.wire({}) is not None
    assert req.unknown_setting_lines() == [
        f"  requirements ({tmp_path / 'requirements.toml'}): `allowed_permissions` is ignored. Use "
        "[allowed_permission_profiles] and default_permissions; the old allowlist is ignored even when both forms are present."
    ]


def test_pin_warnings_in_reference_order_with_rust_debug_values(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        (
            'model_provider = "ollama"\nchatgpt_base_url = "https://e/"\ncli_auth_credentials_store="keyring"\n'
            'allow_login_shell = false\ncheck_for_update_on_startup = false\nlog_dir="/l"\nsqlite_home="/s"'
        ),
    )
    src = tmp_path / "requirements.toml"
    configured = {
        "model_provider": "lmstudio",
        "allow_login_shell": True,
        "check_for_update_on_startup": True,
        "log_dir": "/x",
        "sqlite_home": "/y",
        "chatgpt_base_url": "https://u/",
        "cli_auth_credentials_store": "file",
    }
    assert req.warnings(configured) == [
        f"Configured value for `cli_auth_credentials_store` is overridden by the required value Keyring from {src}.",
        f'Configured value for `chatgpt_base_url` is overridden by the required value "https://e/" from {src}.',
        f'Configured value for `sqlite_home` is overridden by the required value AbsolutePathBuf("/s") from {src}.',
        f'Configured value for `log_dir` is overridden by the required value AbsolutePathBuf("/l") from {src}.',
        f'Configured value for `model_provider` is overridden by the required value "ollama" from {src}.',
        f"Configured value for `check_for_update_on_startup` is overridden by the required value false from {src}.",
        f"Configured value for `allow_login_shell` is overridden by the required value false from {src}.",
    ]


def test_pin_warnings_compare_defaults_only_for_base_url_and_credentials_store(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        (
            'model_provider = "ollama"\nchatgpt_base_url = "https://e/"\ncli_auth_credentials_store="keyring"\n'
            'allow_login_shell = false\nlog_dir="/l"'
        ),
    )
    src = tmp_path / "requirements.toml"
    defaults = {
        "chatgpt_base_url": "https://chatgpt.com/backend-api/",
        "cli_auth_credentials_store": "file",
        "allow_login_shell": True,
        "model_provider": None,
        "log_dir": None,
    }
    assert req.warnings(defaults, configured={}) == [
        f"Configured value for `cli_auth_credentials_store` is overridden by the required value Keyring from {src}.",
        f'Configured value for `chatgpt_base_url` is overridden by the required value "https://e/" from {src}.',
    ]


def test_pin_equal_to_configured_value_gives_no_warning(tmp_path: Path) -> None:
    req = _load(tmp_path, 'chatgpt_base_url = "https://chatgpt.com/backend-api/"')
    assert req.warnings({"chatgpt_base_url": "https://chatgpt.com/backend-api/"}) == []


def test_disallowed_configured_values_fall_back_with_warnings(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        'allowed_sandbox_modes = ["read-only"]\nallowed_approvals_reviewers=["user"]\n'
        'allowed_approval_policies=["never","untrusted"]',
    )
    src = tmp_path / "requirements.toml"
    assert req.warnings(
        {
            "sandbox_mode": "workspace-write",
            "approvals_reviewer": "auto_review",
            "approval_policy": "on-request",
        }
    ) == [
        "Configured value for `approval_policy` is disallowed by requirements; falling back to required value Never. "
        f"Details: invalid value for `approval_policy`: `OnRequest` is not in the allowed set [Never, UnlessTrusted] (set by {src})",
        "Configured value for `approvals_reviewer` is disallowed by requirements; falling back to required value User. "
        f"Details: invalid value for `approvals_reviewer`: `AutoReview` is not in the allowed set [User] (set by {src})",
        "Configured value for `permission_profile` is disallowed by requirements; falling back to required value "
        "Managed { file_system: Restricted { entries: [FileSystemSandboxEntry { path: Special { value: Root }, access: "
        "Read, missing_path_behavior: None }], glob_scan_max_depth: None }, network: Restricted }. Details: invalid "
        f"value for `sandbox_mode`: `WorkspaceWrite` is not in the allowed set [ReadOnly] (set by {src})",
    ]


def test_unset_approval_settings_are_not_reported_as_disallowed(tmp_path: Path) -> None:
    req = _load(
        tmp_path,
        'allowed_approval_policies=["never"]\nallowed_approvals_reviewers=["auto_review"]\nallowed_sandbox_modes=["read-only"]',
    )
    assert req.warnings({"approval_policy": None, "approvals_reviewer": None, "sandbox_mode": None}) == []


@pytest.mark.parametrize(
    ("modes", "configured", "fallback", "candidate", "allowed"),
    [
        ('["disabled"]', "live", "Disabled", "Live", "[Disabled]"),
        ('["cached"]', "live", "Cached", "Live", "[Disabled, Cached]"),
        ('["live","indexed"]', None, "Indexed", "Cached", "[Disabled, Indexed, Live]"),
    ],
)
def test_disallowed_web_search_mode_warning(
    tmp_path: Path, modes: str, configured: str | None, fallback: str, candidate: str, allowed: str
) -> None:
    req = _load(tmp_path, f"allowed_web_search_modes = {modes}")
    assert req.warnings({"web_search": configured}) == [
        f"Configured value for `web_search_mode` is disallowed by requirements; falling back to required value {fallback}. "
        f"Details: invalid value for `web_search_mode`: `{candidate}` is not in the allowed set {allowed} "
        f"(set by {tmp_path / 'requirements.toml'})"
    ]


# ---------------------------------------------------------------------------- against the real server

LIVE_FILES = [
    'allowed_approval_policies = ["on-request","never"]\nallowed_sandbox_modes = ["read-only","workspace-write","external-sandbox"]\n'
    'allowed_web_search_modes = ["cached"]\nenforce_residency = "us"\nallow_managed_hooks_only = true\n'
    'chatgpt_base_url = "https://example.com/backend-api/"\nmodel_provider = "openai"\ncli_auth_credentials_store = "file"\n'
    "allow_login_shell = false\n[features]\nmemories = false\napps = true\n[experimental_network]\nenabled = true\n"
    'domains = { "a.example" = "allow", "b.example" = "deny" }\nunix_sockets = { "/run/x.sock" = "allow" }\n'
    'managed_allowed_domains_only = true\n[hooks]\nmanaged_dir = "/etc/codex/hooks"\n[[hooks.PreToolUse]]\nmatcher = "Bash"\n'
    '[[hooks.PreToolUse.hooks]]\ntype = "command"\ncommand = "echo hi"\ntimeout = 5\n',
    'sqlite_home = "/var/lib/codex"\n[computer_use]\ndefault_app_access = "allow"\n[browser_use]\nallow_webmcp = true\n[feedback]\nenabled = false\n'
    '[auto_review]\nignore_rules = ["r"]\n[models.new_thread]\nmodel = "m"\n[in_app_browser]\n'
    'allow_external_browser_settings_import = true\n[application.network]\nenabled = false\n[otel]\nenvironment = "x"\n'
    '[windows]\nallowed_sandbox_implementations = ["elevated"]\n',
    'allowed_approvals_reviewers = ["guardian_subagent"]\nallowed_permission_profiles = { ":read-only" = true, ":workspace" = true }\n'
    '[model_providers.corp]\nname = "Corp"\n[experimental_network]\nallowed_domains = ["z.com"]\n',
]


@pytest.mark.parametrize("text", LIVE_FILES)
def test_wire_matches_the_reference_server(
    tmp_path: Path, text: str, reference_startup_config: Callable[[str], subprocess.CompletedProcess[str]]
) -> None:
    proc = reference_startup_config(text)
    etc = tmp_path / "etc"
    assert proc.returncode == 0, proc.stderr
    expected = json.loads(proc.stdout)["configRequirements"]["requirements"]
    ours = load_requirements(etc, None).wire({})
    assert json.dumps(ours) == json.dumps(expected)
