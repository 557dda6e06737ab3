"""data.label_conflicts: identical or near-identical inputs that carry different labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks import _artifacts, _streamed
from nncheck.checks._neighbors_cache import (
    NEAR_RATIO,
    exact,
    geometry,
    in_units,
    leaks,
    near_metrics,
    near_pairs,
)
from nncheck.checks._verdicts import (
    LABEL_CONFLICTS_HINT,
    conflict_message,
    conflict_status,
    mixed_label_groups,
)
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, FRACTION, check
from nncheck.results import CheckOutcome, result

MAX_EXAMPLES = 20


@check(
    "data.label_conflicts",
    stage="data",
    defaults={"near_ratio": NEAR_RATIO, "warn_count": 1, "fail_fraction": 0.01, "fail_count": 6},
    ranges={
        "near_ratio": FRACTION,
        "warn_count": COUNT,
        "fail_fraction": FRACTION,
        "fail_count": COUNT,
    },
    requires=("labels", "numeric_inputs"),
)
def data_label_conflicts(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Identical (or near-identical) inputs with different labels, across train and test.

    Why: the same input cannot be both a 3 and a 5; such pairs are annotation errors or
    label sets merged with different conventions, and a network can only memorize one of
    the two answers (each conflict puts a floor under the training loss). Exact conflicts
    are groups of rows with the same bytes (train and test together) holding two or more
    labels; near conflicts are pairs within `near_ratio` (0.15) x the median
    nearest-neighbour distance (see data.near_duplicates) whose labels differ.
    A conflict is one such group or pair. Warns from `warn_count` (1) conflicts; fails when
    the samples involved are at least `fail_count` (6) and at least `fail_fraction` (1%) of
    all samples — more than a stray coincidence in a coarse table.
    Fix: look at the listed rows, relabel or drop them, and check how label sets were
    merged (class order, one-vs-zero based ids).
    """
    if ctx.dataset.stream is not None:
        return _streamed.label_conflicts(ctx, t)
    ds = ctx.dataset
    ratio = float(t["near_ratio"])
    ex = exact(ctx)
    names = list(ds.classes or ())
    n_train, n_total = len(ds.train), len(ds.train) + len(ds.test)
    y = np.concatenate([ds.train.y, ds.test.y]).astype(np.int64)

    # ---- exact: joint groups (train rows, then test rows) holding >= 2 valid labels
    bad_groups, exact_rows = mixed_label_groups(ex.joint_groups, y)

    # ---- near: pairs within train, within test and test -> train with different labels
    lk = leaks(ctx, ratio)
    near_sets = [
        (near_pairs(ctx, "train", ratio), 0, 0),
        (near_pairs(ctx, "test", ratio), n_train, n_train),
        (lk.near, n_train, 0),  # a = test row, b = train row
    ]
    na, nb, nd = [], [], []
    for pairs, off_a, off_b in near_sets:
        a, b = pairs.a + off_a, pairs.b + off_b
        differ = (y[a] >= 0) & (y[b] >= 0) & (y[a] != y[b])
        na.append(a[differ]), nb.append(b[differ]), nd.append(pairs.dist[differ])
    near_a, near_b, near_d = (np.concatenate(v) for v in (na, nb, nd))
    order = np.argsort(near_d, kind="stable")
    near_a, near_b, near_d = near_a[order], near_b[order], near_d[order]

    involved = np.union1d(exact_rows, np.concatenate([near_a, near_b]))
    conflicts = len(bad_groups) + len(near_a)
    frac = len(involved) / n_total if n_total else 0.0
    metrics: dict[str, Any] = {
        "conflicts": conflicts,
        "exact_conflict_groups": int(len(bad_groups)),
        "exact_conflict_samples": int(len(exact_rows)),
        "near_conflict_pairs": int(len(near_a)),
        "samples_involved": int(len(involved)),
        "fraction_involved": round(frac, 6),
        **near_metrics(ctx, ratio),
    }

    def where(pos: int) -> dict[str, Any]:
        split, name, p = (
            (ds.train, "train", pos)
            if pos < n_train
            else (
                ds.test,
                "test",
                pos - n_train,
            )
        )
        return {
            "split": name,
            "row": int(split.indices[p]),
            "label": names[int(y[pos])] if 0 <= y[pos] < len(names) else None,
        }

    examples: list[dict[str, Any]] = []
    thumbs: list[tuple[int, str]] = []
    if len(bad_groups):
        rows_sorted = exact_rows[np.argsort(ex.joint_groups[exact_rows], kind="stable")]
        cuts = np.flatnonzero(np.diff(ex.joint_groups[rows_sorted])) + 1
        for grp in np.split(rows_sorted, cuts)[:MAX_EXAMPLES]:
            members = [where(int(p)) for p in grp[:10]]
            examples.append({"kind": "exact", "count": int(len(grp)), "samples": members})
            labels = sorted({str(m["label"]) for m in members})
            thumbs.append((int(grp[0]), f"{len(grp)} copies: {' / '.join(labels)}"))
    scale = geometry(ctx).scale
    for a, b, d in zip(near_a, near_b, near_d):
        if len(examples) >= MAX_EXAMPLES:
            break
        wa, wb = where(int(a)), where(int(b))
        examples.append(
            {
                "kind": "near",
                "distance": round(in_units(ctx, float(d)), 6),
                "relative_distance": round(float(d) / scale, 4) if scale > 0 else None,
                "samples": [wa, wb],
            }
        )
        thumbs.append((int(a), f"{wa['split']} {wa['row']}: {wa['label']}"))
        thumbs.append((int(b), f"{wb['split']} {wb['row']}: {wb['label']}"))

    message = conflict_message(
        len(bad_groups), len(exact_rows), len(near_a), len(involved), n_total
    )
    status = conflict_status(conflicts, len(involved), n_total, t)
    hint = "" if status == "pass" else LABEL_CONFLICTS_HINT
    artifacts: dict[str, Any] = {}
    if ds.is_image and thumbs:
        items: list[dict[str, Any]] = []
        for pos, cap in thumbs[:24]:
            split, p = (ds.train, pos) if pos < n_train else (ds.test, pos - n_train)
            items += _artifacts.thumbnails(split, [p], [cap], title="")["items"]
        artifacts["images"] = {"title": "inputs with conflicting labels", "items": items}
    return result(
        status, message, hint=hint, metrics=metrics, examples=examples, artifacts=artifacts
    )
