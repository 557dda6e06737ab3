"""evaluate.full_test_set: the trained model on every test sample, with error bars."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks import _artifacts
from nncheck.checks._stats import (
    confusion_matrix,
    constant_losses,
    decimals_for,
    fmt_pct,
    fmt_pm,
    mean_se,
    per_class,
    per_sample_loss,
    probabilities,
    ratio_se,
    significant_digits,
    wilson,
)
from nncheck.checks._trainings import Training, main_training
from nncheck.checks._trainings import dumb_baseline as baseline_metrics
from nncheck.checks.context import Context
from nncheck.checks.registry import EXAMPLES, NON_NEGATIVE, check
from nncheck.results import CheckOutcome, result

# A verdict the check could not reach with any model is no evidence against this one.
_TOO_SMALL_HINT = (
    "No model could pass on so few test samples, so this is not evidence against the model: "
    "give the test split more samples (data.test.fraction, or more data) to judge it."
)
MAX_PER_CLASS_METRICS = 50  # classes listed in metrics (results.json); the table has all


@check(
    "evaluate.full_test_set",
    stage="evaluate",
    defaults={"z": 2.0, "max_examples": 10},
    ranges={
        "z": NON_NEGATIVE,
        "max_examples": EXAMPLES,
    },
    requires=("engine", "trainable"),
)
def full_test_set(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Metrics on the whole test set with their uncertainty, against the dumb baselines.

    Why: a metric on one batch, or without error bars, invites decisions on noise: 97.31%
    on 10,000 test samples is "97.3%", on 44 samples it is "98%" give or take 6 points.
    This check evaluates the recipe's training (the run of `overfit.loss_decreases`) on
    every test sample, in chunks, and reports accuracy with its 95% Wilson interval, the
    loss with its standard error, per-class precision/recall/F1 and the confusion matrix
    (regression: MSE, MAE and R² with standard errors), next to the majority-class / mean
    predictor (the zeroed-input twin is skeleton.input_independent's: it is trained only
    when that check needs it).
    Fails when the model is not clearly better than the dumb baseline: the accuracy's
    Wilson lower bound is not above the majority-class accuracy, or (regression) the MSE is
    not `z` standard errors below the mean predictor's (paired, per sample). Warns instead
    when the test set is too small for any model to pass (100% accuracy, or perfect
    predictions, would not be clearly better either: 6 test rows of a 32-row table). A model that
    cannot beat a constant has learned nothing about the inputs: labels misaligned with
    inputs (D4), a training that failed, or a test set unlike the training set. Warns when
    the accuracy beats the majority class but the test loss is above the loss of
    predicting the class frequencies: confidently wrong probabilities that the accuracy
    hides (wine with init_std 10: 59% accurate, loss 3.4x the constant predictor's).
    Fix: see skeleton.input_independent and overfit.loss_decreases for the cause; check that
    test labels are aligned with their inputs and preprocessed like the training set.
    """
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None  # requires=("engine",)
    run = main_training(ctx)
    base = baseline_metrics(ctx)
    out = np.asarray(run.test_outputs, dtype=np.float64)
    n = len(ds.test)
    bad = ~np.all(np.isfinite(out.reshape(n, -1)), axis=1)
    if bad.any():
        return result(
            "fail",
            f"the trained model's outputs are NaN/inf for {int(bad.sum())} of {n} test "
            f"samples (training {'diverged' if run.diverged else 'ended'} after "
            f"{len(run.curve.loss)} steps)",
            hint="Training blew up: see overfit.loss_decreases; lower the learning rate.",
            metrics={"n_test": n, "nonfinite_outputs": int(bad.sum())},
        )
    if ds.has_classes:
        return _classification(ctx, t, run, base, out)
    return _regression(ctx, t, run, base, out)


def _classification(
    ctx: Context,
    t: dict[str, Any],
    run: Training,
    base: dict[str, Any],
    out: np.ndarray,
) -> CheckOutcome:
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None
    y = ds.test.y
    n, k = len(y), ds.n_classes
    names = list(ds.classes or [str(i) for i in range(k)])
    pred = np.argmax(out, axis=1)
    correct = pred == y
    hits = int(correct.sum())
    acc = hits / n
    lo, hi = wilson(hits, n)
    losses = per_sample_loss(out, y, cfg.loss, ds.task)
    loss, loss_se = mean_se(losses)
    cm = confusion_matrix(y, pred, k)
    pc = per_class(cm)
    present = pc["support"] > 0
    macro_f1 = float(pc["f1"][present].mean()) if present.any() else 0.0
    balanced = float(pc["recall"][present].mean()) if present.any() else 0.0
    worst = int(np.argmin(np.where(present, pc["recall"], np.inf)))
    half = (hi - lo) / 2
    metrics: dict[str, Any] = {
        "n_test": n,
        "accuracy": acc,
        "accuracy_ci": [lo, hi],
        "accuracy_significant_digits": significant_digits(acc, half),
        "loss": loss,
        "loss_se": loss_se,
        "loss_significant_digits": significant_digits(loss, loss_se),
        "macro_f1": macro_f1,
        "balanced_accuracy": balanced,
        "worst_class": names[worst],
        "worst_class_recall": float(pc["recall"][worst]),
        "majority_accuracy": base["majority_accuracy"],
        "prior_cross_entropy": base["prior_cross_entropy"],
        "train_steps": len(run.curve.loss),
    }
    if k <= MAX_PER_CLASS_METRICS:
        metrics["per_class"] = {
            names[c]: {
                "precision": float(pc["precision"][c]),
                "recall": float(pc["recall"][c]),
                "f1": float(pc["f1"][c]),
                "support": int(pc["support"][c]),
            }
            for c in range(k)
        }
    rows = [
        [
            names[c],
            int(pc["support"][c]),
            round(float(pc["precision"][c]), 4),
            _interval(int(cm[c, c]), int(cm[:, c].sum())),
            round(float(pc["recall"][c]), 4),
            _interval(int(cm[c, c]), int(cm[c, :].sum())),
            round(float(pc["f1"][c]), 4),
        ]
        for c in range(k)
    ]
    maj = base["majority_accuracy"]
    d_pct = max(0, decimals_for(100 * half, max_decimals=3))
    summary_rows = [
        [
            "accuracy",
            f"{100 * acc:.{d_pct}f}%",
            f"{100 * lo:.{d_pct}f}-{100 * hi:.{d_pct}f}%",
            f"{100 * maj:.1f}%",
        ],
        [
            "loss",
            fmt_pm(loss, loss_se),
            "",
            f"{base['prior_cross_entropy']:.4g}",
        ],
    ]
    artifacts: dict[str, Any] = {
        "tables": {
            "test metrics vs baselines": {
                "columns": ["metric", "model", "95% CI", "dumb baseline"],
                "rows": summary_rows,
            },
            "per-class metrics (test set)": {
                "columns": [
                    "class",
                    "support",
                    "precision",
                    "precision 95% CI",
                    "recall",
                    "recall 95% CI",
                    "F1",
                ],
                "rows": rows,
            },
        },
        "confusion": {
            "labels": names,
            "matrix": cm.tolist(),
            "rows": "given label",
            "columns": "predicted",
        },
    }
    examples = _confident_mistakes(ctx, out, pred, int(t["max_examples"]), artifacts)
    said = (
        f"accuracy {fmt_pct(acc, lo, hi)} on {ctx.test_scope()} test samples, loss "
        f"{fmt_pm(loss, loss_se)}; majority class {100 * maj:.{d_pct}f}%; "
        f"macro F1 {macro_f1:.3f}, worst recall "
        f"{100 * pc['recall'][worst]:.0f}% (class {names[worst]!r})"
    )
    best_lo, _ = wilson(n, n)
    if lo <= maj and best_lo <= maj:
        metrics["test_set_too_small"] = True
        return result(
            "warn",
            f"the test set is too small to show a gain over the majority class: even 100% "
            f"accuracy on {n} samples has a 95% lower bound of {100 * best_lo:.0f}%, not "
            f"above the majority class's {100 * maj:.{d_pct}f}%: {said}",
            hint=_TOO_SMALL_HINT,
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    if lo <= maj:
        return result(
            "fail",
            f"not clearly better than always predicting the majority class: {said}",
            hint="The model learned nothing that carries over to the test set: labels may be "
            "misaligned with inputs (shuffled, sorted separately, off by one row), the "
            "training failed (see overfit.loss_decreases), or test inputs are preprocessed "
            "differently from train.",
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    constant = float(np.mean(constant_losses(y, cfg.prior, ds.task, cfg.loss)))
    metrics["constant_predictor_loss"] = constant
    if loss > constant:
        return result(
            "warn",
            f"accuracy beats the majority class but the loss is worse than a constant "
            f"predictor's: {said}; the loss {fmt_pm(loss, loss_se)} is {loss / constant:.2g}× "
            f"the {constant:.3g} that predicting the class frequencies scores",
            hint="The model ranks the right class first more often than chance but is "
            "confidently wrong on the samples it misses, so its probabilities cannot be "
            "trusted: an init far too large that training has not recovered from (see "
            "skeleton.init_loss), too high a learning rate, or overfitting. Report neither "
            "number until the loss is below the constant predictor's.",
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, examples=examples, artifacts=artifacts)


def _confident_mistakes(
    ctx: Context, out: np.ndarray, pred: np.ndarray, limit: int, artifacts: dict[str, Any]
) -> list[dict[str, Any]]:
    """The test samples the model got wrong most confidently (often mislabeled)."""
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None
    y = ds.test.y
    names = list(ds.classes or [])
    probs = probabilities(out, cfg.loss)
    conf = probs[np.arange(len(y)), pred]
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-conf[wrong], kind="stable")][:limit]
    examples = []
    for pos in order:
        examples.append(
            {
                "row": int(ds.test.indices[pos]),
                "label": names[int(y[pos])] if names else int(y[pos]),
                "predicted": names[int(pred[pos])] if names else int(pred[pos]),
                "confidence": round(float(conf[pos]), 4),
                "p_label": round(float(probs[pos, int(y[pos])]), 4),
            }
        )
    if ds.is_image and len(order):
        artifacts["images"] = _artifacts.thumbnails(
            ds.test,
            [int(p) for p in order],
            [f"row {e['row']}: {e['label']} -> {e['predicted']}" for e in examples],
            title="most confident test mistakes (given -> predicted)",
        )
    return examples


_SCATTER_POINTS = 2000  # enough to see bias and spread; keeps the report small


def _interval(hits: int, n: int) -> str:
    """Wilson 95% interval of a per-class rate, as text for the table ('' when undefined)."""
    if n <= 0:
        return ""
    lo, hi = wilson(hits, n)
    return f"{lo:.3f}-{hi:.3f}"


def _regression(
    ctx: Context,
    t: dict[str, Any],
    run: Training,
    base: dict[str, Any],
    out: np.ndarray,
) -> CheckOutcome:
    ds = ctx.dataset
    y = ds.test.y.astype(np.float64)
    n = len(y)
    pred = out[:, 0]
    err = pred - y
    sq = err * err
    mse, mse_se = mean_se(sq)
    mae, mae_se = mean_se(np.abs(err))
    dev = (y - y.mean()) ** 2
    ratio, ratio_err = ratio_se(sq, dev) if dev.sum() > 0 else (float("nan"), float("nan"))
    r2, r2_se = 1.0 - ratio, ratio_err
    base_sq = (y - base["mean_prediction"]) ** 2
    gain, gain_se = mean_se(base_sq - sq)  # paired: how much lower each sample's error is
    z = float(t["z"])
    metrics: dict[str, Any] = {
        "n_test": n,
        "mse": mse,
        "mse_se": mse_se,
        "mse_significant_digits": significant_digits(mse, mse_se),
        "rmse": float(np.sqrt(mse)),
        "mae": mae,
        "mae_se": mae_se,
        "r2": r2,
        "r2_se": r2_se,
        "baseline_mse": base["mse"],
        "mse_improvement": gain,
        "mse_improvement_se": gain_se,
        "train_steps": len(run.curve.loss),
    }
    artifacts: dict[str, Any] = {
        "tables": {
            "test metrics vs baselines": {
                "columns": ["metric", "model", "mean predictor"],
                "rows": [
                    [
                        "MSE",
                        fmt_pm(mse, mse_se),
                        fmt_pm(base["mse"], base["mse_se"]),
                    ],
                    ["MAE", fmt_pm(mae, mae_se), fmt_pm(base["mae"], base["mae_se"])],
                    ["R²", fmt_pm(r2, r2_se), "0"],
                ],
            }
        },
        "scatter": {
            "test set: predicted vs true target": {
                "x": y[:_SCATTER_POINTS].tolist(),
                "y": pred[:_SCATTER_POINTS].astype(np.float64).tolist(),
                "x_label": "true target",
                "y_label": "predicted",
                "diagonal": True,
            },
            "test set: residuals vs predicted": {
                "x": pred[:_SCATTER_POINTS].astype(np.float64).tolist(),
                "y": err[:_SCATTER_POINTS].tolist(),
                "x_label": "predicted",
                "y_label": "residual (predicted - true)",
                "zero_line": True,
            },
        },
    }
    limit = int(t["max_examples"])
    worst = np.argsort(-np.abs(err), kind="stable")[:limit]
    examples = [
        {
            "row": int(ds.test.indices[p]),
            "target": float(y[p]),
            "predicted": round(float(pred[p]), 6),
            "error": round(float(err[p]), 6),
        }
        for p in worst
    ]
    said = (
        f"MSE {fmt_pm(mse, mse_se)} on {ctx.test_scope()} test samples (RMSE {np.sqrt(mse):.3g}), "
        f"MAE {fmt_pm(mae, mae_se)}, R² {fmt_pm(r2, r2_se)}; predicting the training mean "
        f"gives MSE {fmt_pm(base['mse'], base['mse_se'])}"
    )
    best_gain, best_gain_se = mean_se(base_sq)  # perfect predictions
    if not gain - z * gain_se > 0 and not best_gain - z * best_gain_se > 0:
        metrics["test_set_too_small"] = True
        return result(
            "warn",
            f"the test set is too small to show a gain over predicting the mean: even "
            f"perfect predictions on {n} samples would not be {z:g} SE better: {said}",
            hint=_TOO_SMALL_HINT,
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    if not gain - z * gain_se > 0:
        return result(
            "fail",
            f"not clearly better than predicting the mean: {said} (improvement "
            f"{fmt_pm(gain, gain_se)} per sample, needs > {z:g} SE)",
            hint="The model learned nothing that carries over to the test set: targets may "
            "be misaligned with inputs, the training failed (see overfit.loss_decreases), or "
            "test inputs are preprocessed differently from train.",
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, examples=examples, artifacts=artifacts)
