"""Config layers (spec §3): where they come from, how they are read, merged, trusted and traced.

Files are parsed once and kept until ``stat`` says they changed (inode, size, mtime, ctime), so a
read with nothing changed on disk costs a few ``stat`` calls. No actors here; the ConfigActor owns
a :class:`LayerLoader` and calls it from one task at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chamberlain.errors import ConfigFileError, TomlParseError
from chamberlain.store.filecache import FileCache, ParsedFile, session_flags_document
from chamberlain.store.ops import LayerRef, LayerSource, LayerView
from chamberlain.store.tomlfile import DATETIME_KEY, EMPTY_VERSION

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
    """Tables are walked (the Number quirk's too), datetimes (``{DATETIME_KEY: text}``) are leaves."""
    if isinstance(value, dict) and not (len(value) == 1 and DATETIME_KEY in value):
        for key, sub in value.items():
            yield from _leaves(sub, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):  # elements are leaves addressed by index
        for i, sub in enumerate(value):
            yield from _leaves(sub, f"{prefix}.{i}")
    else:
        yield prefix


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
            if path not in out and not (hidden and any(path == h or path.startswith(h + ".") for h in hidden)):
                out[path] = meta
    return out


@dataclass(slots=True)
class LayerStack:
    """The layers of one read, highest precedence first."""

    layers: list[Layer]
    user: Layer

    def merge(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in reversed(self.layers):
            if layer.enabled:
                merged = merge_values(merged, layer.file.plain)
        return merged

    def signature(self) -> tuple[Any, ...]:
        """Identifies the stack's content: which layers, their versions and whether enabled."""
        return tuple((layer.name, layer.file.version, layer.disabled_reason) for layer in self.layers)


class LayerLoader:
    """Builds layer stacks for one server: user config, system dir, session flags, project dirs."""

    def __init__(self, codex_home: Path, system_dir: Path, session_flags: Sequence[tuple[str, str]] = ()) -> None:
        self.codex_home = codex_home
        self.user_path = str(codex_home / "config.toml")
        self.system_path = str(system_dir / "config.toml")
        self.managed_path = str(system_dir / "managed_config.toml")
        self.cache = FileCache()
        flags_doc = session_flags_document(session_flags)
        self.session_flags: ParsedFile | None = (
            ParsedFile.from_document(flags_doc.as_string(), flags_doc) if session_flags else None
        )

    # -- the thread-agnostic stack ---------------------------------------------------------------

    def user_layer(self, user: ParsedFile | None) -> Layer:
        return Layer(LayerSource("user", self.user_path), user or EMPTY_FILE)

    def base_layers(self) -> tuple[list[Layer], list[Layer]]:
        """(layers above the user layer, [user, system]) — no project layers. Raises
        TomlParseError for an unparsable file."""
        above: list[Layer] = []
        managed = self.cache.get(self.managed_path)
        if managed is not None:
            above.append(Layer(LayerSource("legacyManagedConfigTomlFromFile", self.managed_path), managed))
        if self.session_flags is not None:
            above.append(Layer(LayerSource("sessionFlags"), self.session_flags))
        system = self.cache.get(self.system_path)
        user = self.user_layer(self.cache.get(self.user_path))
        return above, [user, Layer(LayerSource("system", self.system_path), system or EMPTY_FILE)]

    def stack(self, cwd: str | None = None) -> LayerStack:
        above, below = self.base_layers()
        project: list[Layer] = []
        if cwd is not None:
            project = self._project_layers(Path(cwd), LayerStack(above + below, below[0]).merge())
        return LayerStack(above + project + below, below[0])

    # -- project layers (§3.3) -------------------------------------------------------------------

    def _project_layers(self, cwd: Path, base: Mapping[str, Any]) -> list[Layer]:
        markers = base.get("project_root_markers")
        markers = markers if isinstance(markers, list) else DEFAULT_ROOT_MARKERS
        root = _marked_dir(cwd, [m for m in markers if isinstance(m, str)]) or cwd
        repo = _marked_dir(cwd, [".git"])
        home = os.path.realpath(self.codex_home)
        trust = _trust_table(base.get("projects"))
        layers: list[Layer] = []
        for d in (cwd, *cwd.parents[: len(cwd.relative_to(root).parts)]):  # closest to cwd first
            dot = d / ".codex"
            if not dot.is_dir() or os.path.realpath(dot) == home:
                continue
            # the trust entry of the folder, else of the project root, else of the repository
            real = [os.path.realpath(c) for c in (d, root, repo) if c is not None]
            decided = next((trust[r] for r in real if r in trust), None)
            reason: str | None = None
            if decided is None:
                reason = _NOT_TRUSTED.format(key=repo or root, user=self.user_path)
            elif decided[1] != "trusted":
                reason = _UNTRUSTED.format(key=decided[0])
            cfg = str(dot / "config.toml")
            try:
                parsed = self.cache.get(cfg) or EMPTY_FILE
            except (TomlParseError, ConfigFileError):
                if reason is None:
                    raise
                parsed = EMPTY_FILE
            layers.append(Layer(LayerSource("project", folder=str(dot)), parsed, reason))
        return layers


def _has_marker(d: Path, marker: str) -> bool:
    if marker == ".git":
        return (d / ".git").is_file() or (d / ".git" / "HEAD").is_file()
    return os.path.lexists(d / marker)


def _marked_dir(cwd: Path, markers: list[str]) -> Path | None:
    """The closest of ``cwd`` and its parents holding one of ``markers``."""
    return next((d for d in (cwd, *cwd.parents) if any(_has_marker(d, m) for m in markers)), None)


def _trust_table(projects: Any) -> dict[str, tuple[str, str]]:
    """canonical path -> (path as written, trust level)."""
    out: dict[str, tuple[str, str]] = {}
    if isinstance(projects, dict):
        for key, entry in projects.items():
            if isinstance(entry, dict) and isinstance(entry.get("trust_level"), str):
                out[os.path.realpath(Path(key))] = (key, entry["trust_level"])
    return out


def project_trust(cwd: Path, base: Mapping[str, Any]) -> tuple[str | None, Path]:
    """(the trust level decided for ``cwd`` — its own entry, else its project root's, else its
    repository's; None when undecided — and its project root), from the ``projects`` table and
    ``project_root_markers`` of the merged ``base`` config."""
    markers = base.get("project_root_markers")
    markers = markers if isinstance(markers, list) else DEFAULT_ROOT_MARKERS
    root = _marked_dir(cwd, [m for m in markers if isinstance(m, str)]) or cwd
    repo = _marked_dir(cwd, [".git"])
    trust = _trust_table(base.get("projects"))
    real = [os.path.realpath(c) for c in (cwd, root, repo) if c is not None]
    decided = next((trust[r] for r in real if r in trust), None)
    return (None if decided is None else decided[1]), root
