"""A real HTTP fake of the OAuth issuer and the ChatGPT backend, for tests and the offline demo.

``FakeOpenAI`` serves both on one loopback port (h11 on ``trio.serve_tcp``); tests script the
next answers per ``Endpoint`` and read the log of every request it received. Run it alone with
``python -m chamberlain.fake_openai --port N``.
"""

from __future__ import annotations

from .backend import default_reset_credits, default_usage
from .claims import AUTH_CLAIM, PROFILE_CLAIM, Identity, Minter, Workspace
from .grants import RefreshState, TokenSet, s256
from .issuer import CLIENT_ID
from .script import (
    FOREVER,
    Endpoint,
    Outcome,
    Reply,
    Succeed,
    denied,
    expired,
    oauth_error,
    pending,
    refresh_expired,
    refresh_invalidated,
    refresh_reused,
    slow_down,
    unauthorized,
)
from .server import FakeOpenAI, open_fake_openai
from .wire import HttpRequest

__all__ = [
    "FakeOpenAI",
    "open_fake_openai",
    "Endpoint",
    "Reply",
    "Succeed",
    "Outcome",
    "FOREVER",
    "Identity",
    "Workspace",
    "TokenSet",
    "RefreshState",
    "HttpRequest",
    "CLIENT_ID",
    "AUTH_CLAIM",
    "PROFILE_CLAIM",
    "Minter",
    "s256",
    "oauth_error",
    "pending",
    "slow_down",
    "expired",
    "denied",
    "refresh_expired",
    "refresh_reused",
    "refresh_invalidated",
    "unauthorized",
    "default_usage",
    "default_reset_credits",
]
