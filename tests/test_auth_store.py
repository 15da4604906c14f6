"""Store modes, the keyring names and failure texts, file modes and change detection."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest
from chamberlain.store.auth_file import AuthDotJson, decode_auth, encode_auth_compact, encode_auth_file
from chamberlain.store.auth_refresh import AuthFileWatch
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import (
    KEYRING_SERVICE,
    NO_KEYRING_DETAIL,
    AuthStorageError,
    CredentialsStoreMode,
    create_auth_storage,
    keyring_account,
)

if TYPE_CHECKING:
    from conftest import MemoryKeyring

API = AuthDotJson.for_api_key(Secret("sk-test"))
OTHER = AuthDotJson.for_api_key(Secret("sk-other"))


@pytest.fixture
def memory_keyring(new_keyring: Callable[..., MemoryKeyring]) -> Iterator[MemoryKeyring]:
    """The process-wide keyring replaced for one test, then put back."""
    previous = keyring.get_keyring()
    backend = new_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_mode_writes_the_references_bytes_with_mode_0600_and_its_lock_file(tmp_path: Path) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE)
    storage.save(API)
    assert (tmp_path / "auth.json").read_bytes() == b'{\n  "auth_mode": "apikey",\n  "OPENAI_API_KEY": "sk-test"\n}'
    assert mode_of(tmp_path / "auth.json") == 0o600 and mode_of(tmp_path / "auth.json.lock") == 0o600
    umask = os.umask(0)
    os.umask(umask)
    assert mode_of(tmp_path / "auth.lock") == 0o644 & ~umask  # the reference's second lock file
    assert (tmp_path / "auth.lock").read_bytes() == b"" == (tmp_path / "auth.json.lock").read_bytes()
    assert storage.load() == API


def test_file_mode_reapplies_0600_and_replaces_the_inode(tmp_path: Path) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE)
    storage.save(API)
    os.chmod(tmp_path / "auth.json", 0o644)
    inode = (tmp_path / "auth.json").stat().st_ino
    storage.save(OTHER)
    assert mode_of(tmp_path / "auth.json") == 0o600 and (tmp_path / "auth.json").stat().st_ino != inode


def test_file_mode_creates_a_missing_home(tmp_path: Path) -> None:
    create_auth_storage(str(tmp_path / "new" / "home"), CredentialsStoreMode.FILE).save(API)
    assert (tmp_path / "new" / "home" / "auth.json").exists()


def test_logout_deletes_auth_json_only(tmp_path: Path) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE)
    storage.save(API)
    assert storage.delete() is True and storage.delete() is False
    assert sorted(os.listdir(tmp_path)) == ["auth.json.lock", "auth.lock"] and storage.load() is None


def test_unreadable_file_is_no_credentials_and_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_bytes(b"{not json")
    assert create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE).load() is None
    assert (tmp_path / "auth.json").read_bytes() == b"{not json"


def test_stale_temp_files_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    (tmp_path / ".auth.json.4242-0.tmp").write_bytes(b'{"OPENAI_API_KEY":"half')
    create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE).save(API)
    assert sorted(os.listdir(tmp_path)) == ["auth.json", "auth.json.lock", "auth.lock"]


def test_ephemeral_mode_keeps_nothing_on_disk_and_belongs_to_one_storage(tmp_path: Path) -> None:
    first = create_auth_storage(str(tmp_path), CredentialsStoreMode.EPHEMERAL)
    first.save(API)
    assert os.listdir(tmp_path) == []
    assert first.load() == API
    # another server in the same process (even on the same home) has its own memory
    assert create_auth_storage(str(tmp_path), CredentialsStoreMode.EPHEMERAL).load() is None
    assert first.delete() is True and first.load() is None and first.delete() is False


def test_keyring_names_are_the_references(tmp_path: Path) -> None:
    digest = hashlib.sha256(os.path.realpath(tmp_path).encode()).hexdigest()
    assert KEYRING_SERVICE == "Codex Auth" and keyring_account(str(tmp_path)) == f"cli|{digest[:16]}"
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert keyring_account(str(link)) == keyring_account(str(tmp_path))
    assert keyring_account("/no/such/home") == "cli|" + hashlib.sha256(b"/no/such/home").hexdigest()[:16]


def test_keyring_mode_stores_compact_json_and_deletes_the_file(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    (tmp_path / "auth.json").write_bytes(encode_auth_file(OTHER))
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.KEYRING)
    storage.save(API)
    key = (KEYRING_SERVICE, keyring_account(str(tmp_path)))
    assert memory_keyring.items == {key: encode_auth_compact(API).decode()}
    assert not (tmp_path / "auth.json").exists() and storage.load() == API
    assert storage.delete() is True and memory_keyring.items == {} and storage.delete() is False


def test_keyring_backend_can_be_given_without_touching_the_global_one(
    tmp_path: Path, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    backend = new_keyring()
    before = keyring.get_keyring()
    create_auth_storage(str(tmp_path), CredentialsStoreMode.KEYRING, backend).save(API)
    assert len(backend.items) == 1 and keyring.get_keyring() is before


def test_keyring_mode_without_a_keyring_fails_in_the_references_words(tmp_path: Path, no_keyring: None) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.KEYRING)
    with pytest.raises(AuthStorageError) as saved:
        storage.save(API)
    assert str(saved.value) == f"failed to write OAuth tokens to keyring: {NO_KEYRING_DETAIL}"
    assert not (tmp_path / "auth.json").exists()
    with pytest.raises(AuthStorageError) as loaded:
        storage.load()
    assert str(loaded.value) == (
        "failed to load CLI auth from keyring: Platform secure storage failure: no secret service provider or dbus"
        " session found: Platform secure storage failure: no secret service provider or dbus session found: no secret"
        " service provider or dbus session found"
    )
    with pytest.raises(AuthStorageError, match=r"^failed to delete auth from keyring: Platform secure storage"):
        storage.delete()


def test_keyring_errors_carry_the_backends_reason(
    tmp_path: Path, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.KEYRING, new_keyring(refuse_writes=True))
    with pytest.raises(AuthStorageError, match=r"^failed to write OAuth tokens to keyring: locked collection$"):
        storage.save(API)


def test_unreadable_keyring_value_is_a_deserialize_error(
    tmp_path: Path, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    backend = new_keyring()
    backend.items[(KEYRING_SERVICE, keyring_account(str(tmp_path)))] = "{oops"
    with pytest.raises(AuthStorageError, match=r"^failed to deserialize CLI auth from keyring: "):
        create_auth_storage(str(tmp_path), CredentialsStoreMode.KEYRING, backend).load()


def test_auto_mode_without_a_keyring_falls_back_to_the_file_but_logout_fails(tmp_path: Path, no_keyring: None) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.AUTO)
    storage.save(API)
    assert (tmp_path / "auth.json").read_bytes() == encode_auth_file(API) and storage.load() == API
    expected = re.escape("failed to delete auth from keyring: " + NO_KEYRING_DETAIL)
    with pytest.raises(AuthStorageError, match=f"^{expected}$"):
        storage.delete()
    assert (tmp_path / "auth.json").exists()


def test_auto_mode_with_a_keyring_uses_it_and_reads_the_file_when_it_is_empty(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    (tmp_path / "auth.json").write_bytes(encode_auth_file(OTHER))
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.AUTO)
    assert storage.load() == OTHER
    storage.save(API)
    assert not (tmp_path / "auth.json").exists() and storage.load() == API and len(memory_keyring.items) == 1
    assert storage.delete() is True and storage.load() is None


def test_auto_mode_falls_back_to_the_file_when_the_keyring_refuses(
    tmp_path: Path, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.AUTO, new_keyring(refuse_writes=True))
    storage.save(API)
    assert decode_auth((tmp_path / "auth.json").read_bytes()) == API


def test_watch_sees_no_change_after_its_own_read(tmp_path: Path) -> None:
    create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE).save(API)
    watch = AuthFileWatch(str(tmp_path))
    assert watch.changed() is True
    assert watch.load() == API and watch.changed() is False


def test_watch_sees_a_same_size_rewrite_with_the_same_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(encode_auth_file(API))
    watch = AuthFileWatch(str(tmp_path))
    watch.load()
    before = path.stat()
    with open(path, "r+b") as fh:  # in place: same inode, same size
        fh.write(encode_auth_file(AuthDotJson.for_api_key(Secret("sk-TEST"))))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert watch.changed() is True
    assert watch.load() == AuthDotJson.for_api_key(Secret("sk-TEST")) and watch.changed() is False


def test_watch_trusts_the_signature_once_past_the_racy_window(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_bytes(encode_auth_file(API))
    old = time.time_ns() - 10_000_000_000
    os.utime(path, ns=(old, old))
    watch = AuthFileWatch(str(tmp_path))
    watch.load()
    os.chmod(path, 0o600)  # ctime moves: back inside the window
    assert watch.changed() is True  # the signature differs (ctime)
    watch.load()
    assert watch.changed() is False


def test_watch_sees_creation_replacement_and_deletion(tmp_path: Path) -> None:
    storage = create_auth_storage(str(tmp_path), CredentialsStoreMode.FILE)
    watch = AuthFileWatch(str(tmp_path))
    assert watch.load() is None and watch.changed() is False
    storage.save(API)
    assert watch.changed() is True and watch.load() == API
    storage.save(OTHER)
    assert watch.changed() is True and watch.load() == OTHER
    watch.remember(encode_auth_file(OTHER), OTHER)
    assert watch.changed() is False and watch.get() == OTHER
    storage.delete()
    assert watch.changed() is True and watch.load() is None


def test_no_log_line_or_error_of_the_store_shows_a_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, no_keyring: None, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    secret = "sk-never-shown-0123456789"
    auth = AuthDotJson.for_api_key(Secret(secret))
    errors: list[str] = []
    caplog.set_level(logging.DEBUG)
    for mode in CredentialsStoreMode:
        storage = create_auth_storage(str(tmp_path / mode.value), mode)
        for action in (functools.partial(storage.save, auth), storage.load, storage.delete):
            try:
                action()
            except AuthStorageError as exc:
                errors.append(f"{exc} {exc!r}")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "auth.json").write_text(f'{{"OPENAI_API_KEY": "{secret}", "tokens": {{"id_token": "{secret}"}}}}')
    assert create_auth_storage(str(broken), CredentialsStoreMode.FILE).load() is None
    failing = create_auth_storage(str(tmp_path / "k"), CredentialsStoreMode.AUTO, new_keyring(refuse_writes=True))
    failing.save(auth)
    assert errors and caplog.records  # the keyring failures were reported and logged
    text = "\n".join(errors + [record.getMessage() for record in caplog.records])
    assert secret not in text
