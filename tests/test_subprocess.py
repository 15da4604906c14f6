"""The installed ``chamberlain app-server`` driven over its stdin/stdout, the way a host does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TIMEOUT_S = 20


def server_command() -> list[str]:
    """The ``chamberlain`` script installed beside this interpreter (not whichever one is first on
    PATH, which may belong to another checkout), else ``python -m chamberlain``."""
    script = Path(sys.executable).with_name("chamberlain")
    return [str(script), "app-server"] if script.is_file() else [sys.executable, "-m", "chamberlain", "app-server"]


def start(home: Path, etc: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_"))}
    env["CODEX_HOME"] = str(home)
    return subprocess.Popen(
        [*server_command(), "--system-config-dir", str(etc), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


def call(proc: subprocess.Popen[bytes], frame: dict[str, Any]) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(frame).encode() + b"\n")
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        assert line, "server closed stdout"
        msg: dict[str, Any] = json.loads(line)
        if msg.get("id") == frame["id"] and "method" not in msg:
            return msg


def test_a_host_drives_a_session_over_stdio_and_eof_exits_zero(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"  # does not exist yet: the server creates it
    with start(home, tmp_path / "etc") as proc:
        init = call(proc, {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "host", "version": "2"}}})
        assert init["result"]["codexHome"] == str(home)
        read = call(proc, {"id": 1, "method": "config/read", "params": {"includeLayers": True}})
        version = read["result"]["layers"][0]["version"]
        write = call(proc, {"id": 2, "method": "config/batchWrite", "params": {
            "edits": [{"keyPath": "model", "value": "o3", "mergeStrategy": "replace"}],
            "expectedVersion": version}})
        assert write["result"]["status"] == "ok"
        assert (home / "config.toml").read_text() == 'model = "o3"\n'
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(TIMEOUT_S) == 0
        assert proc.stderr is not None
        assert f"CODEX_HOME={home}" in proc.stderr.read().decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_cleanly(tmp_path: Path, signum: int) -> None:
    with start(tmp_path / "home", tmp_path / "etc") as proc:
        call(proc, {"id": 0, "method": "initialize", "params": {"clientInfo": {"name": "host", "version": "2"}}})
        proc.send_signal(signum)
        assert proc.wait(TIMEOUT_S) == 0
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read().decode()


def test_invalid_requirements_refuse_to_start(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "requirements.toml").write_text('allowed_sandbox_modes = ["workspace-write"]\n')
    with start(tmp_path / "home", etc) as proc:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 1
    assert out == b""
    assert err.decode().splitlines()[-1] == (
        "Error: invalid value for `allowed_sandbox_modes`: `[WorkspaceWrite]` is not in the allowed set "
        f"must include 'read-only' to allow any PermissionProfile (set by {etc / 'requirements.toml'})"
    )


def test_log_format_json_writes_one_json_object_per_stderr_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_"))}
    env.update(CODEX_HOME=str(tmp_path / "home"), LOG_FORMAT="json", RUST_LOG="info")
    proc = subprocess.run(
        [*server_command(), "--system-config-dir", str(tmp_path / "etc")],
        input=b"this is not json\n", capture_output=True, env=env, timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0 and proc.stdout == b""
    records = [json.loads(line) for line in proc.stderr.decode().splitlines() if line.startswith("{")]
    assert any(r["level"] == "WARNING" and "Failed to deserialize JSONRPCMessage" in r["message"] for r in records)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("foo", "Error: error parsing -c overrides: Invalid override (missing '='): foo"),
        ("=1", "Error: error parsing -c overrides: Empty key in override: =1"),
    ],
)
def test_malformed_overrides_refuse_to_start(tmp_path: Path, override: str, message: str) -> None:
    with start(tmp_path / "home", tmp_path / "etc", "-c", override) as proc:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    assert (proc.returncode, out) == (1, b"")
    assert err.decode().splitlines()[-1] == message


def test_system_dir_can_come_from_the_environment(tmp_path: Path) -> None:
    etc = tmp_path / "etc-from-env"
    etc.mkdir()
    (etc / "requirements.toml").write_text("allowed_approval_policies = []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_"))}
    env.update(CODEX_HOME=str(tmp_path / "home"), CHAMBERLAIN_SYSTEM_CONFIG_DIR=str(etc))
    proc = subprocess.run(server_command(), input=b"", capture_output=True, env=env, timeout=TIMEOUT_S)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines()[-1] == "Error: field `allowed_approval_policies` cannot be empty"
