"""Building an engine from the recipe and the data.

The config is resolved here once (n_outputs and the output-bias prior come from the data),
so every check builds identical models through ``Context.make_engine``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nncheck.data.dataset import Dataset
from nncheck.data.pipeline import BatchFormat
from nncheck.engines.base import Engine, EngineConfig
from nncheck.errors import UsageError
from nncheck.objects import UserObjects
from nncheck.recipe.schema import Recipe

EngineFactory = Callable[[EngineConfig, int], Engine]


def engine_config(
    recipe: Recipe,
    dataset: Dataset,
    objects: UserObjects | None = None,
    batch: BatchFormat | None = None,
) -> EngineConfig:
    """The model the recipe describes, sized and biased for this data.

    With the user's own loss, ``loss`` keeps naming what the outputs are (logits for
    classification, predictions for regression), which is what every check needs to turn
    outputs into probabilities; ``user_loss`` names the loss that is actually minimized.
    """
    model, train = recipe.model, recipe.train
    builtin = train.loss if train.loss in ("cross_entropy", "mse") else None
    loss = model.loss or builtin or ("cross_entropy" if dataset.task == "classification" else "mse")
    names = objects.names if objects is not None else {}
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
        user_loss=names.get("train.loss", "") if objects is not None and objects.loss else "",
        user_optimizer=names.get("train.optimizer", "")
        if objects is not None and objects.optimizer
        else "",
        user_scheduler=names.get("train.scheduler", "")
        if objects is not None and objects.scheduler
        else "",
        user_step=names.get("train.step", "") if objects is not None and objects.step else "",
        extra={
            "factory": model.factory,
            "kwargs": dict(model.kwargs),
            "device": model.device,
            "recipe_dir": recipe.base_dir,
            "objects": objects,
            "batch": batch,
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


def engine_factory(recipe: Recipe, objects: UserObjects | None = None) -> EngineFactory:
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
    if objects is None or objects.model is None:
        resolve_factory(recipe.model.factory, recipe.base_dir)
    return TorchEngine
