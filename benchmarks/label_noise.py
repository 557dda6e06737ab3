"""Planted label noise, found by nncheck's ``data.label_errors`` and by cleanlab, side by side.

``python benchmarks/cleanlab_compare.py --label-errors`` runs this; it is a module of its
own so that the planting and the scoring can be read apart from the timing harness.

For each dataset (digits, 1797 8 x 8 images as a 64-column table; an MNIST subset, the
bug zoo's first 6000 training and 1000 test images) and each kind of noise, a seeded
share of the labels (2%, 5%, 10% of train and test together) is moved to another class:

- ``uniform``: to any other class, each equally likely;
- ``similar``: to the class most like the sample's own — the class whose mean input is
  nearest to the mean input of the given class (on MNIST 4 -> 9, 7 -> 9, 3 -> 5, ...),
  the confusions a tired annotator makes, and the hard case for every method.

Three sides look for them:

- ``nncheck``: ``find_label_issues`` of ``data.label_errors`` (its quick 5-fold MLP, then
  confident learning), as ``nncheck run`` calls it; timed end to end.
- ``cleanlab, same probabilities``: ``cleanlab.filter.find_label_issues`` on nncheck's very
  out-of-fold probabilities (its default ``prune_by_noise_rate``): the same model, so the
  difference is the filtering rule alone; timed for the filter (the model time is
  nncheck's).
- ``cleanlab end to end``: ``CleanLearning().find_label_issues(X, labels)``, cleanlab's own
  pipeline with its default classifier (scikit-learn's ``LogisticRegression``) and its
  5-fold cross-validation, on the inputs nncheck's model sees (standardized columns for
  the table, pixels / 255 for MNIST); timed end to end.

Scores against the planted flips (the data's own few natural errors count as false
positives for every side alike): precision (planted among the flagged), recall (flagged
among the planted) and seconds.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bugzoo.datasets import Data, load

DATASETS = ("digits", "mnist")
NOISE = ("uniform", "similar")
RATES = (0.02, 0.05, 0.10)
SIDES = ("nncheck", "cleanlab_same_probs", "cleanlab_end_to_end")
SIDE_NAMES = {
    "nncheck": "nncheck data.label_errors",
    "cleanlab_same_probs": "cleanlab find_label_issues, same probabilities",
    "cleanlab_end_to_end": "cleanlab CleanLearning end to end",
}


@dataclass(frozen=True)
class Planted:
    """A dataset with some labels moved, and which ones (positions in train then test)."""

    data: Data
    flipped: np.ndarray  # positions in the stacked train + test labels
    kind: str
    rate: float


def similar_class(data: Data) -> np.ndarray:
    """For each class, the other class whose mean training input is nearest to its own."""
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float64)
    y = data.y_train
    k = data.n_classes
    means = np.stack([x[y == c].mean(axis=0) for c in range(k)])
    dist = ((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(dist, np.inf)
    return dist.argmin(axis=1)


def plant(data: Data, kind: str, rate: float, seed: int = 0) -> Planted:
    """Move ``rate`` of all labels (train and test together) to another class."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([data.y_train, data.y_test]).astype(np.int64)
    k = data.n_classes
    flipped = np.sort(rng.choice(len(y), int(round(rate * len(y))), replace=False))
    if kind == "uniform":
        y[flipped] = (y[flipped] + rng.integers(1, k, len(flipped))) % k
    elif kind == "similar":
        y[flipped] = similar_class(data)[y[flipped]]
    else:
        raise ValueError(f"unknown noise {kind!r}")
    n = len(data.y_train)
    return Planted(data.with_(y_train=y[:n], y_test=y[n:]), flipped, kind, rate)


def nncheck_dataset(data: Data, folder: Path) -> Any:
    """The data as ``nncheck run`` loads it: files written, a recipe parsed, loaded."""
    from benchmarks.bugzoo.cases import BASE
    from benchmarks.bugzoo.run import write_splits
    from nncheck.data.build import load_dataset
    from nncheck.recipe.load import parse_recipe

    folder.mkdir(parents=True, exist_ok=True)
    train, test = write_splits(data, folder)
    recipe = {
        "name": f"label-noise-{data.name}",
        "data": {
            "train": str(folder / train),
            "test": str(folder / test),
            "target": "y" if data.is_image else data.target,
            "task": "classification",
            **BASE[data.name]["data"],
        },
    }
    parsed = parse_recipe(recipe, base_dir=folder)
    return load_dataset(parsed.data, parsed.seed)


def score(flagged: np.ndarray, planted: np.ndarray, seconds: float) -> dict[str, Any]:
    flagged = np.flatnonzero(flagged) if flagged.dtype == bool else np.asarray(flagged)
    hits = int(np.isin(flagged, planted).sum())
    return {
        "flagged": int(len(flagged)),
        "found": hits,
        "precision": hits / len(flagged) if len(flagged) else float("nan"),
        "recall": hits / len(planted) if len(planted) else float("nan"),
        "seconds": seconds,
    }


def run_one(planted: Planted, folder: Path, sides: tuple[str, ...] = SIDES) -> dict[str, Any]:
    """Every side on one planted dataset; their scores and the models' accuracies."""
    from nncheck.checks.data_label_errors import find_label_issues

    ds = nncheck_dataset(planted.data, folder)
    out: dict[str, Any] = {
        "dataset": planted.data.name,
        "noise": planted.kind,
        "rate": planted.rate,
        "n": len(ds.train) + len(ds.test),
        "planted": int(len(planted.flipped)),
        "sides": {},
    }
    start = time.perf_counter()
    issues = find_label_issues(ds, seed=0)
    nn_s = time.perf_counter() - start
    assert issues is not None and len(issues.given) == out["n"]
    # train rows first, then test rows, in file order: the same stacking as ``plant``
    assert (np.diff(issues.split * out["n"] + issues.pos) > 0).all()
    out["nncheck_model"] = issues.model.description
    out["nncheck_model_accuracy"] = float((issues.model.predicted == issues.given).mean())
    if "nncheck" in sides:
        out["sides"]["nncheck"] = score(issues.suspect, planted.flipped, nn_s)
    if "cleanlab_same_probs" in sides:
        from cleanlab.filter import find_label_issues as cl_find

        start = time.perf_counter()
        mask = cl_find(issues.given, issues.probs.astype(np.float64))
        out["sides"]["cleanlab_same_probs"] = score(
            mask, planted.flipped, time.perf_counter() - start
        )
    if "cleanlab_end_to_end" in sides:
        from cleanlab.classification import CleanLearning
        from sklearn.exceptions import ConvergenceWarning

        x = np.concatenate([ds.train.x, ds.test.x]).reshape(out["n"], -1)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            frame = CleanLearning(seed=0, cv_n_folds=5).find_label_issues(x, issues.given)
        seconds = time.perf_counter() - start
        out["sides"]["cleanlab_end_to_end"] = score(
            frame["is_label_issue"].to_numpy(), planted.flipped, seconds
        )
        probs = frame["predicted_label"].to_numpy()
        out["cleanlab_model_accuracy"] = float((probs == issues.given).mean())
    return out


def run_all(
    folder: Path,
    datasets: tuple[str, ...] = DATASETS,
    rates: tuple[float, ...] = RATES,
    noise: tuple[str, ...] = NOISE,
    root: Path | None = None,
    progress: Any = print,
) -> list[dict[str, Any]]:
    rows = []
    for name in datasets:
        data = load(name) if root is None else load(name, root)
        for kind in noise:
            for rate in rates:
                planted = plant(data, kind, rate, seed=int(rate * 1000))
                res = run_one(planted, folder / f"{name}-{kind}-{rate:g}")
                rows.append(res)
                progress(line(res))
    return rows


def line(res: dict[str, Any]) -> str:
    parts = [f"{res['dataset']:7s} {res['noise']:8s} {100 * res['rate']:3.0f}%"]
    for side, s in res["sides"].items():
        parts.append(
            f"{side}: P {100 * s['precision']:.0f}% R {100 * s['recall']:.0f}% {s['seconds']:.2f} s"
        )
    return "  ".join(parts)


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    """The side-by-side table: one row per planted dataset, precision / recall / seconds."""
    head = "| dataset | noise | planted | " + " | ".join(SIDE_NAMES[s] for s in SIDES) + " |"
    out = [
        "Each cell: precision / recall (of the planted flips) / seconds.",
        "",
        head,
        "|" + "---|" * (3 + len(SIDES)),
    ]
    for r in rows:
        cells = []
        for side in SIDES:
            s = r["sides"].get(side)
            cells.append("—" if s is None else _cell(s))
        out.append(
            f"| {r['dataset']} ({r['n']}) | {r['noise']} {100 * r['rate']:.0f}% "
            f"| {r['planted']} | " + " | ".join(cells) + " |"
        )
    out.append("")
    means = {side: _means(rows, side) for side in SIDES}
    out.append("| side | mean precision | mean recall | total seconds |")
    out.append("|---|---|---|---|")
    for side, (p, rc, sec) in means.items():
        if sec is not None:
            out.append(f"| {SIDE_NAMES[side]} | {100 * p:.1f}% | {100 * rc:.1f}% | {sec:.1f} |")
    acc = [
        f"{r['dataset']} {r['noise']} {100 * r['rate']:.0f}%: nncheck's model "
        f"{100 * r['nncheck_model_accuracy']:.1f}%"
        + (
            f", cleanlab's {100 * r['cleanlab_model_accuracy']:.1f}%"
            if "cleanlab_model_accuracy" in r
            else ""
        )
        for r in rows
    ]
    out += ["", "Out-of-fold accuracy against the given (noisy) labels: " + "; ".join(acc) + "."]
    return out


def _cell(s: dict[str, Any]) -> str:
    return f"{100 * s['precision']:.0f}% / {100 * s['recall']:.0f}% / {s['seconds']:.2f} s"


def _means(rows: list[dict[str, Any]], side: str) -> tuple[float, float, float | None]:
    got = [r["sides"][side] for r in rows if side in r["sides"]]
    if not got:
        return (float("nan"), float("nan"), None)
    prec = [s["precision"] for s in got if np.isfinite(s["precision"])]
    return (
        float(np.mean(prec)) if prec else float("nan"),
        float(np.mean([s["recall"] for s in got])),
        float(sum(s["seconds"] for s in got)),
    )
