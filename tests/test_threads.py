"""thread/start, thread/read, thread/loaded/list (spec config.md §10.2) end to end: wire frames and
file bytes. Hot reload is in ``test_threads_reload.py``."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

INVALID = -32600
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def start(c: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """thread/start; returns its result after checking the thread/started notification follows it."""
    result: dict[str, Any] = await c.result("thread/start", params or {})
    note = await c.recv()
    assert note["method"] == "thread/started" and note["params"] == {"thread": result["thread"]}
    return result


def trusted(home: Path, *projects: Path, level: str = "trusted") -> None:
    lines = [f'[projects."{p}"]\ntrust_level = "{level}"\n' for p in projects]
    (home / "config.toml").write_text("".join(lines))


def repo(path: Path, project_config: str | None = None) -> Path:
    (path / ".git").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    if project_config is not None:
        (path / ".codex").mkdir()
        (path / ".codex" / "config.toml").write_text(project_config)
    return path


async def test_a_fresh_home_starts_a_read_only_thread_with_the_default_model(session: Any) -> None:
    async with session() as c:
        result = await start(c, {"ephemeral": True, "cwd": "/"})
    thread = result.pop("thread")
    assert result == {
        "model": "gpt-6.1-sol", "modelProvider": "openai", "serviceTier": None, "cwd": "/",
        "instructionSources": [], "approvalPolicy": "on-request", "approvalsReviewer": "user",
        "sandbox": {"type": "readOnly", "networkAccess": False},
        "activePermissionProfile": {"id": ":read-only", "extends": None}, "reasoningEffort": None,
        "runtimeWorkspaceRoots": ["/"], "disabledPluginIds": [], "multiAgentMode": "explicitRequestOnly",
    }
    assert UUID7.match(thread["id"]) and thread["sessionId"] == thread["id"]
    assert thread["ephemeral"] is True and thread["path"] is None
    assert thread["status"] == {"type": "idle"} and thread["turns"] == [] and thread["preview"] == ""
    assert thread["createdAt"] == thread["updatedAt"] == thread["recencyAt"]
    assert thread["originator"] == "test" and thread["source"] == "vscode" and thread["cliVersion"] == "0.169.0"
    assert thread["environments"] == [{"cwd": "/", "environmentId": "local", "runtimeWorkspaceRoots": ["/"]}]


async def test_a_persistent_thread_names_its_rollout_file_but_nothing_is_written(
    session: Any, codex_home: Path
) -> None:
    async with session() as c:
        thread = (await start(c, {"cwd": "/"}))["thread"]
        read = await c.result("thread/read", {"threadId": thread["id"]})
    assert thread["ephemeral"] is False
    assert re.fullmatch(
        re.escape(str(codex_home)) + r"/sessions/\d{4}/\d\d/\d\d/rollout-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-"
        + thread["id"] + r"\.jsonl", thread["path"],
    )
    assert read == {"thread": thread, "readState": None}
    assert not (codex_home / "sessions").exists()


async def test_a_relative_cwd_is_taken_from_the_server_directory(session: Any) -> None:
    async with session() as c:
        result = await start(c, {"ephemeral": True, "cwd": "a/b"})
    assert result["cwd"] == str(Path.cwd() / "a" / "b")


async def test_loaded_threads_are_listed_in_id_order_and_paged_after_the_cursor(session: Any) -> None:
    async with session() as c:
        ids = [(await start(c, {"ephemeral": True}))["thread"]["id"] for _ in range(3)]
        first = await c.result("thread/loaded/list", {"limit": 2})
        rest = await c.result("thread/loaded/list", {"cursor": first["nextCursor"], "limit": 0})
        everything = await c.result("thread/loaded/list", {})
        after_all = await c.result("thread/loaded/list", {"cursor": str(uuid.UUID(int=2**128 - 1))})
    assert ids == sorted(ids)
    assert first == {"data": ids[:2], "nextCursor": ids[1]}
    assert rest == {"data": ids[2:], "nextCursor": None}  # limit 0 is read as 1
    assert everything == {"data": ids, "nextCursor": None}
    assert after_all == {"data": [], "nextCursor": None}


async def test_an_unparsable_cursor_is_refused(session: Any) -> None:
    async with session() as c:
        reply = await c.call("thread/loaded/list", {"cursor": "bogus"})
    assert reply["error"] == {"code": INVALID, "message": "invalid cursor: bogus"}


async def test_thread_read_refuses_bad_and_unknown_ids(session: Any) -> None:
    unknown = "01a20b69-a400-7e51-8f8e-735ae5b06ba0"
    async with session() as c:
        bad = await c.call("thread/read", {"threadId": "nope"})
        missing = await c.call("thread/read", {"threadId": unknown.upper()})
    assert bad["error"]["message"] == (
        "invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` followed by "
        "[0-9a-fA-F-], found `n` at 1"
    )
    assert missing["error"] == {"code": INVALID, "message": f"thread not loaded: {unknown}"}


async def test_include_turns_is_refused_as_the_reference_does(session: Any) -> None:
    async with session() as c:
        ephemeral = (await start(c, {"ephemeral": True}))["thread"]["id"]
        persistent = (await start(c, {}))["thread"]["id"]
        a = await c.call("thread/read", {"threadId": ephemeral, "includeTurns": True})
        b = await c.call("thread/read", {"threadId": persistent, "includeTurns": True})
    assert a["error"] == {"code": INVALID, "message": "ephemeral threads do not support includeTurns"}
    assert b["error"] == {"code": -32601, "message": "list_turns is not supported yet"}


async def test_thread_methods_wait_for_initialize(session: Any) -> None:
    async with session(initialize=False) as c:
        for method in ("thread/start", "thread/read", "thread/loaded/list", "chamberlain/thread/effectiveConfig"):
            reply = await c.call(method, {"threadId": "x"})
            assert reply["error"] == {"code": INVALID, "message": "Not initialized"}, method


async def test_experimental_members_need_the_experimental_capability(session: Any) -> None:
    granular = {"granular": {"mcp_elicitations": True, "rules": False, "sandbox_approval": True}}
    async with session() as c:
        mock = await c.call("thread/start", {"mockExperimentalField": "x"})
        perms = await c.call("thread/start", {"permissions": ":workspace"})
        gran = await c.call("thread/start", {"approvalPolicy": granular})
        nulls = await start(c, {"ephemeral": True, "mockExperimentalField": None, "dynamicTools": None})
    assert mock["error"]["message"] == "thread/start.mockExperimentalField requires experimentalApi capability"
    assert perms["error"]["message"] == "thread/start.permissions requires experimentalApi capability"
    assert gran["error"]["message"] == "askForApproval.granular requires experimentalApi capability"
    assert nulls["model"] == "gpt-6.1-sol"
    async with session(experimentalApi=True) as c:
        accepted = await start(c, {"ephemeral": True, "mockExperimentalField": "x", "approvalPolicy": granular})
        short = await c.call("thread/start", {"approvalPolicy": {"granular": {"rules": False}}})
        tools = await c.call("thread/start", {"dynamicTools": [], "historyMode": "legacy"})
        roots = await c.call("thread/start", {"runtimeWorkspaceRoots": ["/tmp"]})
    assert accepted["approvalPolicy"] == {"granular": {**granular["granular"], "skill_approval": False,
                                                        "request_permissions": False}}
    assert short["error"]["message"] == "Invalid request: missing field `sandbox_approval`"
    assert tools["result"]["thread"]["historyMode"] == "legacy"  # what the codex TUI's first thread/start sends
    refusal = "thread/start.runtimeWorkspaceRoots is not supported by this server (Chamberlain)"
    assert roots["error"]["message"] == refusal


async def test_built_in_permission_profiles_choose_the_sandbox(session: Any) -> None:
    async with session(experimentalApi=True) as c:
        workspace = await start(c, {"ephemeral": True, "permissions": ":workspace"})
        full = await start(c, {"ephemeral": True, "permissions": ":danger-full-access"})
        unknown = await c.call("thread/start", {"permissions": ":danger-no-sandbox"})
        named = await c.call("thread/start", {"permissions": "mine"})
        both = await c.call("thread/start", {"permissions": ":workspace", "sandbox": "read-only"})
    assert workspace["sandbox"]["type"] == "workspaceWrite"
    assert workspace["activePermissionProfile"] == {"id": ":workspace", "extends": None}
    assert full["sandbox"] == {"type": "dangerFullAccess"}
    assert full["activePermissionProfile"]["id"] == ":danger-full-access"
    assert unknown["error"]["message"] == (
        "failed to load configuration: default_permissions refers to unknown built-in profile `:danger-no-sandbox`"
    )
    assert named["error"]["message"] == (
        "failed to load configuration: default_permissions requires a `[permissions]` table"
    )
    assert both["error"]["message"] == "`permissions` cannot be combined with `sandbox`"


async def test_params_errors_use_the_reference_wording(session: Any) -> None:
    async with session() as c:
        sandbox = await c.call("thread/start", {"sandbox": "bogus"})
        approval = await c.call("thread/start", {"approvalPolicy": "on-failure"})
        provider = await c.call("thread/start", {"modelProvider": "nope"})
        typed = await c.call("thread/start", {"config": {"model": 5}})
        absent = await c.call("thread/start")
    assert sandbox["error"]["message"] == (
        "Invalid request: unknown variant `bogus`, expected one of `read-only`, `workspace-write`, `danger-full-access`"
    )
    assert approval["error"]["message"] == (
        "Invalid request: unknown variant `on-failure`, expected one of `untrusted`, `on-request`, `granular`, `never`"
    )
    assert provider["error"]["message"] == "failed to load configuration: Model provider `nope` not found"
    assert typed["error"]["message"] == (
        "failed to load configuration: invalid type: integer `5`, expected a string\nin `model`\n"
    )
    assert absent["error"]["message"] == "Invalid request: missing field `params`"


async def test_typed_params_beat_the_config_overrides_which_beat_the_files(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('model = "gpt-5"\nservice_tier = "flex"\nmodel_reasoning_effort = "low"\n')
    async with session(flags=(("approval_policy", '"never"'),)) as c:
        files = await start(c, {"ephemeral": True})
        overridden = await start(c, {"ephemeral": True, "config": {"model": "o3", "model_reasoning_effort": "high"}})
        typed = await start(c, {"ephemeral": True, "model": "o4", "config": {"model": "o3"}, "serviceTier": "fast"})
    assert (files["model"], files["serviceTier"], files["reasoningEffort"], files["approvalPolicy"]) == (
        "gpt-5", "flex", "low", "never"
    )
    assert (overridden["model"], overridden["reasoningEffort"]) == ("o3", "high")
    assert (typed["model"], typed["serviceTier"]) == ("o4", "priority")


async def test_trust_decides_the_default_sandbox_and_approval(session: Any, codex_home: Path, tmp_path: Path) -> None:
    good, bad, undecided = repo(tmp_path / "good"), repo(tmp_path / "bad"), repo(tmp_path / "undecided")
    (codex_home / "config.toml").write_text(
        f'[projects."{good}"]\ntrust_level = "trusted"\n[projects."{bad}"]\ntrust_level = "untrusted"\n'
    )
    async with session() as c:
        a = await start(c, {"cwd": str(good), "ephemeral": True})
        b = await start(c, {"cwd": str(bad), "ephemeral": True})
        u = await start(c, {"cwd": str(undecided), "ephemeral": True})
        chosen = await start(c, {"cwd": str(good), "ephemeral": True, "sandbox": "danger-full-access"})
    workspace = {
        "type": "workspaceWrite", "writableRoots": [], "networkAccess": False,
        "excludeTmpdirEnvVar": False, "excludeSlashTmp": False,
    }
    assert (a["sandbox"], a["approvalPolicy"]) == (workspace, "on-request")
    assert a["activePermissionProfile"]["id"] == ":workspace"
    assert (b["sandbox"], b["approvalPolicy"]) == (workspace, "untrusted")
    assert (u["sandbox"]["type"], u["approvalPolicy"], u["activePermissionProfile"]["id"]) == (
        "readOnly", "on-request", ":read-only"
    )
    assert chosen["sandbox"] == {"type": "dangerFullAccess"} and chosen["activePermissionProfile"] is None


async def test_instruction_sources_follow_the_project_from_its_root_to_the_cwd(
    session: Any, codex_home: Path, tmp_path: Path
) -> None:
    root = repo(tmp_path / "root")
    cwd = root / "a" / "b"
    cwd.mkdir(parents=True)
    (codex_home / "AGENTS.md").write_text("home")
    (root / "AGENTS.md").write_text("root")
    (root / "a" / "AGENTS.override.md").write_text("override")
    (root / "a" / "AGENTS.md").write_text("shadowed")
    (cwd / "AGENTS.md").write_text("   \n")  # empty: not loaded
    trusted(codex_home, root, level="untrusted")
    async with session() as c:
        untrusted = await start(c, {"cwd": str(cwd), "ephemeral": True})
        (codex_home / "config.toml").write_text("")
        undecided = await start(c, {"cwd": str(cwd), "ephemeral": True})
    assert untrusted["instructionSources"] == [str(codex_home / "AGENTS.md")]
    assert undecided["instructionSources"] == [
        str(codex_home / "AGENTS.md"), str(root / "AGENTS.md"), str(root / "a" / "AGENTS.override.md")
    ]


async def test_unknown_keys_in_the_thread_layers_are_warned_about_after_thread_started(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text("unknown_top = 1\n")
    async with session() as c:
        result = await start(c, {"ephemeral": True, "config": {"zzz": 1}})
        warning = await c.recv()
    assert warning["method"] == "warning"
    assert warning["params"] == {
        "message": "Codex is ignoring 2 unrecognized configuration settings. Check for typos or deprecated "
        f"settings.\n  session-flags: `zzz` is ignored.\n  user ({codex_home}/config.toml): `unknown_top` is ignored.",
        "threadId": result["thread"]["id"],
    }


async def test_every_connection_hears_of_a_new_thread_but_only_its_starter_of_its_warning(
    harness: Any, codex_home: Path, system_dir: Path
) -> None:
    settings = harness.Settings(codex_home, system_dir, environ={"TERM": "xterm"})
    async with harness.open_server(settings) as server, harness.connect(server) as a, harness.connect(server) as b:
        await a.initialize()
        await b.initialize()
        result = await start(a, {"ephemeral": True, "config": {"zzz": 1}})
        assert (await a.recv())["method"] == "warning"
        listed = await b.result("thread/loaded/list", {})
    assert listed["data"] == [result["thread"]["id"]]
    assert [n["method"] for n in b.notifications if n["method"] != "remoteControl/status/changed"] == [
        "thread/started"
    ]
    assert [n["params"] for n in b.notifications if n["method"] == "thread/started"] == [{"thread": result["thread"]}]


async def test_a_user_file_that_does_not_load_refuses_new_threads(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("model = \n")
    async with session() as c:
        reply = await c.call("thread/start", {"ephemeral": True})
    assert reply["error"] == {
        "code": INVALID,
        "message": f"failed to load configuration: {codex_home}/config.toml:1:9: string values must be quoted, "
        "expected literal string",
    }


async def test_a_trusted_project_file_that_does_not_load_is_named_in_the_refusal(
    session: Any, codex_home: Path, tmp_path: Path
) -> None:
    typed = repo(tmp_path / "typed", '[sandbox_workspace_write]\nnetwork_access = "yes"\n')
    broken = repo(tmp_path / "broken", "# first\nmodel = \n")
    trusted(codex_home, typed, broken)
    async with session() as c:
        a = await c.call("thread/start", {"ephemeral": True, "cwd": str(typed)})
        b = await c.call("thread/start", {"ephemeral": True, "cwd": str(broken)})
    assert a["error"]["message"] == (
        f'failed to load configuration: {typed}/.codex/config.toml:2:18: invalid type: string "yes", expected a boolean'
    )
    assert b["error"]["message"] == (
        f"failed to load configuration: Error parsing project config file {broken}/.codex/config.toml: TOML parse "
        "error at line 2, column 9\n  |\n2 | model = \n  |         ^\n"
        "string values must be quoted, expected literal string\n"
    )
