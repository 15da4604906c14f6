"""Modules an actor needs only for some requests, imported on first use (stdlib ``LazyLoader``):
their import time stays off every server start. Use it with a ``TYPE_CHECKING`` import so the
type checker still sees the module::

    if TYPE_CHECKING:
        from chamberlain.actors import thread_config as tcfg
    else:
        tcfg = lazy_module("chamberlain.actors.thread_config")
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy_module"]


def lazy_module(name: str) -> ModuleType:
    """``name`` as a module object whose code runs at its first attribute access (or the module
    itself when it is imported already)."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
