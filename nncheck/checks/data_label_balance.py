"""data.label_balance: per-label positive rates, labels that cannot be learnt, label shift."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._stats import named_list
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, FRACTION, NON_NEGATIVE, check
from nncheck.results import CheckOutcome, result


@check(
    "data.label_balance",
    stage="data",
    defaults={"rare_rate": 0.01, "rare_count": 10, "shift_z": 4.0, "shift_min": 0.05},
    ranges={
        "rare_rate": FRACTION,
        "rare_count": COUNT,
        "shift_z": NON_NEGATIVE,
        "shift_min": FRACTION,
    },
    requires=("multilabel", "trainable"),
)
def label_balance(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Each label's positive rate in train and test, and how many labels a sample carries.

    Why: every label of a multilabel target is its own yes/no problem. A label never set in
    train (or set on every row) cannot be learnt: the model answers a constant for it and
    its test metrics are meaningless. A label set on a handful of rows is learnt from those
    few, and its metrics carry wide intervals. A label whose rate differs between train and
    test measures a different population than the one trained on (a sorted export split by
    position, a test set from elsewhere).
    Fails on a label that is never (or always) set in train. Warns on labels rarer than
    `rare_rate` with fewer than `rare_count` training positives, and on a train/test rate
    difference of at least `shift_min` that is also `shift_z` standard errors (a two-
    proportion z-test, so a small test set is not blamed for sampling noise).
    Fix: drop or merge labels that cannot be learnt, collect more positives, and split the
    test set from the same population as train.
    """
    ds = ctx.dataset
    names = list(ds.classes or ())
    tr = ds.train.y.astype(np.float64)
    te = ds.test.y.astype(np.float64)
    n_tr, n_te = len(tr), len(te)
    pos_tr, pos_te = tr.sum(axis=0), te.sum(axis=0)
    rate_tr, rate_te = pos_tr / max(n_tr, 1), pos_te / max(n_te, 1)
    pooled = (pos_tr + pos_te) / max(n_tr + n_te, 1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / max(n_tr, 1) + 1 / max(n_te, 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > 0, np.abs(rate_tr - rate_te) / se, 0.0)
    constant = np.flatnonzero((pos_tr == 0) | (pos_tr == n_tr))
    rare = np.flatnonzero((rate_tr < float(t["rare_rate"])) & (pos_tr < int(t["rare_count"])))
    rare = np.setdiff1d(rare, constant)
    shifted = np.flatnonzero(
        (np.abs(rate_tr - rate_te) >= float(t["shift_min"])) & (z >= float(t["shift_z"]))
    )
    per_sample = tr.sum(axis=1)
    metrics: dict[str, Any] = {
        "n_labels": len(names),
        "label_rates_train": {n: float(r) for n, r in zip(names, rate_tr, strict=True)},
        "label_rates_test": {n: float(r) for n, r in zip(names, rate_te, strict=True)},
        "labels_per_sample_mean": float(per_sample.mean()) if n_tr else 0.0,
        "samples_without_labels": float((per_sample == 0).mean()) if n_tr else 0.0,
        "constant_labels": [names[j] for j in constant],
        "rare_labels": [names[j] for j in rare],
        "shifted_labels": [names[j] for j in shifted],
    }
    rows = [
        [
            names[j],
            int(pos_tr[j]),
            f"{100 * rate_tr[j]:.2f}%",
            int(pos_te[j]),
            f"{100 * rate_te[j]:.2f}%",
            round(float(z[j]), 2),
        ]
        for j in range(len(names))
    ]
    artifacts = {
        "tables": {
            "label rates (positives per split)": {
                "columns": [
                    "label",
                    "train positives",
                    "train rate",
                    "test positives",
                    "test rate",
                    "shift z",
                ],
                "rows": rows,
            }
        }
    }
    summary = (
        f"{len(names)} labels, {metrics['labels_per_sample_mean']:.2f} per training sample "
        f"({100 * metrics['samples_without_labels']:.1f}% of samples have none); train rates "
        f"{100 * rate_tr.min():.2f}%-{100 * rate_tr.max():.2f}%"
    )
    if len(constant):
        listed = named_list(names, constant, lambda j: f"{int(pos_tr[j])} of {n_tr}")
        return result(
            "fail",
            f"{len(constant)} label(s) never or always set in train, so they cannot be "
            f"learnt: {listed}; {summary}",
            hint="Drop these label columns (or collect rows where they differ): the model "
            "can only answer a constant for them, and their test metrics mean nothing.",
            metrics=metrics,
            artifacts=artifacts,
        )
    problems = []
    if len(rare):
        problems.append(
            f"{len(rare)} rare label(s) with fewer than {int(t['rare_count'])} training "
            f"positives: " + named_list(names, rare, lambda j: f"{int(pos_tr[j])} in {n_tr}")
        )
    if len(shifted):
        problems.append(
            f"{len(shifted)} label(s) set at another rate in test than in train: "
            + named_list(
                names,
                shifted,
                lambda j: f"{100 * rate_tr[j]:.1f}% vs {100 * rate_te[j]:.1f}%, z {z[j]:.1f}",
            )
        )
    if problems:
        return result(
            "warn",
            "; ".join(problems) + f"; {summary}",
            hint="Rare labels are learnt from a few rows and measured with wide intervals: "
            "collect more positives or merge them. A shifted label means the test set is "
            "drawn from another population: split both from the same data.",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("pass", summary, metrics=metrics, artifacts=artifacts)
