"""What the reference knows of methods: its client method list (for its exact ``unknown variant``
answer) and which of them need ``experimentalApi``. The methods Chamberlain serves are rows of
``actors/routes.py``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Final

__all__ = ["EXPERIMENTAL_METHODS", "REFERENCE_METHODS", "unknown_method_text"]


def _load_reference_methods() -> tuple[tuple[str, ...], frozenset[str]]:
    data = json.loads(resources.files("chamberlain.data").joinpath("client_methods.json").read_text())
    methods = tuple(data["methods"])
    return methods, frozenset(methods) - frozenset(data["stable"])


_LOADED: Final = _load_reference_methods()
#: Every client method of codex-cli 0.169.0, in its ClientRequest order.
REFERENCE_METHODS: Final[tuple[str, ...]] = _LOADED[0]
#: The reference methods that need ``capabilities.experimentalApi``.
EXPERIMENTAL_METHODS: Final[frozenset[str]] = _LOADED[1]

_UNKNOWN_TAIL: Final = ", ".join(f"`{name}`" for name in REFERENCE_METHODS)


def unknown_method_text(method: str) -> str:
    """The reference's serde text for a method it does not know."""
    return f"unknown variant `{method}`, expected one of {_UNKNOWN_TAIL}"
