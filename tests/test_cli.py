"""The command line as a user meets it: exit statuses 0 / 1 / 2, what stderr says, and when.

Every test runs ``python -m chamberlain`` in a subprocess with a timeout and closed pipes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chamberlain import REFERENCE_VERSION, __version__

TIMEOUT_S = 20
INIT = b'{"id":0,"method":"initialize","params":{"clientInfo":{"name":"h","version":"1"}}}\n'


def run(tmp_path: Path, *args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    """``python -m chamberlain *args`` on a home and system directory under ``tmp_path``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CODEX_", "CHAMBERLAIN_", "RUST_LOG", "LOG_"))}
    base.update(CODEX_HOME=str(tmp_path / "home"), CHAMBERLAIN_SYSTEM_CONFIG_DIR=str(tmp_path / "etc"), **env)
    return subprocess.run([sys.executable, "-m", "chamberlain", *args], input=stdin, capture_output=True,
                          env=base, timeout=TIMEOUT_S, check=False)


def test_version_prints_chamberlain_and_the_wire_protocol_version(tmp_path: Path) -> None:
    proc = run(tmp_path, "--version")
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == f"chamberlain {__version__} (codex-cli {REFERENCE_VERSION} wire protocol)\n"


@pytest.mark.parametrize("value", ["0", "-1", "-65536"])
def test_a_frame_limit_that_is_not_positive_is_a_usage_error(tmp_path: Path, value: str) -> None:
    proc = run(tmp_path, "app-server", "--max-frame-bytes", value, stdin=INIT)
    assert (proc.returncode, proc.stdout) == (2, b"")
    err = proc.stderr.decode()
    assert err.startswith("usage: chamberlain app-server ")
    assert err.splitlines()[-1] == (
        f"chamberlain app-server: error: argument --max-frame-bytes: must be a positive number of bytes, got {value}"
    )


@pytest.mark.parametrize("args", [["--bogus"], ["--version"], ["extra-word"], ["--listen"]])
def test_errors_in_app_server_arguments_show_the_app_server_usage(tmp_path: Path, args: list[str]) -> None:
    proc = run(tmp_path, "app-server", *args)
    assert (proc.returncode, proc.stdout) == (2, b"")
    lines = proc.stderr.decode().splitlines()
    assert lines[0].startswith("usage: chamberlain app-server [-h] [--listen URL]")
    assert lines[-1].startswith("chamberlain app-server: error: ")
    assert not (tmp_path / "home").exists()  # nothing was started


def test_an_unknown_command_shows_the_top_level_usage(tmp_path: Path) -> None:
    proc = run(tmp_path, "serve")
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith("usage: chamberlain [-h] [--version] {app-server}")


def test_the_listening_line_comes_only_after_the_start_up_checks_pass(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "requirements.toml").write_text("allowed_approval_policies = []\n")
    refused = run(tmp_path, "app-server", stdin=INIT)
    assert (refused.returncode, refused.stdout) == (1, b"")
    assert refused.stderr.decode().splitlines() == ["Error: field `allowed_approval_policies` cannot be empty"]
    (etc / "requirements.toml").write_text("allowed_approval_policies = [\"never\"]\n")
    started = run(tmp_path, "app-server", stdin=INIT)
    assert started.returncode == 0
    assert started.stderr.decode().splitlines() == [
        f"chamberlain app-server: CODEX_HOME={tmp_path / 'home'} (listening on stdio)"
    ]
    assert json.loads(started.stdout.splitlines()[0])["id"] == 0


def _json_lines(stderr: bytes) -> list[dict[str, str]]:
    lines = stderr.decode().splitlines()
    assert lines, "nothing on stderr"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_with_log_format_json_every_stderr_line_of_a_session_is_json(tmp_path: Path) -> None:
    proc = run(tmp_path, "app-server", stdin=INIT + b"not json\n", LOG_FORMAT="json", CHAMBERLAIN_LOG="debug")
    assert proc.returncode == 0
    records = _json_lines(proc.stderr)
    assert records[0]["message"] == f"chamberlain app-server: CODEX_HOME={tmp_path / 'home'} (listening on stdio)"
    assert any(r["message"].startswith("Failed to deserialize JSONRPCMessage: ") for r in records)
    assert all(set(r) >= {"timestamp", "level", "target", "message"} for r in records)


@pytest.mark.parametrize(
    ("args", "env", "status", "first"),
    [
        (["app-server", "--bogus"], {}, 2, "chamberlain app-server: error: unrecognized arguments: --bogus"),
        (["app-server", "-c", "foo"], {}, 1, "Error: error parsing -c overrides: Invalid override (missing '='): foo"),
        (["app-server"], {"CHAMBERLAIN_LOG": "loud"}, 2, "Error: CHAMBERLAIN_LOG: cannot use `loud`"),
    ],
    ids=["usage", "refused", "bad-log-level"],
)
def test_with_log_format_json_start_up_errors_are_json_too(
    tmp_path: Path, args: list[str], env: dict[str, str], status: int, first: str
) -> None:
    proc = run(tmp_path, *args, LOG_FORMAT="json", CHAMBERLAIN_LOG=env.get("CHAMBERLAIN_LOG", ""))
    assert proc.returncode == status
    records = _json_lines(proc.stderr)
    assert records[0]["level"] == "ERROR"
    assert records[0]["message"].startswith(first)


@pytest.mark.parametrize("spec", ["verbose", "chamberlain=loud", "debug,other_crate=info", "chamberlain.store="])
def test_an_unknown_chamberlain_log_setting_is_a_usage_error(tmp_path: Path, spec: str) -> None:
    proc = run(tmp_path, "app-server", stdin=INIT, CHAMBERLAIN_LOG=spec)
    assert (proc.returncode, proc.stdout) == (2, b"")
    assert proc.stderr.decode().startswith("Error: CHAMBERLAIN_LOG: cannot use `")


@pytest.mark.parametrize("spec", ["info", "chamberlain=debug", "warn,chamberlain.actors=debug", "OFF"])
def test_known_chamberlain_log_settings_start(tmp_path: Path, spec: str) -> None:
    proc = run(tmp_path, "app-server", stdin=INIT, CHAMBERLAIN_LOG=spec)
    assert proc.returncode == 0
    assert json.loads(proc.stdout.splitlines()[0])["id"] == 0


def test_rust_log_directives_for_other_programs_are_ignored(tmp_path: Path) -> None:
    proc = run(tmp_path, "app-server", stdin=INIT, RUST_LOG="codex_core=trace,whatever")
    assert proc.returncode == 0
