"""The codex CLI as a client of Chamberlain's transports (ISSUE 8 point 4): its TUI with
``--remote ws://…`` (with and without ``--remote-auth-token-env``) and ``--remote unix://…``, and
``codex app-server proxy --sock``. Each connects as it does to ``codex app-server``: the same
upgrade request answered with the same response head (the TUI's
``x-codex-app-server-compression`` offer ignored), every request it sends answered. The TUI's
bootstrap needs ``model/list`` and ``thread/start``, both served: it reaches its main screen, as
against the reference (``test_the_tui_reaches_its_main_screen_on_the_reference``), and shows the
one not-served answer it does not tolerate silently, ``skills/list``'s, in its history.

Testing charter: real processes (Chamberlain's CLI, the codex binary, the TUI in a tmux session
with a fresh ``CODEX_HOME``) on the real clock; a relay in the test's trio run sits between the
client and the server and records the upgrade heads and every text frame. Every wait is bounded;
the tmux session is killed in ``finally``. Skipped without the codex binary or tmux.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, final

import pytest
import trio
import trio_websocket

IO_BOUND_S = 30
#: Seconds between two looks at a process the test cannot wait on (tmux pane, exit file).
LOOK_S = 0.1
NOT_SERVED = "Invalid request: `skills/list` is not served by this server (Chamberlain)"
#: Shown once the TUI has refreshed its skills (after its bootstrap): the not-served answer.
SKILLS_REFUSED = "failed to refresh skills: skills/list failed in TUI: skills/list failed: "
API_KEY_AUTH = {"OPENAI_API_KEY": "sk-test", "tokens": None, "last_refresh": None}
MAIN_SCREEN = "Ask Codex to do anything"


@pytest.fixture
def tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        pytest.skip("tmux is not installed")
    return found


# -- a recording relay --------------------------------------------------------------------------


@dataclass
class Recorded:
    """One relayed connection: the two heads and the text frames of each direction."""

    request_head: str = ""
    response_head: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)  # client -> server
    received: list[dict[str, Any]] = field(default_factory=list)  # server -> client

    def answer_to(self, request_id: Any) -> dict[str, Any] | None:
        return next((m for m in self.received if m.get("id") == request_id and "method" not in m), None)

    def requests(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if "method" in m and "id" in m]

    def header_names(self) -> list[str]:
        return [line.partition(":")[0].lower() for line in self.response_head.split("\r\n")[1:] if line]


@final
class _Frames:
    """Splits one direction of a WebSocket stream: the HTTP head, then frames (unmasked)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.head: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return []
            self.head = self.buffer[:end].decode(errors="replace")
            del self.buffer[: end + 4]
        texts: list[bytes] = []
        while (frame := self._frame()) is not None:
            opcode, payload = frame
            if opcode == 1:
                texts.append(payload)
        return texts

    def _frame(self) -> tuple[int, bytes] | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        length, at = buf[1] & 0x7F, 2
        if length >= 126:
            size = 2 if length == 126 else 8
            if len(buf) < 2 + size:
                return None
            length, at = int.from_bytes(buf[2 : 2 + size], "big"), 2 + size
        mask = b""
        if buf[1] & 0x80:
            mask, at = bytes(buf[at : at + 4]), at + 4
        if len(buf) < at + length:
            return None
        payload = bytes(buf[at : at + length])
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        opcode = buf[0] & 0x0F
        del buf[: at + length]
        return opcode, payload


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream, keep: Callable[[str | None, bytes], None]) -> None:
    frames = _Frames()
    try:
        while data := await source.receive_some(65536):
            for text in frames.feed(bytes(data)):
                keep(frames.head, text)
            if frames.head is not None:
                keep(frames.head, b"")
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    with trio.CancelScope(shield=True):
        await sink.aclose()


@asynccontextmanager
async def relay(listen: Path | None, connect: Callable[[], Any]) -> AsyncIterator[tuple[str, list[Recorded]]]:
    """A relay on a loopback port (``listen`` None) or unix socket; yields its address (``host:port``
    or the socket path) and the connections recorded so far."""
    recorded: list[Recorded] = []

    async def handle(client: trio.abc.Stream) -> None:
        rec = Recorded()
        recorded.append(rec)
        server = await connect()

        def up(head: str | None, text: bytes) -> None:
            rec.request_head = head or ""
            if text:
                rec.sent.append(json.loads(text))

        def down(head: str | None, text: bytes) -> None:
            rec.response_head = head or ""
            if text:
                rec.received.append(json.loads(text))

        async with client, server, trio.open_nursery() as nursery:
            nursery.start_soon(_pump, client, server, up)
            nursery.start_soon(_pump, server, client, down)

    async with trio.open_nursery() as nursery:
        if listen is None:
            listeners = await nursery.start(functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
            address = f"127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        else:
            sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
            await sock.bind(str(listen))
            sock.listen()
            await nursery.start(trio.serve_listeners, handle, [trio.SocketListener(sock)])
            address = str(listen)
        yield address, recorded
        nursery.cancel_scope.cancel(reason="relay finished")


# -- servers and the TUI -------------------------------------------------------------------------


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "OPENAI_"))}
    # nothing leaves the machine: the reference's outbound requests go to a closed port
    env.update(CODEX_HOME=str(home), RUST_LOG="warn", HTTP_PROXY="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", ALL_PROXY="http://127.0.0.1:9")
    return env


def _home(path: Path, *, api_key: bool = True) -> Path:
    path.mkdir(parents=True)
    if api_key:
        (path / "auth.json").write_text(json.dumps(API_KEY_AUTH))
    return path


@asynccontextmanager
async def ws_server(command: list[str], home: Path) -> AsyncIterator[int]:
    """A ``--listen ws://127.0.0.1:0`` server process; yields its port (read from its banner)."""
    async with trio.open_nursery() as nursery:
        proc: trio.Process = await nursery.start(functools.partial(
            trio.run_process, [*command, "--listen", "ws://127.0.0.1:0"], env=_server_env(home),
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False))
        assert proc.stderr is not None
        banner = b""
        while b"listening on: ws://" not in banner or not banner.endswith(b"\n"):
            chunk = await proc.stderr.receive_some()
            assert chunk, banner
            banner += chunk
        port = int(banner.decode().split("listening on: ws://127.0.0.1:")[1].split()[0])
        nursery.start_soon(_drain, proc.stderr)
        try:
            yield port
        finally:
            proc.kill()


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    async for _ in stream:
        pass


@asynccontextmanager
async def unix_server(command: list[str], home: Path, sock: Path) -> AsyncIterator[Path]:
    async with trio.open_nursery() as nursery:
        proc: trio.Process = await nursery.start(functools.partial(
            trio.run_process, [*command, "--listen", f"unix://{sock}"], env=_server_env(home),
            stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False))
        try:
            while not await trio.Path(sock).is_symlink():  # noqa: ASYNC110 - another process: nothing to wait on
                await trio.sleep(LOOK_S)
            yield Path(await trio.Path(sock).resolve())  # the real socket: sun_path is short
        finally:
            proc.kill()


@dataclass
class TuiRun:
    screen: str
    stderr: str
    status: int | None  # None: still running when the test stopped it


def _tui_command(codex: Path, workdir: Path, remote: str, env: dict[str, str], extra: tuple[str, ...]) -> str:
    """The shell command of a TUI run in ``workdir`` (created, with a fresh ``CODEX_HOME``): its
    stderr goes to ``tui.err``, its exit status to ``tui.status``."""
    workdir.mkdir(parents=True, exist_ok=True)
    home = _home(workdir / "tui-home", api_key=False)
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in {"CODEX_HOME": str(home), **env}.items())
    return (f"cd {shlex.quote(str(workdir))} && env {assignments} {shlex.quote(str(codex))} --remote "
            f"{shlex.quote(remote)} {' '.join(map(shlex.quote, extra))} 2> tui.err; echo $? > tui.status")


async def run_tui(tmux: str, codex: Path, workdir: Path, remote: str, *, until: Callable[[str], bool] | None = None,
                  env: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> TuiRun:
    """The TUI in a detached tmux session (160x45) until it exits or ``until(screen)``."""
    command = _tui_command(codex, workdir, remote, env or {}, extra)
    err, status_file = trio.Path(workdir / "tui.err"), trio.Path(workdir / "tui.status")
    session = f"chamberlain-{uuid.uuid4().hex[:8]}"
    await trio.run_process([tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "45", command])
    screen = ""
    try:
        while not await status_file.exists() and (until is None or not until(screen)):
            await trio.sleep(LOOK_S)  # another process: nothing to wait on
            pane = await trio.run_process([tmux, "capture-pane", "-p", "-t", session], capture_stdout=True,
                                          capture_stderr=True, check=False)
            screen = pane.stdout.decode() if pane.returncode == 0 else screen
    finally:
        with trio.CancelScope(shield=True):
            await trio.run_process([tmux, "kill-session", "-t", session], capture_stderr=True, check=False)
    status = int(await status_file.read_text()) if await status_file.exists() else None
    return TuiRun(screen, await err.read_text() if await err.exists() else "", status)


def _chamberlain() -> list[str]:
    return [sys.executable, "-m", "chamberlain", "app-server"]


def _every_request_answered(rec: Recorded) -> None:
    unanswered = [m["method"] for m in rec.requests() if rec.answer_to(m["id"]) is None]
    assert unanswered == []


def _at_main_screen(recorded: list[Recorded]) -> Callable[[str], bool]:
    """``until`` for a TUI served by Chamberlain: its main screen is up, its skills refresh has
    been refused, and every request it sent on its (only) connection so far has an answer."""

    def done(screen: str) -> bool:
        return (
            MAIN_SCREEN in screen and SKILLS_REFUSED in screen and len(recorded) == 1
            and all(recorded[0].answer_to(m["id"]) is not None for m in recorded[0].requests())
        )

    return done


def _reached_main_screen(tui: TuiRun, rec: Recorded) -> None:
    """The TUI is still running on its main screen, with the model list and a thread served."""
    answers = _bootstrap(rec)
    assert tui.status is None  # still running when the test stopped it
    assert MAIN_SCREEN in tui.screen and "GPT-6.1-Sol default" in tui.screen
    assert f"{SKILLS_REFUSED}{NOT_SERVED}" in " ".join(tui.screen.split())
    assert answers["model/list"]["result"]["data"][0]["id"] == "gpt-6.1-sol"
    started = [rec.answer_to(m["id"]) or {} for m in rec.requests() if m["method"] == "thread/start"]
    assert [a["result"]["model"] for a in started if "result" in a] == ["gpt-6.1-sol"]
    assert answers["skills/list"]["error"] == {"code": -32600, "message": NOT_SERVED}
    _every_request_answered(rec)


def _bootstrap(rec: Recorded) -> dict[str, Any]:
    """The TUI's first requests and their answers, by method."""
    answers: dict[str, Any] = {}
    for request in rec.requests():
        answer = rec.answer_to(request["id"])
        if answer is not None:
            answers.setdefault(request["method"], answer)
    return answers


# -- the TUI over WebSocket ---------------------------------------------------------------------


async def test_the_tui_connects_over_websocket_and_reaches_its_main_screen(
    tmp_path: Path, reference_binary: Path, tmux: str,
) -> None:
    home = _home(tmp_path / "server-home")
    with trio.fail_after(IO_BOUND_S):
        async with ws_server(_chamberlain(), home) as port, relay(
            None, functools.partial(trio.open_tcp_stream, "127.0.0.1", port)
        ) as (address, recorded):
            tui = await run_tui(tmux, reference_binary, tmp_path / "tui", f"ws://{address}",
                                until=_at_main_screen(recorded))
    (rec,) = recorded
    answers = _bootstrap(rec)
    assert rec.request_head.startswith("GET / HTTP/1.1\r\n")
    assert "x-codex-app-server-compression: zstd-stream-v1" in rec.request_head  # offered, and ignored:
    assert rec.header_names() == ["connection", "upgrade", "sec-websocket-accept", "date"]
    assert answers["initialize"]["result"]["userAgent"].startswith("codex-tui/0.169.0 (")
    assert answers["initialize"]["result"]["codexHome"] == str(home)
    assert answers["account/read"]["result"]["account"] == {"type": "apiKey"}
    assert [m["method"] for m in rec.requests()][:4] == ["initialize", "account/read", "model/list", "hooks/list"]
    _reached_main_screen(tui, rec)


async def test_the_tui_reaches_its_main_screen_on_the_reference(
    tmp_path: Path, reference_binary: Path, tmux: str,
) -> None:
    """The comparison run: the same TUI and home against ``codex app-server``, whose upgrade
    answer is the one Chamberlain gives and whose answers to the TUI's first requests have the
    shapes Chamberlain's have."""
    home = _home(tmp_path / "server-home")
    with trio.fail_after(IO_BOUND_S):
        async with ws_server([str(reference_binary), "app-server"], home) as port, relay(
            None, functools.partial(trio.open_tcp_stream, "127.0.0.1", port)
        ) as (address, recorded):

            def bootstrapped(screen: str) -> bool:
                return MAIN_SCREEN in screen and bool(recorded) and "model/list" in _bootstrap(recorded[0])

            tui = await run_tui(tmux, reference_binary, tmp_path / "tui", f"ws://{address}", until=bootstrapped)
    rec = recorded[0]
    answers = _bootstrap(rec)
    assert MAIN_SCREEN in tui.screen
    assert rec.header_names() == ["connection", "upgrade", "sec-websocket-accept", "date"]
    assert [m["method"] for m in rec.requests()][:2] == ["initialize", "account/read"]
    assert answers["account/read"]["result"]["account"] == {"type": "apiKey"}
    assert "result" in answers["model/list"]


async def test_the_tui_bearer_token_is_accepted_and_a_wrong_one_refused(
    tmp_path: Path, reference_binary: Path, tmux: str,
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    command = [*_chamberlain(), "--ws-auth", "capability-token", "--ws-token-file", str(token_file)]
    home = _home(tmp_path / "server-home")
    extra = ("--remote-auth-token-env", "CHAMBERLAIN_TEST_TOKEN")
    with trio.fail_after(IO_BOUND_S):
        async with ws_server(command, home) as port, relay(
            None, functools.partial(trio.open_tcp_stream, "127.0.0.1", port)
        ) as (address, recorded):
            good = await run_tui(tmux, reference_binary, tmp_path / "good", f"ws://{address}",
                                 env={"CHAMBERLAIN_TEST_TOKEN": "s3cret-token"}, extra=extra,
                                 until=_at_main_screen(recorded))
            bad = await run_tui(tmux, reference_binary, tmp_path / "bad", f"ws://{address}",
                                env={"CHAMBERLAIN_TEST_TOKEN": "wrong"}, extra=extra)
    accepted, refused = recorded
    assert "authorization: bearer s3cret-token" in accepted.request_head.lower()
    assert _bootstrap(accepted)["initialize"]["result"]["codexHome"] == str(home)
    _reached_main_screen(good, accepted)
    assert refused.response_head.startswith("HTTP/1.1 401 Unauthorized\r\n")
    assert refused.sent == []
    assert bad.status == 1
    assert f"failed to connect to remote app server at `ws://{address}/`: HTTP error: 401 Unauthorized" in bad.stderr


# -- the TUI over the unix socket, and the proxy -------------------------------------------------


async def test_the_tui_connects_over_the_unix_socket(tmp_path: Path, reference_binary: Path, tmux: str) -> None:
    home = _home(tmp_path / "server-home")
    with trio.fail_after(IO_BOUND_S):
        async with unix_server(_chamberlain(), home, tmp_path / "s.sock") as real, relay(
            tmp_path / "relay.sock", functools.partial(trio.open_unix_socket, str(real))
        ) as (address, recorded):
            tui = await run_tui(tmux, reference_binary, tmp_path / "tui", f"unix://{address}",
                                until=_at_main_screen(recorded))
    (rec,) = recorded
    answers = _bootstrap(rec)
    assert rec.request_head.startswith("GET /rpc HTTP/1.1\r\nHost: localhost\r\n")
    assert rec.response_head.startswith("HTTP/1.1 101 Switching Protocols\r\n")
    assert answers["initialize"]["result"]["codexHome"] == str(home)
    assert answers["account/read"]["result"]["account"] == {"type": "apiKey"}
    _reached_main_screen(tui, rec)


async def _through_proxy(codex: Path, sock: Path, home: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """``codex app-server proxy --sock``: an upgrade written to its stdin, the server's head read
    from its stdout, then a session over the same pipe."""
    async with trio.open_nursery() as nursery:
        proxy: trio.Process = await nursery.start(functools.partial(
            trio.run_process, [str(codex), "app-server", "proxy", "--sock", str(sock)], env=_server_env(home),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False))
        assert proxy.stdin is not None and proxy.stdout is not None
        pipe = trio.StapledStream(proxy.stdin, proxy.stdout)
        heads: list[bytes] = []
        recorder = _HeadRecorder(pipe, heads)
        async with trio.open_nursery() as client:
            # trio-websocket types its stream as a socket, but any trio Stream works
            ws = await trio_websocket.wrap_client_stream(client, recorder, "localhost", "/rpc")  # type: ignore[arg-type]
            replies = []
            for request_id, method in enumerate(("initialize", "account/read", "config/read")):
                params = {"clientInfo": {"name": "proxy_test", "version": "1"}} if method == "initialize" else {}
                await ws.send_message(json.dumps({"id": request_id, "method": method, "params": params}))
                while (reply := json.loads(await ws.get_message())).get("id") != request_id:
                    pass
                replies.append(reply)
            client.cancel_scope.cancel(reason="client finished")
        proxy.kill()
    return heads[0], replies


@final
class _HeadRecorder(trio.abc.Stream):
    """A stream that keeps the first bytes it reads (the server's upgrade answer)."""

    def __init__(self, stream: trio.StapledStream[Any, Any], heads: list[bytes]) -> None:
        self._stream, self._heads = stream, heads

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self._stream.receive_some(max_bytes)
        if not self._heads:
            self._heads.append(bytes(data).partition(b"\r\n\r\n")[0])
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


async def test_the_proxy_carries_a_session_to_chamberlains_socket_as_to_the_reference(
    tmp_path: Path, reference_binary: Path,
) -> None:
    with trio.fail_after(IO_BOUND_S):
        async with unix_server(_chamberlain(), _home(tmp_path / "ours"), tmp_path / "ours.sock") as ours:
            our_head, our_replies = await _through_proxy(reference_binary, ours, tmp_path / "proxy-home")
        async with unix_server([str(reference_binary), "app-server"], _home(tmp_path / "ref"),
                               tmp_path / "ref.sock") as theirs:
            ref_head, ref_replies = await _through_proxy(reference_binary, theirs, tmp_path / "proxy-home")
    names = [[line.partition(b":")[0].lower() for line in head.split(b"\r\n")[1:]] for head in (our_head, ref_head)]
    assert names[0] == names[1]
    assert [sorted(r["result"]) for r in our_replies] == [sorted(r["result"]) for r in ref_replies]
    assert our_replies[1]["result"] == ref_replies[1]["result"]  # account/read: the API key
