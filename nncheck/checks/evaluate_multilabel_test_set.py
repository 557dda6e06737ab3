"""evaluate.multilabel_test_set: per-label metrics with intervals on every test sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._stats import (
    constant_losses,
    fmt_pct,
    fmt_pm,
    mean_se,
    named_list,
    per_sample_loss,
    probabilities,
    wilson,
)
from nncheck.checks._trainings import dumb_baseline, main_training
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, NON_NEGATIVE, check
from nncheck.results import CheckOutcome, result


@check(
    "evaluate.multilabel_test_set",
    stage="evaluate",
    defaults={"z": 2.0, "threshold": 0.5, "silent_rate": 0.05},
    ranges={"z": NON_NEGATIVE, "threshold": FRACTION, "silent_rate": FRACTION},
    requires=("engine", "trainable", "multilabel"),
)
def multilabel_test_set(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Each label's precision, recall and F1 with 95% intervals, micro and macro F1, the
    exact-match rate, and the loss against the label-rate predictor, on the whole test set.

    Why: a multilabel model's mean metrics hide the labels it never learnt: 95% per-label
    accuracy is what answering "no" to every rare label scores. The loss is compared,
    sample by sample, with the constant that predicts each label's train rate (what a
    model that ignores its inputs scores; a prior-initialized bias starts there); per-label
    F1 shows which labels carry the model and which it never predicts.
    Predictions: sigmoid(logit) >= `threshold`. Fails when the test loss is not `z`
    standard errors below the label-rate predictor's (paired per sample), unless no model
    could show it on so few samples (then warns). Warns when a label set in at least
    `silent_rate` of the test samples is never predicted.
    Fix: see skeleton.input_independent and overfit for the cause; for silent labels, more
    positives, a class weight (pos_weight) or a lower threshold for them.
    """
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None
    run = main_training(ctx)
    names = list(ds.classes or ())
    y = ds.test.y.astype(np.float64)
    n, k = y.shape
    if run.test_outputs is None or not np.all(np.isfinite(run.test_outputs)):
        return result(
            "fail",
            "the trained model's test outputs are NaN or inf: the training diverged",
            hint="See overfit.loss_decreases: lower the learning rate or fix the init.",
        )
    out = np.asarray(run.test_outputs, dtype=np.float64)
    pred = probabilities(out, "bce") >= float(t["threshold"])
    truth = y >= 0.5
    tp = (pred & truth).sum(axis=0)
    fp = (pred & ~truth).sum(axis=0)
    fn = (~pred & truth).sum(axis=0)
    support = truth.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
    micro = float(2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1))
    present = support > 0
    macro = float(f1[present].mean()) if present.any() else 0.0
    exact_hits = int(np.all(pred == truth, axis=1).sum())
    exact_lo, exact_hi = wilson(exact_hits, n)
    hamming = float((pred == truth).mean())
    losses = per_sample_loss(out, y, "bce", "multilabel")
    loss, loss_se = mean_se(losses)
    rates = np.asarray(cfg.prior, dtype=np.float64)
    base_losses = constant_losses(y, rates, "multilabel", "bce")
    base, base_se = mean_se(base_losses)
    gain, gain_se = mean_se(base_losses - losses)
    best_gain, best_gain_se = mean_se(base_losses)  # a perfect model's gain
    z = float(t["z"])
    rows = []
    for j in range(k):
        p_lo, p_hi = wilson(int(tp[j]), int(tp[j] + fp[j]))
        r_lo, r_hi = wilson(int(tp[j]), int(support[j]))
        rows.append(
            [
                names[j],
                int(support[j]),
                int(tp[j] + fp[j]),
                round(float(precision[j]), 3),
                f"{100 * p_lo:.0f}-{100 * p_hi:.0f}%" if tp[j] + fp[j] else "",
                round(float(recall[j]), 3),
                f"{100 * r_lo:.0f}-{100 * r_hi:.0f}%" if support[j] else "",
                round(float(f1[j]), 3),
            ]
        )
    baseline = dumb_baseline(ctx)
    metrics: dict[str, Any] = {
        "n_test": n,
        "n_labels": k,
        "loss": loss,
        "loss_se": loss_se,
        "label_rate_loss": base,
        "label_rate_loss_se": base_se,
        "micro_f1": micro,
        "macro_f1": macro,
        "exact_match": exact_hits / max(n, 1),
        "exact_match_ci": [exact_lo, exact_hi],
        "majority_exact_match": baseline.get("majority_exact_match"),
        "hamming_accuracy": hamming,
        "per_label": {
            names[j]: {
                "support": int(support[j]),
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
            }
            for j in range(k)
        },
    }
    artifacts = {
        "tables": {
            "per-label metrics (test set)": {
                "columns": [
                    "label",
                    "positives",
                    "predicted",
                    "precision",
                    "precision 95% CI",
                    "recall",
                    "recall 95% CI",
                    "F1",
                ],
                "rows": rows,
            }
        }
    }
    said = (
        f"loss {fmt_pm(loss, loss_se)} (summed over {k} labels) on all {n} test samples vs "
        f"{fmt_pm(base, base_se)} predicting each label's train rate; micro F1 {micro:.3f}, "
        f"macro F1 {macro:.3f}, exact match {fmt_pct(exact_hits / max(n, 1), exact_lo, exact_hi)}"
        f" (each label's majority answer: {100 * (baseline.get('majority_exact_match') or 0):.0f}%)"
    )
    if not gain - z * gain_se > 0:
        if not best_gain - z * best_gain_se > 0:
            metrics["test_set_too_small"] = True
            return result(
                "warn",
                f"the test set is too small to show a gain over the label rates: even perfect"
                f" predictions on {n} samples would not be {z:g} SE better: {said}",
                hint="Give the test split more samples to judge the model.",
                metrics=metrics,
                artifacts=artifacts,
            )
        return result(
            "fail",
            f"not clearly better than predicting each label's train rate: {said} "
            f"(improvement {fmt_pm(gain, gain_se)} nats per sample, needs > {z:g} SE)",
            hint="The model learned nothing about the labels that carries over to the test "
            "set: labels misaligned with inputs, a training that failed (see "
            "overfit.loss_decreases), or test inputs preprocessed differently from train.",
            metrics=metrics,
            artifacts=artifacts,
        )
    silent = np.flatnonzero((support >= float(t["silent_rate"]) * n) & (tp + fp == 0))
    metrics["silent_labels"] = [names[j] for j in silent]
    if len(silent):
        listed = named_list(names, silent, lambda j: f"{int(support[j])} positives")
        return result(
            "warn",
            f"{len(silent)} label(s) set in at least {100 * float(t['silent_rate']):.0f}% of"
            f" the test samples are never predicted: {listed}; {said}",
            hint="The model answers 'no' to these labels whatever the input: they need more "
            "positives, a positive weight in the loss (pos_weight), more training, or a lower "
            "threshold.",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, artifacts=artifacts)
