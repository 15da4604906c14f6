"""The README's Embedding example is a complete program: pasted as is, it runs and does what the
README says it does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from chamberlain.embed import make_settings, open_server
from chamberlain.errors import RequirementsError

README = Path(__file__).resolve().parent.parent / "README.md"
TIMEOUT_S = 30


def _embedding_program() -> str:
    text = README.read_text()
    section = text[text.index("## Embedding"):]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the Embedding section has one program"
    return str(blocks[0])


def test_the_embedding_example_runs_as_pasted(tmp_path: Path) -> None:
    script = tmp_path / "embedding.py"
    script.write_text(_embedding_program())
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=TIMEOUT_S,
                          cwd=tmp_path, check=False)
    assert (proc.returncode, proc.stderr) == (0, b"")
    lines = proc.stdout.decode().splitlines()
    assert [line.split(" -> ")[0] for line in lines[:3]] == ["initialize", "config/value/write", "config/read"]
    assert all('"result"' in line for line in lines[:3])
    assert lines[3] == 'config.toml: model = "o3"'


def test_the_readme_names_no_file_outside_the_repository() -> None:
    assert not re.search(r"\.\./|shared/", README.read_text())


async def test_open_server_refuses_invalid_requirements_as_the_cli_does(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "requirements.toml").write_text("allowed_approval_policies = []\n")
    with pytest.raises(RequirementsError, match=r"^field `allowed_approval_policies` cannot be empty$"):
        async with open_server(str(tmp_path / "home"), system_dir=str(etc)):
            pytest.fail("the server started")


def test_make_settings_accepts_a_str_home_and_creates_it(tmp_path: Path) -> None:
    settings = make_settings(str(tmp_path / "a" / "home"), system_dir="etc")
    assert settings.codex_home == tmp_path / "a" / "home" and settings.codex_home.is_dir()
    assert settings.system_dir.is_absolute()
    with pytest.raises(ValueError, match="positive number of bytes, got 0"):
        make_settings(str(tmp_path), max_frame_bytes=0)
