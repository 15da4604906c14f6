"""Tests for the config model (`chamberlain.store.model`).

Every expected value below was observed on codex-cli 0.169.0 (`config/read` on a crafted
config.toml). The last test re-checks a handful of files against the real binary when it is
installed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from chamberlain.errors import ConfigModelError
from chamberlain.store.model import render_config, unknown_keys


def error_of(merged: dict[str, Any], **kw: Any) -> tuple[str, str | None]:
    """The (detail, path) of the text ``config/read`` reports: ``<detail>\nin `<path>`\n``."""
    with pytest.raises(ConfigModelError) as info:
        render_config(merged, **kw)
    detail, sep, rest = str(info.value).partition("\nin `")
    return detail, rest.removesuffix("`\n") if sep else None


# -- members and defaults -----------------------------------------------------------------------


def test_empty_config_renders_the_typed_members_first_then_the_defaults() -> None:
    config = render_config({})
    assert list(config)[:3] == ["model", "review_model", "model_context_window"]
    assert list(config)[26] == "desktop"
    assert config["history"] == {"persistence": "save-all", "max_bytes": None}
    assert config["allow_login_shell"] is True
    assert config["project_root_markers"] == [".git"]
    assert config["chatgpt_base_url"] == "https://chatgpt.com/backend-api/"
    assert config["background_terminal_max_timeout"] == 300000
    assert config["shell_environment_policy"]["inherit"] is None
    assert config["features"] == {}
    assert config["tui"] is None


def test_unknown_top_level_keys_are_dropped() -> None:
    config = render_config({"model": "gpt-5", "unknown_key": 7})
    assert config["model"] == "gpt-5"
    assert "unknown_key" not in config


def test_empty_sandbox_workspace_write_table_is_filled_with_defaults() -> None:
    config = render_config({"sandbox_workspace_write": {}})
    assert config["sandbox_workspace_write"] == {
        "writable_roots": [],
        "network_access": False,
        "exclude_tmpdir_env_var": False,
        "exclude_slash_tmp": False,
    }


def test_struct_written_as_empty_array_gets_defaults_or_a_length_error() -> None:
    assert render_config({"history": []})["history"] == {"persistence": "save-all", "max_bytes": None}
    assert error_of({"analytics": []}) == (
        "invalid length 0, expected struct AnalyticsConfigToml with 1 element",
        "analytics",
    )


def test_mcp_stdio_server_gains_enabled_environment_and_timeout_defaults() -> None:
    config = render_config({"mcp_servers": {"foo": {"command": "echo", "args": ["a", "b"]}}})
    assert config["mcp_servers"] == {
        "foo": {
            "command": "echo",
            "args": ["a", "b"],
            "environment_id": "local",
            "enabled": True,
            "tool_timeout_sec": None,
        }
    }


def test_mcp_startup_timeout_ms_is_rendered_as_seconds() -> None:
    server = render_config({"mcp_servers": {"s": {"command": "echo", "startup_timeout_ms": 2500}}})
    assert server["mcp_servers"]["s"]["startup_timeout_sec"] == 2.5


def test_mcp_http_server_keeps_its_headers() -> None:
    server = {"url": "http://x", "bearer_token_env_var": "X", "http_headers": {"a": "b"}}
    assert render_config({"mcp_servers": {"foo": server}})["mcp_servers"]["foo"] == {
        "url": "http://x",
        "bearer_token_env_var": "X",
        "http_headers": {"a": "b"},
        "environment_id": "local",
        "enabled": True,
        "tool_timeout_sec": None,
    }


def test_tui_table_is_filled_with_its_defaults() -> None:
    tui = render_config({"tui": {}})["tui"]
    assert tui["notifications"] is True
    assert tui["effects"]["starfield"] is True
    assert tui["keymap"]["vim_search"] == {"forward": None, "backward": None, "next": None, "previous": None}
    assert tui["pet_anchor"] == "composer"


def test_model_provider_entry_is_filled_with_defaults() -> None:
    provider = render_config({"model_providers": {"foo": {"name": "Foo"}}})["model_providers"]["foo"]
    assert provider["wire_api"] == "responses"
    assert provider["requires_openai_auth"] is False
    assert list(provider)[:2] == ["name", "base_url"]
    assert len(provider) == 24


def test_typed_tools_member_only_reports_web_search() -> None:
    config = render_config({"tools": {"web_search": True, "update_plan": {"enabled": True}}})
    assert config["tools"] == {"web_search": None}


def test_on_failure_approval_policy_is_rendered_as_on_request() -> None:
    assert render_config({"approval_policy": "on-failure"})["approval_policy"] == "on-request"


def test_granular_approval_policy_gets_its_defaults() -> None:
    granular = {"mcp_elicitations": True, "rules": False, "sandbox_approval": True}
    assert render_config({"approval_policy": {"granular": granular}})["approval_policy"] == {
        "granular": {
            "sandbox_approval": True,
            "rules": False,
            "skill_approval": False,
            "request_permissions": False,
            "mcp_elicitations": True,
        }
    }


def test_features_are_sorted_after_network_proxy() -> None:
    config = render_config({"features": {"zeta": True, "alpha": False, "memories": True}})
    assert list(config["features"].items()) == [
        ("network_proxy", None),
        ("alpha", False),
        ("memories", True),
        ("zeta", True),
    ]


def test_datetime_reads_as_its_toml_text_in_a_string_member() -> None:
    when = dt.datetime(1979, 5, 27, 7, 32, tzinfo=dt.UTC)
    assert render_config({"model": when})["model"] == "1979-05-27T07:32:00Z"
    assert render_config({"model": dt.date(1979, 5, 27)})["model"] == "1979-05-27"


def test_relative_paths_are_joined_to_the_config_directory_and_normalized() -> None:
    config = render_config(
        {"log_dir": "zzz", "sandbox_workspace_write": {"writable_roots": ["/a/../b/./c", "rel/x", "/x/"]}},
        base_dir="/home/u/.codex",
    )
    assert config["log_dir"] == "/home/u/.codex/zzz"
    assert config["sandbox_workspace_write"]["writable_roots"] == ["/b/c", "/home/u/.codex/rel/x", "/x"]


# -- error wording ------------------------------------------------------------------------------


def test_integer_model_is_rejected_with_serde_wording() -> None:
    assert error_of({"model": 5}) == ("invalid type: integer `5`, expected a string", "model")


def test_unknown_sandbox_mode_lists_the_variants() -> None:
    assert error_of({"sandbox_mode": "bogus"}) == (
        "unknown variant `bogus`, expected one of `read-only`, `workspace-write`, `danger-full-access`",
        "sandbox_mode",
    )


def test_non_string_enum_value_is_a_unit_variant_error() -> None:
    assert error_of({"web_search": 5}) == ("invalid type: unit variant, expected string only", "web_search")
    assert error_of({"web_search": {}}) == ("wanted exactly 1 element, found 0 elements", "web_search")


def test_integer_kinds_have_their_own_wording() -> None:
    assert error_of({"model_context_window": "x"}) == (
        'invalid type: string "x", expected i64',
        "model_context_window",
    )
    assert error_of({"background_terminal_max_timeout": -1}) == (
        "invalid value: integer `-1`, expected u64",
        "background_terminal_max_timeout",
    )
    assert error_of({"mcp_oauth_callback_port": 70000}) == (
        "invalid value: integer `70000`, expected u16",
        "mcp_oauth_callback_port",
    )
    assert error_of({"goals": {"max_goal_token_budget": 0}}) == (
        "invalid value: integer `0`, expected a nonzero u64",
        "goals.max_goal_token_budget",
    )


def test_boolean_path_and_struct_wording() -> None:
    assert error_of({"hide_agent_reasoning": "x"}) == (
        'invalid type: string "x", expected a boolean',
        "hide_agent_reasoning",
    )
    assert error_of({"log_dir": 5}) == ("invalid type: integer `5`, expected path string", "log_dir")
    assert error_of({"tools": 5}) == ("invalid type: integer `5`, expected struct ToolsToml", "tools")
    assert error_of({"desktop": []}) == ("invalid type: sequence, expected a map", "desktop")
    assert error_of({"notify": "x"}) == ('invalid type: string "x", expected a sequence', "notify")


def test_nested_error_paths_are_dotted() -> None:
    assert error_of({"sandbox_workspace_write": {"network_access": 5}}) == (
        "invalid type: integer `5`, expected a boolean",
        "sandbox_workspace_write.network_access",
    )
    assert error_of({"projects": {"/a": {"trust_level": "bogus"}}}) == (
        "unknown variant `bogus`, expected `trusted` or `untrusted`",
        "projects./a.trust_level",
    )


def test_sequence_element_errors_are_reported_at_the_sequence() -> None:
    server = {"command": "echo", "args": [1]}
    assert error_of({"mcp_servers": {"foo": server}}) == (
        "invalid type: integer `1`, expected a string",
        "mcp_servers.foo.args",
    )


def test_feature_errors_are_reported_at_features() -> None:
    assert error_of({"features": {"memories": "x"}}) == (
        'invalid type: string "x", expected a boolean',
        "features",
    )


def test_enum_inside_a_flattened_table_uses_buffered_wording() -> None:
    assert error_of({"tui": {"notification_method": 5}}) == (
        "invalid type: integer `5`, expected string or map",
        "tui",
    )


def test_mcp_server_without_command_or_url_is_an_invalid_transport() -> None:
    assert error_of({"mcp_servers": {"foo": {}}}) == ("invalid transport", "mcp_servers.foo")


def test_mcp_stdio_server_rejects_http_only_settings() -> None:
    server = {"command": "echo", "bearer_token_env_var": "X"}
    assert error_of({"mcp_servers": {"foo": server}}) == (
        "bearer_token_env_var is not supported for stdio",
        "mcp_servers.foo",
    )
    http_server = {"url": "http://x", "env": {"A": "b"}}
    assert error_of({"mcp_servers": {"foo": http_server}}) == (
        "env is not supported for streamable_http",
        "mcp_servers.foo",
    )


def test_comma_separated_workspace_ids_are_rejected() -> None:
    detail, path = error_of({"forced_chatgpt_workspace_id": "a,b"})
    assert detail.startswith("forced_chatgpt_workspace_id must be a single workspace ID string")
    assert path == "forced_chatgpt_workspace_id"
    assert error_of({"forced_chatgpt_workspace_id": 5}) == (
        "data did not match any variant of untagged enum Repr",
        "forced_chatgpt_workspace_id",
    )


def test_reserved_model_provider_id_is_rejected() -> None:
    assert error_of({"model_providers": {"openai": {"name": "x"}}}) == (
        "model_providers contains reserved built-in provider IDs: `openai`. Built-in providers cannot be "
        "overridden. Rename your custom provider (for example, `openai-custom`).",
        "model_providers",
    )


def test_model_provider_without_name_is_rejected() -> None:
    assert error_of({"model_providers": {"f": {}}}) == (
        "model_providers.f: provider name must not be empty",
        "model_providers",
    )


def test_untrusted_approval_policy_is_no_longer_supported() -> None:
    assert error_of({"approval_policy": "untrusted"}) == (
        'approval_policy = "untrusted" is no longer supported; remove this setting',
        None,
    )


def test_granular_approval_policy_requires_its_fields() -> None:
    assert error_of({"approval_policy": {"granular": {}}}) == (
        "missing field `sandbox_approval`",
        "approval_policy",
    )


def test_thread_store_without_type_is_a_missing_field() -> None:
    assert error_of({"experimental_thread_store": {}}) == (
        "missing field `type`",
        "experimental_thread_store",
    )


# -- unknown keys ---------------------------------------------------------------------------------


def test_unknown_keys_are_sorted_with_features_and_nested_tables() -> None:
    layer = {
        "unknown_top": 1,
        "when": dt.datetime(1979, 5, 27, 7, 32),
        "features": {"not_a_feature": True, "memories": True, "connectors": True},
        "history": {"qq": 1},
        "mcp_servers": {"s": {"command": "x", "qq": 1}},
        "tui": {"zzz": 1},
        "model": "gpt-5",
    }
    assert unknown_keys(layer) == [
        "features.not_a_feature",
        "history.qq",
        "mcp_servers.s.qq",
        "unknown_top",
        "when",
    ]


# -- against the reference binary -----------------------------------------------------------------

LIVE_CASES: list[str] = [
    "",
    'model = "gpt-5"\nmodel_context_window = 1000\nunknown_key = 7\nwhen = 1979-05-27T07:32:00Z\n'
    '[features]\nmemories = true\n[desktop]\nn = 3\n[mcp_servers.foo]\ncommand = "echo"\nargs = ["a", "b"]\n',
    '[sandbox_workspace_write]\nwritable_roots = ["rel"]\n[history]\n[tui]\n[otel]\n[notice]\n',
    '[model_providers.foo]\nname = "Foo"\n[profiles.p]\nmodel = "x"\n[projects."/a"]\ntrust_level = "trusted"\n',
    'approval_policy = "on-failure"\nsandbox_mode = "workspace-write"\n[apps._default]\n[apps.x]\n[memories]\n',
    "model = 5\n",
    'sandbox_mode = "bogus"\n',
    "[mcp_servers.foo]\nargs = []\n",
    "sandbox_mode = { read-only = {} }\nweb_search = { live = {} }\napproval_policy = { never = {} }\n",
    "sandbox_mode = { read-only = { x = 1 } }\n",
    'approval_policy = "granular"\n',
    "approval_policy = { granular = 5 }\n",
]


def test_render_config_matches_the_reference_server(tmp_path: Path, reference: Any) -> None:
    tomlkit = pytest.importorskip("tomlkit")
    home = tmp_path / "home"
    home.mkdir()
    replies = []
    with reference(home) as ref:
        for text in LIVE_CASES:
            (home / "config.toml").write_text(text)
            replies.append(ref.request("config/read", {}))
    for text, reply in zip(LIVE_CASES, replies, strict=True):
        merged = tomlkit.parse(text).unwrap()
        if "error" in reply:
            with pytest.raises(ConfigModelError) as info:
                render_config(merged, base_dir=str(home))
            assert reply["error"]["message"] == f"invalid configuration: {info.value}", text
            continue
        expected = dict(reply["result"]["config"])
        expected.pop("features")
        mine = render_config(merged, base_dir=str(home))
        mine.pop("features")
        assert mine == expected, text


def test_unit_variant_in_table_form_renders_as_its_name() -> None:
    config = render_config({"sandbox_mode": {"read-only": {}}, "web_search": {"live": {}}})
    assert (config["sandbox_mode"], config["web_search"]) == ("read-only", "live")


def test_unit_variant_in_table_form_must_hold_an_empty_table() -> None:
    assert error_of({"sandbox_mode": {"read-only": {"x": 1}}}) == ("expected empty table", "sandbox_mode")


def test_granular_approval_policy_is_a_newtype_variant() -> None:
    assert error_of({"approval_policy": "granular"}) == (
        "invalid type: unit variant, expected newtype variant",
        "approval_policy",
    )
    assert error_of({"approval_policy": {"granular": 5}}) == (
        "invalid type: integer `5`, expected struct GranularApprovalConfig",
        "approval_policy",
    )


def test_positional_form_too_long_and_map_keys_inside_it() -> None:
    """Observed on codex-cli 0.169.0: an over-long positional form is the toml crate's array error
    at the struct's path; map keys inside a positional element still extend the path."""
    assert error_of({"feedback": [True, "x"]}) == ("invalid length 2, expected fewer elements in array", "feedback")
    assert error_of({"orchestrator": [[True, "x"]]}) == (
        "invalid length 2, expected fewer elements in array",
        "orchestrator",
    )
    assert error_of({"history": ["none", 5, 7]}) == ("invalid length 3, expected fewer elements in array", "history")
    assert error_of({"computer_use": {"windows": [{"a": "b"}]}}) == (
        "unknown variant `b`, expected `allow` or `deny`",
        "computer_use.windows.a",
    )
    assert error_of({"computer_use": {"windows": [{"a": {}}]}}) == (
        "wanted exactly 1 element, found 0 elements",
        "computer_use.windows.a",
    )


def test_the_first_error_in_document_order_is_reported() -> None:
    """Observed on codex-cli 0.169.0: with errors in several members, the one written first wins
    (not the first in the struct's declaration order)."""
    unit_only = "invalid type: unit variant, expected string only"
    assert error_of({"sandbox_mode": 1, "model_verbosity": 1}) == (unit_only, "sandbox_mode")
    assert error_of({"model_verbosity": 1, "sandbox_mode": 1}) == (unit_only, "model_verbosity")
    assert error_of({"tui": {"rendering": [1]}, "apps": {"_default": {"enabled": 0}}}) == (
        "invalid type: integer `1`, expected a boolean",
        "tui.rendering",
    )
    assert error_of({"profiles": {"k": {"tui": 0}}, "memories": {"dedicated_tools": []}}) == (
        "invalid type: integer `0`, expected struct ProfileTui",
        "profiles.k.tui",
    )
