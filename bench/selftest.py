#!/usr/bin/env python3
"""Checks of the harness itself, against the echo floor only (no Chamberlain, no reference):

    python3 bench/selftest.py

* the echo floor's replies have exactly the sizes it is given, per method;
* the contention driver runs every client to its end, and its lost-write count is not vacuous: the
  echo floor acknowledges every write but writes no file, so every acknowledged write is lost;
* the kill rounds notice a temp file and a broken config.toml that were not there before.

Exit status 0 when every check holds, 1 with the failed checks on stderr.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

from client import Peer, read_request, request, server_env
from contention import run_contention
from kills import config_ok, temp_files

ECHO = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_server.py")]


def spawn_echo(home: str, sizes: dict[str, int] | None = None) -> Peer:
    extra = {"BENCH_ECHO_SIZES": json.dumps(sizes or {})}
    return Peer(ECHO, server_env(home, extra=extra), cwd=os.path.dirname(home),
                stderr_path=f"{home}.{time.monotonic_ns()}.stderr")


def check_sizes(home: str, failures: list[str]) -> None:
    sizes = {"config/read": 3000, "initialize": 200}
    peer = spawn_echo(home, sizes)
    try:
        peer.initialize()
        if peer.last is None or len(peer.last.line) + 1 != 200:
            failures.append(f"initialize reply is not 200 bytes: {peer.last!r}")
        peer.call(read_request(7), 7)
        if peer.last is None or len(peer.last.line) + 1 != 3000:
            failures.append("config/read reply is not 3000 bytes")
        peer.call(request(8, "config/batchWrite", {}), 8)
        if peer.last is None or peer.last.line != b'{"id":8,"result":{}}':
            failures.append(f"a method without a size is not an empty result: {peer.last!r}")
    finally:
        peer.close()


def check_contention(home: str, failures: list[str]) -> None:
    with open(os.path.join(home, "config.toml"), "w") as fh:     # parsed, but holds no written key
        fh.write('model = "o3"\n')
    t = run_contention(spawn_echo, home, "distinct", procs=3, writes=7, cap_s=30)
    if t.acked != 21 or t.lost != 21:
        failures.append(f"distinct against the echo floor: acked {t.acked}, lost {t.lost} (want 21 and 21)")
    if t.notes:
        failures.append(f"distinct against the echo floor left notes: {t.notes}")


def check_kill_probes(home: str, failures: list[str]) -> None:
    with open(os.path.join(home, "config.toml"), "w") as fh:
        fh.write('model = "o3"\n')
    if not config_ok(home) or temp_files(home):
        failures.append("a whole config.toml and no temp file are not seen as such")
    with open(os.path.join(home, ".config.toml.abc.tmp"), "w") as fh:
        fh.write("x")
    with open(os.path.join(home, "config.toml"), "w") as fh:
        fh.write('model = "o3')
    if config_ok(home) or temp_files(home) != [".config.toml.abc.tmp"]:
        failures.append("a torn config.toml or a temp file went unnoticed")


def main() -> int:
    scratch = tempfile.mkdtemp(prefix="chamberlain-bench-selftest-")
    failures: list[str] = []
    try:
        for i, check in enumerate((check_sizes, check_contention, check_kill_probes)):
            home = os.path.join(scratch, f"home-{i}")
            os.mkdir(home)
            check(home, failures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    print("selftest: " + ("ok" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
