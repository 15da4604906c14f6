"""The write path as a host sees it: a read-only home, stale temp files of a killed writer, and
files rewritten behind the server's back within one timestamp tick."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WRITE = {"keyPath": "model", "value": "o4-mini", "mergeStrategy": "replace"}


@contextlib.contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` refuse new entries: mode 0555, and for root (who ignores modes) the
    immutable attribute; skips the test where neither is possible."""
    os.chmod(directory, 0o555)
    immutable = False
    try:
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip("running as root without chattr +i: cannot make a directory read-only")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(directory)], capture_output=True, check=False)
        os.chmod(directory, 0o755)


async def test_a_write_to_a_read_only_home_answers_the_reference_text_with_the_path_and_logs_no_traceback(
    session: Any, codex_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = codex_home / "config.toml"
    config.write_text('model = "o3"\n')
    caplog.set_level(logging.DEBUG)
    with _read_only(codex_home):
        async with session() as c:
            single = await c.call("config/value/write", WRITE)
            batch = await c.call("config/batchWrite", {"edits": [WRITE]})
            unchanged = await c.call("config/value/write", {**WRITE, "value": "o3"})
    expected = f"failed to persist config.toml: failed to persist config at {config}"
    assert single["error"] == {"code": -32603, "message": expected}
    assert batch["error"] == {"code": -32603, "message": expected}
    assert unchanged["result"]["status"] == "ok"  # nothing to write: the reference answers ok too
    assert config.read_text() == 'model = "o3"\n'
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_a_stale_temp_file_of_a_killed_writer_is_removed_by_the_next_write(
    session: Any, codex_home: Path
) -> None:
    stale = [codex_home / ".config.toml.4242-7.tmp", codex_home / ".config.toml.ab1_x9zq.tmp"]
    unrelated = [
        codex_home / ".config.toml.bak",
        codex_home / "notes.tmp",
        codex_home / ".auth.json.4242-7.tmp",
        codex_home / ".config.toml.4242-7.tmp.keep",
    ]
    for path in stale + unrelated:
        path.write_text('model = "half-writ')
    async with session() as c:
        await c.result("config/value/write", WRITE)
    assert [p.name for p in stale if p.exists()] == []
    assert [p.read_text() for p in unrelated] == ['model = "half-writ'] * len(unrelated)
    assert (codex_home / "config.toml").read_text() == 'model = "o4-mini"\n'


def _rewrite_in_place(path: Path, data: bytes) -> None:
    with open(path, "r+b") as fh:  # same inode; same size when ``data`` is
        fh.write(data)


class _CoarseCtime:
    """A stat result whose ctime is its mtime: what a filesystem with a coarse clock shows when
    both writes fall in one tick (the rewrite below cannot force the kernel's ctime)."""

    def __init__(self, real: os.stat_result) -> None:
        self._real = real
        self.st_ctime_ns = real.st_mtime_ns

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def test_a_file_rewritten_with_the_same_size_and_mtime_is_not_served_stale(
    session: Any, codex_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = codex_home / "config.toml"
    config.write_text('model = "aaaa"\n')
    real_stat = os.stat

    def coarse_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_stat(path, *args, **kwargs)
        return _CoarseCtime(result) if os.fspath(path) == str(config) else result

    monkeypatch.setattr(os, "stat", coarse_stat)
    async with session() as c:
        first = await c.result("config/read", {})
        st = real_stat(config)
        _rewrite_in_place(config, b'model = "bbbb"\n')
        os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
        after = real_stat(config)
        assert (after.st_ino, after.st_size, after.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
        second = await c.result("config/read", {})
    assert first["config"]["model"] == "aaaa"
    assert second["config"]["model"] == "bbbb"


async def test_a_table_created_and_emptied_in_one_batch_leaves_the_file_and_reports_the_documents_version(
    session: Any, codex_home: Path
) -> None:
    # reference (live, codex 0.169.0): file untouched, version of {"keep": 0, "new": {}}
    config = codex_home / "config.toml"
    config.write_text("keep = 0\n")
    edits = [
        {"keyPath": "new.a", "value": 0, "mergeStrategy": "replace"},
        {"keyPath": "new.a", "value": None, "mergeStrategy": "replace"},
    ]
    async with session() as c:
        result = await c.result("config/batchWrite", {"edits": edits})
        layers = (await c.result("config/read", {"includeLayers": True}))["layers"]
    assert result["status"] == "ok"
    assert result["version"] == "sha256:3575ec331f244b89c87d5ca978274fe9c24560a11cd607def7f9dbfc16f2e349"
    assert config.read_text() == "keep = 0\n"
    user = next(layer for layer in layers if layer["name"]["type"] == "user")
    assert user["config"] == {"keep": 0}
