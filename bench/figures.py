"""The single-client figures: starts, reads, pipelined reads, metadata, writes, RSS.

Every server has a lane (its figures, its live peer). The servers are measured in turn in blocks
of a tenth of each loop (reference, Chamberlain, echo floor, reference, …), so that a change of the
machine's load during the run spreads over every column instead of landing on one. Every loop is
bounded in count and by a wall-time cap per server; a cut loop leaves a note.
"""
from __future__ import annotations

import functools
import json
import math
import os
import shutil
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from client import IN_FLIGHT_DEFAULT, BenchError, Peer, ServerSpec, read_request, server_env
from fixtures import USER_CONFIG, WRITE_VALUES, batch_edit, big_config, big_key, value_write

SETTLE_S: Final = 0.3                  # pause before reading RSS
PIPELINED_ROUNDS: Final = 3            # pipelined rounds per server; the median is shown
PIPELINED_MIN_S: Final = 0.4           # each round runs at least this long ...
PIPELINED_MAX_FACTOR: Final = 20       # ... or until 20x the planned requests were sent
BLOCKS: Final = 10                     # each loop runs in this many blocks, the servers in turn
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


@dataclass
class Lane:
    """One server during a phase."""
    spec: ServerSpec
    res: Figures
    peer: Peer | None = None
    home: str = ""

    def close(self) -> None:
        if self.peer is not None:
            self.res.errors += self.peer.errors
            if self.peer.first_error and self.res.first_error is None:
                self.res.first_error = self.peer.first_error.decode(errors="replace")
            self.peer.close()
            self.peer = None

    def fail(self, exc: BaseException) -> None:
        self.res.failed = f"{type(exc).__name__}: {exc}"
        self.close()

    @property
    def live(self) -> Peer:
        assert self.peer is not None
        return self.peer


One = Callable[[Peer, int], int]     # (peer, sample index) -> round trip in ns


def _read(peer: Peer, _i: int) -> int:
    rid = peer.take_id()
    return peer.call(read_request(rid), rid)


def _batch_model(peer: Peer, i: int) -> int:
    return peer.rpc("config/batchWrite", batch_edit("model", WRITE_VALUES[i % 2]))


def _value_model(peer: Peer, i: int) -> int:
    return peer.rpc("config/value/write", value_write("model", WRITE_VALUES[i % 2]))


def _big_write(key: str, peer: Peer, i: int) -> int:
    return peer.rpc("config/batchWrite", batch_edit(key, f"edit {i % 2}"), timeout_s=30.0)


#: The account calls timed, on the session's API-key login (made first, so every server reads
#: the same stored key): (method, params, figure).
_API_KEY_LOGIN: Final[dict[str, Any]] = {"type": "apiKey", "apiKey": "sk-bench-0123456789"}
ACCOUNT_FIGURES: Final[tuple[tuple[str, dict[str, Any], str], ...]] = (
    ("account/read", {}, "account_read_us"),
    ("getAuthStatus", {"includeToken": True}, "auth_status_us"),
    ("account/login/start", _API_KEY_LOGIN, "login_api_key_us"),
)
#: Called once at the session's start (reply sizes for the echo floor; the stored key).
ACCOUNT_CALLS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("account/login/start", _API_KEY_LOGIN), ("account/read", {}), ("getAuthStatus", {"includeToken": True}),
)


def _method(method: str, params: Any, peer: Peer, _i: int) -> int:
    return peer.rpc(method, params)


class Bench:
    """Measures every server with the same client code, the servers in turn."""

    def __init__(self, plan: Plan, only: set[str], budget_deadline: float) -> None:
        self.plan = plan
        self.only = only
        self.budget_deadline = budget_deadline   # a time.monotonic() value
        self.echo_sizes: dict[str, dict[str, int]] = {}
        self._n = 0
        self._warm: set[str] = set()

    def ensure_warm(self, lane: Lane) -> None:
        """One untimed start per server before anything is measured: page cache, bytecode cache
        (a first start that compiles also leaves a bigger RSS)."""
        if lane.spec.key not in self._warm:
            self._warm.add(lane.spec.key)
            self.one_start(lane, "fresh", None, timed=False)
            if lane.spec.python and self.plan.bytecode_cache:
                root = os.path.join(self.plan.scratch, "pycache")
                lane.res.values["pyc_files"] = sum(f.endswith(".pyc") for _, _, fs in os.walk(root) for f in fs)

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

    def cap_ns(self) -> int:
        return int(min(self.plan.phase_cap_s, max(1.0, self.budget_deadline - time.monotonic())) * 1e9)

    def out_of_budget(self) -> bool:
        return time.monotonic() > self.budget_deadline

    @staticmethod
    def record_size(res: Figures, fixture: str, method: str, peer: Peer) -> None:
        if peer.last is not None:
            res.sizes.setdefault(fixture, {}).setdefault(method, len(peer.last.line) + 1)

    def interleave(self, lanes: list[Lane], name: str, n: int, one: One, cpu_key: str | None = None) -> None:
        """``n`` samples of ``one`` per lane into ``samples[name]`` (µs), in BLOCKS blocks, lanes in turn.

        Each lane stops when its own time in this loop passes the cap; ``cpu_key``: also the
        server's CPU per sample (µs) into ``values[cpu_key]``.
        """
        block = max(1, math.ceil(n / BLOCKS))
        spent = {id(lane): 0 for lane in lanes}
        cpu = {id(lane): 0.0 for lane in lanes}
        active = [lane for lane in lanes if lane.peer is not None]
        cap = self.cap_ns()
        while active:
            for lane in list(active):
                out = lane.res.samples.setdefault(name, [])
                t0, c0 = time.perf_counter_ns(), lane.live.cpu_s() if cpu_key else 0.0
                try:
                    for _ in range(min(block, n - len(out))):
                        out.append(one(lane.live, len(out)) / 1e3)
                    if cpu_key:
                        cpu[id(lane)] += lane.live.cpu_s() - c0
                except (BenchError, OSError) as exc:
                    lane.fail(exc)
                    active.remove(lane)
                    continue
                spent[id(lane)] += time.perf_counter_ns() - t0
                if len(out) >= n:
                    active.remove(lane)
                elif spent[id(lane)] > cap:
                    lane.res.notes.append(f"{name} cut to {len(out)} samples by the time cap")
                    active.remove(lane)
        if cpu_key:
            for lane in lanes:
                if lane.res.samples.get(name):
                    lane.res.values[cpu_key] = cpu[id(lane)] / len(lane.res.samples[name]) * 1e6

    @staticmethod
    def each(lanes: list[Lane], fn: Callable[[Lane], None]) -> None:
        """``fn(lane)`` for every live lane; a failure marks that lane's column."""
        for lane in lanes:
            if lane.res.failed:
                continue
            try:
                fn(lane)
            except (BenchError, OSError) as exc:
                lane.fail(exc)

    # -- starts ---------------------------------------------------------------------------

    def starts(self, lanes: list[Lane]) -> None:
        """spawn -> initialize and -> first config/read reply, on fresh homes and on 10,000 keys."""
        big = big_config(10_000)

        def warm(lane: Lane) -> None:          # page cache, bytecode cache, reply sizes
            self.ensure_warm(lane)
            self.one_start(lane, "k10000", big, timed=False)
        self.each(lanes, warm)
        for i in range(self.plan.starts):
            if i > 0 and self.out_of_budget():
                for lane in lanes:
                    lane.res.notes.append(f"starts cut to {i} by the time budget")
                return
            self.each(lanes, functools.partial(self.timed_starts, big))

    def timed_starts(self, big: str, lane: Lane) -> None:
        cases: list[tuple[str, str | None, str, bool]] = [
            ("fresh", None, "start_fresh_ms", False), ("k10000", big, "start_k10000_ms", False)]
        if lane.spec.python:
            cases.append(("fresh", None, "start_nopyc_ms", True))
        for fixture, config, name, no_pyc in cases:
            t_init, t_read = self.one_start(lane, fixture, config, True, no_pyc)
            lane.res.samples.setdefault(name, []).append(t_read / 1e6)
            if name == "start_fresh_ms":
                lane.res.samples.setdefault("start_init_ms", []).append(t_init / 1e6)

    def one_start(self, lane: Lane, fixture: str, config: str | None, timed: bool,
                  no_bytecode: bool = False) -> tuple[int, int]:
        """(spawn -> initialize reply, spawn -> first config/read reply) in ns."""
        home = self.home(f"{lane.spec.key}-start", config)
        peer = self.spawn(lane.spec, home, fixture, no_bytecode)
        try:
            t_init = peer.initialize()
            self.record_size(lane.res, fixture, "initialize", peer)
            peer.rpc("config/read", {}, timeout_s=20.0)
            t_read = time.perf_counter_ns() - peer.t_spawn_ns
            if peer.last is not None and peer.last.is_error:
                raise BenchError(f"first config/read failed: {peer.last.line[:300]!r}")
            self.record_size(lane.res, fixture, "config/read", peer)
        finally:
            peer.close()
        if not timed:
            shutil.rmtree(os.path.dirname(home), ignore_errors=True)
        return t_init, t_read

    # -- one long session per server on the small fixture ---------------------------------------

    def open_session(self, lane: Lane) -> None:
        """Spawn, RSS after start-up, one call of each method (reply sizes) and the write warm-up."""
        self.ensure_warm(lane)
        lane.home = self.home(f"{lane.spec.key}-run", USER_CONFIG)
        lane.peer = peer = self.spawn(lane.spec, lane.home, "small")
        peer.initialize()
        time.sleep(SETTLE_S)
        st = peer.status()
        lane.res.values["rss_start_mib"] = st.get("VmRSS", 0) / 1024
        lane.res.values["threads_start"] = st.get("Threads", 0)
        calls: tuple[tuple[str, dict[str, Any] | None], ...] = (
            ("config/read", {}), ("configRequirements/read", None), ("experimentalFeature/list", {}), *ACCOUNT_CALLS,
        )
        for method, params in calls:
            peer.rpc(method, params)
            if peer.last is not None and peer.last.is_error:
                raise BenchError(f"{method} failed: {peer.last.line[:300]!r}")
            self.record_size(lane.res, "small", method, peer)
        for i in range(5):
            _batch_model(peer, i)
            self.record_size(lane.res, "small", "config/batchWrite", peer)
            _value_model(peer, i)
            self.record_size(lane.res, "small", "config/value/write", peer)

    def session(self, lanes: list[Lane]) -> None:
        """Reference and Chamberlain open first: the echo floor needs their reply sizes."""
        self.each([x for x in lanes if x.spec.key != "echo"], self.open_session)
        self.each([x for x in lanes if x.spec.key == "echo"], self.open_session)
        try:
            if "read" in self.only:
                self.each(lanes, self.warm_reads)
                self.interleave(lanes, "read_us", self.plan.requests, _read, cpu_key="read_cpu_us")
            if "pipelined" in self.only:
                self.pipelined(lanes)
            if "meta" in self.only:
                for method, params, name in (("configRequirements/read", None, "requirements_us"),
                                             ("experimentalFeature/list", {}, "features_us")):
                    self.interleave(lanes, name, self.plan.meta, functools.partial(_method, method, params))
            if "account" in self.only:
                for call, body, figure in ACCOUNT_FIGURES:
                    self.interleave(lanes, figure, self.plan.meta, functools.partial(_method, call, body))
            if "write" in self.only:
                self.fsync_floor(lanes)
                self.interleave(lanes, "write_small_us", self.plan.writes, _batch_model)
                self.interleave(lanes, "value_write_us", self.plan.writes, _value_model)
                self.each([x for x in lanes if x.spec.key != "echo"], self.check_small_file)
            self.each(lanes, self.rss_end)
        finally:
            for lane in lanes:
                lane.close()

    def fsync_floor(self, lanes: list[Lane]) -> None:
        """The disk's share of a durable write, measured in the bench process, shown in the echo column:
        mkstemp, write the small fixture, fsync, rename over a file, fsync the directory."""
        echo = next((lane for lane in lanes if lane.spec.key == "echo"), None)
        if echo is None:
            return
        directory = tempfile.mkdtemp(prefix="fsync-floor-", dir=self.plan.scratch)
        target = os.path.join(directory, "config.toml")
        data = USER_CONFIG.encode()
        out = echo.res.samples.setdefault("fsync_floor_us", [])
        for _ in range(self.plan.writes):
            t0 = time.perf_counter_ns()
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, target)
            dfd = os.open(directory, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)
            out.append((time.perf_counter_ns() - t0) / 1e3)

    def warm_reads(self, lane: Lane) -> None:
        for i in range(self.plan.warmup):
            _read(lane.live, i)

    @staticmethod
    def rss_end(lane: Lane) -> None:
        if lane.peer is not None:
            lane.res.values["rss_end_mib"] = lane.peer.status().get("VmRSS", 0) / 1024

    @staticmethod
    def check_small_file(lane: Lane) -> None:
        with open(os.path.join(lane.home, "config.toml")) as fh:
            text = fh.read()
        if not any(f'model = "{v}"' in text for v in WRITE_VALUES):
            lane.res.notes.append("config.toml does not show the written model value")

    # -- pipelined ------------------------------------------------------------------------

    def pipelined(self, lanes: list[Lane]) -> None:
        """PIPELINED_ROUNDS rounds per server, the servers in turn; the table shows the median."""
        per_round = max(self.plan.in_flight, self.plan.pipelined // PIPELINED_ROUNDS)
        deadline = {id(lane): time.perf_counter_ns() + self.cap_ns() for lane in lanes}

        def one_round(lane: Lane) -> None:
            if lane.res.rounds and time.perf_counter_ns() > deadline[id(lane)]:
                return
            lane.res.rounds.append(self.pipelined_round(lane, per_round, time.perf_counter_ns() + self.cap_ns()))
        for _ in range(PIPELINED_ROUNDS):
            self.each(lanes, one_round)
        for lane in lanes:
            if lane.res.rounds:
                lane.res.values["pipelined_rps"] = sorted(lane.res.rounds)[(len(lane.res.rounds) - 1) // 2]
                if len(lane.res.rounds) < PIPELINED_ROUNDS:
                    lane.res.notes.append(f"pipelined rounds cut to {len(lane.res.rounds)} by the time cap")

    def pipelined_round(self, lane: Lane, total: int, deadline: int) -> float:
        """Keeps ``in_flight`` requests outstanding (one write per batch of replies): req/s."""
        peer = lane.live
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
                lane.res.notes.append(f"pipelined round cut by the time cap after {sent} requests")
            if not stop_sending:
                send(min(got, (total if now > min_until else limit) - sent))
        return received / ((time.perf_counter_ns() - t0) / 1e9)

    # -- writes on big files --------------------------------------------------------------

    def big_writes(self, lanes: list[Lane]) -> None:
        for keys, n in self.plan.big_writes.items():
            if self.out_of_budget():
                for lane in lanes:
                    lane.res.notes.append(f"big-file writes at {keys} keys skipped: out of time budget")
                continue
            fixture, write = f"k{keys}", functools.partial(_big_write, big_key(keys))

            def open_big(lane: Lane, fixture: str = fixture, keys: int = keys, write: One = write) -> None:
                self.ensure_warm(lane)
                lane.home = self.home(f"{lane.spec.key}-{fixture}", big_config(keys))
                lane.peer = self.spawn(lane.spec, lane.home, fixture)
                lane.peer.initialize()
                for i in range(3):
                    write(lane.peer, i)
                self.record_size(lane.res, fixture, "config/batchWrite", lane.peer)
            self.each([x for x in lanes if x.spec.key != "echo"], open_big)
            self.each([x for x in lanes if x.spec.key == "echo"], open_big)
            try:
                self.interleave(lanes, f"write_{fixture}_us", n, write)
            finally:
                for lane in lanes:
                    lane.close()
            self.each([x for x in lanes if x.spec.key != "echo"],
                      functools.partial(self.check_big_file, keys))

    @staticmethod
    def check_big_file(keys: int, lane: Lane) -> None:
        with open(os.path.join(lane.home, "config.toml"), "rb") as fh:
            doc: Any = tomllib.load(fh)
        table = doc.get("shell_environment_policy", {}).get("set", {})
        if len(table) != keys:
            lane.res.notes.append(f"{keys}-key file has {len(table)} keys after the writes")

    def run_all(self, lanes: list[Lane]) -> None:
        """start, session, big: each phase for every server (reference first, echo floor last)."""
        if "start" in self.only:
            self.starts(lanes)
        if self.only & {"read", "pipelined", "meta", "account", "write"}:
            self.session(lanes)
        if "big" in self.only:
            self.big_writes(lanes)
