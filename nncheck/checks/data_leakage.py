"""data.leakage: test samples that also occur in train, exactly or nearly."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks import _artifacts
from nncheck.checks._neighbors_cache import (
    NEAR_RATIO,
    geometry,
    in_units,
    leaks,
    near_metrics,
    pct,
    shift_name,
    source_rows,
)
from nncheck.checks.context import Context
from nncheck.checks.registry import COUNT, FRACTION, check
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
)
def data_leakage(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Test samples that also occur in train: exact copies and near copies (test -> train).

    Why: a test sample the model has trained on measures memory, not generalization; a
    split made after augmentation or from overlapping sources inflates every test metric
    by up to the leaked fraction. Exact copies are found by hashing the rows as loaded;
    near copies (re-encoded, slightly noised, or — for images — shifted by one pixel) by a
    neighbour search: a test sample leaks when a training sample lies within `near_ratio`
    (0.15) times the median nearest-neighbour distance of the training data. On MNIST that
    separates re-encoded and noised copies (<= 0.11) from the closest honest pairs (0.197).
    Warns from `warn_count` leaked samples (1); fails when at least `fail_count` (3) leak and
    they are at least `fail_fraction` (1%) of the test set, enough to move a test metric by
    a percent and too many for a coincidence.
    Fix: split before augmenting, de-duplicate across sources (hash the rows), and remove
    the listed test samples from train (or from test).
    """
    ds = ctx.dataset
    ratio = float(t["near_ratio"])
    lk = leaks(ctx, ratio)
    scale = geometry(ctx).scale
    n_test = len(ds.test)
    n_exact, n_near = len(lk.exact_test), len(lk.near)
    leaked = n_exact + n_near
    shifted = int(np.count_nonzero(lk.near.shift)) if lk.near.shift is not None else 0
    metrics: dict[str, Any] = {
        "n_test": n_test,
        "leaked": leaked,
        "leaked_fraction": round(leaked / n_test, 6) if n_test else 0.0,
        "exact": n_exact,
        "near": n_near,
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
    if leaked:
        detail = f"{n_exact} exact, {n_near} near"
        if shifted:
            detail += f" ({shifted} of them after a 1-pixel shift)"
        message = f"{leaked} test samples ({pct(leaked, n_test)}) also occur in train: {detail}"
    else:
        message = f"none of the {n_test} test samples occurs in train (exact or near)"
    if np.isfinite(scale):
        message += (
            f"; near = within {ratio:g} x the median neighbour distance {in_units(ctx, scale):.3g}"
        )
    if leaked >= t["fail_count"] and n_test and leaked / n_test >= t["fail_fraction"]:
        status = "fail"
    elif leaked >= t["warn_count"]:
        status = "warn"
    else:
        status = "pass"
    hint = (
        ""
        if status == "pass"
        else "Split before augmenting or re-encoding, de-duplicate across sources by hashing "
        "rows, and drop the listed test samples from train (examples give both rows)."
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
