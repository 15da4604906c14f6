#!/usr/bin/env python3
"""Checks of the harness itself, against the echo floor only (no Chamberlain, no reference):

    python3 bench/selftest.py

* the echo floor's replies have exactly the sizes it is given, per method;
* the contention driver runs every client to its end, and its lost-write count is not vacuous: the
  echo floor acknowledges every write but writes no file, so every acknowledged write is lost;
* the kill rounds notice a temp file and a broken config.toml that were not there before;
* the WebSocket clients of the ws group (against the echo floor's ``--listen ws://``) get one
  reply per request of the given size on every connection, count ``-32001`` replies apart, and
  the ws table shows each figure with its ratio.

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
from many import ManyResult, Step, many_table
from report import markdown
from wsclients import Clients, Conn, Tally, _count, start_ws_server

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


def check_websockets(home: str, failures: list[str]) -> None:
    extra = {"BENCH_ECHO_SIZES": json.dumps({"config/read": 500})}
    server = start_ws_server(ECHO, server_env(home, extra=extra), os.path.dirname(home), f"{home}.ws.stderr")
    try:
        clients = Clients(server.host, server.port, 20, 30.0)
        try:
            clients.initialize_all()
            burst = clients.burst()
            if burst.results != 20 or any(len(c.last_reply) != 499 for c in clients.conns.values()):
                failures.append(f"ws burst: {burst.results} of 20 results, or replies not 499 bytes")
            tally, elapsed = clients.sequential(0.3)
            if not tally.results or len(tally.latencies_ns) != tally.results or tally.overloaded:
                failures.append(f"ws sequential: {tally.results} results, {len(tally.latencies_ns)} round trips")
            if elapsed < 0.3 or server.rss_kib() <= 0:
                failures.append("ws sequential ended early or no RSS")
        finally:
            clients.close()
    finally:
        server.stop()
    overload = Tally()
    _count(b'{"error":{"code":-32001,"message":"Server overloaded; retry later."},"id":3}', overload,
           Conn(None))  # type: ignore[arg-type]  # the socket is not used
    if (overload.overloaded, overload.results, overload.other_errors) != (1, 0, 0):
        failures.append("a -32001 reply is not counted as overloaded")
    results = {"chamberlain": ManyResult("chamberlain", "Chamberlain", {1: Step(1, rps=300.0, rss_kib=100),
                                                                          10: Step(10, rps=900.0, rss_kib=190)}),
               "reference": ManyResult("reference", "reference", {1: Step(1, rps=100.0, rss_kib=100),
                                                                  10: Step(10, rps=300.0, rss_kib=280)})}
    table = "\n".join(many_table(results, markdown, (1, 10)))
    if "3.00×" not in table or "10.0 KiB" not in table or "0.50×" not in table:
        failures.append(f"ws table lacks a ratio or the memory per connection:\n{table}")


def main() -> int:
    scratch = tempfile.mkdtemp(prefix="chamberlain-bench-selftest-")
    failures: list[str] = []
    try:
        for i, check in enumerate((check_sizes, check_contention, check_kill_probes, check_websockets)):
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
