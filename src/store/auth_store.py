"""Where credentials live: config ``cli_auth_credentials_store`` = ``file`` (default),
``ephemeral``, ``keyring`` or ``auto`` (spec account.md §13.2), with the reference's names and
failure texts. Every call blocks (file I/O, flock, the OS keyring): actors run them in
``trio.to_thread.run_sync``.

* ``file``: ``$CODEX_HOME/auth.json``, written by atomic replace (:mod:`atomic`, mode 0600 on
  every write) under an exclusive ``flock`` on ``auth.json.lock`` (0600), the lock the reference
  creates beside it; stale temp files of a killed writer are removed under that lock, as for
  ``config.toml``.
* ``ephemeral``: one process-wide map keyed like the keyring account; nothing touches the disk.
* ``keyring``: service ``Codex Auth``, account ``cli|<first 16 hex of sha256(canonical home)>``,
  value = the compact JSON; a successful save deletes ``auth.json``. No usable keyring is an
  error in the reference's words (:data:`NO_KEYRING_DETAIL`), never a silent file.
* ``auto``: keyring first; a failed keyring load or save falls back to the file; delete goes to
  the keyring (and so fails where there is none, as the reference's logout does).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol, final

from chamberlain.store.atomic import atomic_write, file_lock, remove_stale_temp_files
from chamberlain.store.auth_file import AuthDotJson, AuthFileInvalid, decode_auth, encode_auth_compact, encode_auth_file

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = [
    "KEYRING_SERVICE",
    "NO_KEYRING_DETAIL",
    "AuthStorage",
    "AuthStorageError",
    "AutoAuthStorage",
    "CredentialsStoreMode",
    "EphemeralAuthStorage",
    "FileAuthStorage",
    "KeyringAuthStorage",
    "auth_file_path",
    "auth_lock_path",
    "create_auth_storage",
    "keyring_account",
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


def auth_lock_path(home: str) -> str:
    return os.path.join(home, "auth.json.lock")


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

    def save(self, auth: AuthDotJson) -> None: ...

    def delete(self) -> bool:
        """Remove them; whether anything was removed."""
        ...


@contextlib.contextmanager
def locked(home: str) -> Iterator[None]:
    """Hold the cross-process auth lock (``auth.json.lock``); creates the home if missing."""
    os.makedirs(home, exist_ok=True)
    _touch(os.path.join(home, "auth.lock"))  # the reference's second lock file (0644), kept as it is
    with file_lock(auth_lock_path(home)) as taken:
        if taken:
            remove_stale_temp_files(auth_file_path(home))  # a killed writer's (none is mid-write)
        yield


def _touch(path: str) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    except OSError as exc:
        logger.debug("cannot create %s: %s", path, exc.strerror)


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
            write_auth_file(self.home, auth)

    def delete(self) -> bool:
        with locked(self.home):
            return delete_auth_file(self.home)


_EPHEMERAL: Final[dict[str, AuthDotJson]] = {}
_EPHEMERAL_LOCK: Final = threading.Lock()


@final
class EphemeralAuthStorage:
    """Process memory only, shared by every storage of the same home in this process."""

    def __init__(self, home: str) -> None:
        self.home = home
        self._key = keyring_account(home)

    def load(self) -> AuthDotJson | None:
        with _EPHEMERAL_LOCK:
            return _EPHEMERAL.get(self._key)

    def save(self, auth: AuthDotJson) -> None:
        with _EPHEMERAL_LOCK:
            _EPHEMERAL[self._key] = auth

    def delete(self) -> bool:
        with _EPHEMERAL_LOCK:
            return _EPHEMERAL.pop(self._key, None) is not None


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
        from keyring.errors import KeyringError

        with locked(self.home):  # the lock files exist whatever the keyring does (as the reference's)
            pass
        backend = self._keyring("failed to write OAuth tokens to keyring")
        try:
            backend.set_password(KEYRING_SERVICE, self.account, encode_auth_compact(auth).decode())
        except KeyringError as exc:
            message = f"failed to write OAuth tokens to keyring: {exc}"
            logger.warning("%s", message)
            raise AuthStorageError(message) from None
        try:
            with locked(self.home):
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
