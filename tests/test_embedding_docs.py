"""docs/embedding.md's examples are complete programs: each, pasted as is, runs and prints what the
sentence after it says (``It prints `a`, `b` …`` — one backquoted item per line of output)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "embedding.md"
TIMEOUT_S = 30


def _examples() -> list[tuple[str, list[str]]]:
    """(program, expected output lines) for every python block followed by an ``It prints``."""
    text = DOC.read_text()
    found = []
    for match in re.finditer(r"```python\n(.*?)```\n\nIt prints (.*?)(?:\n\n|$)", text, re.DOTALL):
        expected = re.findall(r"`([^`]*)`", match.group(2).replace("\n", " "))
        found.append((match.group(1), expected))
    return found


def test_every_example_of_the_embedding_doc_says_what_it_prints() -> None:
    assert len(_examples()) == len(re.findall(r"```python\n", DOC.read_text())) == 2


@pytest.mark.parametrize("index", range(2))
def test_the_embedding_doc_example_runs_as_pasted_and_prints_what_it_says(tmp_path: Path, index: int) -> None:
    program, expected = _examples()[index]
    script = tmp_path / "example.py"
    script.write_text(program)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=TIMEOUT_S,
                          cwd=tmp_path, check=False)
    assert (proc.returncode, proc.stderr.decode()) == (0, "")
    assert proc.stdout.decode().splitlines() == expected
