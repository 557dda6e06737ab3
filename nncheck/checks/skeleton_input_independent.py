"""skeleton.input_independent: real inputs must beat the same model trained on zeros."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve
from nncheck.checks._stats import fmt_pct, fmt_pm, mean_se, per_sample_loss, ratio_se, wilson
from nncheck.checks._trainings import (
    Training,
    best_constant_outputs,
    main_training,
    smooth,
    zeroed_training,
)
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, NON_NEGATIVE, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.input_independent",
    stage="skeleton",
    defaults={
        "z": 2.0,
        "fail_gain": 0.05,
        "warn_gain": 0.2,
        "fail_accuracy_gain": 0.02,
        "warn_accuracy_gain": 0.1,
    },
    ranges={
        "z": NON_NEGATIVE,
        "fail_gain": NON_NEGATIVE,
        "warn_gain": NON_NEGATIVE,
        "fail_accuracy_gain": FRACTION,
        "warn_accuracy_gain": FRACTION,
    },
    requires=("engine", "trainable"),
)
def input_independent(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """A model trained on zeroed inputs must do clearly worse than on the real inputs.

    Why: with all inputs set to zero a network can only learn the label distribution;
    that is the input-independent baseline. If the same model, trained the same steps on
    the real inputs, scores no better on the test set, it is not using its inputs: the
    forward pass ignores x (M7), the inputs were wiped on the way in (D8: uint8 // 255
    gives all zeros), or the labels do not belong to their inputs (D4: shuffled, sorted
    separately, off by one row), so real inputs cannot help either.
    Compares the test loss (and accuracy) of the recipe's training with its zeroed-input
    twin, sample by sample on the whole test set. Fails when the relative loss reduction is
    below `fail_gain` or not `z` standard errors above zero, unless accuracy improves by at
    least `fail_accuracy_gain` (absolute, also `z` SE clear); warns below `warn_gain` /
    `warn_accuracy_gain`. When the two disagree — accuracy clearly better with real
    inputs while the test loss is above the zeroed-input model's (a confidently wrong
    model), or the loss clearly better while the accuracy is clearly worse — it says both
    and warns. The message leads with the figure the verdict rests on.
    Fix: follow the diagnosis in the message: check the preprocessing of the inputs, the
    join of inputs and labels, or the forward pass of the model.
    """
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None  # requires=("engine",)
    real = main_training(ctx)
    if real.diverged or real.test_outputs is None:
        return result(
            "skip",
            f"the training on the real inputs diverged (loss NaN/inf at step "
            f"{len(real.curve.loss) - 1}); nothing to compare",
            hint="Fix the divergence first (see overfit.loss_decreases).",
            artifacts={"curves": _curves(real, None)},
        )
    early = _without_twin(ctx, t, real)
    if early is not None:
        return early
    zero = zeroed_training(ctx)
    artifacts = {"curves": _curves(real, zero)}
    assert zero.test_outputs is not None
    y = ds.test.y
    lr = per_sample_loss(real.test_outputs, y, cfg.loss, ds.task)
    lz = per_sample_loss(zero.test_outputs, y, cfg.loss, ds.task)
    z = float(t["z"])
    loss_r, se_r = mean_se(lr)
    loss_z, se_z = mean_se(lz)
    ratio, ratio_err = ratio_se(lr, lz) if loss_z > 0 else (float("nan"), float("nan"))
    gain = 1.0 - ratio if loss_z > 0 else 0.0
    gain_se = ratio_err if np.isfinite(ratio_err) else 0.0
    metrics: dict[str, Any] = {
        "n_test": int(len(y)),
        "steps": int(ctx.recipe.train.steps),
        "real_test_loss": loss_r,
        "real_test_loss_se": se_r,
        "zeroed_test_loss": loss_z,
        "zeroed_test_loss_se": se_z,
        "loss_gain": gain,
        "loss_gain_se": gain_se,
        "real_train_loss": real.train_monitor_loss[-1],
        "zeroed_train_loss": zero.train_monitor_loss[-1],
    }
    helps_loss = gain >= float(t["fail_gain"]) and gain - z * gain_se > 0
    # A test loss above the zeroed-input model's while the accuracy is clearly better is a
    # contradiction whatever its error bar: the heavy tail of a confidently wrong model
    # (a few samples at 20-50 nats) makes any error bar on the loss wide.
    hurts_loss = loss_r > loss_z
    strong = gain >= float(t["warn_gain"])
    said_loss = f"test loss {fmt_pm(loss_r, se_r)} with real inputs vs {fmt_pm(loss_z, se_z)} "
    said_loss += f"with zeroed inputs ({100 * gain:+.1f}% ± {100 * gain_se:.1f}%)"
    said_acc = ""
    helps_acc = hurts_acc = False
    if ds.has_classes:
        cr = np.argmax(real.test_outputs, axis=1) == y
        cz = np.argmax(zero.test_outputs, axis=1) == y
        n = len(y)
        acc_r, acc_z = float(cr.mean()), float(cz.mean())
        diff, diff_se = mean_se(cr.astype(np.float64) - cz.astype(np.float64))
        lo_r, hi_r = wilson(int(cr.sum()), n)
        lo_z, hi_z = wilson(int(cz.sum()), n)
        metrics.update(
            real_accuracy=acc_r,
            real_accuracy_ci=[lo_r, hi_r],
            zeroed_accuracy=acc_z,
            zeroed_accuracy_ci=[lo_z, hi_z],
            accuracy_gain=diff,
            accuracy_gain_se=diff_se,
        )
        helps_acc = diff >= float(t["fail_accuracy_gain"]) and diff - z * diff_se > 0
        hurts_acc = diff + z * diff_se < 0
        strong = strong or diff >= float(t["warn_accuracy_gain"])
        said_acc = f"accuracy {fmt_pct(acc_r, lo_r, hi_r)} vs {fmt_pct(acc_z, lo_z, hi_z)}"
    # The headline leads with the figure the verdict rests on.
    if helps_loss or not helps_acc:
        said = said_loss + (f"; {said_acc}" if said_acc else "")
    else:
        said = f"{said_acc}; {said_loss}"
    metrics["verdict_rests_on"] = "loss" if helps_loss else ("accuracy" if helps_acc else "")
    if (helps_acc and hurts_loss) or (helps_loss and hurts_acc):
        better, worse = ("accuracy", "test loss") if helps_acc else ("test loss", "accuracy")
        metrics["loss_and_accuracy_disagree"] = True
        return result(
            "warn",
            f"the {better} says real inputs help but the {worse} says they hurt: {said}",
            hint="The model ranks the right class first more often with its inputs, but is "
            "confidently wrong on the samples it misses (a loss far above the zeroed-input "
            "model's): an init far too large that training has not recovered from, too high "
            "a learning rate, or overfitting; see skeleton.init_loss and "
            "overfit.loss_decreases. Trust neither number until they agree."
            if helps_acc
            else "The loss improves while fewer samples are classified right: the model "
            "fits the probabilities of easy samples and loses hard ones; check the class "
            "balance and train longer before trusting either number.",
            metrics=metrics,
            artifacts=artifacts,
        )
    if helps_loss or helps_acc:
        if strong:
            return result("pass", f"real inputs help: {said}", metrics=metrics, artifacts=artifacts)
        return result(
            "warn",
            f"real inputs help only a little: {said}",
            hint="The inputs carry little information about the target at this training "
            "length: train longer, or check that the informative features reach the model.",
            metrics=metrics,
            artifacts=artifacts,
        )
    cause, hint = _diagnose(ctx, real, zero, metrics)
    metrics["diagnosis"] = cause
    return result(
        "fail",
        f"the model does no better with its inputs than without: {said}; {cause}",
        hint=hint,
        metrics=metrics,
        artifacts=artifacts,
    )


def _without_twin(ctx: Context, t: dict[str, Any], real: Training) -> CheckOutcome | None:
    """A pass without training the zeroed-input twin, when its verdict is already certain.

    Zeroed inputs make every test sample look the same, so the twin answers one constant
    for all of them: it can do no better than the best constant for the test labels, in
    loss and in accuracy. Real inputs that clearly beat that bound on the loss, with an
    accuracy no worse than it, beat the twin too and cannot contradict it; the twin's
    training (as long as the main one) is then not needed. Anything less trains the twin.
    """
    bound = best_constant_outputs(ctx)
    helps, strong, metrics, said = _compare(ctx, t, real, bound, "the best constant")
    z = float(t["z"])
    gain, gain_se = metrics["loss_gain"], metrics["loss_gain_se"]
    clear_loss = gain >= float(t["warn_gain"]) and gain - z * gain_se > 0
    acc_hurts = "accuracy_gain" in metrics and (
        metrics["accuracy_gain"] + z * metrics["accuracy_gain_se"] < 0
    )
    if not (helps and strong and clear_loss) or acc_hurts:
        return None
    metrics["baseline"] = "best constant for the test labels (zeroed-input twin not trained)"
    metrics["verdict_rests_on"] = "loss"
    return result(
        "pass",
        f"real inputs help: {said}, the best any input-independent model (such as the "
        "zeroed-input twin) can reach, so the twin was not trained",
        metrics=metrics,
        artifacts={"curves": _curves(real, None)},
    )


def _compare(
    ctx: Context, t: dict[str, Any], real: Training, zero_out: np.ndarray, what: str
) -> tuple[bool, bool, dict[str, Any], str]:
    """Real-input test outputs against input-free ones (``what``), sample by sample:
    (helps, clearly helps, metrics, what to say)."""
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None and real.test_outputs is not None
    y = ds.test.y
    lr = per_sample_loss(real.test_outputs, y, cfg.loss, ds.task)
    lz = per_sample_loss(zero_out, y, cfg.loss, ds.task)
    z = float(t["z"])
    loss_r, se_r = mean_se(lr)
    loss_z, se_z = mean_se(lz)
    ratio, ratio_err = ratio_se(lr, lz) if loss_z > 0 else (float("nan"), float("nan"))
    gain = 1.0 - ratio if loss_z > 0 else 0.0
    gain_se = ratio_err if np.isfinite(ratio_err) else 0.0
    metrics: dict[str, Any] = {
        "n_test": int(len(y)),
        "steps": int(ctx.recipe.train.steps),
        "real_test_loss": loss_r,
        "real_test_loss_se": se_r,
        "zeroed_test_loss": loss_z,
        "zeroed_test_loss_se": se_z,
        "loss_gain": gain,
        "loss_gain_se": gain_se,
        "real_train_loss": real.train_monitor_loss[-1],
    }
    helps_loss = gain >= float(t["fail_gain"]) and gain - z * gain_se > 0
    strong = gain >= float(t["warn_gain"])
    said_loss = f"test loss {fmt_pm(loss_r, se_r)} with real inputs vs {fmt_pm(loss_z, se_z)} "
    said_loss += f"with {what} ({100 * gain:+.1f}% ± {100 * gain_se:.1f}%)"
    said_acc = ""
    helps_acc = False
    if ds.has_classes:
        cr = np.argmax(real.test_outputs, axis=1) == y
        cz = np.argmax(zero_out, axis=1) == y
        n = len(y)
        acc_r, acc_z = float(cr.mean()), float(cz.mean())
        diff, diff_se = mean_se(cr.astype(np.float64) - cz.astype(np.float64))
        lo_r, hi_r = wilson(int(cr.sum()), n)
        lo_z, hi_z = wilson(int(cz.sum()), n)
        metrics.update(
            real_accuracy=acc_r,
            real_accuracy_ci=[lo_r, hi_r],
            zeroed_accuracy=acc_z,
            zeroed_accuracy_ci=[lo_z, hi_z],
            accuracy_gain=diff,
            accuracy_gain_se=diff_se,
        )
        helps_acc = diff >= float(t["fail_accuracy_gain"]) and diff - z * diff_se > 0
        strong = strong or diff >= float(t["warn_accuracy_gain"])
        said_acc = f"; accuracy {fmt_pct(acc_r, lo_r, hi_r)} vs {fmt_pct(acc_z, lo_z, hi_z)}"
    return helps_loss or helps_acc, strong, metrics, said_loss + said_acc


def _diagnose(
    ctx: Context, real: Training, zero: Training, metrics: dict[str, Any]
) -> tuple[str, str]:
    """Which of the usual causes the measurements point at (the message's second half)."""
    ds = ctx.dataset
    x = ds.train.x.reshape(len(ds.train), -1)
    spread = float(np.max(x.std(axis=0))) if len(x) > 1 else 0.0
    out = np.asarray(real.test_outputs, dtype=np.float64)
    out_spread = float(np.max(out.std(axis=0))) if len(out) > 1 else 0.0
    scale = float(np.max(np.abs(out))) if out.size else 0.0
    metrics["input_spread"] = spread
    metrics["output_spread"] = out_spread
    tr_r, tr_z = real.train_monitor_loss[-1], zero.train_monitor_loss[-1]
    if spread == 0.0:
        return (
            f"the training inputs are constant (every feature has one value across all "
            f"{len(x)} samples)",
            "The inputs were wiped before they reached the model: look for an integer "
            "division (uint8 // 255 gives zeros), a dtype cast or a normalization that "
            "zeroes everything.",
        )
    if out_spread <= 1e-6 * max(1.0, scale):
        return (
            f"the model's outputs are the same for every test sample (spread "
            f"{out_spread:.2g}) although the inputs differ (spread {spread:.3g})",
            "The forward pass does not use its input: look for a buffer, a cached tensor or "
            "a constant used in place of x.",
        )
    te_r, te_z = metrics["real_test_loss"], metrics["zeroed_test_loss"]
    if tr_r < 0.95 * tr_z:
        return (
            f"it fits the training labels better than zeros (train loss {tr_r:.3g} vs "
            f"{tr_z:.3g}) but not the test labels (test loss {te_r:.3g} vs {te_z:.3g})",
            "The labels may not belong to their inputs: check joins and sorts that touch "
            "only the labels or only the inputs (shuffled, sorted separately, off by one row).",
        )
    return (
        "it does not fit the training labels better than zeros either "
        f"(train loss {tr_r:.3g} vs {tr_z:.3g})",
        "Either nothing learns (see overfit.one_batch and overfit.loss_decreases) or the "
        "inputs carry no usable signal: check that the right columns are the features and "
        "that the labels are aligned with them.",
    )


def _curves(real: Training, zero: Training | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if zero is None:
        window = max(1, len(real.curve.loss) // 20)
        if real.curve.loss:
            out["training loss (smoothed), real inputs"] = curve(
                real.curve.steps, **{"real inputs": smooth(real.curve.loss, window)}
            )
        return out
    n = min(len(real.curve.loss), len(zero.curve.loss))
    window = max(1, n // 20)
    if n:
        out["training loss (smoothed): real vs zeroed inputs"] = curve(
            real.curve.steps[:n],
            **{
                "real inputs": smooth(real.curve.loss[:n], window),
                "zeroed inputs": smooth(zero.curve.loss[:n], window),
            },
        )
    m = min(len(real.eval_steps), len(zero.eval_steps))
    if m:
        out["test loss (monitor subset): real vs zeroed inputs"] = curve(
            real.eval_steps[:m],
            **{
                "real inputs": real.test_monitor_loss[:m],
                "zeroed inputs": zero.test_monitor_loss[:m],
            },
        )
    return out
