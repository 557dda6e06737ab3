"""evaluate.human_baseline: how well a second annotator agrees with the labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._stats import (
    cohen_kappa,
    confusion_matrix,
    correlation_ci,
    fmt_pct,
    fmt_pm,
    mean_se,
    wilson,
)
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "evaluate.human_baseline",
    stage="evaluate",
    defaults={"warn_kappa": 0.4, "warn_correlation": 0.5, "copy_min_samples": 50},
    ranges={
        "warn_kappa": Range(ge=-1, le=1),
        "warn_correlation": Range(ge=-1, le=1),
        "copy_min_samples": COUNT,
    },
    requires=("second_annotation",),
)
def human_baseline(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Agreement of the second annotation with the first: the human baseline.

    Why: labels are made by people, and people disagree. If a second annotator agrees with
    the labels 90% of the time, a model at 89% is about as good as a person and chasing
    99% means fitting the first annotator's noise; if they agree 60% of the time the labels
    are the problem, not the model. This check compares the two annotation columns over
    every sample (train and test) that has both: agreement with its 95% Wilson interval
    and Cohen's kappa (chance-corrected); for regression, MSE/MAE between annotations and
    their correlation. When `evaluate.full_test_set` ran, the model's test metric is shown
    beside it (agreement on the test samples too).
    Warns when the annotators barely agree (kappa below `warn_kappa`, correlation below
    `warn_correlation`), when no sample has both annotations, or when the second
    annotation is an exact copy of the first on at least `copy_min_samples` samples (then
    it is no independent baseline).
    Fix: for low agreement, review the annotation guidelines and the disputed samples
    (listed as examples); for a copy, point `data.second_annotation` at the real column.
    """
    ds = ctx.dataset
    splits = [("train", ds.train), ("test", ds.test)]
    if any(s.y2 is None for _, s in splits):
        return result(
            "warn",
            "the second annotation was not loaded for both splits (a separate test file "
            "without the column?)",
            hint="Add the second-annotation column to the test file as well.",
        )
    if ds.has_classes:
        return _classification(ctx, t)
    return _regression(ctx, t)


def _pairs(ctx: Context, regression: bool) -> tuple[np.ndarray, ...]:
    """y, y2, split name (0 train / 1 test) and source rows for samples with both."""
    ys, y2s, which, rows = [], [], [], []
    for i, split in enumerate((ctx.dataset.train, ctx.dataset.test)):
        y, y2 = split.y, split.y2
        assert y2 is not None
        if regression:
            ok = np.isfinite(y) & np.isfinite(y2)
        else:
            ok = (y >= 0) & (y2 >= 0)
        ys.append(y[ok])
        y2s.append(y2[ok])
        which.append(np.full(int(ok.sum()), i))
        rows.append(split.indices[ok])
    return tuple(np.concatenate(a) for a in (ys, y2s, which, rows))


def _model_metric(ctx: Context) -> dict[str, Any] | None:
    res = ctx.results.get("evaluate.full_test_set")
    if res is None or res.status not in ("pass", "warn", "fail"):
        return None
    return res.metrics


def _classification(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    ds = ctx.dataset
    y, y2, which, rows = _pairs(ctx, regression=False)
    n_all = len(ds.train) + len(ds.test)
    n = len(y)
    if n == 0:
        return result(
            "warn",
            f"no sample has both annotations as valid classes (of {n_all})",
            hint="Check that the second-annotation column uses the same class names.",
            metrics={"n_compared": 0, "n_samples": n_all},
        )
    k = ds.n_classes
    names = list(ds.classes or [str(i) for i in range(k)])
    agree = y == y2
    hits = int(agree.sum())
    lo, hi = wilson(hits, n)
    kappa, kappa_se = cohen_kappa(confusion_matrix(y, y2, k))
    test = which == 1
    t_hits, t_n = int(agree[test].sum()), int(test.sum())
    metrics: dict[str, Any] = {
        "n_compared": n,
        "n_samples": n_all,
        "agreement": hits / n,
        "agreement_ci": [lo, hi],
        "kappa": kappa,
        "kappa_se": kappa_se,
        "test_agreement": t_hits / t_n if t_n else float("nan"),
        "test_agreement_ci": list(wilson(t_hits, t_n)) if t_n else [0.0, 1.0],
        "n_test_compared": t_n,
    }
    examples = [
        {
            "row": int(rows[i]),
            "split": "train" if which[i] == 0 else "test",
            "label": names[int(y[i])],
            "second_annotation": names[int(y2[i])],
        }
        for i in np.flatnonzero(~agree)[:20]
    ]
    said = (
        f"the second annotation agrees with the labels on {fmt_pct(hits / n, lo, hi)} of "
        f"{n} samples, Cohen's kappa {fmt_pm(kappa, kappa_se)}"
    )
    model = _model_metric(ctx)
    if model and "accuracy" in model:
        m_lo, m_hi = model["accuracy_ci"]
        tlo, thi = metrics["test_agreement_ci"]
        metrics["model_accuracy"] = model["accuracy"]
        said += (
            f"; on the test set: second annotator {fmt_pct(metrics['test_agreement'], tlo, thi)}"
            f", model {fmt_pct(model['accuracy'], m_lo, m_hi)}"
        )
    if n - hits == 0 and n >= int(t["copy_min_samples"]):
        return result(
            "warn",
            f"the second annotation is identical to the labels on all {n} samples: it is no "
            "independent human baseline",
            hint="Point data.second_annotation at an independent annotation, or drop it.",
            metrics=metrics,
        )
    if not kappa >= float(t["warn_kappa"]):
        return result(
            "warn",
            f"annotators disagree often: {said}",
            hint="The labels are noisy: the model cannot be expected to do better than the "
            "annotators agree. Review the guidelines and the disputed samples (examples).",
            metrics=metrics,
            examples=examples,
        )
    return result("pass", said, metrics=metrics, examples=examples)


def _regression(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    ds = ctx.dataset
    y, y2, which, rows = _pairs(ctx, regression=True)
    n_all = len(ds.train) + len(ds.test)
    n = len(y)
    if n < 3:
        return result(
            "warn",
            f"only {n} of {n_all} samples have both annotations as numbers",
            hint="Check the second-annotation column: it should hold numbers.",
            metrics={"n_compared": n, "n_samples": n_all},
        )
    yy, yy2 = y.astype(np.float64), y2.astype(np.float64)
    diff = yy2 - yy
    mse, mse_se = mean_se(diff * diff)
    mae, mae_se = mean_se(np.abs(diff))
    r, r_lo, r_hi = correlation_ci(yy, yy2)
    test = which == 1
    t_mse = float(np.mean(diff[test] ** 2)) if test.any() else float("nan")
    metrics: dict[str, Any] = {
        "n_compared": n,
        "n_samples": n_all,
        "mse": mse,
        "mse_se": mse_se,
        "mae": mae,
        "mae_se": mae_se,
        "correlation": r,
        "correlation_ci": [r_lo, r_hi],
        "test_mse": t_mse,
        "n_test_compared": int(test.sum()),
    }
    worst = np.argsort(-np.abs(diff), kind="stable")[:20]
    examples = [
        {
            "row": int(rows[i]),
            "split": "train" if which[i] == 0 else "test",
            "target": float(yy[i]),
            "second_annotation": float(yy2[i]),
        }
        for i in worst
        if diff[i] != 0
    ]
    said = (
        f"the second annotation differs from the target by MSE {fmt_pm(mse, mse_se)} "
        f"(MAE {fmt_pm(mae, mae_se)}) over {n} samples, correlation {r:.3f} "
        f"(95% CI {r_lo:.3f}-{r_hi:.3f})"
    )
    model = _model_metric(ctx)
    if model and "mse" in model:
        metrics["model_mse"] = model["mse"]
        said += (
            f"; on the test set: second annotator MSE {t_mse:.4g}, model MSE "
            f"{fmt_pm(model['mse'], model['mse_se'])}"
        )
    if mse == 0 and n >= int(t["copy_min_samples"]):
        return result(
            "warn",
            f"the second annotation is identical to the target on all {n} samples: it is no "
            "independent human baseline",
            hint="Point data.second_annotation at an independent annotation, or drop it.",
            metrics=metrics,
        )
    if not r >= float(t["warn_correlation"]):
        return result(
            "warn",
            f"annotations barely agree: {said}",
            hint="The targets are noisy: the model cannot be expected to do better than the "
            "annotations agree. Review the measurement process and the largest differences.",
            metrics=metrics,
            examples=examples,
        )
    return result("pass", said, metrics=metrics, examples=examples)
