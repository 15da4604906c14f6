"""Errors of the outbound account flows (spec account.md §6, §10.1).

A ``LoginFailed`` ends an interactive login attempt; its ``message`` is the text the client sees as
``account/login/completed.error`` (the AuthActor adds the browser flow's ``Login server error: ``
prefix). Texts that reach the client as a JSON-RPC error use ``chamberlain.errors`` instead.
"""

from __future__ import annotations

__all__ = ["LoginFailed"]


class LoginFailed(Exception):
    """A login attempt that ended without credentials; ``message`` is the reference's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
