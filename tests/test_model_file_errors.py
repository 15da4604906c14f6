"""A config file with a type error: where the startup warning places it and how it words it.

The reference reads ``config.toml`` alone with the toml crate for the startup ``configWarning``
(and the feature methods' ``failed to reload config`` reason): the position is the value's own,
also below ``[features]``, and an enum that is not a string is ``wanted string or table``. The
merged config (``config/read``) keeps serde's text: ``in `features```, ``invalid type: unit
variant, expected string only``. Every text below was observed on codex-cli 0.169.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

INVALID = "Invalid configuration; using defaults."

CASES: list[tuple[str, int, int, int, str, str]] = [
    # text, line, start, end, file detail, config/read message
    (
        'model = "m"\n[features]\nmemories = "x"\n',
        3,
        12,
        14,
        'invalid type: string "x", expected a boolean',
        'invalid configuration: invalid type: string "x", expected a boolean\nin `features`\n',
    ),
    (
        "[features]\nzz = 1\naa = 2\n",
        2,
        6,
        6,
        "invalid type: integer `1`, expected a boolean",
        "invalid configuration: invalid type: integer `1`, expected a boolean\nin `features`\n",
    ),
    (
        "forced_login_method = 7\n",
        1,
        23,
        23,
        "wanted string or table",
        "invalid configuration: invalid type: unit variant, expected string only\nin `forced_login_method`\n",
    ),
    (
        "[profiles.p]\nsandbox_mode = true\n",
        2,
        16,
        19,
        "wanted string or table",
        "invalid configuration: invalid type: unit variant, expected string only\nin `profiles.p.sandbox_mode`\n",
    ),
]


async def _observe(session: Any, codex_home: Path, text: str) -> tuple[dict[str, Any], Any, Any]:
    (codex_home / "config.toml").write_text(text)
    async with session() as c:
        read = await c.call("config/read", {})
        features = await c.call("experimentalFeature/list", {})
    (warning,) = [n["params"] for n in c.notifications if n["method"] == "configWarning"]
    return warning, read["error"], features["error"]


@pytest.mark.parametrize(("text", "line", "start", "end", "detail", "message"), CASES)
async def test_file_error_is_placed_at_the_value_and_worded_as_the_toml_reader_does(
    session: Any, codex_home: Path, text: str, line: int, start: int, end: int, detail: str, message: str
) -> None:
    path = codex_home / "config.toml"
    warning, read_error, feature_error = await _observe(session, codex_home, text)
    assert warning == {
        "summary": INVALID,
        "details": f"{path}:{line}:{start}: {detail}",
        "path": str(path),
        "range": {"start": {"line": line, "column": start}, "end": {"line": line, "column": end}},
    }
    assert read_error == {"code": -32603, "message": message}
    assert feature_error == {"code": -32603, "message": f"failed to reload config: {path}:{line}:{start}: {detail}"}
