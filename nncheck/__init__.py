"""nncheck: audit a neural-network training setup before anyone trains it.

``nncheck.audit(...)`` runs the audit on the user's own Python objects (model, data
pipeline, loss, optimizer, schedule, train step); ``nncheck run recipe.yaml`` on a recipe.
Kept import-light on purpose (numpy, pandas, matplotlib, torch load lazily): ``audit``,
``Audit`` and the errors are looked up on first use, so the CLI and pytest's plugin loading
stay fast; a test keeps ``import nncheck`` under 0.3 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Audit", "DataError", "RecipeError", "UsageError", "audit", "__version__"]

if TYPE_CHECKING:
    from nncheck.api import Audit, audit
    from nncheck.errors import DataError, RecipeError, UsageError

_LAZY = {
    "audit": "nncheck.api",
    "Audit": "nncheck.api",
    "UsageError": "nncheck.errors",
    "RecipeError": "nncheck.errors",
    "DataError": "nncheck.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nncheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
