"""Noticing that auth.json changed, and refreshing tokens once across processes.

**Change detection** (:class:`AuthFileWatch`): the stat signature of ``config.toml``'s cache
(:class:`~chamberlain.store.filecache.FileCache`: inode, size, mtime, ctime) with the same racy
rule: a signature taken less than :data:`~chamberlain.store.filecache.RACY_WINDOW_NS` after the
file's newest timestamp is confirmed by comparing bytes, so a same-size rewrite within one
timestamp tick is still seen. Past the window, :meth:`AuthFileWatch.changed` costs one ``stat``.

**Refresh across processes** (spec §14.2; the reference does not do this, openai/codex #10332):
every refresher takes the auth locks (:func:`~chamberlain.store.auth_store.acquire_auth_locks`), re-reads the stored
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

import time
from collections.abc import Callable
from typing import Final, final

from chamberlain.store.auth_file import AuthDotJson, AuthFileInvalid, decode_auth
from chamberlain.store.auth_store import (
    AuthStorage,
    EphemeralAuthStorage,
    FileAuthStorage,
    acquire_auth_locks,
    auth_file_path,
    read_auth_file,
    release_auth_locks,
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

    def get(self) -> AuthDotJson | None:
        """What :meth:`load` would return, without reading when nothing changed."""
        return self._auth if not self.changed() else self.load()

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
    """The auth locks held across a refresh, with the credentials as re-read under them. An
    ``ephemeral`` store is serialised by an in-process lock instead (nothing goes to disk)."""

    def __init__(self, storage: AuthStorage, fds: tuple[int, ...] | None) -> None:
        self.storage = storage
        self._fds = fds
        self._open = True
        self.current: AuthDotJson | None = (
            read_auth_file(storage.home) if isinstance(storage, FileAuthStorage) else storage.load()
        )

    @classmethod
    def open(cls, storage: AuthStorage) -> RefreshSession:
        """Block until the locks are ours (run it in a worker thread), then re-read."""
        if isinstance(storage, EphemeralAuthStorage):
            storage.refresh_lock.acquire()
            fds = None
        else:
            fds = acquire_auth_locks(storage.home)
        try:
            return cls(storage, fds)
        except BaseException:
            cls._release(storage, fds)
            raise

    @staticmethod
    def _release(storage: AuthStorage, fds: tuple[int, ...] | None) -> None:
        if fds is None:
            assert isinstance(storage, EphemeralAuthStorage)
            storage.refresh_lock.release()
        else:
            release_auth_locks(fds)

    def commit(self, auth: AuthDotJson) -> None:
        """Store the refreshed credentials (atomic replace for ``file``) before the locks go."""
        if not self._open:
            raise RuntimeError("refresh session already closed")
        self.storage.save_locked(auth)  # under our locks already
        self.current = auth

    def close(self) -> None:
        """Release the locks (idempotent, never blocks)."""
        if self._open:
            self._open = False
            self._release(self.storage, self._fds)

    def __enter__(self) -> RefreshSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refresh_locked(
    storage: AuthStorage,
    is_stale: Callable[[AuthDotJson], bool],
    refresh: Callable[[AuthDotJson], AuthDotJson],
) -> AuthDotJson | None:
    """Under the auth locks: re-read; if the credentials are still stale, ``refresh`` them and
    write the result; else return what a sibling already stored. None when nothing is stored.

    ``is_stale`` sees the re-read credentials: compare them with the snapshot the caller decided
    to refresh (same refresh token and still near expiry -> stale; a rotated refresh token means
    a sibling refreshed: adopt). Raising from ``refresh`` leaves the store as it was."""
    with RefreshSession.open(storage) as session:
        current = session.current
        if current is not None and is_stale(current):
            current = refresh(current)
            session.commit(current)
        return current
