"""The supervisor: starts the actors of one server and serves connections on them.

No global state: an embedding program may run several servers in one process, each with its own
``Settings`` (CODEX_HOME, system directory, session flags)::

    async with trio.open_nursery() as nursery:
        server = await nursery.start(Server(settings).run)
        await server.serve_connection(LineTransport(receive_stream, send_stream))

``serve_connection`` may be called from several tasks (one per client); ``stop()`` ends the server
gracefully (connections answer what they received, then ``run`` returns).
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import trio
from chamberlain import REFERENCE_VERSION
from chamberlain.actors.auth_front import AuthFront
from chamberlain.actors.auth_messages import AuthMsg
from chamberlain.actors.auth_settings import AuthActorArgs
from chamberlain.actors.config_actor import ConfigActor, ConfigMsg
from chamberlain.actors.connection import STOP_GRACE_S, ConnectionActor, FrameTransport, ServerInfo
from chamberlain.actors.hub import Hub
from chamberlain.actors.thread_registry import ThreadMsg, ThreadRegistryActor
from chamberlain.actors.transports import DEFAULT_MAX_FRAME_BYTES

if TYPE_CHECKING:
    from chamberlain.store.config_store import ConfigStore

__all__ = ["DEFAULT_SYSTEM_DIR", "Server", "Settings"]

logger = logging.getLogger(__name__)

#: The reference's system configuration directory on Unix.
DEFAULT_SYSTEM_DIR: Final = Path("/etc/codex")


@dataclass(frozen=True)
class Settings:
    codex_home: Path
    system_dir: Path = DEFAULT_SYSTEM_DIR
    #: ``-c key.path=value`` pairs in command-line order (``--enable``/``--disable`` included).
    session_flags: tuple[tuple[str, str], ...] = ()
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    #: the process environment (a host's may hold OPENAI_API_KEY and other secrets: not in repr)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    #: The browser login's callback port: None = 1455, then 1457 (the reference's); 0 = any free
    #: port (tests, several servers on one machine); N = N only.
    login_callback_port: int | None = None


@final
class Server:
    """One server: its actors, a hub for broadcasts, and a handler nursery for connections (trio
    ``serve_listeners`` shape): a connection that crashes is logged and ends alone."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: ConfigStore | None = None
        self.info = _server_info(settings)
        self.hub = Hub()
        self._config_inbox: trio.MemorySendChannel[ConfigMsg] | None = None
        self._config_actor: ConfigActor | None = None
        self._auth_inbox: trio.MemorySendChannel[AuthMsg] | None = None
        self._thread_inbox: trio.MemorySendChannel[ThreadMsg] | None = None
        self._handlers: trio.Nursery | None = None
        self._connections: set[ConnectionActor] = set()
        self._stop = trio.Event()

    def store(self) -> ConfigStore:
        """The server's config store, made (and its modules imported) on first use."""
        if self._store is None:
            from chamberlain.store.config_store import ConfigStore

            s = self.settings
            self._store = ConfigStore(s.codex_home, s.system_dir, s.session_flags)
        return self._store

    def check_startup(self) -> None:
        """Raise RequirementsError when the reference would refuse to start. Only requirement
        files and ``-c`` overrides can cause that, so without them nothing is loaded before the
        first request."""
        system = self.settings.system_dir
        if (
            self.settings.session_flags
            or (system / "requirements.toml").exists()
            or (system / "managed_config.toml").exists()
        ):
            self.store().check_startup()

    async def run(self, *, task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the actors and connections; ``started`` once the inboxes are open. Returns after
        ``stop()`` once every connection has answered what it received (or ``STOP_GRACE_S``)."""
        async with trio.open_nursery() as supervisor:
            self._config_actor = ConfigActor(self.store)
            inbox = await supervisor.start(self._config_actor.run)
            s = self.settings
            auth = AuthFront(AuthActorArgs(
                s.codex_home, s.environ, inbox.clone(), self.hub, s.login_callback_port, self._config_actor.serve_now
            ))
            auth_inbox = await supervisor.start(auth.run)
            threads = ThreadRegistryActor(s.codex_home, inbox.clone(), self.store, self.hub)
            thread_inbox = await supervisor.start(threads.run)
            self._config_actor.attach_threads(thread_inbox.clone(), threads.reload_deadline_s)
            with inbox, auth_inbox, thread_inbox:
                self._config_inbox, self._auth_inbox, self._thread_inbox = inbox, auth_inbox, thread_inbox
                async with trio.open_nursery() as handlers:
                    self._handlers = handlers
                    task_status.started(self)
                    await self._stop.wait()
                    handlers.cancel_scope.deadline = trio.current_time() + STOP_GRACE_S
                    for conn in tuple(self._connections):
                        conn.stop()
                self._handlers = None
            supervisor.cancel_scope.cancel(reason="server stopped")

    def stop(self) -> None:
        """Graceful stop: every connection stops reading and answers what it has received; then
        ``run`` returns, within ``STOP_GRACE_S``. Idempotent."""
        self._stop.set()

    async def serve_connection(
        self,
        transport: FrameTransport,
        label: str = "stdio",
        *,
        task_status: trio.TaskStatus[ConnectionActor] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve one client in the server's handler nursery; returns when its connection ends
        (end of input, ``stop()``, a broken transport, or a crash, which is logged). Started
        (with ``nursery.start``) it gives the connection's actor, e.g. to send it server ->
        client requests. Cancelling the caller closes the connection at once. After ``stop()``
        and once ``run`` has returned it returns at once (a listener's late client)."""
        handlers = self._handlers
        if handlers is None or self._config_inbox is None or self._config_actor is None or self._auth_inbox is None:
            if self._stop.is_set():  # a client arriving as the server stops: not an error of the listener
                logger.debug("%s: the server has stopped; connection not served", label)
                return
            raise RuntimeError("Server.run has not started")
        inboxes: dict[str, trio.MemorySendChannel[Any]] = {
            "config": self._config_inbox.clone(),
            "auth": self._auth_inbox.clone(),
        }
        if self._thread_inbox is not None:
            inboxes["threads"] = self._thread_inbox.clone()
        actor = ConnectionActor(
            transport, self.info, inboxes, self.hub, label,
            direct={"config": self._config_actor.serve_now},
        )
        if self._stop.is_set():
            actor.stop()
        scope = trio.CancelScope()
        done = trio.Event()
        try:
            await handlers.start(self._supervise, actor, scope, done)
            task_status.started(actor)
            await done.wait()
        finally:
            scope.cancel(reason="caller of serve_connection left")

    async def _supervise(
        self,
        actor: ConnectionActor,
        scope: trio.CancelScope,
        done: trio.Event,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        self._connections.add(actor)
        try:
            with scope:
                await actor.run(task_status=task_status)
        except* Exception as group:
            logger.error("%s: connection failed and was closed", actor.label, exc_info=group)
        finally:
            self._connections.discard(actor)
            done.set()


def _server_info(settings: Settings) -> ServerInfo:
    env = settings.environ
    return ServerInfo(
        codex_home=str(settings.codex_home),
        user_agent_suffix=f"({_os_description()}; {platform.machine()}) {_terminal(env)}",
        server_version=REFERENCE_VERSION,
        platform_family="windows" if sys.platform == "win32" else "unix",
        platform_os={"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux"),
        server_name=socket.gethostname(),
        installation_id=_installation_id(settings.codex_home),
    )


def _os_description() -> str:
    """``<OS> <x.y.z>`` as the reference's user agent shows it (``Debian 12.0.0``)."""
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return f"{platform.system()} {platform.release()}"
    name = release.get("NAME", platform.system()).split(" ")[0]
    parts = ([*release.get("VERSION_ID", "").split("."), "0", "0", "0"])[:3]
    version = ".".join(p if p.isdigit() else "0" for p in parts)
    return f"{name} {version}"


def _terminal(env: dict[str, str]) -> str:
    program = env.get("TERM_PROGRAM", "")
    if program:
        version = env.get("TERM_PROGRAM_VERSION", "")
        return f"{program}/{version}" if version else program
    return env.get("TERM") or "unknown"


def _installation_id(codex_home: Path) -> str:
    """The id in ``$CODEX_HOME/installation_id`` (shared with codex), created when missing."""
    path = codex_home / "installation_id"
    try:
        text = path.read_text().strip()
        return str(uuid.UUID(text))
    except (OSError, ValueError):
        pass
    new = str(uuid.uuid4())
    try:
        path.write_text(new)
    except OSError as exc:
        logger.debug("could not record installation id: %s", exc)
    return new
