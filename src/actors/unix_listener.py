"""The unix-socket listener: WebSocket over a unix stream (config.md §11.5).

As the reference does (observed), the socket itself lives at
``$TMPDIR/codex-daemon-<uid>/<sha256 of PATH>`` (directory 0700, socket 0600; short enough for
``sun_path`` whatever PATH is) and PATH is a symlink to it. ``<socket>.lock`` beside it is held
(``flock``) for the listener's life: a second server on a live PATH is refused with
``ControlSocketInUse`` (the reference's text); a killed server's lock is free, so its socket is
removed and taken over. The default ``unix://`` path also takes ``app-server-startup.lock`` in its
directory while it binds. All of them but the start-up lock are removed when the listener stops.
Each accepted stream is upgraded as the reference's socket does it (``unix_upgrade.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket as stdlib_socket
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import trio
from chamberlain.actors.unix_upgrade import serve_unix_stream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chamberlain.actors.server import Server
    from chamberlain.actors.ws_http import CheckUpgrade

__all__ = ["ControlSocketInUse", "LOCK_NAME", "default_socket_path", "serve_unix"]

logger = logging.getLogger(__name__)

LOCK_NAME: Final = "app-server-startup.lock"
_DEFAULT_NAME: Final = "app-server-control.sock"
_SOCKET_MODE: Final = 0o600
_DIR_MODE: Final = 0o700
_BACKLOG: Final = 128


class ControlSocketInUse(Exception):
    """Another live server answers on the socket; str() is the reference's error (no ``Error: ``)."""


def default_socket_path(codex_home: str | os.PathLike[str]) -> Path:
    """``unix://`` without a path: ``$CODEX_HOME/app-server-control/app-server-control.sock``."""
    return Path(codex_home) / "app-server-control" / "app-server-control.sock"


def _real_path(path: Path) -> Path:
    digest = hashlib.sha256(str(path).encode()).hexdigest()
    return Path(tempfile.gettempdir()) / f"codex-daemon-{os.getuid()}" / digest


@contextlib.contextmanager
def _flocked(lock: Path, *, wait: bool) -> Iterator[bool]:
    """Hold ``flock`` on ``lock`` for the block; yields False when ``wait`` is off and it is held."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _clear(path: Path) -> None:
    """Remove what a dead server left at ``path``; refuse to remove anything else."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not (stat.S_ISSOCK(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise ControlSocketInUse(f"app-server control socket path {path} exists and is not a socket")
    logger.info("removing the stale control socket %s", path)
    path.unlink()


def _bind_at(path: Path, real: Path) -> trio.socket.SocketType:
    """Bind the socket at ``real`` (a local, short path: no blocking lookup) and link ``path``."""
    _clear(path)
    _clear(real)
    sock = stdlib_socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        sock.bind(str(real))
        os.chmod(real, _SOCKET_MODE)  # before listen(): nobody can connect yet
        sock.listen(_BACKLOG)
        path.symlink_to(real)
    except BaseException:
        sock.close()
        real.unlink(missing_ok=True)
        raise
    return trio.socket.from_stdlib_socket(sock)


def _prepare(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The absolute path and the real socket's path, their directories created (0700)."""
    where = Path(path).absolute()
    real = _real_path(where)
    real.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    where.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    return where, real


def _remove(path: Path, real: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_symlink() and path.readlink() == real:
            path.unlink()
    for leftover in (real, real.with_name(real.name + ".lock")):
        leftover.unlink(missing_ok=True)


async def serve_unix(
    server: Server,
    path: str | os.PathLike[str],
    *,
    check_upgrade: CheckUpgrade | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen on the unix socket ``path`` until cancelled; ``started`` gives the absolute path.
    Raises ``ControlSocketInUse`` (before ``started``) when a live server holds it."""
    where, real = _prepare(path)
    startup = where.parent / LOCK_NAME if where.name == _DEFAULT_NAME else None
    with _flocked(real.with_name(real.name + ".lock"), wait=False) as mine:
        if not mine:
            raise ControlSocketInUse(f"app-server control socket is already in use at {where}")
        try:
            with _flocked(startup, wait=True) if startup is not None else contextlib.nullcontext():
                sock = _bind_at(where, real)
            await _serve(server, sock, check_upgrade, str(where), task_status)
        finally:
            _remove(where, real)


async def _serve(
    server: Server, sock: trio.socket.SocketType, check_upgrade: CheckUpgrade | None, where: str,
    task_status: trio.TaskStatus[str],
) -> None:
    counter = 0

    async def handle(stream: trio.SocketStream) -> None:
        nonlocal counter
        counter += 1
        await serve_unix_stream(server, stream, f"unix #{counter}", check_upgrade)

    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handle, [trio.SocketListener(sock)])
        task_status.started(where)
