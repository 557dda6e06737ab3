"""data.leakage: test samples that also occur in train, exactly or nearly."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks import _artifacts, _streamed
from nncheck.checks._groups import group_leaks
from nncheck.checks._neighbors_cache import (
    NEAR_RATIO,
    exact,
    geometry,
    in_units,
    leaks,
    near_metrics,
    pct,
    shift_name,
    source_rows,
)
from nncheck.checks._verdicts import LEAKAGE_HINT, leak_status
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, FRACTION, check
from nncheck.data.hashing import rounded_matches
from nncheck.results import CheckOutcome, result

MAX_EXAMPLES = 20


@check(
    "data.leakage",
    stage="data",
    defaults={"near_ratio": NEAR_RATIO, "warn_count": 1, "fail_fraction": 0.01, "fail_count": 3},
    ranges={
        "near_ratio": FRACTION,
        "warn_count": COUNT,
        "fail_fraction": FRACTION,
        "fail_count": COUNT,
    },
    requires=("any_target", "numeric_inputs"),
)
def data_leakage(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Test samples that also occur in train: exact copies and near copies (test -> train).

    Why: a test sample the model has trained on measures memory, not generalization; a
    split made after augmentation or from overlapping sources inflates every test metric
    by up to the leaked fraction. Exact copies are found by hashing the rows as loaded;
    re-encoded copies (a file written with fewer decimals: a test row equal to a train row
    once every value of both is rounded to the coarser precision of the two rows) by
    exact matching after rounding; near copies (slightly noised, or — for images — shifted
    by one pixel) by a neighbour search: a test sample leaks when a training sample lies
    within `near_ratio` (0.15) times the median nearest-neighbour distance of the training
    data. On MNIST that separates re-encoded and noised copies (<= 0.11) from the closest
    honest pairs (0.197).
    Warns from `warn_count` leaked samples (1); fails when at least `fail_count` (3) leak and
    they are at least `fail_fraction` (1%) of the test set, enough to move a test metric by
    a percent and too many for a coincidence.
    With `data.groups: COLUMN` (a patient, a ticket), test rows whose group also occurs in
    train leak too and count towards the same thresholds (T3); a fraction split keeps
    groups apart, so they occur when the test file shares groups with the training file.
    In a table whose names or ids were left out of the features, a match counts only when
    those agree too (another passenger with the same features is a look-alike, not a copy).
    Fix: split before augmenting, de-duplicate across sources (hash the rows), and remove
    the listed test samples from train (or from test).
    """
    if ctx.dataset.stream is not None:
        return _streamed.leakage(ctx, t)
    ds = ctx.dataset
    ratio = float(t["near_ratio"])
    lk = leaks(ctx, ratio)
    scale = geometry(ctx).scale
    n_test = len(ds.test)
    n_exact, n_near = len(lk.exact_test), len(lk.near)
    r_test, r_train, r_places = _rounded_leaks(ds, lk)
    n_rounded = len(r_test)
    leaked = n_exact + n_near + n_rounded
    shifted = int(np.count_nonzero(lk.near.shift)) if lk.near.shift is not None else 0
    metrics: dict[str, Any] = {
        "n_test": n_test,
        "leaked": leaked,
        "leaked_fraction": round(leaked / n_test, 6) if n_test else 0.0,
        "exact": n_exact,
        "near": n_near,
        "after_rounding": n_rounded,
        "near_shifted": shifted,
        **near_metrics(ctx, ratio),
    }
    examples: list[dict[str, Any]] = []
    pairs_for_thumbs: list[tuple[int, int, str]] = []
    for te, tr in zip(lk.exact_test[:MAX_EXAMPLES], lk.exact_train[:MAX_EXAMPLES]):
        examples.append(
            {
                "test_row": source_rows(ds.test, [te])[0],
                "train_row": source_rows(ds.train, [tr])[0],
                "kind": "exact",
            }
        )
        pairs_for_thumbs.append((int(te), int(tr), "exact"))
    for te, tr, places in zip(r_test[:MAX_EXAMPLES], r_train, r_places):
        if len(examples) >= MAX_EXAMPLES:
            break
        examples.append(
            {
                "test_row": source_rows(ds.test, [te])[0],
                "train_row": source_rows(ds.train, [tr])[0],
                "kind": "after rounding",
                "decimals": int(places),
            }
        )
    near = lk.near
    for i in range(min(n_near, max(0, MAX_EXAMPLES - len(examples)))):
        d = float(near.dist[i])
        code = int(near.shift[i]) if near.shift is not None else 0
        examples.append(
            {
                "test_row": source_rows(ds.test, [near.a[i]])[0],
                "train_row": source_rows(ds.train, [near.b[i]])[0],
                "kind": "near",
                "distance": round(in_units(ctx, d), 6),
                "relative_distance": round(d / scale, 4) if scale > 0 else None,
                "shift": shift_name(code),
            }
        )
        pairs_for_thumbs.append((int(near.a[i]), int(near.b[i]), f"near {d / scale:.2f}x"))
    groups = group_leaks(ds)
    group_said = ""
    if groups is not None:
        n_group = len(groups.test_rows)
        metrics.update(
            group_column=groups.column, group_leaked=n_group, groups_in_both=groups.groups
        )
        for te, tr in list(zip(groups.test_rows, groups.train_rows))[:MAX_EXAMPLES]:
            examples.append(
                {
                    "test_row": source_rows(ds.test, [te])[0],
                    "train_row": source_rows(ds.train, [tr])[0],
                    "kind": f"same {groups.column}",
                }
            )
        group_said = (
            f"{n_group} test rows ({pct(n_group, n_test)}) share their {groups.column} with"
            f" train rows ({groups.groups} groups on both sides)"
            if n_group
            else f"no test row shares its {groups.column} with train"
        )
        copies = np.union1d(np.union1d(lk.exact_test, near.a), r_test)
        leaked = len(np.union1d(copies, groups.test_rows))
        metrics["leaked"] = leaked
        metrics["leaked_fraction"] = round(leaked / n_test, 6) if n_test else 0.0
    n_copies = n_exact + n_near + n_rounded
    if n_copies:
        detail = f"{n_exact} exact, {n_near} near"
        if n_rounded:
            shown = ", ".join(str(int(k)) for k in np.unique(r_places))
            detail += f", {n_rounded} after rounding to the coarser precision of the two rows"
            detail += f" ({shown} decimals)"
        if shifted:
            detail += f" ({shifted} of them after a 1-pixel shift)"
        message = f"{n_copies} test samples ({pct(n_copies, n_test)}) also occur in train: {detail}"
    else:
        message = f"none of the {n_test} test samples occurs in train (exact or near)"
    if group_said:
        message += f"; {group_said}"
    lookalikes = exact(ctx).lookalikes
    if lookalikes is not None and lookalikes[2] and ds.table is not None:
        metrics["lookalike_test_rows"] = lookalikes[2]
        message += (
            f"; {lookalikes[2]} more test rows equal a train row of another record"
            f" ({', '.join(ds.table.record_columns)} differ), not counted"
        )
    if np.isfinite(scale):
        message += (
            f"; near = within {ratio:g} x the median neighbour distance {in_units(ctx, scale):.3g}"
        )
    status = leak_status(leaked, n_test, t)
    hint = (
        ""
        if status == "pass"
        else LEAKAGE_HINT
        + (
            f" Split by {groups.column} so that each group is on one side only."
            if groups is not None and len(groups.test_rows)
            else ""
        )
    )
    artifacts: dict[str, Any] = {}
    if ds.is_image and pairs_for_thumbs:
        items: list[dict[str, Any]] = []
        for te, tr, kind in pairs_for_thumbs[:12]:
            src_te = source_rows(ds.test, [te])[0]
            src_tr = source_rows(ds.train, [tr])[0]
            items += _artifacts.thumbnails(ds.test, [te], [f"test {src_te}"], title="")["items"]
            items += _artifacts.thumbnails(ds.train, [tr], [f"train {src_tr} ({kind})"], title="")[
                "items"
            ]
        artifacts["images"] = {"title": "test samples and their copies in train", "items": items}
    return result(
        status, message, hint=hint, metrics=metrics, examples=examples, artifacts=artifacts
    )


def _rounded_leaks(ds: Any, lk: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test rows (not already exact or near leaks) equal to a train row once both are
    rounded to the coarser precision of the two: (test rows, train rows, decimals).

    Tables of floats only: integer data and images have one precision (exact matching
    already answered)."""
    none = np.zeros(0, np.int64)
    x_te, x_tr = ds.test.x_raw, ds.train.x_raw
    if ds.is_image or x_te.dtype.kind != "f" or len(x_te) == 0 or len(x_tr) == 0:
        return none, none, none
    rest = np.setdiff1d(np.arange(len(x_te)), np.concatenate([lk.exact_test, lk.near.a]))
    match, places = rounded_matches(x_te[rest], x_tr)
    hit = match >= 0
    keys_te, keys_tr = ds.test.record_keys, ds.train.record_keys
    if keys_te is not None and keys_tr is not None and hit.any():
        # a table whose names or ids were left out: two passengers whose ages and fares
        # round alike are two records, not a re-encoded copy, unless their keys agree too
        same = np.zeros(len(hit), bool)
        same[hit] = (keys_te[rest[hit]] == keys_tr[match[hit]]).reshape(int(hit.sum()), -1).all(1)
        hit = same
    return rest[hit], match[hit], places[hit]
