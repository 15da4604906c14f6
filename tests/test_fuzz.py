"""Fuzz charter: bad input never kills the server (issue 6 §5).

Frames are mutations of valid requests — random bytes (``0xFF`` too) spliced into strings,
numbers beyond the float range, integers of thousands of digits, nesting up to ~1,200 deep in
params, in ignored members or around the whole frame, values of the wrong type, duplicated
members, truncation, huge frames — sent one at a time to a server running in the test's trio run.
After each one:

* the server still serves: a ``config/read`` probe is answered;
* a frame classified as a request got exactly one answer; any other frame got none, and one that
  is not a message at all was dropped with a ``Failed to deserialize JSONRPCMessage`` warning;
* no answer text contains ``internal error: <ExceptionName>``;
* a write acknowledged just before the bad frame is on disk and served by the probe.

``python tests/test_fuzz.py 20000`` runs the same frames from a seeded ``random.Random`` outside
the suite and prints how many killed the connection (the server is restarted after each).
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import trio
import trio.testing
from chamberlain.actors.server import Server, Settings
from chamberlain.actors.transports import LineTransport
from chamberlain.protocol.codec import NotAMessage, Request, classify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per run inside the suite; the full campaign runs outside it (module docstring).
SUITE_EXAMPLES: Final = 300
#: Real-clock bound for one frame and its probe, seconds (writes fsync in worker threads).
FRAME_BOUND_S: Final = 20
_INTERNAL: Final = re.compile(r"internal error: [A-Z][A-Za-z0-9_]*")
_WARNING: Final = "Failed to deserialize JSONRPCMessage"

_BASES: Final[tuple[dict[str, Any], ...]] = (
    {"method": "config/read", "params": {"includeLayers": True, "cwd": "/tmp"}},
    {"method": "config/value/write", "params": {"keyPath": "desktop.fuzz", "value": {"a": 1, "s": "x", "b": {"c": 2.5}},
                                                "mergeStrategy": "replace"}},
    {"method": "config/batchWrite", "params": {"edits": [
        {"keyPath": "desktop.k", "value": {"x": True}, "mergeStrategy": "upsert"},
        {"keyPath": "desktop.n", "value": 3, "mergeStrategy": "replace"}], "reloadUserConfig": False}},
    {"method": "experimentalFeature/list", "params": {"cursor": "1", "limit": 5}},
    {"method": "experimentalFeature/enablement/set", "params": {"enablement": {"memories": True}}},
    {"method": "configRequirements/read"},
    {"method": "config/mcpServer/reload", "params": {}},
    {"method": "initialize", "params": {"clientInfo": {"name": "f", "version": "1"}}},
    {"method": "account/read", "params": {"refreshToken": False}},
    {"method": "getAuthStatus", "params": {"includeToken": True, "refreshToken": False}},
    {"method": "account/login/start", "params": {"type": "apiKey", "apiKey": "sk-fuzz"}},
    {"method": "account/login/cancel", "params": {"loginId": "926c9eff-fe78-4429-87c0-0ab0c8e7c451"}},
    {"method": "account/logout"},
    {"method": "account/rateLimits/read", "params": {"excludeResetCreditDetails": True}},
    {"method": "account/sendAddCreditsNudgeEmail", "params": {"creditType": "credits"}},
    {"method": "thread/start", "params": {"cwd": "/tmp", "ephemeral": True, "config": {"model": "o3"},
                                          "approvalPolicy": {"granular": {"sandbox_approval": True, "rules": False,
                                                                          "mcp_elicitations": True}},
                                          "historyMode": "paginated", "sandbox": "workspace-write",
                                          "dynamicTools": [{"type": "function", "name": "t", "description": "d",
                                                            "inputSchema": {"type": "object"}}]}},
    {"method": "thread/read", "params": {"threadId": "019a2b69-a400-7e51-8f8e-735ae5b06ba0"}},
    {"method": "thread/loaded/list", "params": {"cursor": None, "limit": 2}},
    {"method": "chamberlain/thread/effectiveConfig", "params": {"threadId": "019a2b69-a400-7e51-8f8e-735ae5b06ba0"}},
    {"method": "model/list", "params": {"cursor": "1", "limit": 3, "includeHidden": True, "modelProvider": "openai"}},
)
#: Account traffic of mutated logins (a device code, a browser login) goes to a closed local port
#: at once, and a browser login binds any free port: no frame waits on the network.
_OFFLINE: Final = {"TERM": "xterm", "CODEX_APP_SERVER_LOGIN_ISSUER": "http://127.0.0.1:9"}
#: Only in the full campaign: an array whose items the mutations may turn into mixed types.
_ARRAY_BASE: Final = {"method": "config/value/write",
                      "params": {"keyPath": "desktop.arr", "value": [1, "a", {"b": 2.5}], "mergeStrategy": "replace"}}
_HOLE: Final = "\u0001hole\u0001"
_JUNK_TYPES: Final = (b"null", b"true", b"0", b"-1", b"1.5", b'""', b"[]", b"{}", b'"x"', b"[null]", b'{"a":[]}')


def _nest(rng: random.Random, inner: bytes) -> bytes:
    depth = rng.choice((126, 127, 128, 200, 1000, 1200, rng.randint(100, 1200)))
    if rng.random() < 0.5:
        return b"[" * depth + inner + b"]" * depth
    return b'{"a":' * depth + inner + b"}" * depth


def _value(rng: random.Random, numbers: bool = True) -> bytes:
    """A bad value: raw bytes in a string, a number beyond range, a huge integer, deep nesting...
    (``numbers=False``: no number beyond the 64-bit and float ranges)."""
    kind = rng.randrange(7)
    if not numbers and kind in (1, 2):
        kind = 4
    if kind == 0:
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        return b'"' + raw.replace(b'"', b"").replace(b"\\", b"") + b'"'
    if kind == 1:
        return rng.choice((b"1e400", b"-1e999", b"1e-400", b"1E+309", b"-0", b"1.7976931348623159e308"))
    if kind == 2:
        return rng.choice((b"", b"-")) + b"9" * rng.choice((20, 30, 400, 5000))
    if kind == 3:
        return _nest(rng, rng.choice((b"1", b"[]", b'"s"')))
    if kind == 4:
        return rng.choice(_JUNK_TYPES)
    if kind == 5:
        return b'"' + "".join(rng.choice("ab.é\u2028\\u00e9𝄞") for _ in range(rng.randint(0, 20))).encode() + b'"'
    return b'"' + b"x" * rng.choice((10_000, 300_000)) + b'"'


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _put(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _put(node[head], rest, value)
    return copy


Mutation = Callable[[random.Random, dict[str, Any], bool], bytes]


def _numbers_here(full: bool, path: tuple[Any, ...]) -> bool:
    """Numbers beyond range go into params only in the full campaign (and its test below)."""
    return full or not path or path[0] != "params"


def _mutations() -> tuple[Mutation, ...]:
    def replace_value(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        path = rng.choice(_paths(req)[1:])
        text = json.dumps(_put(req, path, _HOLE), ensure_ascii=False).encode()
        return text.replace(json.dumps(_HOLE).encode(), _value(rng, _numbers_here(full, path)))

    def add_member(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        targets = [p for p in _paths(req) if isinstance(_get(req, p), dict)]
        path = rng.choice(targets)
        inner = dict(_get(req, path))
        inner[rng.choice(("x", "extra", "trace", "cwd", "value", "id"))] = _HOLE
        text = json.dumps(_put(req, path, inner), ensure_ascii=False).encode()
        return text.replace(json.dumps(_HOLE).encode(), _value(rng, _numbers_here(full, (*path, "x"))))

    def duplicate(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        text = json.dumps(req).encode()
        path = rng.choice([p for p in _paths(req)[1:] if isinstance(p[-1], str)])
        member = b'"%s":' % path[-1].encode()
        at = text.find(member)
        return text[:at] + member + _value(rng, _numbers_here(full, path)) + b"," + text[at:]

    def wrap(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        return _nest(rng, json.dumps(req).encode())

    def truncate(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        text = json.dumps(req).encode()
        return text[: rng.randrange(1, len(text))]

    def flip(rng: random.Random, req: dict[str, Any], full: bool) -> bytes:
        text = bytearray(json.dumps(req).encode())
        for _ in range(rng.randint(1, 4)):
            text[rng.randrange(len(text))] = rng.randrange(256)
        return bytes(text)

    return (replace_value, replace_value, replace_value, add_member, add_member, duplicate, wrap, truncate, flip)


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


_MUTATIONS: Final = _mutations()


def bad_frame(rng: random.Random, request_id: int, *, full: bool = True) -> bytes:
    """One mutated request. ``full=False`` leaves out what fails in params decoding and in the
    store today (numbers beyond range inside params, arrays turned into mixed types)."""
    req = dict(rng.choice((*_BASES, _ARRAY_BASE) if full else _BASES))
    req["id"] = request_id
    frame = rng.choice(_MUTATIONS)(rng, req, full)
    return frame.replace(b"\n", b" ").replace(b"\r", b" ")  # one frame, one line


# -- the harness -----------------------------------------------------------------------------------


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Killed(Exception):
    """The connection died (an exception escaped it, or it stopped answering)."""


class Violation(AssertionError):
    """The server served on, but broke one of the charter's rules."""


class FuzzClient:
    def __init__(self, send: trio.testing.MemorySendStream, receive: trio.testing.MemoryReceiveStream) -> None:
        self.send = send
        self.receive = receive
        self.buffer = b""
        self.written = 0

    async def frame(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            chunk = await self.receive.receive_some(1 << 20)
            if not chunk:
                raise Killed("server closed its output")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if _INTERNAL.search(line.decode()):
            raise Violation(f"internal error text reached the client: {line[:300]!r}")
        message: dict[str, Any] = json.loads(line)
        return message

    async def call(self, request_id: str, method: str, params: Any) -> dict[str, Any]:
        await self.send.send_all(json.dumps({"id": request_id, "method": method, "params": params}).encode() + b"\n")
        while True:
            msg = await self.frame()
            if msg.get("id") == request_id and "method" not in msg:
                return msg

    async def write_marker(self) -> str:
        self.written += 1
        value = f"fz-{self.written}"
        reply = await self.call(f"w{self.written}", "config/value/write",
                                {"keyPath": "model", "value": value, "mergeStrategy": "replace"})
        if reply.get("result", {}).get("status") != "ok":
            raise Violation(f"marker write refused: {reply}")
        return value

    async def bad_then_probe(self, frame: bytes, request_id: int, warnings: _Warnings) -> None:
        marker = await self.write_marker()
        before = len(warnings.messages)
        await self.send.send_all(frame + b"\n")
        probe_id = f"probe-{request_id}"
        await self.send.send_all(json.dumps({"id": probe_id, "method": "config/read", "params": {}}).encode() + b"\n")
        # Answers may come in any order (account reads that wait on the backend are answered
        # beside the others): read until the probe is answered and, for a request, its answer.
        kind = classify(frame)
        awaited = kind.id if isinstance(kind, Request) else None
        answers: list[dict[str, Any]] = []
        probe: dict[str, Any] | None = None
        while probe is None or (awaited is not None and not any(a.get("id") == awaited for a in answers)):
            msg = await self.frame()
            if "method" in msg:
                continue
            if msg.get("id") == probe_id:
                probe = msg
            else:
                answers.append(msg)
        _check_answers(frame, answers, warnings.messages[before:])
        wrote = any("result" in a for a in answers)
        if not wrote and probe["result"]["config"]["model"] != marker:
            raise Violation(f"acknowledged write {marker!r} not served after {frame[:200]!r}")


def _check_answers(frame: bytes, answers: list[dict[str, Any]], warnings: list[str]) -> None:
    kind = classify(frame)
    if isinstance(kind, Request):
        if len(answers) != 1 or answers[0].get("id") != kind.id:
            raise Violation(f"request {frame[:200]!r} got {len(answers)} answers: {answers[:2]}")
        return
    if answers:
        raise Violation(f"{type(kind).__name__} {frame[:200]!r} was answered: {answers[:2]}")
    if isinstance(kind, NotAMessage) and not any(w.startswith(_WARNING) for w in warnings):
        raise Violation(f"frame {frame[:200]!r} dropped without a warning")


async def fuzz_session(home: Path, frames: list[tuple[int, bytes]], warnings: _Warnings) -> tuple[int, list[str]]:
    """Send ``frames`` one at a time; returns how many killed the connection (it is then
    reopened) and the rule violations seen."""
    killed = 0
    pending = list(frames)
    violations: list[str] = []
    settings = Settings(home, home / "etc", environ=dict(_OFFLINE), login_callback_port=0)
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(Server(settings).run)
        while pending:
            pending, died = await _one_connection(server, pending, warnings, violations)
            killed += died
        nursery.cancel_scope.cancel(reason="fuzz finished")
    return killed, violations


async def _one_connection(
    server: Server, frames: list[tuple[int, bytes]], warnings: _Warnings, violations: list[str]
) -> tuple[list[tuple[int, bytes]], int]:
    c2s_send, c2s_recv = trio.testing.memory_stream_one_way_pair()
    s2c_send, s2c_recv = trio.testing.memory_stream_one_way_pair()
    client = FuzzClient(c2s_send, s2c_recv)
    crashed: list[BaseException] = []

    async def serve() -> None:
        try:
            await server.serve_connection(LineTransport(c2s_recv, s2c_send))
        except Exception as exc:  # the fuzz's subject: count it, as the CLI would die of it
            crashed.append(exc)
        await s2c_send.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        with trio.fail_after(FRAME_BOUND_S):
            await client.call("init", "initialize", {"clientInfo": {"name": "fuzz", "version": "1"},
                                                     "capabilities": {"experimentalApi": True}})
        for n, (request_id, frame) in enumerate(frames):
            try:
                with trio.fail_after(FRAME_BOUND_S):
                    await client.bad_then_probe(frame, request_id, warnings)
            except Violation as exc:
                violations.append(f"{exc} after {frame[:400]!r}")
            except (Killed, trio.TooSlowError, trio.BrokenResourceError) as exc:
                if not crashed and not isinstance(exc, Killed):
                    raise
                _report_kill(frame, crashed)
                nursery.cancel_scope.cancel(reason="connection killed")
                return frames[n + 1:], 1
        await c2s_send.aclose()
    return [], 0


def _report_kill(frame: bytes, crashed: list[BaseException]) -> None:
    exc = crashed[0] if crashed else None
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    where = ""
    if exc is not None and exc.__traceback__ is not None:
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    what = f"{type(exc).__name__}: {str(exc)[:120]}{where}" if exc is not None else "no answer"
    print(f"KILLED {what} by {frame[:240]!r}", file=sys.stderr)


def _run(frames: list[tuple[int, bytes]]) -> tuple[int, list[str]]:
    handler = _Warnings()
    logger = logging.getLogger("chamberlain")
    logger.addHandler(handler)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return trio.run(fuzz_session, Path(tmp), frames, handler)
    finally:
        logger.removeHandler(handler)


# -- the suite's test ------------------------------------------------------------------------------


_FUZZ: Final = settings(max_examples=SUITE_EXAMPLES, deadline=None, derandomize=True, database=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_FUZZ
@given(st.randoms(use_true_random=False), st.integers(1, 3))
def test_bad_frames_one_at_a_time_never_kill_the_server(rng: random.Random, count: int) -> None:
    frames = [(7000 + i, bad_frame(rng, 7000 + i, full=False)) for i in range(count)]
    assert _run(frames) == (0, [])


@settings(_FUZZ)
@given(st.randoms(use_true_random=False), st.integers(1, 3))
def test_bad_frames_with_out_of_range_numbers_in_params_never_kill_the_server(
    rng: random.Random, count: int
) -> None:
    frames = [(7000 + i, bad_frame(rng, 7000 + i)) for i in range(count)]
    assert _run(frames) == (0, [])


if __name__ == "__main__":
    # python tests/test_fuzz.py [TOTAL [SEED [SHARD NSHARDS]]]: shards split one campaign's frames.
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    source = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 6)
    shard, shards = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 1)
    campaign = [(i, bad_frame(source, i)) for i in range(total)][shard::shards]
    kills, broken = _run(campaign)
    for line in broken[:40]:
        print("VIOLATION", line[:300], file=sys.stderr)
    print(f"{kills} of {len(campaign)} frames killed the connection ({100 * kills / len(campaign):.2f}%); "
          f"{len(broken)} broke another rule")
