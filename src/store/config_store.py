"""What the config methods do, on files: read the effective config, write the user layer, compute
requirements and startup warnings. Blocking and single-threaded by design: the ConfigActor calls
it from one task at a time (writes in a worker thread, under the cross-process lock)."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from chamberlain import tomlengine
from chamberlain.errors import (
    ConfigFileError,
    ConfigModelError,
    ConfigWriteError,
    InternalError,
    RequirementsError,
    TomlParseError,
)
from chamberlain.store import model
from chamberlain.store.atomic import atomic_write, file_lock, remove_stale_temp_files
from chamberlain.store.features import RUNTIME_KEYS, effective_features
from chamberlain.store.filecache import ParsedFile
from chamberlain.store.keypath import KeyPathError, parse_key_path
from chamberlain.store.layers import Layer, LayerLoader, LayerStack, merge_values, origins_of, value_at
from chamberlain.store.ops import ConfigView, Edit, LayerKind, Override, StartupWarning, WriteOutcome
from chamberlain.store.requirements import Requirements, load_requirements, unrecognized_settings_warning
from chamberlain.store.resolve import resolution_error
from chamberlain.store.toml_edit import EditDocument, EditError
from chamberlain.store.tomlfile import locate, plain_json

READONLY: Final = "configLayerReadonly"
CONFLICT: Final = "configVersionConflict"
VALIDATION: Final = "configValidationError"
REQUIREMENT_READONLY: Final = "configRequirementReadonly"

_USING_DEFAULTS: Final = "Invalid configuration; using defaults."
#: Top-level keys a write may clear but not set, and why.
_LEGACY_KEYS: Final = {
    key: f"`{key}` {what} and can no longer be written; use `--profile <name>` with `<name>.config.toml` instead"
    for key, what in (("profile", "is a legacy config selector"), ("profiles", "contains legacy config profile tables"))
}
#: The reference's okOverridden message per kind of overriding layer (its MDM, enterprise and
#: packaged-defaults layers do not exist here).
_OVERRIDE_MESSAGES: Final[Mapping[LayerKind, str]] = {
    "sessionFlags": "Overridden by session flags",
    "legacyManagedConfigTomlFromFile": "Overridden by legacy managed_config.toml: {file}",
    "system": "Overridden by managed config (system): {file}",
    "project": "Overridden by project config: {folder}/config.toml",
    "user": "Overridden by user config: {file}",
}
#: How unknown-key warnings name a layer (None: the layer is not named).
_LAYER_LABELS: Final[Mapping[LayerKind, str]] = {
    "user": "user ({file})",
    "system": "system ({file})",
    "legacyManagedConfigTomlFromFile": "legacy managed_config.toml ({file})",
    "sessionFlags": "session-flags",
}


#: Entries of the session-check memo before it is cleared.
_CACHE_ENTRIES: Final = 64
#: Numbers for content keys, never given twice in a process.
_KEY_NUMBERS: Final = itertools.count(1)


@dataclass(frozen=True, slots=True)
class PreparedRead:
    """A read's loaded stack and requirements; ``key`` identifies their content (a number
    given once per content, so that caching on it costs no hashing of the stack)."""

    stack: LayerStack
    reqs: Requirements
    key: int


logger = logging.getLogger(__name__)


class ConfigStore:
    def __init__(self, codex_home: Path, system_dir: Path, session_flags: Sequence[tuple[str, str]] = ()) -> None:
        self.loader = LayerLoader(codex_home, system_dir, session_flags)
        self.system_dir = system_dir
        self.lock_path = str(codex_home / "config.toml.lock")
        self._requirements: tuple[Any, Requirements] | None = None
        #: bumped whenever requirements are reloaded: part of the read-cache key.
        self._requirements_generation = 0
        #: results memoised by content key (`_memo`)
        self._session_problems: dict[Any, str | None] = {}
        self._requirements_wire: dict[Any, dict[str, Any] | None] = {}
        self.requirements_path = str(system_dir / "requirements.toml")
        #: what the thread-agnostic stack and the requirements are read from, in ``stat`` order.
        self._watched = (self.loader.managed_path, self.loader.user_path, self.loader.system_path)
        #: the last thread-agnostic PreparedRead and the signatures of the files it was read from.
        self._last_read: tuple[tuple[Any, ...], PreparedRead] | None = None
        #: the last ``warnings()`` and the signatures of the files they were computed from.
        self._last_warnings: tuple[tuple[Any, ...], list[StartupWarning]] | None = None
        #: content key -> the number standing for it in ``PreparedRead.key``.
        self._keys: dict[tuple[Any, ...], int] = {}
        #: relative paths in config files resolve against the user config directory.
        self._base_dir = str(codex_home)

    @property
    def user_path(self) -> str:
        return self.loader.user_path

    # -- requirements -------------------------------------------------------------------------

    def requirements(self) -> Requirements:
        """Requirements from the system dir, re-read when a file changed. Raises RequirementsError
        (or TomlParseError) when they are invalid."""
        cache = self.loader.cache
        sig = (cache.signature(self.requirements_path), cache.signature(self.loader.managed_path))
        if self._requirements is not None and self._requirements[0] == sig:
            return self._requirements[1]
        managed = self.loader.cache.get(self.loader.managed_path)
        reqs = load_requirements(self.system_dir, managed.plain if managed is not None else None)
        self._requirements = (sig, reqs)
        self._requirements_generation += 1
        return reqs

    def check_startup(self) -> None:
        """What makes the reference refuse to start (RequirementsError): invalid requirements, or
        ``-c`` overrides that do not fit the config model on their own (``-c model=5``).

        A requirements file that is not TOML does not: the server starts "using defaults" and
        config reads fail until it is fixed, as the reference does."""
        with contextlib.suppress(TomlParseError):
            self.requirements()
        flags = self.loader.session_flags
        if flags is not None:
            try:  # the reference deserializes the -c overrides on their own before it starts
                model.render_config(flags.plain, base_dir=self._base_dir)
            except ConfigModelError as exc:
                raise RequirementsError(str(exc)) from None

    # -- reads --------------------------------------------------------------------------------

    def _stack(self, cwd: str | None, *, context: str) -> LayerStack:
        try:
            return self.loader.stack(cwd)
        except (TomlParseError, ConfigFileError, OSError) as exc:
            raise InternalError(f"{context}: {exc}") from None

    def _load(self, cwd: str | None) -> tuple[LayerStack, Requirements]:
        """The stack and requirements of a read; failures are -32603 ``failed to read configuration layers``."""
        context = "failed to read configuration layers"
        stack = self._stack(cwd, context=context)
        try:
            return stack, self.requirements()
        except (RequirementsError, TomlParseError) as exc:
            raise InternalError(f"{context}: {exc}") from None

    def effective(self, stack: LayerStack, reqs: Requirements, runtime: Mapping[str, bool]) -> dict[str, Any]:
        """The ``config`` object of config/read for a stack. Raises ConfigModelError."""
        merged = stack.merge()
        config = model.render_config(merged, base_dir=self._base_dir)
        effective = effective_features(merged, reqs.feature_pins(), runtime)
        features = {**(config.get("features") or {}), **{key: effective[key] for key in RUNTIME_KEYS}}
        config["features"] = dict(sorted(features.items()))
        return reqs.apply_pins(config)

    def prepare_read(self, cwd: str | None) -> PreparedRead:
        """Load what a config/read needs (a few ``stat`` calls when nothing changed). Raises
        InternalError (-32603). Equal ``key``s mean equal results: the caller may cache on it.

        Without a cwd, when the four files' signatures are those of the last read and the cache
        trusts every one of them (the racy window is over), that read is the answer: the stack
        is not rebuilt."""
        if cwd is not None:
            return self._prepare(os.path.abspath(cwd))
        sigs = self._signatures()
        last = self._last_read
        if last is not None and self._unchanged(last[0], sigs):
            return last[1]
        prepared = self._prepare(None)
        self._last_read = (sigs, prepared)
        return prepared

    def _signatures(self) -> tuple[Any, ...]:
        cache = self.loader.cache
        return (*cache.signatures(self._watched), cache.signature(self.requirements_path))

    def _unchanged(self, then: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
        """The files have the signatures they had when a result was made, and the cache trusts
        every one of them (the racy window is over): that result still holds."""
        return then == now and all(map(self.loader.cache.trusted, self._watched, now))

    def _prepare(self, cwd: str | None) -> PreparedRead:
        stack, reqs = self._load(cwd)
        content = (cwd, stack.signature(), self._requirements_generation)
        # once the memo is cleared, a content seen again gets a new number: a cache miss, no more
        return PreparedRead(stack, reqs, _memo(self._keys, content, lambda: next(_KEY_NUMBERS)))

    def read(
        self, prepared: PreparedRead, include_layers: bool, runtime: Mapping[str, bool],
        config: dict[str, Any] | None = None,
    ) -> ConfigView:
        """config/read: the effective config (``config`` when the caller has it already), its
        origins and (when asked) the layers. Raises InternalError (-32603)."""
        stack, reqs = prepared.stack, prepared.reqs
        try:
            config = self.effective(stack, reqs, runtime) if config is None else config
        except ConfigModelError as exc:
            raise InternalError(f"invalid configuration: {exc}") from None
        problem = resolution_error(config)
        if problem is not None:
            raise InternalError(f"failed to resolve feature override precedence: {problem}")
        origins = origins_of(stack.layers, frozenset(reqs.exact_pins))
        layers = [layer.view() for layer in stack.layers] if include_layers else None
        return ConfigView(config, origins, layers)

    def read_requirements(self, prepared: PreparedRead | None = None) -> dict[str, Any] | None:
        """configRequirements/read. Needs the layers to load (a file that is not TOML is -32603)
        but not the config model: with a type error in ``config.toml`` the reference still
        answers, narrowing the login methods by the defaults instead of ``forced_login_method``.
        ``prepared``: the thread-agnostic ``prepare_read(None)`` the caller already made."""
        if prepared is None:
            prepared = self.prepare_read(None)
        return _memo(self._requirements_wire, prepared.key, lambda: self._requirements_of(prepared))

    def _requirements_of(self, prepared: PreparedRead) -> dict[str, Any] | None:
        try:
            config = model.render_config(prepared.stack.merge(), base_dir=self._base_dir)
        except ConfigModelError:
            config = {}
        try:
            return prepared.reqs.wire(config)
        except RequirementsError as exc:
            raise InternalError(f"failed to read configuration layers: {exc}") from None

    def check_loadable(self, context: str) -> None:
        """Load the thread-agnostic stack; InternalError(``<context>: <why>``) when it fails."""
        self._stack(None, context=context)

    def check_session(self, context: str, runtime: Mapping[str, bool]) -> None:
        """What the reference checks when it builds a session's config from the thread-agnostic
        stack (experimentalFeature/list, enablement/set): InternalError(``<context>: <why>``) with
        the reasons worded as the startup warning's details (``<path>:<line>:<col>: <error>``)."""
        problem = self._session_problem(runtime)
        if problem is not None:
            raise InternalError(f"{context}: {problem}")

    def _session_problem(self, runtime: Mapping[str, bool]) -> str | None:
        try:
            prepared = self.prepare_read(None)
        except InternalError:  # a layer or the requirements do not load: not worth caching
            failure = self._load_failure()
            return failure.details if failure is not None else None

        def problem() -> str | None:
            failure = self._load_failure()
            if failure is not None:
                return failure.details
            return resolution_error(self.effective(prepared.stack, prepared.reqs, runtime))

        return _memo(self._session_problems, (prepared.key, tuple(sorted(runtime.items()))), problem)

    def feature_states(self, runtime: Mapping[str, bool], cwd: str | None = None) -> dict[str, bool]:
        stack, reqs = self._load(cwd)
        return effective_features(stack.merge(), reqs.feature_pins(), runtime)

    # -- writes (blocking: call in a worker thread) ---------------------------------------------

    #: the settled model of the last write and its text: the next write on that same text edits
    #: it instead of scanning the file again (used once: a model is edited in place).
    _spare: tuple[str, tomlengine.Document] | None = None

    def write(
        self, edits: Sequence[Edit], file_path: str | None, expected_version: str | None,
        refuse_overridden: bool = False,
    ) -> WriteOutcome:
        """config/value/write and config/batchWrite: all edits or none (spec §5.3).
        ``refuse_overridden``: a write whose outcome would be okOverridden is refused instead
        (``Cannot configure `<key>`: <why>``, configLayerReadonly) and nothing is written."""
        target = self._check_target(file_path)
        try:
            with file_lock(self.lock_path) as locked:
                if locked:
                    remove_stale_temp_files(self.user_path)  # a killed writer's (none is mid-write now)
                return self._write_locked(edits, target, expected_version, refuse_overridden)
        except OSError as exc:  # the lock file cannot be opened or locked
            logger.info("cannot lock %s: %s", self.lock_path, exc)
            raise _persist_error(self.user_path) from None

    def _check_target(self, file_path: str | None) -> str:
        if file_path is None:
            return self.user_path
        normalized = os.path.normpath(file_path) if os.path.isabs(file_path) else None
        if normalized is None or os.path.realpath(normalized) != os.path.realpath(self.user_path):
            raise ConfigWriteError(READONLY, "Only writes to the user config are allowed")
        return normalized

    def _write_locked(
        self, edits: Sequence[Edit], target: str, expected_version: str | None, refuse_overridden: bool
    ) -> WriteOutcome:
        try:
            above, below = self.loader.base_layers()
            reqs = self.requirements()
        except (TomlParseError, RequirementsError, ConfigFileError, OSError) as exc:
            raise InternalError(f"failed to load configuration: {exc}") from None
        current = below[0].file
        if expected_version is not None and expected_version != current.version:
            raise ConfigWriteError(
                CONFLICT, "Configuration was modified since last read. Fetch latest version and retry."
            )
        spare, self._spare = self._spare, None
        doc = EditDocument(current.text, current.plain, spare[1] if spare and spare[0] == current.text else None)
        pins = reqs.exact_pins
        paths = [self._apply_one(doc, edit, pins) for edit in edits]
        new_text = doc.text()
        changed = new_text != current.text
        # the reply's version is the edited document's data, as the reference's; the cache and the
        # validation see what is on disk (the same unless a removal left an unrendered table)
        new_user = ParsedFile.from_plain(new_text, doc.plain) if doc.changed else current
        # validated even when nothing changes: the reference refuses a no-op write over an invalid
        # config.toml (and answers ok to one on a valid file, even in a read-only home)
        on_disk = new_user if not changed or doc.exact else self._reparse(new_text)
        self._validate(on_disk, [*above, below[1]], reqs)
        if refuse_overridden:
            _refuse_overridden(paths, new_user, above)
        if changed:
            try:
                atomic_write(self.user_path, new_text.encode())
            except OSError as exc:
                logger.info("cannot persist %s: %s", self.user_path, exc)
                raise _persist_error(self.user_path) from None
            if doc.reload_error() is None:  # else the next load reads the file and refuses it
                self.loader.cache.put(self.user_path, on_disk)
            settled = doc.settled_model()
            self._spare = (new_text, settled) if settled is not None else None
        status, overridden = _override_status(paths, new_user, [*above])
        return WriteOutcome(status, new_user.version, target, overridden, changed)

    def _reparse(self, text: str) -> ParsedFile:
        try:
            return ParsedFile.from_text(text, self.user_path)
        except TomlParseError as exc:  # the engine wrote text it cannot read back: a bug
            raise InternalError(f"failed to persist config.toml: {exc}") from None

    def _apply_one(self, doc: EditDocument, edit: Edit, pins: Mapping[str, Any]) -> list[str]:
        try:
            segments = parse_key_path(edit.key_path)
        except KeyPathError as exc:
            raise ConfigWriteError(VALIDATION, str(exc)) from None
        dotted = ".".join(segments)
        for pinned in pins:
            if dotted == pinned or dotted.startswith(pinned + "."):
                raise ConfigWriteError(
                    REQUIREMENT_READONLY, f"`{pinned}` is managed by requirements and cannot be changed"
                )
        if edit.value is not None and segments[0] in _LEGACY_KEYS:
            raise ConfigWriteError(VALIDATION, _LEGACY_KEYS[segments[0]])
        try:
            doc.edit(segments, edit.value, edit.merge_strategy)  # type: ignore[arg-type]
        except EditError as exc:
            raise ConfigWriteError(VALIDATION, str(exc)) from None
        return segments

    def _validate(self, new_user: ParsedFile, others: Sequence[Layer], reqs: Requirements) -> None:
        """The new user file alone, then merged with the other enabled layers (skipped when they
        are all empty: the merge would be the user file again)."""
        try:
            model.render_config(new_user.plain, base_dir=self._base_dir)
            features = new_user.plain.get("features")
            if isinstance(features, dict):
                problem = reqs.check_features(features)
                if problem is not None:
                    raise ConfigWriteError(VALIDATION, f"Invalid configuration: {problem}")
            enabled = [layer for layer in others if layer.enabled and layer.file.plain]
            if enabled:
                user = self.loader.user_layer(new_user)
                stack = LayerStack([*others[:-1], user, others[-1]], user)
                model.render_config(stack.merge(), base_dir=self._base_dir)
        except ConfigModelError as exc:
            raise ConfigWriteError(VALIDATION, f"Invalid configuration: {exc}") from None

    # -- startup warnings (§9) ------------------------------------------------------------------

    def warnings_if_unchanged(self) -> list[StartupWarning] | None:
        """The last ``warnings()`` when none of the files they came from changed (a few ``stat``
        calls: fine on the event loop), else None. Many clients initializing at once then cost one
        computation, not one each."""
        last = self._last_warnings
        if last is not None and self._unchanged(last[0], self._signatures()):
            return last[1]
        return None

    def warnings(self) -> list[StartupWarning]:
        """The configWarning notifications for a new connection (spec §9), from the files as they
        are now."""
        sigs = self._signatures()
        out = self._compute_warnings()
        self._last_warnings = (sigs, out)
        return out

    def _compute_warnings(self) -> list[StartupWarning]:
        failure = self._load_failure()
        if failure is not None:
            return [failure]
        stack, reqs = self.loader.stack(None), self.requirements()
        merged = stack.merge()
        before_pins = model.render_config(merged, base_dir=self._base_dir)
        lines: list[str] = []
        for layer in stack.layers:
            label = _LAYER_LABELS.get(layer.name.kind)
            if label is not None and layer.enabled:
                named = label.format(file=layer.name.file)
                lines += [f"  {named}: `{key}` is ignored." for key in model.unknown_keys(layer.file.plain)]
        lines += reqs.unknown_setting_lines()
        out: list[StartupWarning] = []
        summary = unrecognized_settings_warning(lines)
        if summary is not None:
            out.append(StartupWarning(summary))
        out += [StartupWarning(text) for text in reqs.warnings(before_pins, configured=merged)]
        return out

    def _load_failure(self) -> StartupWarning | None:
        """The "using defaults" warning when the thread-agnostic config does not load, else None.
        Its ``details`` is also the reason the feature methods give (``check_session``)."""
        try:
            stack = self.loader.stack(None)
        except TomlParseError as exc:
            return StartupWarning(_USING_DEFAULTS, str(exc), exc.path, exc.line, exc.column, exc.column)
        except (ConfigFileError, OSError) as exc:
            return StartupWarning(_USING_DEFAULTS, str(exc))
        try:
            self.requirements()
        except (TomlParseError, RequirementsError) as exc:
            return StartupWarning(_USING_DEFAULTS, str(exc))
        user = stack.user.file
        try:
            model.render_config(user.plain, base_dir=self._base_dir)
        except ConfigModelError as exc:
            line, start, end = locate(user.text, exc.path)
            return StartupWarning(_USING_DEFAULTS, f"{self.user_path}:{line}:{start}: {exc.detail}",
                                  self.user_path, line, start, end)
        try:
            model.render_config(stack.merge(), base_dir=self._base_dir)
        except ConfigModelError as exc:
            return StartupWarning(_USING_DEFAULTS, str(exc).rstrip("\n"))
        return None


def _persist_error(path: str) -> InternalError:
    """The reference's text when the new file cannot be written (it gives no OS reason)."""
    return InternalError(f"failed to persist config.toml: failed to persist config at {path}")


_Value = TypeVar("_Value")


def _memo(cache: dict[Any, _Value], key: Any, compute: Callable[[], _Value]) -> _Value:
    """``cache[key]``, computed once; the cache is emptied when it holds `_CACHE_ENTRIES`."""
    if key in cache:
        return cache[key]
    if len(cache) >= _CACHE_ENTRIES:
        cache.clear()
    value = cache[key] = compute()
    return value


def _refuse_overridden(paths: Sequence[Sequence[str]], user: ParsedFile, above: Sequence[Layer]) -> None:
    for segments in paths:
        _, overridden = _override_status([segments], user, above)
        if overridden is not None:
            raise ConfigWriteError(READONLY, f"Cannot configure `{'.'.join(segments)}`: {overridden.message}")


def _override_status(
    paths: Sequence[Sequence[str]], user: ParsedFile, above: Sequence[Layer]
) -> tuple[Literal["ok", "okOverridden"], Override | None]:
    """okOverridden from the first edited path whose effective value is not the user's (§5.3 step 7):
    the user's value merged with each higher layer's, lowest first; named by the highest layer."""
    higher = [layer for layer in above if layer.enabled]
    for segments in paths:
        found = [(layer, v) for layer in higher for f, v in [value_at(layer.file.json, segments)] if f]
        if not found:
            continue
        user_found, merged = value_at(user.json, segments)
        user_value = merged
        for i, (_, v) in enumerate(reversed(found)):
            merged = merge_values(merged, v) if user_found or i else v
        if not user_found or merged != user_value:
            source = found[0][0].name
            message = _OVERRIDE_MESSAGES[source.kind].format(file=source.file, folder=source.folder)
            return "okOverridden", Override(message, found[0][0].metadata, plain_json(merged))
    return "ok", None
