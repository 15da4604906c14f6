"""refresh_locked / RefreshSession in one process: the sync shape, the async (trio) shape, and
what happens when nothing is stale, nothing is stored, or the refresh fails."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest
import trio
from chamberlain.store.auth_file import AuthDotJson, TokenData, decode_auth, encode_auth_file
from chamberlain.store.auth_refresh import RefreshSession, refresh_locked
from chamberlain.store.auth_secret import Secret
from chamberlain.store.auth_store import AuthStorage, CredentialsStoreMode, FileAuthStorage, create_auth_storage

if TYPE_CHECKING:
    from conftest import MemoryKeyring

FIXTURES = Path(__file__).parent / "fixtures" / "auth"


def stale_auth() -> AuthDotJson:
    """A ChatGPT login (the reference's browser-login file) whose refresh token is refresh-1."""
    seen = decode_auth((FIXTURES / "chatgpt_browser.json").read_bytes())
    assert seen.tokens is not None
    tokens = TokenData(seen.tokens.id_token, Secret("access-0"), Secret("refresh-1"), account_id="acct-123")
    return AuthDotJson(auth_mode="chatgpt", openai_api_key=None, tokens=tokens)


STALE = stale_auth()


def rotated(auth: AuthDotJson, tag: str) -> AuthDotJson:
    assert auth.tokens is not None
    tokens = msgspec.structs.replace(
        auth.tokens, access_token=Secret(f"access-{tag}"), refresh_token=Secret("refresh-2")
    )
    return msgspec.structs.replace(auth, tokens=tokens)


def is_stale(auth: AuthDotJson) -> bool:
    return auth.tokens is not None and auth.tokens.refresh_token == Secret("refresh-1")


def file_storage(tmp_path: Path, auth: AuthDotJson | None = STALE) -> FileAuthStorage:
    if auth is not None:
        (tmp_path / "auth.json").write_bytes(encode_auth_file(auth))
    return FileAuthStorage(str(tmp_path))


def test_stale_credentials_are_refreshed_and_written(tmp_path: Path) -> None:
    storage = file_storage(tmp_path)
    result = refresh_locked(storage, is_stale, lambda auth: rotated(auth, "new"))
    assert result == rotated(STALE, "new") == decode_auth((tmp_path / "auth.json").read_bytes())


def recording(calls: list[AuthDotJson]) -> Callable[[AuthDotJson], AuthDotJson]:
    def refresh(auth: AuthDotJson) -> AuthDotJson:
        calls.append(auth)
        return rotated(auth, "recorded")

    return refresh


def test_fresh_credentials_are_returned_without_refreshing(tmp_path: Path) -> None:
    storage = file_storage(tmp_path, rotated(STALE, "sibling"))
    calls: list[AuthDotJson] = []
    result = refresh_locked(storage, is_stale, recording(calls))
    assert calls == [] and result == rotated(STALE, "sibling")


def test_nothing_stored_means_no_refresh(tmp_path: Path) -> None:
    calls: list[AuthDotJson] = []
    assert refresh_locked(file_storage(tmp_path, None), is_stale, recording(calls)) is None
    assert calls == []


def test_a_failed_refresh_leaves_the_file_and_releases_the_locks(tmp_path: Path) -> None:
    storage = file_storage(tmp_path)
    before = (tmp_path / "auth.json").read_bytes()

    def fail(auth: AuthDotJson) -> AuthDotJson:
        raise RuntimeError("issuer said 500")

    with pytest.raises(RuntimeError):
        refresh_locked(storage, is_stale, fail)
    assert (tmp_path / "auth.json").read_bytes() == before
    assert refresh_locked(storage, is_stale, lambda a: rotated(a, "later")) == rotated(STALE, "later")


@pytest.mark.parametrize("mode", [CredentialsStoreMode.EPHEMERAL, CredentialsStoreMode.KEYRING])
def test_other_store_modes_refresh_in_their_own_store(
    tmp_path: Path, mode: CredentialsStoreMode, new_keyring: Callable[..., MemoryKeyring]
) -> None:
    storage = create_auth_storage(str(tmp_path / "home"), mode, new_keyring())
    storage.save(STALE)
    assert refresh_locked(storage, is_stale, lambda a: rotated(a, mode.value)) == rotated(STALE, mode.value)
    assert storage.load() == rotated(STALE, mode.value)
    if mode is CredentialsStoreMode.EPHEMERAL:
        assert not os.path.exists(tmp_path / "home")
    storage.delete()


async def refresh_like_an_actor(storage: AuthStorage, calls: list[str], tag: str) -> AuthDotJson | None:
    """The documented async shape: lock in a thread, HTTP as a trio task, write in a thread."""
    session = await trio.to_thread.run_sync(RefreshSession.open, storage)
    try:
        current = session.current
        if current is not None and is_stale(current):
            calls.append(tag)
            await trio.sleep(0.05)  # the HTTP round trip; the sibling waits on the lock meanwhile
            new = rotated(current, tag)
            await trio.to_thread.run_sync(session.commit, new)
            current = new
    finally:
        session.close()
    return current


async def test_two_async_refreshers_in_one_process_refresh_once(tmp_path: Path) -> None:
    storage = file_storage(tmp_path)
    calls: list[str] = []
    results: dict[str, AuthDotJson | None] = {}

    async def run(tag: str) -> None:
        results[tag] = await refresh_like_an_actor(FileAuthStorage(storage.home), calls, tag)

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "a")
            nursery.start_soon(run, "b")
    assert len(calls) == 1 and results["a"] == results["b"] == rotated(STALE, calls[0])


async def test_a_cancelled_refresh_releases_the_locks(tmp_path: Path) -> None:
    storage = file_storage(tmp_path)
    with trio.fail_after(10):
        with trio.move_on_after(0.01):
            await refresh_like_an_actor(storage, [], "cancelled")
        assert await trio.to_thread.run_sync(refresh_locked, storage, is_stale, lambda a: rotated(a, "next")) == (
            rotated(STALE, "next")
        )


def test_tokens_helper_builds_a_chatgpt_record() -> None:
    assert isinstance(STALE.tokens, TokenData) and STALE.resolved_mode() == "chatgpt"
