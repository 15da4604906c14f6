"""The server refuses to start, as the reference does, when its ``-c`` overrides do not fit the
config model on their own: exit 1 with ``Error: <serde text>`` on stderr and no protocol output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_BOUND_S = 30


def _start(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chamberlain", "app-server", *args],
        input="", capture_output=True, text=True, timeout=_BOUND_S,
        env={"CODEX_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("flag", "error"),
    [
        ("model=5", "Error: invalid type: integer `5`, expected a string\nin `model`\n"),
        ("features.memories=5", "Error: invalid type: integer `5`, expected a boolean\nin `features`\n"),
    ],
)
def test_an_override_of_the_wrong_type_refuses_the_start(tmp_path: Path, flag: str, error: str) -> None:
    done = _start(tmp_path, "-c", flag)
    assert done.returncode == 1
    assert error in done.stderr
    assert done.stdout == ""


def test_an_unknown_override_key_is_no_reason_to_refuse(tmp_path: Path) -> None:
    done = _start(tmp_path, "-c", "foo=5")
    assert done.returncode == 0, done.stderr
