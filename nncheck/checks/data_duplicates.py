"""data.duplicates: rows that occur more than once inside train or inside test."""

from __future__ import annotations

from typing import Any

from nncheck.checks import _artifacts, _streamed
from nncheck.checks._neighbors_cache import exact, pct, plural, source_rows
from nncheck.checks._verdicts import DUPLICATES_HINT, fraction_status
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, check
from nncheck.results import CheckOutcome, result

MAX_EXAMPLES = 20


@check(
    "data.duplicates",
    stage="data",
    defaults={"warn_fraction": 0.005, "fail_fraction": 0.05},
    ranges={
        "warn_fraction": FRACTION,
        "fail_fraction": FRACTION,
    },
    requires=("any_task",),
)
def data_duplicates(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Exact duplicate samples inside train and inside test: counts, fractions, row groups.

    Why: a file concatenated twice or an over-sampling step left on gives some samples
    double weight in the loss and, when the test split has copies too, counts one mistake
    several times. Rows are identical when their values as loaded are the same bytes
    (hashed in linear time, every match verified), so 1e-9 apart is not a duplicate here
    (see data.near_duplicates for that). In a table whose names or ids were left out of
    the features, rows are copies only when those agree too: two passengers with the
    same class, sex, age and fare are look-alikes, reported but not counted.
    The measure is the redundant fraction of a split: rows beyond the first of each group,
    over all rows. Warns above `warn_fraction` (0.5%: a handful of coincidences in coarse
    tabular data is normal, iris has one pair) and fails above `fail_fraction` (5%: a
    duplicated file gives 50%, over-sampling tens of percent).
    Fix: drop the duplicates (e.g. `df.drop_duplicates()`) before splitting, or find the
    step that concatenates or over-samples.
    """
    if ctx.dataset.stream is not None:
        return _streamed.duplicates(ctx, t)
    ds, ex = ctx.dataset, exact(ctx)
    metrics: dict[str, Any] = {}
    examples: list[dict[str, Any]] = []
    parts: list[str] = []
    thumbs: list[dict[str, Any]] = []
    worst = 0.0
    for name, split in (("train", ds.train), ("test", ds.test)):
        groups = ex.duplicates(name)
        n = len(split)
        extra = int(sum(len(g) - 1 for g in groups))
        frac = extra / n if n else 0.0
        worst = max(worst, frac)
        metrics[f"{name}_rows"] = n
        metrics[f"{name}_duplicate_groups"] = len(groups)
        metrics[f"{name}_redundant_rows"] = extra
        metrics[f"{name}_rows_in_groups"] = int(sum(len(g) for g in groups))
        metrics[f"{name}_redundant_fraction"] = round(frac, 6)
        if not groups:
            parts.append(f"{name}: no duplicates")
            continue
        biggest = max(len(g) for g in groups)
        metrics[f"{name}_largest_group"] = biggest
        parts.append(
            f"{name}: {plural(extra, 'redundant row')} ({pct(extra, n)}) in "
            f"{plural(len(groups), 'group')} of identical rows (largest {biggest})"
        )
        order = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), int(groups[i][0])))
        shown = order[: max(0, MAX_EXAMPLES - len(examples))]
        for i in shown:
            rows = source_rows(split, groups[i])
            examples.append({"split": name, "rows": rows[:10], "count": len(groups[i])})
        if ds.is_image and shown:
            caps = [
                f"{name} rows {', '.join(map(str, source_rows(split, groups[i][:3])))}"
                f" (x{len(groups[i])})"
                for i in shown
            ]
            firsts = [int(groups[i][0]) for i in shown]
            thumbs += _artifacts.thumbnails(split, firsts, caps, title="")["items"]
    metrics["redundant_fraction"] = round(worst, 6)
    if ex.lookalikes is not None and ds.table is not None:
        train_like, test_like, _ = ex.lookalikes
        metrics["lookalike_train_rows"], metrics["lookalike_test_rows"] = train_like, test_like
        if train_like or test_like:
            parts.append(
                f"{train_like} train and {test_like} test rows share every feature value with"
                f" a row of another record ({', '.join(ds.table.record_columns)} differ):"
                " look-alikes, not copies, so not counted"
            )
    artifacts: dict[str, Any] = {}
    if thumbs:
        artifacts["images"] = {"title": "duplicated samples (one per group)", "items": thumbs[:24]}
    message = "; ".join(parts)
    status = fraction_status(worst, t)
    if status == "pass" and examples:
        message += f" (below the {100 * t['warn_fraction']:g}% warning level)"
    hint = "" if status == "pass" else DUPLICATES_HINT
    return result(
        status, message, hint=hint, metrics=metrics, examples=examples, artifacts=artifacts
    )
