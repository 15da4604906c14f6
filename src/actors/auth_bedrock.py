"""Amazon Bedrock logins for the AuthActor (spec account.md §6.5, experimental; §4, §5, §8).

What codex-cli 0.169.0 does, each point observed on the binary:

* ``amazonBedrock {apiKey, region}`` and ``amazonBedrockAccessKeys {accessKeyId,
  secretAccessKey, sessionToken?, region}``: after the external-auth and ``forced_login_method``
  guards, the credentials are trimmed and must not be blank (checked before the region); the
  trimmed region must be one of ``SUPPORTED_REGIONS`` (exactly, case matters); a blank session
  token is omitted.
* Then the pending interactive login is cancelled (its completion comes before the answer), the
  user ``config.toml`` gets ``model_provider = "amazon-bedrock"`` and loses
  ``model_providers.amazon-bedrock.aws.profile`` (access keys also set ``….aws.region``) — one
  batch, refused as a whole with ``Cannot configure `<key>`: <why>`` (configLayerReadonly) when a
  higher layer (``-c``) would override a key —, and ``auth.json`` gets the credentials
  (``failed to save Amazon Bedrock auth: …``; the config edit stays). Answer
  ``{"type":"amazonBedrock"}``, ``account/login/completed`` (loginId null), ``account/updated``.
* ``account/read`` with the provider ``amazon-bedrock`` or ``amazon-bedrock-runtime``:
  ``amazonBedrock`` with ``usesCodexManagedCredentials`` true only for stored Bedrock
  credentials the policy allows; Bedrock credentials under another provider are an error.
* ``account/logout`` under a Bedrock provider that the user layer selects clears
  ``model_provider``, ``model_providers.<provider>.aws`` and ``model`` from the user config,
  whatever the credentials were (nothing is refused: the AWS-managed refusal of the sources is not
  in 0.169.0).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import msgspec
from chamberlain.actors.credentials import describe
from chamberlain.actors.reply import Reply
from chamberlain.errors import ConfigWriteError, InvalidRequest
from chamberlain.protocol import account as acct
from chamberlain.store.auth_file import AuthDotJson, BedrockAccessKeys, BedrockApiKey
from chamberlain.store.auth_secret import Secret
from chamberlain.store.ops import Edit

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import trio
    from chamberlain.actors.auth_settings import AuthSettings
    from chamberlain.actors.config_actor import ConfigMsg
    from chamberlain.actors.credentials import Active

__all__ = [
    "BEDROCK_PROVIDERS",
    "SUPPORTED_REGIONS",
    "BedrockHost",
    "clear_provider_keys",
    "prepare_login",
    "provider_keys_to_clear",
    "read_account",
]

PROVIDER_ID: Final = "amazon-bedrock"
#: The providers whose account is Amazon Bedrock (``account/read``, logout's config cleanup).
BEDROCK_PROVIDERS: Final = frozenset({PROVIDER_ID, "amazon-bedrock-runtime"})
#: The regions a login accepts (probed on 0.169.0 against every AWS region name).
SUPPORTED_REGIONS: Final = frozenset({
    "us-east-1", "us-east-2", "us-west-2", "us-gov-east-1", "us-gov-west-1", "ap-northeast-1", "ap-south-1",
    "ap-southeast-3", "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-north-1", "sa-east-1",
})
EMPTY_API_KEY: Final = "Amazon Bedrock API key must not be empty."
EMPTY_ACCESS_KEYS: Final = "AWS access key ID and secret access key must not be empty."
#: ``account/read`` with stored Bedrock credentials (either kind) under another provider.
OTHER_PROVIDER: Final = "Bedrock API key auth is only supported by the Amazon Bedrock model provider"
_CONFLICT: Final = "configVersionConflict"
#: What Rust's ``str::trim`` removes (Unicode White_Space; Python's ``strip()`` also takes U+001C-U+001F).
_WHITE_SPACE: Final = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)

logger = logging.getLogger(__name__)


class BedrockHost(Protocol):
    """What this module uses of the AuthActor."""

    @property
    def config_inbox(self) -> trio.MemorySendChannel[ConfigMsg] | None: ...


@dataclass(frozen=True, slots=True)
class _Login:
    """A validated login: what ``auth.json`` gets and the region ``config.toml`` gets (access
    keys only)."""

    credentials: BedrockApiKey | BedrockAccessKeys
    config_region: str | None


def validate(params: acct.AmazonBedrockLogin | acct.AmazonBedrockAccessKeysLogin) -> _Login:
    """The credentials, trimmed, or the reference's ``-32600``."""
    if isinstance(params, acct.AmazonBedrockLogin):
        key = _trim(params.api_key)
        if not key:
            raise InvalidRequest(EMPTY_API_KEY)
        region = _region(params.region)
        return _Login(BedrockApiKey(Secret(key), region), None)
    key_id, secret = _trim(params.access_key_id), _trim(params.secret_access_key)
    if not key_id or not secret:
        raise InvalidRequest(EMPTY_ACCESS_KEYS)
    region = _region(params.region)
    token = _trim(params.session_token or "")
    keys = BedrockAccessKeys(Secret(key_id), Secret(secret), Secret(token) if token else None)
    return _Login(keys, region)


def _trim(text: str) -> str:
    return text.strip(_WHITE_SPACE)


def _region(raw: str) -> str:
    region = _trim(raw)
    if region not in SUPPORTED_REGIONS:
        raise InvalidRequest(f"Amazon Bedrock does not support region `{region}`")
    return region


async def prepare_login(
    actor: BedrockHost,
    params: acct.AmazonBedrockLogin | acct.AmazonBedrockAccessKeysLogin,
    cancel_pending: Callable[[], Awaitable[None]],
) -> AuthDotJson:
    """The login after the policy guards of ``auth_logins.start``, up to the credentials to store
    (``auth_logins`` stores and announces them as for an API key): validation, the pending
    interactive login cancelled (``cancel_pending`` waits for its completion), the provider
    selected in config.toml."""
    checked = validate(params)
    await cancel_pending()
    edits = [
        Edit("model_provider", PROVIDER_ID, "replace"),
        Edit(f"model_providers.{PROVIDER_ID}.aws.profile", None, "replace"),
    ]
    if checked.config_region is not None:
        edits.append(Edit(f"model_providers.{PROVIDER_ID}.aws.region", checked.config_region, "replace"))
    await _write(actor.config_inbox, edits, None, refuse_overridden=True)
    return AuthDotJson.for_bedrock(checked.credentials)


def read_account(settings: AuthSettings, active: Active | None) -> acct.GetAccountResponse | None:
    """``account/read`` when Bedrock decides it; None when it does not (the other accounts)."""
    if settings.model_provider in BEDROCK_PROVIDERS:
        managed = active is not None and active.is_bedrock
        return acct.GetAccountResponse(acct.AmazonBedrockAccount(managed), None, False, None)
    if active is not None and active.is_bedrock:
        raise InvalidRequest(OTHER_PROVIDER)
    return None


@dataclass(frozen=True, slots=True)
class _Cleanup:
    provider: str
    version: str | None


async def provider_keys_to_clear(actor: BedrockHost, settings: AuthSettings) -> _Cleanup | None:
    """Taken when a logout starts: the Bedrock provider the user layer selects (its keys go once
    the credentials are gone), or None."""
    provider = settings.model_provider
    if provider not in BEDROCK_PROVIDERS or actor.config_inbox is None:
        return None
    try:
        layer = await _user_layer(actor.config_inbox)
    except Exception as exc:  # an unreadable config: the logout goes on, the config stays
        logger.info("cannot read the user config before logout: %s", describe(exc))
        return None
    if layer is None or layer.get("config", {}).get("model_provider") != provider:
        return None
    version = layer.get("version")
    return _Cleanup(provider, version if isinstance(version, str) else None)


async def clear_provider_keys(actor: BedrockHost, cleanup: _Cleanup | None) -> None:
    """Logout's last step: remove what selected the provider (one retry after a concurrent
    change, re-checked on the latest file)."""
    if cleanup is None or actor.config_inbox is None:
        return
    edits = [Edit(key, None, "replace") for key in
             ("model_provider", f"model_providers.{cleanup.provider}.aws", "model")]
    try:
        await _write(actor.config_inbox, edits, cleanup.version)
    except ConfigWriteError as exc:
        if exc.write_code != _CONFLICT:
            raise
        layer = await _user_layer(actor.config_inbox)
        if layer is not None and layer.get("config", {}).get("model_provider") == cleanup.provider:
            await _write(actor.config_inbox, edits, None)


async def _write(
    config: trio.MemorySendChannel[ConfigMsg] | None, edits: list[Edit], expected_version: str | None,
    *, refuse_overridden: bool = False,
) -> None:
    if config is None:  # a server without a config (tests of the actor alone)
        return
    from chamberlain.actors.config_actor import WriteConfig

    msg = WriteConfig(tuple(edits), None, expected_version, False, Reply(), refuse_overridden=refuse_overridden)
    await config.send(msg)
    await msg.reply.wait()


async def _user_layer(config: trio.MemorySendChannel[ConfigMsg]) -> dict[str, Any] | None:
    from chamberlain.actors.config_actor import ReadConfig

    reply: Reply[msgspec.Raw] = Reply()
    await config.send(ReadConfig(None, True, reply))
    read = msgspec.json.decode(await reply.wait())
    for layer in read.get("layers") or ():
        if isinstance(layer, dict) and layer.get("name", {}).get("type") == "user":
            return layer
    return None
