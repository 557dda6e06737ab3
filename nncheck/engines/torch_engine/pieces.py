"""The user's own loss, optimizer, scheduler and train step, as the engine calls them.

``nncheck.audit(loss=..., optimizer=..., scheduler=..., step=...)`` and the recipe keys
``train.loss/optimizer/scheduler/step`` hand these to the torch engine (``UserObjects``).
This module checks that each returns what it must (a wrong return is exit 2 naming the
piece), and gives the checks what only the user's pieces can tell: per-sample losses, the
lowest value the loss can reach, the learning rate the schedule will set at each planned
step, which trainable parameters the optimizer leaves out, and whether the step zeroes
gradients.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from nncheck.data.pipeline import BatchFormat
from nncheck.engines.torch_engine.user_code import call_user
from nncheck.errors import UsageError


def make_optimizer(factory: Any, model: torch.nn.Module, name: str, folder: str | None):
    """``optimizer(model)``, which must return a ``torch.optim.Optimizer``."""
    opt = call_user(factory, model, what=f"train.optimizer {name}(model)", folder=folder)
    if not isinstance(opt, torch.optim.Optimizer):
        raise UsageError(
            f"train.optimizer {name}(model) returned a {type(opt).__name__}; expected a "
            "torch.optim.Optimizer over the model's parameters"
        )
    return opt


def make_scheduler(factory: Any, optimizer: Any, name: str, folder: str | None) -> Any:
    """``scheduler(optimizer)``, which must return an LR scheduler (an object with step())."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = call_user(
            factory, optimizer, what=f"train.scheduler {name}(optimizer)", folder=folder
        )
    if not callable(getattr(sched, "step", None)) or not hasattr(sched, "state_dict"):
        raise UsageError(
            f"train.scheduler {name}(optimizer) returned a {type(sched).__name__}; expected a "
            "torch.optim.lr_scheduler scheduler (with step() and state_dict())"
        )
    if getattr(sched, "optimizer", optimizer) is not optimizer:
        raise UsageError(
            f"train.scheduler {name}(optimizer) returned a scheduler of another optimizer; "
            "build it on the optimizer it receives"
        )
    return sched


def step_scheduler(sched: Any, loss: float) -> None:
    """One scheduler step per training step (ReduceLROnPlateau gets the loss)."""
    with warnings.catch_warnings():
        # "lr_scheduler.step() before optimizer.step()": a step that skipped its update.
        warnings.simplefilter("ignore")
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(loss)
        else:
            sched.step()


def loss_for_dtype(loss: Any, dtype: torch.dtype, device: torch.device) -> Any:
    """The user's loss for an engine computing in ``dtype`` (float64 for gradient checks):
    a loss module with tensors of its own (class weights) is copied and cast."""
    if isinstance(loss, torch.nn.Module) and any(True for _ in loss.buffers()):
        return copy.deepcopy(loss).to(device=device, dtype=dtype)
    return loss


def as_loss(value: Any, what: str) -> torch.Tensor:
    """The user's loss value, which must be a scalar float tensor."""
    if not isinstance(value, torch.Tensor):
        raise UsageError(f"{what} returned a {type(value).__name__}; expected a scalar tensor")
    if value.numel() != 1 or not value.is_floating_point():
        raise UsageError(
            f"{what} returned a tensor of shape {tuple(value.shape)} ({value.dtype}); expected "
            "a scalar float tensor (the batch's mean loss)"
        )
    return value.reshape(())


def step_value(value: Any, name: str) -> float:
    """What the user's train step returned, as a float: the loss it computed."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    shape = f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""
    raise UsageError(
        f"train.step {name}(model, batch, optimizer, loss) returned a "
        f"{type(value).__name__}{shape}; expected the batch's loss (a scalar tensor or float)"
    )


def per_sample(loss: Any, out: torch.Tensor, target: torch.Tensor, what: str) -> torch.Tensor:
    """(n,) losses of the user's loss: ``reduction='none'`` where the loss module has a
    reduction, else the loss of each row alone."""
    if isinstance(loss, torch.nn.Module) and getattr(loss, "reduction", None) in ("mean", "sum"):
        unreduced = copy.copy(loss)
        unreduced.reduction = "none"
        values = unreduced(out, target)
        if isinstance(values, torch.Tensor) and values.shape[:1] == out.shape[:1]:
            return values.reshape(out.shape[0], -1).mean(dim=1)
    rows = [as_loss(loss(out[i : i + 1], target[i : i + 1]), what) for i in range(out.shape[0])]
    return torch.stack(rows) if rows else out.new_zeros(0)


def loss_floor(loss: Any, n_outputs: int, target: torch.Tensor, dtype: torch.dtype) -> float:
    """The lowest value the loss reaches on these targets with outputs free to be anything
    (0 for cross-entropy, the smoothed targets' entropy with label smoothing): a model can
    fit a batch no better than this. Found by L-BFGS on free outputs, started at zero."""
    out = torch.zeros((target.shape[0], n_outputs), dtype=dtype, requires_grad=True)
    opt = torch.optim.LBFGS([out], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = loss(out, target)
        value.backward()
        return value

    with torch.enable_grad():
        for _ in range(3):
            opt.step(closure)
        best = float(loss(out, target).detach())
    return best if math.isfinite(best) else 0.0


def lr_curve(optimizer: Any, scheduler: Any, steps: int) -> list[list[float]]:
    """The learning rate of each param group at each of ``steps`` training steps, as the
    scheduler sets it (stepped once per step); optimizer and scheduler are put back."""
    saved_opt = copy.deepcopy(optimizer.state_dict())
    saved_sched = copy.deepcopy(scheduler.state_dict())
    lrs = [[float(g["lr"])] for g in optimizer.param_groups]
    try:
        plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        for _ in range(max(0, steps - 1)):
            if plateau:  # depends on the loss: a constant loss shows its patience decay
                step_scheduler(scheduler, 1.0)
            else:
                step_scheduler(scheduler, 0.0)
            for curve, group in zip(lrs, optimizer.param_groups):
                curve.append(float(group["lr"]))
    finally:
        optimizer.load_state_dict(saved_opt)
        scheduler.load_state_dict(saved_sched)
    return lrs


def optimizer_coverage(named: dict[str, torch.nn.Parameter], optimizer: Any) -> dict[str, Any]:
    """Trainable parameters the optimizer never updates: not in any param group, or only in
    groups with lr 0."""
    in_groups: dict[int, list[float]] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            in_groups.setdefault(id(p), []).append(float(group.get("lr", 0.0)))
    trainable = {n: p for n, p in named.items() if p.requires_grad}
    missing = [n for n, p in trainable.items() if id(p) not in in_groups]
    zero_lr = [n for n, p in trainable.items() if id(p) in in_groups and max(in_groups[id(p)]) == 0]
    size = {n: int(p.numel()) for n, p in trainable.items()}
    return {
        "trainable": list(trainable),
        "missing": missing,
        "zero_lr": zero_lr,
        "sizes": size,
        "groups": len(optimizer.param_groups),
    }


def make_batch(fmt: BatchFormat | None, x: torch.Tensor, y: torch.Tensor) -> Any:
    """A batch shaped like the user's loader yields it: a tuple or a dict."""
    if fmt is not None and fmt.kind == "dict":
        return {fmt.input_key: x, fmt.target_key: y}
    return (x, y)


def user_targets(fmt: BatchFormat | None, y: torch.Tensor) -> torch.Tensor:
    """Targets as the user's pipeline yields them (shape per item, dtype)."""
    if fmt is None:
        return y
    if fmt.target_shape == (1,):
        y = y.reshape(-1, 1)
    if fmt.target_dtype:
        dtype = getattr(torch, fmt.target_dtype, None)
        # Integer targets take the pipeline's integer type; float targets keep the
        # engine's precision (a float32 target under the float64 gradient check would
        # drag the user's loss down to float32, and finite differences into noise).
        if isinstance(dtype, torch.dtype) and y.dtype != dtype and not y.dtype.is_floating_point:
            y = y.to(dtype)
    return y


@contextmanager
def last_output(model: torch.nn.Module) -> Iterator[Callable[[], torch.Tensor | None]]:
    """The model's most recent output inside the block (the user's step does not return
    its outputs, but the training curve's accuracy needs them)."""
    seen: list[Any] = [None]

    def hook(module: torch.nn.Module, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            seen[0] = output.detach()

    handle = model.register_forward_hook(hook)
    try:
        yield lambda: seen[0]
    finally:
        handle.remove()


def grads(named: dict[str, torch.nn.Parameter]) -> dict[str, np.ndarray]:
    """Each trainable parameter's ``.grad`` as float64 (zeros where there is none)."""
    return {
        n: (
            p.grad.detach().cpu().double().numpy().copy()
            if p.grad is not None
            else np.zeros(tuple(p.shape))
        )
        for n, p in named.items()
        if p.requires_grad
    }
