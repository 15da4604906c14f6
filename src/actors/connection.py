"""ConnectionActor: one per client. Maps JSON-RPC frames to messages for the other actors and their
answers back to frames, keeping the handshake state of its connection (spec §1, §2).

Requests are handled in arrival order: each is decoded, checked against the handshake gate and
handed to the owning actor with ``send_nowait`` (a full inbox is ``-32001``); a small task per
request waits for the answer and queues the response, so a pipelining client is served without
waiting for each reply, and a slow client only stalls itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, final

import trio
from chamberlain.actors import config_actor as ca
from chamberlain.errors import ChamberlainError, InvalidRequest, Overloaded
from chamberlain.protocol import messages as wire
from chamberlain.protocol.codec import (
    NotAMessage,
    Notification,
    Request,
    RequestId,
    Response,
    classify,
    encode_error,
    encode_notification,
    encode_result,
)
from chamberlain.protocol.decode import ParamsError, decode_params, decode_unit_params
from chamberlain.protocol.methods import EXPERIMENTAL_METHODS, REFERENCE_METHODS, ROUTES, unknown_method_text
from chamberlain.store.ops import Edit

if TYPE_CHECKING:
    from chamberlain.store.ops import StartupWarning

__all__ = ["FrameTransport", "ServerInfo", "ConnectionActor", "OUTBOX_SIZE", "MAX_IN_FLIGHT"]

logger = logging.getLogger(__name__)

#: Frames queued for the client before the connection stops reading (stdio blocks, as the reference).
OUTBOX_SIZE: Final = 128
#: Requests of one connection awaiting an answer before new ones get ``-32001``.
MAX_IN_FLIGHT: Final = 128
_REFERENCE: Final = frozenset(REFERENCE_METHODS)


class FrameTransport(Protocol):
    """One JSON text per frame, both ways. ``receive_frame`` returns None at end of input."""

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
        config_inbox: trio.MemorySendChannel[ca.ConfigMsg],
        label: str = "stdio",
    ) -> None:
        self.transport = transport
        self.info = info
        self.config_inbox = config_inbox
        self.label = label
        self.initialized = False
        self.experimental_api = False
        self.opted_out: frozenset[str] = frozenset()
        self._in_flight = 0
        self._out: trio.MemorySendChannel[bytes] | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the connection until the client's input ends or the transport breaks."""
        send_out, receive_out = trio.open_memory_channel[bytes](OUTBOX_SIZE)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, receive_out, nursery.cancel_scope)
                task_status.started()
                with send_out, self.config_inbox:
                    self._out = send_out
                    while (frame := await self.transport.receive_frame()) is not None:
                        await self._on_frame(frame, nursery)
                nursery.cancel_scope.cancel(reason="client input ended")
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            logger.debug("%s: connection closed: %r", self.label, exc)

    async def _writer(self, receive_out: trio.MemoryReceiveChannel[bytes], scope: trio.CancelScope) -> None:
        async with receive_out:
            try:
                async for frame in receive_out:
                    await self.transport.send_frame(frame)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                logger.debug("%s: client went away while writing: %r", self.label, exc)
                scope.cancel(reason="client output closed")

    # -- input --------------------------------------------------------------------------------

    async def _on_frame(self, frame: bytes, nursery: trio.Nursery) -> None:
        match classify(frame):
            case Request() as req:
                await self._on_request(req, nursery)
            case Notification(method=method):
                if method != "initialized":
                    logger.debug("%s: ignoring client notification %s", self.label, method)
            case Response(id=rid):
                logger.debug("%s: ignoring response %r matching no server request", self.label, rid)
            case NotAMessage(reason=reason):
                logger.warning("Failed to deserialize JSONRPCMessage: %s", reason)

    async def _on_request(self, req: Request, nursery: trio.Nursery) -> None:
        route = ROUTES.get(req.method)
        if route is None:
            await self._send(self._no_route(req))
            return
        try:
            if route.params_type is None:
                decode_unit_params(req.params)
                params: Any = None
            else:
                params = decode_params(req.params, route.params_type)
        except ParamsError as exc:
            await self._error(req.id, InvalidRequest(f"Invalid request: {exc}"))
            return
        if req.method == "initialize":
            await self._initialize(req.id, params)
            return
        if not self.initialized:
            await self._error(req.id, InvalidRequest("Not initialized"))
            return
        if route.experimental and not self.experimental_api:
            await self._error(req.id, InvalidRequest(f"{req.method} requires experimentalApi capability"))
            return
        if isinstance(params, wire.MockExperimentalMethodParams):
            await self._send(encode_result(req.id, wire.MockExperimentalMethodResponse(params.value)))
            return
        try:
            reply = self._submit(req.method, params)
        except ChamberlainError as exc:
            await self._error(req.id, exc)
            return
        self._in_flight += 1
        nursery.start_soon(self._answer, req.id, reply)

    def _no_route(self, req: Request) -> bytes:
        if req.method not in _REFERENCE:
            return encode_error(req.id, InvalidRequest.code, f"Invalid request: {unknown_method_text(req.method)}")
        if not self.initialized:
            return encode_error(req.id, InvalidRequest.code, "Not initialized")
        if req.method in EXPERIMENTAL_METHODS and not self.experimental_api:
            return encode_error(req.id, InvalidRequest.code, f"{req.method} requires experimentalApi capability")
        return encode_error(
            req.id, InvalidRequest.code, f"Invalid request: `{req.method}` is not served by this server (Chamberlain)"
        )

    def _submit(self, method: str, params: Any) -> ca.Reply:
        """Hand a request to the ConfigActor without waiting; raise Overloaded when it cannot queue."""
        if self._in_flight >= MAX_IN_FLIGHT:
            raise Overloaded()
        reply = ca.Reply()
        msg: ca.ConfigMsg
        match params:
            case wire.ConfigReadParams():
                msg = ca.ReadConfig(params.cwd, params.include_layers, reply)
            case wire.ConfigValueWriteParams():
                edit = Edit(params.key_path, params.value, params.merge_strategy)
                msg = ca.WriteConfig((edit,), params.file_path, params.expected_version, False, reply)
            case wire.ConfigBatchWriteParams():
                edits = tuple(Edit(e.key_path, e.value, e.merge_strategy) for e in params.edits)
                msg = ca.WriteConfig(edits, params.file_path, params.expected_version, params.reload_user_config, reply)
            case wire.ExperimentalFeatureListParams():
                msg = ca.ListFeatures(params.cursor, params.limit, params.thread_id, reply)
            case wire.ExperimentalFeatureEnablementSetParams():
                msg = ca.SetEnablement(params.enablement, reply)
            case None if method == "configRequirements/read":
                msg = ca.ReadRequirements(reply)
            case None if method == "config/mcpServer/reload":
                msg = ca.ReloadMcpServers(reply)
            case _:
                raise InvalidRequest(f"Invalid request: `{method}` is not served by this server (Chamberlain)")
        try:
            self.config_inbox.send_nowait(msg)
        except trio.WouldBlock:
            raise Overloaded() from None
        return reply

    async def _answer(self, request_id: RequestId, reply: ca.Reply) -> None:
        try:
            frame = encode_result(request_id, await reply.wait())
        except ChamberlainError as exc:
            frame = encode_error(request_id, exc.code, exc.message, exc.data)
        finally:
            self._in_flight -= 1
        await self._send(frame)

    # -- handshake ----------------------------------------------------------------------------

    async def _initialize(self, request_id: RequestId, params: wire.InitializeParams) -> None:
        if self.initialized:
            await self._error(request_id, InvalidRequest("Already initialized"))
            return
        self.initialized = True
        caps = params.capabilities
        if caps is not None:
            self.experimental_api = caps.experimental_api
            self.opted_out = frozenset(caps.opt_out_notification_methods or ())
        client = params.client_info
        info = self.info
        user_agent = (
            f"{client.name}/{info.server_version} {info.user_agent_suffix} ({client.name}; {client.version})"
        )
        await self._send(
            encode_result(
                request_id,
                wire.InitializeResponse(user_agent, info.codex_home, info.platform_family, info.platform_os),
            )
        )
        # Inline, before the next frame is read: the startup notifications follow the initialize
        # response and precede the answer to any later request, as on the reference.
        await self._startup_notifications()

    async def _startup_notifications(self) -> None:
        reply = ca.Reply()
        try:
            self.config_inbox.send_nowait(ca.GetWarnings(reply))
            warnings: list[StartupWarning] = await reply.wait()
        except (trio.WouldBlock, trio.ClosedResourceError, ChamberlainError) as exc:
            logger.warning("could not compute configuration warnings: %r", exc)
            warnings = []
        for w in warnings:
            await self.notify("configWarning", _warning_params(w))
        info = self.info
        await self.notify(
            "remoteControl/status/changed",
            wire.RemoteControlStatusParams("disabled", info.server_name, info.installation_id, None),
        )

    # -- output -------------------------------------------------------------------------------

    async def notify(self, method: str, params: Any) -> None:
        if method in self.opted_out or not self.initialized:
            return
        await self._send(encode_notification(method, params))

    async def _error(self, request_id: RequestId, exc: ChamberlainError) -> None:
        await self._send(encode_error(request_id, exc.code, exc.message, exc.data))

    async def _send(self, frame: bytes) -> None:
        assert self._out is not None
        await self._out.send(frame)


def _warning_params(w: StartupWarning) -> wire.ConfigWarningParams:
    params = wire.ConfigWarningParams(w.summary, w.details)
    if w.path is not None:
        params.path = w.path
    if w.line is not None and w.column is not None:
        end = w.end_column if w.end_column is not None else w.column
        params.range = wire.TextRange(wire.TextPosition(w.line, w.column), wire.TextPosition(w.line, end))
    return params
