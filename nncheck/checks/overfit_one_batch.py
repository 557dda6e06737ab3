"""overfit.one_batch: a handful of samples must be learnable to ~zero loss."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve
from nncheck.checks.context import Context
from nncheck.checks.registry import POSITIVE, STEPS, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "overfit.one_batch",
    stage="overfit",
    defaults={
        "batch_size": 8,
        "max_steps": 2000,
        "max_loss": 0.01,
        "stall_ratio": 0.95,
        "plateau_ratio": 0.99,
    },
    ranges={
        "batch_size": Range(ge=2, le=16),
        "max_steps": STEPS,
        "max_loss": POSITIVE,
        "stall_ratio": Range(gt=0, le=1),
        "plateau_ratio": Range(gt=0, le=1),
    },
    requires=("engine", "trainable", "any_target"),
)
def overfit_one_batch(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """A small batch (2-16 samples) is driven to ~zero loss and 100% training accuracy.

    Why: any working network can memorize a few samples. If it cannot, something upstream
    is broken — a learning rate that is zero or explodes, frozen parameters, a loss on
    the wrong outputs — and no amount of training on the full data will fix it.
    Trains on the same batch with the recipe's optimizer and learning rate for at most
    `max_steps`; passes when the loss drops below `max_loss` (for regression: below
    `max_loss` times the batch's target variance; multilabel: `max_loss` per label) with
    100% accuracy (classification). On failure says
    whether the loss went NaN, diverged, stalled (ended above `stall_ratio` times its
    start), plateaued (over the last quarter of the steps it fell by less than
    1 - `plateau_ratio`: a floor the model cannot get below, e.g. softmax applied twice, or
    identical inputs with different labels) or only crawled (still falling, too slowly).
    A crawl that has already reached 100% accuracy warns instead of failing: the batch is
    learnable, only slowly (a linear model reached 0.0145 at 100% in 2000 steps at lr
    1e-3, still falling).
    Fix: follow the hint for the failure mode (usually the learning rate).
    """
    ds = ctx.dataset
    size = min(max(int(t["batch_size"]), 2), 16)  # SPEC: a small batch of 2-16 samples
    max_steps = int(t["max_steps"])
    x, y = _balanced_batch(ctx, size)
    engine = ctx.make_engine()
    classification = ds.has_classes
    target = float(t["max_loss"])
    if ds.is_multilabel:
        target *= ds.n_outputs  # the loss sums one binary cross-entropy per label
    elif not classification:
        target *= max(float(np.var(y.astype(np.float64))), 1e-12)
    # A loss that cannot reach 0 (label smoothing) is judged above its own floor.
    floor = float(engine.loss_floor(y)) if ctx.engine_config.user_loss else 0.0
    target += floor

    losses: list[float] = []
    accuracy = 0.0
    callback = ctx.report_steps("overfit.one_batch", max_steps)
    reached = None
    for step in range(max_steps):
        loss = float(engine.step(x, y))
        losses.append(loss)
        if callback:
            callback(step, loss)
        if not math.isfinite(loss):
            break
        if step % 10 == 9 or loss <= target:
            done, accuracy, _ = _reached(engine, x, y, target, classification)
            if done:
                reached = step + 1
                break
    _, final_accuracy, final = _reached(engine, x, y, target, classification)
    if math.isfinite(final):
        accuracy = final_accuracy
    first = losses[0]
    metrics: dict[str, Any] = {
        "batch_size": int(len(y)),
        "steps": len(losses),
        "initial_loss": first,
        "final_loss": final,
        "target_loss": target,
        "loss_floor": floor,
        "lr": ctx.recipe.train.lr,
        "optimizer": ctx.engine_config.user_optimizer or ctx.recipe.train.optimizer,
    }
    if classification:
        metrics["train_accuracy"] = accuracy
    artifacts = {
        "curves": {"overfit one batch": curve(range(len(losses)), loss=losses)},
        # the exact batch fed to the network, after normalization, for the report
        "batch": {"x": np.asarray(x, dtype=np.float32), "y": np.asarray(y)},
    }
    acc_text = f", accuracy {accuracy:.0%}" if classification else ""
    floor_text = f" (the floor of your loss: {floor:.3g})" if floor > 0 else ""
    if reached is not None:
        return result(
            "pass",
            f"{len(y)} samples overfit in {reached} steps: loss {first:.3g} -> {final:.2g}"
            f"{floor_text}{acc_text}",
            metrics=metrics,
            artifacts=artifacts,
        )
    mode, message, hint = _diagnose(losses, final, first, target, t, ctx)
    conflict = _identical_inputs(x, y, classification)
    if conflict and mode in ("stalled", "plateaued", "crawled"):
        message += f"; {conflict}"
        hint = (
            "Samples with identical inputs but different targets cannot all be fit: the "
            "inputs may have been wiped by preprocessing (all zeros), or labels conflict. " + hint
        )
    metrics["failure_mode"] = mode
    if mode == "crawled" and classification and accuracy == 1.0:
        # Every sample is already classified right and the loss is still going down: the
        # batch is learnable, only slowly (a linear model needs large weights for a tiny
        # loss). A warning, not a failure: nothing upstream is broken.
        return result(
            "warn",
            f"crawled: {len(y)} samples at 100% accuracy with the loss still falling, "
            f"{first:.3g} -> {final:.3g} in {len(losses)} steps, short of {target:.2g} "
            f"(lr {ctx.recipe.train.lr:g})",
            hint="The batch is learnable but slowly: raise the learning rate or max_steps "
            "to reach the target; a small or linear model may need many steps to drive the "
            "loss to ~0 (max_loss sets the target).",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("fail", message + acc_text, hint=hint, metrics=metrics, artifacts=artifacts)


def _balanced_batch(ctx: Context, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded batch that holds as many classes as fit (so accuracy means something)."""
    ds = ctx.dataset
    if not ds.has_classes:
        return ctx.sample_batch(size)
    rng = np.random.default_rng(ctx.seed + 7)
    y = ds.train.y
    order = rng.permutation(len(y))
    # First occurrence of each class in a random order, then fill with random samples.
    _, first = np.unique(y[order], return_index=True)
    picks = order[np.sort(first)][:size]
    rest = np.setdiff1d(order[: size * 4], picks, assume_unique=False)
    picks = np.concatenate([picks, rest[: size - len(picks)]])
    picks = np.sort(picks)
    return ds.train.x[picks], y[picks]


def _reached(
    engine: Any, x: np.ndarray, y: np.ndarray, target: float, classification: bool
) -> tuple[bool, float, float]:
    """(target reached, batch accuracy, batch loss) with the engine as it is now."""
    out = engine.forward(x)
    loss = float(engine.loss(x, y))
    if not classification:
        return loss <= target, 1.0, loss
    accuracy = float(np.mean(np.argmax(out, axis=1) == y))
    return loss <= target and accuracy == 1.0, accuracy, loss


def _identical_inputs(x: np.ndarray, y: np.ndarray, classification: bool) -> str:
    """A note when samples of the batch share one input but not one target, or ''."""
    flat = np.ascontiguousarray(x.reshape(len(x), -1))
    _, groups = np.unique(flat, axis=0, return_inverse=True)
    groups = groups.ravel()
    n_groups = int(groups.max()) + 1 if groups.size else 0
    if n_groups == len(x):
        return ""
    targets = y if classification else np.round(y.astype(np.float64), 12)
    if targets.ndim == 2:  # multilabel: a target is a row of 0/1 answers
        target_ids = np.unique(targets, axis=0, return_inverse=True)[1].ravel()
    else:
        target_ids = np.unique(targets, return_inverse=True)[1].ravel()
    pairs = np.unique(np.stack([groups, target_ids]), axis=1)
    if pairs.shape[1] == n_groups:
        return ""
    plural = "s" if n_groups != 1 else ""
    return (
        f"only {n_groups} distinct input{plural} among the {len(x)} samples, with conflicting "
        f"targets ({pairs.shape[1]} input-target pairs)"
    )


def _diagnose(
    losses: list[float],
    final: float,
    first: float,
    target: float,
    t: dict[str, Any],
    ctx: Context,
) -> tuple[str, str, str]:
    stall = float(t["stall_ratio"])
    setup = ctx.training_setup()
    n = len(losses)
    if not all(math.isfinite(v) for v in losses) or not math.isfinite(final):
        at = next(i for i, v in enumerate(losses + [final]) if not math.isfinite(v))
        return (
            "nan",
            f"loss went NaN/inf at step {at} (started at {first:.3g}, {setup})",
            "The learning rate is far too high or the loss overflows: lower lr 10x, check "
            "for a summed instead of averaged loss, and scale the inputs.",
        )
    peak = max(losses)
    if final > first * 1.5:
        return (
            "diverged",
            f"loss diverged: {first:.3g} -> {final:.3g} (peak {peak:.3g}) in {n} steps at {setup}",
            "Lower the learning rate (10x), or check the gradient sign.",
        )
    if peak > first * 10:
        return (
            "diverged",
            f"loss unstable: {first:.3g} spiked to {peak:.3g} and ended at {final:.3g} after "
            f"{n} steps at {setup}",
            "The learning rate is too high for this model: lower it (10x).",
        )
    if final >= first * stall:
        return (
            "stalled",
            f"loss did not move: {first:.3g} -> {final:.3g} in {n} steps at {setup}",
            "Nothing learns: the learning rate may be zero or tiny, parameters frozen or a "
            "layer detached from the graph.",
        )
    tail = losses[-max(2, n // 4) :]
    if n >= 40 and min(tail[-10:]) >= float(t["plateau_ratio"]) * tail[0]:
        return (
            "plateaued",
            f"loss fell {first:.3g} -> {final:.3g} and then plateaued: over the last "
            f"{len(tail)} of {n} steps it went {tail[0]:.3g} -> {final:.3g}, far above "
            f"{target:.2g} ({setup})",
            "The loss has a floor this model cannot get below: outputs squashed before the "
            "loss (softmax applied twice, cross-entropy on probabilities, a sigmoid/tanh on "
            "the output layer), a loss that does not match the task, or a batch that "
            "cannot be fit (identical inputs, different labels).",
        )
    return (
        "crawled",
        f"loss fell {first:.3g} -> {final:.3g} in {n} steps but not below {target:.2g} ({setup})",
        "Learning is too slow to memorize a few samples: raise the learning rate, or the "
        "model is too small or too constrained (saturated units, a bottleneck layer).",
    )
