"""Where credentials live: config ``cli_auth_credentials_store`` = ``file`` (default),
``ephemeral``, ``keyring`` or ``auto`` (spec account.md §13.2), with the reference's names and
failure texts. Every call blocks (file I/O, flock, the OS keyring): actors run them in
``trio.to_thread.run_sync``.

* ``file``: ``$CODEX_HOME/auth.json``, written by atomic replace (:mod:`atomic`, mode 0600 on
  every write) under exclusive ``flock`` s on ``auth.lock`` then ``auth.json.lock``: the two lock
  files the reference creates beside it and locks, in that order, around its own writes
  (observed: holding either one delays its writes). Stale temp files of a killed writer are
  removed under the locks, as for ``config.toml``.
* ``ephemeral``: one process-wide map keyed like the keyring account; nothing touches the disk.
* ``keyring``: service ``Codex Auth``, account ``cli|<first 16 hex of sha256(canonical home)>``,
  value = the compact JSON; a successful save deletes ``auth.json``. No usable keyring is an
  error in the reference's words (:data:`NO_KEYRING_DETAIL`), never a silent file.
* ``auto``: keyring first; a failed keyring load or save falls back to the file; delete goes to
  the keyring (and so fails where there is none, as the reference's logout does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol, final

from chamberlain.store.atomic import atomic_write, remove_stale_temp_files
from chamberlain.store.auth_file import AuthDotJson, AuthFileInvalid, decode_auth, encode_auth_compact, encode_auth_file

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "AUTH_LOCKS",
    "KEYRING_SERVICE",
    "NO_KEYRING_DETAIL",
    "AuthStorage",
    "AuthStorageError",
    "AutoAuthStorage",
    "CredentialsStoreMode",
    "EphemeralAuthStorage",
    "FileAuthStorage",
    "KeyringAuthStorage",
    "acquire_auth_locks",
    "auth_file_path",
    "create_auth_storage",
    "delete_auth_file",
    "keyring_account",
    "locked",
    "read_auth_file",
    "release_auth_locks",
    "write_auth_file",
]

logger = logging.getLogger(__name__)

KEYRING_SERVICE: Final = "Codex Auth"
#: what the reference reports (observed, Linux without a D-Bus session) after its prefixes
NO_KEYRING_DETAIL: Final = (
    "Platform secure storage failure: no secret service provider or dbus session found: "
    "Platform secure storage failure: no secret service provider or dbus session found: "
    "no secret service provider or dbus session found"
)


class CredentialsStoreMode(StrEnum):
    FILE = "file"
    EPHEMERAL = "ephemeral"
    KEYRING = "keyring"
    AUTO = "auto"


class AuthStorageError(OSError):
    """A load, save or delete that failed; ``str()`` is the reference's text (callers prefix it:
    ``failed to save api key: ``, ``logout failed: ``)."""


def auth_file_path(home: str) -> str:
    return os.path.join(home, "auth.json")


def keyring_account(home: str) -> str:
    """``cli|`` + the first 16 hex digits of SHA-256 of the canonical home (the home as given
    when it cannot be resolved, as the reference)."""
    try:
        canonical = os.path.realpath(home, strict=True)
    except OSError:
        canonical = home
    return "cli|" + hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class AuthStorage(Protocol):
    home: str

    def load(self) -> AuthDotJson | None:
        """The stored credentials; None when there are none or they cannot be read."""
        ...

    def save(self, auth: AuthDotJson) -> None:
        """Store them (takes the auth locks where the store touches the disk)."""
        ...

    def save_locked(self, auth: AuthDotJson) -> None:
        """:meth:`save` for a caller that already holds :func:`acquire_auth_locks`."""
        ...

    def delete(self) -> bool:
        """Remove them; whether anything was removed."""
        ...


#: the reference's lock files, in the order it takes them (observed: while it waits for
#: ``auth.json.lock`` it already holds ``auth.lock``), with the modes it creates them with.
AUTH_LOCKS: Final = (("auth.lock", 0o644), ("auth.json.lock", 0o600))


def acquire_auth_locks(home: str) -> tuple[int, ...]:
    """Block until this process holds both auth locks (exclusive ``flock``, the reference's
    order, so neither side can deadlock the other); creates the home if missing. The returned
    descriptors are the locks: pass them to :func:`release_auth_locks` (from any thread)."""
    os.makedirs(home, exist_ok=True)
    fds: list[int] = []
    try:
        for name, mode in AUTH_LOCKS:
            fds.append(os.open(os.path.join(home, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode))
            fcntl.flock(fds[-1], fcntl.LOCK_EX)
        remove_stale_temp_files(auth_file_path(home))  # a killed writer's (none is mid-write now)
    except BaseException:
        release_auth_locks(tuple(fds))
        raise
    return tuple(fds)


def release_auth_locks(fds: tuple[int, ...]) -> None:
    for fd in reversed(fds):
        os.close(fd)  # closing the only descriptor of the open file releases its flock


@contextlib.contextmanager
def locked(home: str) -> Iterator[None]:
    """Hold the cross-process auth locks for the block."""
    fds = acquire_auth_locks(home)
    try:
        yield
    finally:
        release_auth_locks(fds)


def read_auth_file(home: str) -> AuthDotJson | None:
    """auth.json parsed; None when absent or unreadable (logged, file left alone)."""
    path = auth_file_path(home)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.warning("cannot read %s: %s", path, exc.strerror)
        return None
    try:
        return decode_auth(data)
    except AuthFileInvalid as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return None


def write_auth_file(home: str, auth: AuthDotJson) -> None:
    """Replace auth.json; the caller holds :func:`locked`."""
    atomic_write(auth_file_path(home), encode_auth_file(auth), 0o600)


def delete_auth_file(home: str) -> bool:
    try:
        os.unlink(auth_file_path(home))
    except FileNotFoundError:
        return False
    return True


@final
class FileAuthStorage:
    def __init__(self, home: str) -> None:
        self.home = home

    def load(self) -> AuthDotJson | None:
        return read_auth_file(self.home)

    def save(self, auth: AuthDotJson) -> None:
        with locked(self.home):
            self.save_locked(auth)

    def save_locked(self, auth: AuthDotJson) -> None:
        write_auth_file(self.home, auth)

    def delete(self) -> bool:
        with locked(self.home):
            return delete_auth_file(self.home)


@final
class EphemeralAuthStorage:
    """Memory only: the credentials live as long as this object (one per server: two servers in
    one process never share them, as two reference processes do not). ``refresh_lock``
    serialises refreshes as the file locks do for ``file``."""

    def __init__(self, home: str) -> None:
        self.home = home
        self._auth: AuthDotJson | None = None
        self._lock = threading.Lock()
        self.refresh_lock = threading.Lock()

    def load(self) -> AuthDotJson | None:
        with self._lock:
            return self._auth

    def save(self, auth: AuthDotJson) -> None:
        with self._lock:
            self._auth = auth

    save_locked = save

    def delete(self) -> bool:
        with self._lock:
            had, self._auth = self._auth is not None, None
            return had


def _usable_backend(backend: KeyringBackend | None) -> KeyringBackend | None:
    """The keyring to use, or None when there is none that can store anything."""
    try:
        import keyring
        import keyring.backends.fail
    except ImportError:
        return None
    chosen = backend if backend is not None else keyring.get_keyring()
    if isinstance(chosen, keyring.backends.fail.Keyring):
        return None
    try:
        from keyring.backends.chainer import ChainerBackend
    except ImportError:  # pragma: no cover - part of keyring since 18
        return chosen
    if isinstance(chosen, ChainerBackend) and not chosen.backends:
        return None
    return chosen


@final
class KeyringAuthStorage:
    """The OS keyring through the ``keyring`` library (extra ``chamberlain[keyring]``).
    ``backend`` defaults to ``keyring.get_keyring()``, looked up on every call."""

    def __init__(self, home: str, backend: KeyringBackend | None = None) -> None:
        self.home = home
        self.account = keyring_account(home)
        self._backend = backend

    def _keyring(self, action: str) -> KeyringBackend:
        backend = _usable_backend(self._backend)
        if backend is None:
            raise AuthStorageError(f"{action}: {NO_KEYRING_DETAIL}")
        return backend

    def load(self) -> AuthDotJson | None:
        """Raises AuthStorageError when the keyring cannot be read or holds an unreadable value."""
        from keyring.errors import KeyringError

        backend = self._keyring("failed to load CLI auth from keyring")
        try:
            value = backend.get_password(KEYRING_SERVICE, self.account)
        except KeyringError as exc:
            raise AuthStorageError(f"failed to load CLI auth from keyring: {exc}") from None
        if value is None:
            return None
        try:
            return decode_auth(value.encode("utf-8", "surrogatepass"))
        except AuthFileInvalid as exc:
            raise AuthStorageError(f"failed to deserialize CLI auth from keyring: {exc}") from None

    def save(self, auth: AuthDotJson) -> None:
        self._save(auth, lock=True)

    def save_locked(self, auth: AuthDotJson) -> None:
        self._save(auth, lock=False)

    def _save(self, auth: AuthDotJson, *, lock: bool) -> None:
        from keyring.errors import KeyringError

        if lock:  # the lock files exist whatever the keyring does (as the reference's)
            with locked(self.home):
                pass
        backend = self._keyring("failed to write OAuth tokens to keyring")
        try:
            backend.set_password(KEYRING_SERVICE, self.account, encode_auth_compact(auth).decode())
        except KeyringError as exc:
            message = f"failed to write OAuth tokens to keyring: {exc}"
            logger.warning("%s", message)
            raise AuthStorageError(message) from None
        try:
            with locked(self.home) if lock else contextlib.nullcontext():
                delete_auth_file(self.home)
        except OSError as exc:
            logger.warning("failed to remove CLI auth fallback file: %s", exc.strerror)

    def delete(self) -> bool:
        from keyring.errors import KeyringError, PasswordDeleteError

        backend = self._keyring("failed to delete auth from keyring")
        removed = True
        try:
            backend.delete_password(KEYRING_SERVICE, self.account)
        except PasswordDeleteError:
            removed = False
        except KeyringError as exc:
            raise AuthStorageError(f"failed to delete auth from keyring: {exc}") from None
        with locked(self.home):
            return delete_auth_file(self.home) or removed


@final
class AutoAuthStorage:
    def __init__(self, home: str, backend: KeyringBackend | None = None) -> None:
        self.home = home
        self.keyring = KeyringAuthStorage(home, backend)
        self.file = FileAuthStorage(home)

    def load(self) -> AuthDotJson | None:
        try:
            found = self.keyring.load()
        except AuthStorageError as exc:
            logger.warning("failed to load CLI auth from keyring, falling back to file storage: %s", exc)
            return self.file.load()
        return found if found is not None else self.file.load()

    def save(self, auth: AuthDotJson) -> None:
        try:
            self.keyring.save(auth)
        except AuthStorageError as exc:
            logger.warning("failed to save auth to keyring, falling back to file storage: %s", exc)
            self.file.save(auth)

    def save_locked(self, auth: AuthDotJson) -> None:
        try:
            self.keyring.save_locked(auth)
        except AuthStorageError as exc:
            logger.warning("failed to save auth to keyring, falling back to file storage: %s", exc)
            self.file.save_locked(auth)

    def delete(self) -> bool:
        return self.keyring.delete()  # it removes auth.json too


def create_auth_storage(home: str, mode: CredentialsStoreMode, backend: KeyringBackend | None = None) -> AuthStorage:
    """The storage for a ``cli_auth_credentials_store`` value."""
    match mode:
        case CredentialsStoreMode.FILE:
            return FileAuthStorage(home)
        case CredentialsStoreMode.EPHEMERAL:
            return EphemeralAuthStorage(home)
        case CredentialsStoreMode.KEYRING:
            return KeyringAuthStorage(home, backend)
        case CredentialsStoreMode.AUTO:
            return AutoAuthStorage(home, backend)
