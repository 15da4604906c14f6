"""model/list: the bundled catalog of codex-cli 0.169.0 (``data/models.json``), its pages and its
errors, over an in-memory connection; tests/scenarios/model-list.jsonl replays the same ground
against the reference.

Testing charter: one server per test on a temporary ``CODEX_HOME``, wire frames asserted; the
catalog's content is the reference's (checked by the scenario), so these tests assert how it is
paged, filtered and chosen, plus a few entries a user sees in the TUI's model picker.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest
from chamberlain.protocol import models as mdl

VISIBLE = [
    "gpt-6.1-sol", "gpt-6-astra", "gpt-6-sol", "gpt-6-luna", "gpt-5.6-sol", "gpt-6.1-terra", "gpt-5.6-terra",
    "gpt-5.6-luna", "gpt-5.5",
]
HIDDEN = {"gpt-daybreak-blue-latest", "gpt-daybreak-red-latest", "codex-auto-review"}


def _ids(result: dict[str, Any]) -> list[str]:
    return [m["id"] for m in result["data"]]


async def test_a_fresh_home_lists_the_visible_models_with_the_first_as_default(session: Any) -> None:
    async with session() as c:
        result = await c.result("model/list", {})
    assert _ids(result) == VISIBLE and result["nextCursor"] is None
    assert [m["isDefault"] for m in result["data"]] == [True] + [False] * 8
    first = result["data"][0]
    assert first["displayName"] == "GPT-6.1-Sol" and first["defaultReasoningEffort"] == "low"
    assert list(first)[:4] == ["id", "model", "upgrade", "upgradeInfo"] and list(first)[-1] == "isDefault"
    assert result["data"][4]["upgradeInfo"]["model"] == "gpt-6-sol"


async def test_hidden_models_are_listed_only_when_asked_for(session: Any) -> None:
    async with session() as c:
        hidden = await c.result("model/list", {"includeHidden": True})
        default = await c.result("model/list", {"includeHidden": False})
    assert _ids(default) == VISIBLE
    assert len(hidden["data"]) == 12 and {m["id"] for m in hidden["data"] if m["hidden"]} == HIDDEN
    assert [i for i in _ids(hidden) if i not in HIDDEN] == VISIBLE


async def test_pages_follow_the_cursor_to_the_end(session: Any) -> None:
    async with session() as c:
        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 4} if cursor is None else {"limit": 4, "cursor": cursor}
            page = await c.result("model/list", params)
            pages.append(_ids(page))
            cursor = page["nextCursor"]
            if cursor is None:
                break
    assert pages == [VISIBLE[:4], VISIBLE[4:8], VISIBLE[8:]]


async def test_a_zero_limit_is_one_and_a_cursor_at_the_end_is_an_empty_page(session: Any) -> None:
    async with session() as c:
        one = await c.result("model/list", {"limit": 0, "cursor": "+3"})
        end = await c.result("model/list", {"cursor": "9"})
    assert _ids(one) == [VISIBLE[3]] and one["nextCursor"] == "4"
    assert end == {"data": [], "nextCursor": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "10"}, "cursor 10 exceeds total models 9"),
        ({"cursor": "abc"}, "invalid cursor: abc"),
        ({"cursor": "-1"}, "invalid cursor: -1"),
        ({"cursor": " 3"}, "invalid cursor:  3"),
        ({"cursor": "18446744073709551616"}, "invalid cursor: 18446744073709551616"),
        ({"cursor": "18446744073709551615"}, "cursor 18446744073709551615 exceeds total models 9"),
        ({"limit": 4294967296}, "Invalid request: invalid value: integer `4294967296`, expected u32"),
        ({"includeHidden": "yes"}, 'Invalid request: invalid type: string "yes", expected a boolean'),
        (None, "Invalid request: missing field `params`"),
    ],
)
async def test_bad_cursors_and_params_are_refused(session: Any, params: Any, message: str) -> None:
    async with session() as c:
        reply = await c.call("model/list", params)
    assert reply["error"] == {"code": -32600, "message": message}


async def test_bedrock_has_its_own_catalog_and_other_built_in_providers_list_openais(session: Any) -> None:
    async with session() as c:
        bedrock = await c.result("model/list", {"modelProvider": "amazon-bedrock", "includeHidden": True})
        ollama = await c.result("model/list", {"modelProvider": "ollama"})
    assert _ids(bedrock)[:3] == ["openai.gpt-6.1-sol", "openai.gpt-6-astra", "openai.gpt-6.1-terra"]
    assert len(bedrock["data"]) == 9 and not any(m["hidden"] for m in bedrock["data"])
    assert _ids(ollama) == VISIBLE


async def test_a_provider_that_is_not_configured_is_refused_with_its_name(session: Any) -> None:
    async with session() as c:
        reply = await c.call("model/list", {"modelProvider": "oss", "cursor": "abc"})
    assert reply["error"] == {
        "code": -32600,
        "data": {"type": "modelProviderNotConfigured", "modelProvider": "oss"},
        "message": "This chat uses model provider \u201coss\u201d, which is no longer configured. "
        "Restore this provider\u2019s configuration to continue.",
    }


async def test_the_provider_the_server_started_with_is_the_default(session: Any, codex_home: Path) -> None:
    (codex_home / "config.toml").write_text('model_provider = "amazon-bedrock"\n[model_providers.mine]\nname = "M"\n')
    async with session() as c:
        await c.result("config/read", {})  # answered after the first initialize's config read
        (codex_home / "config.toml").write_text('model = "gpt-5.5"\n')  # not seen: read before
        default = await c.result("model/list", {"limit": 1})
        mine = await c.result("model/list", {"modelProvider": "mine", "limit": 1})
    assert _ids(default) == ["openai.gpt-6.1-sol"] and default["nextCursor"] == "1"
    assert _ids(mine) == ["gpt-6.1-sol"]


async def test_a_provider_written_after_start_is_not_configured_for_model_list(
    session: Any, codex_home: Path
) -> None:
    async with session() as c:
        write = {"keyPath": "model_providers.mine", "value": {"name": "M"}, "mergeStrategy": "replace"}
        await c.result("config/value/write", write)
        await c.result("config/batchWrite", {"edits": [], "reloadUserConfig": True})
        reply = await c.call("model/list", {"modelProvider": "mine"})
    assert reply["error"]["data"] == {"type": "modelProviderNotConfigured", "modelProvider": "mine"}


async def test_a_config_that_does_not_load_at_start_gives_the_default_provider(
    session: Any, codex_home: Path
) -> None:
    (codex_home / "config.toml").write_text('model_provider = "nope"\n[model_providers.mine]\nname = "M"\n')
    async with session() as c:
        default = await c.result("model/list", {"limit": 1})
        mine = await c.call("model/list", {"modelProvider": "mine", "limit": 1})
    assert _ids(default) == ["gpt-6.1-sol"]
    assert mine["error"]["data"]["type"] == "modelProviderNotConfigured"


def test_the_bundled_catalogs_are_served_with_every_member_in_the_captured_order() -> None:
    """Nothing of ``data/models.json`` is lost or reordered on the way to the wire (the capture
    is the reference's answer as it arrived; see docs/reference-data.md)."""
    captured = resources.files("chamberlain.data").joinpath("models.json").read_text()
    for provider, entries in json.loads(captured)["catalogs"].items():
        served = msgspec.json.encode(list(mdl.catalogs()[provider]))
        assert served == json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode()
