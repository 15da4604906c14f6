"""The AuthActor's front door: its inbox opens with the server, but the AuthActor and what it
imports (httpx, the login flows, the credential store, JWT reading) load only when an account
request comes — a host that asks nothing about accounts, and every start-up, do not pay for them
(about 100 ms of imports on the first ``config/read`` otherwise).

The ``ClientInitialized`` that follows every ``initialize`` loads the AuthActor only when stored
ChatGPT credentials may exist (``auth.json`` in the home, or a keyring store); otherwise there is
nothing to announce. The import runs in a worker thread, so config requests are served meanwhile.
Messages keep their order: the front forwards them one by one into the AuthActor's inbox.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import TYPE_CHECKING, Any, Final, final

import trio
from chamberlain.actors.auth_messages import AuthMsg, ClientInitialized
from chamberlain.actors.auth_settings import AuthActorArgs, AuthSettings, read_auth_settings

if TYPE_CHECKING:

    pass

__all__ = ["INBOX_SIZE", "AuthFront"]

logger = logging.getLogger(__name__)

INBOX_SIZE: Final = 128


@final
class AuthFront:
    def __init__(self, args: AuthActorArgs) -> None:
        """``args``: the AuthActor's, kept until it starts."""
        self._args = args
        self._config = args.config
        self._config_now = args.config_now
        self._home = args.codex_home

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[AuthMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[AuthMsg](INBOX_SIZE)
        inner: trio.MemorySendChannel[AuthMsg] | None = None
        try:
            async with trio.open_nursery() as nursery, receive:
                task_status.started(send)
                async for msg in receive:
                    if inner is None:
                        if isinstance(msg, ClientInitialized) and not await self._may_hold_chatgpt():
                            continue
                        inner = await self._start(nursery)
                    await inner.send(msg)
                if inner is not None:
                    inner.close()  # the AuthActor ends when its inbox does
        finally:
            if inner is None and self._config is not None:
                self._config.close()  # the AuthActor would have owned it

    async def _start(self, nursery: trio.Nursery) -> trio.MemorySendChannel[AuthMsg]:
        module: Any = await trio.to_thread.run_sync(importlib.import_module, "chamberlain.actors.auth_actor")
        inbox: trio.MemorySendChannel[AuthMsg] = await nursery.start(module.AuthActor(self._args).run)
        return inbox

    async def _may_hold_chatgpt(self) -> bool:
        """Whether stored credentials may need the announcement after ``initialize``: an
        ``auth.json`` in the home, or a keyring store (it cannot be asked cheaply)."""
        settings = await self._settings()
        if settings.store_mode in ("keyring", "auto"):
            return True
        if settings.store_mode == "ephemeral":
            return False  # memory, empty until a login, which loads the AuthActor
        return self._auth_file_exists()

    def _auth_file_exists(self) -> bool:
        """One ``stat``: cheaper than the worker-thread hop that would wrap it."""
        return os.path.exists(os.path.join(self._home, "auth.json"))

    async def _settings(self) -> AuthSettings:
        return await read_auth_settings(self._config, self._config_now)
