"""Frame-level bad input (spec §1): frames the reference refuses as a whole are dropped with its
warning, frames it routes are routed the same way, and the connection goes on serving.

Each case was checked on codex 0.169.0 (``codex app-server`` on stdio): the reference logs
``Failed to deserialize JSONRPCMessage: <reason>`` and answers nothing, or answers the request.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

READ = b'{"id":1,"method":"config/read","params":{}'
WARNING = "Failed to deserialize JSONRPCMessage: "


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def _probe(c: Any) -> None:
    """The next answer is the probe's: nothing was answered for the frames sent before it."""
    assert await c.call("config/mcpServer/reload", request_id="probe") == {"id": "probe", "result": {}}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().removeprefix(WARNING) for r in caplog.records if r.getMessage().startswith(WARNING)]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (_nested(1000), "recursion limit exceeded at line 1 column 128"),
        (_nested(128), "recursion limit exceeded at line 1 column 128"),
        (READ + b',"x":' + _nested(1000) + b"}", "recursion limit exceeded at line 1 column 174"),
        (READ + b',"x":' + _nested(127) + b"}", "recursion limit exceeded at line 1 column 174"),
        (b'{"id":5,"method":"config/read","params":{"x":' + _nested(126) + b"}}",
         "recursion limit exceeded at line 1 column 171"),
        (b"[1]", "data did not match any variant of untagged enum JSONRPCMessage"),
        (b'{"id":1,"method":"config/read","method":"config/read","params":{}}',
         "data did not match any variant of untagged enum JSONRPCMessage"),
        (READ + b',"params":{}}', "data did not match any variant of untagged enum JSONRPCMessage"),
    ],
    ids=["top-1000", "top-128", "ignored-1000", "ignored-128", "params-128", "array", "dup-method", "dup-params"],
)
async def test_frames_the_reference_refuses_whole_get_its_warning_and_no_answer(
    session: Any, caplog: pytest.LogCaptureFixture, frame: bytes, reason: str
) -> None:
    caplog.set_level(logging.WARNING, logger="chamberlain")
    async with session() as c:
        await c.send_raw(frame)
        await _probe(c)
    assert _warnings(caplog) == [reason]


@pytest.mark.parametrize(
    "frame",
    [
        READ + b',"x":' + _nested(126) + b"}",
        b'{"id":1,"method":"config/read","params":{"x":' + _nested(125) + b"}}",
        READ + b',"x":"' + b"[" * 1000 + b'"}',
        READ + b',"x":1e400}',
        READ + b',"x":-' + b"9" * 5000 + b"}",
        READ + b',"x":1,"x":2}',
        READ + b',"trace":1.5}',
        READ + b',"trace":1e400}',
        READ + b',"trace":' + b"9" * 30 + b"}",
        READ + b',"trace":{"tracestate":"a","x":1e400}}',
    ],
    ids=["ignored-126", "params-125", "brackets-in-string", "ignored-1e400", "ignored-5000-digits",
         "dup-ignored", "trace-float", "trace-1e400", "trace-beyond-u64", "trace-object-1e400"],
)
async def test_frames_the_reference_routes_are_answered(session: Any, frame: bytes) -> None:
    async with session() as c:
        await c.send_raw(frame)
        assert "result" in await c.response(1)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"id":1e400,"method":"config/read","params":{}}',
        b'{"id":' + b"9" * 5000 + b',"method":"config/read","params":{}}',
        b'{"id":1,"id":2,"method":"config/read","params":{}}',
        READ + b',"trace":null,"trace":null}',
        READ + b',"trace":18446744073709551615}',
        READ + b',"trace":{"traceparent":1e400}}',
    ],
    ids=["id-1e400", "id-5000-digits", "dup-id", "dup-trace", "trace-u64", "traceparent-1e400"],
)
async def test_requests_the_reference_takes_for_notifications_are_dropped_silently(
    session: Any, caplog: pytest.LogCaptureFixture, frame: bytes
) -> None:
    caplog.set_level(logging.WARNING, logger="chamberlain")
    async with session() as c:
        await c.send_raw(frame)
        await _probe(c)
    assert _warnings(caplog) == []


@pytest.mark.parametrize(
    "frame",
    [
        b'{"id":1,"method":"config/read","params":{"cwd":"\xff"}}',
        READ + b',"x":"\xc3"}',
        b'\xff{"id":1,"method":"config/read","params":{}}',
        b'{"id":1,"method":"config/read","params":{"cwd":"\xed\xa0\x80"}}',  # an encoded surrogate
    ],
    ids=["in-params", "in-ignored", "before-frame", "surrogate"],
)
async def test_a_line_that_is_not_utf8_is_dropped_with_a_warning_and_the_session_goes_on(
    session: Any, caplog: pytest.LogCaptureFixture, frame: bytes
) -> None:
    """The reference ends the session (exit 0) at such a line: docs/differences.md."""
    caplog.set_level(logging.WARNING, logger="chamberlain")
    async with session() as c:
        await c.send_raw(frame)
        await _probe(c)
        assert "result" in await c.call("config/read", {})
    assert _warnings(caplog) == ["stream did not contain valid UTF-8"]


async def test_valid_utf8_beyond_ascii_is_served(session: Any) -> None:
    async with session() as c:
        await c.send_raw('{"id":1,"method":"config/read","params":{},"x":"é — 漢字 🎉"}'.encode())
        assert "result" in await c.response(1)


_ROOT = Path(__file__).resolve().parent.parent
_REPLAY = _ROOT.parent / "shared" / "refpeer" / "replay.py"


@pytest.mark.skipif(not _REPLAY.is_file(), reason="shared/refpeer is not beside the project")
def test_bad_frames_replay_shows_no_difference_from_the_reference(reference_binary: Path) -> None:
    """``frame_scenarios/bad-frames.jsonl`` against the real codex, run with the chamberlain beside
    this interpreter (tests/test_scenarios.py takes the first one on PATH, maybe another checkout)."""
    script = Path(sys.executable).with_name("chamberlain")
    server = [str(script), "app-server"] if script.is_file() else [sys.executable, "-m", "chamberlain", "app-server"]
    scenario = _ROOT / "tests" / "frame_scenarios" / "bad-frames.jsonl"
    proc = subprocess.run(
        [sys.executable, str(_REPLAY), "--diff", "--a", "ref", "--b", shlex.join(server), str(scenario)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
