"""Chamberlain: the account, auth and config half of the codex app-server protocol on Trio."""

from __future__ import annotations

from typing import Final

__all__ = ["__version__", "REFERENCE_VERSION"]

__version__: Final = "0.1.0"
#: The codex-cli release whose wire behaviour Chamberlain reproduces (and reports in userAgent).
REFERENCE_VERSION: Final = "0.169.0"
