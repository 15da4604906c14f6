#!/usr/bin/env python3
"""Chamberlain against the reference `codex app-server` and an echo-server floor, in one run.

    python3 bench/run.py                 # full run (~1 minute)
    python3 bench/run.py --quick         # fewer requests and starts (~20 s)
    python3 bench/run.py --requests 5000 --json /tmp/bench.json

For each server (the floor `bench/echo_server.py`, Chamberlain, and the reference when it is
installed) it measures, with the same client code:

1. spawn -> `initialize` reply on a fresh CODEX_HOME (median of a few starts, after one untimed
   start that warms the page cache);
2. sequential `config/read` (params `{}`) latency p50/p99, one request in flight, after warm-up,
   with a small realistic user config.toml, and the server's CPU time per request;
3. pipelined `config/read` throughput with 64 requests in flight;
4. `config/batchWrite` latency (one edit alternating two values, so every write changes the file);
5. the server process's RSS (VmRSS in /proc/<pid>/status) after start-up and after the runs.

The client is single-threaded on blocking pipes: it writes whole request lines with os.write, reads
stdout with os.read behind poll() (every wait is bounded by a deadline) and frames lines itself.
Server notifications (a "method" and no "id") are skipped. Time is taken with perf_counter_ns.
Every phase is bounded in count and in wall time, so one run stays under ~2 minutes.

Python 3.11 and the project's dependencies (msgspec) only. See bench/README.md.
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import math
import os
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

HERE: Final = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REFPEER_DIR: Final = os.path.join(os.path.expanduser("~"), ".cache", "chamberlain-refpeer")
DEAD_PROXY: Final = "http://127.0.0.1:9"
ENV_DROP_PREFIXES: Final = ("CODEX_", "OPENAI_")
ENV_DROP: Final = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                             "http_proxy", "https_proxy", "all_proxy", "no_proxy"})

IN_FLIGHT: Final = 64
READ_CHUNK_BYTES: Final = 1 << 18
REPLY_TIMEOUT_S: Final = 10.0          # one reply, or one batch of pipelined replies
START_TIMEOUT_S: Final = 20.0          # spawn -> initialize reply
STOP_TIMEOUT_S: Final = 5.0            # stdin EOF -> exit, then SIGKILL to the process group
PHASE_CAP_S: Final = 15.0              # wall-time cap of each measured loop
PIPELINED_ROUNDS: Final = 3            # pipelined rounds per server; the median is shown
PIPELINED_MIN_S: Final = 0.4           # each round runs at least this long ...
PIPELINED_MAX_FACTOR: Final = 50       # ... or until 50x the planned requests were sent
SETTLE_S: Final = 0.3                  # pause before reading RSS

# The figures the reference made in shared/perf-notes.md, used for verdicts when it is absent.
PERF_NOTES: Final = {"start_ms": 116.0, "read_p50_us": 751.0, "read_p99_us": 2342.0,
                     "pipelined_rps": 2000.0, "write_p50_us": 748.0, "rss_start_mib": 87.0}

USER_CONFIG: Final = """\
# Personal Codex settings (bench fixture: a few keys, a table, a comment)
model = "o3"
approval_policy = "on-request"
sandbox_mode = "workspace-write"

[features]
memories = true  # trying the memory feature

[sandbox_workspace_write]
network_access = false
"""

WRITE_VALUES: Final = ("o4-mini", "o3")


class BenchError(Exception):
    """A server that did not answer in time, died, or answered with nonsense."""


class _Envelope(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None
    error: msgspec.Raw | None = None


_DECODER: Final = msgspec.json.Decoder(_Envelope)


def _request(rid: int, method: str, params: Any) -> bytes:
    return json.dumps({"id": rid, "method": method, "params": params},
                      separators=(",", ":")).encode() + b"\n"


def _read_request(rid: int) -> bytes:
    return b'{"id":%d,"method":"config/read","params":{}}\n' % rid


def _write_request(rid: int, value: str) -> bytes:
    return _request(rid, "config/batchWrite",
                    {"edits": [{"keyPath": "model", "value": value, "mergeStrategy": "replace"}]})


# ---------------------------------------------------------------------------
# the client: one spawned server on blocking pipes
# ---------------------------------------------------------------------------

class Peer:
    """A spawned stdio server and the client end of its pipes."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str, stderr_path: str) -> None:
        self.argv = argv
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.t_spawn_ns = time.perf_counter_ns()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env, cwd=cwd, bufsize=0,
                                     start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._pending = b""
        self._lines: collections.deque[bytes] = collections.deque()
        self.notifications = 0
        self.errors = 0
        self.first_error: bytes | None = None
        self.next_id = 1

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._in, view)
            view = view[n:]

    def _fill(self, deadline_ns: int) -> None:
        """Block until stdout has data (or the deadline passes) and split it into lines."""
        while True:
            remaining_ms = (deadline_ns - time.perf_counter_ns()) // 1_000_000
            if remaining_ms <= 0:
                raise BenchError(f"{self.argv[0]}: no reply within the deadline")
            if self._poll.poll(min(remaining_ms, 1000)):
                break
            if self.proc.poll() is not None:
                raise BenchError(f"{self.argv[0]}: exited with status {self.proc.returncode}")
        chunk = os.read(self._out, READ_CHUNK_BYTES)
        if not chunk:
            raise BenchError(f"{self.argv[0]}: closed stdout (status {self.proc.poll()})")
        parts = (self._pending + chunk).split(b"\n") if self._pending else chunk.split(b"\n")
        self._pending = parts.pop()
        self._lines.extend(parts)

    def _take(self, line: bytes) -> _Envelope | None:
        """The envelope of a reply line; None for notifications and blank lines."""
        if not line.strip():
            return None
        try:
            env = _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise BenchError(f"{self.argv[0]}: not JSON on stdout: {line[:200]!r}") from exc
        if env.id is None:
            self.notifications += 1
            return None
        if env.error is not None:
            self.errors += 1
            if self.first_error is None:
                self.first_error = line[:500]
        return env

    def reply(self, deadline_ns: int) -> _Envelope:
        """The next reply (notifications skipped)."""
        while True:
            while not self._lines:
                self._fill(deadline_ns)
            env = self._take(self._lines.popleft())
            if env is not None:
                return env

    def replies(self, deadline_ns: int) -> int:
        """Wait for at least one line, then consume every complete line: the number of replies."""
        if not self._lines:
            self._fill(deadline_ns)
        n = 0
        while self._lines:
            if self._take(self._lines.popleft()) is not None:
                n += 1
        return n

    def call(self, data: bytes, rid: int, timeout_s: float = REPLY_TIMEOUT_S) -> int:
        """Send one request and wait for its reply: the round trip in ns."""
        t0 = time.perf_counter_ns()
        self.send(data)
        deadline = t0 + int(timeout_s * 1e9)
        while True:
            env = self.reply(deadline)
            if env.id == rid:
                return time.perf_counter_ns() - t0

    def initialize(self, timeout_s: float = START_TIMEOUT_S) -> int:
        """initialize + initialized: ns from spawn to the initialize reply."""
        self.send(_request(0, "initialize",
                           {"clientInfo": {"name": "chamberlain_bench", "version": "1.0"}}))
        deadline = self.t_spawn_ns + int(timeout_s * 1e9)
        while True:
            env = self.reply(deadline)
            if env.id == 0:
                t = time.perf_counter_ns() - self.t_spawn_ns
                break
        if env.error is not None:
            raise BenchError(f"{self.argv[0]}: initialize failed: {self.first_error!r}")
        self.send(b'{"method":"initialized"}\n')
        return t

    def status(self) -> dict[str, int]:
        """VmRSS (KiB) and Threads from /proc/<pid>/status."""
        out: dict[str, int] = {}
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "Threads"):
                    out[key] = int(value.split()[0])
        return out

    def cpu_s(self) -> float:
        """CPU time of the server process so far, all live threads, in seconds.

        From /proc/<pid>/task/*/schedstat (ns, exact); where that is missing, from utime + stime
        in /proc/<pid>/stat (clock ticks, 10 ms). Threads that exited in between are not counted.
        """
        total_ns = 0
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                try:
                    with open(f"/proc/{self.pid}/task/{tid}/schedstat") as fh:
                        total_ns += int(fh.read().split()[0])
                except (FileNotFoundError, ProcessLookupError):
                    continue
            return total_ns / 1e9
        except OSError:
            pass
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        """EOF on stdin, wait a little, then kill the process group (only what we started)."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.returncode is None:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------

@dataclass
class ServerSpec:
    key: str
    label: str
    argv: list[str]
    python: bool = False     # gets a bytecode cache (see server_env)


def _is_pyenv_shim(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and b"pyenv" in head and b"exec" in head


def chamberlain_argv() -> list[str]:
    """`chamberlain app-server` (resolved with shutil.which), else `python3 -m chamberlain`.

    A pyenv shim re-execs bash and pyenv on every start (~tens of ms that are not Chamberlain's):
    when `which` finds one, the console script of this interpreter is used instead.
    """
    path = shutil.which("chamberlain")
    if path and _is_pyenv_shim(path):
        script = os.path.join(sysconfig.get_path("scripts"), "chamberlain")
        if os.access(script, os.X_OK):
            path = script
    if path:
        return [path, "app-server"]
    return [sys.executable, "-m", "chamberlain", "app-server"]


def find_reference() -> tuple[str | None, str]:
    """The native reference binary, like shared/refpeer/replay.py's find_reference (never the npm shim)."""
    env = os.environ.get("REFPEER_CODEX")
    if env:
        return (env, "") if os.access(env, os.X_OK) else (None, f"REFPEER_CODEX={env} is not executable")
    base = os.environ.get("REFPEER_DIR") or DEFAULT_REFPEER_DIR
    native = sorted(glob.glob(os.path.join(base, "node_modules", "@openai", "codex-*", "vendor", "*",
                                           "bin", "codex")))
    if native:
        return native[0], ""
    if os.path.exists(os.path.join(base, "node_modules", ".bin", "codex")):
        return None, f"only the npm shim is installed under {base} (no native binary); not used"
    return None, f"reference codex not installed under {base} (shared/refpeer/install.sh)"


def server_env(home: str, pycache: str | None = None) -> dict[str, str]:
    """The environment of a server: CODEX_*/OPENAI_* dropped, proxies dead, CODEX_HOME set.

    ``pycache``: for Python servers, a bytecode cache directory (PYTHONPYCACHEPREFIX) and
    PYTHONDONTWRITEBYTECODE dropped, so that an editable install in an environment that forbids
    .pyc files does not recompile its sources on every start (~30 ms) — an installed wheel has
    its .pyc files. The untimed first start fills the cache.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ENV_DROP and not k.startswith(ENV_DROP_PREFIXES)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    env.setdefault("RUST_LOG", "warn")
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[k] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["CODEX_HOME"] = home
    return env


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------

@dataclass
class Round:
    """One pipelined round. On a 2-CPU machine the kernel sometimes keeps client and server on one
    CPU (pipe wake-ups are wake-affine): server + client cores then add up to ~1.0 and the rate
    drops by about a third. Several rounds and their median make the figure stable."""
    n: int
    seconds: float
    server_cpu_s: float
    client_cpu_s: float

    @property
    def rps(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    label: str
    argv: list[str]
    starts_ms: list[float] = field(default_factory=list)
    read_us: list[float] = field(default_factory=list)
    read_cpu_us: float | None = None
    rounds: list[Round] = field(default_factory=list)
    write_us: list[float] = field(default_factory=list)
    rss_start_kib: int | None = None
    threads_start: int | None = None
    rss_end_kib: int | None = None
    threads_end: int | None = None
    errors: int = 0
    first_error: str | None = None
    notes: list[str] = field(default_factory=list)
    failed: str | None = None

    def summary(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "argv": self.argv}
        d["start_ms"] = _median(self.starts_ms)
        d["start_ms_all"] = [round(x, 1) for x in self.starts_ms]
        d["read_n"] = len(self.read_us)
        d["read_p50_us"] = _pct(self.read_us, 50)
        d["read_p99_us"] = _pct(self.read_us, 99)
        d["read_cpu_us"] = self.read_cpu_us
        d["pipelined_n"] = sum(r.n for r in self.rounds)
        d["pipelined_rounds_rps"] = [round(r.rps) for r in self.rounds]
        mid = sorted(self.rounds, key=lambda r: r.rps)[(len(self.rounds) - 1) // 2] if self.rounds else None
        d["pipelined_rps"] = mid.rps if mid else None
        d["pipelined_cores"] = mid.server_cpu_s / mid.seconds if mid else None
        d["pipelined_client_cores"] = mid.client_cpu_s / mid.seconds if mid else None
        d["write_n"] = len(self.write_us)
        d["write_p50_us"] = _pct(self.write_us, 50)
        d["write_p99_us"] = _pct(self.write_us, 99)
        d["rss_start_mib"] = self.rss_start_kib / 1024 if self.rss_start_kib else None
        d["rss_end_mib"] = self.rss_end_kib / 1024 if self.rss_end_kib else None
        d["threads_start"] = self.threads_start
        d["threads_end"] = self.threads_end
        d["errors"] = self.errors
        d["first_error"] = self.first_error
        d["notes"] = self.notes
        d["failed"] = self.failed
        return d


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _pct(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


@dataclass
class Plan:
    starts: int
    requests: int
    warmup: int
    pipelined: int
    writes: int
    phase_cap_s: float
    scratch: str
    bytecode_cache: bool = True


class Bench:
    def __init__(self, plan: Plan, budget_deadline: float) -> None:
        self.plan = plan
        self.budget_deadline = budget_deadline   # time.monotonic() value
        self._n = 0

    def _dir(self, what: str) -> str:
        self._n += 1
        return tempfile.mkdtemp(prefix=f"{what}-{self._n}-", dir=self.plan.scratch)

    def _spawn(self, spec: ServerSpec, home: str) -> Peer:
        pycache = None
        if spec.python and self.plan.bytecode_cache:
            pycache = os.path.join(self.plan.scratch, "pycache")
        return Peer(spec.argv, server_env(home, pycache), cwd=os.path.dirname(home),
                    stderr_path=home + ".stderr")

    def _phase_deadline_ns(self) -> int:
        cap = min(self.plan.phase_cap_s, max(1.0, self.budget_deadline - time.monotonic()))
        return time.perf_counter_ns() + int(cap * 1e9)

    def starts(self, spec: ServerSpec, res: Result) -> None:
        """One untimed start (page cache), then `starts` timed ones, each on a fresh CODEX_HOME."""
        for i in range(self.plan.starts + 1):
            if i > 1 and time.monotonic() > self.budget_deadline:
                res.notes.append(f"starts cut to {len(res.starts_ms)} by the time budget")
                break
            home = os.path.join(self._dir(spec.key + "-start"), "codex-home")
            os.mkdir(home)
            peer = self._spawn(spec, home)
            try:
                t = peer.initialize()
            finally:
                peer.close()
            if i > 0:
                res.starts_ms.append(t / 1e6)

    def session(self, spec: ServerSpec, res: Result) -> None:
        """One long-lived server on a home with a small user config.toml: reads, pipelined, writes."""
        plan = self.plan
        home = os.path.join(self._dir(spec.key + "-run"), "codex-home")
        os.mkdir(home)
        with open(os.path.join(home, "config.toml"), "w") as fh:
            fh.write(USER_CONFIG)
        peer = self._spawn(spec, home)
        try:
            peer.initialize()
            time.sleep(SETTLE_S)
            st = peer.status()
            res.rss_start_kib, res.threads_start = st.get("VmRSS"), st.get("Threads")

            # warm-up; check once that config/read really answers with a config
            rid = peer.next_id
            peer.send(_read_request(rid))
            deadline = time.perf_counter_ns() + int(REPLY_TIMEOUT_S * 1e9)
            while True:
                env = peer.reply(deadline)
                if env.id == rid:
                    break
            if env.error is not None:
                raise BenchError(f"config/read failed: {peer.first_error!r}")
            peer.next_id += 1
            for _ in range(plan.warmup):
                rid = peer.next_id
                peer.next_id += 1
                peer.call(_read_request(rid), rid)

            # 2. sequential config/read
            deadline = self._phase_deadline_ns()
            cpu0 = peer.cpu_s()
            for _ in range(plan.requests):
                rid = peer.next_id
                peer.next_id += 1
                res.read_us.append(peer.call(_read_request(rid), rid) / 1e3)
                if time.perf_counter_ns() > deadline:
                    res.notes.append(f"sequential reads cut to {len(res.read_us)} by the time cap")
                    break
            res.read_cpu_us = (peer.cpu_s() - cpu0) / len(res.read_us) * 1e6

            # 3. pipelined config/read, IN_FLIGHT in flight
            self._pipelined(peer, res)

            # 4. config/batchWrite, alternating values so every write changes the file
            for i in range(min(5, plan.writes)):   # warm-up
                rid = peer.next_id
                peer.next_id += 1
                peer.call(_write_request(rid, WRITE_VALUES[i % 2]), rid)
            deadline = self._phase_deadline_ns()
            for i in range(plan.writes):
                rid = peer.next_id
                peer.next_id += 1
                res.write_us.append(peer.call(_write_request(rid, WRITE_VALUES[i % 2]), rid) / 1e3)
                if time.perf_counter_ns() > deadline:
                    res.notes.append(f"writes cut to {len(res.write_us)} by the time cap")
                    break
            with open(os.path.join(home, "config.toml")) as fh:
                text = fh.read()
            if spec.key != "echo" and not any(f'"{v}"' in text for v in WRITE_VALUES):
                res.notes.append("config.toml does not show the written model value")

            time.sleep(SETTLE_S)
            st = peer.status()
            res.rss_end_kib, res.threads_end = st.get("VmRSS"), st.get("Threads")
        finally:
            res.errors = peer.errors
            res.first_error = peer.first_error.decode(errors="replace") if peer.first_error else None
            peer.close()

    def _pipelined(self, peer: Peer, res: Result) -> None:
        """PIPELINED_ROUNDS rounds; the table shows the median round (see Round)."""
        per_round = max(IN_FLIGHT, self.plan.pipelined // PIPELINED_ROUNDS)
        deadline = self._phase_deadline_ns()
        for i in range(PIPELINED_ROUNDS):
            if i > 0 and time.perf_counter_ns() > deadline:
                res.notes.append(f"pipelined rounds cut to {i} by the time cap")
                break
            res.rounds.append(self._pipelined_round(peer, res, per_round, deadline))

    def _pipelined_round(self, peer: Peer, res: Result, total: int, deadline: int) -> Round:
        sent = received = 0
        cpu0 = peer.cpu_s()
        client0 = time.process_time()
        t0 = time.perf_counter_ns()

        def send(k: int) -> None:
            nonlocal sent
            if k <= 0:
                return
            first = peer.next_id
            peer.next_id += k
            sent += k
            peer.send(b"".join(_read_request(first + j) for j in range(k)))

        # At least `total` requests; a fast server goes on until PIPELINED_MIN_S have passed (at
        # most PIPELINED_MAX_FACTOR x total), so that the rate is not the figure of a few ms.
        min_until = t0 + int(PIPELINED_MIN_S * 1e9)
        limit = total * PIPELINED_MAX_FACTOR
        send(min(IN_FLIGHT, total))
        stop_sending = False
        while received < sent:
            got = peer.replies(deadline + int(REPLY_TIMEOUT_S * 1e9))
            received += got
            now = time.perf_counter_ns()
            if not stop_sending and now > deadline:
                stop_sending = True
                res.notes.append(f"pipelined round cut by the time cap after {sent} requests")
            if not stop_sending:
                want = total if now > min_until else limit
                send(min(got, want - sent))
        elapsed_s = (time.perf_counter_ns() - t0) / 1e9
        return Round(received, elapsed_s, peer.cpu_s() - cpu0, time.process_time() - client0)

    def run(self, spec: ServerSpec) -> Result:
        res = Result(spec.label, spec.argv)
        print(f"-- {spec.label}: {shlex.join(spec.argv)}", file=sys.stderr, flush=True)
        try:
            self.starts(spec, res)
            self.session(spec, res)
        except (BenchError, OSError) as exc:
            res.failed = str(exc)
            print(f"   failed: {exc}", file=sys.stderr, flush=True)
        return res


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def _fmt(v: float | None, spec: str, unit: str) -> str:
    return "—" if v is None else f"{v:{spec}} {unit}"


ROWS: Final = (
    # label, key, format, unit
    ("spawn → initialize reply (median)", "start_ms", ",.1f", "ms"),
    ("config/read p50 (sequential)", "read_p50_us", ",.0f", "µs"),
    ("config/read p99 (sequential)", "read_p99_us", ",.0f", "µs"),
    ("server CPU per config/read", "read_cpu_us", ",.0f", "µs"),
    (f"pipelined config/read ({IN_FLIGHT} in flight)", "pipelined_rps", ",.0f", "req/s"),
    ("server CPU while pipelined", "pipelined_cores", ".2f", "cores"),
    ("client CPU while pipelined", "pipelined_client_cores", ".2f", "cores"),
    ("config/batchWrite p50", "write_p50_us", ",.0f", "µs"),
    ("config/batchWrite p99", "write_p99_us", ",.0f", "µs"),
    ("RSS after start-up", "rss_start_mib", ".1f", "MiB"),
    ("RSS after the runs", "rss_end_mib", ".1f", "MiB"),
)


def print_table(summaries: list[dict[str, Any]]) -> None:
    header = ["figure"] + [s["label"] for s in summaries]
    rows: list[list[str]] = []
    for label, key, spec, unit in ROWS:
        rows.append([label] + [_fmt(s[key], spec, unit) for s in summaries])
    rows.append(["threads after start-up / after runs"]
                + [f"{s['threads_start'] or '—'} / {s['threads_end'] or '—'}" for s in summaries])
    rows.append(["spawn → initialize, each start"]
                + [", ".join(f"{x:.0f}" for x in s["start_ms_all"]) + " ms" if s["start_ms_all"] else "—"
                   for s in summaries])
    rows.append(["pipelined, each round"]
                + [", ".join(f"{x / 1000:,.1f}k" for x in s["pipelined_rounds_rps"]) + " req/s"
                   if s["pipelined_rounds_rps"] else "—" for s in summaries])
    rows.append(["samples: reads / pipelined / writes"]
                + [f"{s['read_n']} / {s['pipelined_n']} / {s['write_n']}" for s in summaries])
    rows.append(["error replies"] + [str(s["errors"]) for s in summaries])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                         for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))
    for s in summaries:
        for note in s["notes"]:
            print(f"note ({s['label']}): {note}")
        if s["first_error"]:
            print(f"note ({s['label']}): first error reply: {s['first_error']}")
        if s["failed"]:
            print(f"note ({s['label']}): FAILED: {s['failed']}")


VERDICTS: Final = (
    # key, text, format, unit, higher is better
    ("read_p50_us", "config/read p50", ",.0f", "µs", False),
    ("read_p99_us", "config/read p99", ",.0f", "µs", False),
    ("pipelined_rps", f"pipelined config/read ({IN_FLIGHT} in flight)", ",.0f", "req/s", True),
    ("write_p50_us", "config/batchWrite p50", ",.0f", "µs", False),
    ("start_ms", "spawn → initialize", ",.1f", "ms", False),
    ("rss_start_mib", "RSS after start-up", ".1f", "MiB", False),
)


def print_verdicts(cham: dict[str, Any] | None, ref: dict[str, Any] | None) -> None:
    if cham is None:
        return
    against = "reference"
    if ref is None or ref["failed"]:
        against = "reference (perf-notes figure, not measured here)"
    for key, text, spec, unit, higher in VERDICTS:
        mine = cham[key]
        theirs = ref[key] if ref is not None and not ref["failed"] else PERF_NOTES.get(key)
        if mine is None or theirs is None:
            continue
        better = mine > theirs if higher else mine < theirs
        ratio = (mine / theirs) if higher else (theirs / mine if mine else float("inf"))
        noise = " — within the ±10% noise" if 0.9 <= ratio <= 1.1 else ""
        print(f"Chamberlain {text} {mine:{spec}} {unit} vs {against} {theirs:{spec}} {unit}: "
              f"{'better' if better else 'worse'} (×{ratio:.2f}{noise})")


# ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=None,
                   help="sequential config/read requests per server (default 2000; 300 with --quick); "
                        "pipelined requests are 4x this and writes 1/5 of it")
    p.add_argument("--quick", action="store_true", help="fewer requests and starts (~20 s)")
    p.add_argument("--starts", type=int, default=None, help="timed starts per server (default 5; 3 quick)")
    p.add_argument("--servers", default="echo,chamberlain,reference",
                   help="comma-separated subset of echo,chamberlain,reference (default: all three)")
    p.add_argument("--chamberlain-cmd", default=None,
                   help="command line to run instead of `chamberlain app-server` (e.g. under a profiler)")
    p.add_argument("--budget", type=float, default=110.0,
                   help="wall-time budget of the whole run in seconds (default 110)")
    p.add_argument("--bytecode-as-is", action="store_true",
                   help="run the Python servers with the environment's bytecode settings as they are "
                        "(by default they get a scratch PYTHONPYCACHEPREFIX; see bench/README.md)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (homes, stderr logs)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    requests = args.requests if args.requests is not None else (300 if args.quick else 2000)
    requests = max(1, requests)
    starts = args.starts if args.starts is not None else (3 if args.quick else 5)
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(wanted) - {"echo", "chamberlain", "reference"}
    if unknown:
        print(f"unknown server(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    specs: list[ServerSpec] = []
    if "echo" in wanted:
        specs.append(ServerSpec("echo", "echo floor", [sys.executable, os.path.join(HERE, "echo_server.py")],
                                python=True))
    if "chamberlain" in wanted:
        cmd = shlex.split(args.chamberlain_cmd) if args.chamberlain_cmd else chamberlain_argv()
        specs.append(ServerSpec("chamberlain", "Chamberlain", cmd, python=True))
    if "reference" in wanted:
        ref, why = find_reference()
        if ref is None:
            print(f"note: reference skipped: {why}")
        else:
            specs.append(ServerSpec("reference", "reference 0.169.0", [ref, "app-server"]))

    scratch = tempfile.mkdtemp(prefix="chamberlain-bench-")
    plan = Plan(starts=max(1, starts), requests=requests, warmup=min(200, max(20, requests // 10)),
                pipelined=max(IN_FLIGHT, 4 * requests), writes=max(10, requests // 5),
                phase_cap_s=PHASE_CAP_S, scratch=scratch, bytecode_cache=not args.bytecode_as_is)
    t_begin = time.monotonic()
    bench = Bench(plan, budget_deadline=t_begin + args.budget)
    print(f"bench: {os.cpu_count()} CPUs, {plan.starts} starts, {plan.requests} sequential reads "
          f"(+{plan.warmup} warm-up), {plan.pipelined} pipelined reads, {plan.writes} writes per server",
          file=sys.stderr, flush=True)
    results: dict[str, dict[str, Any]] = {}
    try:
        for spec in specs:
            results[spec.key] = bench.run(spec).summary()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"Chamberlain bench — {os.cpu_count()} CPUs, {time.monotonic() - t_begin:.0f} s; "
          f"medians over {plan.starts} starts, {plan.requests} sequential reads, "
          f"{plan.pipelined} pipelined reads, {plan.writes} writes")
    for spec in specs:
        print(f"  {spec.label}: {shlex.join(spec.argv)}")
    if any(spec.python for spec in specs):
        print("  Python servers: " + ("environment's bytecode settings as they are" if args.bytecode_as_is
                                      else "scratch bytecode cache (PYTHONPYCACHEPREFIX), as an installed "
                                           "package would have"))
    print()
    print_table(list(results.values()))
    print()
    print_verdicts(results.get("chamberlain"), results.get("reference"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"plan": plan.__dict__ | {"scratch": None}, "results": results}, fh, indent=2)
    return 1 if any(r["failed"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
