"""Building an engine from the recipe and the data.

The config is resolved here once (n_outputs and the output-bias prior come from the data),
so every check builds identical models through ``Context.make_engine``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nncheck.data.dataset import Dataset
from nncheck.engines.base import Engine, EngineConfig
from nncheck.errors import UsageError
from nncheck.recipe.schema import Recipe

EngineFactory = Callable[[EngineConfig, int], Engine]


def engine_config(recipe: Recipe, dataset: Dataset) -> EngineConfig:
    """The model the recipe describes, sized and biased for this data."""
    model, train = recipe.model, recipe.train
    loss = model.loss or ("cross_entropy" if dataset.task == "classification" else "mse")
    return EngineConfig(
        input_shape=tuple(dataset.input_shape),
        n_outputs=dataset.n_outputs,
        task=dataset.task,
        hidden=tuple(model.hidden),
        activation=model.activation,
        init=model.init,
        init_std=model.init_std,
        output_bias=model.output_bias,
        loss=loss,
        optimizer=train.optimizer,
        lr=train.lr,
        batch_size=train.batch_size,
        steps=train.steps,
        prior=output_prior(dataset),
        extra={
            "factory": model.factory,
            "kwargs": dict(model.kwargs),
            "device": model.device,
            "recipe_dir": recipe.base_dir,
        },
    )


def output_prior(dataset: Dataset) -> tuple[float, ...]:
    """Class frequencies (classification) or the target mean (regression), on train."""
    y = dataset.train.y
    if dataset.task == "classification":
        valid = y[y >= 0]
        if not valid.size or not dataset.n_classes:
            return ()
        counts = np.bincount(valid.astype(np.int64), minlength=dataset.n_classes)
        return tuple(float(c) for c in counts / counts.sum())
    finite = y[np.isfinite(y)]
    return (float(finite.astype(np.float64).mean()),) if finite.size else ()


def engine_factory(recipe: Recipe) -> EngineFactory:
    """The constructor for the recipe's engine; a missing optional dependency is exit 2."""
    if recipe.model.engine == "numpy":
        from nncheck.engines.numpy_mlp import NumpyMLP

        return NumpyMLP
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError(
            "model.engine: torch needs PyTorch: install nncheck[torch] (pip install -e '.[torch]')"
        ) from None
    from nncheck.engines.torch_engine import TorchEngine, resolve_factory

    # Import the user's module now: a missing module or an import error in it is exit 2
    # before any check runs (each engine resolves it again, from the import cache).
    resolve_factory(recipe.model.factory, recipe.base_dir)
    return TorchEngine
