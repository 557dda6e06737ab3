"""The user's own pieces as Python objects, and how a recipe's strings become them.

``nncheck.audit`` receives the pieces as objects (a Dataset, a model factory, a loss, an
optimizer factory ...); a recipe names them as ``"module:name"`` strings. Both end up as one
``UserObjects`` that ``nncheck.run.build_context`` hands to the data layer and the engine,
so the API and ``nncheck run`` audit through the same code. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nncheck.errors import UsageError
from nncheck.recipe.schema import BUILTIN_LOSSES, BUILTIN_OPTIMIZERS, Recipe

# What each piece is called with, for messages.
SIGNATURES = {
    "data.factory": "build(**data.kwargs) -> (train, test)",
    "train.loss": "a callable loss(outputs, targets) -> scalar tensor, or an nn.Module class",
    "train.optimizer": "a function optimizer(model) -> torch.optim.Optimizer",
    "train.scheduler": "a function scheduler(optimizer) -> an LR scheduler",
    "train.step": "a function step(model, batch, optimizer, loss) -> loss",
}


@dataclass(frozen=True)
class UserObjects:
    """The user's pieces; None where the recipe's files or builtins stand instead."""

    train: Any = None  # numpy (x, y), DataFrame, torch Dataset or DataLoader
    test: Any = None  # the same kinds, or None: cut the recipe's test fraction from train
    has_data: bool = False  # train/test come from Python (False: the recipe's data files)
    model: Any = None  # a factory build(input_shape, n_outputs, **kw) or an nn.Module
    loss: Any = None  # callable(outputs, targets) -> scalar tensor
    optimizer: Any = None  # optimizer(model) -> torch.optim.Optimizer
    scheduler: Any = None  # scheduler(optimizer) -> LR scheduler
    step: Any = None  # step(model, batch, optimizer, loss) -> loss
    folder: str | None = None  # where the user's code lives (imports, traceback frames)
    # How the user's pieces are named in messages and the report: "train.loss" ->
    # "CrossEntropyLoss(label_smoothing=0.1)".
    names: dict[str, str] = field(default_factory=dict)


def resolve_objects(recipe: Recipe) -> UserObjects:
    """The recipe's pieces as objects: ``recipe.objects`` when ``nncheck.audit`` built the
    recipe, else its ``"module:name"`` strings imported (beside the recipe first, then the
    Python path) and, for ``data.factory``, called. Failures are exit 2 naming the key."""
    given = recipe.objects
    if given is not None:
        return given
    from nncheck.engines.torch_engine.user_code import call_user, resolve

    folder = recipe.base_dir
    names: dict[str, str] = {}
    train = test = None
    has_data = False
    data = recipe.data
    if data.factory:
        expects = SIGNATURES["data.factory"]
        build = resolve(data.factory, folder, key="data.factory", expects=expects)
        out = call_user(build, what=f"data.factory {data.factory!r}", folder=folder, **data.kwargs)
        train, test = split_pair(out, f"data.factory {data.factory!r}")
        has_data = True
        names["data.factory"] = data.factory
    t = recipe.train
    pieces: dict[str, Any] = {}
    if t.loss and t.loss not in BUILTIN_LOSSES:
        pieces["loss"] = _loss(
            resolve(
                t.loss,
                folder,
                key="train.loss",
                expects=SIGNATURES["train.loss"],
                form="module:name",
            ),
            t.loss,
            t.loss_kwargs,
            folder,
        )
        names["train.loss"] = _loss_name(t.loss, t.loss_kwargs)
    for key in ("optimizer", "scheduler", "step"):
        spec = getattr(t, key)
        if not spec or (key == "optimizer" and spec in BUILTIN_OPTIMIZERS):
            continue
        pieces[key] = resolve(spec, folder, key=f"train.{key}", expects=SIGNATURES[f"train.{key}"])
        names[f"train.{key}"] = spec
    return UserObjects(
        train=train, test=test, has_data=has_data, folder=folder, names=names, **pieces
    )


def split_pair(out: Any, what: str) -> tuple[Any, Any]:
    """``(train, test)`` from what a data factory returned, or a UsageError saying why not."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise UsageError(
            f"{what} returned a {type(out).__name__}; expected (train, test), each numpy "
            "(x, y), a pandas DataFrame, a torch Dataset or a DataLoader (test may be None)"
        )
    train, test = out
    if _is_array(train) and (test is None or _is_array(test)):
        raise UsageError(
            f"{what} returned two arrays; expected (train, test) with each split as (x, y): "
            "return ((x, y), None) to let nncheck hold out the test fraction"
        )
    return train, test


def _is_array(obj: Any) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and not hasattr(obj, "columns")


def _loss(obj: Any, spec: str, kwargs: dict[str, Any], folder: str | None) -> Any:
    """An nn.Module class is instantiated with ``loss_kwargs``; a callable is used as is."""
    from nncheck.engines.torch_engine.user_code import call_user

    if isinstance(obj, type):
        return call_user(
            obj, what=f"train.loss {_loss_name(spec, kwargs)}", folder=folder, **kwargs
        )
    if kwargs:
        raise UsageError(
            f"train.loss_kwargs: {spec!r} is a {type(obj).__name__}, not a class; loss_kwargs "
            "are for a loss class such as torch.nn:CrossEntropyLoss"
        )
    return obj


def _loss_name(spec: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{spec}({args})" if kwargs else spec
