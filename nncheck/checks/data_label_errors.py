"""data.label_errors: labels that a model trained without them confidently disagrees with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nncheck.blas import one_blas_thread
from nncheck.checks._artifacts import thumbnails
from nncheck.checks._quick_model import (
    HIDDEN_IMAGES,
    HIDDEN_TABLES,
    InputMap,
    OutOfFold,
    fit_inputs,
    out_of_fold_probs,
)
from nncheck.checks.context import Context
from nncheck.checks.registry import EXAMPLES, FRACTION, Range, check
from nncheck.data.dataset import Dataset
from nncheck.results import CheckOutcome, result
from nncheck.scale.sources import RowSource

SPLITS = ("train", "test")
EXPORT_NAME = "label_issues.csv"
EXPORT_COLUMNS = (
    "rank",
    "split",
    "row",
    "given",
    "suggested",
    "p_given",
    "p_suggested",
    "given_threshold",
    "flagged",
    "probabilities",
)


@check(
    "data.label_errors",
    stage="data",
    defaults={
        "folds": 5,
        "include_test": True,
        "warn_rate": 0.03,
        "min_suspects": 5,
        "max_samples": 100_000,
        "max_examples": 10_000,
        "min_listed": 20,
        "max_thumbnails": 24,
    },
    ranges={
        "folds": Range(ge=2, le=20),
        "warn_rate": FRACTION,
        "min_suspects": Range(ge=0),
        "max_samples": Range(ge=100, le=10_000_000),
        "max_examples": EXAMPLES,
        "min_listed": EXAMPLES,
        "max_thumbnails": Range(ge=0, le=200),
    },
    requires=("labels", "trainable", "numeric_inputs"),
)
def label_errors(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Likely mislabeled samples, found by confident learning on out-of-fold predictions.

    Why: a few percent of wrong labels is normal in hand-labelled data (ImageNet, CIFAR),
    and each one teaches the network something false and makes the test score a little
    wrong. They are cheap to find: a quick model trained on the other folds (`folds`, K
    one-hidden-layer MLPs trained together, inputs reduced to 32 principal components when
    wider than 64) predicts each sample's class; following Northcutt et al.'s confident
    learning, class j's threshold t_j is the average predicted probability of j over the
    samples labelled j, and a sample is a suspect when its given label's probability is
    below that label's threshold while another class is above its own. Samples are ranked
    by self-confidence (the probability of the given label, lowest first): of labels
    flipped at random in 2% of the samples, the top 2% of this ranking held 91% on MNIST
    and 89% on digits, against 88% and 86% when ranked by margin. The top `max_examples`
    are always listed, with the suggested label. Train and test are both checked when
    `include_test` (test labels decide the score); past `max_samples` a seeded subsample
    is checked. With data.engine stream | dask (images and numeric tables) the fold models
    train on the seeded sample and every other row of the files is scored by their mean,
    so confident learning judges every label.
    The estimated error rate is the share of suspects. Healthy data measured 0.0% (wine),
    0.1% (digits), 0.2% (MNIST), 0.7% (iris), 1.2% (breast cancer); 2% flipped labels
    measure 1.7-3.2%, 10% measure 7-10%, shuffled labels 50-67%. The check warns from
    `warn_rate` (3%) with at least `min_suspects` suspects; it never fails, because a
    quick model can be wrong where a person is right.
    Fix: look at the top suspects; correct or drop the wrong labels, or have them labelled
    again. Many suspects in one pair of classes can mean two classes that overlap or a
    mapping error between label names; a quick model no better than the majority class
    means labels that do not belong to their inputs (shuffled or misaligned, D4).
    """
    ds = ctx.dataset
    folds = int(t["folds"])
    include_test = bool(t["include_test"])
    max_samples = int(t["max_samples"])
    issues = ctx.memo(
        f"label_issues:{folds}:{include_test}:{max_samples}",
        lambda: find_label_issues(
            ds, folds=folds, seed=ctx.seed, include_test=include_test, max_samples=max_samples
        ),
    )
    if issues is None:
        return result(
            "skip",
            f"too few labelled samples for a {folds}-fold model (need at least {4 * folds})",
        )
    views = _file_rows(ds) if ds.stream is not None else None
    if views is not None:  # data.engine stream | dask: every row scored
        sample = issues
        issues = ctx.memo(
            f"label_issues_all:{folds}:{include_test}:{max_samples}",
            lambda: _every_row(ds, sample, include_test),
        )
        return _judge(ds, issues, t, splits=views)
    return _judge(ds, issues, t)


SCORE_CHUNK = 16_384  # rows per chunk when every row of a streamed split is scored


class _StoredRows:
    """A streamed split's rows as thumbnails read them: by file row, in the stored shape."""

    def __init__(self, src: RowSource, shape: tuple[int, ...]) -> None:
        self.src, self.shape, self.dtype = src, shape, src.dtype

    def __getitem__(self, row: int) -> np.ndarray:
        return self.src.take(np.asarray([row]))[0].reshape(self.shape)


@dataclass(frozen=True)
class _FileSplit:
    """What _judge reads of a split: file rows by position (identity) and stored rows."""

    indices: np.ndarray
    x_raw: Any


def _file_rows(ds: Dataset) -> list[_FileSplit] | None:
    """Both full splits of a streamed dataset (images or a numeric table) as _judge reads
    them, or None when its rows cannot be scored as stored (a layout transposed on loading;
    inputs that the run's normalization does not reproduce from the stored rows; regression)."""
    stream = ds.stream
    shape = tuple(ds.train.x_raw.shape[1:])
    if stream is None or stream.train_y is None or ds.normalizer is None:
        return None
    if any(tuple(p.shape[1:]) != shape for src in (stream.train, stream.test) for p in src.parts):
        return None
    if not _reproduced(ds):
        return None
    return [
        _FileSplit(np.arange(len(src), dtype=np.int64), _StoredRows(src, shape))
        for src in (stream.train, stream.test)
    ]


def _reproduced(ds: Dataset) -> bool:
    """Whether the run's fitted normalization turns stored rows into the model's inputs,
    checked on the sample's first rows: every-row scoring normalizes each chunk of the
    files that way. (A table whose missing values were filled in memory is not: its label
    errors are judged on the sample.)"""
    assert ds.normalizer is not None
    n = min(len(ds.train), 256)
    if n == 0:
        return False
    again = ds.normalizer.transform(np.asarray(ds.train.x_raw[:n]))
    return bool(np.allclose(again, ds.train.x[:n], rtol=1e-6, atol=1e-6))


def _every_row(ds: Dataset, sample: LabelIssues, include_test: bool) -> LabelIssues:
    """Confident learning over every row of the streamed splits. The fold models trained
    on the sample; its rows keep their out-of-fold probabilities, every other row (which
    no fold model saw) gets the mean of the K models' probabilities, computed chunk by
    chunk from the files (normalized by the run's fitted normalization, through the same
    input map)."""
    stream, norm = ds.stream, ds.normalizer
    assert stream is not None and norm is not None and sample.inputs is not None
    shape = tuple(ds.train.x_raw.shape[1:])
    n_classes = sample.probs.shape[1]
    splits, positions, givens, all_probs = [], [], [], []
    sources = [(stream.train, stream.train_y, ds.train), (stream.test, stream.test_y, ds.test)]
    for i, (src, y, part) in enumerate(sources[: 2 if include_test else 1]):
        assert y is not None
        probs = np.empty((len(src), n_classes), np.float32)
        for start, chunk in src.chunks(SCORE_CHUNK):
            x = norm.transform(chunk.reshape(len(chunk), *shape))
            probs[start : start + len(chunk)] = sample.model.predict(sample.inputs(x))
        mine = sample.split == i
        probs[part.indices[sample.pos[mine]]] = sample.probs[mine]
        rows = np.flatnonzero(y >= 0)
        splits.append(np.full(len(rows), i, np.int64))
        positions.append(rows)
        givens.append(y[rows])
        all_probs.append(probs[rows])
    total = sum(len(p) for p in positions)
    issues = _confident_learning(
        np.concatenate(splits),
        np.concatenate(positions),
        np.concatenate(givens).astype(np.int64),
        np.concatenate(all_probs),
        sample.model,
        total,
        sample.inputs,
    )
    said = (
        f"every row, streamed: {len(sample.given):,} sampled labels scored out of fold, the"
        f" other {total - len(sample.given):,} by the mean of the {len(sample.model.weights)}"
        " fold models"
    )
    return replace(issues, streamed=said)


@dataclass(frozen=True)
class LabelIssues:
    """Confident-learning results for the checked samples (train first, then test)."""

    split: np.ndarray  # int64 (n,): 0 = train, 1 = test
    pos: np.ndarray  # int64 (n,): position in its split
    given: np.ndarray  # int64 (n,)
    probs: np.ndarray  # float32 (n, C), out-of-fold
    thresholds: np.ndarray  # float64 (C,): average self-confidence per class (inf if absent)
    suspect: np.ndarray  # bool (n,)
    suggested: np.ndarray  # int64 (n,)
    self_confidence: np.ndarray  # float32 (n,): probability of the given label
    ranking: np.ndarray  # int64: every checked sample, most suspicious first
    model: OutOfFold
    n_available: int  # samples before any subsampling
    inputs: InputMap | None = None  # the quick model's input map (to score further rows)
    streamed: str = ""  # data.engine stream: how every row was scored (for the message)

    @property
    def rate(self) -> float:
        return float(self.suspect.mean()) if len(self.suspect) else 0.0


def find_label_issues(
    ds: Dataset,
    *,
    folds: int = 5,
    seed: int = 0,
    include_test: bool = True,
    max_samples: int = 100_000,
) -> LabelIssues | None:
    """Out-of-fold probabilities from the quick model, then confident learning.

    Returns None when there are too few samples for ``folds`` folds.
    """
    parts = [ds.train, ds.test] if include_test else [ds.train]
    split = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(parts)])
    pos = np.concatenate([np.arange(len(s), dtype=np.int64) for s in parts])
    n_available = len(split)
    if n_available > max_samples:
        keep = np.sort(
            np.random.default_rng(seed + 17).choice(n_available, max_samples, replace=False)
        )
        split, pos = split[keep], pos[keep]
    if len(split) < 4 * folds:
        return None
    n_classes = ds.n_classes
    with one_blas_thread():
        input_map = fit_inputs(ds.train.x, is_image=ds.is_image, seed=seed)
        z_parts, y_parts = [], []
        for i, s in enumerate(parts):
            rows = pos[split == i]
            whole = len(rows) == len(s)  # no subsample: avoid copying the inputs
            z_parts.append(input_map(s.x if whole else s.x[rows]))
            y_parts.append(s.y if whole else s.y[rows])
        z = np.concatenate(z_parts)
        given = np.concatenate(y_parts).astype(np.int64)
        hidden = HIDDEN_IMAGES if ds.is_image else HIDDEN_TABLES
        model = out_of_fold_probs(z, given, n_classes, folds=folds, seed=seed, hidden=hidden)
    return _confident_learning(split, pos, given, model.probs, model, n_available, input_map)


def _confident_learning(
    split: np.ndarray,
    pos: np.ndarray,
    given: np.ndarray,
    probs: np.ndarray,
    model: OutOfFold,
    n_available: int,
    inputs: InputMap | None,
) -> LabelIssues:
    """Northcutt et al.'s rule on probabilities from models that never saw each label."""
    n_classes = probs.shape[1]
    n = len(given)
    rows = np.arange(n)
    self_conf = probs[rows, given]
    counts = np.bincount(given, minlength=n_classes)
    sums = np.bincount(given, weights=self_conf.astype(np.float64), minlength=n_classes)
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    above = probs >= thresholds[None, :].astype(np.float32)
    above[rows, given] = False
    suspect = (self_conf < thresholds[given]) & above.any(axis=1)
    other = probs.copy()
    other[rows, given] = -1.0
    confident_other = np.where(above, probs, -1.0).argmax(axis=1)
    suggested = np.where(suspect, confident_other, other.argmax(axis=1)).astype(np.int64)
    ranking = np.lexsort((rows, self_conf)).astype(np.int64)  # ties: earlier sample first
    return LabelIssues(
        split=split,
        pos=pos,
        given=given,
        probs=probs,
        thresholds=thresholds,
        suspect=suspect,
        suggested=suggested,
        self_confidence=self_conf,
        ranking=ranking,
        model=model,
        n_available=n_available,
        inputs=inputs,
    )


def _judge(
    ds: Dataset, issues: LabelIssues, t: dict[str, Any], splits: Sequence[Any] | None = None
) -> CheckOutcome:
    """The verdict, examples and tables; ``splits`` (train, test) name rows and give
    thumbnails (the in-memory splits unless every row of a streamed split was scored)."""
    splits = splits or [ds.train, ds.test]
    classes = list(ds.classes or ())
    n = len(issues.given)
    n_suspects = int(issues.suspect.sum())
    rate = issues.rate
    accuracy = float((issues.probs.argmax(axis=1) == issues.given).mean())

    pairs: dict[tuple[int, int], int] = {}
    sus = np.flatnonzero(issues.suspect)
    if len(sus):
        codes = issues.given[sus] * len(classes) + issues.suggested[sus]
        values, counts = np.unique(codes, return_counts=True)
        for code, count in sorted(zip(values, counts), key=lambda vc: (-vc[1], vc[0])):
            pairs[(int(code) // len(classes), int(code) % len(classes))] = int(count)
    top_pairs = list(pairs.items())[:5]

    per_split = {
        name: (int((issues.split == i).sum()), int((issues.suspect & (issues.split == i)).sum()))
        for i, name in enumerate(SPLITS)
    }
    metrics: dict[str, Any] = {
        "n_checked": n,
        "n_available": issues.n_available,
        "n_train_checked": per_split["train"][0],
        "n_test_checked": per_split["test"][0],
        "suspects": n_suspects,
        "suspects_train": per_split["train"][1],
        "suspects_test": per_split["test"][1],
        "estimated_error_rate": rate,
        "model": issues.model.description,
        "model_accuracy": accuracy,
        "class_thresholds": {
            classes[j]: (float(v) if np.isfinite(v) else None)
            for j, v in enumerate(issues.thresholds)
        },
        "top_confusions": [
            {"given": classes[g], "suggested": classes[s], "count": c} for (g, s), c in top_pairs
        ],
    }

    listed = listed_samples(issues, int(t["max_examples"]), int(t["min_listed"]))
    metrics["listed"] = len(listed)
    examples = [_example(ds, issues, i, rank, splits) for rank, i in enumerate(listed, start=1)]
    artifacts: dict[str, Any] = {
        "tables": {
            "suspects per split": {
                "columns": ["split", "labels checked", "suspects", "share"],
                "rows": [
                    [name, checked, found, f"{100 * found / checked:.2f}%" if checked else ""]
                    for name, (checked, found) in per_split.items()
                ],
            },
            "suspected confusions (given -> suggested)": {
                "columns": ["given", "suggested", "suspects"],
                "rows": [[classes[g], classes[s], c] for (g, s), c in list(pairs.items())[:20]],
            },
            "per class": {
                "columns": ["class", "samples", "suspects", "threshold"],
                "rows": [
                    [
                        classes[j],
                        int((issues.given == j).sum()),
                        int((issues.suspect & (issues.given == j)).sum()),
                        round(float(issues.thresholds[j]), 4)
                        if np.isfinite(issues.thresholds[j])
                        else None,
                    ]
                    for j in range(len(classes))
                ],
            },
        },
        "exports": {EXPORT_NAME: _export_table(examples, issues, listed, classes)},
    }
    if ds.is_image and examples:
        items = []
        for ex, i in list(zip(examples, listed))[: int(t["max_thumbnails"])]:
            caption = (
                f"#{ex['rank']} {ex['split']} row {ex['row']}: {ex['given']} -> {ex['suggested']}"
            )
            split = splits[int(issues.split[i])]
            items.extend(thumbnails(split, [int(issues.pos[i])], [caption], title="")["items"])
        artifacts["images"] = {
            "title": "top label-error suspects, most suspicious first (given -> suggested)",
            "items": items,
        }

    where = f"{n} labels" + (
        f" (a seeded sample of {issues.n_available})" if n < issues.n_available else ""
    )
    if issues.streamed:
        where = f"all {n:,} labels"
        metrics["streamed"] = True
    said = (
        f"{n_suspects} of {where} ({100 * rate:.1f}%) are suspect by confident learning on a "
        f"{issues.model.short} ({100 * accuracy:.1f}% accurate out of fold): "
        f"{per_split['train'][1]} in train, {per_split['test'][1]} in test"
    )
    if issues.streamed:
        said += f"; {issues.streamed}"
    if top_pairs:
        said += "; most often " + ", ".join(
            f"{classes[g]} -> {classes[s]} ({c})" for (g, s), c in top_pairs[:3]
        )
    if examples and examples[0]["flagged"]:
        first = examples[0]
        said += (
            f"; least trusted: {first['split']} row {first['row']} labelled {first['given']},"
            f" model says {first['suggested']} (p={first['p_suggested']:.2f})"
        )
    if n_suspects:
        capped = n_suspects > len([e for e in examples if e["flagged"]])
        said += (
            f"; the first {int(t['max_examples'])} suspects, ranked, are in {EXPORT_NAME}"
            if capped
            else f"; every suspect, ranked, is in {EXPORT_NAME}"
        )
    majority = float(np.bincount(issues.given).max() / max(n, 1))
    metrics["majority_share"] = majority
    warn = rate >= float(t["warn_rate"]) and n_suspects >= int(t["min_suspects"])
    if warn:
        hint = (
            f"Review the suspects in {EXPORT_NAME} (most suspicious first): correct or drop "
            "wrong labels, or have them labelled again. Many suspects between two classes "
            "point at overlapping classes or a label-mapping error."
        )
        if accuracy <= majority + 0.02:
            said += (
                f"; the model does no better than always answering the majority class "
                f"({100 * majority:.1f}%): the labels look unrelated to the inputs "
                "(misaligned, or inputs that carry no information: see data.features)"
            )
            hint = (
                "Check that labels and inputs are aligned (a sort, shuffle or join applied to "
                "one array only, an off-by-one row); " + hint
            )
        return result(
            "warn",
            said + f" — above the {100 * float(t['warn_rate']):.0f}% seen on clean data",
            hint=hint,
            metrics=metrics,
            examples=examples,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, examples=examples, artifacts=artifacts)


def listed_samples(issues: LabelIssues, max_listed: int, min_listed: int) -> np.ndarray:
    """Every suspect, most suspicious first (the given label's probability, lowest first),
    at most ``max_listed``; when fewer than ``min_listed`` are suspect, the least trusted
    of the other labels fill up to ``min_listed``, so a person always has some to look at."""
    ranked = issues.ranking
    flagged = ranked[issues.suspect[ranked]][:max_listed]
    if len(flagged) >= min_listed:
        return flagged
    others = ranked[~issues.suspect[ranked]][: min_listed - len(flagged)]
    return np.concatenate([flagged, others])


def _example(
    ds: Dataset, issues: LabelIssues, i: int, rank: int, splits: Sequence[Any]
) -> dict[str, Any]:
    classes = list(ds.classes or ())
    s, p = int(issues.split[i]), int(issues.pos[i])
    g, sg = int(issues.given[i]), int(issues.suggested[i])
    return {
        "rank": rank,
        "split": SPLITS[s],
        "row": int(splits[s].indices[p]),
        "given": classes[g],
        "suggested": classes[sg],
        "p_given": round(float(issues.probs[i, g]), 4),
        "p_suggested": round(float(issues.probs[i, sg]), 4),
        "given_threshold": round(float(issues.thresholds[g]), 4),
        "flagged": bool(issues.suspect[i]),
    }


def _export_table(
    examples: list[dict[str, Any]], issues: LabelIssues, listed: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """The listed samples as label_issues.csv: one row per sample, most suspicious first,
    with the model's out-of-fold probability of every class (above 0.001, largest first)
    in one ``probabilities`` column, ``class=p`` separated by spaces."""
    probs = issues.probs[listed] if len(listed) else np.zeros((0, len(classes)), np.float32)
    rows = []
    for ex, row_probs in zip(examples, probs):
        order = np.argsort(-row_probs, kind="stable")
        shown = " ".join(
            f"{classes[j]}={row_probs[j]:.3f}" for j in order if row_probs[j] >= 0.0005
        )
        rows.append([ex[c] for c in EXPORT_COLUMNS[:-1]] + [shown])
    return {"columns": list(EXPORT_COLUMNS), "rows": rows}
