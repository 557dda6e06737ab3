"""skeleton.dumb_baseline: the floor every later metric is compared with."""

from __future__ import annotations

from typing import Any

from nncheck.checks._stats import fmt_pct, fmt_pm
from nncheck.checks._trainings import dumb_baseline as baseline_metrics
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.dumb_baseline",
    stage="skeleton",
    defaults={"degenerate_accuracy": 0.99},
    ranges={
        "degenerate_accuracy": FRACTION,
    },
    requires=("trainable",),
)
def dumb_baseline(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Majority-class / mean predictor on the test set: the score to beat.

    Why: a number means little without the score of a model that ignores its inputs.
    "90% accuracy" is excellent on ten balanced classes and worthless when 90% of the test
    set is one class. This check reports, on the whole test set, the accuracy of always
    predicting the training set's majority class (with its 95% Wilson interval) and the
    cross-entropy of predicting the training class frequencies; for regression, the MSE
    (and MAE) of predicting the training mean (median). `evaluate.full_test_set` fails a
    model that does not clearly beat these numbers.
    Informational: passes, except that it warns when the baseline is degenerate — the
    test set holds a single class, the majority class alone reaches
    `degenerate_accuracy`, or the test target is constant — since then no model can
    show that it learned anything.
    Fix: if it warns, build a test set with every class (or with target variation).
    """
    ds = ctx.dataset
    m = baseline_metrics(ctx)
    if ds.has_classes:
        classes = ds.classes or ()
        name = classes[m["majority_class"]] if m["majority_class"] < len(classes) else "?"
        lo, hi = m["majority_accuracy_ci"]
        said = (
            f"always predicting the majority class {name!r} scores "
            f"{fmt_pct(m['majority_accuracy'], lo, hi)} on {m['n_test']} test samples; "
            f"predicting the class frequencies costs cross-entropy "
            f"{fmt_pm(m['prior_cross_entropy'], m['prior_cross_entropy_se'])}"
        )
        if m["test_classes_present"] < 2 or m["majority_accuracy"] >= float(
            t["degenerate_accuracy"]
        ):
            return result(
                "warn",
                f"degenerate baseline: {said} ({m['test_classes_present']} of "
                f"{ds.n_classes} classes occur in the test set)",
                hint="A test set of (almost) one class cannot show what a model learned: "
                "split with stratification or collect samples of the other classes.",
                metrics=m,
            )
        return result("pass", said, metrics=m)
    said = (
        f"predicting the training mean {m['mean_prediction']:.4g} gives test MSE "
        f"{fmt_pm(m['mse'], m['mse_se'])} (RMSE {m['mse'] ** 0.5:.3g}); the median "
        f"{m['median_prediction']:.4g} gives MAE {fmt_pm(m['mae'], m['mae_se'])}"
    )
    if not m["test_variance"] > 0:
        return result(
            "warn",
            f"degenerate baseline: the test target is constant; {said}",
            hint="A constant test target cannot show what a model learned: check the split "
            "and the target column.",
            metrics=m,
        )
    return result("pass", said, metrics=m)
