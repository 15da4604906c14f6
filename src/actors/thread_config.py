"""What a loaded thread is (spec config.md §10): its id, cwd, its layer stack (the cwd's project
layers, the session flags with the ``config`` overrides of ``thread/start`` merged on top, the
user and system layers), the effective config computed from it, and the session settings resolved
once at ``thread/start`` (model, sandbox, approvals… — session-static, never hot-reloaded).

Pure functions over the store's values; the ConfigActor calls :func:`resolve` (it owns the
store's files), the ThreadRegistryActor the rest. No wire names here (``protocol/thread.py``).
The store's modules are imported when first used (a server starts without them).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chamberlain.errors import ConfigModelError, InternalError, InvalidRequest
from chamberlain.store.ops import LayerSource

if TYPE_CHECKING:
    from chamberlain.store.config_store import ConfigStore
    from chamberlain.store.layers import Layer, LayerStack
    from chamberlain.store.requirements import Requirements

__all__ = [
    "DEFAULT_MODEL",
    "LoadedThread",
    "SandboxSettings",
    "ThreadConfig",
    "ThreadSettings",
    "feature_states",
    "instruction_sources",
    "new_thread_id",
    "resolve",
    "rollout_path",
    "settings_of",
    "unknown_settings_message",
    "with_user_layer",
]

logger = logging.getLogger(__name__)

#: The model of a thread when no layer and no param names one (0.169.0, with or without a key).
DEFAULT_MODEL: Final = "gpt-6.1-sol"
#: Providers known without a ``[model_providers]`` entry.
BUILTIN_PROVIDERS: Final = frozenset({"openai", "ollama", "lmstudio", "amazon-bedrock"})
#: Instruction files looked for in a directory, the first present wins.
_DOC_NAMES: Final = ("AGENTS.override.md", "AGENTS.md")
APPROVAL_POLICIES: Final = ("untrusted", "on-request", "never")
#: Service tiers the reference reports under another name.
SERVICE_TIER_ALIASES: Final = {"fast": "priority"}

Effective = Callable[["LayerStack", "Requirements", Mapping[str, bool]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ThreadConfig:
    """A thread's layers and the effective config computed from them (its snapshot)."""

    stack: LayerStack
    reqs: Requirements
    runtime: Mapping[str, bool]
    effective: dict[str, Any]
    #: the trust level decided for the cwd (None: no entry) and its project root
    trust: str | None
    project_root: str


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    mode: str
    #: the implicit built-in profile (``:read-only``, ``:workspace``); None when the mode was chosen
    profile: str | None
    writable_roots: tuple[str, ...] = ()
    network_access: bool = False
    exclude_tmpdir_env_var: bool = False
    exclude_slash_tmp: bool = False


@dataclass(frozen=True, slots=True)
class ThreadSettings:
    """Resolved at thread/start; a reload leaves them alone (§10.1)."""

    model: str
    model_provider: str
    service_tier: str | None
    reasoning_effort: str | None
    approval_policy: Any
    approvals_reviewer: str
    sandbox: SandboxSettings
    instruction_sources: tuple[str, ...]
    #: the cwd, then ``sandbox_workspace_write.writable_roots`` (whatever the sandbox mode)
    runtime_workspace_roots: tuple[str, ...]


@dataclass(slots=True)
class LoadedThread:
    id: str
    cwd: str
    ephemeral: bool
    path: str | None
    created_at: int
    originator: str
    thread_source: str | None
    settings: ThreadSettings
    #: replaced by a reload (user layer only)
    config: ThreadConfig
    #: the ``config`` of thread/start (dotted keys), kept to re-read the thread's config from disk
    overrides: Mapping[str, Any] | None = None
    history_mode: str = "paginated"


@dataclass(frozen=True, slots=True)
class StartRequest:
    """What of thread/start's params shapes the thread (decoded, checked)."""

    cwd: str
    model: str | None = None
    model_provider: str | None = None
    service_tier: str | None = None
    approval_policy: Any = None
    approvals_reviewer: str | None = None
    sandbox: str | None = None
    config: Mapping[str, Any] | None = None
    ephemeral: bool = False
    thread_source: str | None = None
    #: a permission profile id (experimental; never with ``sandbox``)
    permissions: str | None = None
    #: ``legacy`` | ``paginated`` (experimental), as the thread reports it
    history_mode: str = "paginated"


# -- layers ---------------------------------------------------------------------------------------


def _nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"features.memories": true}`` -> ``{"features": {"memories": true}}`` (JSON nulls dropped:
    TOML has no null)."""
    from chamberlain.store.layers import merge_values

    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        cur: dict[str, Any] = {}
        root = cur
        for seg in parents:
            cur[seg] = {}
            cur = cur[seg]
        cur[leaf] = value
        out = merge_values(out, root)
    return out


def with_overrides(stack: LayerStack, overrides: Mapping[str, Any] | None) -> LayerStack:
    """The stack with the thread's ``config`` merged over the session flags layer (one
    ``sessionFlags`` layer, as the reference's unknown-key warning names it)."""
    from chamberlain.store.filecache import ParsedFile
    from chamberlain.store.layers import Layer, LayerStack, merge_values

    if not overrides:
        return stack
    extra = _nested(overrides)
    layers = list(stack.layers)
    at = next((i for i, lay in enumerate(layers) if lay.name.kind == "sessionFlags"), None)
    if at is None:
        at = sum(1 for lay in layers if lay.name.kind == "legacyManagedConfigTomlFromFile")
        base: dict[str, Any] = {}
    else:
        base = layers.pop(at).file.plain
    merged = merge_values(base, extra)
    layers.insert(at, Layer(LayerSource("sessionFlags"), ParsedFile("", merged, merged)))
    return LayerStack(layers, stack.user)


def with_user_layer(stack: LayerStack, user: Layer) -> LayerStack:
    """The stack with its user layer replaced; every other layer kept."""
    from chamberlain.store.layers import LayerStack

    return LayerStack([user if lay.name.kind == "user" else lay for lay in stack.layers], user)


def resolve(
    store: ConfigStore, cwd: str, overrides: Mapping[str, Any] | None, runtime: Mapping[str, bool]
) -> ThreadConfig:
    """Read the layers for ``cwd`` and compute a new thread's snapshot. Raises InternalError for
    layers that do not load, InvalidRequest (``failed to load configuration: …``) for a config
    that does not fit the model."""
    from chamberlain.store.layers import project_trust

    try:  # the thread-agnostic layers first, worded as the startup warning's details
        store.check_session("failed to load configuration", runtime)
    except InternalError as exc:
        raise InvalidRequest(exc.message) from None
    try:
        prepared = store.prepare_read(cwd)
    except InternalError:
        raise _layer_error(store, cwd) from None
    stack = with_overrides(prepared.stack, overrides)
    try:
        effective = store.effective(stack, prepared.reqs, runtime)
    except ConfigModelError as exc:
        raise InvalidRequest(f"failed to load configuration: {_located(stack, exc)}") from None
    trust, root = project_trust(Path(cwd), stack.merge())
    return ThreadConfig(stack, prepared.reqs, dict(runtime), effective, trust, str(root))


def _layer_error(store: ConfigStore, cwd: str) -> Exception:
    """Why the layers of ``cwd`` do not load: a trusted project file that is not TOML is the
    reference's ``Error parsing project config file …`` with a source excerpt; anything else is
    the store's ``-32603``."""
    from chamberlain.errors import TomlParseError

    try:
        store.loader.stack(cwd)
    except TomlParseError as exc:
        try:
            lines = Path(exc.path).read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        src = lines[exc.line - 1] if 0 < exc.line <= len(lines) else ""
        pad = " " * len(str(exc.line))
        return InvalidRequest(
            f"failed to load configuration: Error parsing project config file {exc.path}: TOML parse error at "
            f"line {exc.line}, column {exc.column}\n{pad} |\n{exc.line} | {src}\n{pad} | {' ' * (exc.column - 1)}^\n"
            f"{exc.reason}\n"
        )
    except Exception as exc:  # the store words it below
        logger.debug("layers of %s do not load: %r", cwd, exc)
    try:
        store.prepare_read(cwd)
    except InternalError as exc:
        return exc
    return InternalError("failed to read configuration layers")


def _located(stack: LayerStack, exc: ConfigModelError) -> str:
    """A model error in a project layer reads ``<file>:<line>:<col>: <detail>`` (the layer that
    set the key, found as the startup warning finds it); elsewhere the model's own text."""
    from chamberlain.store.layers import value_at
    from chamberlain.store.tomlfile import locate

    if exc.path is None:
        return str(exc)
    for layer in stack.layers:
        if layer.enabled and value_at(layer.file.plain, exc.path.split("."))[0]:
            if layer.name.kind != "project":
                break
            line, start, _ = locate(layer.file.text, exc.path)
            return f"{layer.name.folder}/config.toml:{line}:{start}: {exc.detail}"
    return str(exc)


def feature_states(
    store: ConfigStore, cwd: str, overrides: Mapping[str, Any] | None, runtime: Mapping[str, bool]
) -> dict[str, bool]:
    """Feature enablement from the config re-read now for a thread's cwd (project layers, session
    flags and its thread/start overrides). Raises InternalError when the layers do not load."""
    from chamberlain.store.features import effective_features

    prepared = store.prepare_read(cwd)
    merged = with_overrides(prepared.stack, overrides).merge()
    return effective_features(merged, prepared.reqs.feature_pins(), runtime)


def reloaded(tc: ThreadConfig, user: Layer, runtime: Mapping[str, bool], effective: Effective) -> ThreadConfig:
    """The snapshot with a new user layer and runtime enablement. Raises ConfigModelError."""
    stack = with_user_layer(tc.stack, user)
    return dataclasses.replace(
        tc, stack=stack, runtime=dict(runtime), effective=effective(stack, tc.reqs, runtime)
    )


def unknown_settings_message(tc: ThreadConfig) -> str | None:
    """The ``warning`` a new thread gets for unknown keys in any of its enabled layers (lines
    sorted, as the reference's), or None."""
    from chamberlain.store import model
    from chamberlain.store.requirements import unrecognized_settings_warning

    lines: list[str] = []
    for layer in tc.stack.layers:
        if not layer.enabled:
            continue
        src = layer.name
        match src.kind:
            case "sessionFlags":
                label = "session-flags"
            case "project":
                label = f"project ({src.folder}/config.toml)"
            case "legacyManagedConfigTomlFromFile":
                label = f"legacy managed_config.toml ({src.file})"
            case _:
                label = f"{src.kind} ({src.file})"
        lines += [f"  {label}: `{key}` is ignored." for key in model.unknown_keys(layer.file.plain)]
    return unrecognized_settings_warning(sorted(lines))


# -- session settings -----------------------------------------------------------------------------


def settings_of(req: StartRequest, tc: ThreadConfig, codex_home: Path) -> ThreadSettings:
    """Typed params beat the effective config, which beats the defaults of the cwd's trust."""
    cfg = tc.effective
    provider = req.model_provider or cfg.get("model_provider") or "openai"
    providers = cfg.get("model_providers") or {}
    if provider not in BUILTIN_PROVIDERS and provider not in providers:
        raise InvalidRequest(f"failed to load configuration: Model provider `{provider}` not found")
    model = req.model or cfg.get("model") or DEFAULT_MODEL
    if provider == "amazon-bedrock" and model == DEFAULT_MODEL:
        model = f"openai.{DEFAULT_MODEL}"
    approval = req.approval_policy or cfg.get("approval_policy")  # the model refuses "untrusted" in files
    if approval is None:
        approval = "untrusted" if tc.trust == "untrusted" else "on-request"
    if req.permissions is not None:
        sandbox = _profile(req.permissions, tc)
    else:
        sandbox = _sandbox(req.sandbox or cfg.get("sandbox_mode"), tc)
    tier = req.service_tier or cfg.get("service_tier")
    return ThreadSettings(
        model=model,
        model_provider=provider,
        service_tier=SERVICE_TIER_ALIASES.get(tier, tier) if tier is not None else None,
        reasoning_effort=cfg.get("model_reasoning_effort"),
        approval_policy=approval,
        approvals_reviewer=req.approvals_reviewer or cfg.get("approvals_reviewer") or "user",
        sandbox=sandbox,
        instruction_sources=instruction_sources(codex_home, Path(req.cwd), tc),
        runtime_workspace_roots=(req.cwd, *_writable_roots(cfg)),
    )


def _sandbox(mode: str | None, tc: ThreadConfig) -> SandboxSettings:
    profile: str | None = None
    ww = tc.effective.get("sandbox_workspace_write")
    if mode is None:  # a project with a trust decision may write; the profile is implicit
        mode = "read-only" if tc.trust is None else "workspace-write"
        if mode == "read-only" or ww is None:  # legacy [sandbox_workspace_write] settings: none
            profile = ":read-only" if mode == "read-only" else ":workspace"
    if mode != "workspace-write":
        return SandboxSettings(mode, profile)
    ww = ww or {}
    return SandboxSettings(
        mode, profile, _writable_roots(tc.effective), bool(ww.get("network_access")),
        bool(ww.get("exclude_tmpdir_env_var")), bool(ww.get("exclude_slash_tmp")),
    )


#: The built-in permission profiles and the sandbox mode each stands for.
BUILTIN_PROFILES: Final = {
    ":read-only": "read-only", ":workspace": "workspace-write", ":danger-full-access": "danger-full-access"
}


def _profile(profile: str, tc: ThreadConfig) -> SandboxSettings:
    """The sandbox of a named permission profile: the built-in ones only."""
    mode = BUILTIN_PROFILES.get(profile)
    if mode is not None:
        return dataclasses.replace(_sandbox(mode, tc), profile=profile)
    if profile.startswith(":"):
        raise InvalidRequest(
            f"failed to load configuration: default_permissions refers to unknown built-in profile `{profile}`"
        )
    if not tc.effective.get("permissions"):
        raise InvalidRequest("failed to load configuration: default_permissions requires a `[permissions]` table")
    raise InvalidRequest(f"permission profile `{profile}` is not supported by this server (Chamberlain)")


def _writable_roots(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    ww = cfg.get("sandbox_workspace_write") or {}
    return tuple(r for r in ww.get("writable_roots") or () if isinstance(r, str))


def _doc_in(directory: Path, names: tuple[str, ...]) -> str | None:
    for name in names:
        path = directory / name
        try:
            if path.is_file() and path.read_text(errors="replace").strip():
                return str(path)
        except OSError:
            continue
    return None


def instruction_sources(codex_home: Path, cwd: Path, tc: ThreadConfig) -> tuple[str, ...]:
    """The AGENTS files a thread loads: ``$CODEX_HOME``'s, then (unless the project is marked
    untrusted) one per directory from the project root down to the cwd."""
    out: list[str] = []
    home = _doc_in(codex_home, _DOC_NAMES)
    if home is not None:
        out.append(home)
    if tc.trust == "untrusted" or tc.effective.get("project_doc_max_bytes") == 0:
        return tuple(out)
    fallbacks = tuple(n for n in tc.effective.get("project_doc_fallback_filenames") or () if isinstance(n, str))
    root = Path(tc.project_root)
    dirs = [cwd]
    for parent in cwd.parents:
        if dirs[-1] == root:
            break
        dirs.append(parent)
    for d in reversed(dirs):
        doc = _doc_in(d, _DOC_NAMES + fallbacks)
        if doc is not None:
            out.append(doc)
    return tuple(out)


# -- identity ---------------------------------------------------------------------------------------


def new_thread_id(now: float, after: str | None = None) -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, version 7, variant 10, random bits; greater than
    ``after`` (ids given in one millisecond still sort in the order they were made)."""
    ms = int(now * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    if after is not None and value <= (last := uuid.UUID(after).int):
        value = last + 1  # same millisecond: the random bits count up from the last id
    return str(uuid.UUID(int=value))


def rollout_path(codex_home: Path, thread_id: str, now: float) -> str:
    """Where the reference would write the thread's rollout (local time; created on the first
    turn, so never by Chamberlain)."""
    t = time.localtime(now)
    day = time.strftime("%Y/%m/%d", t)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", t)
    return os.path.join(str(codex_home), "sessions", day, f"rollout-{stamp}-{thread_id}.jsonl")
