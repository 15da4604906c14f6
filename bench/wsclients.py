"""Many WebSocket clients in one thread: raw non-blocking sockets on one ``epoll``, frames made and
parsed by hand (client frames masked with the key 0, so the payload goes as is). The cheapest
client Python can be, so that at 1,000 connections the bench measures the server, not itself.

Also how a WebSocket server is started (``--listen ws://127.0.0.1:0``, the bound address read from
its stderr) and stopped (SIGTERM, then SIGKILL to its process group).
"""
from __future__ import annotations

import base64
import contextlib
import os
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from typing import Final

import msgspec
from client import BenchError

LISTEN_TIMEOUT_S: Final = 20.0
STOP_TIMEOUT_S: Final = 5.0
_LISTENING: Final = re.compile(rb"listening on: ws://([0-9.]+):(\d+)")
INIT_WAVE: Final = 50            # connections initialized at once
INIT_RETRIES: Final = 20
_KEY: Final = base64.b64encode(b"chamberlain-benc").decode()


class _Envelope(msgspec.Struct):
    id: int | str | None = None
    method: str | None = None
    error: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


_DECODER: Final = msgspec.json.Decoder(_Envelope)


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (the hard limit caps it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def read_frame(rid: int) -> bytes:
    return text_frame(b'{"id":%d,"method":"config/read","params":{}}' % rid)


@dataclass
class WsServer:
    """A server process listening on a loopback WebSocket port."""
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    stderr_path: str

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError("no VmRSS")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.returncode is None:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


def start_ws_server(argv: list[str], env: dict[str, str], cwd: str, stderr_path: str) -> WsServer:
    """Start ``argv --listen ws://127.0.0.1:0`` with a raised fd limit; wait for its address."""
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([*argv, "--listen", "ws://127.0.0.1:0"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd,
                                start_new_session=True, preexec_fn=raise_fd_limit)
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while time.monotonic() < deadline:
        with open(stderr_path, "rb") as fh:
            m = _LISTENING.search(fh.read())
        if m:
            return WsServer(proc, m.group(1).decode(), int(m.group(2)), stderr_path)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    server = WsServer(proc, "", 0, stderr_path)
    server.stop()
    raise BenchError(f"{argv[0]}: no `listening on: ws://…` on stderr within {LISTEN_TIMEOUT_S:.0f} s")


@dataclass
class Conn:
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    next_id: int = 1
    t_sent: int = 0
    waiting: bool = False
    last_reply: bytes = b""


@dataclass
class Tally:
    latencies_ns: list[int] = field(default_factory=list)
    results: int = 0
    overloaded: int = 0
    other_errors: int = 0
    first_error: bytes | None = None


class Clients:
    """N WebSocket connections to one server, driven from one thread."""

    def __init__(self, host: str, port: int, n: int, deadline_s: float) -> None:
        self.conns: dict[int, Conn] = {}
        self.waiting = 0            # connections with a request unanswered
        self.epoll = select.epoll()
        self.deadline = time.monotonic() + deadline_s
        try:
            self._open(host, port, n)
        except BaseException:
            self.close()
            raise

    def _open(self, host: str, port: int, n: int) -> None:
        request = (f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        pending: list[socket.socket] = []
        for _ in range(n):        # connect and send every upgrade first, then read the 101s
            s = socket.create_connection((host, port), timeout=LISTEN_TIMEOUT_S)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(request)
            pending.append(s)
        for s in pending:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    raise BenchError("connection closed during the WebSocket upgrade")
                head += chunk
            if not head.startswith(b"HTTP/1.1 101"):
                raise BenchError(f"upgrade refused: {head[:80]!r}")
            s.setblocking(False)
            conn = Conn(s, bytearray(head.partition(b"\r\n\r\n")[2]))
            self.conns[s.fileno()] = conn
            self.epoll.register(s.fileno(), select.EPOLLIN)

    def close(self) -> None:
        for conn in self.conns.values():
            with contextlib.suppress(OSError):
                conn.sock.close()
        self.conns.clear()
        self.epoll.close()

    def send(self, conn: Conn, frame: bytes) -> None:
        conn.sock.sendall(frame)  # small frames into an empty buffer: never blocks in practice
        conn.t_sent = time.perf_counter_ns()
        if not conn.waiting:
            conn.waiting = True
            self.waiting += 1

    def initialize_all(self) -> None:
        """initialize every connection, ``INIT_WAVE`` at a time (a ``-32001`` is retried after a
        pause, at most ``INIT_RETRIES`` times), then ``initialized``; then ``settle``."""
        init = text_frame(b'{"id":0,"method":"initialize","params":{"clientInfo":'
                          b'{"name":"chamberlain_bench","version":"1.0"}}}')
        conns = list(self.conns.values())
        for start in range(0, len(conns), INIT_WAVE):
            wave = conns[start:start + INIT_WAVE]
            for attempt in range(INIT_RETRIES + 1):
                for conn in wave:
                    self.send(conn, init)
                tally = Tally()
                self.wait_all(tally)
                if tally.other_errors:
                    raise BenchError(f"initialize failed: {tally.first_error!r}")
                wave = [c for c in wave if b"-32001" in c.last_reply]
                if not wave:
                    break
                time.sleep(0.02 * (attempt + 1))
            if wave:
                raise BenchError(f"initialize: {len(wave)} connections still overloaded after "
                                 f"{INIT_RETRIES} retries")
        for conn in conns:
            conn.sock.sendall(text_frame(b'{"method":"initialized"}'))
        self.settle()

    def settle(self, quiet_s: float = 0.5, cap_s: float = 30.0) -> None:
        """Wait until no message has arrived for ``quiet_s`` (the start-up notifications sent,
        the server's start-up work done), at most ``cap_s``."""
        end = time.monotonic() + cap_s
        last = time.monotonic()
        tally = Tally()
        while time.monotonic() - last < quiet_s and time.monotonic() < end:
            before = tally.results + len(tally.latencies_ns)
            n_events = self._poll(tally, None, timeout_s=quiet_s / 5)
            if n_events or tally.results + len(tally.latencies_ns) != before:
                last = time.monotonic()

    def burst(self) -> Tally:
        """One config/read on every connection at once; every reply counted."""
        for conn in self.conns.values():
            self.send(conn, read_frame(conn.next_id))
            conn.next_id += 1
        tally = Tally()
        self.wait_all(tally)
        return tally

    def call(self, frame: bytes) -> bytes:
        """Send ``frame`` on the first connection; its reply's payload."""
        conn = next(iter(self.conns.values()))
        self.send(conn, frame)
        self.wait_all(Tally())
        return conn.last_reply

    def wait_all(self, tally: Tally) -> None:
        while self.waiting:
            self._poll(tally, None)

    def sequential(self, seconds: float) -> tuple[Tally, float]:
        """Each connection sends config/read, waits for its reply, sends the next, for ``seconds``;
        then the replies still due are awaited. Returns the tally and the elapsed seconds."""
        tally = Tally()
        t0 = time.perf_counter()
        end = t0 + seconds
        for conn in self.conns.values():
            self.send(conn, read_frame(conn.next_id))
            conn.next_id += 1

        def again(conn: Conn) -> None:
            if time.perf_counter() < end:
                self.send(conn, read_frame(conn.next_id))
                conn.next_id += 1

        while time.perf_counter() < end:
            self._poll(tally, again)
        self.wait_all(tally)
        return tally, time.perf_counter() - t0

    def _poll(self, tally: Tally, then: object, timeout_s: float = 1.0) -> int:
        """One epoll wait and the reads it allows; the number of readable sockets."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BenchError("no reply within the deadline")
        events = self.epoll.poll(min(remaining, timeout_s))
        for fd, _ in events:
            conn = self.conns[fd]
            try:
                chunk = conn.sock.recv(1 << 18)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionError as exc:
                raise BenchError(f"connection reset by the server: {exc}") from exc
            if not chunk:
                raise BenchError("the server closed a connection")
            conn.buf += chunk
            for payload in _frames(conn):
                if _count(payload, tally, conn):
                    self.waiting -= 1
                    if callable(then):
                        then(conn)
        return len(events)


def _count(payload: bytes, tally: Tally, conn: Conn) -> bool:
    """Count a reply (True) or skip a notification (False)."""
    env = _DECODER.decode(payload)
    if env.id is None:
        return False
    tally.latencies_ns.append(time.perf_counter_ns() - conn.t_sent)
    conn.waiting = False
    conn.last_reply = payload
    if not env.error:
        tally.results += 1
    elif b"-32001" in bytes(env.error):
        tally.overloaded += 1
    else:
        tally.other_errors += 1
        if tally.first_error is None:
            tally.first_error = payload[:300]
    return True


def _frames(conn: Conn) -> list[bytes]:
    """The complete text frames at the head of ``conn.buf`` (removed from it)."""
    out: list[bytes] = []
    buf = conn.buf
    pos = 0
    while len(buf) - pos >= 2:
        op, n = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
        off = pos + 2
        if n == 126:
            if len(buf) - pos < 4:
                break
            n, off = struct.unpack_from("!H", buf, pos + 2)[0], pos + 4
        elif n == 127:
            if len(buf) - pos < 10:
                break
            n, off = struct.unpack_from("!Q", buf, pos + 2)[0], pos + 10
        if len(buf) < off + n:
            break
        if not buf[pos] & 0x80:
            raise BenchError("fragmented WebSocket message (not expected from these servers)")
        if op == 1:
            out.append(bytes(buf[off:off + n]))
        elif op == 8:
            raise BenchError(f"the server closed a connection: {bytes(buf[off:off + n])!r}")
        pos = off + n
    del buf[:pos]
    return out
