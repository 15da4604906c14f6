"""The single-client figures of one server: starts, reads, pipelined reads, metadata, writes, RSS.

Every loop is bounded in count and by a wall-time cap; a cut loop leaves a note.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from client import IN_FLIGHT_DEFAULT, BenchError, Peer, ServerSpec, read_request, server_env
from fixtures import USER_CONFIG, WRITE_VALUES, batch_edit, big_config, big_key, value_write

SETTLE_S: Final = 0.3                  # pause before reading RSS
PIPELINED_ROUNDS: Final = 3            # pipelined rounds per server; the median is shown
PIPELINED_MIN_S: Final = 0.4           # each round runs at least this long ...
PIPELINED_MAX_FACTOR: Final = 20       # ... or until 20x the planned requests were sent
REPLY_TIMEOUT_S: Final = 10.0


@dataclass
class Plan:
    starts: int
    requests: int          # sequential config/read
    warmup: int
    pipelined: int
    meta: int              # configRequirements/read and experimentalFeature/list each
    writes: int            # small-file batchWrite and value/write each
    big_writes: dict[int, int]   # keys in config.toml -> writes
    phase_cap_s: float
    scratch: str
    in_flight: int = IN_FLIGHT_DEFAULT
    bytecode_cache: bool = True


@dataclass
class Figures:
    key: str
    label: str
    argv: list[str]
    samples: dict[str, list[float]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    rounds: list[float] = field(default_factory=list)
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: int = 0
    first_error: str | None = None
    notes: list[str] = field(default_factory=list)
    failed: str | None = None


def _call_ignoring_index(peer: Peer, method: str, params: Any, _i: int) -> int:
    return peer.rpc(method, params)


def _big_write(peer: Peer, key: str, i: int) -> int:
    return peer.rpc("config/batchWrite", batch_edit(key, f"edit {i % 2}"), timeout_s=30.0)


class Bench:
    """Measures one server after another with the same client code."""

    def __init__(self, plan: Plan, only: set[str], budget_deadline: float) -> None:
        self.plan = plan
        self.only = only
        self.budget_deadline = budget_deadline   # a time.monotonic() value
        self.echo_sizes: dict[str, dict[str, int]] = {}
        self._n = 0

    # -- plumbing -------------------------------------------------------------------------

    def home(self, what: str, config: str | None) -> str:
        self._n += 1
        home = os.path.join(tempfile.mkdtemp(prefix=f"{what}-{self._n}-", dir=self.plan.scratch),
                            "codex-home")
        os.mkdir(home)
        if config is not None:
            with open(os.path.join(home, "config.toml"), "w") as fh:
                fh.write(config)
        return home

    def pycache(self, spec: ServerSpec) -> str | None:
        if spec.python and self.plan.bytecode_cache:
            return os.path.join(self.plan.scratch, "pycache")
        return None

    def spawn(self, spec: ServerSpec, home: str, fixture: str, no_bytecode: bool = False) -> Peer:
        extra = None
        if spec.key == "echo":
            extra = {"BENCH_ECHO_SIZES": json.dumps(self.echo_sizes.get(fixture, {}))}
        pycache = None if no_bytecode else self.pycache(spec)
        return Peer(spec.argv, server_env(home, pycache, extra, no_bytecode), cwd=os.path.dirname(home),
                    stderr_path=home + ".stderr")

    def phase_deadline_ns(self) -> int:
        cap = min(self.plan.phase_cap_s, max(1.0, self.budget_deadline - time.monotonic()))
        return time.perf_counter_ns() + int(cap * 1e9)

    def out_of_budget(self) -> bool:
        return time.monotonic() > self.budget_deadline

    @staticmethod
    def record_size(res: Figures, fixture: str, method: str, peer: Peer) -> None:
        if peer.last is not None:
            res.sizes.setdefault(fixture, {}).setdefault(method, len(peer.last.line) + 1)

    def loop(self, res: Figures, name: str, n: int, one: Callable[[int], int]) -> None:
        """``n`` timed calls of ``one(i)`` (ns each) into ``res.samples[name]`` in µs, capped."""
        out = res.samples.setdefault(name, [])
        deadline = self.phase_deadline_ns()
        for i in range(n):
            out.append(one(i) / 1e3)
            if time.perf_counter_ns() > deadline:
                res.notes.append(f"{name} cut to {len(out)} samples by the time cap")
                return

    # -- starts ---------------------------------------------------------------------------

    def starts(self, spec: ServerSpec, res: Figures) -> None:
        """spawn -> initialize and -> first config/read reply, on fresh homes and on 10,000 keys."""
        self.one_start(spec, res, "fresh", None, timed=False)     # page cache; fills the pycache
        if spec.python and self.plan.bytecode_cache:
            n = sum(name.endswith(".pyc") for _, _, names in os.walk(os.path.join(self.plan.scratch, "pycache"))
                    for name in names)
            res.values["pyc_files"] = n
            if n == 0:
                res.notes.append("no .pyc in the bytecode cache after the warm start")
        big = big_config(10_000)
        cases: list[tuple[str, str | None, str, bool]] = [
            ("fresh", None, "start_fresh_ms", False), ("k10000", big, "start_k10000_ms", False)]
        if spec.python:
            cases.append(("fresh", None, "start_nopyc_ms", True))
        self.one_start(spec, res, "k10000", big, timed=False)
        for i in range(self.plan.starts):
            if i > 0 and self.out_of_budget():
                res.notes.append(f"starts cut to {i} by the time budget")
                return
            for fixture, config, name, no_pyc in cases:
                t_init, t_read = self.one_start(spec, res, fixture, config, True, no_pyc)
                res.samples.setdefault(name, []).append(t_read / 1e6)
                if name == "start_fresh_ms":
                    res.samples.setdefault("start_init_ms", []).append(t_init / 1e6)

    def one_start(self, spec: ServerSpec, res: Figures, fixture: str, config: str | None,
                  timed: bool, no_bytecode: bool = False) -> tuple[int, int]:
        """(spawn -> initialize reply, spawn -> first config/read reply) in ns."""
        home = self.home(f"{spec.key}-start", config)
        peer = self.spawn(spec, home, fixture, no_bytecode)
        try:
            t_init = peer.initialize()
            self.record_size(res, fixture, "initialize", peer)
            peer.rpc("config/read", {}, timeout_s=20.0)
            t_read = time.perf_counter_ns() - peer.t_spawn_ns
            if peer.last is not None and peer.last.is_error:
                raise BenchError(f"first config/read failed: {peer.last.line[:300]!r}")
            self.record_size(res, fixture, "config/read", peer)
        finally:
            peer.close()
        if not timed:
            shutil.rmtree(os.path.dirname(home), ignore_errors=True)
        return t_init, t_read

    # -- one long session on the small fixture -------------------------------------------------

    def session(self, spec: ServerSpec, res: Figures) -> None:
        home = self.home(f"{spec.key}-run", USER_CONFIG)
        peer = self.spawn(spec, home, "small")
        try:
            peer.initialize()
            time.sleep(SETTLE_S)
            st = peer.status()
            res.values["rss_start_mib"] = st.get("VmRSS", 0) / 1024
            res.values["threads_start"] = st.get("Threads", 0)
            peer.rpc("config/read", {})
            if peer.last is not None and peer.last.is_error:
                raise BenchError(f"config/read failed: {peer.last.line[:300]!r}")
            self.record_size(res, "small", "config/read", peer)
            if "read" in self.only:
                self.reads(peer, res)
            if "pipelined" in self.only:
                self.pipelined(peer, res)
            if "meta" in self.only:
                self.meta(peer, res)
            if "write" in self.only:
                self.small_writes(spec, peer, res, home)
            st = peer.status()
            res.values["rss_end_mib"] = st.get("VmRSS", 0) / 1024
        finally:
            res.errors += peer.errors
            if peer.first_error and res.first_error is None:
                res.first_error = peer.first_error.decode(errors="replace")
            peer.close()

    def reads(self, peer: Peer, res: Figures) -> None:
        for _ in range(self.plan.warmup):
            peer.rpc("config/read", {})

        def one(_: int) -> int:
            rid = peer.take_id()
            return peer.call(read_request(rid), rid)
        cpu0 = peer.cpu_s()
        self.loop(res, "read_us", self.plan.requests, one)
        res.values["read_cpu_us"] = (peer.cpu_s() - cpu0) / len(res.samples["read_us"]) * 1e6

    def meta(self, peer: Peer, res: Figures) -> None:
        for method, params, name in (("configRequirements/read", None, "requirements_us"),
                                     ("experimentalFeature/list", {}, "features_us")):
            peer.rpc(method, params)
            self.record_size(res, "small", method, peer)
            for _ in range(min(20, self.plan.meta)):
                peer.rpc(method, params)
            self.loop(res, name, self.plan.meta, functools.partial(_call_ignoring_index, peer, method, params))

    def small_writes(self, spec: ServerSpec, peer: Peer, res: Figures, home: str) -> None:
        n = self.plan.writes
        for i in range(5):                                  # warm-up
            peer.rpc("config/batchWrite", batch_edit("model", WRITE_VALUES[i % 2]))
        self.record_size(res, "small", "config/batchWrite", peer)
        self.loop(res, "write_small_us", n,
                  lambda i: peer.rpc("config/batchWrite", batch_edit("model", WRITE_VALUES[i % 2])))
        for i in range(5):
            peer.rpc("config/value/write", value_write("model", WRITE_VALUES[i % 2]))
        self.record_size(res, "small", "config/value/write", peer)
        self.loop(res, "value_write_us", n,
                  lambda i: peer.rpc("config/value/write", value_write("model", WRITE_VALUES[i % 2])))
        with open(os.path.join(home, "config.toml")) as fh:
            text = fh.read()
        if spec.key != "echo" and not any(f'"{v}"' in text for v in WRITE_VALUES):
            res.notes.append("config.toml does not show the written model value")

    # -- pipelined ------------------------------------------------------------------------

    def pipelined(self, peer: Peer, res: Figures) -> None:
        """PIPELINED_ROUNDS rounds; the table shows the median round."""
        per_round = max(self.plan.in_flight, self.plan.pipelined // PIPELINED_ROUNDS)
        deadline = self.phase_deadline_ns()
        for i in range(PIPELINED_ROUNDS):
            if i > 0 and time.perf_counter_ns() > deadline:
                res.notes.append(f"pipelined rounds cut to {i} by the time cap")
                break
            res.rounds.append(self.pipelined_round(peer, res, per_round, deadline))
        res.values["pipelined_rps"] = sorted(res.rounds)[(len(res.rounds) - 1) // 2]

    def pipelined_round(self, peer: Peer, res: Figures, total: int, deadline: int) -> float:
        """Keeps ``in_flight`` requests outstanding (one write per batch of replies): req/s."""
        sent = received = 0
        t0 = time.perf_counter_ns()

        def send(k: int) -> None:
            nonlocal sent
            if k > 0:
                first = peer.next_id
                peer.next_id += k
                sent += k
                peer.send(b"".join(read_request(first + j) for j in range(k)))

        min_until = t0 + int(PIPELINED_MIN_S * 1e9)
        limit = total * PIPELINED_MAX_FACTOR
        send(min(self.plan.in_flight, total))
        stop_sending = False
        while received < sent:
            got = peer.replies(deadline + int(REPLY_TIMEOUT_S * 1e9))
            received += got
            now = time.perf_counter_ns()
            if not stop_sending and now > deadline:
                stop_sending = True
                res.notes.append(f"pipelined round cut by the time cap after {sent} requests")
            if not stop_sending:
                send(min(got, (total if now > min_until else limit) - sent))
        return received / ((time.perf_counter_ns() - t0) / 1e9)

    # -- writes on big files --------------------------------------------------------------

    def big_writes(self, spec: ServerSpec, res: Figures) -> None:
        for keys, n in self.plan.big_writes.items():
            if self.out_of_budget():
                res.notes.append(f"big-file writes at {keys} keys skipped: out of time budget")
                continue
            fixture = f"k{keys}"
            home = self.home(f"{spec.key}-{fixture}", big_config(keys))
            peer = self.spawn(spec, home, fixture)
            key = big_key(keys)
            try:
                peer.initialize()
                for i in range(3):
                    peer.rpc("config/batchWrite", batch_edit(key, f"edit {i % 2}"), timeout_s=30.0)
                self.record_size(res, fixture, "config/batchWrite", peer)
                self.loop(res, f"write_{fixture}_us", n, functools.partial(_big_write, peer, key))
            finally:
                res.errors += peer.errors
                peer.close()
            if spec.key != "echo":
                self.check_big_file(res, home, keys)

    @staticmethod
    def check_big_file(res: Figures, home: str, keys: int) -> None:
        import tomllib
        with open(os.path.join(home, "config.toml"), "rb") as fh:
            doc: Any = tomllib.load(fh)
        table = doc.get("shell_environment_policy", {}).get("set", {})
        if len(table) != keys:
            res.notes.append(f"{keys}-key file has {len(table)} keys after the writes")

    def run_phase(self, phase: str, spec: ServerSpec, res: Figures) -> None:
        """One phase (start | session | big) of one server; a failure marks the whole column."""
        if res.failed:
            return
        try:
            if phase == "start" and "start" in self.only:
                self.starts(spec, res)
            elif phase == "session" and self.only & {"read", "pipelined", "meta", "write"}:
                self.session(spec, res)
            elif phase == "big" and "big" in self.only:
                self.big_writes(spec, res)
        except (BenchError, OSError) as exc:
            res.failed = str(exc)
