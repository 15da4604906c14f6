"""Requirements over the wire (spec §6) and the feature methods (§7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INVALID = -32600

REQUIREMENTS = """\
allowed_approval_policies = ["on-request", "never"]
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_web_search_modes = ["cached"]
chatgpt_base_url = "https://example.com/backend-api/"
allow_login_shell = false
[features]
memories = false
apps = true
"""


def write(key: str, value: Any) -> dict[str, Any]:
    return {"keyPath": key, "value": value, "mergeStrategy": "replace"}


async def test_no_requirements_read_as_null(session: Any) -> None:
    async with session() as c:
        assert await c.result("configRequirements/read") == {
            "supportsIndependentSpeedModes": True, "requirements": None}


async def test_requirements_file_is_reported_in_camel_case_with_derived_views(
    session: Any, system_dir: Path
) -> None:
    (system_dir / "requirements.toml").write_text(REQUIREMENTS)
    async with session() as c:
        req = (await c.result("configRequirements/read"))["requirements"]
    assert list(req)[:3] == ["modelProvider", "modelProviders", "allowedLoginMethods"]
    assert req["allowedApprovalPolicies"] == ["on-request", "never"]
    assert req["allowedWebSearchModes"] == ["cached", "disabled"]
    assert req["featureRequirements"] == {"apps": True, "memories": False}
    assert req["allowedLoginMethods"] == ["api", "chatgpt"]
    assert req["chatgptBaseUrl"] == "https://example.com/backend-api/"


async def test_legacy_managed_config_is_a_top_layer_and_a_requirement(session: Any, system_dir: Path) -> None:
    (system_dir / "requirements.toml").write_text('allowed_approval_policies = ["on-request"]\n')
    (system_dir / "managed_config.toml").write_text('approval_policy = "never"\nmodel = "managed-model"\n')
    async with session() as c:
        req = (await c.result("configRequirements/read"))["requirements"]
        assert req["allowedApprovalPolicies"] == ["never"]
        read = await c.result("config/read", {"includeLayers": True})
        assert read["layers"][0]["name"] == {
            "type": "legacyManagedConfigTomlFromFile", "file": str(system_dir / "managed_config.toml")}
        assert read["config"]["model"] == "managed-model"
        result = await c.result("config/value/write", write("model", "mine"))
    assert result["status"] == "okOverridden"
    assert result["overriddenMetadata"]["message"] == (
        f"Overridden by legacy managed_config.toml: {system_dir / 'managed_config.toml'}")
    assert result["overriddenMetadata"]["effectiveValue"] == "managed-model"


async def test_exact_pins_show_in_config_and_refuse_writes_even_clearing(
    session: Any, system_dir: Path, codex_home: Path
) -> None:
    (system_dir / "requirements.toml").write_text(REQUIREMENTS)
    (codex_home / "config.toml").write_text('chatgpt_base_url = "https://mine.example/"\n')
    async with session() as c:
        read = await c.result("config/read", {})
        assert read["config"]["chatgpt_base_url"] == "https://example.com/backend-api/"
        assert read["config"]["allow_login_shell"] is False
        assert "chatgpt_base_url" not in read["origins"]
        reply = await c.call("config/value/write", write("chatgpt_base_url", None))
    assert reply["error"] == {
        "code": INVALID,
        "data": {"config_write_error_code": "configRequirementReadonly"},
        "message": "`chatgpt_base_url` is managed by requirements and cannot be changed",
    }
    assert (codex_home / "config.toml").read_text() == 'chatgpt_base_url = "https://mine.example/"\n'


async def test_feature_pins_win_and_refuse_a_conflicting_write(session: Any, system_dir: Path) -> None:
    (system_dir / "requirements.toml").write_text(REQUIREMENTS)
    async with session() as c:
        read = await c.result("config/read", {})
        assert read["config"]["features"]["memories"] is False
        reply = await c.call("config/value/write", write("features.memories", True))
        assert reply["error"]["data"] == {"config_write_error_code": "configValidationError"}
        assert reply["error"]["message"] == (
            "Invalid configuration: invalid value for `features`: `features.memories=true` is not in the "
            f"allowed set [memories=false, apps=true] (set by {system_dir / 'requirements.toml'})")
        ok = await c.call("config/value/write", write("features.memories", False))
        assert ok["result"]["status"] == "ok"


async def test_allow_lists_are_not_checked_by_writes(session: Any, system_dir: Path) -> None:
    (system_dir / "requirements.toml").write_text(REQUIREMENTS)
    async with session() as c:
        assert (await c.result("config/value/write", write("sandbox_mode", "danger-full-access")))["status"] == "ok"


async def test_requirement_warnings_are_sent_after_initialize(session: Any, system_dir: Path) -> None:
    (system_dir / "requirements.toml").write_text("unknown_requirement = 1\n" + REQUIREMENTS)
    async with session() as c:
        await c.call("config/mcpServer/reload", request_id="probe")
    summaries = [n["params"]["summary"] for n in c.notifications if n["method"] == "configWarning"]
    assert summaries[0].startswith("Codex is ignoring 1 unrecognized configuration setting.")
    assert f"requirements ({system_dir / 'requirements.toml'}): `unknown_requirement` is ignored." in summaries[0]
    assert any(s.startswith("Configured value for `chatgpt_base_url` is overridden") for s in summaries)


# -- experimental features ------------------------------------------------------------------------


async def test_feature_list_pages_by_offset_cursor(session: Any) -> None:
    async with session() as c:
        first = await c.result("experimentalFeature/list", {"limit": 2})
        assert [f["name"] for f in first["data"]] == ["analytics_plan_history", "cli_resume_account_check"]
        assert first["nextCursor"] == "2"
        assert first["data"][0]["displayName"] == "Analytics plan history"
        rest = await c.result("experimentalFeature/list", {"cursor": "2"})
        assert len(rest["data"]) == 213 and rest["nextCursor"] is None
        one = await c.result("experimentalFeature/list", {"cursor": "214", "limit": 0})
        assert len(one["data"]) == 1 and one["nextCursor"] is None
        assert (await c.call("experimentalFeature/list", {"cursor": "216"}))["error"]["message"] == (
            "cursor 216 exceeds total feature flags 215")
        assert (await c.call("experimentalFeature/list", {"cursor": "bogus"}))["error"]["message"] == (
            "invalid cursor: bogus")


async def test_feature_list_checks_thread_ids_and_knows_no_threads(session: Any) -> None:
    async with session() as c:
        bad = await c.call("experimentalFeature/list", {"threadId": "zzz"})
        assert bad["error"]["message"] == (
            "invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` followed by "
            "[0-9a-fA-F-], found `z` at 1")
        missing = await c.call("experimentalFeature/list", {"threadId": "01A20B69A4007E518F8E735AE5B06BA0"})
        assert missing["error"]["message"] == "thread not found: 01a20b69-a400-7e51-8f8e-735ae5b06ba0"


async def test_enablement_set_keeps_only_runtime_keys_and_config_files_win(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("[features]\nmemories = false\n")
    async with session() as c:
        echoed = await c.result("experimentalFeature/enablement/set", {
            "enablement": {"tool_suggest": False, "memories": True, "bogus": True, "apps": True}})
        assert echoed == {"enablement": {"memories": True, "tool_suggest": False}}
        features = (await c.result("config/read", {}))["config"]["features"]
        assert features["tool_suggest"] is False
        assert features["memories"] is False  # the config file beats runtime enablement
        listed = {f["name"]: f["enabled"] for f in (await c.result("experimentalFeature/list", {}))["data"]}
        assert listed["tool_suggest"] is False and listed["memories"] is False
    assert (codex_home / "config.toml").read_text() == "[features]\nmemories = false\n"


async def test_enablement_is_shared_by_every_connection_of_a_server(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    settings = harness.Settings(codex_home, system_dir, environ={})
    async with harness.open_server(settings) as server, harness.connect(server) as a, harness.connect(server) as b:
        await a.initialize()
        await b.initialize()
        await a.result("experimentalFeature/enablement/set", {"enablement": {"remote_control": True}})
        assert (await b.result("config/read", {}))["config"]["features"]["remote_control"] is True


async def test_a_pinned_feature_no_layer_sets_is_not_added_to_config(session: Any, system_dir: Path) -> None:
    (system_dir / "requirements.toml").write_text(REQUIREMENTS)
    async with session() as c:
        features = (await c.result("config/read", {}))["config"]["features"]
    assert "apps" not in features
    assert features["memories"] is False
    assert list(features) == sorted(features)
