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


#: A file that ends inside an array or inline table (recorded on codex 0.169.0: the innermost open
#: container, placed just past the last character that is not blank or a comment).
UNCLOSED: list[tuple[str, int, int, str]] = [
    ("model = [\n", 1, 10, "unclosed array, expected `]`"),
    ("a = [[1, 2], [3\n", 1, 16, "unclosed array, expected `]`"),
    ('a = ["x]",\n', 1, 11, "unclosed array, expected `]`"),
    ("a = {b = [1\n", 1, 12, "unclosed array, expected `]`"),
    ("a = [1, 2]\nb = [\n\n# c\n", 2, 6, "unclosed array, expected `]`"),
    ('a = {b = "}"\n', 1, 13, "unclosed inline table, expected `}`"),
    ("a = [\n  1,\n  2,\n", 3, 5, "unclosed array, expected `]`"),
]


@pytest.mark.parametrize(("text", "line", "column", "detail"), UNCLOSED)
async def test_a_file_that_ends_inside_an_array_or_inline_table_is_located_as_the_reference_does(
    session: Any, codex_home: Path, text: str, line: int, column: int, detail: str
) -> None:
    path = codex_home / "config.toml"
    warning, read_error, _ = await _observe(session, codex_home, text)
    assert warning["details"] == f"{path}:{line}:{column}: {detail}"
    assert warning["range"] == {"start": {"line": line, "column": column}, "end": {"line": line, "column": column}}
    assert read_error["message"] == f"failed to read configuration layers: {path}:{line}:{column}: {detail}"
