"""Crash-safe file replacement and a cross-process lock (blocking calls: run them in a thread).

The sequence (why it is durable on ext4 and XFS: docs/decisions.md, "Durable config writes"):

1. create ``.<name>.<pid>-<n>.tmp`` beside the target, ``O_EXCL``, mode 0600, write the bytes;
2. ``fdatasync`` it: its data and the metadata needed to read it back (size, blocks) are on disk
   (skipped where the rename itself orders the data first: ext4's replace-via-rename,
   :func:`replaces_flush_data`);
3. ``rename`` it over the target: readers see the old file or the new one, never a mix;
4. ``fsync`` the directory: the rename itself is on disk before the write is acknowledged.

Temp files of a process killed between 1 and 3 are removed by the next write in the directory
(:func:`remove_stale_temp_files`, called under the writers' lock, when no writer is mid-write).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import re
from collections.abc import Iterator
from typing import Final

__all__ = ["atomic_write", "file_lock", "remove_stale_temp_files", "replaces_flush_data", "temp_name_pattern"]

_SEQUENCE: Final = itertools.count()


def temp_name_pattern(target_name: str) -> re.Pattern[str]:
    """Names of the temp files written for ``target_name``: ours (``.<name>.<pid>-<n>.tmp``) and
    those of earlier versions (``tempfile.mkstemp``'s ``.<name>.<8 chars>.tmp``)."""
    return re.compile(rf"\.{re.escape(target_name)}\.(?:[0-9]+-[0-9]+|[a-z0-9_]{{8}})\.tmp")


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` (steps above).

    A symlink at ``path`` is kept and its target rewritten. The result has ``mode`` whatever the
    old file had. A crash at any point leaves either the old file or the new one, never a mix.
    """
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory, name = os.path.split(target)
    directory = directory or "."
    tmp = os.path.join(directory, f".{name}.{os.getpid()}-{next(_SEQUENCE)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)  # the umask may have narrowed the mode given to open
            if not (replaces_flush_data(directory) and os.path.lexists(target)):
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_FLUSHING_REPLACE: dict[str, bool] = {}


def replaces_flush_data(directory: str) -> bool:
    """Whether a file renamed over another in ``directory`` has its data on disk by the time the
    rename is: ext4 in its default modes (``auto_da_alloc`` allocates a replacing file's delayed
    blocks at the rename, and ``data=ordered``/``data=journal`` write them before the commit that
    holds the rename). Then the directory ``fsync`` alone makes the new file durable and whole,
    and the temp file's own flush is skipped. False anywhere else (XFS, btrfs, tmpfs, overlay,
    ext4 with ``data=writeback`` or ``noauto_da_alloc``) and when the mount table cannot be read."""
    real = os.path.realpath(directory)
    known = _FLUSHING_REPLACE.get(real)
    if known is None:
        known = _FLUSHING_REPLACE[real] = _mount_flushes_on_replace(real)
    return known


def _mount_flushes_on_replace(real_dir: str) -> bool:
    best: tuple[int, bool] = (-1, False)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split(" ")
        try:
            dash = fields.index("-")
            mount_point, fstype, options = fields[4], fields[dash + 1], fields[dash + 3]
        except (ValueError, IndexError):
            continue
        mount_point = mount_point.replace("\\040", " ")
        inside = real_dir == mount_point or real_dir.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best[0]:
            opts = set(options.split(","))
            safe = fstype == "ext4" and not ({"noauto_da_alloc", "data=writeback"} & opts)
            best = (len(mount_point), safe)
    return best[1]


def remove_stale_temp_files(path: str) -> list[str]:
    """Remove the temp files a killed writer left beside ``path``; the names removed. Call it only
    under the writers' lock (then no writer is between creating and renaming its temp file)."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory, name = os.path.split(target)
    pattern = temp_name_pattern(name)
    removed: list[str] = []
    try:
        with os.scandir(directory or ".") as entries:
            stale = [
                entry.path for entry in entries
                if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
            ]
    except OSError:
        return removed
    for stale_path in stale:
        with contextlib.suppress(OSError):
            os.unlink(stale_path)
            removed.append(stale_path)
    return removed


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600 if missing) for the block; yields True.

    When the lock file cannot be created because its directory is not writable (EACCES, EROFS),
    yields False without a lock: no writer can create a temp file there either, so there is
    nothing to serialise (a write that changes the file fails when it tries to persist)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except (PermissionError, OSError) as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
