"""Chamberlain's auth store beside the real codex app-server on one CODEX_HOME: the same bytes,
the same lock files, and locks that exclude each other (skipped without the reference)."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from chamberlain.store.auth_file import AuthDotJson, decode_auth, encode_auth_file
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import FileAuthStorage, acquire_auth_locks, release_auth_locks

KEYS = ["sk-test", 'sk-\u00e9"\\/<>&\u0001\u007f\u2028\b\U0001f600']
HOLD_S = 1.0


@pytest.mark.parametrize("key", KEYS, ids=["plain", "escapes"])
def test_reference_api_key_login_writes_the_bytes_chamberlain_encodes(tmp_path: Path, reference: Any, key: str) -> None:
    with reference(tmp_path) as ref:
        assert ref.request("account/login/start", {"type": "apiKey", "apiKey": key})["result"] == {"type": "apiKey"}
    written = (tmp_path / "auth.json").read_bytes()
    assert written == encode_auth_file(AuthDotJson.for_api_key(Secret(key)))
    ours = tmp_path / "ours"
    FileAuthStorage(str(ours)).save(decode_auth(written))
    for name in ("auth.json", "auth.json.lock", "auth.lock"):
        assert stat.S_IMODE((ours / name).stat().st_mode) == stat.S_IMODE((tmp_path / name).stat().st_mode), name
    assert (ours / "auth.json").read_bytes() == written


def test_reference_reads_what_chamberlain_wrote(tmp_path: Path, reference: Any) -> None:
    FileAuthStorage(str(tmp_path)).save(AuthDotJson.for_api_key(Secret("sk-from-chamberlain")))
    with reference(tmp_path) as ref:
        status = ref.request("getAuthStatus", {"includeToken": True})["result"]
    assert (status["authMethod"], status["authToken"]) == ("apikey", "sk-from-chamberlain")


def test_reference_write_waits_for_chamberlains_auth_locks(tmp_path: Path, reference: Any) -> None:
    with reference(tmp_path) as ref:
        started = time.monotonic()
        ref.request("account/login/start", {"type": "apiKey", "apiKey": "sk-unlocked"})
        unlocked = time.monotonic() - started
        fds = acquire_auth_locks(str(tmp_path))
        releaser = threading.Timer(HOLD_S, release_auth_locks, args=(fds,))
        started = time.monotonic()
        releaser.start()
        try:
            reply = ref.request("account/login/start", {"type": "apiKey", "apiKey": "sk-after-lock"})
        finally:
            releaser.join()
        waited = time.monotonic() - started
    assert unlocked < HOLD_S / 2  # so the wait below is the lock's
    assert reply["result"] == {"type": "apiKey"} and waited >= HOLD_S * 0.9
    assert decode_auth((tmp_path / "auth.json").read_bytes()).api_key == Secret("sk-after-lock")
