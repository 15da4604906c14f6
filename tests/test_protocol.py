"""Framing (spec §1) and the connection handshake (§2), on wire frames."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from chamberlain.protocol.methods import REFERENCE_METHODS

INVALID = -32600


async def test_requests_before_initialize_are_refused_with_their_id_echoed(session: Any) -> None:
    async with session(initialize=False) as c:
        assert await c.call("config/read", {}, request_id="early") == {
            "error": {"code": INVALID, "message": "Not initialized"},
            "id": "early",
        }
        raw = await c.call("configRequirements/read", request_id=7)
        assert raw == {"error": {"code": INVALID, "message": "Not initialized"}, "id": 7}


async def test_error_frames_have_no_jsonrpc_member_and_keep_the_reference_member_order(
    session: Any
) -> None:
    async with session(initialize=False) as c:
        await c.send({"jsonrpc": "2.0", "id": 1, "method": "config/read", "params": {}})
        assert await c.recv_line() == b'{"error":{"code":-32600,"message":"Not initialized"},"id":1}'


async def test_initialize_answers_user_agent_codex_home_and_platform(session: Any, codex_home: Path) -> None:
    async with session(initialize=False) as c:
        reply = await c.call(
            "initialize", {"clientInfo": {"name": "probe", "title": "Probe", "version": "1.0"}, "extra": 1},
            request_id="init-1",
        )
        result = reply["result"]
        assert list(result) == ["userAgent", "codexHome", "platformFamily", "platformOs"]
        assert result["codexHome"] == str(codex_home)
        assert (result["platformFamily"], result["platformOs"]) == ("unix", "linux")
        ua = result["userAgent"]
        assert ua.startswith("probe/0.169.0 (") and ua.endswith(") xterm (probe; 1.0)")


async def test_second_initialize_is_already_initialized(session: Any) -> None:
    async with session() as c:
        reply = await c.call("initialize", {"clientInfo": {"name": "x", "version": "1"}}, request_id="init-2")
        assert reply == {"error": {"code": INVALID, "message": "Already initialized"}, "id": "init-2"}


async def test_failed_initialize_can_be_retried(session: Any) -> None:
    async with session(initialize=False) as c:
        assert (await c.call("initialize", request_id=2))["error"]["message"] == (
            "Invalid request: missing field `params`"
        )
        assert (await c.call("initialize", {}, request_id=3))["error"]["message"] == (
            "Invalid request: missing field `clientInfo`"
        )
        assert "result" in await c.initialize()


async def test_requests_are_served_before_initialized_notification(session: Any) -> None:
    async with session(initialize=False) as c:
        await c.call("initialize", {"clientInfo": {"name": "a", "version": "1"}}, request_id=0)
        assert await c.result("configRequirements/read") == {
            "supportsIndependentSpeedModes": True,
            "requirements": None,
        }


async def test_unknown_method_lists_every_reference_method(session: Any) -> None:
    async with session() as c:
        message = (await c.call("nope/nope", {}))["error"]["message"]
        assert message.startswith("Invalid request: unknown variant `nope/nope`, expected one of `initialize`, ")
        assert message.count("`") == 2 * (len(REFERENCE_METHODS) + 1)


async def test_unknown_method_is_reported_even_before_initialize(session: Any) -> None:
    async with session(initialize=False) as c:
        assert (await c.call("nope/nope", {}))["error"]["message"].startswith("Invalid request: unknown variant")


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("config/read", ..., "Invalid request: missing field `params`"),
        ("config/read", None, "Invalid request: missing field `params`"),
        ("config/read", "x", 'Invalid request: invalid type: string "x", expected struct ConfigReadParams'),
        ("config/read", {"includeLayers": 1}, "Invalid request: invalid type: integer `1`, expected a boolean"),
        ("config/batchWrite", {"edits": [], "reloadUserConfig": "yes"},
         'Invalid request: invalid type: string "yes", expected a boolean'),
        ("config/batchWrite", {"edits": [{"value": 1}]}, "Invalid request: missing field `keyPath`"),
        ("config/value/write", {"keyPath": "model", "mergeStrategy": "merge"},
         "Invalid request: unknown variant `merge`, expected `replace` or `upsert`"),
        ("config/value/write", {"keyPath": "model"}, "Invalid request: missing field `value`"),
        ("experimentalFeature/list", {"limit": -1}, "Invalid request: invalid value: integer `-1`, expected u32"),
        ("experimentalFeature/enablement/set", {"enablement": None},
         "Invalid request: invalid type: null, expected a map"),
        ("experimentalFeature/enablement/set", {}, "Invalid request: missing field `enablement`"),
        ("configRequirements/read", {"x": 1}, "Invalid request: invalid type: map, expected unit"),
        ("config/mcpServer/reload", [], "Invalid request: invalid type: sequence, expected unit"),
    ],
)
async def test_params_that_do_not_decode_get_the_reference_text(
    session: Any, method: str, params: object, message: str
) -> None:
    async with session() as c:
        assert await c.call(method, params, request_id=9) == {"error": {"code": INVALID, "message": message}, "id": 9}


@pytest.mark.parametrize("params", [..., None, {}])
async def test_methods_without_params_accept_absent_null_and_empty(
    session: Any, params: object
) -> None:
    async with session() as c:
        assert await c.result("config/mcpServer/reload", params) == {}


async def test_frames_that_are_not_messages_get_no_reply_and_a_warning(
    session: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chamberlain")
    async with session() as c:
        for raw in ["this is not json", '[{"id":10,"method":"config/read","params":{}}]', "5"]:
            await c.send_raw(raw)
        for frame in [
            {"id": None, "method": "config/read", "params": {}},
            {"id": 1.5, "method": "config/read", "params": {}},
            {"method": "config/read", "params": {}},
            {"id": 9223372036854775808, "method": "config/read", "params": {}},
            {"id": 7, "method": "config/read", "params": {}, "trace": 5},
            {"id": 99, "result": {}},
            {"method": "initialized"},
        ]:
            await c.send(frame)
        # The next answer is the reply to this probe: nothing was answered before it.
        assert await c.call("config/mcpServer/reload", request_id="probe") == {"id": "probe", "result": {}}
    warnings = [r.getMessage() for r in caplog.records if "Failed to deserialize JSONRPCMessage" in r.getMessage()]
    assert len(warnings) == 3


async def test_ids_are_echoed_verbatim_including_duplicates(session: Any) -> None:
    async with session() as c:
        for rid in ["", "init-1", -5, 9223372036854775807]:
            assert (await c.call("config/mcpServer/reload", request_id=rid))["id"] == rid
        await c.send({"id": 3, "method": "config/mcpServer/reload"})
        await c.send({"id": 3, "method": "config/mcpServer/reload"})
        assert [await c.response(3), await c.response(3)] == [{"id": 3, "result": {}}] * 2


async def test_experimental_method_requires_the_capability(session: Any) -> None:
    async with session() as c:
        reply = await c.call("mock/experimentalMethod", {"value": "x"}, request_id=11)
        assert reply == {
            "error": {"code": INVALID, "message": "mock/experimentalMethod requires experimentalApi capability"},
            "id": 11,
        }
    async with session(experimentalApi=True) as c:
        assert await c.result("mock/experimentalMethod", {"value": "x"}) == {"echoed": "x"}


async def test_reference_methods_chamberlain_does_not_serve_are_refused_clearly(
    session: Any
) -> None:
    async with session() as c:
        message = (await c.call("thread/resume", {}))["error"]["message"]
        assert message == "Invalid request: `thread/resume` is not served by this server (Chamberlain)"
        message = (await c.call("thread/sample", {}))["error"]["message"]
        assert message == "thread/sample requires experimentalApi capability"


async def test_opted_out_notifications_are_not_sent(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("unknown_top = 1\n")
    async with session(
        optOutNotificationMethods=["configWarning", "remoteControl/status/changed"]
    ) as c:
        await c.call("config/mcpServer/reload", request_id="probe")
        assert c.notifications == []


async def test_startup_notifications_carry_emitted_at_ms(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text("unknown_top = 1\n")
    async with session() as c:
        await c.call("config/mcpServer/reload", request_id="probe")
        methods = [n["method"] for n in c.notifications]
        assert methods == ["configWarning", "remoteControl/status/changed"]
        for n in c.notifications:
            assert list(n) == ["method", "params", "emittedAtMs"] and isinstance(n["emittedAtMs"], int)
        assert c.notifications[1]["params"]["status"] == "disabled"


async def test_oversized_frame_is_dropped_and_the_connection_keeps_serving(
    codex_home: Path, system_dir: Path, harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chamberlain")
    settings = harness.Settings(codex_home, system_dir, environ={})
    async with harness.open_server(settings) as server, harness.connect(server, max_frame_bytes=1024) as c:
        await c.initialize()
        big = json.dumps({"id": 1, "method": "config/read", "params": {"cwd": "x" * 5000}})
        await c.send_raw(big)
        assert await c.call("config/mcpServer/reload", request_id=2) == {"id": 2, "result": {}}
    assert any("larger than the maximum of 1024 bytes" in r.getMessage() for r in caplog.records)


async def test_two_servers_in_one_process_keep_their_own_homes_and_flags(tmp_path: Path, harness: Any) -> None:
    homes = [tmp_path / "a", tmp_path / "b"]
    for i, home in enumerate(homes):
        home.mkdir()
        (home / "config.toml").write_text(f'model = "model-{i}"\n')
    settings = [
        harness.Settings(homes[0], tmp_path / "etc", (("review_model", '"r0"'),), environ={}),
        harness.Settings(homes[1], tmp_path / "etc", (), environ={}),
    ]
    async with (
        harness.open_server(settings[0]) as s0,
        harness.open_server(settings[1]) as s1,
        harness.connect(s0) as c0,
        harness.connect(s1) as c1,
    ):
        await c0.initialize()
        await c1.initialize()
        await c0.result("experimentalFeature/enablement/set", {"enablement": {"memories": True}})
        r0 = (await c0.result("config/read", {}))["config"]
        r1 = (await c1.result("config/read", {}))["config"]
    assert (r0["model"], r0["review_model"], r0["features"]["memories"]) == ("model-0", "r0", True)
    assert (r1["model"], r1["review_model"], r1["features"]["memories"]) == ("model-1", None, False)


async def test_startup_notifications_come_before_answers_to_pipelined_requests(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text("unknown_top = 1\n")
    async with session(initialize=False) as c:
        await c.send({"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "a", "version": "1"}}})
        await c.send({"id": 1, "method": "config/read", "params": {}})
        frames = [await c.recv() for _ in range(4)]
    assert [f.get("id", f.get("method")) for f in frames] == [0, "configWarning", "remoteControl/status/changed", 1]
