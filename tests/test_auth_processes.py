"""Several processes on one CODEX_HOME: refresh exactly once, and auth.json survives SIGKILL.

The refresh tests start real interpreters (``subprocess.Popen`` of ``python -c``) released
together; the kill test runs one helper process that forks a writer, kills it after a random
short real delay, inspects what is left, and reports each inspection as a JSON line (forking
from the helper keeps each round at a few milliseconds and away from pytest's threads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chamberlain.store.atomic import temp_name_pattern
from chamberlain.store.auth_file import AuthDotJson, Timestamp, TokenData, decode_auth, encode_auth_file
from chamberlain.store.auth_secret import Secret

RACER = r"""
import sys, time, msgspec
from chamberlain.store.auth_file import Timestamp
from chamberlain.store.auth_refresh import refresh_locked
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import FileAuthStorage

home, counter, me = sys.argv[1], sys.argv[2], sys.argv[3]
sys.stdin.readline()  # the start signal, sent to all racers at once

def is_stale(auth):
    return auth.tokens.refresh_token == Secret("refresh-1")

def refresh(auth):
    with open(counter, "a") as fh:
        fh.write(me + "\n")
    time.sleep(0.05)  # the HTTP round trip, during which siblings pile up on the lock
    tokens = msgspec.structs.replace(
        auth.tokens, access_token=Secret("access-by-" + me), refresh_token=Secret("refresh-2"))
    return msgspec.structs.replace(auth, tokens=tokens, last_refresh=Timestamp.now())

final = refresh_locked(FileAuthStorage(home), is_stale, refresh)
print(final.tokens.access_token.reveal(), final.tokens.refresh_token.reveal())
"""


def stale_auth() -> AuthDotJson:
    fixtures = Path(__file__).parent / "fixtures" / "auth" / "chatgpt_browser.json"
    auth = decode_auth(fixtures.read_bytes())
    assert auth.tokens is not None
    tokens = TokenData(auth.tokens.id_token, Secret("access-0"), Secret("refresh-1"), account_id="acct-123")
    return AuthDotJson(auth_mode="chatgpt", openai_api_key=None, tokens=tokens,
                       last_refresh=Timestamp.parse("2020-01-01T00:00:00Z"))


def race(tmp_path: Path, racers: int) -> tuple[list[str], list[str]]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "auth.json").write_bytes(encode_auth_file(stale_auth()))
    counter = tmp_path / "refreshes"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(home), str(counter), str(n)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(racers)
    ]
    outputs: list[str] = []
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            outputs.append(out.strip())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return counter.read_text().split(), outputs


@pytest.mark.parametrize("racers", [2, 10])
def test_racing_processes_refresh_once_and_all_adopt_the_rotated_tokens(tmp_path: Path, racers: int) -> None:
    refreshed_by, outputs = race(tmp_path, racers)
    assert len(refreshed_by) == 1
    assert outputs == [f"access-by-{refreshed_by[0]} refresh-2"] * racers
    stored = decode_auth((tmp_path / "home" / "auth.json").read_bytes())
    assert stored.tokens is not None and stored.tokens.refresh_token == Secret("refresh-2")
    assert stored.tokens.access_token == Secret(f"access-by-{refreshed_by[0]}")


KILLER = r"""
import json, os, random, signal, stat, sys, time
from chamberlain.store.auth_file import AuthDotJson, decode_auth, encode_auth_file
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import FileAuthStorage

home, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
storage = FileAuthStorage(home)
path = os.path.join(home, "auth.json")

def auth_for(child, n):
    return AuthDotJson.for_api_key(Secret(f"sk-{child}-{n}-" + "x" * ((n * 37) % 700)))

storage.save(auth_for(0, 0))
for child in range(1, rounds + 1):
    pid = os.fork()
    if pid == 0:
        n = 0
        while True:
            n += 1
            storage.save(auth_for(child, n))
    time.sleep(rng.choice((0.0, 0.0005, 0.001, 0.002, 0.004, 0.008)) * rng.random())
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    data = open(path, "rb").read()
    try:
        key = decode_auth(data).api_key.reveal()
        reencodes = encode_auth_file(decode_auth(data)) == data
    except Exception as exc:
        key, reencodes = "unreadable: " + type(exc).__name__, False
    print(json.dumps({"child": child, "key": key, "reencodes": reencodes,
                      "mode": stat.S_IMODE(os.stat(path).st_mode), "listing": sorted(os.listdir(home))}))
storage.save(auth_for(rounds + 1, 0))
print(json.dumps({"final_listing": sorted(os.listdir(home))}))
"""

KILL_ROUNDS = 220


def test_sigkilled_writers_leave_an_old_or_new_auth_json_mode_0600_and_stale_temps_are_swept(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(tmp_path), str(KILL_ROUNDS), "7"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    lines: list[dict[str, Any]] = [json.loads(line) for line in proc.stdout.splitlines()]
    rounds, final = lines[:-1], lines[-1]
    assert len(rounds) == KILL_ROUNDS
    temp = temp_name_pattern("auth.json")
    previous = (0, 0)
    for row in rounds:
        assert row["reencodes"], row
        assert row["mode"] == 0o600
        child, n = (int(part) for part in row["key"].split("-")[1:3])
        # old (what the previous round left) or new (a write of the child just killed)
        assert (child, n) == previous or (child == row["child"] and n >= 1), (row, previous)
        previous = (child, n)
        extra = [name for name in row["listing"] if name not in ("auth.json", "auth.json.lock", "auth.lock")]
        assert all(temp.fullmatch(name) for name in extra), row["listing"]
        assert len(extra) <= 1  # a writer sweeps the earlier ones under the lock before its own
    assert final["final_listing"] == ["auth.json", "auth.json.lock", "auth.lock"]
    assert os.stat(tmp_path / "auth.json").st_mode & 0o777 == 0o600
