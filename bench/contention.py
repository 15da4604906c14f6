"""Writes under contention: P server processes on one CODEX_HOME, W writes through each.

Two modes, each against a fresh home holding the small fixture:

* ``distinct``: client p sends ``config/batchWrite`` of ``bench_contention.p<p>_<j> = j`` for
  j < W, one request in flight per process. Afterwards the final config.toml is parsed: every
  acknowledged key must be there with its value; each one missing is an acknowledged write lost.
* ``cas``: every client increments the same counter, ``bench_contention.counter``, with
  ``config/value/write`` and ``expectedVersion`` (the version of the user layer it last saw). On
  ``configVersionConflict`` it sleeps a random 0..min(attempt, 8) x BACKOFF_S, re-reads
  (``config/read`` with layers: the user layer's version and counter) and retries; after
  MAX_ATTEMPTS attempts the write is counted as starved and the client moves on. With a server
  whose compare-and-set is atomic the final counter equals the number of acknowledged writes;
  every acknowledged increment missing from it is an acknowledged write lost.

One thread drives all P pipes with poll(); each client is a generator that yields the next request
(or a sleep) and is sent the reply. The whole run is bounded by ``cap_s``: then every process is
killed and the table says how far it got.
"""
from __future__ import annotations

import heapq
import os
import random
import select
import time
import tomllib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Final

from client import BenchError, Peer, Reply, request

MAX_ATTEMPTS: Final = 50
BACKOFF_S: Final = 0.001
TABLE: Final = "bench_contention"

Step = tuple[str, Any, Any]          # ("call", method, params) | ("sleep", seconds, None)
Client = Generator[Step, Reply | None, None]


@dataclass
class Tally:
    mode: str
    procs: int
    writes: int
    elapsed_s: float | None = None
    acked: int = 0
    lost: int | None = None
    starved: int = 0
    conflicts: int = 0
    errors: int = 0
    first_error: str | None = None
    acked_keys: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, r: Reply) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = r.line[:300].decode(errors="replace")


def distinct_client(p: int, writes: int, t: Tally) -> Client:
    for j in range(writes):
        params = {"edits": [{"keyPath": f"{TABLE}.p{p}_{j:03d}", "value": j, "mergeStrategy": "replace"}]}
        r = yield ("call", "config/batchWrite", params)
        assert r is not None
        if r.is_error:
            t.error(r)
        else:
            t.acked += 1
            t.acked_keys.append((p, j))


def _read_state(r: Reply) -> tuple[str, int]:
    for layer in r.result().get("layers") or []:
        if layer.get("name", {}).get("type") == "user":
            return layer["version"], int(layer.get("config", {}).get(TABLE, {}).get("counter", 0))
    raise BenchError(f"config/read without a user layer: {r.line[:200]!r}")


def cas_client(p: int, writes: int, t: Tally, rng: random.Random) -> Client:
    r = yield ("call", "config/read", {"includeLayers": True})
    assert r is not None
    version, counter = _read_state(r)
    for _ in range(writes):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            params = {"keyPath": f"{TABLE}.counter", "value": counter + 1, "mergeStrategy": "replace",
                      "expectedVersion": version}
            r = yield ("call", "config/value/write", params)
            assert r is not None
            if not r.is_error:
                t.acked += 1
                version, counter = r.result()["version"], counter + 1
                break
            if b"configVersionConflict" not in r.line:
                t.error(r)
                break
            t.conflicts += 1
            if attempt == MAX_ATTEMPTS:
                t.starved += 1
                break
            yield ("sleep", rng.uniform(0, BACKOFF_S * min(attempt, 8)), None)
            r = yield ("call", "config/read", {"includeLayers": True})
            assert r is not None
            version, counter = _read_state(r)


@dataclass
class _Slot:
    peer: Peer
    client: Client
    waiting: int | None = None
    done: bool = False


def _advance(slot: _Slot, reply: Reply | None, sleepers: list[tuple[float, int]], index: int) -> None:
    """Send ``reply`` (None to start, or after a sleep) into the client and act on its next step."""
    try:
        kind, a, b = slot.client.send(reply)
    except StopIteration:
        slot.done, slot.waiting = True, None
        return
    if kind == "sleep":
        slot.waiting = None
        heapq.heappush(sleepers, (time.monotonic() + a, index))
        return
    rid = slot.peer.take_id()
    slot.waiting = rid
    slot.peer.send(request(rid, a, b))


def drive(slots: list[_Slot], deadline: float) -> bool:
    """Run every client to its end, or until ``deadline`` (monotonic): True when all ended."""
    sleepers: list[tuple[float, int]] = []
    by_fd = {s.peer.out_fd: i for i, s in enumerate(slots)}
    poller = select.poll()
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    for i, s in enumerate(slots):
        _advance(s, None, sleepers, i)
    while not all(s.done for s in slots):
        now = time.monotonic()
        if now > deadline:
            return False
        while sleepers and sleepers[0][0] <= now:
            _, i = heapq.heappop(sleepers)
            _advance(slots[i], None, sleepers, i)
        timeout = (sleepers[0][0] - now) if sleepers else 0.2
        for fd, _ev in poller.poll(max(0, min(timeout, deadline - now)) * 1000):
            i = by_fd[fd]
            s = slots[i]
            s.peer.feed()
            for r in s.peer.ready_replies():
                if r.id == s.waiting:
                    _advance(s, r, sleepers, i)
        for s in slots:
            if not s.done and s.peer.proc.poll() is not None:
                raise BenchError(f"{s.peer.argv[0]}: exited with status {s.peer.proc.returncode}")
    return True


def count_lost(t: Tally, config_path: str) -> None:
    try:
        with open(config_path, "rb") as fh:
            doc: Any = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        t.notes.append(f"final config.toml unreadable ({exc}): every acknowledged write counted lost")
        t.lost = t.acked
        return
    table = doc.get(TABLE, {})
    if t.mode == "distinct":
        t.lost = sum(1 for p, j in t.acked_keys if table.get(f"p{p}_{j:03d}") != j)
    else:
        final = int(table.get("counter", 0))
        t.lost = t.acked - final
        if final > t.acked:
            t.notes.append(f"counter {final} is above the {t.acked} acknowledged increments")


def run_contention(spawn: Callable[[str], Peer], home: str, mode: str, procs: int, writes: int,
                   cap_s: float, seed: int = 6) -> Tally:
    """``spawn(home)`` starts one server on ``home``; all of them are closed before returning."""
    t = Tally(mode, procs, writes)
    rng = random.Random(seed)
    peers: list[Peer] = []
    try:
        for _ in range(procs):
            peers.append(spawn(home))
        for peer in peers:
            peer.initialize()
        clients = [distinct_client(p, writes, t) if mode == "distinct" else cas_client(p, writes, t, rng)
                   for p in range(procs)]
        slots = [_Slot(peer, c) for peer, c in zip(peers, clients, strict=True)]
        t0 = time.monotonic()
        try:
            finished = drive(slots, t0 + cap_s)
        except (BenchError, OSError) as exc:
            t.notes.append(f"FAILED: {exc}")
            finished = True
        t.elapsed_s = time.monotonic() - t0
        if not finished:
            t.notes.append(f"cut at the {cap_s:.0f} s cap with {t.acked} of {procs * writes} writes "
                           "acknowledged; processes killed")
    finally:
        for peer in peers:
            if t.elapsed_s is not None and t.elapsed_s < cap_s:
                peer.close()
            else:
                peer.kill()
    count_lost(t, os.path.join(home, "config.toml"))
    return t
