"""overfit.loss_decreases: a short run of the recipe's training brings the loss down."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve, thumbnails
from nncheck.checks._stats import constant_losses
from nncheck.checks._trainings import Training, main_training, prediction_series, smooth
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, NON_NEGATIVE, RATIO, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "overfit.loss_decreases",
    stage="overfit",
    defaults={
        "window": 0.1,
        "fail_drop": 0.02,
        "warn_drop": 0.1,
        "diverge_margin": 0.1,
        "spike_ratio": 3.0,
        "fail_spike_ratio": 100.0,
    },
    ranges={
        "window": Range(gt=0, le=0.5),
        "fail_drop": FRACTION,
        "warn_drop": FRACTION,
        "diverge_margin": NON_NEGATIVE,
        "spike_ratio": RATIO,
        "fail_spike_ratio": RATIO,
    },
    requires=("engine", "trainable", "any_target"),
)
def loss_decreases(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """A short run on the full training set decreases the loss, with no NaN and no blow-up.

    Why: the recipe's own training (optimizer, learning rate, batch size, steps) must make
    progress on the real data before it is worth running for days. A loss that goes
    NaN/inf or climbs means a learning rate far too high (or a summed loss); a flat one
    means nothing learns (lr zero or tiny, frozen parameters, a detached layer).
    The loss is measured on a fixed subset of the training set (up to 1024 samples) at
    init and after training, so start and end are free of batch noise; the batch-loss
    curve is smoothed over windows of `window` (a fraction of the steps). Fails on NaN/inf,
    when the end (or the last window) is above the start by more than `diverge_margin`
    (divergence), or when the relative drop is below `fail_drop`; warns when the smoothed
    batch loss peaked above `spike_ratio` times the start, or the drop is below
    `warn_drop`; fails when that peak exceeds `fail_spike_ratio` times the start (a loss
    that blows up by orders of magnitude and happens to come back down on the training
    subset has not learned anything to trust: MNIST with RMSprop at lr 1 peaks at 14,000x
    and ends with a held-out loss 20x its start). A loss that decreased but ends at or
    above what the best constant prediction scores on the same train subset (the class
    frequencies, or the training mean) warns: the model has learned less than nothing yet
    (wine with init_std 10 falls 12.1 -> 2.87, 2.6x the constant's 1.09). The same run is
    reused by
    `skeleton.input_independent` and `evaluate.full_test_set`; its curves, and the
    predictions on a few fixed test samples over training, go to the report.
    Fix: for NaN or divergence lower the learning rate 10x; for a flat loss raise it and
    check that every parameter receives gradients.
    """
    run = main_training(ctx)
    losses = np.asarray(run.curve.loss, dtype=np.float64)
    lr, opt = ctx.recipe.train.lr, ctx.recipe.train.optimizer
    setup = f"{opt} lr {lr:g}, batch {ctx.recipe.train.batch_size}"
    if ctx.engine_config is not None and ctx.engine_config.user_optimizer:
        setup = f"{ctx.training_setup()}, batch {ctx.recipe.train.batch_size}"
    artifacts = _report_artifacts(ctx, run)
    metrics: dict[str, Any] = {
        "steps": int(len(losses)),
        "steps_planned": int(ctx.recipe.train.steps),
        "monitor_steps": list(run.eval_steps),
        "monitor_train_loss": list(run.train_monitor_loss),
        "monitor_test_loss": list(run.test_monitor_loss),
    }
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size or run.curve.diverged:
        at = int(bad[0]) if bad.size else len(losses) - 1
        start = losses[0] if losses.size else float("nan")
        metrics["nan_step"] = at
        return result(
            "fail",
            f"the loss went NaN/inf at step {at} of {ctx.recipe.train.steps} (it started at "
            f"{start:.3g}; {setup})",
            hint="The learning rate is far too high or the loss overflows: lower lr 10x, "
            "check for a summed instead of averaged loss, and scale the inputs.",
            metrics=metrics,
            artifacts=artifacts,
        )
    n = losses.size
    w = max(1, int(round(float(t["window"]) * n)))
    first = float(losses[:w].mean())
    last = float(losses[-w:].mean())
    peak = float(smooth(losses, w)[w - 1 :].max())  # full windows only
    # The fixed train subset gives a noise-free start and end (batch losses are noisy).
    start, end = run.train_monitor_loss[0], run.train_monitor_loss[-1]
    test_end = run.test_monitor_loss[-1]
    drop = 1.0 - end / start if start > 0 else 0.0
    margin = float(t["diverge_margin"])
    metrics.update(
        window=w,
        first_window_loss=first,
        last_window_loss=last,
        peak_smoothed_loss=peak,
        initial_loss=start,
        final_loss=end,
        relative_drop=drop,
        final_test_loss=test_end,
    )
    pct = f"{-100 * drop:+.0f}%" if abs(drop) >= 0.01 else f"{-100 * drop:+.2f}%"
    said = (
        f"loss {start:.3g} -> {end:.3g} ({pct}) on a fixed train subset over "
        f"{n} steps (test subset {test_end:.3g}); batch loss {first:.3g} -> {last:.3g} "
        f"(first/last {w} steps; {setup})"
    )
    if end > start * (1 + margin) or last > start * (1 + margin):
        return result(
            "fail",
            f"the loss diverged: {said}, smoothed peak {peak:.3g}",
            hint="The learning rate is far too high: lower it (10x); if the loss still "
            "climbs, check the gradient sign and whether the loss is summed, not averaged.",
            metrics=metrics,
            artifacts=artifacts,
        )
    if peak > float(t["fail_spike_ratio"]) * start:
        return result(
            "fail",
            f"the loss blew up during training: {said}, smoothed peak {peak:.3g} "
            f"({peak / start:.0f}x the start)",
            hint="The learning rate is far too high: lower it (10x or more); the loss may "
            "come back down on the training data, but the weights it ends with are not "
            "trustworthy (compare the test-subset loss with its start).",
            metrics=metrics,
            artifacts=artifacts,
        )
    if drop < float(t["fail_drop"]):
        return result(
            "fail",
            f"the loss did not decrease: {said}",
            hint="Nothing learns: the learning rate may be zero or tiny, parameters frozen "
            "or a layer detached from the graph; check that every parameter gets gradients.",
            metrics=metrics,
            artifacts=artifacts,
        )
    constant = _constant_loss(ctx, run)
    metrics["constant_predictor_loss"] = constant
    if end >= constant:
        what = (
            "predicting the training mean"
            if ctx.dataset.task == "regression"
            else "predicting each label's rate"
            if ctx.dataset.is_multilabel
            else "predicting the class frequencies"
        )
        return result(
            "warn",
            f"the loss decreased but ends worse than a constant predictor: {said}; "
            f"{end:.3g} is {end / constant:.2g}× the {constant:.3g} that {what} scores on the "
            "same train subset",
            hint="The training has not made up for its start: an init far too large (see "
            "skeleton.init_loss) leaves confident wrong predictions that take many steps to "
            "unlearn; or the learning rate is too high to settle. Fix the init or lower the "
            "learning rate, and do not judge the model by its accuracy alone.",
            metrics=metrics,
            artifacts=artifacts,
        )
    if peak > float(t["spike_ratio"]) * start:
        return result(
            "warn",
            f"the loss decreased but was unstable: {said}, smoothed peak {peak:.3g} "
            f"({peak / start:.1f}x the start)",
            hint="The learning rate is on the high side: lower it (3-10x) or add warmup.",
            metrics=metrics,
            artifacts=artifacts,
        )
    if drop < float(t["warn_drop"]):
        return result(
            "warn",
            f"the loss decreased only a little: {said}",
            hint="Learning is slow: raise the learning rate, or train longer before judging.",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, artifacts=artifacts)


def _constant_loss(ctx: Context, run: Training) -> float:
    """The best constant prediction's loss on the train monitor subset (the same samples
    the final loss is measured on)."""
    cfg = ctx.engine_config
    assert cfg is not None
    y = ctx.dataset.train.y[run.train_monitor_rows]
    return float(np.mean(constant_losses(y, cfg.prior, ctx.dataset.task, cfg.loss)))


def _report_artifacts(ctx: Context, run: Training) -> dict[str, Any]:
    losses = run.curve.loss
    finite = [v if math.isfinite(v) else float("nan") for v in losses]
    w = max(1, len(losses) // 20)
    curves: dict[str, Any] = {
        "main training: batch loss": curve(
            run.curve.steps, loss=finite, smoothed=smooth(finite, w) if finite else []
        ),
        "main training: loss on fixed subsets": curve(
            run.eval_steps, train=run.train_monitor_loss, test=run.test_monitor_loss
        ),
    }
    if run.curve.accuracy:
        curves["main training: batch accuracy"] = curve(
            run.curve.steps, accuracy=run.curve.accuracy, smoothed=smooth(run.curve.accuracy, w)
        )
    title = (
        "prediction dynamics: p(given class) for fixed test samples"
        if ctx.dataset.has_classes
        else "prediction dynamics: p(own labels) for fixed test samples"
        if ctx.dataset.is_multilabel
        else "prediction dynamics: predictions for fixed test samples"
    )
    series = prediction_series(ctx, run)
    ds = ctx.dataset
    if series and len(run.eval_steps) > 1:
        curves[title] = curve(run.eval_steps, **series)
        if ds.task == "regression":  # each sample's true target, drawn beside its line
            curves[title]["targets"] = dict(zip(series, ds.test.y[run.fixed_rows].tolist()))
    rows = [int(ds.test.indices[p]) for p in run.fixed_rows]
    out: dict[str, Any] = {
        "curves": curves,
        # Raw outputs on the fixed test samples at each evaluation point (TensorBoard).
        "predictions": {
            "steps": list(run.eval_steps),
            "rows": rows,
            "targets": [
                v.tolist() if ds.is_multilabel else float(v) if ds.task == "regression" else int(v)
                for v in ds.test.y[run.fixed_rows]
            ],
            "outputs": [o.tolist() for o in run.fixed_outputs],
        },
    }
    if ds.is_image and len(rows):
        out["images"] = thumbnails(
            ds.test,
            [int(p) for p in run.fixed_rows],
            [f"row {r}" for r in rows],
            title="fixed test samples whose predictions are followed over training",
        )
    return out
