"""Parsed config files, read once and kept while ``stat`` says they did not change.

A stat signature (inode, size, mtime, ctime) can lie: a file rewritten in place with the same size
within one timestamp tick keeps all four. Git calls such entries "racy" and so does this cache: a
signature taken less than :data:`RACY_WINDOW_NS` after the file's newest timestamp is not trusted
on its own; the next lookup re-reads the bytes and compares them with what was parsed (a changed
text is parsed again). Once a lookup happens a full window after the timestamps, the entry is
trusted and lookups cost one ``stat``.

The window is 2 s: Linux stamps ext4/XFS/btrfs times from a coarse clock (one scheduler tick,
1-10 ms; multigrain timestamps only since 6.13), but FAT/exFAT and SMB mounts keep 2 s and HFS+
1 s granularity, and an NFS server's clock may lag ours; 2 s covers them all at the price of one
extra ``read`` per lookup for two seconds after a file changes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from chamberlain.errors import ConfigFileError
from chamberlain.store.tomlfile import file_json, load_toml, version_of
from chamberlain.tomlengine import document_from_plain

__all__ = ["RACY_WINDOW_NS", "FileCache", "ParsedFile", "SessionFlagsDocument", "session_flags_document"]

#: A signature taken closer than this to the file's mtime/ctime is verified by content.
RACY_WINDOW_NS: Final = 2_000_000_000

Signature = tuple[int, int, int, int]


class ParsedFile:
    """One TOML file as read: its text, plain data (for the model), layer JSON and version (the
    hash is taken when first asked for: a write that checks no expectedVersion never needs the
    old file's). Treat as immutable."""

    __slots__ = ("_version", "json", "plain", "text")

    def __init__(self, text: str, plain: dict[str, Any], json: dict[str, Any], version: str | None = None) -> None:
        self.text = text
        self.plain = plain
        self.json = json
        self._version = version

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = version_of(self.json)
        return self._version

    def __repr__(self) -> str:
        return f"ParsedFile(text={self.text!r}, version={self._version!r})"

    @classmethod
    def from_plain(cls, text: str, plain: dict[str, Any]) -> ParsedFile:
        return cls(text, plain, file_json(text, plain))

    @classmethod
    def from_text(cls, text: str, path: str) -> ParsedFile:
        """Raises TomlParseError for a text that is not TOML."""
        return cls.from_plain(text, load_toml(text, path))

    @classmethod
    def from_document(cls, text: str, doc: SessionFlagsDocument) -> ParsedFile:
        return cls.from_plain(text, doc.plain)


@dataclass(slots=True)
class _Entry:
    signature: Signature
    parsed: ParsedFile
    #: wall-clock time (ns) the signature was last confirmed; racy while close to its timestamps.
    checked_ns: int

    def trusted(self) -> bool:
        newest = max(self.signature[2], self.signature[3])
        return self.checked_ns - newest >= RACY_WINDOW_NS


class FileCache:
    """Parsed files keyed by path, valid while the file's stat signature is unchanged (and, for a
    racy signature, while its bytes are)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def signature(self, path: str) -> Signature | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def signatures(self, paths: Sequence[str]) -> tuple[Signature | None, ...]:
        return tuple(self.signature(path) for path in paths)

    def trusted(self, path: str, signature: Signature | None) -> bool:
        """True when a lookup of ``path`` with this signature would answer from the cache
        without reading the file: it does not exist (None), or its entry has that signature
        and is past the racy window."""
        if signature is None:
            return True
        hit = self._entries.get(path)
        return hit is not None and hit.signature == signature and hit.trusted()

    def put(self, path: str, parsed: ParsedFile) -> None:
        """Record a file this process has just written (saves parsing it again)."""
        sig = self.signature(path)
        if sig is not None:
            self._entries[path] = _Entry(sig, parsed, time.time_ns())

    def get(self, path: str) -> ParsedFile | None:
        """The parsed file, or None when it does not exist. Raises TomlParseError / ConfigFileError."""
        now = time.time_ns()
        sig = self.signature(path)
        if sig is None:
            self._entries.pop(path, None)
            return None
        hit = self._entries.get(path)
        if hit is not None and hit.signature == sig:
            if hit.trusted():
                return hit.parsed
            text = _read_text(path)
            if text == hit.parsed.text:
                hit.checked_ns = now
                return hit.parsed
        else:
            text = _read_text(path)
        parsed = ParsedFile.from_text(text, path)
        self._entries[path] = _Entry(sig, parsed, now)
        return parsed


def _read_text(path: str) -> str:
    """A config file's text; failures in the reference's words (``ConfigFileError``)."""
    if not os.path.isfile(path):
        raise ConfigFileError(f"Failed to read config file {path}: path `{path}` is not a file")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        reason = f"{exc.strerror} (os error {exc.errno})" if exc.errno else str(exc)
        raise ConfigFileError(f"Failed to read config file {path}: {reason}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"Failed to read config file {path}: stream did not contain valid UTF-8") from None


@dataclass(frozen=True, slots=True)
class SessionFlagsDocument:
    """The ``sessionFlags`` layer's data, and its TOML text on demand."""

    plain: dict[str, Any]

    def as_string(self) -> str:
        return document_from_plain(self.plain).render()


def session_flags_document(overrides: Sequence[tuple[str, str]]) -> SessionFlagsDocument:
    """Build the ``sessionFlags`` layer from ``-c key.path=value`` pairs (value parsed as TOML,
    else taken as a literal string), in command-line order."""
    import tomllib

    doc: dict[str, Any] = {}
    for key_path, raw in overrides:
        try:
            value: Any = tomllib.loads(f"x = {raw}")["x"]
        except Exception:
            value = raw
        segments = [s.strip() for s in key_path.split(".")]
        table = doc
        for seg in segments[:-1]:
            nxt = table.get(seg)
            if not isinstance(nxt, dict):
                nxt = {}
                table[seg] = nxt
            table = nxt
        table[segments[-1]] = value
    return SessionFlagsDocument(doc)
