"""The torch engine (``model.engine: torch``), one file per concern:

- ``user_code.py``: finding ``"module:name"`` in the user's code, calling it, and showing
  only the user's own traceback frames when it fails (torch-free: ``data.factory`` uses it
  with the numpy engine too);
- ``seeding.py``: seeds, torch's global generators, deterministic algorithms, the device;
- ``recording.py``: forward hooks recording each layer's activations;
- ``pieces.py``: the user's own loss, optimizer, scheduler and train step, adapted to what
  the engine calls;
- ``engine.py``: ``TorchEngine``, the user's ``nn.Module`` behind the ``Engine`` protocol.

Importing this package does not import torch; ``TorchEngine`` does, when first named.
"""

from __future__ import annotations

from typing import Any

from nncheck.engines.torch_engine.user_code import resolve_factory

__all__ = ["TorchEngine", "model_input_shape", "resolve_factory"]


def __getattr__(name: str) -> Any:
    if name in ("TorchEngine", "model_input_shape"):
        from nncheck.engines.torch_engine import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
