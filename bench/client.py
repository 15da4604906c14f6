"""The bench client: a spawned stdio server on blocking pipes, and how each server is found.

Only the command line (`chamberlain app-server`, the reference `codex app-server`) and the wire
protocol are used: nothing here imports Chamberlain.
"""
from __future__ import annotations

import collections
import contextlib
import glob
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from typing import Any, Final

import msgspec

HERE: Final = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REFPEER_DIR: Final = os.path.join(os.path.expanduser("~"), ".cache", "chamberlain-refpeer")
DEAD_PROXY: Final = "http://127.0.0.1:9"
ENV_DROP_PREFIXES: Final = ("CODEX_", "OPENAI_", "BENCH_ECHO_")
ENV_DROP: Final = frozenset({"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                             "http_proxy", "https_proxy", "all_proxy", "no_proxy"})

READ_CHUNK_BYTES: Final = 1 << 18
REPLY_TIMEOUT_S: Final = 10.0          # one reply, or one batch of pipelined replies
START_TIMEOUT_S: Final = 20.0          # spawn -> initialize reply
STOP_TIMEOUT_S: Final = 5.0            # stdin EOF -> exit, then SIGKILL to the process group
IN_FLIGHT_DEFAULT: Final = 64          # pipelined config/read window


class BenchError(Exception):
    """A server that did not answer in time, died, or answered with nonsense."""


class _Envelope(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None
    error: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)   # empty: no error member


_DECODER: Final = msgspec.json.Decoder(_Envelope)


def request(rid: int, method: str, params: Any) -> bytes:
    """One request line; ``params`` None leaves the member out."""
    msg: dict[str, Any] = {"id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def read_request(rid: int) -> bytes:
    return b'{"id":%d,"method":"config/read","params":{}}\n' % rid


INITIALIZE_PARAMS: Final = {"clientInfo": {"name": "chamberlain_bench", "version": "1.0"}}


@dataclass
class Reply:
    id: int | str
    is_error: bool
    line: bytes

    def result(self) -> Any:
        return json.loads(self.line).get("result")

    def error(self) -> Any:
        return json.loads(self.line).get("error")


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
        self.out_fd = self.proc.stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self.out_fd, select.POLLIN)
        self._pending = b""
        self._lines: collections.deque[bytes] = collections.deque()
        self.notifications = 0
        self.errors = 0
        self.first_error: bytes | None = None
        self.next_id = 1
        self.last: Reply | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def take_id(self) -> int:
        rid = self.next_id
        self.next_id += 1
        return rid

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._in, view)
            view = view[n:]

    def _wait_readable(self, deadline_ns: int) -> None:
        while True:
            remaining_ms = (deadline_ns - time.perf_counter_ns()) // 1_000_000
            if remaining_ms <= 0:
                raise BenchError(f"{self.argv[0]}: no reply within the deadline")
            if self._poll.poll(min(remaining_ms, 1000)):
                return
            if self.proc.poll() is not None:
                raise BenchError(f"{self.argv[0]}: exited with status {self.proc.returncode}")

    def feed(self) -> None:
        """One read of stdout (which must be readable), split into lines."""
        chunk = os.read(self.out_fd, READ_CHUNK_BYTES)
        if not chunk:
            raise BenchError(f"{self.argv[0]}: closed stdout (status {self.proc.poll()})")
        parts = (self._pending + chunk).split(b"\n") if self._pending else chunk.split(b"\n")
        self._pending = parts.pop()
        self._lines.extend(parts)

    def _take(self, line: bytes) -> Reply | None:
        """The reply of a line; None for notifications and blank lines."""
        if not line.strip():
            return None
        try:
            env = _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise BenchError(f"{self.argv[0]}: not JSON on stdout: {line[:200]!r}") from exc
        if env.id is None:
            self.notifications += 1
            return None
        is_error = len(env.error) > 0
        if is_error:
            self.errors += 1
            if self.first_error is None:
                self.first_error = line[:500]
        return Reply(env.id, is_error, line)

    def ready_replies(self) -> list[Reply]:
        """Every complete reply line already received (no waiting)."""
        out = []
        while self._lines:
            r = self._take(self._lines.popleft())
            if r is not None:
                out.append(r)
        return out

    def reply(self, deadline_ns: int) -> Reply:
        """The next reply (notifications skipped)."""
        while True:
            while not self._lines:
                self._wait_readable(deadline_ns)
                self.feed()
            r = self._take(self._lines.popleft())
            if r is not None:
                return r

    def replies(self, deadline_ns: int) -> int:
        """Wait for at least one line, then consume every complete line: the number of replies."""
        if not self._lines:
            self._wait_readable(deadline_ns)
            self.feed()
        return len(self.ready_replies())

    def call(self, data: bytes, rid: int, timeout_s: float = REPLY_TIMEOUT_S) -> int:
        """Send one request and wait for its reply (kept in ``last``): the round trip in ns."""
        t0 = time.perf_counter_ns()
        self.send(data)
        deadline = t0 + int(timeout_s * 1e9)
        while True:
            r = self.reply(deadline)
            if r.id == rid:
                self.last = r
                return time.perf_counter_ns() - t0

    def rpc(self, method: str, params: Any, timeout_s: float = REPLY_TIMEOUT_S) -> int:
        rid = self.take_id()
        return self.call(request(rid, method, params), rid, timeout_s)

    def initialize(self, timeout_s: float = START_TIMEOUT_S) -> int:
        """initialize + initialized: ns from spawn to the initialize reply."""
        self.send(request(0, "initialize", INITIALIZE_PARAMS))
        deadline = self.t_spawn_ns + int(timeout_s * 1e9)
        while True:
            r = self.reply(deadline)
            if r.id == 0:
                t = time.perf_counter_ns() - self.t_spawn_ns
                break
        if r.is_error:
            raise BenchError(f"{self.argv[0]}: initialize failed: {r.line[:300]!r}")
        self.last = r
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
        """CPU time of the server process so far (live threads, /proc/<pid>/task/*/schedstat)."""
        total_ns = 0
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/schedstat") as fh:
                    total_ns += int(fh.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total_ns / 1e9

    def close(self) -> None:
        """EOF on stdin, wait a little, then kill the process group (only what we started)."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.kill()

    def kill_now(self) -> None:
        """SIGKILL the process group now and reap the server; the pipes stay open (see drain)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)

    def drain(self) -> list[Reply]:
        """After the server died: every reply it had written before (reads stdout to EOF)."""
        while True:
            try:
                self.feed()
            except BenchError:      # EOF
                break
        return self.ready_replies()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.returncode is None:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        self._stderr.close()


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------

@dataclass
class ServerSpec:
    key: str            # echo | chamberlain | reference
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
    """`chamberlain app-server` next to this interpreter, else on PATH, else `python -m chamberlain`.

    A pyenv shim re-execs bash and pyenv on every start (tens of ms that are not Chamberlain's):
    the console script of this interpreter is preferred.
    """
    script = os.path.join(sysconfig.get_path("scripts"), "chamberlain")
    if os.access(script, os.X_OK):
        return [script, "app-server"]
    path = shutil.which("chamberlain")
    if path and not _is_pyenv_shim(path):
        return [path, "app-server"]
    return [sys.executable, "-m", "chamberlain", "app-server"]


def find_reference() -> tuple[str | None, str]:
    """The native reference binary, as shared/refpeer/replay.py finds it (never the npm shim)."""
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


def server_env(home: str, pycache: str | None = None, extra: dict[str, str] | None = None,
               no_bytecode: bool = False) -> dict[str, str]:
    """The environment of a server: CODEX_*/OPENAI_* dropped, proxies dead, CODEX_HOME set.

    ``pycache``: for Python servers, a bytecode cache directory (PYTHONPYCACHEPREFIX) with
    PYTHONDONTWRITEBYTECODE dropped, so that an editable install in an environment that forbids
    .pyc files does not recompile its sources on every start — an installed wheel has its .pyc
    files. ``no_bytecode``: the opposite, PYTHONDONTWRITEBYTECODE=1 and an empty cache prefix, so
    every start compiles every module it imports from source.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ENV_DROP and not k.startswith(ENV_DROP_PREFIXES)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    if no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("RUST_LOG", "warn")
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[k] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    env["CODEX_HOME"] = home
    env.update(extra or {})
    return env
