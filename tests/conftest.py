"""Test charter: every test drives Chamberlain the way a host does — JSON lines in, JSON lines out —
and asserts on wire frames or on file bytes. The server runs in the test's own trio run over memory
streams; every I/O test is bounded by ``fail_after`` on the real clock (file writes and ``flock``
happen in worker threads, which an autojumping MockClock cannot see: STYLE "Deterministic time")."""

from __future__ import annotations

import functools
import glob
import json
import os
import queue
import shutil
import subprocess
import threading
import types
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import keyring.backend
import keyring.errors
import pytest
import trio
import trio.testing
from chamberlain.actors.server import Server, Settings
from chamberlain.actors.transports import LineTransport
from chamberlain.fake_openai import FakeOpenAI
from chamberlain.remote.endpoints import Endpoints
from chamberlain.remote.http import BackendAuth

#: Upper bound for one test's I/O, seconds of the real clock.
IO_BOUND_S = 10


class Client:
    """A host's view of one connection: send frames, read frames, keep notifications aside."""

    def __init__(self, to_server: trio.testing.MemorySendStream, from_server: trio.testing.MemoryReceiveStream) -> None:
        self._send = to_server
        self._recv = from_server
        self._buf = b""
        self.notifications: list[dict[str, Any]] = []
        self._next_id = 1000

    async def send_raw(self, line: bytes | str) -> None:
        data = line.encode() if isinstance(line, str) else line
        await self._send.send_all(data + b"\n")

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_raw(json.dumps(frame))

    async def recv_line(self) -> bytes:
        while b"\n" not in self._buf:
            chunk = await self._recv.receive_some(65536)
            if not chunk:
                raise EOFError("server closed its output")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    async def recv(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await self.recv_line())
        return frame

    async def response(self, request_id: Any) -> dict[str, Any]:
        """The next response with ``request_id``; notifications met on the way are kept."""
        while True:
            msg = await self.recv()
            if "method" in msg and "id" not in msg:
                self.notifications.append(msg)
                continue
            assert msg.get("id") == request_id, f"unexpected frame {msg}"
            return msg

    async def call(self, method: str, params: Any = ..., *, request_id: Any = None) -> dict[str, Any]:
        if request_id is None:
            self._next_id += 1
            request_id = self._next_id
        frame: dict[str, Any] = {"id": request_id, "method": method}
        if params is not ...:
            frame["params"] = params
        await self.send(frame)
        return await self.response(request_id)

    async def result(self, method: str, params: Any = ...) -> Any:
        reply = await self.call(method, params)
        assert "result" in reply, reply
        return reply["result"]

    async def initialize(self, **capabilities: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"clientInfo": {"name": "test", "title": "Test", "version": "1.0.0"}}
        if capabilities:
            params["capabilities"] = capabilities
        reply = await self.call("initialize", params, request_id=0)
        await self.send({"method": "initialized"})
        return reply

    async def close(self) -> None:
        await self._send.aclose()


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    home = tmp_path / "codex-home"
    home.mkdir()
    return home


@pytest.fixture
def system_dir(tmp_path: Path) -> Path:
    d = tmp_path / "etc-codex"
    d.mkdir()
    return d


@asynccontextmanager
async def open_server(settings: Settings) -> AsyncIterator[Server]:
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(Server(settings).run)
        yield server
        nursery.cancel_scope.cancel(reason="test finished")


@asynccontextmanager
async def connect(server: Server, *, max_frame_bytes: int = 64 * 1024 * 1024) -> AsyncIterator[Client]:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    transport = LineTransport(c2s_recv, s2c_send, max_frame_bytes=max_frame_bytes)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_connection, transport)
        yield Client(c2s_send, s2c_recv)
        nursery.cancel_scope.cancel(reason="client finished")


@asynccontextmanager
async def _session(
    codex_home: Path,
    system_dir: Path,
    *,
    flags: tuple[tuple[str, str], ...] = (),
    initialize: bool = True,
    **capabilities: Any,
) -> AsyncIterator[Client]:
    """A server on ``codex_home`` with one connected (and by default initialized) client."""
    settings = Settings(codex_home, system_dir, flags, environ={"TERM": "xterm"})
    with trio.fail_after(IO_BOUND_S):
        async with open_server(settings) as server, connect(server) as client:
            if initialize:
                await client.initialize(**capabilities)
            yield client


@pytest.fixture
def session(codex_home: Path, system_dir: Path) -> Any:
    """``async with session(flags=..., initialize=..., **capabilities) as client``."""
    return functools.partial(_session, codex_home, system_dir)


@pytest.fixture
def harness() -> Any:
    """``harness.open_server(settings)`` and ``harness.connect(server, max_frame_bytes=...)``."""
    return types.SimpleNamespace(open_server=open_server, connect=connect, Settings=Settings)


# -- the reference server ------------------------------------------------------------------------


def find_reference_binary() -> Path | None:
    """The real codex installed by shared/refpeer/install.sh (REFPEER_CODEX, REFPEER_DIR or its default)."""
    explicit = os.environ.get("REFPEER_CODEX")
    if explicit:
        return Path(explicit) if os.access(explicit, os.X_OK) else None
    base = os.environ.get("REFPEER_DIR") or os.path.expanduser("~/.cache/chamberlain-refpeer")
    found = sorted(glob.glob(os.path.join(base, "node_modules", "@openai", "codex-*", "vendor", "*", "bin", "codex")))
    return Path(found[0]) if found else None


class ReferenceServer:
    """The real ``codex app-server`` on a Codex home, driven one request at a time (its outbound
    proxies point at a closed local port, so nothing leaves the machine)."""

    def __init__(self, binary: Path, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
        env.update(CODEX_HOME=str(home), HTTP_PROXY=_DEAD_PROXY, HTTPS_PROXY=_DEAD_PROXY, ALL_PROXY=_DEAD_PROXY)
        self._proc = subprocess.Popen(
            [str(binary), "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, cwd=home,
        )
        self._lines: queue.Queue[bytes] = queue.Queue()
        stdout = self._proc.stdout
        assert stdout is not None
        threading.Thread(target=self._pump, args=(stdout,), daemon=True).start()
        self._next_id = 0
        client = {"clientInfo": {"name": "t", "version": "1"}, "capabilities": {"experimentalApi": True}}
        self.request("initialize", client)

    def _pump(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            self._lines.put(line)

    def request(self, method: str, params: Any) -> dict[str, Any]:
        rid, self._next_id = self._next_id, self._next_id + 1
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps({"id": rid, "method": method, "params": params}) + "\n").encode())
        self._proc.stdin.flush()
        while True:
            message: dict[str, Any] = json.loads(self._lines.get(timeout=REFERENCE_TIMEOUT_S))
            if message.get("id") == rid and "method" not in message:
                return message

    def __enter__(self) -> ReferenceServer:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(REFERENCE_TIMEOUT_S)
        finally:
            self._proc.kill()
            self._proc.wait()
            assert self._proc.stdout is not None
            self._proc.stdout.close()


_DEAD_PROXY = "http://127.0.0.1:9"
REFERENCE_TIMEOUT_S = 20


@pytest.fixture
def reference_binary() -> Path:
    """Path of the real codex; skips the test when it is not installed."""
    binary = find_reference_binary()
    if binary is None:
        pytest.skip("reference codex (shared/refpeer/install.sh) not installed")
    return binary


@pytest.fixture
def reference(reference_binary: Path) -> Any:
    """``with reference(home) as ref: ref.request(method, params)``; skips when codex is not installed."""
    return functools.partial(ReferenceServer, reference_binary)


def _unshare_works() -> bool:
    """Root, ``unshare -m`` and an ``/etc/codex`` mount point: what a private /etc/codex needs."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or not Path("/etc/codex").is_dir():
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind /tmp /etc/codex"], capture_output=True, check=False
    )
    return probe.returncode == 0


@pytest.fixture
def reference_startup_config(
    tmp_path: Path, reference_binary: Path
) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """``run(requirements_text)``: the real codex's ``app-server --print-startup-config`` with that
    text as ``/etc/codex/requirements.toml`` in a private mount namespace (``tmp_path/etc``, the host's
    /etc untouched); skips where that cannot be done."""
    if not _unshare_works():
        pytest.skip("needs root, unshare -m and an /etc/codex mount point")

    def run(text: str) -> subprocess.CompletedProcess[str]:
        etc, home = tmp_path / "etc", tmp_path / "home"
        etc.mkdir()
        home.mkdir()
        (etc / "requirements.toml").write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
        env["CODEX_HOME"] = str(home)
        bind = 'mount --bind "$0" /etc/codex && exec "$@"'
        return subprocess.run(
            ["unshare", "-m", "sh", "-c", bind, str(etc), str(reference_binary), "app-server",
             "--print-startup-config"],
            capture_output=True, text=True, env=env, timeout=60, check=False, stdin=subprocess.DEVNULL,
        )

    return run



# -- the fake issuer/backend and a client to call it -------------------------------------------


#: The User-Agent the ``auth`` fixture's backend calls send.
REMOTE_UA = "remote_test/0.169.0 (Debian 12.0.0; x86_64) xterm (remote_test; 1.0)"


@pytest.fixture
async def fake(nursery: trio.Nursery) -> FakeOpenAI:
    """The fake issuer and ChatGPT backend on loopback, in the test's own trio run."""
    started: FakeOpenAI = await nursery.start(FakeOpenAI().run)
    return started


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client without timeouts: under ``autojump_clock`` they would fire in virtual time;
    tests bound themselves."""
    async with httpx.AsyncClient(timeout=None) as client:
        yield client


@pytest.fixture
def endpoints(fake: FakeOpenAI) -> Endpoints:
    """Issuer, revocation URL and backend base all pointing at ``fake``."""
    return Endpoints(issuer=fake.issuer, revoke_override=fake.revoke_url, backend_base=fake.chatgpt_base_url)


@pytest.fixture
def auth(fake: FakeOpenAI) -> BackendAuth:
    """A caller of the backend with a token ``fake`` issued, workspace acct-123 and ``REMOTE_UA``."""
    return BackendAuth(fake.issue_tokens().access_token, "acct-123", REMOTE_UA)


# -- keyrings ------------------------------------------------------------------------------------


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that keeps its passwords in ``items``; with ``refuse_writes`` every write
    fails as a locked collection does."""

    priority = 1

    def __init__(self, *, refuse_writes: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}
        self._refuse_writes = refuse_writes

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self._refuse_writes:
            raise keyring.errors.PasswordSetError("locked collection")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@pytest.fixture
def new_keyring() -> Callable[..., MemoryKeyring]:
    """``new_keyring(refuse_writes=False)``: a fresh :class:`MemoryKeyring`, not installed globally."""
    return MemoryKeyring
