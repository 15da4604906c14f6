"""Files on disk survive crashes and concurrent writers (DEVELOPERS.md: atomic writes, flock)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from chamberlain.errors import ConfigWriteError
from chamberlain.store.config_store import ConfigStore
from chamberlain.store.ops import Edit


def test_a_crash_before_the_rename_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.toml"
    path.write_bytes(b'# mine\nmodel = "old"\n')
    store = ConfigStore(home, tmp_path / "etc")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)  # what atomic_write renames with
    with pytest.raises(Exception, match=r"failed to persist config\.toml"):
        store.write([Edit("model", "new", "replace")], None, None)
    assert path.read_bytes() == b'# mine\nmodel = "old"\n'
    assert sorted(p.name for p in home.iterdir()) == ["config.toml", "config.toml.lock"]


def test_written_file_is_0600_even_when_the_old_one_was_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.toml"
    path.write_text('model = "a"\n')
    os.chmod(path, 0o644)
    ConfigStore(home, tmp_path / "etc").write([Edit("model", "b", "replace")], None, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _writer(home: str, etc: str, worker: int, count: int) -> None:
    store = ConfigStore(Path(home), Path(etc))
    for i in range(count):
        store.write([Edit(f"desktop.w{worker}_{i}", "x", "replace")], None, None)


def test_writers_in_several_processes_lose_no_update(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    workers, per_worker = 4, 25
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(home), str(tmp_path / "etc"), w, per_worker))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    desktop = tomllib.loads((home / "config.toml").read_text())["desktop"]
    assert len(desktop) == workers * per_worker


def _optimistic_writer(home: str, etc: str, worker: int, count: int, attempts_out: Any) -> None:
    """Writes with expectedVersion: read the version, write against it, retry on a conflict."""
    store = ConfigStore(Path(home), Path(etc))
    attempts = 0
    for i in range(count):
        while True:
            attempts += 1
            version = store.write([], None, None).version
            try:
                store.write([Edit(f"desktop.w{worker}_{i}", "x", "replace")], None, version)
                break
            except ConfigWriteError as exc:
                assert exc.write_code == "configVersionConflict"
    attempts_out.put((worker, attempts))


def test_writers_with_expected_version_and_retry_all_get_through(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    workers, per_worker = 4, 25
    ctx = multiprocessing.get_context("spawn")
    attempts: Any = ctx.Queue()
    procs = [ctx.Process(target=_optimistic_writer, args=(str(home), str(tmp_path / "etc"), w, per_worker, attempts))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    desktop = tomllib.loads((home / "config.toml").read_text())["desktop"]
    assert sorted(desktop) == sorted(f"w{w}_{i}" for w in range(workers) for i in range(per_worker))
    assert sorted(attempts.get(timeout=5)[0] for _ in range(workers)) == list(range(workers))
