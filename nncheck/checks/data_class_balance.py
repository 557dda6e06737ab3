"""data.class_balance: class counts, imbalance, train/test label shift, cost of a zero bias."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, NON_NEGATIVE, RATIO, check
from nncheck.results import CheckOutcome, result


@check(
    "data.class_balance",
    stage="data",
    defaults={
        "warn_ratio": 10.0,
        "fail_ratio": 100.0,
        "warn_zero_bias_nats": 0.1,
        "warn_shift": 0.1,
        "fail_shift": 0.3,
        "chance_factor": 2.0,
    },
    ranges={
        "warn_ratio": RATIO,
        "fail_ratio": RATIO,
        "warn_zero_bias_nats": NON_NEGATIVE,
        "warn_shift": FRACTION,
        "fail_shift": FRACTION,
        "chance_factor": NON_NEGATIVE,
    },
    requires=("labels",),
)
def class_balance(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Class counts per split, the imbalance ratio, train/test label shift, zero-bias cost.

    Why: with heavy imbalance a network first learns to predict the majority class, accuracy
    hides the rare classes, and a zero output bias starts it at log K nats instead of the
    prior's entropy H: it wastes its first steps learning the prior and can sit in a
    majority-class plateau (the hockey-stick loss curve). A test set with another class mix
    than train measures a different problem than the one trained on.
    Imbalance ratio = largest / smallest training-class count. It warns from `warn_ratio`
    (10:1, where the usual advice turns to class weights, resampling and per-class metrics)
    and fails from `fail_ratio` (100:1, minority classes under 1% of the majority), or from
    `warn_ratio` when the recipe's model has `output_bias: zero`. With a zero output bias it
    also warns when the bias would cost at least `warn_zero_bias_nats` nats per sample at
    init (log K - H(prior): 0.50 for a 1:20 binary split, 0.03 for breast cancer's 37/63).
    Label shift = total variation distance (TVD) between the train and test class
    distributions: stratified splits measure <= 0.024 here (iris, wine, digits, breast
    cancer), MNIST's official split 0.008. Warns from `warn_shift`, fails from `fail_shift`,
    and only when the TVD is also `chance_factor` times what a random split of these sizes
    gives by chance (so a 45-sample test set is not blamed for sampling noise).
    Fix: use `output_bias: prior`; weight the loss or resample; stratify the split, or
    draw the test set from the same population as train.
    """
    ds = ctx.dataset
    classes = list(ds.classes or ())
    k = len(classes)
    counts = {}
    for name, split in (("train", ds.train), ("test", ds.test)):
        y = split.y[split.y >= 0]
        counts[name] = np.bincount(y, minlength=k).astype(np.int64)[:k]
    train, test = counts["train"], counts["test"]
    n_train, n_test = int(train.sum()), int(test.sum())
    if n_train == 0:
        return result("skip", "no valid training labels (see data.integrity)")

    present = train > 0
    ratio = float(train[present].max() / train[present].min())
    rarest = int(np.flatnonzero(present)[np.argmin(train[present])])
    commonest = int(np.argmax(train))
    prior = train / n_train
    entropy = float(-(prior[present] * np.log(prior[present])).sum())
    zero_bias_cost = math.log(k) - entropy if k > 1 else 0.0
    test_prior = test / n_test if n_test else np.zeros(k)
    tvd = 0.5 * float(np.abs(prior - test_prior).sum()) if n_test else 0.0
    chance = _chance_tvd((train + test) / max(n_train + n_test, 1), n_train, n_test)

    cfg = ctx.engine_config
    output_bias = cfg.output_bias if cfg is not None else ctx.recipe.model.output_bias
    loss = (cfg.loss if cfg is not None else ctx.recipe.model.loss) or "cross_entropy"
    zero_bias = output_bias == "zero"

    metrics: dict[str, Any] = {
        "n_classes": k,
        "counts_train": {c: int(v) for c, v in zip(classes, train)},
        "counts_test": {c: int(v) for c, v in zip(classes, test)},
        "imbalance_ratio": ratio,
        "rarest_class": classes[rarest],
        "commonest_class": classes[commonest],
        "classes_missing_in_train": [c for c, v in zip(classes, train) if v == 0],
        "classes_missing_in_test": [c for c, v in zip(classes, test) if v == 0] if n_test else [],
        "label_shift_tvd": tvd,
        "label_shift_chance_tvd": chance,
        "prior_entropy_nats": entropy,
        "zero_bias_init_loss_nats": math.log(k) if k > 1 else 0.0,
        "zero_bias_cost_nats": zero_bias_cost,
        "output_bias": output_bias,
    }

    fails: list[str] = []
    warns: list[str] = []
    hints: list[str] = []
    counts_said = f"{k} classes, train {_spread(train, classes)}"
    imb_said = (
        f"imbalance {ratio:.1f}:1 (largest class {classes[commonest]!r} "
        f"{int(train[commonest])}, smallest {classes[rarest]!r} {int(train[rarest])})"
        if ratio > 1
        else f"balanced ({int(train[commonest])} per class)"
    )
    cost_said = (
        f"a zero output bias costs {zero_bias_cost:.3f} nats/sample at init "
        f"(loss log {k} = {math.log(k):.3f} vs prior entropy {entropy:.3f})"
    )
    if ratio >= float(t["fail_ratio"]):
        fails.append(f"extreme {imb_said}, fail from {float(t['fail_ratio']):g}:1")
        hints.append(
            "Weight the loss or resample the rare classes, report per-class metrics, and "
            "use `output_bias: prior`."
        )
    elif ratio >= float(t["warn_ratio"]):
        if zero_bias:
            fails.append(f"{imb_said} with `output_bias: zero`: {cost_said}")
            hints.append("Set `model.output_bias: prior` (log class priors as the output bias).")
        else:
            warns.append(f"strong {imb_said}, warn from {float(t['warn_ratio']):g}:1")
            hints.append(
                "Accuracy will hide the rare classes: look at per-class metrics; consider "
                "class weights or resampling."
            )
    if zero_bias and not fails and zero_bias_cost >= float(t["warn_zero_bias_nats"]):
        warns.append(f"with `output_bias: zero`, {cost_said}")
        hints.append("Set `model.output_bias: prior` (log class priors as the output bias).")

    shift_said = f"label shift train->test TVD {tvd:.3f} (chance level {chance:.3f})"
    significant = n_test > 0 and tvd >= float(t["chance_factor"]) * chance
    if significant and tvd >= float(t["warn_shift"]):
        worst = np.argsort(-np.abs(prior - test_prior), kind="stable")[:3]
        moved = ", ".join(
            f"class {classes[j]!r} {100 * prior[j]:.0f}% -> {100 * test_prior[j]:.0f}%"
            for j in worst
        )
        if tvd >= float(t["fail_shift"]):
            fails.append(f"{shift_said} >= {float(t['fail_shift']):g}: {moved}")
        else:
            warns.append(f"{shift_said} >= {float(t['warn_shift']):g}: {moved}")
        hints.append(
            "Stratify the split by class, or draw the test set from the same population "
            "as train (or reweight to the deployment class mix on purpose)."
        )

    examples = [
        {
            "class": classes[j],
            "train": int(train[j]),
            "train_share": round(float(prior[j]), 4),
            "test": int(test[j]),
            "test_share": round(float(test_prior[j]), 4),
        }
        for j in np.argsort(-np.abs(prior - test_prior) - (train == train.min()), kind="stable")[
            :20
        ]
    ]
    artifacts = {
        "tables": {
            "class counts": {
                "columns": ["class", "train", "train %", "test", "test %"],
                "rows": [
                    [
                        classes[j],
                        int(train[j]),
                        round(100 * float(prior[j]), 2),
                        int(test[j]),
                        round(100 * float(test_prior[j]), 2),
                    ]
                    for j in range(k)
                ],
            }
        }
    }
    summary = f"{counts_said}: {imb_said}; {shift_said}; {cost_said}"
    if loss != "cross_entropy":
        summary += " (for softmax cross-entropy; this model uses " + str(loss) + ")"
    status = "fail" if fails else "warn" if warns else "pass"
    if status == "pass":
        return result(status, summary, metrics=metrics, examples=examples, artifacts=artifacts)
    return result(
        status,
        "; ".join(fails + warns) + f" ({counts_said})",
        hint=" ".join(dict.fromkeys(hints)),
        metrics=metrics,
        examples=examples,
        artifacts=artifacts,
    )


def _chance_tvd(prior: np.ndarray, n_train: int, n_test: int) -> float:
    """Expected TVD between two random samples of these sizes from one distribution
    (``prior``: the pooled class shares, the best guess under "no shift").

    Each class share differs by about N(0, p(1-p)/n_eff), n_eff = 1/(1/n_train + 1/n_test);
    E|N(0, s^2)| = s * sqrt(2/pi); TVD is half the sum over classes.
    """
    if not n_train or not n_test:
        return 0.0
    n_eff = 1.0 / (1.0 / n_train + 1.0 / n_test)
    return float(0.5 * np.sum(np.sqrt(2.0 * prior * (1.0 - prior) / (math.pi * n_eff))))


def _spread(counts: np.ndarray, classes: list[str], limit: int = 10) -> str:
    """'59/71/48' for a few classes, 'min 18 .. max 357' for many."""
    if len(counts) <= limit:
        return "/".join(str(int(c)) for c in counts)
    return f"{int(counts.min())}..{int(counts.max())} per class"
