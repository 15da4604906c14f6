"""Graceful stop (issue 6 §2, hypercorn's shape): at end of input or on ``Server.stop()`` a
connection stops reading, answers every request it has already received, then returns — within
``STOP_GRACE_S``. A host that pipes a file of requests and closes stdin gets every answer (the
reference drops them: docs/differences.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import trio
import trio.lowlevel
import trio.testing
from chamberlain.actors import config_actor as ca
from chamberlain.actors.connection import OUTBOX_SIZE, STOP_GRACE_S, ConnectionActor, ServerInfo
from chamberlain.actors.server import Server
from chamberlain.actors.transports import LineTransport
from support import GatedTransport

#: Upper bound for one test's I/O, seconds of the real clock (as in conftest).
IO_BOUND_S = 20
WRITES = 20


def _init(request_id: Any = 0) -> dict[str, Any]:
    return {"id": request_id, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}


def _write(i: int) -> dict[str, Any]:
    return {"id": f"w{i}", "method": "config/value/write",
            "params": {"keyPath": f"desktop.k{i}", "value": i, "mergeStrategy": "replace"}}


def _batch(frames: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(f).encode() + b"\n" for f in frames)


async def _read_all(stream: trio.testing.MemoryReceiveStream) -> list[dict[str, Any]]:
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    return [json.loads(line) for line in data.splitlines()]


class CountingTransport:
    """A LineTransport that tells when it has handed ``expected`` frames to the server."""

    def __init__(self, inner: LineTransport, expected: int) -> None:
        self.inner, self.expected = inner, expected
        self.received = 0
        self.all_received = trio.Event()

    async def receive_frame(self) -> bytes | None:
        frame = await self.inner.receive_frame()
        if frame is not None:
            self.received += 1
            if self.received == self.expected:
                self.all_received.set()
        return frame

    async def send_frame(self, frame: bytes) -> None:
        await self.inner.send_frame(frame)


async def test_requests_received_before_end_of_input_are_all_answered(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    settings = harness.Settings(codex_home, system_dir, environ={})
    frames = [_init(), *(_write(i) for i in range(WRITES)), {"id": "r", "method": "config/read", "params": {}}]
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server:
            await c2s_send.send_all(_batch(frames))
            await c2s_send.aclose()  # end of input right after the last request
            await server.serve_connection(LineTransport(c2s_recv, s2c_send))
            await s2c_send.aclose()
            out = await _read_all(s2c_recv)
    answered = [f["id"] for f in out if "id" in f]
    assert answered[0] == 0
    assert sorted(answered[1:], key=str) == sorted([f"w{i}" for i in range(WRITES)] + ["r"], key=str)
    assert all("result" in f for f in out if "id" in f)
    lines = (codex_home / "config.toml").read_text().splitlines()
    assert lines == ["[desktop]", *(f"k{i} = {i}" for i in range(WRITES))]


async def test_stop_answers_what_was_received_reads_nothing_more_and_run_returns(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    settings = harness.Settings(codex_home, system_dir, environ={})
    frames = [_init(), *(_write(i) for i in range(WRITES))]
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    transport = CountingTransport(LineTransport(c2s_recv, s2c_send), len(frames))
    with trio.fail_after(IO_BOUND_S):
        async with trio.open_nursery() as nursery:
            server: Server = await nursery.start(Server(settings).run)
            nursery.start_soon(server.serve_connection, transport)
            await c2s_send.send_all(_batch(frames))
            await transport.all_received.wait()
            server.stop()
            await c2s_send.send_all(_batch([{"id": "late", "method": "config/read", "params": {}}]))
        # run() returned by itself: the nursery closed without being cancelled
        await s2c_send.aclose()
        out = await _read_all(s2c_recv)
    answered = {f["id"] for f in out if "id" in f}
    assert answered == {0, *(f"w{i}" for i in range(WRITES))}
    assert transport.received == len(frames)


class HoldingConfigActor:
    """Answers the startup-warnings request and holds every other message forever."""

    def __init__(self) -> None:
        self.held: list[ca.ConfigMsg] = []

    async def run(self, receive: trio.MemoryReceiveChannel[ca.ConfigMsg]) -> None:
        async for msg in receive:
            if isinstance(msg, ca.GetWarnings):
                msg.reply.set([])
            else:
                self.held.append(msg)


INFO = ServerInfo("/home", "(Linux 1.0.0; x86_64) xterm", "0.169.0", "unix", "linux", "host", "id")


async def test_a_stopping_connection_gives_up_on_unanswered_requests_at_its_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    send, receive = trio.open_memory_channel[ca.ConfigMsg](8)
    holder = HoldingConfigActor()
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    actor = ConnectionActor(LineTransport(c2s_recv, s2c_send), INFO, {"config": send})
    finished = trio.Event()

    async def serve(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await actor.run(task_status=task_status)
        finished.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(holder.run, receive)
        await nursery.start(serve)
        await c2s_send.send_all(_batch([_init(), {"id": 1, "method": "config/read", "params": {}}]))
        await trio.testing.wait_all_tasks_blocked()
        assert len(holder.held) == 1
        await c2s_send.aclose()
        stopped_at = trio.current_time()
        with trio.fail_after(STOP_GRACE_S * 2):
            await finished.wait()
        assert trio.current_time() - stopped_at == STOP_GRACE_S
        nursery.cancel_scope.cancel(reason="test finished")
    await s2c_send.aclose()
    out = await _read_all(s2c_recv)
    assert [f.get("id", f.get("method")) for f in out] == [0, "remoteControl/status/changed"]


def test_a_host_piping_a_file_of_requests_gets_every_answer_and_exit_0(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    frames = [_init(), *(_write(i) for i in range(WRITES)), {"id": "r", "method": "config/read", "params": {}}]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_"))}
    env.update(CODEX_HOME=str(home), CHAMBERLAIN_SYSTEM_CONFIG_DIR=str(tmp_path / "etc"))
    proc = subprocess.run(
        [sys.executable, "-m", "chamberlain", "app-server"], input=_batch(frames),
        capture_output=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    answered = [json.loads(line).get("id") for line in proc.stdout.splitlines() if b'"id"' in line]
    assert sorted(map(str, answered)) == sorted(["0", "r", *(f"w{i}" for i in range(WRITES))])


class StopWhileArriving:
    """Hands over its one frame only after asking the connection to stop: the stop request lands
    while the frame is on its way in (the connection is still waiting for input)."""

    def __init__(self, frame: bytes) -> None:
        self.frame: bytes | None = frame
        self.actor: ConnectionActor | None = None
        self.sent: list[bytes] = []

    async def receive_frame(self) -> bytes | None:
        await trio.lowlevel.checkpoint()
        assert self.actor is not None
        self.actor.stop()
        frame, self.frame = self.frame, None
        return frame

    async def send_frame(self, frame: bytes) -> None:
        self.sent.append(frame)


async def test_a_frame_arriving_as_the_stop_is_requested_is_still_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    send, receive = trio.open_memory_channel[ca.ConfigMsg](8)
    transport = StopWhileArriving(b'{"id":"x","method":"nope/nope"}')
    actor = ConnectionActor(transport, INFO, {"config": send})
    transport.actor = actor
    with receive, trio.fail_after(STOP_GRACE_S):
        await actor.run()
    assert len(transport.sent) == 1
    expected = b'{"error":{"code":-32600,"message":"Invalid request: unknown variant `nope/nope`'
    assert transport.sent[0].startswith(expected)




async def test_answers_beyond_a_full_outbox_wait_for_the_client_and_all_arrive(
    codex_home: Path, system_dir: Path, harness: Any
) -> None:
    count = 3 * OUTBOX_SIZE
    frames = [json.dumps(_init()).encode()]
    frames += [b'{"id":%d,"method":"config/mcpServer/reload"}' % i for i in range(1, count + 1)]
    transport = GatedTransport(frames)
    settings = harness.Settings(codex_home, system_dir, environ={})
    with trio.fail_after(IO_BOUND_S):
        async with harness.open_server(settings) as server, trio.open_nursery() as nursery:
            nursery.start_soon(server.serve_connection, transport)
            await trio.testing.wait_all_tasks_blocked()  # the connection stops reading meanwhile
            assert transport.sent == []
            transport.gate.set()
            await transport.input_done.wait()
    replies = [json.loads(f) for f in transport.sent if b'"id"' in f]
    assert sorted(r["id"] for r in replies) == list(range(count + 1))
    assert all("result" in r for r in replies)
