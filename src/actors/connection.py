"""ConnectionActor: one per client. Maps JSON-RPC frames to messages for the other actors and their
answers back to frames, keeping the handshake state of its connection (spec §1, §2).

Requests are handled in arrival order: each is decoded, its route looked up (``actors/routes.py``),
checked against the handshake gate and handed to the owning actor with ``send_nowait`` (a full
inbox, or ``MAX_IN_FLIGHT`` requests of this connection unanswered, is ``-32001`` at once). When
the owner gives its ``Reply``, a callback queues the response on the connection's outbox
(``outbox.py``; a task waits for room only when it is full), so a pipelining client is served
without waiting for each reply. While the outbox is full the connection reads nothing more from
its client (stdio blocks); a WebSocket or unix client whose outbox stays full is disconnected as
slow (``SLOW_CLIENT_S``). A slow client only ever stalls itself.
Client responses go to the connection's table of server -> client requests (``pending.py``).

Stopping (end of input, or ``stop()``) is graceful: reading stops, every request already received
is answered and written, then the actor returns — within ``STOP_GRACE_S``.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, final

import trio
from chamberlain.actors import config_actor as ca
from chamberlain.actors.auth_messages import ClientInitialized
from chamberlain.actors.caller import DEFAULT_ORIGINATOR, Caller
from chamberlain.actors.outbox import OUTBOX_SIZE, SLOW_CLIENT_S, Outbox
from chamberlain.actors.pending import PendingRequests
from chamberlain.actors.reply import Reply
from chamberlain.actors.routes import ROUTES, EchoExperimental, Initialize, LocalMsg, Route
from chamberlain.errors import ChamberlainError, InvalidRequest, Overloaded
from chamberlain.protocol import messages as wire
from chamberlain.protocol import results as res
from chamberlain.protocol.codec import (
    NotAMessage,
    Notification,
    Request,
    RequestId,
    Response,
    classify,
    encode_notification,
    encode_result,
)
from chamberlain.protocol.edge import error_frame, map_exceptions
from chamberlain.protocol.methods import EXPERIMENTAL_METHODS, REFERENCE_METHODS, unknown_method_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chamberlain.actors.hub import Hub
    from chamberlain.actors.reply import Answer
    from chamberlain.store.ops import StartupWarning

__all__ = [
    "MAX_IN_FLIGHT", "OUTBOX_SIZE", "SLOW_CLIENT_S", "STOP_GRACE_S", "ConnectionActor", "FrameTransport", "ServerInfo",
]

logger = logging.getLogger(__name__)

#: Requests of one connection awaiting an answer before new ones get ``-32001``.
MAX_IN_FLIGHT: Final = 128
#: Seconds a stopping connection has to answer what it received and write it out.
STOP_GRACE_S: Final = 10.0
_REFERENCE: Final = frozenset(REFERENCE_METHODS)


class FrameTransport(Protocol):
    """One JSON text per frame, both ways. ``receive_frame`` returns None at end of input. A
    transport whose class sets ``disconnects_slow_clients = True`` (WebSocket, unix socket) has
    its client disconnected when its outbox stays full; any other blocks (stdio)."""

    async def receive_frame(self) -> bytes | None: ...

    async def send_frame(self, frame: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What every connection reports; computed once per server."""

    codex_home: str
    user_agent_suffix: str  # "(<os> <version>; <arch>) <terminal>"
    server_version: str
    platform_family: str
    platform_os: str
    server_name: str
    installation_id: str


@final
class ConnectionActor:
    def __init__(
        self,
        transport: FrameTransport,
        info: ServerInfo,
        inboxes: Mapping[str, trio.MemorySendChannel[Any]],
        hub: Hub | None = None,
        label: str = "stdio",
        direct: Mapping[str, Callable[[Any], bool]] | None = None,
    ) -> None:
        """``inboxes`` maps a route owner (``"config"``) to that actor's inbox (a clone this
        connection owns and closes); ``direct`` to its ``serve_now`` (answer at once when idle,
        see ``ConfigActor.serve_now``), when it has one."""
        self.transport = transport
        self.info = info
        self.inboxes = inboxes
        self.direct = direct or {}
        self.hub = hub
        self.label = label
        self.initialized = False
        self.experimental_api = False
        self.opted_out: frozenset[str] = frozenset()
        self.pending = PendingRequests(label)
        default_agent = f"{DEFAULT_ORIGINATOR}/{info.server_version} {info.user_agent_suffix}"
        #: What actors learn of this connection; replaced at ``initialize``.
        self.caller = Caller(DEFAULT_ORIGINATOR, default_agent, False, self)
        self._in_flight = 0
        slow = SLOW_CLIENT_S if getattr(transport, "disconnects_slow_clients", False) else None
        self.outbox = Outbox(transport, label, slow_after=slow)
        self._drained: trio.Event | None = None  # set when the last in-flight request is answered
        self._stopping = False
        self._receive_scope: trio.CancelScope | None = None
        self._receiving = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the connection until its input ends or ``stop()``; then answer what was received
        (bounded by ``STOP_GRACE_S``). A broken transport ends it at once."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.outbox.run, nursery)
                nursery.start_soon(self.pending.run)
                try:
                    await self._serve(nursery, task_status)
                finally:
                    self.outbox.close()
                # The writer drains the outbox and returns; the whole stop shares one deadline.
        except* (trio.BrokenResourceError, trio.ClosedResourceError) as group:
            # The client went away (STYLE rule 10): not an error, and nothing else is affected.
            logger.debug("%s: connection closed: %r", self.label, group.exceptions[0])
        finally:
            self.pending.close()
            for inbox in self.inboxes.values():
                inbox.close()

    async def _serve(self, nursery: trio.Nursery, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as answers:
            self.outbox.later = answers  # tasks of answers waiting for outbox room
            with self._subscription():
                task_status.started()
                await self._read_loop()
                # No more client responses will be read: server -> client requests fail now.
                self.pending.close()
                deadline = trio.current_time() + STOP_GRACE_S
                answers.cancel_scope.deadline = deadline
                nursery.cancel_scope.deadline = deadline
                if self._in_flight:
                    self._drained = trio.Event()
                    await self._drained.wait()

    def _subscription(self) -> AbstractContextManager[None]:
        return self.hub.subscribe(self) if self.hub is not None else nullcontext()

    async def _read_loop(self) -> None:
        # One cancel scope for the whole loop (a scope per frame would cost on every request);
        # ``stop`` cancels it only while the loop waits for input, so a frame being dispatched
        # is never cut short.
        with trio.CancelScope() as self._receive_scope:
            while not self._stopping:
                self._receiving = True
                if self.outbox.full:  # the client is not reading: neither do we (stdio blocks)
                    await self.outbox.wait_room()
                frame = await self.transport.receive_frame()
                self._receiving = False
                if frame is None:
                    return
                if self._stopping:  # stopped while this frame was arriving: still serve it
                    with trio.CancelScope(shield=True, deadline=trio.current_time() + STOP_GRACE_S):
                        await self._on_frame(frame)
                    return
                await self._on_frame(frame)

    def stop(self) -> None:
        """Stop reading; what was received is still answered. Idempotent."""
        self._stopping = True
        if self._receiving and self._receive_scope is not None:
            self._receive_scope.cancel(reason="connection stopping")

    # -- input --------------------------------------------------------------------------------

    async def _on_frame(self, frame: bytes) -> None:
        match classify(frame):
            case Request() as req:
                try:
                    with map_exceptions(req.method):
                        await self._on_request(req)
                except ChamberlainError as exc:
                    await self._send(error_frame(req.id, exc))
            case Notification(method=method):
                if method != "initialized":
                    logger.debug("%s: ignoring client notification %s", self.label, method)
            case Response() as response:
                self.pending.resolve(response)
            case NotAMessage(reason=reason):
                logger.warning("Failed to deserialize JSONRPCMessage: %s", reason)

    async def _on_request(self, req: Request) -> None:
        route = ROUTES.get(req.method)
        if route is None:
            raise self._no_route(req.method)
        params = route.decode(req.params)
        if route.needs_initialize:
            self._gate(route)
        msg = route.build(params, self.caller)
        match msg:
            case Initialize() | EchoExperimental():
                await self._local(req.id, msg)
            case _ if route.owner not in self.inboxes:  # a server run without that actor
                raise InvalidRequest(f"Invalid request: `{req.method}` is not served by this server (Chamberlain)")
            case _:
                frame = self._submit(req.id, route.owner, msg, msg.reply)
                if frame is not None:
                    await self._write_now(req.id, frame)

    def _gate(self, route: Route[Any]) -> None:
        if not self.initialized:
            raise InvalidRequest("Not initialized")
        if route.experimental and not self.experimental_api:
            raise InvalidRequest(f"{route.method} requires experimentalApi capability")

    def _no_route(self, method: str) -> ChamberlainError:
        if method not in _REFERENCE:
            return InvalidRequest(f"Invalid request: {unknown_method_text(method)}")
        if not self.initialized:
            return InvalidRequest("Not initialized")
        if method in EXPERIMENTAL_METHODS and not self.experimental_api:
            return InvalidRequest(f"{method} requires experimentalApi capability")
        return InvalidRequest(f"Invalid request: `{method}` is not served by this server (Chamberlain)")

    def _submit(self, request_id: RequestId, owner: str, msg: Any, reply: Answer[res.WireResult]) -> bytes | None:
        """Hand a request to its owner without waiting; Overloaded when it cannot queue. When the
        owner is idle it answers at once (``serve_now``): then the answer frame is returned."""
        if self._in_flight >= MAX_IN_FLIGHT:
            raise Overloaded()
        serve_now = self.direct.get(owner)
        # Only with nothing of ours in flight: an answer is never written before an earlier one.
        if not self._in_flight and serve_now is not None and serve_now(msg):
            return self._frame_of(request_id, reply)
        try:
            self.inboxes[owner].send_nowait(msg)
        except trio.WouldBlock:
            raise Overloaded() from None
        self._in_flight += 1
        reply.on_done(lambda: self._answered(request_id, reply))
        return None

    @staticmethod
    def _frame_of(request_id: RequestId, reply: Answer[res.WireResult]) -> bytes:
        try:
            with map_exceptions("answer"):
                return encode_result(request_id, reply.result())
        except ChamberlainError as exc:
            return error_frame(request_id, exc)

    def _answered(self, request_id: RequestId, reply: Answer[res.WireResult]) -> None:
        """Runs in the owner's task as it answers: queue the response (a task waits for room
        only when the outbox is full). Never raises into the owner."""
        frame = self._frame_of(request_id, reply)
        self._in_flight -= 1
        if self._in_flight == 0 and self._drained is not None:
            self._drained.set()
        self._queue(request_id, frame)

    async def _write_now(self, request_id: RequestId, frame: bytes) -> None:
        """An answer made in this task: written here when nothing is queued or being written
        (sparing the writer task a wake-up per request), else queued behind what is."""
        if not await self.outbox.write_direct(frame):
            self._queue(request_id, frame)

    def _queue(self, request_id: RequestId, frame: bytes) -> None:
        """Queue a response; a task waits for room only when the outbox is full."""
        if not self.outbox.put_soon(frame):
            logger.debug("%s: connection closed before the answer to %r", self.label, request_id)

    # -- what the connection answers itself ----------------------------------------------------

    async def _local(self, request_id: RequestId, msg: LocalMsg) -> None:
        match msg:
            case Initialize(params=params):
                await self._initialize(request_id, params)
            case EchoExperimental(value=value):
                await self._send(encode_result(request_id, res.MockExperimentalMethodResponse(value)))

    async def _initialize(self, request_id: RequestId, params: wire.InitializeParams) -> None:
        if self.initialized:
            raise InvalidRequest("Already initialized")
        caps = params.capabilities
        if caps is not None:
            self.experimental_api = caps.experimental_api
            self.opted_out = frozenset(caps.opt_out_notification_methods or ())
        client = params.client_info
        info = self.info
        user_agent = (
            f"{client.name}/{info.server_version} {info.user_agent_suffix} ({client.name}; {client.version})"
        )
        self.caller = Caller(client.name, user_agent, self.experimental_api, self)
        self.initialized = True
        await self._send(
            encode_result(
                request_id,
                res.InitializeResponse(user_agent, info.codex_home, info.platform_family, info.platform_os),
            )
        )
        # Inline, before the next frame is read: the startup notifications follow the initialize
        # response and precede the answer to any later request, as on the reference. The
        # warnings are computed off the event loop (the ConfigActor runs them in a thread), so the
        # writer sends the initialize response meanwhile.
        await self._startup_notifications()

    async def _startup_notifications(self) -> None:
        reply: Reply[list[StartupWarning]] = Reply()
        try:  # not a request: it waits for room in a full inbox (§11.6), only this connection waits
            await _put(self.inboxes["config"], ca.GetWarnings(reply))
            warnings = await reply.wait()
        except (trio.ClosedResourceError, trio.BrokenResourceError, ChamberlainError) as exc:
            logger.warning("could not compute configuration warnings: %r", exc)
            warnings = []
        for w in warnings:
            await self.notify("configWarning", res.config_warning(w))
        auth = self.inboxes.get("auth")
        if auth is not None:  # stored ChatGPT credentials: account/updated once routing is known
            with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
                await _put(auth, ClientInitialized(self.caller))
        info = self.info
        await self.notify(
            "remoteControl/status/changed",
            wire.RemoteControlStatusParams("disabled", info.server_name, info.installation_id, None),
        )

    # -- server -> client requests -------------------------------------------------------------

    async def request_client(self, method: str, params: Any, *, deadline: float) -> Reply[Response]:
        """Send a server -> client request; the reply gives the client's Response, or fails with
        ClientRequestTimedOut at ``deadline`` (trio clock) or ClientGone when the connection ends."""
        frame, reply = self.pending.begin(method, params, deadline=deadline)
        await self._send(frame)
        return reply

    # -- output -------------------------------------------------------------------------------

    def wants(self, method: str) -> bool:
        return self.initialized and method not in self.opted_out

    def offer(self, frame: bytes) -> bool:
        """A broadcast: queued without waiting. When the outbox is full, a connection that
        disconnects slow clients keeps it waiting for room (the client gets every notification
        or is disconnected); stdio misses it (False)."""
        if self.outbox.put_nowait(frame):
            return True
        return self.outbox.slow_disconnect and self.outbox.put_soon(frame)

    async def notify(self, method: str, params: Any) -> None:
        if self.wants(method):
            await self._send(encode_notification(method, params))

    async def _send(self, frame: bytes) -> None:
        """Queue a frame; waits only while the outbox is full."""
        await self.outbox.put(frame)


async def _put(inbox: trio.MemorySendChannel[Any], msg: Any) -> None:
    """Queue ``msg`` at once when there is room (no yield, as ``send`` would), else wait for room."""
    try:
        inbox.send_nowait(msg)
    except trio.WouldBlock:
        await inbox.send(msg)
