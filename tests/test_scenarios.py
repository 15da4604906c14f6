"""Every config scenario shows no difference between the reference and Chamberlain.

Runs ``shared/refpeer/replay.py --diff`` and so needs the real codex 0.169.0 installed by
``shared/refpeer/install.sh``; skipped when it (or shared/) is not there.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFPEER = ROOT.parent / "shared" / "refpeer"
REPLAY = REFPEER / "replay.py"
OWN = sorted((ROOT / "tests" / "scenarios").glob("*.jsonl"))
#: The shared scenarios (config and account methods, handshake and gating).
SHARED = sorted((REFPEER / "scenarios").glob("*.jsonl"))


pytestmark = pytest.mark.skipif(not REPLAY.is_file(), reason="shared/refpeer is not beside the project")


def _chamberlain() -> str:
    """This interpreter's Chamberlain (not whichever one comes first on PATH)."""
    beside = Path(sys.executable).with_name("chamberlain")
    argv = [str(beside), "app-server"] if beside.is_file() else [sys.executable, "-m", "chamberlain", "app-server"]
    return shlex.join(argv)


@pytest.mark.parametrize("scenario", OWN + SHARED, ids=lambda p: p.name)
def test_scenario_has_no_difference_from_the_reference(scenario: Path, reference: Any) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPLAY), "--diff", "--a", "ref", "--b", _chamberlain(), str(scenario)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
