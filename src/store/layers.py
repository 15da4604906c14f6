"""Config layers (spec §3): where they come from, how they are read, merged, trusted and traced.

Files are parsed once and kept until ``stat`` says they changed (inode, size, mtime, ctime), so a
read with nothing changed on disk costs a few ``stat`` calls. No actors here; the ConfigActor owns
a :class:`LayerLoader` and calls it from one task at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from chamberlain.errors import ConfigFileError, TomlParseError
from chamberlain.store.filecache import FileCache, ParsedFile, session_flags_document
from chamberlain.store.ops import LayerRef, LayerSource, LayerView
from chamberlain.store.tomlfile import EMPTY_VERSION, is_leaf

__all__ = [
    "FileCache",
    "Layer",
    "LayerLoader",
    "LayerStack",
    "ParsedFile",
    "merge_values",
    "origins_of",
    "session_flags_document",
    "value_at",
]

DEFAULT_ROOT_MARKERS: Final = (".git",)
_UNTRUSTED: Final = (
    "{key} is marked as untrusted in the effective configuration. To load project-local config, "
    "hooks, and exec policies, update its trust setting. If that setting is managed by your "
    "organization, contact your administrator."
)
_NOT_TRUSTED: Final = (
    "To load project-local config, hooks, and exec policies, add {key} as a trusted project in {user}."
)


EMPTY_FILE: Final = ParsedFile("", {}, {}, EMPTY_VERSION)


@dataclass(frozen=True, slots=True)
class Layer:
    name: LayerSource
    file: ParsedFile
    disabled_reason: str | None = None

    @property
    def metadata(self) -> LayerRef:
        return LayerRef(self.name, self.file.version)

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None

    def view(self) -> LayerView:
        """The layer as config/read reports it with ``includeLayers``."""
        return LayerView(self.metadata, self.file.json, self.disabled_reason)


def merge_values(base: Any, overlay: Any) -> Any:
    """``merge_toml_values``: tables merge recursively, anything else replaces (arrays too)."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge_values(out[key], value) if key in out else value
        return out
    return overlay


def value_at(data: Any, segments: Sequence[str]) -> tuple[bool, Any]:
    """(found, value) at a key path of nested tables."""
    cur = data
    for seg in segments:
        if not isinstance(cur, dict) or seg not in cur:
            return False, None
        cur = cur[seg]
    return True, cur


def _leaves(value: Any, prefix: str) -> Iterator[str]:
    if is_leaf(value) and not isinstance(value, list):
        yield prefix
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, f"{prefix}.{key}" if prefix else key)
    else:  # arrays: elements are leaves addressed by index
        for i, sub in enumerate(value):
            yield from _leaves(sub, f"{prefix}.{i}")


def origins_of(layers: Sequence[Layer], hidden: frozenset[str] = frozenset()) -> dict[str, LayerRef]:
    """Dotted path of every leaf of each enabled layer -> the highest layer defining it (one
    ``LayerRef`` per layer, shared by its paths).

    ``layers`` is highest precedence first. Paths in ``hidden`` (pinned by requirements) and
    everything below them are left out.
    """
    out: dict[str, LayerRef] = {}
    for layer in layers:
        if not layer.enabled:
            continue
        meta = layer.metadata
        for path in _leaves(layer.file.json, ""):
            if path not in out and not _is_hidden(path, hidden):
                out[path] = meta
    return out


def _is_hidden(path: str, hidden: frozenset[str]) -> bool:
    if not hidden:
        return False
    if path in hidden:
        return True
    return any(path.startswith(h + ".") for h in hidden)


@dataclass(slots=True)
class LayerStack:
    """The layers of one read, highest precedence first."""

    layers: list[Layer]
    user: Layer
    merged: dict[str, Any] = field(default_factory=dict)

    def merge(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in reversed(self.layers):
            if layer.enabled:
                merged = merge_values(merged, layer.file.plain)
        self.merged = merged
        return merged

    def merged_json(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in reversed(self.layers):
            if layer.enabled:
                merged = merge_values(merged, layer.file.json)
        return merged

    def signature(self) -> tuple[Any, ...]:
        """Identifies the stack's content: which layers, their versions and whether enabled."""
        return tuple(
            (layer.name, layer.file.version, layer.disabled_reason) for layer in self.layers
        )


class LayerLoader:
    """Builds layer stacks for one server: user config, system dir, session flags, project dirs."""

    def __init__(
        self,
        codex_home: Path,
        system_dir: Path,
        session_flags: Sequence[tuple[str, str]] = (),
        cache: FileCache | None = None,
    ) -> None:
        self.codex_home = codex_home
        self.system_dir = system_dir
        self.user_path = str(codex_home / "config.toml")
        self.system_path = str(system_dir / "config.toml")
        self.managed_path = str(system_dir / "managed_config.toml")
        self.cache = cache or FileCache()
        flags_doc = session_flags_document(session_flags)
        self.session_flags: ParsedFile | None = (
            ParsedFile.from_document(flags_doc.as_string(), flags_doc) if session_flags else None
        )

    # -- the thread-agnostic stack ---------------------------------------------------------------

    def user_layer(self, user: ParsedFile | None) -> Layer:
        return Layer(LayerSource("user", self.user_path), user or EMPTY_FILE)

    def managed_file(self) -> ParsedFile | None:
        return self.cache.get(self.managed_path)

    def base_layers(self, user_override: ParsedFile | None = None) -> tuple[list[Layer], list[Layer]]:
        """(layers above the user layer, [user, system]) — no project layers.

        ``user_override`` replaces what is on disk (used to validate a write before persisting).
        Raises TomlParseError for an unparsable file.
        """
        above: list[Layer] = []
        managed = self.managed_file()
        if managed is not None:
            above.append(Layer(LayerSource("legacyManagedConfigTomlFromFile", self.managed_path), managed))
        if self.session_flags is not None:
            above.append(Layer(LayerSource("sessionFlags"), self.session_flags))
        user = user_override if user_override is not None else self.cache.get(self.user_path)
        system = self.cache.get(self.system_path)
        below = [
            self.user_layer(user),
            Layer(LayerSource("system", self.system_path), system or EMPTY_FILE),
        ]
        return above, below

    def stack(self, cwd: str | None = None, user_override: ParsedFile | None = None) -> LayerStack:
        above, below = self.base_layers(user_override)
        project: list[Layer] = []
        if cwd is not None:
            base = LayerStack(above + below, below[0])
            project = self._project_layers(Path(cwd), base.merge())
        layers = above + project + below
        return LayerStack(layers, below[0])

    # -- project layers (§3.3) -------------------------------------------------------------------

    def _project_layers(self, cwd: Path, base: Mapping[str, Any]) -> list[Layer]:
        markers = base.get("project_root_markers", list(DEFAULT_ROOT_MARKERS))
        if not isinstance(markers, list):
            markers = list(DEFAULT_ROOT_MARKERS)
        root = _project_root(cwd, [m for m in markers if isinstance(m, str)])
        repo = _git_root(cwd)
        home = _real(self.codex_home)
        trust = _trust_table(base.get("projects"))
        dirs = [root]
        if cwd != root:
            rel = cwd.relative_to(root).parts
            for i in range(1, len(rel) + 1):
                dirs.append(root.joinpath(*rel[:i]))
        layers: list[Layer] = []
        for d in reversed(dirs):  # closest to cwd first
            dot = d / ".codex"
            if not dot.is_dir() or _real(dot) == home:
                continue
            decided = _trust_decision(d, root, repo, trust)
            reason: str | None
            if decided is None:
                key = repo or root
                reason = _NOT_TRUSTED.format(key=key, user=self.user_path)
            elif decided[1] != "trusted":
                reason = _UNTRUSTED.format(key=decided[0])
            else:
                reason = None
            cfg = str(dot / "config.toml")
            try:
                parsed = self.cache.get(cfg) or EMPTY_FILE
            except (TomlParseError, ConfigFileError):
                if reason is None:
                    raise
                parsed = EMPTY_FILE
            layers.append(Layer(LayerSource("project", folder=str(dot)), parsed, reason))
        return layers


def _real(p: Path) -> str:
    try:
        return os.path.realpath(p)
    except OSError:
        return str(p)


def _is_git_marker(d: Path) -> bool:
    git = d / ".git"
    return git.is_file() or (git / "HEAD").is_file()


def _has_marker(d: Path, marker: str) -> bool:
    if marker == ".git":
        return _is_git_marker(d)
    return os.path.lexists(d / marker)


def _project_root(cwd: Path, markers: list[str]) -> Path:
    if markers:
        for d in (cwd, *cwd.parents):
            if any(_has_marker(d, m) for m in markers):
                return d
    return cwd


def _git_root(cwd: Path) -> Path | None:
    for d in (cwd, *cwd.parents):
        if _is_git_marker(d):
            return d
    return None


def _trust_table(projects: Any) -> dict[str, tuple[str, str]]:
    """canonical path -> (path as written, trust level)."""
    out: dict[str, tuple[str, str]] = {}
    if isinstance(projects, dict):
        for key, entry in projects.items():
            if isinstance(entry, dict) and isinstance(entry.get("trust_level"), str):
                out[_real(Path(key))] = (key, entry["trust_level"])
    return out


def _trust_decision(
    d: Path, root: Path, repo: Path | None, trust: Mapping[str, tuple[str, str]]
) -> tuple[str, str] | None:
    for candidate in (d, root, repo):
        if candidate is None:
            continue
        hit = trust.get(_real(candidate))
        if hit is not None:
            return hit
    return None
