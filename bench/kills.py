"""SIGKILL during writes: what a killed server leaves in CODEX_HOME.

K rounds on one home holding the small fixture. Each round starts the server, initializes, sends a
burst of BURST pipelined `config/batchWrite`s (alternating `model` between two values) and SIGKILLs
the process group after a random delay of 0..KILL_WINDOW_S. After each kill it looks at the home:

* ``left a temp file``: a regular file whose name looks like a write's temp file (starts with
  `.tmp` or `.config.toml.`, or ends with `.tmp`) is there after the kill that was not before it;
* ``config.toml broken``: the file does not parse as TOML, or its `model` is neither the old nor
  the new value (a write must leave old-or-new, whole);
* at the end, after one more start, one write and a clean stop: the temp files still there (stale
  ones never removed) and the mode of config.toml.
"""
from __future__ import annotations

import os
import random
import stat
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from client import BenchError, Peer, request
from fixtures import WRITE_VALUES, batch_edit

BURST: Final = 5
KILL_WINDOW_S: Final = 0.010


@dataclass
class KillTally:
    rounds: int = 0
    killed_mid_burst: int = 0        # kills that came before the last reply of the burst
    left_temp: int = 0
    broken: int = 0
    temp_after_rounds: int | None = None
    temp_at_end: int | None = None
    mode_at_end: str | None = None
    notes: list[str] = field(default_factory=list)


def temp_files(home: str) -> list[str]:
    out = []
    for name in os.listdir(home):
        if name == "config.toml" or not os.path.isfile(os.path.join(home, name)):
            continue
        if name.startswith((".tmp", ".config.toml.")) or name.endswith(".tmp"):
            out.append(name)
    return out


def config_ok(home: str) -> bool:
    try:
        with open(os.path.join(home, "config.toml"), "rb") as fh:
            return tomllib.load(fh).get("model") in WRITE_VALUES
    except (OSError, tomllib.TOMLDecodeError):
        return False


def one_round(spawn: Callable[[str], Peer], home: str, rng: random.Random, t: KillTally) -> None:
    before = set(temp_files(home))
    peer = spawn(home)
    try:
        peer.initialize()
        burst = b"".join(request(peer.take_id(), "config/batchWrite", batch_edit("model", WRITE_VALUES[i % 2]))
                         for i in range(BURST))
        peer.send(burst)
        time.sleep(rng.uniform(0, KILL_WINDOW_S))
        peer.kill_now()
        answered = len(peer.drain())
        t.killed_mid_burst += answered < BURST
    finally:
        peer.kill()
    t.rounds += 1
    if set(temp_files(home)) - before:
        t.left_temp += 1
    if not config_ok(home):
        t.broken += 1


def run_kills(spawn: Callable[[str], Peer], home: str, rounds: int, cap_s: float, seed: int = 9) -> KillTally:
    t = KillTally()
    rng = random.Random(seed)
    deadline = time.monotonic() + cap_s
    for _ in range(rounds):
        if time.monotonic() > deadline:
            t.notes.append(f"cut to {t.rounds} rounds by the {cap_s:.0f} s cap")
            break
        try:
            one_round(spawn, home, rng, t)
        except (BenchError, OSError) as exc:
            t.notes.append(f"round {t.rounds}: {exc}")
    t.temp_after_rounds = len(temp_files(home))
    peer = spawn(home)                 # one more start and write: stale temp files should go
    try:
        peer.initialize()
        peer.rpc("config/batchWrite", batch_edit("model", WRITE_VALUES[0]))
    except (BenchError, OSError) as exc:
        t.notes.append(f"final start and write: {exc}")
    finally:
        peer.close()
    t.temp_at_end = len(temp_files(home))
    try:
        t.mode_at_end = oct(stat.S_IMODE(os.stat(os.path.join(home, "config.toml")).st_mode))
    except OSError:
        t.mode_at_end = "missing"
    return t
