"""Building an engine from the recipe and the data.

The config is resolved here once (n_outputs and the output-bias prior come from the data),
so every check builds identical models through ``Context.make_engine``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from nncheck.data.dataset import Dataset
from nncheck.data.pipeline import BatchFormat
from nncheck.engines.base import Engine, EngineConfig
from nncheck.errors import UsageError
from nncheck.objects import UserObjects
from nncheck.recipe.schema import Recipe

EngineFactory = Callable[[EngineConfig, int], Engine]


# The numpy MLP's memory is refused above this (or half the machine's memory, if less)
# before any array is allocated: `hidden: [1000000000]` is a typo, not a model to build.
MAX_MODEL_BYTES = 8 << 30
# Per parameter, one engine keeps the parameters, their gradients and a scratch copy, plus
# the optimizer's moments; the audit holds up to three such models at once (the trained
# ones that later checks reuse). Activations are (rows x units) float32 arrays, four per
# layer (pre- and post-activation and their gradients), for up to PREDICT_ROWS rows.
_MOMENTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}
_MODELS_ALIVE = 3
PREDICT_ROWS = 4096


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

    Raises ``UsageError`` (exit 2) for a model that cannot fit this data: a loss the task
    has no targets for, or a numpy MLP too large to hold in memory.
    """
    model, train = recipe.model, recipe.train
    if model.loss == "cross_entropy" and dataset.task == "regression":
        how = "inferred" if dataset.task_inferred else "declared by data.task"
        raise UsageError(
            f"model.loss: cross_entropy needs class labels, but the task is regression"
            f" ({how}); use loss: mse, or task: classification if the target holds classes"
        )
    if dataset.task == "sequence_classification" and model.engine != "torch":
        raise UsageError(
            "model.engine: a sequence classifier needs engine: torch and a factory taking"
            " vocab_size (the numpy MLP reads numbers, not token ids)"
        )
    if dataset.is_sequence:
        if model.engine != "torch":
            raise UsageError(
                "model.engine: a language model needs engine: torch and a factory (the numpy"
                " MLP has no notion of sequences; see recipes/shakespeare_char.yaml)"
            )
        if model.loss == "mse":
            raise UsageError("model.loss: a language model is trained with cross_entropy")
    builtin = train.loss if train.loss in ("cross_entropy", "mse") else None
    wanted = model.loss or builtin
    if dataset.is_multilabel and wanted in ("cross_entropy", "mse"):
        key = "model.loss" if model.loss else "train.loss"
        raise UsageError(
            f"{key}: {wanted} on a multilabel target; use model.loss: bce (a sigmoid and"
            " binary cross-entropy per label): a softmax makes independent labels compete"
        )
    if model.loss == "bce" and not dataset.is_multilabel:
        raise UsageError(
            f"model.loss: bce is for multilabel targets (one 0/1 column per label); this is a"
            f" {dataset.task} task"
        )
    natural = {"regression": "mse", "multilabel": "bce"}.get(dataset.task, "cross_entropy")
    loss = model.loss or builtin or natural
    if model.engine == "numpy":
        check_model_memory(
            dataset.n_features,
            tuple(model.hidden),
            dataset.n_outputs,
            train.optimizer,
            min(len(dataset.train) + len(dataset.test), PREDICT_ROWS),
        )
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
            "kwargs": {**_token_kwargs(dataset, model.kwargs), **dict(model.kwargs)},
            "device": model.device,
            "recipe_dir": recipe.base_dir,
            "objects": objects,
            "batch": batch,
            "pad_token": dataset.pad_token,
        },
    )


def _token_kwargs(dataset: Dataset, given: dict[str, Any]) -> dict[str, Any]:
    """A sequence classifier's factory is told the vocabulary size (its embedding needs
    it, and n_outputs is the number of classes), unless the recipe's kwargs set it."""
    if dataset.task != "sequence_classification" or "vocab_size" in given:
        return {}
    return {"vocab_size": int(dataset.vocab_size or 0)}


def check_model_memory(
    n_inputs: int, hidden: tuple[int, ...], n_outputs: int, optimizer: str, rows: int
) -> None:
    """Refuse (exit 2) a numpy MLP whose arrays would not fit, saying how much it needs."""
    widths = (n_inputs, *hidden, n_outputs)
    params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    copies = _MODELS_ALIVE * (3 + _MOMENTS.get(optimizer, 2))
    needed = params * 4 * copies + rows * sum(widths[1:]) * 4 * 4
    limit = memory_limit()
    if needed > limit:
        layers = "-".join(str(w) for w in widths)
        raise UsageError(
            f"model.hidden: the MLP {layers} has {params:,} parameters; the audit needs about"
            f" {_gib(needed)} for it ({copies} float32 copies of the parameters: values,"
            f" gradients, scratch and {optimizer}'s moments, for {_MODELS_ALIVE} models, plus"
            f" activations), more than the {_gib(limit)} limit; use narrower hidden layers"
        )


def memory_limit() -> int:
    """MAX_MODEL_BYTES, or half of this machine's physical memory when that is less."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return MAX_MODEL_BYTES
    return min(MAX_MODEL_BYTES, physical // 2) if physical > 0 else MAX_MODEL_BYTES


def _gib(n: int) -> str:
    return f"{n / (1 << 30):,.1f} GiB"


def output_prior(dataset: Dataset) -> tuple[float, ...]:
    """Class frequencies (classification), token frequencies of the targets (language
    model, padding left out) or the target mean (regression), on train."""
    y = dataset.train.y
    if dataset.is_sequence:
        y = y.reshape(-1)
        if dataset.pad_token is not None:
            y = y[y != dataset.pad_token]
    if dataset.is_multilabel:
        rates = np.nanmean(y.astype(np.float64), axis=0) if len(y) else np.zeros(0)
        return tuple(float(r) if np.isfinite(r) else 0.5 for r in rates)
    if dataset.has_classes or dataset.task == "language_model":
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
    if recipe.data.task == "language_model":
        from nncheck.engines.torch_sequence import TorchSequenceEngine

        return TorchSequenceEngine
    if recipe.data.task == "sequence_classification":
        from nncheck.engines.torch_sequence import TorchTokenClassifier

        return TorchTokenClassifier
    return TorchEngine
