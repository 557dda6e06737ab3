"""data.categories: categorical columns, how they were encoded, and test values train lacks."""

from __future__ import annotations

from typing import Any

from nncheck.checks._neighbors_cache import pct, plural
from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, check
from nncheck.data.table_report import ColumnReport
from nncheck.results import CheckOutcome, result


@check(
    "data.categories",
    stage="data",
    defaults={"warn_unseen_fraction": 0.01, "fail_unseen_fraction": 0.25},
    requires=("table", "any_target"),
    ranges={"warn_unseen_fraction": FRACTION, "fail_unseen_fraction": FRACTION},
)
def data_categories(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Categorical columns, the features they became, and test values never seen in train.

    Categorical and ordinal columns: their values, the one-hot features they became, rare
    values bucketed, and test rows holding a value never seen in train.

    Why: a category the model never saw in training reaches it as `<rare>` (or as no
    feature at all), so its prediction there is a guess; many such test rows mean train
    and test come from different places (another site, a new product line) and the test
    metric says little about either. The encoding is fitted on train rows only: text and
    boolean columns, and those in `data.categorical`, become one 0/1 feature per value
    (`column=value`); values seen fewer than `data.one_hot.min_count` times in train (5,
    or 1% of the rows when fewer) and beyond the `max_levels` (20) most frequent share
    `column=<rare>`; `data.ordinal` columns become ranks in the declared order.
    A test file is judged: warns when at least `warn_unseen_fraction` (1%) of its rows hold
    an unseen value, fails from `fail_unseen_fraction` (25%). A test fraction of the train
    file is not judged, only reported: a random split puts values seen once or twice in
    test alone by chance (each singleton with the test fraction's probability), which says
    nothing about where the data came from.
    Fix: split so that every category occurs in train (or group rare values upstream);
    when test truly comes from elsewhere, collect training data from there too.
    """
    ds = ctx.dataset
    table = ds.table
    assert table is not None
    cats = [c for c in table.features if c.kind == "categorical"]
    ords = [c for c in table.features if c.kind == "ordinal"]
    n_test = len(ds.test)
    unseen_rows = table.unseen.count
    metrics: dict[str, Any] = {
        "categorical_columns": [c.name for c in cats],
        "ordinal_columns": [c.name for c in ords],
        "one_hot_features": sum(len(c.levels) + c.missing_level + bool(c.rare) for c in cats),
        "values_kept": {c.name: len(c.levels) for c in cats},
        "values_rare": {c.name: c.rare_values for c in cats},
        "test_rows_unseen": unseen_rows,
        "test_unseen_fraction": round(unseen_rows / n_test, 6) if n_test else 0.0,
        "unseen_by_column": {c.name: c.unseen for c in cats if c.unseen},
    }
    examples = [
        {
            "column": c.name,
            "unseen_test_rows": c.unseen,
            "values": dict(c.unseen_values),
            "test_rows": list(c.unseen_rows),
        }
        for c in cats
        if c.unseen
    ]
    artifacts = {"tables": {"categorical columns": _table(cats + ords)}}
    if not cats and not ords:
        return result(
            "pass", "no categorical columns: every feature column is numeric", metrics=metrics
        )
    described = "; ".join(_describe(c) for c in cats + ords)
    message = (
        f"{plural(len(cats), 'categorical column')} one-hot encoded into"
        f" {plural(metrics['one_hot_features'], 'feature')} (fitted on train)"
        + (f", {plural(len(ords), 'ordinal column')}" if ords else "")
        + f": {described}"
    )
    share = unseen_rows / n_test if n_test else 0.0
    status = "pass"
    hint = ""
    judged = table.n_rows_test is not None  # a test file, not a fraction of train
    if unseen_rows and judged and share >= float(t["warn_unseen_fraction"]):
        status = "fail" if share >= float(t["fail_unseen_fraction"]) else "warn"
        listed = "; ".join(
            f"{c.name}: " + ", ".join(f"{v!r} x{k}" for v, k in list(c.unseen_values.items())[:4])
            for c in cats
            if c.unseen
        )
        message = (
            f"{plural(unseen_rows, 'test row')} ({pct(unseen_rows, n_test)}) hold a value never"
            f" seen in train ({listed}); {message}"
        )
        hint = (
            "The model has learnt nothing about these values (they reach it as <rare> or as "
            "no feature): resplit so each value occurs in train, or collect training data "
            "that covers them."
        )
    elif unseen_rows:
        why = "below the warning level" if judged else "rare values the random split put in test"
        message += (
            f"; {plural(unseen_rows, 'test row')} ({pct(unseen_rows, n_test)}) hold a value"
            f" never seen in train ({why})"
        )
    return result(
        status, message, hint=hint, metrics=metrics, examples=examples, artifacts=artifacts
    )


def _describe(c: ColumnReport) -> str:
    if c.kind == "ordinal":
        return f"{c.name} (ordinal: {' < '.join(c.order[:6])}{' ...' if len(c.order) > 6 else ''})"
    shown = ", ".join(c.levels[:5]) + (", ..." if len(c.levels) > 5 else "")
    extra = []
    if c.rare_values:
        extra.append(f"{c.rare_values} rare values in <rare> ({c.rare_rows} train rows)")
    if c.missing_level:
        extra.append("<missing>")
    return f"{c.name} ({len(c.levels)}: {shown}" + (f"; {'; '.join(extra)}" if extra else "") + ")"


def _table(columns: list[ColumnReport]) -> dict[str, Any]:
    return {
        "columns": [
            "column",
            "kind",
            "values kept",
            "rare values (train rows)",
            "<missing>",
            "unseen in test (rows)",
        ],
        "rows": [
            [
                c.name,
                c.kind,
                ", ".join(c.levels[:12] if c.kind == "categorical" else c.order[:12]),
                f"{c.rare_values} ({c.rare_rows})" if c.rare_values else "",
                "yes" if c.missing_level else "",
                f"{len(c.unseen_values)} ({c.unseen})" if c.unseen else "",
            ]
            for c in columns
        ],
    }
