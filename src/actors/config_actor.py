"""ConfigActor: owns the config store, its file lock, the version and the runtime feature
enablement; resolves new threads' layers for the ThreadRegistryActor and hot-reloads its loaded
threads after a reloading write or an effective enablement change (spec §10.1). One task
serves its inbox, so config operations are serialised in arrival order; writes and the
startup warnings run in a worker thread (fsync, flock, first imports) while the actor waits,
never half-done on cancel.

The actor answers with domain values turned into wire Structs by ``protocol/results.py``; an
exception is handed to the requester as is (``Reply.fail``) and mapped to JSON-RPC at the edge.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, final

import msgspec
import trio
from chamberlain.actors import thread_registry as tr
from chamberlain.actors.lazy import lazy_module
from chamberlain.actors.reply import Reply
from chamberlain.errors import ChamberlainError, ConfigModelError, InternalError, InvalidRequest
from chamberlain.protocol import models as mdl
from chamberlain.protocol import results as res
from chamberlain.protocol.paging import next_cursor, offset_page
from chamberlain.protocol.uuidtext import UuidError, parse_uuid
from chamberlain.store.features import REGISTRY, RUNTIME_KEYS
from chamberlain.store.ops import Edit, StartupWarning
from msgspec import Struct

if TYPE_CHECKING:
    from collections.abc import Callable

    from chamberlain.actors import thread_config as tcfg
    from chamberlain.store.config_store import ConfigStore
else:  # loaded at the first thread request: its import stays off the start-up
    tcfg = lazy_module("chamberlain.actors.thread_config")

__all__ = [
    "INBOX_SIZE",
    "ConfigActor",
    "ConfigMsg",
    "ConfigRequest",
    "GetWarnings",
    "ListFeatures",
    "ListModels",
    "ReadConfig",
    "ReadEffective",
    "ReadRequirements",
    "ReloadMcpServers",
    "ResolveThread",
    "SetEnablement",
    "WriteConfig",
]

logger = logging.getLogger(__name__)

#: Messages the actor may have queued before senders are told the server is overloaded.
INBOX_SIZE: Final = 128
#: Encoded answers (config/read, requirements, feature pages) kept before the cache is cleared.
READ_CACHE_ENTRIES: Final = 64
_RUNTIME: Final = frozenset(RUNTIME_KEYS)
_ENC: Final = msgspec.json.Encoder()


class ReadConfig(Struct, frozen=True):
    cwd: str | None
    include_layers: bool
    reply: Reply[msgspec.Raw]


class WriteConfig(Struct, frozen=True):
    edits: tuple[Edit, ...]
    file_path: str | None
    expected_version: str | None
    reload_user_config: bool
    reply: Reply[res.ConfigWriteResponse]
    #: refuse (write nothing) when a higher layer would override an edited key, as the
    #: reference's own provider edits do (an Amazon Bedrock login)
    refuse_overridden: bool = False


class ReadRequirements(Struct, frozen=True):
    reply: Reply[msgspec.Raw]


class ListFeatures(Struct, frozen=True):
    cursor: str | None
    limit: int | None
    thread_id: str | None
    reply: Reply[msgspec.Raw]


class ListModels(Struct, frozen=True):
    params: mdl.ModelListParams
    reply: Reply[mdl.ModelListResponse]


class SetEnablement(Struct, frozen=True):
    enablement: dict[str, bool]
    reply: Reply[res.ExperimentalFeatureEnablementSetResponse]


class ReloadMcpServers(Struct, frozen=True):
    reply: Reply[res.EmptyResult]


class GetWarnings(Struct, frozen=True):
    reply: Reply[list[StartupWarning]]


class ReadEffective(Struct, frozen=True):
    """The effective config without a cwd (the ``config`` of config/read), for other actors."""

    reply: Reply[dict[str, Any]]


class ResolveThread(Struct, frozen=True):
    """From the ThreadRegistryActor: a new thread's layers and snapshot for ``cwd`` (absolute)."""

    cwd: str
    overrides: dict[str, Any] | None
    reply: Reply[tcfg.ThreadConfig]


#: The messages a client request becomes (see ``actors/routes.py``).
ConfigRequest = (
    ReadConfig | WriteConfig | ReadRequirements | ListFeatures | SetEnablement | ReloadMcpServers | ListModels
)
ConfigMsg = ConfigRequest | GetWarnings | ReadEffective | ResolveThread
#: Seconds the actor waits for the registry's answer to a reload beyond the registry's own deadline.
RELOAD_GRACE_S: Final = 1.0


@final
class ConfigActor:
    def __init__(self, store: Callable[[], ConfigStore]) -> None:
        """``store`` makes (or returns) the server's ConfigStore; it is first called for the first
        message, so start-up does not pay for importing the store."""
        self._make_store = store
        self._store: ConfigStore | None = None
        #: values set by experimentalFeature/enablement/set: process-wide, never written to disk.
        self.runtime: Mapping[str, bool] = {}
        self._runtime_key: tuple[tuple[str, bool], ...] = ()
        self._encoded: dict[tuple[Any, ...], msgspec.Raw] = {}  # encoded answers by content key
        self._inbox: trio.MemoryReceiveChannel[ConfigMsg] | None = None
        self._effective_cache: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        #: the ThreadRegistryActor's inbox (a clone this actor closes), once attached
        self._threads: trio.MemorySendChannel[tr.ThreadMsg] | None = None
        self._reload_wait_s = tr.RELOAD_DEADLINE_S + RELOAD_GRACE_S
        #: the model provider and ``[model_providers]`` names the server started with (model/list)
        self._start_providers: tuple[str, frozenset[str]] | None = None

    def attach_threads(self, inbox: trio.MemorySendChannel[tr.ThreadMsg], reload_deadline_s: float) -> None:
        """Hot reloads (§10.1) and ``threadId`` lookups go to this registry inbox (owned here)."""
        self._threads = inbox
        self._reload_wait_s = reload_deadline_s + RELOAD_GRACE_S

    @property
    def store(self) -> ConfigStore:
        if self._store is None:
            self._store = self._make_store()
        return self._store

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[ConfigMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[ConfigMsg](INBOX_SIZE)
        try:
            async with receive:
                self._inbox = receive
                task_status.started(send)
                async for msg in receive:
                    try:
                        await self._handle(msg)
                    except Exception as exc:  # the requester's edge maps it; the actor serves on
                        msg.reply.fail(exc)
        finally:
            self._inbox = None
            if self._threads is not None:
                self._threads.close()

    def serve_now(self, msg: ConfigMsg) -> bool:
        """Answer ``msg`` at once, in the caller's task, when the actor is idle — parked on an
        empty inbox, so nothing sent before ``msg`` is still unanswered — and ``msg`` is one of
        the requests answered without waiting (not a write, not the warnings). Then the actor
        would have done exactly this next; doing it here saves the hop to its task and back
        (the profile of a config/read showed that hop as a third of its CPU). False: send it."""
        inbox = self._inbox
        if inbox is None or isinstance(msg, WriteConfig | GetWarnings | ResolveThread | SetEnablement):
            return False
        if isinstance(msg, ListFeatures) and msg.thread_id is not None:  # asks the registry
            return False
        if inbox.statistics().tasks_waiting_receive == 0:  # busy, or handed a message not yet run
            return False
        try:
            self._answer(msg)
        except Exception as exc:
            msg.reply.fail(exc)
        return True

    async def _handle(self, msg: ConfigMsg) -> None:
        match msg:
            case WriteConfig():
                outcome = await trio.to_thread.run_sync(
                    self.store.write, msg.edits, msg.file_path, msg.expected_version, msg.refuse_overridden
                )
                if msg.reload_user_config:
                    await self._reload_threads()
                msg.reply.set(res.write_result(outcome))
            case GetWarnings():
                cached = self._store.warnings_if_unchanged() if self._store is not None else None
                msg.reply.set(cached if cached is not None else await trio.to_thread.run_sync(self._warnings))
            case ResolveThread():
                msg.reply.set(tcfg.resolve(self.store, msg.cwd, msg.overrides, self.runtime))
            case SetEnablement():
                answer = self._set_enablement(msg.enablement)
                if answer.enablement:  # effective: every loaded thread is reloaded (§7.2)
                    await self._reload_threads()
                msg.reply.set(answer)
            case ListFeatures(thread_id=str() as thread_id):
                cwd, overrides = await self._thread_origin(thread_id)
                states = tcfg.feature_states(self.store, cwd, overrides, self.runtime)
                msg.reply.set(msgspec.Raw(_ENC.encode(self._feature_page(msg, states))))
            case _:
                self._answer(msg)

    # -- loaded threads (§10) --------------------------------------------------------------------

    async def _reload_threads(self) -> None:
        """Hand the fresh user layer and runtime enablement to every loaded thread and wait (up
        to the registry's deadline). Failures are logged and swallowed: the write succeeded."""
        threads = self._threads
        if threads is None:
            return
        try:
            user = self.store.prepare_read(None).stack.user
            reply: Reply[tr.ReloadOutcome] = Reply()
            with trio.move_on_after(self._reload_wait_s) as scope:
                await threads.send(tr.ReloadThreads(user, dict(self.runtime), reply))
                outcome = await reply.wait()
                logger.debug("hot reload: %s", outcome)
            if scope.cancelled_caught:
                logger.warning("hot reload: the thread registry did not answer in time")
        except (ChamberlainError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.warning("hot reload of loaded threads failed: %s", exc)
        except Exception:  # logged and swallowed: the write itself succeeded (§10.1)
            logger.exception("hot reload of loaded threads failed")

    async def _thread_origin(self, text: str) -> tuple[str, Mapping[str, Any] | None]:
        try:
            thread_id = parse_uuid(text)
        except UuidError as exc:
            raise InvalidRequest(f"invalid thread id: {exc}") from None
        origin = None
        if self._threads is not None:
            reply: Reply[tuple[str, Mapping[str, Any] | None] | None] = Reply()
            await self._threads.send(tr.LookupThread(thread_id, reply))
            origin = await reply.wait()
        if origin is None:
            raise InvalidRequest(f"thread not found: {thread_id}")
        return origin

    def _answer(
        self, msg: ReadConfig | ReadRequirements | ListFeatures | ReloadMcpServers | ReadEffective | ListModels
    ) -> None:
        match msg:
            case ListModels():
                default, configured = self._providers_at_start()
                msg.reply.set(mdl.model_page(msg.params, default, configured))
            case ReadEffective():
                msg.reply.set(self._effective())
            case ReadConfig():
                msg.reply.set(self._read(msg))
            case ReadRequirements():
                msg.reply.set(self._requirements())
            case ListFeatures():
                msg.reply.set(self._list_features(msg))
            case ReloadMcpServers():
                # Re-reads the configuration as the reference does (its errors are the client's
                # to see). No MCP servers run inside Chamberlain (its threads have no turns), so
                # there is nothing more to refresh.
                self.store.check_loadable("failed to refresh MCP servers")
                msg.reply.set(res.EmptyResult())

    def _read(self, msg: ReadConfig) -> msgspec.Raw:
        """The encoded config/read result, from the cache while no file, requirement or runtime
        flag changed (a hit costs the ``stat`` calls of ``prepare_read``)."""
        prepared = self.store.prepare_read(msg.cwd)
        key = ("read", prepared.key, msg.include_layers, self._runtime_key)
        hit = self._encoded.get(key)
        if hit is None:
            config = None
            if msg.cwd is None:  # the effective config other actors asked for, when it is the same
                cached = self._effective_cache
                if cached is not None and cached[0] == (prepared.key, self._runtime_key):
                    config = cached[1]
            view = self.store.read(prepared, msg.include_layers, self.runtime, config)
            if msg.cwd is None:
                self._effective_cache = ((prepared.key, self._runtime_key), view.config)
            hit = self._remember(key, res.config_read_result(view))
        return hit

    def _effective(self) -> dict[str, Any]:
        """The effective config (cached while no file, requirement or runtime flag changed)."""
        prepared = self.store.prepare_read(None)
        key = (prepared.key, self._runtime_key)
        if self._effective_cache is None or self._effective_cache[0] != key:
            config = self.store.effective(prepared.stack, prepared.reqs, self.runtime)
            self._effective_cache = (key, config)
        return self._effective_cache[1]

    def _requirements(self) -> msgspec.Raw:
        """configRequirements/read, encoded once per content of the files (as ``_read``)."""
        prepared = self.store.prepare_read(None)
        key = ("requirements", prepared.key)
        hit = self._encoded.get(key)
        if hit is None:
            wire = self.store.read_requirements(prepared)
            hit = self._remember(key, res.ConfigRequirementsReadResponse(True, wire))
        return hit

    def _remember(self, key: tuple[Any, ...], result: res.WireResult) -> msgspec.Raw:
        encoded = msgspec.Raw(_ENC.encode(result))
        if len(self._encoded) >= READ_CACHE_ENTRIES:
            self._encoded.clear()
        self._encoded[key] = encoded
        return encoded

    def _list_features(self, msg: ListFeatures) -> msgspec.Raw:
        try:
            prepared = self.store.prepare_read(None)
        except InternalError:  # the session check below words this failure
            return msgspec.Raw(_ENC.encode(self._feature_page(msg)))
        # Only answers are cached: an equal key had passed the session check and the cursor.
        key = ("features", prepared.key, self._runtime_key, msg.cursor, msg.limit)
        hit = self._encoded.get(key)
        if hit is None:
            hit = self._remember(key, self._feature_page(msg))
        return hit

    def _feature_page(
        self, msg: ListFeatures, states: Mapping[str, bool] | None = None
    ) -> res.ExperimentalFeatureListResponse:
        """A page of the feature list; ``states``: a loaded thread's enablement (computed from
        the config re-read for its cwd, project layers and overrides included, §7.1) instead of
        the thread-agnostic one."""
        # The reference builds the session's config before it looks at the cursor.
        self.store.check_session("failed to reload config", self.runtime)
        total = len(REGISTRY)
        start, end = offset_page(msg.cursor, msg.limit, total, "feature flags")
        if states is None:
            states = self.store.feature_states(self.runtime, None)
        data = [
            res.ExperimentalFeature(
                f.name, f.stage, f.display_name, f.description, f.announcement, states[f.name], f.default_enabled
            )
            for f in REGISTRY[start:end]
        ]
        return res.ExperimentalFeatureListResponse(data, next_cursor(end, total))

    def _set_enablement(self, enablement: Mapping[str, bool]) -> res.ExperimentalFeatureEnablementSetResponse:
        accepted = {k: v for k, v in sorted(enablement.items()) if k in _RUNTIME}
        ignored = sorted(set(enablement) - set(accepted))
        if ignored:
            logger.info("experimentalFeature/enablement/set ignored unsupported keys: %s", ", ".join(ignored))
        if accepted:
            self.store.check_session("failed to resolve feature override precedence", self.runtime)
            self.runtime = {**self.runtime, **accepted}
            self._runtime_key = tuple(sorted(self.runtime.items()))
        return res.ExperimentalFeatureEnablementSetResponse(accepted)

    def _providers_at_start(self) -> tuple[str, frozenset[str]]:
        """The model provider and configured provider names of the config as it was first read —
        for the reference, at start; here at the first client's initialize (or model/list). A
        config that does not load then gives the defaults, as the reference starts with them."""
        if self._start_providers is None:
            try:
                self.store.check_session("failed to load configuration", self.runtime)
                config = self._effective()
                self._start_providers = (
                    config.get("model_provider") or mdl.DEFAULT_PROVIDER,
                    frozenset(config.get("model_providers") or ()),
                )
            except (ChamberlainError, ConfigModelError):
                self._start_providers = (mdl.DEFAULT_PROVIDER, frozenset())
        return self._start_providers

    def _warnings(self) -> list[StartupWarning]:
        """Runs in a worker thread while the actor waits (the first call also imports the store
        and reads the model providers the server starts with)."""
        try:
            self._providers_at_start()
        except Exception:
            logger.exception("could not read the model providers of the configuration")
        try:
            return self.store.warnings()
        except Exception:
            logger.exception("could not compute configuration warnings")
            return []
