"""Which error a requirements table reports first when several members are wrong, and at which path.

serde visits the members of a table in document order and reports a missing field after every
present member; an error path extends by struct members and map keys but not by array elements,
an ignored key's path by array indices too. Every expected text was observed on codex-cli 0.169.0
(``codex app-server --print-startup-config`` with a private ``/etc/codex``); the live test at the
bottom replays them against the real server when it can.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from chamberlain.errors import RequirementsError, TomlParseError
from chamberlain.store.requirements import load_requirements

CASES: list[tuple[str, str]] = [
    (
        '[computer_use]\ndefault_app_access = "x"\nallow_locked_computer_use = 5',
        "unknown variant `x`, expected `allow` or `deny`\nin `computer_use.default_app_access`",
    ),
    (
        '[computer_use]\nallow_locked_computer_use = 5\ndefault_app_access = "x"',
        "invalid type: integer `5`, expected a boolean\nin `computer_use.allow_locked_computer_use`",
    ),
    (
        '[computer_use.windows]\nexes = [{access = "allow", product_name = 5}]',
        "invalid type: integer `5`, expected a string\nin `computer_use.windows.exes.product_name`",
    ),
    (
        '[computer_use.windows]\nexes = [{product_name = "p"}]',
        "missing field `publisher_name`\nin `computer_use.windows.exes`",
    ),
    (
        '[computer_use.windows]\nexes = [{access = 5, product_name = "p", publisher_name = "q"}]',
        "invalid type: unit variant, expected string only\nin `computer_use.windows.exes.access`",
    ),
    (
        '[computer_use.macos]\nbundle_ids = { a = "x" }',
        "unknown variant `x`, expected `allow` or `deny`\nin `computer_use.macos.bundle_ids.a`",
    ),
    (
        "computer_use = []",
        "invalid length 0, expected struct ComputerUseRequirementsToml with 5 elements\nin `computer_use`",
    ),
    (
        '[browser_use]\norigins = { a = { access = "x" } }',
        "unknown variant `x`, expected `allow` or `deny`\nin `browser_use.origins.a.access`",
    ),
    (
        "[browser_use.default_origin_policy]\naccess = 5",
        "invalid type: unit variant, expected string only\nin `browser_use.default_origin_policy.access`",
    ),
    (
        "[browser_use.extension]\nrequest_headers = [{ name = 5 }]",
        "invalid type: integer `5`, expected a string\nin `browser_use.extension.request_headers.name`",
    ),
    (
        '[application]\nnetwork = { domains = { a = "x" }, enabled = 5 }',
        "unknown variant `x`, expected `allow` or `deny`\nin `application.network.domains.a`",
    ),
    (
        "[application.network]\ndomains = { a = 5 }",
        "invalid type: unit variant, expected string only\nin `application.network.domains.a`",
    ),
    (
        "[application.storage]\ndefault_project_parent = 5",
        "invalid type: integer `5`, expected path string\nin `application.storage.default_project_parent`",
    ),
    (
        "[otel]\nbar = 1\nenvironment = 5",
        "unknown field `bar`, expected one of `tool_result`, `log_sse_deltas`, `log_user_prompt`, "
        "`log_agent_responses`, `log_guardian_assessments`, `environment`, `exporter`, `trace_exporter`, "
        "`metrics_exporter`, `span_attributes`, `tracestate`\nin `otel`",
    ),
    (
        "[otel]\nenvironment = 5\nbar = 1",
        "invalid type: integer `5`, expected a string\nin `otel.environment`",
    ),
    ("[otel]\nexporter = {}", "wanted exactly 1 element, found 0 elements\nin `otel.exporter`"),
    ("[otel]\nexporter = { a = {}, b = {} }", "wanted exactly 1 element, more than 1 element\nin `otel.exporter`"),
    (
        "[otel]\nexporter = { otlp-http = 5 }",
        "invalid type: integer `5`, expected struct variant OtelExporterKind::OtlpHttp\nin `otel.exporter`",
    ),
    (
        "[otel]\nexporter = { otlp-http = [] }",
        "invalid length 0, expected struct variant OtelExporterKind::OtlpHttp with 4 elements\nin `otel.exporter`",
    ),
    ('[otel]\nexporter = "otlp-http"', "invalid type: unit variant, expected struct variant\nin `otel.exporter`"),
    ("[otel]\nexporter = 5", "invalid type: unit variant, expected string only\nin `otel.exporter`"),
    ("[otel]\nexporter = { none = 5 }", "expected table, found integer\nin `otel.exporter`"),
    ("[otel]\nexporter = { statsig = { a = 1 } }", "expected empty table\nin `otel.exporter`"),
    ('[otel]\nexporter = { otlp-http = { endpoint = "e" } }', "missing field `protocol`\nin `otel.exporter`"),
    (
        '[otel]\nexporter = { otlp-http = { endpoint = "e", protocol = "x" } }',
        "unknown variant `x`, expected `binary` or `json`\nin `otel.exporter.protocol`",
    ),
    (
        '[otel]\nexporter = { otlp-http = { endpoint = "e", headers = { a = 5 } } }',
        "invalid type: integer `5`, expected a string\nin `otel.exporter.headers.a`",
    ),
    (
        '[otel]\nexporter = { otlp-http = { endpoint = "e", tls = { ca-certificate = 5 } } }',
        "invalid type: integer `5`, expected path string\nin `otel.exporter.tls.ca-certificate`",
    ),
    (
        "[otel]\ntracestate = { a = { b = 5 } }",
        "invalid type: integer `5`, expected a string\nin `otel.tracestate.a.b`",
    ),
    (
        "[otel]\nspan_attributes = { a = 5 }",
        "invalid type: integer `5`, expected a string\nin `otel.span_attributes.a`",
    ),
    (
        "[otel]\ntool_result = { max_bytes = -1 }",
        "invalid value: integer `-1`, expected usize\nin `otel.tool_result.max_bytes`",
    ),
    (
        "[otel]\ntool_result = 5",
        "invalid type: integer `5`, expected struct ToolResultLogConfig\nin `otel.tool_result`",
    ),
    ("otel = []", "invalid length 0, expected struct OtelRequirementsToml with 11 elements\nin `otel`"),
    (
        "[computer_use]\ndefault_app_access = { allow = { x = 1 } }",
        "expected empty table\nin `computer_use.default_app_access`",
    ),
    ("feedback = 5", "invalid type: integer `5`, expected struct FeedbackConfigToml\nin `feedback`"),
    (
        "in_app_browser = 5",
        "invalid type: integer `5`, expected struct InAppBrowserRequirementsToml\nin `in_app_browser`",
    ),
    ("auto_review = 5", "invalid type: integer `5`, expected struct AutoReviewRequirementsToml\nin `auto_review`"),
    ("[models.new_thread]\nmodel = 5", "invalid type: integer `5`, expected a string\nin `models.new_thread.model`"),
    (
        '[experimental_network]\nhttp_port = "x"\nenabled = 7',
        'invalid type: string "x", expected u16\nin `experimental_network.http_port`',
    ),
    (
        "[experimental_network]\nunix_sockets = { a = 5 }",
        "invalid type: integer `5`, expected string or map\nin `experimental_network.unix_sockets`",
    ),
    (
        'allow_appshots = "x"\nallowed_login_methods = [5]',
        'invalid type: string "x", expected a boolean\nin `allow_appshots`',
    ),
    (
        'allowed_sandbox_modes = 5\nallowed_approval_policies = ["bogus"]',
        "invalid type: integer `5`, expected a sequence\nin `allowed_sandbox_modes`",
    ),
    ("sqlite_home = 5\nmodel_provider = 5", "invalid type: integer `5`, expected path string\nin `sqlite_home`"),
    (
        "allowed_permission_profiles = { a = 5 }",
        "invalid type: integer `5`, expected a boolean\nin `allowed_permission_profiles.a`",
    ),
    ("feature_requirements = { a = 5 }", "invalid type: integer `5`, expected a boolean\nin `feature_requirements`"),
    (
        "[otel]\nenvironment = 5\n[computer_use]\ndefault_app_access = 5",
        "invalid type: integer `5`, expected a string\nin `otel.environment`",
    ),
    (
        "enforce_residency = 5\nallow_login_shell = 5",
        "invalid type: unit variant, expected string only\nin `enforce_residency`",
    ),
    (
        "allowed_approval_policies = [{granular = {sandbox_approval=5}}]",
        "invalid type: integer `5`, expected a boolean\nin `allowed_approval_policies.sandbox_approval`",
    ),
    (
        "allowed_approval_policies = [{granular = {}, never = {}}]",
        "wanted exactly 1 element, more than 1 element\nin `allowed_approval_policies`",
    ),
    ("allowed_approval_policies = [{}]", "wanted exactly 1 element, found 0 elements\nin `allowed_approval_policies`"),
    (
        "allowed_approval_policies = [5]",
        "invalid type: unit variant, expected string only\nin `allowed_approval_policies`",
    ),
    (
        "allowed_approval_policies = [{granular = 5}]",
        "invalid type: integer `5`, expected struct GranularApprovalConfig\nin `allowed_approval_policies`",
    ),
    (
        "allowed_approval_policies = [{granular = []}]",
        "invalid length 0, expected struct GranularApprovalConfig with 5 elements\nin `allowed_approval_policies`",
    ),
    (
        "[windows]\nallowed_sandbox_implementations = [5]",
        "invalid type: unit variant, expected string only\nin `windows.allowed_sandbox_implementations`",
    ),
    (
        "[hooks]\nStop = [{ hooks = [{ type = 5 }] }]",
        "invalid type: integer `5`, expected variant identifier\nin `hooks`",
    ),
]

_PREFIX = re.compile(r"^failed to parse requirements layer [^:]*requirements\.toml: ")


def _ours(tmp_path: Path, text: str) -> str:
    (tmp_path / "requirements.toml").write_text(text, encoding="utf-8")
    with pytest.raises((RequirementsError, TomlParseError)) as info:
        load_requirements(tmp_path, None)
    return _PREFIX.sub("", str(info.value)).rstrip("\n")


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_first_wrong_member_in_document_order_is_reported(tmp_path: Path, text: str, expected: str) -> None:
    assert _ours(tmp_path, text) == expected


def test_ignored_key_paths_name_map_keys_and_array_indices(tmp_path: Path) -> None:
    (tmp_path / "requirements.toml").write_text(
        '[browser_use]\norigins = { a = { access = "allow", bogus = 1 } }\n[computer_use.windows]\n'
        'exes = [{access = "allow", product_name = "p", publisher_name = "q", zork = 1}]\n',
        encoding="utf-8",
    )
    src = tmp_path / "requirements.toml"
    assert load_requirements(tmp_path, None).unknown_setting_lines() == [
        f"  requirements ({src}): `browser_use.origins.a.bogus` is ignored.",
        f"  requirements ({src}): `computer_use.windows.exes.0.zork` is ignored.",
    ]


def test_an_approval_policy_as_a_one_entry_table_reads_as_its_name(tmp_path: Path) -> None:
    (tmp_path / "requirements.toml").write_text("allowed_approval_policies = [{never = {}}]\n")
    wire = load_requirements(tmp_path, None).wire({})
    assert wire is not None
    assert wire["allowedApprovalPolicies"] == ["never"]


def test_a_variant_as_a_one_entry_table_reads_as_its_name(tmp_path: Path) -> None:
    (tmp_path / "requirements.toml").write_text("[computer_use]\ndefault_app_access = { allow = {} }\n")
    wire = load_requirements(tmp_path, None).wire({})
    assert wire is not None
    assert wire["computerUse"]["defaultAppAccess"] == "allow"


def test_otel_tracestate_is_sorted_without_empty_entries_and_tls_paths_resolve(tmp_path: Path) -> None:
    (tmp_path / "requirements.toml").write_text(
        '[otel]\ntracestate = { b = { y = "1", x = "2" }, a = {} }\nexporter = { none = {} }\n'
        'trace_exporter = { otlp-grpc = { endpoint = "e", tls = { client-certificate = "rel/c" } } }\n',
        encoding="utf-8",
    )
    wire = load_requirements(tmp_path, None).wire({})
    assert wire is not None
    otel = wire["otel"]
    assert otel["tracestate"] == {"b": {"x": "2", "y": "1"}}
    assert list(otel["tracestate"]["b"]) == ["x", "y"]
    assert otel["exporter"] == "none"
    assert otel["trace_exporter"] == {
        "otlp-grpc": {
            "endpoint": "e",
            "headers": {},
            "tls": {"ca-certificate": None, "client-certificate": str(tmp_path / "rel/c"), "client-private-key": None},
        }
    }


# ---------------------------------------------------------------------------- against the real server


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_first_wrong_member_matches_the_reference_server(
    text: str, expected: str, reference_startup_config: Callable[[str], subprocess.CompletedProcess[str]]
) -> None:
    proc = reference_startup_config(text)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("{"))
    detail = json.loads(line)["error"]["data"]["detail"]
    assert _PREFIX.sub("", str(detail)).rstrip("\n") == expected
