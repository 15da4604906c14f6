"""What the effective config says about accounts (spec account.md §4.2, §13.2, §16, §18)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from pathlib import Path

    import trio
    from chamberlain.actors.config_actor import ConfigMsg
    from chamberlain.actors.hub import Hub

__all__ = ["AuthActorArgs", "AuthSettings", "StoreMode", "read_auth_settings"]

logger = logging.getLogger(__name__)

StoreMode = Literal["file", "keyring", "auto", "ephemeral"]

#: Built-in model providers and whether they need OpenAI credentials (a provider defined in
#: ``model_providers`` says so with ``requires_openai_auth``, default false).
_BUILTIN_REQUIRES_AUTH: Final = {"openai": True, "ollama": False, "lmstudio": False, "amazon-bedrock": False,
                                "amazon-bedrock-runtime": False}


@dataclass(frozen=True, slots=True)
class AuthActorArgs:
    """What an AuthActor is made from (the AuthFront keeps it until the actor starts).

    ``config``: the ConfigActor's inbox (a clone the actor owns), for the account keys of the
    effective config; None runs on the defaults. ``config_now``: its ``serve_now`` (answers at once
    when the ConfigActor is idle, so account requests do not make it busy for the config requests
    of the same moment). ``callback_port``: the browser login's, as ``Settings.login_callback_port``."""

    codex_home: Path
    environ: dict[str, str] = field(repr=False)  # may hold OPENAI_API_KEY
    config: trio.MemorySendChannel[ConfigMsg] | None
    hub: Hub
    callback_port: int | None = None
    config_now: Callable[[ConfigMsg], bool] | None = None


@dataclass(frozen=True, slots=True)
class AuthSettings:
    requires_openai_auth: bool = True
    #: ``"chatgpt"`` or ``"api"``
    forced_login_method: str | None = None
    #: ``forced_chatgpt_workspace_id`` as a list (a single id is a list of one)
    forced_workspace_ids: tuple[str, ...] | None = None
    store_mode: StoreMode = "file"
    backend_base: str | None = None
    model_provider: str = "openai"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AuthSettings:
        """From the ``config`` object of config/read (already validated by the config model)."""
        provider = config.get("model_provider") or "openai"
        defined = (config.get("model_providers") or {}).get(provider)
        if isinstance(defined, Mapping):
            requires = bool(defined.get("requires_openai_auth", False))
        else:
            requires = _BUILTIN_REQUIRES_AUTH.get(provider, True)
        ids = config.get("forced_chatgpt_workspace_id")
        workspaces: tuple[str, ...] | None = None
        if isinstance(ids, str):
            workspaces = (ids,)
        elif isinstance(ids, list):
            workspaces = tuple(str(i) for i in ids)
        mode: StoreMode = config.get("cli_auth_credentials_store") or "file"
        return cls(
            requires_openai_auth=requires,
            forced_login_method=config.get("forced_login_method"),
            forced_workspace_ids=workspaces,
            store_mode=mode,
            backend_base=config.get("chatgpt_base_url"),
            model_provider=provider,
        )


async def read_auth_settings(
    config: trio.MemorySendChannel[ConfigMsg] | None, config_now: Callable[[ConfigMsg], bool] | None,
) -> AuthSettings:
    """The account keys of the effective config, asked of the ConfigActor (at once when it is
    idle); the defaults when it cannot be read (the config methods report that problem; account
    methods work on)."""
    if config is None:
        return AuthSettings()
    from chamberlain.actors.config_actor import ReadEffective
    from chamberlain.actors.reply import Reply

    reply: Reply[dict[str, Any]] = Reply()
    msg = ReadEffective(reply)
    try:
        if config_now is None or not config_now(msg):
            config.send_nowait(msg)
        return AuthSettings.from_config(await reply.wait())
    except Exception as exc:  # an unreadable config (its text may quote the file: only the type)
        logger.debug("account settings from defaults: %s", type(exc).__name__)
        return AuthSettings()
