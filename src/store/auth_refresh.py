"""Noticing that auth.json changed, and refreshing tokens once across processes.

**Change detection** (:class:`AuthFileWatch`): the stat signature of ``config.toml``'s cache
(:class:`~chamberlain.store.filecache.FileCache`: inode, size, mtime, ctime) with the same racy
rule: a signature taken less than :data:`~chamberlain.store.filecache.RACY_WINDOW_NS` after the
file's newest timestamp is confirmed by comparing bytes, so a same-size rewrite within one
timestamp tick is still seen. Past the window, :meth:`AuthFileWatch.changed` costs one ``stat``.

**Refresh across processes** (spec §14.2; the reference does not do this, openai/codex #10332):
every refresher takes the exclusive ``flock`` on ``auth.json.lock``, re-reads the stored
credentials, refreshes only if they are *still* stale, writes the result atomically and lets go;
the second process blocks on the lock, then re-reads the first one's rotated tokens, finds them
fresh and adopts them without spending the (now used) refresh token.

For an async (trio + httpx) caller the HTTP request must happen while the lock is held, so the
lock is an object that spans threads (``flock`` belongs to the open file, not to a thread)::

    session = await trio.to_thread.run_sync(RefreshSession.open, storage)   # waits for siblings
    try:
        current = session.current                                          # re-read under the lock
        if current is not None and is_stale(current):
            new = await refresh_over_http(current)                          # trio task, lock held
            await trio.to_thread.run_sync(session.commit, new)              # atomic write
            current = new
    finally:
        session.close()                                                     # never blocks
    return current

Waiting for the lock cannot be cancelled (a sibling holds it for one HTTP round trip at most);
once acquired, a cancelled refresh still releases it in ``finally``. A sync caller (or a test)
uses :func:`refresh_locked`, which is the same sequence with ``refresh`` called under the lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from typing import Final, final

from chamberlain.store.atomic import remove_stale_temp_files
from chamberlain.store.auth_file import AuthDotJson, AuthFileInvalid, decode_auth
from chamberlain.store.auth_store import (
    AuthStorage,
    FileAuthStorage,
    auth_file_path,
    auth_lock_path,
    read_auth_file,
    write_auth_file,
)
from chamberlain.store.filecache import RACY_WINDOW_NS, FileCache, Signature

__all__ = ["AuthFileWatch", "RefreshSession", "refresh_locked"]

_STAT: Final = FileCache()  # only its ``signature`` (the config cache's stat rule) is used


@final
class AuthFileWatch:
    """What this process last read from (or wrote to) auth.json, and whether it changed since."""

    def __init__(self, home: str) -> None:
        self.path = auth_file_path(home)
        self._signature: Signature | None = None
        self._data: bytes | None = None
        self._checked_ns = 0
        self._auth: AuthDotJson | None = None

    def load(self) -> AuthDotJson | None:
        """auth.json parsed (None when absent or unreadable), remembered for :meth:`changed`."""
        now = time.time_ns()
        signature = _STAT.signature(self.path)
        data: bytes | None = None
        if signature is not None:
            try:
                with open(self.path, "rb") as fh:
                    data = fh.read()
            except FileNotFoundError:
                signature = None
        if data != self._data or self._checked_ns == 0:
            self._auth = None
            if data is not None:
                try:
                    self._auth = decode_auth(data)
                except AuthFileInvalid:
                    self._auth = None
        self._signature, self._data, self._checked_ns = signature, data, now
        return self._auth

    def remember(self, data: bytes | None, auth: AuthDotJson | None) -> None:
        """Record a write (or delete, ``None``) this process just made: not a change."""
        self._signature = _STAT.signature(self.path)
        self._data, self._auth, self._checked_ns = data, auth, time.time_ns()

    def changed(self) -> bool:
        """Whether auth.json differs from what was last loaded or remembered (True before the
        first load). One ``stat`` once the last look is past the racy window."""
        if self._checked_ns == 0:
            return True
        now = time.time_ns()
        signature = _STAT.signature(self.path)
        if signature != self._signature:
            return True
        if signature is None:
            return False
        if self._checked_ns - max(signature[2], signature[3]) >= RACY_WINDOW_NS:
            return False
        try:
            with open(self.path, "rb") as fh:
                same = fh.read() == self._data
        except FileNotFoundError:
            return True
        if same:
            self._checked_ns = now
        return not same


@final
class RefreshSession:
    """The auth lock held across a refresh, with the credentials as re-read under it."""

    def __init__(self, storage: AuthStorage, fd: int) -> None:
        self.storage = storage
        self._fd: int | None = fd
        self.current: AuthDotJson | None = self._reload()

    @classmethod
    def open(cls, storage: AuthStorage) -> RefreshSession:
        """Block until the lock is ours (run in a worker thread), then re-read."""
        os.makedirs(storage.home, exist_ok=True)
        fd = os.open(auth_lock_path(storage.home), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            remove_stale_temp_files(auth_file_path(storage.home))
            return cls(storage, fd)
        except BaseException:
            os.close(fd)
            raise

    def _reload(self) -> AuthDotJson | None:
        if isinstance(self.storage, FileAuthStorage):
            return read_auth_file(self.storage.home)
        return self.storage.load()

    def commit(self, auth: AuthDotJson) -> None:
        """Store the refreshed credentials (atomic replace for ``file``) before the lock goes."""
        if self._fd is None:
            raise RuntimeError("refresh session already closed")
        if isinstance(self.storage, FileAuthStorage):
            write_auth_file(self.storage.home, auth)  # under our lock already
        else:
            self.storage.save(auth)
        self.current = auth

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> RefreshSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refresh_locked(
    storage: AuthStorage,
    is_stale: Callable[[AuthDotJson], bool],
    refresh: Callable[[AuthDotJson], AuthDotJson],
) -> AuthDotJson | None:
    """Under the auth lock: re-read; if the credentials are still stale, ``refresh`` them and
    write the result; else return what a sibling already stored. None when nothing is stored."""
    with RefreshSession.open(storage) as session:
        current = session.current
        if current is not None and is_stale(current):
            current = refresh(current)
            session.commit(current)
        return current
