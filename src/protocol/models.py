"""model/list: its params, the Model wire Structs (fields in the reference's order), the bundled
catalogs (``data/models.json``, captured from codex-cli 0.169.0; see docs/reference-data.md) and
the page a request gets.

The reference answers from its bundled catalog when no models endpoint answers (always, offline;
Chamberlain never asks one). Which catalog depends on the model provider only: the request's
``modelProvider``, else the provider the server started with (``model_provider``, default
``openai``). ``amazon-bedrock`` has its own catalog (``openai.``-prefixed ids); every other
provider — built in or configured — lists the OpenAI catalog. A provider neither built in nor
configured is refused with ``modelProviderNotConfigured``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from importlib import resources
from typing import Annotated, Final

import msgspec
from chamberlain.errors import ModelProviderNotConfigured
from chamberlain.protocol.paging import next_cursor, offset_page
from msgspec import Meta, Struct

__all__ = [
    "catalogs",
    "BEDROCK_PROVIDER",
    "BUILTIN_PROVIDERS",
    "DEFAULT_PROVIDER",
    "Model",
    "ModelListParams",
    "ModelListResponse",
    "model_page",
]

U32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
#: Rust's ``usize`` on the reference's 64-bit build: a larger cursor is not a number to it.

DEFAULT_PROVIDER: Final = "openai"
BEDROCK_PROVIDER: Final = "amazon-bedrock"
#: Providers every config has, whether or not ``[model_providers]`` names them.
BUILTIN_PROVIDERS: Final = frozenset({DEFAULT_PROVIDER, "ollama", "lmstudio", BEDROCK_PROVIDER})


class ModelListParams(Struct, rename="camel", frozen=True):
    cursor: str | None = None
    limit: U32 | None = None
    include_hidden: bool | None = None
    model_provider: str | None = None


class _Wire(Struct, rename="camel", omit_defaults=False):
    pass


class ModelUpgradeInfo(_Wire):
    model: str
    upgrade_copy: str | None
    model_link: str | None
    migration_markdown: str | None
    retirement_at: int | None


class ModelAvailabilityNux(_Wire):
    message: str


class ReasoningEffortOption(_Wire):
    reasoning_effort: str
    description: str


class ModelServiceTier(_Wire):
    id: str
    name: str
    description: str


class ModelAccessPrograms(_Wire):
    cyber: list[str]


class Model(_Wire):
    id: str
    model: str
    upgrade: str | None
    upgrade_info: ModelUpgradeInfo | None
    availability_nux: ModelAvailabilityNux | None
    display_name: str
    description: str
    model_specialty: str | None
    hidden: bool
    supported_reasoning_efforts: list[ReasoningEffortOption]
    default_reasoning_effort: str
    input_modalities: list[str]
    supports_personality: bool
    multi_agent_version: str | None
    additional_speed_tiers: list[str]
    service_tiers: list[ModelServiceTier]
    default_service_tier: str | None
    available_access_programs: ModelAccessPrograms | None
    is_default: bool


class ModelListResponse(_Wire):
    data: list[Model]
    next_cursor: str | None


class _Catalogs(Struct):
    catalogs: dict[str, tuple[Model, ...]]


@functools.cache
def catalogs() -> Mapping[str, tuple[Model, ...]]:
    """The bundled catalogs by provider: ``openai`` (every provider but Bedrock) and
    ``amazon-bedrock``; read at the first ``model/list``, not at start-up."""
    data = resources.files("chamberlain.data").joinpath("models.json").read_bytes()
    return msgspec.json.decode(data, type=_Catalogs).catalogs


def model_page(params: ModelListParams, default_provider: str, configured: Collection[str]) -> ModelListResponse:
    """The page ``params`` ask for. ``default_provider`` and ``configured`` (the
    ``[model_providers]`` names) are the server's start-up config's. Raises InvalidRequest."""
    provider = default_provider if params.model_provider is None else params.model_provider
    if provider not in BUILTIN_PROVIDERS and provider not in configured:
        raise ModelProviderNotConfigured(provider)
    catalog = catalogs()[BEDROCK_PROVIDER if provider == BEDROCK_PROVIDER else DEFAULT_PROVIDER]
    models = catalog if params.include_hidden else tuple(m for m in catalog if not m.hidden)
    start, end = offset_page(params.cursor, params.limit, len(models), "models")
    return ModelListResponse(list(models[start:end]), next_cursor(end, len(models)))
