"""Modules loaded on first attribute access, so ``import app`` stays near bare Chalice.

``models = lazy_module("chalicelib.models")`` binds a module whose code runs the first time
one of its names is read (``models.ScheduleDefinition`` in a view): the pydantic models, the
expression engine and the service are paid for by the first request that needs them, not by
every cold start's import. This is the standard library's ``importlib.util.LazyLoader``.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """``name``, imported now if already loaded, else loaded when first used."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
