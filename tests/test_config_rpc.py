"""config/read, config/value/write and config/batchWrite end to end: wire frames and file bytes."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
INVALID = -32600
INTERNAL = -32603


def version(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_params(key: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"keyPath": key, "value": value, "mergeStrategy": extra.pop("strategy", "replace"), **extra}


# -- config/read ------------------------------------------------------------------------------


async def test_fresh_home_reads_typed_members_first_and_the_runtime_features(session: Any) -> None:
    async with session() as c:
        result = await c.result("config/read", {})
    assert list(result) == ["config", "origins"]
    config = result["config"]
    assert list(config)[:3] == ["model", "review_model", "model_context_window"]
    assert config["model"] is None
    assert config["allow_login_shell"] is True
    assert config["features"]["memories"] is False and config["features"]["tool_suggest"] is True
    assert len(config["features"]) == 15
    assert result["origins"] == {}


async def test_layers_are_listed_only_when_asked_with_versions_of_their_content(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text(
        '# comment\nmodel = "gpt-5"\nmodel_context_window = 1000\nunknown_key = 7\n'
        "when = 1979-05-27T07:32:00Z\n[features]\nmemories = true\n[desktop]\nn = 3\n"
        '[mcp_servers.foo]\ncommand = "echo"\nargs = ["a", "b"]\n'
    )
    async with session() as c:
        result = await c.result("config/read", {"includeLayers": True})
    user, system = result["layers"]
    assert user["name"] == {"type": "user", "file": str(codex_home / "config.toml"), "profile": None}
    assert user["config"]["when"] == {"$__toml_private_datetime": "1979-05-27T07:32:00Z"}
    assert user["config"]["desktop"] == {"n": {"$serde_json::private::Number": "3"}}
    # The version the reference reports for this very file (spec §15.2).
    assert user["version"].startswith("sha256:ec0939a2")
    assert user["version"] == version(user["config"])
    assert system["config"] == {} and system["version"] == EMPTY and "disabledReason" not in system
    assert sorted(result["origins"]) == sorted([
        "model", "model_context_window", "unknown_key", "when", "features.memories",
        "desktop.n.$serde_json::private::Number", "mcp_servers.foo.command",
        "mcp_servers.foo.args.0", "mcp_servers.foo.args.1",
    ])
    assert "unknown_key" not in result["config"] and result["config"]["desktop"] == {"n": 3}


async def test_comments_and_key_order_do_not_change_the_version(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text('model = "a"\nreview_model = "b"\n')
    async with session() as c:
        v1 = (await c.result("config/read", {"includeLayers": True}))["layers"][0]["version"]
        path.write_text('# note\nreview_model = "b"   # x\nmodel = "a"\n')
        v2 = (await c.result("config/read", {"includeLayers": True}))["layers"][0]["version"]
        path.write_text('review_model = "c"\nmodel = "a"\n')
        v3 = (await c.result("config/read", {"includeLayers": True}))["layers"][0]["version"]
    assert v1 == v2 != v3


async def test_session_flags_layer_wins_and_is_listed_first(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('model = "gpt-5"\n')
    async with session(flags=(("model", '"o3"'), ("features.memories", "true"))) as c:
        result = await c.result("config/read", {"includeLayers": True})
    assert [layer["name"]["type"] for layer in result["layers"]] == ["sessionFlags", "user", "system"]
    assert result["config"]["model"] == "o3"
    assert result["config"]["features"]["memories"] is True
    assert result["origins"]["model"]["name"] == {"type": "sessionFlags"}


async def test_unparsable_user_config_fails_reads_with_its_position_and_keeps_serving(
    session: Any, codex_home: Path
) -> None:
    path = codex_home / "config.toml"
    async with session() as c:
        path.write_text("model = \n")
        reply = await c.call("config/read", {})
        assert reply["error"] == {
            "code": INTERNAL,
            "message": f"failed to read configuration layers: {path}:1:9: "
            "string values must be quoted, expected literal string",
        }
        assert (await c.call("experimentalFeature/enablement/set", {"enablement": {}}))["result"] == {
            "enablement": {}}
        path.write_text('model = "ok"\n')
        assert (await c.result("config/read", {}))["config"]["model"] == "ok"


async def test_config_that_does_not_fit_the_model_is_an_internal_error(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("model = 5\n")
    async with session() as c:
        reply = await c.call("config/read", {})
    assert reply["error"] == {
        "code": INTERNAL,
        "message": "invalid configuration: invalid type: integer `5`, expected a string\nin `model`\n",
    }


# -- project layers ---------------------------------------------------------------------------


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".codex").mkdir()
    (repo / ".codex" / "config.toml").write_text('model = "repo-model"\napproval_policy = "never"\n')
    (repo / "sub" / ".codex").mkdir(parents=True)
    (repo / "sub" / ".codex" / "config.toml").write_text('model = "sub-model"\n')
    (repo / "sub" / "deeper").mkdir()
    return repo


async def test_trusted_project_layers_apply_closest_first(session: Any, codex_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (codex_home / "config.toml").write_text(f'[projects."{repo}"]\ntrust_level = "trusted"\n')
    async with session() as c:
        result = await c.result("config/read", {"includeLayers": True, "cwd": str(repo / "sub" / "deeper")})
    names = [layer["name"] for layer in result["layers"]]
    assert names[:2] == [
        {"type": "project", "dotCodexFolder": str(repo / "sub" / ".codex")},
        {"type": "project", "dotCodexFolder": str(repo / ".codex")},
    ]
    assert result["config"]["model"] == "sub-model"
    assert result["config"]["approval_policy"] == "never"
    assert result["origins"]["approval_policy"]["name"]["dotCodexFolder"] == str(repo / ".codex")


async def test_untrusted_and_unknown_projects_are_listed_disabled_with_the_reason(
    session: Any, codex_home: Path, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    cwd = str(repo / "sub" / "deeper")
    async with session() as c:
        result = await c.result("config/read", {"includeLayers": True, "cwd": cwd})
        assert result["layers"][0]["disabledReason"] == (
            f"To load project-local config, hooks, and exec policies, add {repo} as a trusted project "
            f"in {codex_home / 'config.toml'}."
        )
        assert result["config"]["model"] is None and "model" not in result["origins"]
        (codex_home / "config.toml").write_text(f'[projects."{repo}"]\ntrust_level = "untrusted"\n')
        result = await c.result("config/read", {"includeLayers": True, "cwd": cwd})
        assert result["layers"][1]["disabledReason"].startswith(f"{repo} is marked as untrusted")


async def test_reads_without_cwd_have_no_project_layers(session: Any, codex_home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (codex_home / "config.toml").write_text(f'[projects."{repo}"]\ntrust_level = "trusted"\n')
    async with session() as c:
        result = await c.result("config/read", {"includeLayers": True})
    assert [layer["name"]["type"] for layer in result["layers"]] == ["user", "system"]


# -- writes -----------------------------------------------------------------------------------


async def test_a_no_op_write_on_a_fresh_home_creates_no_file(session: Any, codex_home: Path) -> None:
    async with session() as c:
        result = await c.result("config/value/write", write_params("model", None))
    assert result == {"status": "ok", "version": EMPTY, "filePath": str(codex_home / "config.toml"),
                      "overriddenMetadata": None}
    assert not (codex_home / "config.toml").exists()


async def test_first_write_creates_the_file_with_mode_0600(session: Any, codex_home: Path) -> None:
    async with session() as c:
        result = await c.result("config/value/write", write_params("model", "gpt-5"))
    path = codex_home / "config.toml"
    assert path.read_bytes() == b'model = "gpt-5"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The version the reference reports for this file (spec §15.4).
    assert result["version"] == "sha256:777710df5ad26b1238811b40c77267c73e7f8eba12cde87f5b2c1560ef758259"


async def test_write_keeps_comments_and_layout(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text('# Leading comment\nmodel = "gpt-5" # trailing comment\n\n[features]\n# inside table\n'
                    "memories = true   # keep me\n")
    async with session() as c:
        await c.result("config/batchWrite", {"edits": [
            write_params("model", "o3"),
            write_params("features.apps", True),
            write_params("mcp_servers.foo", {"command": "echo", "args": ["a"]}, strategy="upsert"),
        ]})
    assert path.read_text() == (
        '# Leading comment\nmodel = "o3" # trailing comment\n\n[features]\n# inside table\n'
        'memories = true   # keep me\napps = true\n\n[mcp_servers.foo]\ncommand = "echo"\nargs = ["a"]\n'
    )


async def test_stale_expected_version_is_rejected_and_file_unchanged(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text('model = "a"\n')
    async with session() as c:
        v1 = (await c.result("config/read", {"includeLayers": True}))["layers"][0]["version"]
        await c.result("config/value/write", write_params("model", "b", expectedVersion=v1))
        before = path.read_bytes()
        reply = await c.call("config/value/write", write_params("model", "c", expectedVersion=v1))
    assert reply["error"] == {
        "code": INVALID,
        "data": {"config_write_error_code": "configVersionConflict"},
        "message": "Configuration was modified since last read. Fetch latest version and retry.",
    }
    assert path.read_bytes() == before


async def test_an_external_comment_keeps_the_version_but_a_value_change_makes_it_stale(
    session: Any, codex_home: Path
) -> None:
    path = codex_home / "config.toml"
    async with session() as c:
        v = (await c.result("config/value/write", write_params("model", "a")))["version"]
        with path.open("a") as fh:
            fh.write("# external comment\n")
        v = (await c.result("config/value/write", write_params("model", "b", expectedVersion=v)))["version"]
        assert path.read_text() == 'model = "b"\n# external comment\n'
        with path.open("a") as fh:
            fh.write('review_model = "ext"\n')
        reply = await c.call("config/value/write", write_params("model", "c", expectedVersion=v))
    assert reply["error"]["data"] == {"config_write_error_code": "configVersionConflict"}


async def test_a_batch_is_all_or_nothing(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text('model = "a"\n')
    async with session() as c:
        reply = await c.call("config/batchWrite", {"edits": [
            write_params("review_model", "x"), write_params("sandbox_mode", "nope"),
        ]})
    assert reply["error"] == {
        "code": INVALID,
        "data": {"config_write_error_code": "configValidationError"},
        "message": "Invalid configuration: unknown variant `nope`, expected one of `read-only`, "
        "`workspace-write`, `danger-full-access`\nin `sandbox_mode`\n",
    }
    assert path.read_text() == 'model = "a"\n'


async def test_edits_apply_in_order_and_later_edits_see_earlier_ones(session: Any, codex_home: Path) -> None:
    async with session() as c:
        ok = await c.call("config/batchWrite", {"edits": [write_params("x.y", 1), write_params("x", "s")]})
        assert ok["result"]["status"] == "ok"
        bad = await c.call("config/batchWrite", {"edits": [write_params("x", "s"), write_params("x.y", 1)]})
    assert bad["error"]["message"] == "cannot set value on non-table parent"
    assert (codex_home / "config.toml").read_text() == 'x = "s"\n'


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (write_params("model", "o3", filePath="/home/alice/other.toml"), "configLayerReadonly",
         "Only writes to the user config are allowed"),
        (write_params("model", "o3", filePath="config.toml"), "configLayerReadonly",
         "Only writes to the user config are allowed"),
        (write_params("profiles.work.model", "x"), "configValidationError",
         "`profiles` contains legacy config profile tables and can no longer be written; "
         "use `--profile <name>` with `<name>.config.toml` instead"),
        (write_params("profile", "x"), "configValidationError",
         "`profile` is a legacy config selector and can no longer be written; "
         "use `--profile <name>` with `<name>.config.toml` instead"),
        (write_params('"a.b', "x"), "configValidationError", "unterminated quoted keyPath segment"),
        (write_params("a..b", "x"), "configValidationError", "keyPath segments must not be empty"),
        (write_params("model.sub", "x"), "configValidationError", "cannot set value on non-table parent"),
        (write_params("desktop.nul", [None]), "configValidationError",
         "invalid value: invalid type: null, expected any valid TOML value"),
        (write_params("model", 5), "configValidationError",
         "Invalid configuration: invalid type: integer `5`, expected a string\nin `model`\n"),
        (write_params("approval_policy", "untrusted"), "configValidationError",
         'Invalid configuration: approval_policy = "untrusted" is no longer supported; remove this setting'),
        (write_params("mcp_servers.foo.command", None), "configValidationError",
         "Invalid configuration: invalid transport\nin `mcp_servers.foo`\n"),
    ],
)
async def test_refused_writes_answer_the_reference_error_and_change_nothing(
    session: Any, codex_home: Path, params: dict[str, Any], code: str, message: str
) -> None:
    path = codex_home / "config.toml"
    original = b'model = "gpt-5"\n[mcp_servers.foo]\ncommand = "echo"\n'
    path.write_bytes(original)
    async with session() as c:
        reply = await c.call("config/value/write", params, request_id=5)
    assert reply == {"error": {"code": INVALID, "data": {"config_write_error_code": code}, "message": message},
                     "id": 5}
    assert path.read_bytes() == original


async def test_file_path_is_normalised_and_echoed(session: Any, codex_home: Path) -> None:
    async with session() as c:
        result = await c.result(
            "config/value/write", write_params("model", "o3", filePath=f"{codex_home}/./x/../config.toml")
        )
    assert result["filePath"] == str(codex_home / "config.toml")


async def test_session_flags_make_a_write_ok_overridden(session: Any, codex_home: Path) -> None:
    flags = (("model", '"o3"'), ("sandbox_workspace_write.network_access", "false"))
    async with session(flags=flags) as c:
        result = await c.result("config/batchWrite", {"edits": [
            write_params("approval_policy", "never"), write_params("model", "gpt-5"),
        ]})
        assert result["status"] == "okOverridden"
        meta = result["overriddenMetadata"]
        assert meta["message"] == "Overridden by session flags"
        assert meta["overridingLayer"]["name"] == {"type": "sessionFlags"}
        assert meta["effectiveValue"] == "o3"
        same = await c.result("config/value/write", write_params("model", "o3"))
        assert same["status"] == "ok" and same["overriddenMetadata"] is None
        cleared = await c.result("config/value/write", write_params("model", None))
        assert cleared["status"] == "okOverridden"
        table = await c.result("config/value/write", write_params(
            "sandbox_workspace_write", {"network_access": True, "writable_roots": ["/data/shared"]},
            strategy="upsert"))
        assert table["overriddenMetadata"]["effectiveValue"] == {
            "network_access": False, "writable_roots": ["/data/shared"]}


async def test_write_through_a_symlink_keeps_the_link(session: Any, codex_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.toml"
    target.write_text('model = "a"\n')
    os.symlink(target, codex_home / "config.toml")
    async with session() as c:
        await c.result("config/value/write", write_params("model", "b"))
    assert (codex_home / "config.toml").is_symlink()
    assert target.read_text() == 'model = "b"\n'


async def test_a_type_error_on_disk_blocks_unrelated_writes_until_fixed(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text("model = 5\n")
    async with session() as c:
        reply = await c.call("config/value/write", write_params("review_model", "d"))
        assert reply["error"]["data"] == {"config_write_error_code": "configValidationError"}
        assert (await c.call("config/value/write", write_params("model", "d")))["result"]["status"] == "ok"
    assert path.read_text() == 'model = "d"\n'


async def test_a_write_to_an_unparsable_file_is_an_internal_error(session: Any, codex_home: Path) -> None:
    path = codex_home / "config.toml"
    path.write_text("model = \n")
    async with session() as c:
        reply = await c.call("config/value/write", write_params("model", "d"))
    assert reply["error"] == {
        "code": INTERNAL,
        "message": f"failed to load configuration: {path}:1:9: string values must be quoted, "
        "expected literal string",
    }
    assert path.read_text() == "model = \n"


async def test_unknown_keys_of_every_layer_are_named_in_one_warning(
    session: Any, codex_home: Path, system_dir: Path
) -> None:
    (system_dir / "config.toml").write_text("sys_unknown = 1\n")
    (system_dir / "managed_config.toml").write_text("man_unknown = 1\n")
    (codex_home / "config.toml").write_text("user_unknown = 1\n")
    async with session(flags=(("flag_unknown", "1"),)) as c:
        await c.call("config/mcpServer/reload", request_id="probe")
    (warning,) = [n["params"] for n in c.notifications if n["method"] == "configWarning"]
    assert warning == {
        "summary": "Codex is ignoring 4 unrecognized configuration settings. Check for typos or deprecated settings.\n"
        f"  legacy managed_config.toml ({system_dir / 'managed_config.toml'}): `man_unknown` is ignored.\n"
        "  session-flags: `flag_unknown` is ignored.\n"
        f"  system ({system_dir / 'config.toml'}): `sys_unknown` is ignored.\n"
        "  ... and 1 more ignored settings.",
        "details": None,
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('profile = "p"\nmodel_provider = "nope"\n',
         'legacy `profile = "p"` config is no longer supported; use `--profile p` with `p.config.toml` instead'),
        ('model_provider = "nope"\n', "Model provider `nope` not found"),
        ('default_permissions = "x"\n', "default_permissions requires a `[permissions]` table"),
        ("[permissions.y]\n", "config defines `[permissions]` profiles but does not set `default_permissions`"),
        ('default_permissions = ":nope"\n', "default_permissions refers to unknown built-in profile `:nope`"),
        ('model_instructions_file = "/nonexistent/x.md"\n',
         "failed to read model instructions file /nonexistent/x.md: No such file or directory (os error 2)"),
    ],
)
async def test_config_that_resolves_no_session_fails_reads_but_not_writes(
    session: Any, codex_home: Path, text: str, reason: str
) -> None:
    (codex_home / "config.toml").write_text(text)
    async with session() as c:
        reply = await c.call("config/read", {})
        assert reply["error"] == {
            "code": INTERNAL, "message": f"failed to resolve feature override precedence: {reason}"}
        assert (await c.result("config/value/write", write_params("review_model", "x")))["status"] == "ok"
