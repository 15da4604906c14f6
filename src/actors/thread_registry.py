"""ThreadRegistryActor: owns the loaded threads of one server (spec config.md §10).

A thread is its id (UUIDv7), cwd, layer stack and effective-config snapshot, plus the session
settings resolved at ``thread/start``; there is no model traffic. The actor serves its inbox in
one task; starting a thread asks the ConfigActor (the owner of the config files) for the layers
in a child task, so this actor never waits on the ConfigActor in its loop — the ConfigActor waits
on it during a hot reload (``ReloadThreads``) and may ask it for a thread's cwd (``LookupThread``).

Hot reload replaces only the user layer (and the runtime feature enablement) of every loaded
thread, at most ``RELOAD_CONCURRENCY`` at a time and within ``RELOAD_DEADLINE_S``: a thread not
reloaded by then keeps its snapshot (logged); failures are logged and swallowed.
"""

from __future__ import annotations

import bisect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import msgspec
import trio
from chamberlain.actors import config_actor as ca
from chamberlain.actors.lazy import lazy_module
from chamberlain.actors.reply import Reply
from chamberlain.errors import ChamberlainError, ConfigModelError, InternalError, InvalidRequest
from chamberlain.protocol import results as res
from chamberlain.protocol import thread as wt
from chamberlain.protocol.decode import ParamsError, decode_value
from chamberlain.protocol.uuidtext import UuidError, parse_uuid
from chamberlain.serde_text import invalid_type
from chamberlain.store.ops import ConfigView
from msgspec import Struct

if TYPE_CHECKING:
    from chamberlain.actors import thread_config as tcfg
    from chamberlain.actors.caller import Caller
    from chamberlain.actors.hub import Hub
    from chamberlain.store.config_store import ConfigStore
    from chamberlain.store.layers import Layer
else:  # loaded at the first thread request: its import stays off the start-up
    tcfg = lazy_module("chamberlain.actors.thread_config")

__all__ = [
    "INBOX_SIZE",
    "RELOAD_CONCURRENCY",
    "RELOAD_DEADLINE_S",
    "ListLoaded",
    "LookupThread",
    "ReadThread",
    "ReadThreadConfig",
    "ReloadOutcome",
    "ReloadThreads",
    "StartThread",
    "ThreadMsg",
    "ThreadRegistryActor",
    "ThreadRequest",
]

logger = logging.getLogger(__name__)

INBOX_SIZE: Final = 128
#: Threads re-derived at the same time during a hot reload.
RELOAD_CONCURRENCY: Final = 16
#: Seconds a hot reload may take before the write is answered anyway.
RELOAD_DEADLINE_S: Final = 5.0
#: thread/start requests resolving their config at the same time (each holds a ConfigActor slot).
MAX_STARTING: Final = 64


class StartThread(Struct, frozen=True):
    request: tcfg.StartRequest
    caller: Caller
    reply: Reply[wt.ThreadStartResponse]


class ReadThread(Struct, frozen=True):
    thread_id: str
    include_turns: bool
    reply: Reply[wt.ThreadReadResponse]


class ListLoaded(Struct, frozen=True):
    cursor: str | None
    limit: int | None
    reply: Reply[wt.LoadedListResponse]


class ReadThreadConfig(Struct, frozen=True):
    """chamberlain/thread/effectiveConfig: the thread's current snapshot, config/read-shaped."""

    thread_id: str
    reply: Reply[msgspec.Raw]


class LookupThread(Struct, frozen=True):
    """From the ConfigActor: a loaded thread's cwd and thread/start overrides (None: not loaded).
    ``thread_id`` is parsed already."""

    thread_id: str
    reply: Reply[tuple[str, Mapping[str, Any] | None] | None]


class ReloadThreads(Struct, frozen=True):
    """From the ConfigActor after a reloading write: the fresh user layer and runtime enablement."""

    user: Layer
    runtime: Mapping[str, bool]
    reply: Reply[ReloadOutcome]


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    reloaded: int
    failed: int
    timed_out: int


ThreadRequest = StartThread | ReadThread | ListLoaded | ReadThreadConfig
ThreadMsg = ThreadRequest | LookupThread | ReloadThreads
#: Re-derives one thread for a reload; replaceable to observe concurrency and the deadline.
ReloadStep = Callable[["tcfg.LoadedThread", "Layer", Mapping[str, bool]], Awaitable[None]]
_ENC: Final = msgspec.json.Encoder()
METHOD_NOT_FOUND: Final = -32601
#: Experimental thread/start members Chamberlain serves (the others shape turns).
_SERVED_EXPERIMENTAL: Final = frozenset({"dynamicTools", "historyMode", "mockExperimentalField", "permissions"})


class NotSupportedYet(ChamberlainError):
    """The reference's ``-32601`` for a thread operation it has not implemented."""

    code = METHOD_NOT_FOUND


def _thread_id(text: str) -> str:
    try:
        return parse_uuid(text)
    except UuidError as exc:
        raise InvalidRequest(f"invalid thread id: {exc}") from None


@final
class ThreadRegistryActor:
    def __init__(
        self,
        codex_home: Path,
        config_inbox: trio.MemorySendChannel[ca.ConfigMsg],
        store: Callable[[], ConfigStore],
        hub: Hub | None = None,
        *,
        reload_concurrency: int = RELOAD_CONCURRENCY,
        reload_deadline_s: float = RELOAD_DEADLINE_S,
        reload_step: ReloadStep | None = None,
    ) -> None:
        """``config_inbox``: a clone this actor owns; ``store``: the server's store maker (only its
        pure ``effective`` is used here)."""
        self.codex_home = codex_home
        self._config = config_inbox
        self._store = store
        self._hub = hub
        self.reload_concurrency = reload_concurrency
        self.reload_deadline_s = reload_deadline_s
        self._reload_step: ReloadStep = reload_step or self.reload_one
        self._threads: dict[str, tcfg.LoadedThread] = {}
        self._ids: list[str] = []  # sorted
        self._last_id: str | None = None
        self._starting = trio.CapacityLimiter(MAX_STARTING)

    async def run(
        self, *, task_status: trio.TaskStatus[trio.MemorySendChannel[ThreadMsg]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        send, receive = trio.open_memory_channel[ThreadMsg](INBOX_SIZE)
        with self._config:
            async with trio.open_nursery() as starts, receive:
                task_status.started(send)
                async for msg in receive:
                    try:
                        await self._handle(msg, starts)
                    except Exception as exc:  # the requester's edge maps it; the actor serves on
                        msg.reply.fail(exc)
                starts.cancel_scope.cancel(reason="thread registry inbox closed")

    async def _handle(self, msg: ThreadMsg, starts: trio.Nursery) -> None:
        match msg:
            case StartThread():
                starts.start_soon(self._start, msg)
            case ReadThread():
                msg.reply.set(wt.read_result(self._readable(msg.thread_id, msg.include_turns)))
            case ListLoaded():
                msg.reply.set(self._list(msg.cursor, msg.limit))
            case ReadThreadConfig():
                msg.reply.set(self._snapshot(self._loaded(msg.thread_id)))
            case LookupThread():
                thread = self._threads.get(msg.thread_id)
                msg.reply.set(None if thread is None else (thread.cwd, thread.overrides))
            case ReloadThreads():
                msg.reply.set(await self._reload_all(msg.user, msg.runtime))

    def loaded(self) -> list[tcfg.LoadedThread]:
        """The loaded threads in id order (for hosts and tests; the actor's task changes them)."""
        return [self._threads[i] for i in self._ids]

    def _loaded(self, text: str) -> tcfg.LoadedThread:
        thread_id = _thread_id(text)
        thread = self._threads.get(thread_id)
        if thread is None:
            raise InvalidRequest(f"thread not loaded: {thread_id}")
        return thread

    def _readable(self, text: str, include_turns: bool) -> tcfg.LoadedThread:
        thread = self._loaded(text)
        if include_turns and thread.ephemeral:
            raise InvalidRequest("ephemeral threads do not support includeTurns")
        if include_turns:  # the reference's answer for a thread that has had no turn
            raise NotSupportedYet("list_turns is not supported yet")
        return thread

    # -- thread/start ---------------------------------------------------------------------------

    async def _start(self, msg: StartThread) -> None:
        try:
            async with self._starting:
                thread = await self._new_thread(msg.request, msg.caller)
        except Exception as exc:
            msg.reply.fail(exc)
            return
        self._threads[thread.id] = thread
        bisect.insort(self._ids, thread.id)
        msg.reply.set(wt.start_result(thread))  # queues the response first
        # every initialized connection hears of the thread (as on the reference); its warning
        # goes to the one that started it
        if self._hub is not None:
            self._hub.publish("thread/started", wt.ThreadStartedNotification(wt.wire_thread(thread)))
        handle = msg.caller.handle
        if handle is None:
            return
        try:
            warning = tcfg.unknown_settings_message(thread.config)
            if warning is not None:
                await handle.notify("warning", wt.ThreadWarningNotification(warning, thread.id))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            logger.debug("%s: gone before its thread's warning", handle.label)

    async def _new_thread(self, req: tcfg.StartRequest, caller: Caller) -> tcfg.LoadedThread:
        reply: Reply[tcfg.ThreadConfig] = Reply()
        await self._config.send(ca.ResolveThread(req.cwd, None if req.config is None else dict(req.config), reply))
        config = await reply.wait()
        settings = tcfg.settings_of(req, config, self.codex_home)
        now = time.time()
        thread_id = tcfg.new_thread_id(now, self._last_id)
        self._last_id = thread_id
        path = None if req.ephemeral else tcfg.rollout_path(self.codex_home, thread_id, now)
        return tcfg.LoadedThread(
            thread_id, req.cwd, req.ephemeral, path, int(now), caller.originator, req.thread_source, settings, config,
            req.config, req.history_mode,
        )

    # -- thread/loaded/list ---------------------------------------------------------------------

    def _list(self, cursor: str | None, limit: int | None) -> wt.LoadedListResponse:
        start = 0
        if cursor is not None:
            try:
                after = parse_uuid(cursor)
            except UuidError:
                raise InvalidRequest(f"invalid cursor: {cursor}") from None
            start = bisect.bisect_right(self._ids, after)
        end = len(self._ids) if limit is None else min(len(self._ids), start + max(limit, 1))
        page = self._ids[start:end]
        more = end < len(self._ids)
        return wt.LoadedListResponse(page, page[-1] if more and page else None)

    # -- diagnostics ----------------------------------------------------------------------------

    @staticmethod
    def _snapshot(thread: tcfg.LoadedThread) -> msgspec.Raw:
        from chamberlain.store.layers import origins_of

        tc = thread.config
        origins = origins_of(tc.stack.layers, frozenset(tc.reqs.exact_pins))
        view = ConfigView(tc.effective, origins, [layer.view() for layer in tc.stack.layers])
        return msgspec.Raw(_ENC.encode(res.config_read_result(view)))

    # -- hot reload -----------------------------------------------------------------------------

    async def reload_one(self, thread: tcfg.LoadedThread, user: Layer, runtime: Mapping[str, bool]) -> None:
        """Replace the thread's user layer and re-derive its snapshot. Raises ConfigModelError."""
        thread.config = tcfg.reloaded(thread.config, user, runtime, self._store().effective)
        await trio.lowlevel.checkpoint()

    async def _reload_all(self, user: Layer, runtime: Mapping[str, bool]) -> ReloadOutcome:
        threads = list(self._threads.values())
        pending: Iterator[tcfg.LoadedThread] = iter(threads)
        counts = {"reloaded": 0, "failed": 0}

        async def worker() -> None:
            for thread in pending:  # shared: each thread is taken by one worker
                try:
                    await self._reload_step(thread, user, runtime)
                    counts["reloaded"] += 1
                except (ConfigModelError, InternalError, InvalidRequest) as exc:
                    counts["failed"] += 1
                    logger.warning("thread %s: hot reload failed, snapshot kept: %s", thread.id, exc)
                except Exception:  # one thread's failure must not cost the others their reload
                    counts["failed"] += 1
                    logger.exception("thread %s: hot reload failed, snapshot kept", thread.id)

        with trio.move_on_after(self.reload_deadline_s) as scope:
            async with trio.open_nursery() as nursery:
                for _ in range(min(self.reload_concurrency, len(threads))):
                    nursery.start_soon(worker)
        timed_out = len(threads) - counts["reloaded"] - counts["failed"]
        if scope.cancelled_caught:
            logger.warning("hot reload hit its %.1f s deadline: %d thread(s) keep their snapshot",
                           self.reload_deadline_s, timed_out)
        return ReloadOutcome(counts["reloaded"], counts["failed"], timed_out)


def start_request(p: wt.ThreadStartParams, experimental_api: bool, default_cwd: str) -> tcfg.StartRequest:
    """Check thread/start's params as the reference does (experimental members, the approval
    policy's variants) and resolve the cwd against the server's working directory."""
    for name in wt.EXPERIMENTAL_START_MEMBERS:
        value: Any = getattr(p, _snake(name))
        if not wt.unset_or_none(value) and not experimental_api:
            raise InvalidRequest(f"thread/start.{name} requires experimentalApi capability")
        if not wt.unset_or_none(value) and name not in _SERVED_EXPERIMENTAL:
            raise InvalidRequest(f"thread/start.{name} is not supported by this server (Chamberlain)")
    approval = None if wt.unset_or_none(p.approval_policy) else _approval(p.approval_policy, experimental_api)
    permissions = None if wt.unset_or_none(p.permissions) else p.permissions
    if permissions is not None and not isinstance(permissions, str):
        raise InvalidRequest(f"Invalid request: {invalid_type(permissions, 'a string')}")
    if permissions is not None and p.sandbox is not None:
        raise InvalidRequest("`permissions` cannot be combined with `sandbox`")
    if not wt.unset_or_none(p.dynamic_tools):
        _check_dynamic_tools(p.dynamic_tools)
    history = "paginated" if wt.unset_or_none(p.history_mode) else _history_mode(p.history_mode)
    cwd = os.path.abspath(os.path.join(default_cwd, p.cwd)) if p.cwd is not None else os.path.abspath(default_cwd)
    return tcfg.StartRequest(
        cwd=cwd, model=p.model, model_provider=p.model_provider, service_tier=p.service_tier,
        approval_policy=approval, approvals_reviewer=p.approvals_reviewer, sandbox=p.sandbox,
        config=p.config, ephemeral=bool(p.ephemeral), thread_source=p.thread_source, permissions=permissions,
        history_mode=history,
    )


def _history_mode(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"Invalid request: {invalid_type(value, 'string or map')}")
    if value not in wt.HISTORY_MODES:
        raise InvalidRequest(f"Invalid request: unknown variant `{value}`, expected `legacy` or `paginated`")
    return value


def _check_dynamic_tools(value: Any) -> None:
    """Decoded as the reference decodes them, then not kept: no turn runs here, so no tool of a
    thread is ever called (docs/decisions.md)."""
    if not isinstance(value, list):
        raise InvalidRequest(f"Invalid request: {invalid_type(value, 'a sequence')}")
    for tool in value:
        try:
            spec = decode_value(tool, wt.LegacyDynamicToolSpec)
        except ParamsError as exc:
            raise InvalidRequest(f"Invalid request: {exc}") from None
        namespace = spec.type == "namespace"
        if (spec.tools if namespace else spec.input_schema) is msgspec.UNSET:
            raise InvalidRequest(f"Invalid request: missing field `{'tools' if namespace else 'inputSchema'}`")


def _approval(value: Any, experimental_api: bool) -> Any:
    """AskForApproval, an externally tagged enum: a unit variant's name, or ``{"granular": {…}}``
    (experimental; echoed with its defaults filled in)."""
    variants = "`untrusted`, `on-request`, `granular`, `never`"
    if isinstance(value, str):
        if value not in tcfg.APPROVAL_POLICIES:
            raise InvalidRequest(f"Invalid request: unknown variant `{value}`, expected one of {variants}")
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidRequest(f"Invalid request: {invalid_type(value, 'string or map')}")
    ((name, body),) = value.items()
    if name != "granular":
        raise InvalidRequest(f"Invalid request: unknown variant `{name}`, expected one of {variants}")
    if not isinstance(body, dict):
        raise InvalidRequest(f"Invalid request: {invalid_type(body, 'struct variant')}")
    try:
        granular = decode_value(body, wt.GranularApproval)
    except ParamsError as exc:
        raise InvalidRequest(f"Invalid request: {exc}") from None
    if not experimental_api:
        raise InvalidRequest("askForApproval.granular requires experimentalApi capability")
    return {"granular": msgspec.to_builtins(granular)}


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
