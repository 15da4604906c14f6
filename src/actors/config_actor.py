"""ConfigActor: owns the config store, its file lock, the version and the runtime feature
enablement. One task serves its inbox, so config operations are serialised in arrival order;
writes run in a worker thread (fsync, flock) while the actor waits, never half-done on cancel."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, final

import msgspec
import trio
from chamberlain.errors import ChamberlainError, InternalError, InvalidRequest
from chamberlain.protocol import messages as wire
from chamberlain.protocol.uuidtext import UuidError, parse_uuid
from chamberlain.store.features import REGISTRY, RUNTIME_KEYS
from chamberlain.store.ops import Edit, StartupWarning
from msgspec import Struct

if TYPE_CHECKING:
    from collections.abc import Callable

    from chamberlain.store.config_store import ConfigStore

__all__ = [
    "Reply",
    "ConfigActor",
    "ReadConfig",
    "WriteConfig",
    "ReadRequirements",
    "ListFeatures",
    "SetEnablement",
    "ReloadMcpServers",
    "GetWarnings",
    "ConfigMsg",
    "INBOX_SIZE",
]

logger = logging.getLogger(__name__)

#: Messages the actor may have queued before senders are told the server is overloaded.
INBOX_SIZE: Final = 128
_RUNTIME: Final = frozenset(RUNTIME_KEYS)


@final
class Reply:
    """A one-shot answer: the actor calls ``set`` or ``fail`` once; the requester awaits ``wait``."""

    __slots__ = ("_event", "_value", "_error")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def set(self, value: Any) -> None:
        self._value = value
        self._event.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._event.set()

    async def wait(self) -> Any:
        await self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


class ReadConfig(Struct, frozen=True):
    cwd: str | None
    include_layers: bool
    reply: Reply


class WriteConfig(Struct, frozen=True):
    edits: tuple[Edit, ...]
    file_path: str | None
    expected_version: str | None
    reload_user_config: bool
    reply: Reply


class ReadRequirements(Struct, frozen=True):
    reply: Reply


class ListFeatures(Struct, frozen=True):
    cursor: str | None
    limit: int | None
    thread_id: str | None
    reply: Reply


class SetEnablement(Struct, frozen=True):
    enablement: dict[str, bool]
    reply: Reply


class ReloadMcpServers(Struct, frozen=True):
    reply: Reply


class GetWarnings(Struct, frozen=True):
    reply: Reply


ConfigMsg = ReadConfig | WriteConfig | ReadRequirements | ListFeatures | SetEnablement | ReloadMcpServers | GetWarnings


@final
class ConfigActor:
    def __init__(self, store: Callable[[], ConfigStore]) -> None:
        """``store`` makes (or returns) the server's ConfigStore; it is first called for the first
        message, so start-up does not pay for importing the store."""
        self._make_store = store
        self._store: ConfigStore | None = None
        #: values set by experimentalFeature/enablement/set: process-wide, never written to disk.
        self.runtime: Mapping[str, bool] = {}

    @property
    def store(self) -> ConfigStore:
        if self._store is None:
            self._store = self._make_store()
        return self._store

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[ConfigMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[ConfigMsg](INBOX_SIZE)
        async with receive:
            task_status.started(send)
            async for msg in receive:
                try:
                    await self._handle(msg)
                except ChamberlainError as exc:
                    msg.reply.fail(exc)
                except Exception as exc:  # a bug must not take the actor down with it
                    logger.exception("config operation failed")
                    msg.reply.fail(InternalError(f"internal error: {type(exc).__name__}"))

    async def _handle(self, msg: ConfigMsg) -> None:
        match msg:
            case ReadConfig():
                msg.reply.set(msgspec.Raw(self.store.read(msg.cwd, msg.include_layers, self.runtime)))
            case WriteConfig():
                await self._write(msg)
            case ReadRequirements():
                msg.reply.set(
                    wire.ConfigRequirementsReadResponse(True, self.store.read_requirements(self.runtime))
                )
            case ListFeatures():
                msg.reply.set(self._list_features(msg))
            case SetEnablement():
                msg.reply.set(self._set_enablement(msg.enablement))
            case ReloadMcpServers():
                # Re-reads the configuration as the reference does (its errors are the client's
                # to see). No MCP servers run inside Chamberlain and no threads are loaded, so
                # there is nothing more to refresh.
                self.store.check_loadable("failed to refresh MCP servers")
                msg.reply.set(wire.EmptyResult())
            case GetWarnings():
                msg.reply.set(self._warnings())

    async def _write(self, msg: WriteConfig) -> None:
        outcome = await trio.to_thread.run_sync(self.store.write, msg.edits, msg.file_path, msg.expected_version)
        overridden = None
        if outcome.overridden is not None:
            overridden = wire.OverriddenMetadata(**_snake(outcome.overridden))
        msg.reply.set(wire.ConfigWriteResponse(outcome.status, outcome.version, outcome.file_path, overridden))

    def _list_features(self, msg: ListFeatures) -> wire.ExperimentalFeatureListResponse:
        cwd = None
        if msg.thread_id is not None:
            try:
                thread_id = parse_uuid(msg.thread_id)
            except UuidError as exc:
                raise InvalidRequest(f"invalid thread id: {exc}") from None
            # Chamberlain hosts no threads (spec §10.2 is out of its scope), so none is loaded.
            raise InvalidRequest(f"thread not found: {thread_id}")
        total = len(REGISTRY)
        start = 0
        if msg.cursor is not None:
            parsed = _parse_usize(msg.cursor)
            if parsed is None:
                raise InvalidRequest(f"invalid cursor: {msg.cursor}")
            start = parsed
            if start > total:
                raise InvalidRequest(f"cursor {start} exceeds total feature flags {total}")
        end = total if msg.limit is None else min(total, start + max(msg.limit, 1))
        states = self.store.feature_states(self.runtime, cwd)
        data = [
            wire.ExperimentalFeature(
                f.name, f.stage, f.display_name, f.description, f.announcement, states[f.name], f.default_enabled
            )
            for f in REGISTRY[start:end]
        ]
        return wire.ExperimentalFeatureListResponse(data, str(end) if end < total else None)

    def _set_enablement(self, enablement: Mapping[str, bool]) -> wire.ExperimentalFeatureEnablementSetResponse:
        accepted = {k: v for k, v in sorted(enablement.items()) if k in _RUNTIME}
        ignored = sorted(set(enablement) - set(accepted))
        if ignored:
            logger.info("experimentalFeature/enablement/set ignored unsupported keys: %s", ", ".join(ignored))
        if accepted:
            self.runtime = {**self.runtime, **accepted}
        return wire.ExperimentalFeatureEnablementSetResponse(accepted)

    def _warnings(self) -> list[StartupWarning]:
        try:
            return self.store.warnings()
        except Exception:
            logger.exception("could not compute configuration warnings")
            return []


def _parse_usize(text: str) -> int | None:
    """Rust's ``usize::from_str``: optional '+', ASCII digits only."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)


def _snake(d: Mapping[str, Any]) -> dict[str, Any]:
    return {"message": d["message"], "overriding_layer": d["overridingLayer"], "effective_value": d["effectiveValue"]}
