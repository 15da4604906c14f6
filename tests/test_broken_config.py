"""Methods while ``config.toml`` is broken (issue 6 §6), as on the reference (checked on 0.169.0,
``scenarios/broken-config-methods.jsonl``): ``configRequirements/read`` needs only the layers to
load, so a type error does not stop it; the feature methods build the session's config first and
fail with the startup warning's wording; ``config/mcpServer/reload`` only re-reads the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INTERNAL = -32603


async def test_requirements_are_answered_despite_a_type_error_in_config(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("model = 5\n")
    async with session() as c:
        assert await c.result("configRequirements/read") == {
            "supportsIndependentSpeedModes": True, "requirements": None}
        assert (await c.call("config/read", {}))["error"]["code"] == INTERNAL


async def test_requirements_keep_failing_on_a_file_that_is_not_toml(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("model = \n")
    async with session() as c:
        assert (await c.call("configRequirements/read"))["error"] == {
            "code": INTERNAL,
            "message": f"failed to read configuration layers: {codex_home / 'config.toml'}:1:9: "
                       "string values must be quoted, expected literal string",
        }


async def test_feature_list_reports_the_located_type_error_before_looking_at_the_cursor(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text("model = 5\n")
    expected = {"code": INTERNAL, "message": f"failed to reload config: {codex_home / 'config.toml'}:1:9: "
                                             "invalid type: integer `5`, expected a string"}
    async with session() as c:
        assert (await c.call("experimentalFeature/list", {}))["error"] == expected
        assert (await c.call("experimentalFeature/list", {"cursor": "999"}))["error"] == expected
        bad_thread = await c.call("experimentalFeature/list", {"threadId": "zz"})
        assert bad_thread["error"]["message"].startswith("invalid thread id: ")


async def test_enablement_set_fails_only_when_it_has_a_runtime_key_to_apply(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('profile = "x"\n')
    async with session() as c:
        reply = await c.call("experimentalFeature/enablement/set", {"enablement": {"memories": True}})
        assert reply["error"] == {
            "code": INTERNAL,
            "message": 'failed to resolve feature override precedence: legacy `profile = "x"` config is no '
                       "longer supported; use `--profile x` with `x.config.toml` instead",
        }
        assert await c.result("experimentalFeature/enablement/set", {"enablement": {"bogus": True}}) == {
            "enablement": {}}
        (codex_home / "config.toml").write_text('model = "fixed"\n')
        assert await c.result("experimentalFeature/enablement/set", {"enablement": {"memories": True}}) == {
            "enablement": {"memories": True}}
        listed = {f["name"]: f["enabled"] for f in (await c.result("experimentalFeature/list", {}))["data"]}
        assert listed["memories"] is True


async def test_mcp_reload_answers_despite_a_type_error(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("model = 5\n")
    async with session() as c:
        assert await c.result("config/mcpServer/reload") == {}


async def test_with_a_type_error_requirements_narrow_login_methods_by_the_defaults(
    session: Any, codex_home: Path, system_dir: Path
) -> None:
    # Checked on 0.169.0 with /etc/codex bind-mounted in a private mount namespace.
    (system_dir / "requirements.toml").write_text('allowed_login_methods = ["api", "chatgpt"]\n')
    (codex_home / "config.toml").write_text('forced_login_method = "chatgpt"\n')
    async with session() as c:
        assert (await c.result("configRequirements/read"))["requirements"]["allowedLoginMethods"] == ["chatgpt"]
        (codex_home / "config.toml").write_text('forced_login_method = "chatgpt"\nmodel = 5\n')
        reqs = (await c.result("configRequirements/read"))["requirements"]
    assert reqs["allowedLoginMethods"] == ["api", "chatgpt"]
